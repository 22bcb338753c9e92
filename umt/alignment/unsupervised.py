"""Unsupervised initialisations (no dictionary, no parallel text) and the ``auto`` selector.

``auto`` runs several candidate initialisations, refines each, and keeps the one whose
unsupervised criterion is highest. Nothing here reads a dictionary: the criterion picks.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from umt.alignment.adversarial import AdversarialConfig, train_adversarial
from umt.alignment.criterion import mean_csls_cosine
from umt.alignment.procrustes import RefineConfig, RefineResult, apply_mapping, average_maps, refine
from umt.alignment.similarity_init import SelfLearnConfig, self_learning
from umt.errors import UmtError

log = logging.getLogger("umt")

INITS = ("similarity", "adversarial")


@dataclass
class Candidate:
    """One initialisation and its refinement, with everything needed to plot and compare it."""

    name: str
    init_seconds: float
    refine_seconds: float
    result: RefineResult
    curves: dict = field(default_factory=dict)
    continued_after: str = ""  # the saved stage state it continued from ("self-learning iteration 130")

    @property
    def init(self) -> str:
        """The initialisation, without its seed (``"similarity"`` for ``"similarity:1@3000"``)."""
        return self.name.partition(":")[0]

    @property
    def family(self) -> CandidateSpec:
        """The candidate's spec with the seed left out (``similarity@3000`` for
        ``"similarity:1@3000"``): candidates of one family differ only in their seed, so they
        should reach the same map."""
        return parse_candidates([self.name])[0]._replace(seed=0)

    @property
    def criterion(self) -> float:
        return self.result.criteria[self.result.best_iteration]


class CandidateSpec(NamedTuple):
    """One candidate of ``auto``: its initialisation, its seed and, for ``similarity``, the size of
    its initial dictionary when it is not the configuration's (``init_words``)."""

    init: str
    seed: int
    init_words: int | None = None

    @property
    def name(self) -> str:
        return f"{self.init}:{self.seed}" + (f"@{self.init_words}" if self.init_words else "")


def with_init_words(selflearn: SelfLearnConfig, init_words: int | None) -> SelfLearnConfig:
    """``selflearn`` with the candidate's own initial dictionary size, if it has one."""
    return selflearn if init_words is None else replace(selflearn, init_words=init_words)


def parse_candidates(spec: str | list[str]) -> list[CandidateSpec]:
    """``"similarity:0,similarity:0@3000,adversarial:1"`` -> the three candidates' specs.

    ``INIT[:SEED][@WORDS]``: ``@WORDS`` (similarity only) starts from the similarity distributions
    of the ``WORDS`` most frequent words instead of ``SelfLearnConfig.init_words``: another
    starting dictionary, so possibly another optimum, which the criterion then weighs.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[CandidateSpec] = []
    expected = f"expected INIT[:SEED][@WORDS] with INIT in {', '.join(INITS)}"
    for item in items:
        head, at, words = item.strip().partition("@")
        name, _, seed = head.partition(":")
        if name not in INITS or (seed and not seed.lstrip("-").isdigit()):
            raise UmtError(f"bad candidate {item!r}: {expected}")
        if at and not (words.isdigit() and int(words) > 0):
            raise UmtError(f"bad candidate {item!r}: @WORDS must be a positive number of words ({expected})")
        if at and name != "similarity":
            raise UmtError(f"bad candidate {item!r}: @WORDS, the initial dictionary's size, is for similarity only")
        candidate = CandidateSpec(name, int(seed or 0), int(words) if at else None)
        if candidate in out:  # a repeat would also pass as an agreeing replicate in the failure check
            raise UmtError(f"candidate {item.strip()!r} given twice: each initialisation and seed runs once")
        out.append(candidate)
    if not out:
        raise UmtError("no candidate initialisation given")
    return out


def run_candidate(x: np.ndarray, y: np.ndarray, init: str, seed: int, adversarial: AdversarialConfig,
                  selflearn: SelfLearnConfig, refine_cfg: RefineConfig,
                  progress: bool = True, checkpoint: str | os.PathLike | None = None, key: str = "",
                  seed_cache: dict | None = None, init_words: int | None = None) -> Candidate:
    """Initialise with ``init`` under ``seed``, then refine with Procrustes. ``checkpoint``/``key``:
    where the initialisation saves its state as it goes (after each adversarial epoch, every few
    self-learning iterations) and under which key (:mod:`umt.alignment.stage_state`); a saved
    state continues, and the candidate's ``init_seconds`` then counts the time before the restart too.
    ``seed_cache``: shared by the candidates of one alignment, so that the similarity
    initialisation's seed dictionary is computed once per size (:func:`self_learning`).
    ``init_words``: this candidate's own initial dictionary size, which ``selflearn`` already
    carries (:func:`with_init_words`); it names the candidate."""
    curves: dict = {}
    if init == "adversarial":
        stage = train_adversarial(x, y, adversarial, seed, progress, checkpoint, key)
        curves.update(adversarial=stage.history, adversarial_criteria=stage.criteria,
                      adversarial_epoch_samples=stage.epoch_samples)
        continued = f"adversarial epoch {stage.continued_after}" if stage.continued_after else ""
    else:
        stage = self_learning(x, y, None, None, selflearn, seed, progress, checkpoint, key,
                              seed_cache=seed_cache)
        curves.update(self_learning=stage.objectives, keep_probs=stage.keep_probs)
        continued = f"self-learning iteration {stage.continued_after}" if stage.continued_after else ""
    t1 = time.time()
    result = refine(x, y, stage.mapping, refine_cfg, progress)
    curves["refinement"] = result.criteria
    name = CandidateSpec(init, seed, init_words).name
    cand = Candidate(name, stage.seconds, time.time() - t1, result, curves, continued)
    log.info("candidate %s: criterion %.4f (init %.0f s, refinement %.0f s)", cand.name, cand.criterion,
             cand.init_seconds, cand.refine_seconds)
    return cand


def select_best(candidates: list[Candidate]) -> Candidate:
    """The candidate with the highest unsupervised criterion (ties: the first)."""
    return max(candidates, key=lambda c: c.criterion)


class AverageMap(NamedTuple):
    """An averaged map: the map, its unsupervised criterion, and ``x`` mapped by it."""

    mapping: np.ndarray
    criterion: float
    mapped: np.ndarray


def average_if_better(x: np.ndarray, y: np.ndarray, kept: np.ndarray, kept_criterion: float,
                      replicates: list[np.ndarray], criterion_words: int) -> AverageMap | None:
    """The polar average of the kept map and its replicates (:func:`average_maps`, the kept map
    first) with its unsupervised criterion and the mapped source space, when that criterion beats
    ``kept_criterion``; else ``None``. The criterion, never a dictionary, decides.
    """
    average = scored_average(x, y, [kept, *replicates], criterion_words)
    log.info("average of %d maps: criterion %.4f (kept map %.4f)", 1 + len(replicates), average.criterion,
             kept_criterion)
    return average if average.criterion > kept_criterion else None


def scored_average(x: np.ndarray, y: np.ndarray, maps: list[np.ndarray], criterion_words: int) -> AverageMap:
    """The polar average of ``maps`` (:func:`average_maps`), its unsupervised criterion and ``x``
    mapped by it."""
    w = average_maps(maps)
    mapped = apply_mapping(x, w)
    return AverageMap(w, mean_csls_cosine(mapped, y, criterion_words), mapped)
