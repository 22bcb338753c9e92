"""Inducing a bilingual lexicon (a dictionary) from a mapping by nearest-neighbour retrieval.

Directions
----------
``S2T``
    Each of the ``max_rank`` most frequent source words takes its best target.
``T2S``
    Each of the ``max_rank`` most frequent target words takes its best source.
``union`` / ``intersection``
    Pairs found in either / both directions. ``intersection`` keeps only mutual nearest
    neighbours, the high-precision dictionary used for Procrustes refinement.

Both sides are restricted to their ``max_rank`` most frequent words, and CSLS neighbourhoods are
computed within those restricted sets, so one induction costs ``max_rank**2`` dot products however
large the vocabularies are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import atomic_path
from umt.ranges import POSITIVE, check_option
from umt.retrieval.dense import mutual_best
from umt.retrieval.scoring import Retriever

BUILDS = ("S2T", "T2S", "union", "intersection")


@dataclass
class Lexicon:
    """Induced pairs as row indices into the source and target vocabularies, with their scores."""

    src_ids: np.ndarray
    tgt_ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.src_ids)

    def pairs(self) -> np.ndarray:
        return np.stack([self.src_ids, self.tgt_ids], axis=1)


def induce_lexicon(src: np.ndarray, tgt: np.ndarray, method: str = "csls", build: str = "intersection",
                   max_rank: int = 15000, csls_k: int = 10) -> Lexicon:
    """Induce a dictionary from mapped, unit-normalised ``src`` rows and ``tgt`` rows.

    Pairs are sorted by decreasing score.
    """
    if build not in BUILDS:
        raise UmtError(f"unknown dictionary build {build!r}: choose from {', '.join(BUILDS)}")
    check_option("max_rank", max_rank, POSITIVE)  # 0 would write an empty lexicon without complaint
    check_option("csls_k", csls_k, POSITIVE)
    s, t = src[:max_rank], tgt[:max_rank]
    forward = backward = None
    if method in ("nn", "csls"):
        f_ids, f_sc, b_ids, b_sc = mutual_best(s, t, method, csls_k)
        forward = {(i, int(j)): float(v) for i, (j, v) in enumerate(zip(f_ids, f_sc))}
        backward = {(int(i), j): float(v) for j, (i, v) in enumerate(zip(b_ids, b_sc))}
    if build != "T2S" and forward is None:
        sc, ids = Retriever(s, t, method, csls_k).search(None, 1)
        forward = {(i, int(ids[i, 0])): float(sc[i, 0]) for i in range(len(s))}
    if build != "S2T" and backward is None:
        sc, ids = Retriever(t, s, method, csls_k).search(None, 1)
        backward = {(int(ids[j, 0]), j): float(sc[j, 0]) for j in range(len(t))}
    if build == "S2T":
        found = forward
    elif build == "T2S":
        found = backward
    elif build == "union":
        found = {**backward, **forward}
    else:
        found = {p: v for p, v in forward.items() if p in backward}
    if not found:
        return Lexicon(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    items = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
    pairs = np.array([p for p, _ in items], dtype=np.int64)
    return Lexicon(pairs[:, 0], pairs[:, 1], np.array([v for _, v in items], dtype=np.float32))


def write_lexicon_tsv(lexicon: Lexicon, src: Embeddings, tgt: Embeddings, path: str | os.PathLike) -> None:
    """Write ``source<TAB>target<TAB>score`` lines, best pairs first."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write("source\ttarget\tscore\n")
        for i, j, s in zip(lexicon.src_ids, lexicon.tgt_ids, lexicon.scores):
            f.write(f"{src.words[i]}\t{tgt.words[j]}\t{s:.4f}\n")
