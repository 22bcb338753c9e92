"""The state of an unfinished training stage, kept in one file so that a killed run continues
inside the stage instead of starting it again.

Adversarial training saves its state after every epoch
(:func:`umt.alignment.adversarial.train_adversarial`), self-learning every few iterations
(:func:`umt.alignment.similarity_init.self_learning`). Each state holds the random generators, so
a continued stage draws what the uninterrupted one would have drawn and ends on the same map.
The ``key`` (:func:`umt.alignment.checkpoints.candidate_key`) ties a state to the settings and
vectors that made it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from umt.fileio import atomic_path

log = logging.getLogger("umt")


def save_stage_state(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (which holds its ``key``) atomically: a kill while saving keeps the last one."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_stage_state(path: str | os.PathLike, key: str, stage: str) -> dict | None:
    """The state saved at ``path`` under ``key``, or ``None`` (no file, another key, or a damaged
    file, which is only lost work: ``stage`` starts afresh)."""
    if not Path(path).exists():
        return None
    try:
        # umt's own file (curves and arrays too); on the CPU, where random-generator states live
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - a damaged checkpoint is only lost work
        log.warning("%s: unreadable checkpoint (%s): %s starts afresh", path, e, stage)
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        log.info("%s was saved with other settings or vectors: %s starts afresh", path, stage)
        return None
    return state
