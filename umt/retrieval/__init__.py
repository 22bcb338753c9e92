"""Retrieval: FAISS nearest neighbours with NN, CSLS and inverted-softmax scores (stage 4)."""

from umt.retrieval.knn import knn, mean_topk_similarity
from umt.retrieval.scoring import METHODS, Retriever

__all__ = ["METHODS", "Retriever", "knn", "mean_topk_similarity"]
