r"""VecMap's last mapping step: whitening, orthogonal mapping, re-weighting and de-whitening.

Artetxe et al. (2018, AAAI; the final step of their ACL 2018 unsupervised method). Given the rows
:math:`X_D, Z_D` of a dictionary (here induced by the unsupervised map, never read from a file
in an unsupervised run), both spaces are whitened, rotated into each other, re-weighted by the
singular values of their cross-covariance and de-whitened back into their own geometry:

.. math::

    W_x = (X_D^\top X_D)^{-1/2}, \quad W_z = (Z_D^\top Z_D)^{-1/2}, \quad
    U S V^\top = \mathrm{SVD}\big((X_D W_x)^\top Z_D W_z\big)

.. math::

    x \mapsto x\, W_x U S^{p} \, U^\top W_x^{-1} U, \qquad
    z \mapsto z\, W_z V S^{p} \, V^\top W_z^{-1} V

The map is no longer orthogonal and the target space moves too. The re-weighting stretches the
dimensions on which the two languages correlate most (weight :math:`s^p`, VecMap's ``p = 0.5``
on both sides), which orthogonal Procrustes cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from umt.alignment.procrustes import map_spaces
from umt.retrieval.lexicon import induce_lexicon


def reweight_from_map(x: np.ndarray, y: np.ndarray, w: np.ndarray, power: float = 0.5, words: int = 10000,
                      rounds: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Re-weighted maps learned on the dictionary the orthogonal map ``w`` induces: CSLS nearest
    neighbours in both directions among the ``words`` most frequent words, united (no dictionary
    is read). Each further round learns them again on the dictionary that the previous round's
    re-weighted spaces induce. ``ValueError`` when the first dictionary cannot be whitened; a
    later round that cannot be whitened keeps the previous round's maps.

    The defaults here (10k words, the self-learning vocabulary; one round, as VecMap re-weights
    once) are not ``umt align``'s: it passes ``AlignConfig.reweight_words`` and
    ``AlignConfig.reweight_rounds`` (20k words, two rounds), chosen on the development split."""
    *_, last = reweight_rounds(x, y, w, power=power, words=words, rounds=rounds)
    return last


def reweight_from_seed(x: np.ndarray, y: np.ndarray, src_ids: np.ndarray, tgt_ids: np.ndarray, power: float = 0.5,
                       words: int = 10000, rounds: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Re-weighted maps learned on the seed dictionary ``(src_ids, tgt_ids)`` itself (VecMap's
    ``--supervised``), then ``rounds`` more rounds of :func:`reweight_from_map` on the dictionaries
    they induce (0: the seed's maps alone). A supervised reference: it reads the seed dictionary.
    ``ValueError`` when the seed cannot be whitened; a later round that cannot be whitened keeps
    the previous maps."""
    seed_maps = maps = reweighted_maps(x, y, src_ids, tgt_ids, power)
    try:
        for round_maps in reweight_rounds(x, y, *seed_maps, power=power, words=words, rounds=rounds):
            maps = round_maps
    except ValueError:  # a first induced dictionary that cannot be whitened: the seed's maps stand
        pass
    return maps


def reweight_rounds(x: np.ndarray, y: np.ndarray, w: np.ndarray, w_tgt: np.ndarray | None = None, power: float = 0.5,
                    words: int = 10000, rounds: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The maps after each round of :func:`reweight_from_map`, one round at a time (so that
    every round can be scored without recomputing the earlier ones); stops early when a later
    round cannot be whitened (a first one raises ValueError). ``w_tgt``: a target map when the
    start is already re-weighted."""
    x_top, y_top = x[:words], y[:words]  # the dictionaries are induced among these words only
    xm, ym = map_spaces(x_top, y_top, w, w_tgt)
    for r in range(rounds):
        seed = induce_lexicon(xm, ym, "csls", "union", words)
        try:
            maps = reweighted_maps(x, y, seed.src_ids, seed.tgt_ids, power)
        except ValueError:
            if r == 0:
                raise
            return
        yield maps
        xm, ym = map_spaces(x_top, y_top, *maps)


def _inverse_sqrt_covariance(rows: np.ndarray) -> np.ndarray:
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    if s[-1] <= 1e-6 * s[0]:
        raise ValueError("the dictionary's vectors do not span the space, so it cannot be whitened")
    return vt.T @ np.diag(1.0 / s) @ vt


def reweighted_maps(x: np.ndarray, y: np.ndarray, src_ids: np.ndarray, tgt_ids: np.ndarray,
                    power: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Source and target maps ``(W_src, W_tgt)`` in umt's convention ``x_mapped = x @ W_src.T``.

    ``src_ids, tgt_ids`` index the dictionary pairs in ``x`` and ``y``; the pairs must span the
    space (at least ``d`` pairs with full-rank rows), or whitening is undefined: ``ValueError``.
    """
    xd, zd = x[src_ids].astype(np.float64), y[tgt_ids].astype(np.float64)
    if len(xd) < x.shape[1]:
        raise ValueError(f"re-weighting needs at least {x.shape[1]} dictionary pairs, got {len(xd)}")
    wx, wz = _inverse_sqrt_covariance(xd), _inverse_sqrt_covariance(zd)
    u, s, vt = np.linalg.svd((xd @ wx).T @ (zd @ wz))
    v = vt.T
    scale = np.diag(s ** power)
    src = wx @ u @ scale @ (u.T @ np.linalg.inv(wx) @ u)
    tgt = wz @ v @ scale @ (v.T @ np.linalg.inv(wz) @ v)
    return src.T.astype(np.float32), tgt.T.astype(np.float32)
