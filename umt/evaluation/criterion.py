r"""MUSE's unsupervised model-selection criterion. It never reads a dictionary.

.. math:: C(W) = \frac{1}{n}\sum_{i=1}^{n} \cos\big(W x_i,\; y_{\hat\jmath(i)}\big),
   \qquad \hat\jmath(i) = \arg\max_j \mathrm{CSLS}(W x_i, y_j)

over the ``n`` (10,000) most frequent source words, with candidate targets and CSLS
neighbourhoods restricted to the ``n`` most frequent target words. (MUSE searches all targets and
then drops pairs whose target ranks beyond ``n``; restricting first gives the same ranking of
mappings at a fraction of the cost.) A good mapping puts translations close together, so
:math:`C` rises with the quality of :math:`W`.
"""

from __future__ import annotations

import numpy as np

from umt.retrieval.dense import mutual_best


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mean_csls_cosine(src_mapped: np.ndarray, tgt: np.ndarray, n: int = 10000, csls_k: int = 10,
                     device: str | None = None) -> float:
    """The criterion :math:`C(W)` for mapped source rows and target rows (frequency order)."""
    s, t = _unit(src_mapped[:n]), _unit(tgt[:n])
    ids = mutual_best(s, t, "csls", csls_k, device=device)[0]
    return float(np.mean(np.sum(s * t[ids], axis=1)))
