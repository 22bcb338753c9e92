r"""Exact nearest-neighbour search by inner product, in bounded memory.

On the CPU the search runs through FAISS (``IndexFlatIP``, exact, multi-threaded); on a GPU it runs
as blocked matrix products in torch. Neither ever holds a full :math:`N \times M` score matrix:
queries are processed ``batch_size`` rows at a time and FAISS blocks the base internally.
"""

from __future__ import annotations

import numpy as np
import torch

from umt.device import compute_device, to_numpy, to_tensor

DEFAULT_BATCH = 4096


def knn(queries: np.ndarray, base: np.ndarray, k: int,
        batch_size: int = DEFAULT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` rows of ``base`` with the largest inner product with each query: FAISS on the
    CPU, torch on CUDA (the one place the two are chosen between, by
    :func:`umt.device.compute_device`).

    Returns
    -------
    scores : ndarray of shape (n_queries, k), float32, in decreasing order
    indices : ndarray of shape (n_queries, k), int64
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    base = np.ascontiguousarray(base, dtype=np.float32)
    k = min(k, base.shape[0])
    if compute_device().type == "cuda":
        return _knn_torch(queries, base, k, batch_size)
    return _knn_faiss(queries, base, k, batch_size)


def _knn_faiss(queries, base, k, batch_size):
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    scores = np.empty((len(queries), k), dtype=np.float32)
    indices = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), batch_size):
        s, i = index.search(queries[start:start + batch_size], k)
        scores[start:start + batch_size], indices[start:start + batch_size] = s, i
    return scores, indices


def _knn_torch(queries, base, k, batch_size):
    base_t = to_tensor(base)
    scores, indices = [], []
    for start in range(0, len(queries), batch_size):
        s, i = (to_tensor(queries[start:start + batch_size]) @ base_t.T).topk(k, dim=1)
        scores.append(to_numpy(s))
        indices.append(to_numpy(i))
    return np.concatenate(scores), np.concatenate(indices).astype(np.int64)


def mean_topk_similarity(queries: np.ndarray, base: np.ndarray, k: int = 10, **kw) -> np.ndarray:
    r"""CSLS neighbourhood density :math:`r(q) = \frac{1}{k}\sum_{b \in N_k(q)} q^\top b`."""
    scores, _ = knn(queries, base, k, **kw)
    return scores.mean(axis=1)


def logsumexp_over_queries(queries: np.ndarray, base: np.ndarray, beta: float,
                           batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    r"""For each base row :math:`y`, :math:`\log \sum_{x} \exp(\beta\, x^\top y)` over all queries.

    The normaliser of the inverted softmax; computed block by block over the base rows.
    """
    q = to_tensor(queries)
    out = []
    for start in range(0, len(base), batch_size):
        b = to_tensor(base[start:start + batch_size])
        out.append(to_numpy(torch.logsumexp(beta * (b @ q.T), dim=1)))
    return np.concatenate(out).astype(np.float32)
