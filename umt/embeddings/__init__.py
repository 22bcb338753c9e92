"""Embeddings: load, normalise and train monolingual word vectors (stage 2 of the pipeline)."""

from umt.embeddings.io import load_embeddings, save_embeddings, save_vec
from umt.embeddings.normalize import normalize
from umt.embeddings.vectors import Embeddings, check_same_dim

__all__ = ["Embeddings", "check_same_dim", "load_embeddings", "normalize", "save_embeddings", "save_vec"]
