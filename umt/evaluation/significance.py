r"""How far a precision on a test dictionary can be trusted, and whether two maps really differ.

A MUSE test split covers about 900-1,500 source words, so one precision carries sampling noise
of more than a point: seeds, settings and tools that differ by that much may not differ at all.

``precision_interval``: the Wilson score interval of a proportion :math:`\hat p = h/n`,

.. math:: \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1-\hat p)}{n} + \frac{z^2}{4n^2}}}
          {1 + \frac{z^2}{n}},

which, unlike :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`, stays inside [0, 1] and keeps its
coverage near 0 and 1 (P@1 of a collapsed map).

``paired_difference``: two maps scored on the *same* queries are compared by McNemar's exact
test. Only the discordant queries inform the difference: with :math:`b` queries right under the
first map alone and :math:`c` under the second alone, under the null hypothesis of equal
precision each discordant query is a fair coin, and the two-sided p-value is that of
:math:`b` successes in :math:`b + c` draws of :math:`\mathrm{Binomial}(b + c, 1/2)`. Far more
sensitive than comparing the two intervals, because queries both maps get right or wrong (most
of them) cancel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from umt.errors import UmtError


def _binomtest(k: int, n: int, p: float = 0.5):
    from scipy.stats import binomtest  # scipy.stats takes about a second to import: only when asked

    return binomtest(k, n, p)


def precision_interval(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``hits`` correct among ``n`` queries, in percent (rounded to 0.01);
    ``(0.0, 100.0)`` when there are no queries."""
    if n == 0:
        return 0.0, 100.0
    if not 0 <= hits <= n:
        raise UmtError(f"precision interval: {hits} hits among {n} queries")
    ci = _binomtest(int(hits), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return round(100.0 * float(ci.low), 2), round(100.0 * float(ci.high), 2)


@dataclass(frozen=True)
class PairedDifference:
    """Two maps on the same queries: precisions (percent), the discordant counts and the exact
    McNemar p-value (two-sided)."""

    n: int
    precision_a: float
    precision_b: float
    only_a: int  # queries right under the first map and wrong under the second
    only_b: int
    p_value: float

    def as_dict(self) -> dict:
        return asdict(self)


def paired_difference(hits_a: np.ndarray, hits_b: np.ndarray) -> PairedDifference:
    """Compare per-query correctness of two maps on the same queries (McNemar's exact test)."""
    a, b = np.asarray(hits_a, dtype=bool), np.asarray(hits_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise UmtError(f"paired comparison needs the same queries on both sides: {a.shape} vs {b.shape}")
    n = len(a)
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    p = 1.0 if only_a + only_b == 0 else float(_binomtest(only_a, only_a + only_b).pvalue)
    pct = (lambda h: round(100.0 * float(h.sum()) / n, 2)) if n else (lambda h: 0.0)
    return PairedDifference(n, pct(a), pct(b), only_a, only_b, p)
