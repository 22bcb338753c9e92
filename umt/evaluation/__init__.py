"""Evaluation: BLI precision@k on gold dictionaries and the unsupervised criterion (stage 5)."""

from umt.evaluation.bli import precision_at_k
from umt.evaluation.criterion import mean_csls_cosine
from umt.evaluation.dictionaries import IndexedDictionary, index_dictionary, load_dictionary, read_dictionary

__all__ = ["IndexedDictionary", "index_dictionary", "load_dictionary", "mean_csls_cosine",
           "precision_at_k", "read_dictionary"]
