"""Evaluation: BLI precision@k on gold dictionaries, how far it can be trusted, and the unsupervised
criterion (stage 5)."""

from umt.alignment.criterion import mean_csls_cosine
from umt.embeddings.dictionaries import IndexedDictionary, index_dictionary, load_dictionary, read_dictionary
from umt.evaluation.bli import QueryResults, compare_query_files, precision_at_k, read_query_ranks, retrieve_queries
from umt.evaluation.significance import PairedDifference, paired_difference, precision_interval

__all__ = ["IndexedDictionary", "PairedDifference", "QueryResults", "compare_query_files", "index_dictionary",
           "load_dictionary",
           "mean_csls_cosine", "paired_difference", "precision_at_k", "precision_interval", "read_dictionary",
           "read_query_ranks", "retrieve_queries"]
