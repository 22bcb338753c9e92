"""Supervised reference: Procrustes on a seed dictionary (a file, or identical strings)."""

from __future__ import annotations

import logging

import numpy as np

from umt.embeddings.dictionaries import IndexedDictionary, load_dictionary
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError

log = logging.getLogger("umt")


def identical_seed(src: Embeddings, tgt: Embeddings, max_rank: int | None = None) -> IndexedDictionary:
    """Pairs of words spelled the same in both vocabularies (letters only, no dictionary file).

    Numbers are excluded since they pair trivially and say little about the rest of the space.
    """
    t_index = tgt.index if max_rank is None else {w: i for i, w in enumerate(tgt.words[:max_rank])}
    src_words = src.words if max_rank is None else src.words[:max_rank]
    pairs = [(i, t_index[w]) for i, w in enumerate(src_words) if w in t_index and w.isalpha()]
    if not pairs:
        raise UmtError(f"no identical words between {src.source} and {tgt.source}")
    arr = np.array(pairs, dtype=np.int64)
    return IndexedDictionary(arr[:, 0], arr[:, 1], len(arr), len(arr), "identical")


def seed_dictionary(spec: str, src: Embeddings, tgt: Embeddings) -> IndexedDictionary:
    """``spec`` is a dictionary path or ``identical``."""
    if spec == "identical":
        return identical_seed(src, tgt)
    gold = load_dictionary(spec, src, tgt)
    if len(gold.src_ids) == 0:
        raise UmtError(f"{spec}: no pair of the seed dictionary is in both vocabularies")
    if len(gold.src_ids) < src.dim:  # fewer pairs than dimensions leave part of the rotation undetermined
        log.warning("%s: only %d seed pairs in both vocabularies for %d-d vectors: the Procrustes map is "
                    "underdetermined (use a larger dictionary, or --dict identical)", spec, len(gold.src_ids), src.dim)
    return gold
