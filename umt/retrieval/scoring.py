r"""Translation retrieval with NN, CSLS and inverted-softmax scores.

For a mapped source vector :math:`x` and a target vector :math:`y` (both unit length):

* **NN**: :math:`s(x, y) = \cos(x, y)`.
* **CSLS** (Conneau et al. 2018): :math:`s(x, y) = 2\cos(x, y) - r_T(x) - r_S(y)`, where
  :math:`r_T(x)` is the mean cosine of :math:`x` with its ``k`` nearest targets and
  :math:`r_S(y)` the mean cosine of :math:`y` with its ``k`` nearest (mapped) sources. The
  :math:`r_S` term penalises hubs, targets that are close to everything.
* **Inverted softmax** (Smith et al. 2017): :math:`s(x, y) = \beta\cos(x, y) - \log\sum_{x'}
  \exp(\beta\cos(x', y))`, the log-probability of :math:`x` among all sources given :math:`y`.

Each score is an inner product plus a per-target bias plus a per-query constant, so the top-k is
an exact FAISS search on augmented vectors :math:`[x, 1]\cdot[a y, b(y)]` and never needs the full
score matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from umt.errors import UmtError
from umt.retrieval.knn import knn, logsumexp_over_queries, mean_topk_similarity

METHODS = ("nn", "csls", "isf")


@dataclass
class Retriever:
    """Scores translations from ``src`` (mapped, unit rows) to ``tgt`` (unit rows).

    ``src`` and ``tgt`` are the full search spaces: CSLS and inverted-softmax terms of the
    targets are computed against every row of ``src``, whichever queries are asked for later.
    """

    src: np.ndarray
    tgt: np.ndarray
    method: str = "csls"
    csls_k: int = 10
    isf_beta: float = 30.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise UmtError(f"unknown retrieval method {self.method!r}: choose from {', '.join(METHODS)}")
        if self.src.shape[1] != self.tgt.shape[1]:
            raise UmtError(f"dimension mismatch: source {self.src.shape[1]}-d, target {self.tgt.shape[1]}-d")
        self._target_bias = None

    def target_bias(self) -> np.ndarray:
        """Per-target additive term: 0 (NN), :math:`-r_S(y)` (CSLS), :math:`-\\log Z(y)` (ISF)."""
        if self._target_bias is None:
            if self.method == "nn":
                self._target_bias = np.zeros(len(self.tgt), dtype=np.float32)
            elif self.method == "csls":
                self._target_bias = -mean_topk_similarity(self.tgt, self.src, self.csls_k)
            else:
                self._target_bias = -logsumexp_over_queries(self.src, self.tgt, self.isf_beta)
        return self._target_bias

    def query_offset(self, queries: np.ndarray) -> np.ndarray:
        """Per-query constant (does not change the ranking; makes scores the textbook values)."""
        if self.method == "csls":
            return -mean_topk_similarity(queries, self.tgt, self.csls_k)
        return np.zeros(len(queries), dtype=np.float32)

    def search(self, query_ids: np.ndarray | None = None, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` targets for the source rows ``query_ids`` (all rows when None).

        Returns ``(scores, target_ids)`` of shape ``(n_queries, k)``, best first.
        """
        queries = self.src if query_ids is None else self.src[np.asarray(query_ids)]
        scale = {"nn": 1.0, "csls": 2.0, "isf": self.isf_beta}[self.method]
        base = np.hstack([scale * self.tgt, self.target_bias()[:, None]]).astype(np.float32)
        aug_q = np.hstack([queries, np.ones((len(queries), 1), dtype=np.float32)])
        scores, ids = knn(aug_q, base, k)
        return scores + self.query_offset(queries)[:, None], ids
