"""Finished candidates kept on disk, so that a killed run continues where it stopped.

Every candidate an alignment runs (each of ``auto``'s, the single run of ``similarity`` or
``adversarial``, the replicate of ``--check``) is written as soon as it is refined:
``candidate-INIT-SEED.npz`` (its refined map, criteria, lexicon and best targets) and ``candidate-INIT-SEED.json``
(timings, training curves and a key; ``INIT-SEED@WORDS`` for a candidate with its own initial
dictionary size). While a candidate's initialisation runs, its state is kept in ``INIT-SEED.pt``
(:mod:`umt.alignment.stage_state`): after each adversarial epoch, every ten self-learning
iterations.

The key is a digest of everything that shapes the candidate: its initialisation and seed, the
settings of its stages, the normalisation and the two prepared spaces themselves. A checkpoint is
read back only under the same key, so a changed setting or other vectors run the candidate again.
Candidates are seeded one by one, so a candidate read back is the one the run would have
computed, and the kept map is the same as without the interruption.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.procrustes import RefineConfig, RefineResult
from umt.alignment.similarity_init import SelfLearnConfig
from umt.alignment.unsupervised import INITS, Candidate
from umt.fileio import atomic_path, write_json
from umt.retrieval.lexicon import Lexicon

log = logging.getLogger("umt")


def spaces_digest(x: np.ndarray, y: np.ndarray) -> str:
    """Digest of the two prepared spaces (every value), computed once per alignment."""
    digest = hashlib.sha256()
    for space in (x, y):
        digest.update(f"{space.shape} {space.dtype}".encode())
        digest.update(np.ascontiguousarray(space).data)
    return digest.hexdigest()


def candidate_key(spaces: str, init: str, seed: int, normalize: str, adversarial: AdversarialConfig,
                  selflearn: SelfLearnConfig, refine: RefineConfig) -> str:
    """Digest of the settings and the spaces (:func:`spaces_digest`) that determine one candidate."""
    settings = {"spaces": spaces, "init": init, "seed": seed, "normalize": normalize, "refine": asdict(refine),
                "stage": asdict(adversarial if init == "adversarial" else selflearn)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]


def _stem(folder: Path, name: str) -> Path:
    return folder / f"candidate-{name.replace(':', '-')}"


def save_candidate(folder: str | os.PathLike, candidate: Candidate, key: str) -> None:
    """Write ``candidate`` under ``key``; the JSON file goes last, so its presence means complete."""
    stem = _stem(Path(folder), candidate.name)
    result, lexicon = candidate.result, candidate.result.lexicon
    with atomic_path(stem.with_suffix(".npz")) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, mapping=result.mapping, criteria=np.asarray(result.criteria, dtype=np.float64),
                     src_ids=lexicon.src_ids, tgt_ids=lexicon.tgt_ids, scores=lexicon.scores,
                     **({} if result.targets is None else {"targets": result.targets}))
    write_json(stem.with_suffix(".json"), {"key": key, "name": candidate.name, "best_iteration": result.best_iteration,
                                           "init_seconds": candidate.init_seconds,
                                           "refine_seconds": candidate.refine_seconds, "curves": candidate.curves})


def load_candidate(folder: str | os.PathLike, name: str, key: str) -> Candidate | None:
    """The candidate ``name`` saved under ``key``, or ``None`` (none saved, or saved by other settings)."""
    stem = _stem(Path(folder), name)
    try:
        meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("key") != key:
            log.info("checkpoint of %s was made with other settings or vectors: running it again", name)
            return None
        with np.load(stem.with_suffix(".npz")) as saved:
            lexicon = Lexicon(saved["src_ids"], saved["tgt_ids"], saved["scores"])
            result = RefineResult(saved["mapping"], lexicon, saved["criteria"].tolist(), int(meta["best_iteration"]),
                                  saved["targets"] if "targets" in saved else None)  # older checkpoints lack them
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:  # a damaged checkpoint is only lost work
        log.warning("%s: unreadable checkpoint (%s): running %s again", stem, e, name)
        return None
    return Candidate(name, float(meta["init_seconds"]), float(meta["refine_seconds"]), result, meta["curves"])


def stage_state_path(folder: str | os.PathLike, name: str) -> Path:
    """Where the candidate ``name`` (``"similarity:1"``, ``"similarity:0@3000"``) keeps its
    initialisation's unfinished state."""
    return Path(folder) / f"{name.replace(':', '-')}.pt"


def clear_candidates(folder: str | os.PathLike) -> None:
    """Remove the candidates and stage states saved in ``folder`` (a fresh run in an old run directory)."""
    for pattern in ("candidate-*", *(f"{init}-*.pt" for init in INITS)):
        for path in Path(folder).glob(pattern):
            path.unlink()
