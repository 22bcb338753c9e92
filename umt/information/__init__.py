"""The information view: code lengths in bits per character, and how much of Y the source explains.

* ``lm``: a subword Transformer language model and its held-out code length :math:`L(Y)`;
  :math:`L(Y|X)` comes from the translation model (``umt.translation.evaluate``).
"""
