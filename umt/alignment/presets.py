"""Named presets: one flag reproduces a published method (as ``vecmap`` names its recipes).

``duo`` (umt's default, :data:`DEFAULT_PRESET`)
    ``auto`` over two similarity seeds with self-learning phases of 25 iterations instead of 50,
    their refined maps averaged when they agree (``average_when="agree"``, failure detection's
    rule, not the criterion), then re-weighted: more accurate and more repeatable than one seed,
    at little more than ``fast``'s time (the shared work is done once), with the failure check
    of two independent runs included.
``fast``
    One seed (what ``--method`` alone starts from): similarity initialisation, stochastic
    self-learning among the 10k most frequent words (keep probability doubled every 50
    iterations), then up to 5 Procrustes refinements (stopping after 2 without a better
    criterion); the refined map with the best criterion is kept and re-weighted (VecMap's
    whitening, re-weighting and de-whitening, :mod:`umt.alignment.reweight`). One run cannot tell
    a failed alignment from a good one.
``plateau``
    ``fast`` with the ``plateau`` keep-probability schedule: a phase also ends once the objective
    stops rising: fewer self-learning iterations, at some cost in precision.
``muse``
    MUSE paper settings: adversarial, 5 epochs of 1M samples, batch 32, discriminator 2x2048,
    input dropout 0.1, smoothing 0.2, beta 0.01, 50k most frequent words, decay 0.95, then 5
    refinement iterations with CSLS mutual nearest neighbours among 15k words, the adversarial map
    competing with the refined ones on the criterion (as MUSE keeps its best model); orthogonal,
    not re-weighted.
``muse-code``
    MUSE's code defaults: as ``muse`` with smoothing 0.1, beta 0.001, 75k words, decay 0.98,
    and an S2T refinement dictionary.
``vecmap``
    VecMap's unsupervised recipe: similarity initialisation on 4k words, stochastic self-learning
    with a 20k cutoff and a 50-iteration interval, then whitening, re-weighting and de-whitening.
``ensemble``
    ``auto`` over four similarity seeds, averaging their maps and keeping the average when the
    criterion prefers it to the best seed's, at four times the cost; the gain over one seed
    shrinks once both are re-weighted.
``robust``
    ``auto`` over three similarity seeds and one adversarial run, the best kept by the
    unsupervised criterion: about four times slower, for hard pairs.
"""

from __future__ import annotations

from dataclasses import replace

from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.config import AlignConfig
from umt.alignment.procrustes import RefineConfig
from umt.alignment.similarity_init import SelfLearnConfig
from umt.errors import UmtError

_MUSE_PAPER = AdversarialConfig(epochs=5, epoch_size=1_000_000, batch_size=32, dis_hidden=2048,
                                smoothing=0.2, beta=0.01, most_frequent=50000, lr_decay=0.95)

#: What ``umt align`` and ``umt run`` use when no preset or method is named.
DEFAULT_PRESET = "duo"

PRESETS: dict[str, AlignConfig] = {
    "fast": AlignConfig(method="similarity"),
    "plateau": AlignConfig(method="similarity", selflearn=SelfLearnConfig(schedule="plateau")),
    "muse": AlignConfig(method="adversarial", normalize="unit", adversarial=_MUSE_PAPER, reweight=None,
                        refine=RefineConfig(iterations=5, build="intersection", patience=0, start_competes=True)),
    "muse-code": AlignConfig(method="adversarial", normalize="unit", reweight=None,
                             adversarial=replace(_MUSE_PAPER, smoothing=0.1, beta=0.001, most_frequent=75000,
                                                 lr_decay=0.98),
                             refine=RefineConfig(iterations=5, build="S2T", patience=0, start_competes=True)),
    "vecmap": AlignConfig(method="similarity", selflearn=SelfLearnConfig(cutoff=20000, interval=50,
                                                                         schedule="stagnation", final_patience=50)),
    "ensemble": AlignConfig(method="auto", candidates="similarity:0,similarity:1,similarity:2,similarity:3",
                            average=True),
    "duo": AlignConfig(method="auto", candidates="similarity:0,similarity:1", average=True, average_when="agree",
                       selflearn=SelfLearnConfig(interval=25)),
    "robust": AlignConfig(method="auto", candidates="similarity:0,similarity:1,similarity:2,adversarial:0"),
}


def preset(name: str) -> AlignConfig:
    """A fresh copy of the preset ``name``."""
    if name not in PRESETS:
        raise UmtError(f"unknown preset {name!r}: choose from {', '.join(PRESETS)}")
    cfg = PRESETS[name]
    return replace(cfg, refine=replace(cfg.refine), adversarial=replace(cfg.adversarial),
                   selflearn=replace(cfg.selflearn), preset=name)


def resolve(name: str | None = None, method: str | None = None, stages: dict[str, dict] | None = None,
            **fields) -> AlignConfig:
    """The settings of one alignment, in one place for the CLI, the pipeline and the experiments.

    The preset ``name`` (default :data:`DEFAULT_PRESET`; ``fast``, one run, when only ``method``
    is named), then ``method`` in place of the preset's, then ``stages`` (stage attribute ->
    its fields, e.g. ``{"refine": {"iterations": 3}}``), then the top-level ``fields``. The
    supervised ``procrustes`` method refines only when refinement iterations are given, and
    ``average=True`` needs several maps to average (``auto`` or ``check``).
    """
    cfg = preset(name or ("fast" if method else DEFAULT_PRESET))
    if method and method != cfg.method:
        cfg = replace(cfg, method=method, preset=name)
    stages = stages or {}
    if cfg.method == "procrustes" and "iterations" not in stages.get("refine", {}):
        cfg = replace(cfg, refine=replace(cfg.refine, iterations=0))
    for attribute, given in stages.items():
        if given:
            cfg = replace(cfg, **{attribute: replace(getattr(cfg, attribute), **given)})
    cfg = replace(cfg, **fields)
    if fields.get("average") and cfg.method != "auto" and not cfg.check:
        raise UmtError("--average needs several seeds to average: leave out --method and --preset (the default, duo), "
                       "or use --method auto, --check or --preset ensemble")
    return cfg
