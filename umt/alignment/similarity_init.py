r"""Fully unsupervised initialisation from similarity distributions, and stochastic self-learning.

Initialisation (Artetxe et al. 2018, ACL): for the ``n`` most frequent words of each language
take :math:`\sqrt{X X^\top} = U S U^\top` (where :math:`X = U S V^\top`), sort each row and
normalise it. A word's sorted similarity profile does not depend on how the space is rotated, so
translations have similar profiles in both languages; their CSLS nearest neighbours give a first,
noisy dictionary, with no dictionary and no adversary.

Self-learning alternates Procrustes on the current dictionary with a new dictionary induced by
CSLS among the ``cutoff`` most frequent words, in both directions. Stochastic dictionary
induction keeps each similarity with probability ``p`` (0.1 at first, then doubled) so the early,
noisy iterations can escape poor local optima. When ``p`` doubles is the schedule:

* ``"stagnation"`` (VecMap): when the objective, the mean best similarity, has not improved for
  ``interval`` iterations;
* ``"fixed"`` (umt's default): also every ``interval`` iterations at the latest, which bounds the
  run time;
* ``"plateau"``: also once a phase has run ``min_interval`` iterations and its best objective
  gained less than ``plateau_gain`` over the last ``plateau_window``. After the first phase's
  climb the objective jumps within a few iterations of each doubling and then stays nearly flat,
  so later phases end early; it costs some precision on some seeds, so it is opt-in.

At ``p = 1`` every schedule runs until the objective stops improving for ``final_patience``.

``average_final_phase`` (off by default) starts that deterministic phase from the mean of the
maps of the last stochastic phase (its nearest orthogonal matrix,
:func:`umt.alignment.procrustes.average_maps`) instead of the last one alone: the iterates of a
phase scatter around the optimum the dropout lets them reach, and their mean (Polyak-Ruppert
averaging) depends less on the seed's last draws, at the cost of one 300 x 300 SVD.

With a ``checkpoint`` file the state (dictionary, schedule, curves, random generator) is saved
every ``save_every`` iterations (:mod:`umt.alignment.stage_state`), and a run started again under
the same key continues after the last saved iteration and ends on the same map.

``low_precision`` (off by default) computes the similarities in bfloat16 while ``keep < 1``:
the matrix product and the ``top-k`` passes take about half the time, and the deterministic phase
at ``keep = 1`` still runs in float32. It stays off because it weakens failure detection: on a
structureless control, two seeds with bfloat16 phases converged to the same map (agreement above
one half), so ``--check`` no longer flagged the failure (bfloat16's coarse steps make many
similarities tie, and ties are broken the same way in every run).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from umt.alignment.procrustes import average_maps, procrustes_on_pairs
from umt.alignment.stages import run_stage
from umt.device import compute_device, to_numpy, to_tensor
from umt.ranges import FRACTION, POSITIVE, CheckedConfig, ranged
from umt.retrieval.dense import neighbourhood, row_max, row_topk

log = logging.getLogger("umt")

SCHEDULES = ("plateau", "fixed", "stagnation")


@dataclass
class SelfLearnConfig(CheckedConfig):
    """Settings of the similarity initialisation and stochastic self-learning.

    VecMap's published values: ``init_words=4000``, ``cutoff=20000``, ``interval=50``,
    ``initial_keep=0.1``, ``multiplier=2``, ``csls_k=10``, ``threshold=1e-6``, doubling the keep
    probability only on stagnation. umt's default halves the cutoff and doubles the probability
    every 50 iterations at the latest, which bounds the run time; much shorter intervals let a
    seed lock into a bad solution. The default preset, ``duo``, runs two seeds at 25 and averages
    them, which cancels part of the extra noise of the shorter phases.
    """

    init_words: int = ranged(4000, POSITIVE)
    cutoff: int = ranged(10000, POSITIVE)
    csls_k: int = ranged(10, POSITIVE)
    initial_keep: float = ranged(0.1, FRACTION)
    multiplier: float = ranged(2.0, low=1.0, low_open=True)
    interval: int = ranged(50, POSITIVE)
    threshold: float = ranged(1e-6, low=0.0)
    max_iterations: int = ranged(500, POSITIVE)
    schedule: str = ranged("fixed", choices=SCHEDULES)  # "plateau" is faster, "stagnation" VecMap's: module notes
    min_interval: int = ranged(20, POSITIVE)
    plateau_window: int = ranged(10, POSITIVE)
    plateau_gain: float = ranged(1e-3, low=0.0)
    final_patience: int = ranged(5, POSITIVE)  # at keep = 1 updates are deterministic; refinement follows
    low_precision: bool = False  # bfloat16 similarities while keep < 1: faster, but see the module notes
    average_final_phase: bool = False  # start keep = 1 from the last stochastic phase's mean map: module notes


@dataclass
class SelfLearnResult:
    mapping: np.ndarray
    src_ids: np.ndarray
    tgt_ids: np.ndarray
    objectives: list[float] = field(default_factory=list)
    keep_probs: list[float] = field(default_factory=list)
    seconds: float = 0.0  # the whole stage's, including the part run before a restart
    continued_after: int = 0  # iterations read back from a saved state (0: run from the start)


def _sorted_similarity_profile(x: torch.Tensor) -> torch.Tensor:
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    sim = (u * s) @ u.T
    sim = sim.sort(dim=1).values
    unit = lambda a: a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)  # noqa: E731
    return unit(unit(sim) - unit(sim).mean(0, keepdim=True))  # VecMap's unit,center,unit


def _dropout_depth(width: int, keep: float) -> int:
    """How many of a row's best entries the dropout is drawn for: all ``K`` of them are dropped
    with probability 1e-3."""
    return min(width, max(1, math.ceil(math.log(1e-3) / math.log(1.0 - keep))))


def _first_kept_ranks(rows: int, width: int, keep: float, gen: torch.Generator,
                      device: torch.device | str = "cpu") -> torch.Tensor | None:
    """For every row, the rank (0 = best) of its first entry that the dropout keeps; ``None``
    when ``keep >= 1`` (no dropout, nothing drawn)."""
    if keep >= 1.0:
        return None
    kept = torch.rand((rows, _dropout_depth(width, keep)), generator=gen, device=device) < keep
    kept[:, -1] = True
    return kept.to(torch.uint8).argmax(dim=1)


def _entry_of_rank(scores: torch.Tensor, rank: torch.Tensor | None, keep: float) -> torch.Tensor:
    r"""Column of each row's ``rank``-th best entry (its best where ``rank`` is ``None``).

    That rank is below ``S``, chosen so that :math:`(1 - p)^S \le 0.05`, in all but about 5% of
    the rows, so the top ``S`` are found for every row by :func:`row_topk` and the full top ``K``
    only for the others: the same winners as sorting every row's top ``K`` (up to the order of
    tied scores), in less time.
    """
    if rank is None:
        return row_max(scores)[1]
    k = _dropout_depth(scores.shape[1], keep)
    shallow = min(k, max(8, math.ceil(math.log(0.05) / math.log(1.0 - keep))))
    winner = row_topk(scores, shallow)[1].gather(1, rank.clamp(max=shallow - 1)[:, None]).squeeze(1)
    deep = (rank >= shallow).nonzero().squeeze(1)
    if len(deep):
        winner[deep] = scores[deep].topk(k, dim=1).indices.gather(1, rank[deep, None]).squeeze(1)
    return winner


def _stochastic_argmax(scores: torch.Tensor, keep: float, gen: torch.Generator) -> torch.Tensor:
    """Argmax of each row after dropping every entry with probability ``1 - keep``.

    Only the row's best ``K`` entries can win unless all of them are dropped, so the dropout is
    drawn for those alone, with ``K`` chosen so that this happens with probability 1e-3 (the
    row's ``K``-th entry is taken then). Same distribution, a fraction of the random numbers.
    The winner is the first kept entry in descending order (:func:`_entry_of_rank`).
    """
    return _entry_of_rank(scores, _first_kept_ranks(len(scores), scores.shape[1], keep, gen, scores.device), keep)


@dataclass
class _Induction:
    fwd: torch.Tensor  # best target of every source
    bwd: torch.Tensor  # best source of every target
    objective: float


def _induce_both_ways(sim: torch.Tensor, sim_t: torch.Tensor, scratch: torch.Tensor, csls_k: int,
                      keep: float, gen: torch.Generator) -> _Induction:
    r"""One dictionary induction of self-learning from the ``n x m`` similarities ``sim``.

    With :math:`r_T(x)` (``knn_fwd``) and :math:`r_S(y)` (``knn_bwd``) the mean similarity of
    each word to its ``csls_k`` nearest neighbours in the other language, every source gets the
    target of highest :math:`\cos(x, y) - r_S(y) / 2` (CSLS up to the per-row constant
    :math:`r_T(x)`, which does not change a row's argmax) and every target the source of highest
    :math:`\cos(x, y) - r_T(x) / 2`, after the stochastic dropout (:func:`_stochastic_argmax`).

    The same picks as the whole-matrix top-``k``, shift and dropout argmax each way plus the
    transposed copy (seven passes over ``n x m`` floats), in three passes over blocks of
    ``len(scratch)`` rows, each used while it is in cache: top-``k``
    of ``sim`` and its transpose copied into ``sim_t``; top-``k`` of ``sim_t`` and the backward
    argmax; the forward argmax. The shifted scores go to the small ``scratch`` buffer
    (``block x max(n, m)``; on an accelerator, where whole-matrix kernels are faster, one block of
    every row) instead of back to memory. The random draws are those of the whole matrices,
    forward first.
    """
    n, m = sim.shape
    rank_fwd = _first_kept_ranks(n, m, keep, gen, sim.device)
    rank_bwd = _first_kept_ranks(m, n, keep, gen, sim.device)
    block = len(scratch)
    knn_fwd, best_fwd, knn_bwd, best_bwd = (torch.empty(size, dtype=sim.dtype, device=sim.device)
                                            for size in (n, n, m, m))
    fwd, bwd = (torch.empty(size, dtype=torch.long, device=sim.device) for size in (n, m))

    def densities(rows: torch.Tensor, at: int, best: torch.Tensor, knn: torch.Tensor) -> None:
        best[at:at + len(rows)], knn[at:at + len(rows)] = neighbourhood(rows, csls_k)

    def choose(rows: torch.Tensor, at: int, half_knn: torch.Tensor, rank: torch.Tensor | None,
               out: torch.Tensor) -> None:
        scores = torch.sub(rows, half_knn, out=scratch[:len(rows), :rows.shape[1]])
        out[at:at + len(rows)] = _entry_of_rank(scores, None if rank is None else rank[at:at + len(rows)], keep)

    for i in range(0, n, block):
        densities(sim[i:i + block], i, best_fwd, knn_fwd)
        sim_t[:, i:i + block].copy_(sim[i:i + block].T)
    for j in range(0, m, block):
        densities(sim_t[j:j + block], j, best_bwd, knn_bwd)
        choose(sim_t[j:j + block], j, knn_fwd[None, :] / 2, rank_bwd, bwd)
    for i in range(0, n, block):
        choose(sim[i:i + block], i, knn_bwd[None, :] / 2, rank_fwd, fwd)
    return _Induction(fwd, bwd, _mean_best_similarity(best_fwd, best_bwd))


def initial_dictionary(x: np.ndarray, y: np.ndarray, n: int = 4000, csls_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary from sorted similarity profiles of the ``n`` most frequent words (both directions)."""
    n = min(n, len(x), len(y))
    xs = _sorted_similarity_profile(to_tensor(x[:n], np.float64))
    ys = _sorted_similarity_profile(to_tensor(y[:n], np.float64))
    sim = xs @ ys.T
    sim = sim - neighbourhood(sim, csls_k, 1)[1][:, None] / 2 - neighbourhood(sim, csls_k, 0)[1][None, :] / 2
    ar = torch.arange(n, device=sim.device)
    src = torch.cat([ar, sim.argmax(dim=0)])
    tgt = torch.cat([sim.argmax(dim=1), ar])
    return to_numpy(src), to_numpy(tgt)


def _plateaued(phase_best: list[float], cfg: SelfLearnConfig) -> bool:
    """Whether the phase has run ``min_interval`` iterations and its best objective gained less
    than ``plateau_gain`` over the last ``plateau_window``."""
    window = cfg.plateau_window
    return (len(phase_best) >= max(cfg.min_interval, window + 1)
            and phase_best[-1] - phase_best[-1 - window] < cfg.plateau_gain)


def _mean_best_similarity(best_fwd: torch.Tensor, best_bwd: torch.Tensor) -> float:
    return float((best_fwd.float().mean() + best_bwd.float().mean()) / 2)


def self_learning_objective(x: np.ndarray, y: np.ndarray, w: np.ndarray, cutoff: int) -> float:
    r"""The quantity self-learning climbs, for any map ``w``.

    .. math:: \frac{1}{2}\Big(\operatorname{mean}_i \max_j (x_i W^\top) \cdot y_j
              + \operatorname{mean}_j \max_i (x_i W^\top) \cdot y_j\Big)

    over the ``cutoff`` most frequent words of each side (rows of ``x`` and ``y`` unit-normalised).
    """
    mapped = np.ascontiguousarray(x[:cutoff] @ w.T.astype(x.dtype))
    sim = to_tensor(mapped, None) @ to_tensor(y[:cutoff], None).T
    return _mean_best_similarity(sim.max(dim=1).values, sim.max(dim=0).values)


class SelfLearning:
    """Stochastic self-learning as a resumable stage (:mod:`umt.alignment.stages`): one
    :meth:`step` is one iteration, Procrustes on the current dictionary and a new dictionary
    induced from the map; :func:`self_learning` runs it."""

    name, unit = "self-learning", "iteration"

    def __init__(self, x: np.ndarray, y: np.ndarray, src_ids: np.ndarray | None, tgt_ids: np.ndarray | None,
                 cfg: SelfLearnConfig, seed: int = 0, seed_cache: dict | None = None):
        self.t0 = time.time()
        self.x, self.y, self.cfg, self.seed_cache = x, y, cfg, seed_cache
        self.seed_pairs = src_ids, tgt_ids
        self.dev = dev = compute_device()
        self.gen = torch.Generator(device=dev).manual_seed(seed)
        self.n = n = min(cfg.cutoff, len(x), len(y))
        self.xc, self.yc = to_tensor(x[:n], None), to_tensor(y[:n], None)
        self.yc_low = self.yc.to(torch.bfloat16) if cfg.low_precision else self.yc
        self.ar = torch.arange(n, device=dev)
        self.total, self.done = cfg.max_iterations, 0
        # maps of the iterations whose dictionary was induced with one keep probability (average_final_phase)
        self.phase_sum, self.phase_count = np.zeros((x.shape[1], x.shape[1])), 0
        self.keep, self.best, self.last_improvement, self.phase_start = cfg.initial_keep, -np.inf, 0, 0
        self.phase_best: list[float] = []  # running best objective of the current phase, per iteration
        # Both n x n similarity matrices live in buffers allocated once: a fresh 400 MB tensor per
        # iteration costs more in page faults than the matrix product itself (10k words, 2 cores:
        # about 1.7 s -> 1.1 s per iteration on real en-fr vectors), and the values are the same.
        self.sim_buffer = self.sim_t_buffer = self.scratch = None
        self.result: SelfLearnResult | None = None

    def begin(self) -> None:
        """Start from the seed dictionary, the similarity initialisation's when none was given: it
        does not depend on the seed, so the runs of several seeds share ``seed_cache``."""
        src_ids, tgt_ids = self.seed_pairs
        cfg = self.cfg
        if src_ids is None or tgt_ids is None:
            cache = {} if self.seed_cache is None else self.seed_cache
            if (cfg.init_words, cfg.csls_k) not in cache:
                cache[cfg.init_words, cfg.csls_k] = initial_dictionary(self.x, self.y, cfg.init_words, cfg.csls_k)
            src_ids, tgt_ids = cache[cfg.init_words, cfg.csls_k]
        self.result = SelfLearnResult(np.eye(self.x.shape[1], dtype=np.float32), src_ids, tgt_ids)

    def state_dict(self) -> dict:
        r = self.result
        return {"iteration": self.done, "seconds": time.time() - self.t0, "keep": self.keep, "best": self.best,
                "last_improvement": self.last_improvement, "phase_start": self.phase_start,
                "phase_best": self.phase_best, "gen": self.gen.get_state(),
                "result": {"mapping": r.mapping, "src_ids": r.src_ids, "tgt_ids": r.tgt_ids,
                           "objectives": r.objectives, "keep_probs": r.keep_probs},
                **({"phase_sum": self.phase_sum, "phase_count": self.phase_count}
                   if self.cfg.average_final_phase else {})}

    def load_state_dict(self, state: dict) -> None:
        self.result = SelfLearnResult(**state["result"])
        self.keep, self.best, self.phase_best = state["keep"], state["best"], state["phase_best"]
        self.last_improvement, self.phase_start = state["last_improvement"], state["phase_start"]
        self.gen.set_state(state["gen"])
        self.phase_sum = state.get("phase_sum", self.phase_sum)
        self.phase_count = state.get("phase_count", 0)
        self.done = self.result.continued_after = state["iteration"]
        self.t0 -= state.get("seconds", 0.0)  # states saved before umt recorded the time lack it

    def postfix(self) -> dict[str, str]:
        return {"objective": f"{self.result.objectives[-1]:.4f}", "keep": f"{self.keep:.2f}"}

    def _schedule(self, it: int) -> bool:
        """Move the keep probability on at iteration ``it``; ``True`` when the deterministic phase
        has stopped improving, which ends the stage."""
        cfg, end = self.cfg, False
        patience = cfg.interval if self.keep < 1.0 else min(cfg.interval, cfg.final_patience)
        if it - self.last_improvement > patience:
            end = self.keep >= 1.0
            self.keep, self.last_improvement, self.phase_start = min(1.0, cfg.multiplier * self.keep), it, it
        elif self.keep < 1.0 and cfg.schedule != "stagnation" and (
                it - self.phase_start >= cfg.interval or (cfg.schedule == "plateau" and _plateaued(self.phase_best,
                                                                                                  cfg))):
            self.keep, self.phase_start = min(1.0, cfg.multiplier * self.keep), it
        if self.phase_start == it:
            self.phase_best = []
        return end

    def _map(self) -> np.ndarray:
        """Procrustes on the current dictionary (or, with ``average_final_phase``, the mean map of
        the last stochastic phase when the deterministic one begins)."""
        cfg, result = self.cfg, self.result
        w = procrustes_on_pairs(self.x, self.y, result.src_ids, result.tgt_ids)
        dictionary_keep = result.keep_probs[-1] if result.keep_probs else None  # None: the seed dictionary
        if cfg.average_final_phase and dictionary_keep is not None and dictionary_keep < 1.0:
            if len(result.keep_probs) < 2 or result.keep_probs[-2] != dictionary_keep:  # a phase's first
                self.phase_sum, self.phase_count = np.zeros_like(self.phase_sum), 0
            self.phase_sum, self.phase_count = self.phase_sum + w, self.phase_count + 1
            if self.keep >= 1.0:  # the deterministic phase starts from the stochastic iterates' mean
                w = average_maps([self.phase_sum])
                log.info("self-learning: keep = 1 starts from the mean map of the last %d iterations",
                         self.phase_count)
        return w

    def _induce(self, w: np.ndarray) -> _Induction:
        """The dictionary the map ``w`` induces, both ways, with this phase's dropout."""
        dev, n = self.dev, self.n
        mapped = self.xc @ to_tensor(w, None).T
        if self.cfg.low_precision and self.keep < 1.0:
            mapped, targets = mapped.to(torch.bfloat16), self.yc_low
        else:
            targets = self.yc
        if self.sim_buffer is None or self.sim_buffer.dtype != mapped.dtype:  # first, or bfloat16 phases over
            self.sim_buffer = torch.empty(n, n, dtype=mapped.dtype, device=dev)
            self.sim_t_buffer = torch.empty(n, n, dtype=mapped.dtype, device=dev)
            self.scratch = torch.empty(min(n, 512) if dev.type == "cpu" else n, n, dtype=mapped.dtype, device=dev)
        torch.matmul(mapped, targets.T, out=self.sim_buffer)  # sources x targets
        return _induce_both_ways(self.sim_buffer, self.sim_t_buffer, self.scratch, self.cfg.csls_k, self.keep,
                                 self.gen)

    def step(self) -> bool:
        it = self.done + 1
        end = self._schedule(it)
        w = self._map()
        self.result.mapping = w
        if end:
            return False
        induced = self._induce(w)
        result = self.result
        result.src_ids = to_numpy(torch.cat([self.ar, induced.bwd]))
        result.tgt_ids = to_numpy(torch.cat([induced.fwd, self.ar]))
        result.objectives.append(induced.objective)
        result.keep_probs.append(self.keep)
        if induced.objective - self.best >= self.cfg.threshold:
            self.last_improvement, self.best = it, induced.objective
        self.phase_best.append(max(induced.objective, self.phase_best[-1]) if self.phase_best else induced.objective)
        self.done = it
        return True


def self_learning(x: np.ndarray, y: np.ndarray, src_ids: np.ndarray | None, tgt_ids: np.ndarray | None,
                  cfg: SelfLearnConfig, seed: int = 0, progress: bool = True,
                  checkpoint: str | os.PathLike | None = None, key: str = "", save_every: int = 10,
                  seed_cache: dict | None = None) -> SelfLearnResult:
    """Stochastic self-learning from a seed dictionary; returns the final orthogonal map.

    ``src_ids``/``tgt_ids``: the seed dictionary; ``None`` for the similarity initialisation's
    (:func:`initial_dictionary` of ``cfg.init_words`` words), computed only when no saved state
    is continued. It does not depend on the seed, so the runs of several seeds on the same ``x``
    and ``y`` can share one ``seed_cache`` (an empty dict at first) and compute it once.
    ``checkpoint``: a file for the state every ``save_every`` iterations; when it
    holds a state saved under the same ``key`` (:func:`umt.alignment.checkpoints.candidate_key`),
    self-learning continues after that state's iteration and the seed dictionary is not used.
    """
    stage = SelfLearning(x, y, src_ids, tgt_ids, cfg, seed, seed_cache)
    run_stage(stage, checkpoint, key, save_every, progress)
    result = stage.result
    result.seconds = time.time() - stage.t0
    log.info("self-learning: %d iterations, objective %.4f", len(result.objectives), stage.best)
    return result
