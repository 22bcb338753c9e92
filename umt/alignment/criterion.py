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


def mean_csls_cosine(src_mapped: np.ndarray, tgt: np.ndarray, n: int = 10000, csls_k: int = 10) -> float:
    """The criterion :math:`C(W)` for mapped source rows and target rows (frequency order)."""
    return criterion_and_targets(src_mapped, tgt, n, csls_k)[0]


def criterion_and_targets(src_mapped: np.ndarray, tgt: np.ndarray, n: int = 10000,
                          csls_k: int = 10) -> tuple[float, np.ndarray]:
    r""":math:`C(W)` and the best targets :math:`\hat\jmath(i)` it averages over (those of
    :func:`best_targets`), from one search."""
    s, t = _unit(src_mapped[:n]), _unit(tgt[:n])
    ids = mutual_best(s, t, "csls", csls_k)[0]
    return float(np.mean(np.sum(s * t[ids], axis=1))), ids


def best_targets(src_mapped: np.ndarray, tgt: np.ndarray, n: int = 10000, csls_k: int = 10) -> np.ndarray:
    """The CSLS best target of each of the ``n`` most frequent (mapped) source words, among the
    ``n`` most frequent target words: the translations :func:`translation_agreement` compares."""
    return criterion_and_targets(src_mapped, tgt, n, csls_k)[1]


#: How many of the most frequent source words :func:`translation_agreement` compares by default.
AGREEMENT_WORDS = 10000


def translation_agreement(x: np.ndarray, y: np.ndarray, w_a: np.ndarray, w_b: np.ndarray, n: int = AGREEMENT_WORDS,
                          csls_k: int = 10, targets_a: np.ndarray | None = None,
                          targets_b: np.ndarray | None = None) -> float:
    r"""How often two maps give the same translation, with no dictionary.

    .. math:: A(W_a, W_b) = \frac{1}{n}\sum_{i=1}^{n}
       \mathbb{1}\big[\hat\jmath_{W_a}(i) = \hat\jmath_{W_b}(i)\big]

    with :math:`\hat\jmath_W(i)` the CSLS best target of source word :math:`i` under :math:`W`, both
    restricted to the ``n`` most frequent words. If the two distributions determine the map,
    independent initialisations converge to the same one and :math:`A` is high; where they do not
    (a structureless corpus, a collapsed run), each run settles in its own optimum and :math:`A`
    is near chance, although each run's criterion can look as good as a successful one.

    ``targets_a``/``targets_b``: a map's best targets when they are known already (from
    :func:`criterion_and_targets` with the same ``n`` and ``csls_k``), so that they are not
    searched again.
    """
    s = x[:n]
    a = best_targets(s @ w_a.T, y, n, csls_k) if targets_a is None else targets_a
    b = best_targets(s @ w_b.T, y, n, csls_k) if targets_b is None else targets_b
    return float(np.mean(a == b))


def random_rotation_criterion(x: np.ndarray, y: np.ndarray, n: int = 10000, csls_k: int = 10, seed: int = 0) -> float:
    """The criterion of a random orthogonal map: what :math:`C` gives when nothing was learned."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((x.shape[1], x.shape[1])))
    q = q * np.sign(np.diag(r))  # Haar-distributed
    return mean_csls_cosine(_unit(x[:n] @ q.T), y, n, csls_k)


#: An alignment whose translations agree with an independent run's on fewer of the most frequent
#: words than this is reported as failed. ``experiments/failure_rule.py`` measures both sides:
#: structureless controls agree on almost none, real pairs on about half or more, and small
#: synthetic controls somewhat more than large ones, so the line sits at a third, between them.
AGREEMENT_FAILED_BELOW = 1 / 3


def alignment_verdict(agreement: float | None) -> str:
    """``"ok"``, ``"failed"`` (independent runs disagree) or ``"unchecked"`` (one run only)."""
    if agreement is None:
        return "unchecked"
    return "failed" if agreement < AGREEMENT_FAILED_BELOW else "ok"
