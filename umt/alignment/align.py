"""``align``: learn a map from a source space to a target space and write a run directory."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from umt.alignment.procrustes import RefineConfig, apply_mapping, procrustes, refine
from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare, save_mapping
from umt.alignment.supervised import seed_dictionary
from umt.embeddings.io import save_vec
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import write_json
from umt.retrieval.lexicon import Lexicon, write_lexicon_tsv

log = logging.getLogger("umt")

METHODS = ("procrustes", "identical")


@dataclass
class AlignConfig:
    """What ``umt align`` does. ``procrustes`` is supervised by ``dict`` (a file or ``identical``)."""

    method: str = "procrustes"
    dict: str | None = None
    normalize: str = DEFAULT_NORMALIZE
    refine: RefineConfig = field(default_factory=lambda: RefineConfig(iterations=0))
    seed: int = 0
    device: str | None = None


@dataclass
class AlignResult:
    mapping: np.ndarray
    lexicon: Lexicon
    criteria: list[float]
    seconds: float
    config: AlignConfig
    supervised: bool


def align(src: Embeddings, tgt: Embeddings, cfg: AlignConfig, progress: bool = True) -> AlignResult:
    """Learn the orthogonal map of ``cfg.method`` and refine it ``cfg.refine.iterations`` times."""
    if cfg.method not in METHODS:
        raise UmtError(f"unknown alignment method {cfg.method!r}: choose from {', '.join(METHODS)}")
    t0 = time.time()
    x, y = prepare(src, tgt, cfg.normalize)
    spec = "identical" if cfg.method == "identical" else cfg.dict
    if not spec:
        raise UmtError("--method procrustes needs a seed dictionary: --dict FILE or --dict identical")
    seed = seed_dictionary(spec, src, tgt)
    log.info("seed dictionary %s: %d pairs", spec, len(seed.src_ids))
    w = procrustes(x[seed.src_ids], y[seed.tgt_ids])
    result = refine(x, y, w, cfg.refine, progress, cfg.device)
    return AlignResult(result.mapping, result.lexicon, result.criteria, time.time() - t0, cfg,
                       supervised=spec != "identical")


def write_alignment(result: AlignResult, src: Embeddings, tgt: Embeddings, out: str | os.PathLike,
                    eval_dict: str | None = None, export_vec: bool = False) -> dict:
    """Write mapping, induced lexicon, metrics (and the mapped spaces as ``.vec`` on request)."""
    out = Path(out)
    cfg = result.config
    save_mapping(out, result.mapping, cfg.normalize, src=src.source, tgt=tgt.source, method=cfg.method)
    write_lexicon_tsv(result.lexicon, src, tgt, out / "lexicon.tsv")
    x, y = prepare(src, tgt, cfg.normalize)
    metrics = {"method": cfg.method, "supervised": result.supervised, "seconds": round(result.seconds, 1),
               "criterion_history": [round(c, 5) for c in result.criteria], "lexicon_pairs": len(result.lexicon)}
    if eval_dict:
        from umt.evaluation.api import evaluate_prepared  # evaluation builds on alignment, not the reverse

        metrics.update(evaluate_prepared(apply_mapping(x, result.mapping), y, src, tgt, eval_dict, cfg.device))
    else:
        from umt.evaluation.criterion import mean_csls_cosine

        metrics["criterion"] = round(mean_csls_cosine(apply_mapping(x, result.mapping), y, device=cfg.device), 5)
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", asdict(cfg))
    if export_vec:
        save_vec(src.with_vectors(apply_mapping(x, result.mapping)), out / "src.mapped.vec")
        save_vec(tgt.with_vectors(y), out / "tgt.vec")
    return metrics
