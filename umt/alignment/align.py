"""``align``: learn a map from a source space to a target space and write a run directory."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from umt.alignment.checkpoints import candidate_key, load_candidate, save_candidate, spaces_digest, stage_state_path
from umt.alignment.config import METHODS, SUPERVISED, UNSUPERVISED, AlignConfig
from umt.alignment.criterion import (
    AGREEMENT_FAILED_BELOW,
    AGREEMENT_WORDS,
    alignment_verdict,
    mean_csls_cosine,
    translation_agreement,
)
from umt.alignment.presets import resolve
from umt.alignment.procrustes import map_spaces, procrustes, refine
from umt.alignment.reweight import reweight_from_map, reweight_from_seed
from umt.alignment.spaces import check_alignable, prepare, save_mapping, vocabulary_fingerprint
from umt.alignment.supervised import seed_dictionary
from umt.alignment.unsupervised import (
    AverageMap,
    Candidate,
    CandidateSpec,
    average_if_better,
    parse_candidates,
    run_candidate,
    scored_average,
    select_best,
    with_init_words,
)
from umt.device import computing_on, use_all_cores
from umt.embeddings.dictionaries import IndexedDictionary
from umt.embeddings.io import save_vec
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import staged_results, write_json
from umt.retrieval.lexicon import Lexicon, induce_lexicon, write_lexicon_tsv

log = logging.getLogger("umt")

__all__ = ["METHODS", "SUPERVISED", "UNSUPERVISED", "AlignConfig", "AlignResult", "align", "write_alignment"]

@dataclass
class AlignResult:
    mapping: np.ndarray
    lexicon: Lexicon | None  # None only inside align(), from averaging until its end induces it
    criteria: list[float]
    seconds: float
    config: AlignConfig
    supervised: bool
    candidates: list[Candidate] = field(default_factory=list)
    chosen: str = ""
    agreement: float | None = None  # best agreement of the kept map with another initialisation's
    criterion: float = float("nan")  # the kept map's (refinement may end on a lower one)
    target_mapping: np.ndarray | None = None  # set by re-weighting, which moves the target space too
    orthogonal: np.ndarray | None = None  # the orthogonal map re-weighting started from
    resumed: list[str] = field(default_factory=list)  # candidates read back from checkpoints, not run
    seed: IndexedDictionary | None = None  # the dictionary a supervised (or identical-strings) map learned from

    def mapped(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both prepared spaces under the learned maps."""
        return map_spaces(x, y, self.mapping, self.target_mapping)

    @property
    def verdict(self) -> str:
        """``"ok"``, ``"failed"`` or ``"unchecked"``; supervised maps are not judged."""
        return "supervised" if self.supervised else alignment_verdict(self.agreement)


def align(src: Embeddings, tgt: Embeddings, cfg: AlignConfig | None = None, progress: bool = True,
          checkpoints: str | os.PathLike | None = None) -> AlignResult:
    """Learn the orthogonal map of ``cfg.method``, refine it ``cfg.refine.iterations`` times and
    re-weight it (``cfg.reweight``).

    ``cfg``: ``None`` runs the default preset, what ``umt align`` runs without options
    (:data:`umt.alignment.presets.DEFAULT_PRESET`); a bare ``AlignConfig()`` is one similarity
    seed, the ``fast`` preset.

    ``checkpoints``: a folder where each unsupervised candidate is saved as it finishes, and from
    which candidates finished earlier under the same settings and vectors are read back instead
    of run again (:mod:`umt.alignment.checkpoints`); the candidate running when a run was killed
    continues from its last saved epoch or self-learning iteration. The tensor work runs on
    ``cfg.device`` (:func:`umt.device.computing_on`).
    """
    if cfg is None:
        cfg = resolve()
    use_all_cores()
    with computing_on(cfg.device):
        return _align(src, tgt, cfg, progress, checkpoints)


def _align(src: Embeddings, tgt: Embeddings, cfg: AlignConfig, progress: bool,
           checkpoints: str | os.PathLike | None) -> AlignResult:
    if cfg.method not in METHODS:
        raise UmtError(f"unknown alignment method {cfg.method!r}: choose from {', '.join(METHODS)}")
    if cfg.reweight_seed and (cfg.method not in ("procrustes", "identical") or cfg.reweight is None):
        raise UmtError("--reweight-seed re-weights on the seed dictionary: it needs --method procrustes (or "
                       "identical) and re-weighting on")
    check_alignable(src, tgt)
    t0 = time.time()
    x, y = prepare(src, tgt, cfg.normalize)
    result = _orthogonal(src, tgt, x, y, cfg, progress, t0, checkpoints)
    if cfg.reweight is not None:
        _reweight(result, x, y, cfg)
    if result.lexicon is None:  # an average whose lexicon re-weighting did not induce
        result.lexicon = induce_lexicon(result.mapped(x, y)[0], y, cfg.refine.method, cfg.refine.build,
                                        cfg.refine.max_rank)
    result.seconds = time.time() - t0
    return result


def _orthogonal(src: Embeddings, tgt: Embeddings, x: np.ndarray, y: np.ndarray, cfg: AlignConfig, progress: bool,
                t0: float, checkpoints: str | os.PathLike | None = None) -> AlignResult:
    if cfg.method in ("auto", "similarity", "adversarial"):
        specs = parse_candidates(cfg.candidates) if cfg.method == "auto" else [CandidateSpec(cfg.method, 0)]
        # @WORDS equal to the configured size is the plain candidate: one name, one family
        specs = [s._replace(init_words=None) if s.init_words == cfg.selflearn.init_words else s for s in specs]
        if len(set(specs)) < len(specs):  # the two runs would agree perfectly and pass the failure check
            raise UmtError(f"a candidate is given twice: @{cfg.selflearn.init_words} is the initial dictionary "
                           "size of the settings (--sl-init-words), the same as no @WORDS")
        if cfg.check and len(specs) == 1:
            specs.append(specs[0]._replace(seed=specs[0].seed + 1))
        spaces = spaces_digest(x, y) if checkpoints is not None else ""
        candidates, resumed = [], []
        seed_cache: dict = {}  # the similarity initialisation's dictionary, the same for every seed
        for spec in specs:
            spec = spec._replace(seed=spec.seed + cfg.seed)
            selflearn = with_init_words(cfg.selflearn, spec.init_words)  # what the key digests is what runs
            key = candidate_key(spaces, spec.init, spec.seed, cfg.normalize, cfg.adversarial, selflearn, cfg.refine)
            candidate = _saved_candidate(checkpoints, spec.name, key)
            if candidate is not None:
                resumed.append(candidate.name)
            else:
                stage = stage_state_path(checkpoints, spec.name) if checkpoints is not None else None
                candidate = run_candidate(x, y, spec.init, spec.seed, cfg.adversarial, selflearn, cfg.refine,
                                          progress, stage, key, seed_cache, spec.init_words)
                if checkpoints is not None:
                    save_candidate(checkpoints, candidate, key)
                    stage.unlink(missing_ok=True)  # the finished candidate supersedes its stage's state
            candidates.append(candidate)
        best = select_best(candidates)
        log.info("chose %s (criterion %.4f) among %s", best.name, best.criterion, [c.name for c in candidates])
        # Replicates are other seeds of the kept initialisation (and initial dictionary size): the
        # agreement rule was calibrated on those, and another kind's optimum or collapse (an
        # adversarial run, another size) says nothing about the kept map.
        replicates = [c for c in candidates if c is not best and c.family == best.family]
        # the targets each refinement's criterion found are the ones compared, if found among as many words
        reuse = cfg.refine.criterion_words == AGREEMENT_WORDS
        agreements = [translation_agreement(x, y, best.result.mapping, c.result.mapping, AGREEMENT_WORDS,
                                            targets_a=best.result.targets if reuse else None,
                                            targets_b=c.result.targets if reuse else None)
                      for c in replicates]
        agreement = max(agreements, default=None)
        result = AlignResult(best.result.mapping, best.result.lexicon, best.result.criteria, time.time() - t0, cfg,
                             supervised=False, candidates=candidates, chosen=best.name, agreement=agreement,
                             criterion=best.criterion, resumed=resumed)
        if cfg.average and cfg.average_when == "agree":
            agreeing = [c for c, a in zip(replicates, agreements) if a >= AGREEMENT_FAILED_BELOW]
            if agreeing:
                _keep_average(result, x, y, [best, *agreeing], cfg)
        elif cfg.average and replicates:
            _keep_average_if_better(result, x, y, [best, *replicates], cfg)
        result.seconds = time.time() - t0
        if agreement is not None:
            log.info("agreement with another initialisation: %.3f (%s)", agreement, result.verdict)
        return result
    spec = "identical" if cfg.method == "identical" else cfg.dict
    if not spec:
        raise UmtError("--method procrustes needs a seed dictionary: --dict FILE or --dict identical")
    seed = seed_dictionary(spec, src, tgt)
    log.info("seed dictionary %s: %d pairs", spec, len(seed.src_ids))
    w = procrustes(x[seed.src_ids], y[seed.tgt_ids])
    result = refine(x, y, w, cfg.refine, progress)
    return AlignResult(result.mapping, result.lexicon, result.criteria, time.time() - t0, cfg,
                       supervised=spec != "identical", criterion=result.criteria[result.best_iteration], seed=seed)


def _saved_candidate(checkpoints: str | os.PathLike | None, name: str, key: str) -> Candidate | None:
    if checkpoints is None:
        return None
    candidate = load_candidate(checkpoints, name, key)
    if candidate is not None:
        log.info("candidate %s: read back from %s (finished earlier; criterion %.4f)", candidate.name, checkpoints,
                 candidate.criterion)
    return candidate


def _keep_average_if_better(result: AlignResult, x: np.ndarray, y: np.ndarray, members: list[Candidate],
                            cfg: AlignConfig) -> None:
    """Replace the kept map (``members[0]``'s) by the average of ``members`` (it and its replicates)
    when the unsupervised criterion prefers the average; no dictionary is read."""
    better = average_if_better(x, y, result.mapping, result.criterion, [c.result.mapping for c in members[1:]],
                               cfg.refine.criterion_words)
    if better is not None:
        _take_average(result, y, better, members, cfg)


def _keep_average(result: AlignResult, x: np.ndarray, y: np.ndarray, members: list[Candidate],
                  cfg: AlignConfig) -> None:
    """Replace the kept map (``members[0]``'s) by the average of ``members``, whatever its criterion."""
    _take_average(result, y, scored_average(x, y, [c.result.mapping for c in members], cfg.refine.criterion_words),
                  members, cfg)


def _take_average(result: AlignResult, y: np.ndarray, average: AverageMap, members: list[Candidate],
                  cfg: AlignConfig) -> None:
    result.mapping, result.criteria, result.criterion = average.mapping, [average.criterion], average.criterion
    result.lexicon = None  # induced once, by re-weighting or at the end of align()
    result.chosen = "average(" + "+".join(c.name for c in members) + ")"
    log.info("kept %s (criterion %.4f)", result.chosen, average.criterion)


def _reweight(result: AlignResult, x: np.ndarray, y: np.ndarray, cfg: AlignConfig) -> None:
    """Replace the orthogonal map by VecMap's re-weighted pair of maps, learned on the dictionary
    the orthogonal map induces (no dictionary is read), or with ``reweight_seed`` on the seed
    dictionary of a supervised map first."""
    try:
        if cfg.reweight_seed:
            maps = reweight_from_seed(x, y, result.seed.src_ids, result.seed.tgt_ids, cfg.reweight, cfg.reweight_words,
                                      cfg.reweight_rounds)
        else:
            maps = reweight_from_map(x, y, result.mapping, cfg.reweight, cfg.reweight_words,
                                     cfg.reweight_rounds)
    except ValueError as e:  # too few or degenerate pairs (tiny vocabularies): keep the orthogonal map
        log.warning("re-weighting skipped, the orthogonal map is kept: %s", e)
        return
    result.orthogonal = result.mapping
    result.mapping, result.target_mapping = maps
    xm, ym = result.mapped(x, y)
    result.lexicon = induce_lexicon(xm, ym, cfg.refine.method, cfg.refine.build, cfg.refine.max_rank)
    log.info("re-weighted (power %.2f)", cfg.reweight)


ALIGN_RESULTS = ("mapping.npy", "target_mapping.npy", "mapping.json", "lexicon.tsv", "metrics.json", "config.json",
                 "evaluation.tsv", "training_curves.png", "src.mapped.vec", "tgt.vec")


def write_alignment(result: AlignResult, src: Embeddings, tgt: Embeddings, out: str | os.PathLike,
                    scorer: Callable[[np.ndarray, np.ndarray, Path], dict] | None = None,
                    export_vec: bool = False) -> dict:
    """Write mapping, induced lexicon, metrics (and the mapped spaces as ``.vec`` on request).

    ``scorer``: called on the mapped source and target rows and the folder being written, its
    figures join ``metrics.json`` (:func:`umt.evaluation.api.dictionary_scorer` evaluates on a test
    dictionary); without one the metrics hold the unsupervised criterion only. The results are
    written beside an earlier run's in ``out`` and replace them together
    (:func:`umt.fileio.staged_results`), ``mapping.json`` with the maps' digests last: an
    interrupted write leaves the earlier results whole.
    """
    cfg = result.config
    with computing_on(cfg.device), staged_results(out, ALIGN_RESULTS, "mapping.json") as folder:
        save_mapping(folder, result.mapping, cfg.normalize, target=result.target_mapping, src=src.source,
                     tgt=tgt.source, method=cfg.method, src_vocabulary=vocabulary_fingerprint(src),
                     tgt_vocabulary=vocabulary_fingerprint(tgt))
        write_lexicon_tsv(result.lexicon, src, tgt, folder / "lexicon.tsv")
        xm, ym = result.mapped(*prepare(src, tgt, cfg.normalize))
        metrics = {"method": cfg.method, "preset": cfg.preset, "supervised": result.supervised,
                   "seconds": round(result.seconds, 1), "criterion_history": [round(c, 5) for c in result.criteria],
                   "lexicon_pairs": len(result.lexicon), "verdict": result.verdict,
                   "selection_criterion": round(result.criterion, 5), "reweighted": result.target_mapping is not None}
        if result.agreement is not None:
            metrics["agreement"] = round(result.agreement, 4)
        if result.resumed:
            metrics["resumed_candidates"] = result.resumed  # their time is not in "seconds"
        continued = {c.name: c.continued_after for c in result.candidates if c.continued_after}
        if continued:  # "seconds" counts this process only; their "init_seconds", the time before too
            metrics["continued_candidates"] = continued
        if result.candidates:
            metrics["chosen"] = result.chosen
            metrics["candidates"] = [{"name": c.name, "criterion": round(c.criterion, 5), "init_seconds":
                                      round(c.init_seconds, 1), "refine_seconds": round(c.refine_seconds, 1)}
                                     for c in result.candidates]
            from umt.alignment.plots import plot_training_curves

            plot_training_curves(result.candidates, folder / "training_curves.png")
        if scorer is not None:  # evaluation builds on alignment, so it comes in from above
            metrics.update(scorer(xm, ym, folder))
        else:
            metrics["criterion"] = round(mean_csls_cosine(xm, ym), 5)
        write_json(folder / "metrics.json", metrics)
        write_json(folder / "config.json", asdict(cfg))
        if export_vec:
            save_vec(src.with_vectors(xm), folder / "src.mapped.vec")
            save_vec(tgt.with_vectors(ym), folder / "tgt.vec")
    return metrics
