"""Reading a training run's history (``history.json``): its clock and the model it selects.

Each evaluation row holds the step, round-trip BLEU on held-out monolingual text (the selection
metric), display-only test figures and the wall ``seconds`` since the run began; a run that
averages its weights (:mod:`umt.translation.averaging`) adds the same figures for the averaged
model under ``"averaged"``. Rows with a ``"system"`` (word by word, masked-LM pretraining and
its held-out curve) are not evaluations of the translation model.
"""

from __future__ import annotations

#: The ``system`` of the row that ends masked-LM pretraining (its cost, for the ablation).
PRETRAINING = "masked-LM pretraining"
#: The ``system`` of the rows that evaluate the masked LM on held-out text during pretraining.
MLM_CURVE = "masked-LM held-out"


def selected_weights(row: dict) -> str:
    """``"averaged"`` when an evaluation row's averaged weights have the higher round-trip BLEU
    (:mod:`umt.translation.averaging`), else ``"live"``."""
    averaged = row.get("averaged", {}).get("roundtrip")
    return "averaged" if averaged is not None and averaged > row["roundtrip"] else "live"


def row_figures(row: dict, weights: str) -> dict:
    """An evaluation row's figures for the ``"live"`` or the ``"averaged"`` weights."""
    return row if weights == "live" else {**row, **row["averaged"], "weights": "averaged"}


def selected_evaluation(history: list[dict], tolerance: float = 0.0) -> dict:
    r"""The evaluation that round-trip BLEU selects over every step and both kinds of weights: the
    figures of the model ``best.pt`` holds, with ``"weights": "averaged"`` when they are averaged.

    With evaluations :math:`e_1, \dots, e_n` in order, round trips :math:`r_i` and
    :math:`m = \max_i r_i`, a ``tolerance`` of 0 selects the first :math:`e_i` with :math:`r_i = m`,
    and a tolerance :math:`\delta > 0` the last with :math:`r_i \ge m - \delta`: the most trained
    model the round trip cannot tell from the best (it flattens while translation can still
    improve). Either rule can be kept as training goes: a new evaluation is selected exactly when it
    is the selection of the history so far, and an evaluation not selected then never is later.
    """
    rows = [row_figures(r, selected_weights(r)) for r in history if r.get("system") is None]
    if not rows:
        return {}
    top = max(r["roundtrip"] for r in rows)
    if tolerance <= 0:
        return next(r for r in rows if r["roundtrip"] == top)
    return [r for r in rows if r["roundtrip"] >= top - tolerance][-1]


def evaluations_since_best(history: list[dict], tolerance: float = 0.0) -> int:
    """How many evaluations came after the one :func:`selected_evaluation` selects (0: none yet)."""
    best = selected_evaluation(history, tolerance).get("step")
    return 0 if best is None else sum(1 for r in history if r.get("system") is None and r["step"] > best)


def cumulative_seconds(history: list[dict]) -> list[float | None]:
    """Each row's wall seconds since the run began (None for an untimed row). Histories written
    before checkpoints kept the time restart ``seconds`` from 0 at each resumption; those segments
    are added up."""
    out, offset, last = [], 0.0, 0.0
    for row in history:
        seconds = row.get("seconds")
        if seconds is not None:
            if seconds < last:
                offset += last
            last = seconds
            seconds = round(offset + seconds, 3)  # a tiny pretraining takes milliseconds
        out.append(seconds)
    return out
