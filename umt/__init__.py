"""umt: unsupervised translation by distribution matching.

The package follows the pipeline: :mod:`umt.corpora` -> :mod:`umt.embeddings` ->
:mod:`umt.alignment` -> :mod:`umt.retrieval` -> :mod:`umt.evaluation` -> :mod:`umt.translation`.
"""

__version__ = "0.1.0"
