r"""Cross-lingual subword vectors that initialise the shared token embeddings.

The translation model reads sentencepiece pieces, the aligned embeddings are words. A piece gets

* the vector of the word it spells when it is a whole word (``▁homme`` -> ``homme``), averaged over
  both languages when both use it (``▁train``);
* otherwise the count-weighted mean of the vectors of the training words it is part of.

Source vectors are mapped into the target space first, so English and French pieces start in one
space: the shared encoder then sees ``▁man`` and ``▁homme`` as neighbours before the first step,
which is what lets back-translation start from more than noise (Lample et al. 2018b, section 4.3).
Pieces no word covers keep their random initialisation.

Vectors are reduced to the model width with PCA over the covered pieces, which is a rotation plus
a projection and so keeps the two languages aligned, then scaled to unit rows like the random
initialisation (the model multiplies embeddings by :math:`\sqrt d`).
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from umt.errors import UmtError
from umt.fileio import atomic_path
from umt.translation.vocab import Vocab

WORD_MARK = "\u2581"


def subword_vectors(vocab: Vocab, words: list[tuple[list[str], np.ndarray, Counter]]) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, covered)``: one row per piece of ``vocab``, in the space of the word vectors.

    ``words`` holds, per language, ``(word list, unit vectors in the shared space, training
    counts)``; only words of the training text are used.
    """
    dim = words[0][1].shape[1]
    n = len(vocab)
    whole = np.zeros((n, dim))
    whole_n = np.zeros(n)
    part = np.zeros((n, dim))
    part_w = np.zeros(n)
    piece_id = {vocab.sp.id_to_piece(i): i for i in range(n)}
    for word_list, vecs, counts in words:
        index = {w: i for i, w in enumerate(word_list)}
        for word, count in counts.items():
            row = index.get(word)
            if row is None:
                continue
            v = vecs[row]
            i = piece_id.get(WORD_MARK + word)
            if i is not None and not vocab.sp.is_unknown(i):
                whole[i] += v
                whole_n[i] += 1
            for i in set(vocab.sp.encode(word)):
                part[i] += count * v
                part_w[i] += count
    out = np.where(whole_n[:, None] > 0, whole / np.maximum(whole_n, 1)[:, None],
                   part / np.maximum(part_w, 1e-12)[:, None])
    covered = (whole_n > 0) | (part_w > 0)
    covered[list(vocab.special) + [0, 1, 2, 3]] = False
    out[~covered] = 0.0
    return out.astype(np.float32), covered


def save_subword_vectors(path: str | os.PathLike, vectors: np.ndarray, covered: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, vectors=vectors, covered=covered)


def load_subword_vectors(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as z:
            return z["vectors"], z["covered"]
    except (OSError, KeyError, ValueError) as e:
        raise UmtError(f"{path}: not a subword vector file ({e})") from None


def project_to_width(vectors: np.ndarray, covered: np.ndarray, width: int) -> np.ndarray:
    """PCA of the covered rows to ``width`` dimensions (zero-padded if narrower), unit rows."""
    x = vectors[covered].astype(np.float64)
    if len(x) == 0:
        raise UmtError("no subword piece is covered by a word vector")
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    k = min(width, vt.shape[0])
    low = x @ vt[:k].T
    if k < width:
        low = np.pad(low, ((0, 0), (0, width - k)))
    low /= np.maximum(np.linalg.norm(low, axis=1, keepdims=True), 1e-12)
    out = np.zeros((len(vectors), width), dtype=np.float32)
    out[covered] = low
    return out
