"""Back-translation: word-by-word seeding, then a shared encoder-decoder trained on monolingual text only
(stage 6 of the pipeline).

Modules: ``data`` (prepare a pair), ``wordbyword``, ``noise``, ``vocab``, ``model``, ``train``,
``evaluate``. They are not imported here, so ``umt --help`` does not pay for loading torch.
"""
