"""The state of an unfinished training stage, kept in one file so that a killed run continues
inside the stage instead of starting it again.

The runner of every stage (:func:`umt.alignment.stages.run_stage`) saves it: adversarial
training after every epoch, self-learning every few iterations. Each state holds the random generators, so
a continued stage draws what the uninterrupted one would have drawn and ends on the same map.
The ``key`` (:func:`umt.alignment.checkpoints.candidate_key`) ties a state to the settings and
vectors that made it.

A state is written as tensors and plain data only (numpy arrays become tagged tensors) and read
back with weights-only loading: a state file from elsewhere cannot run code, and one that holds
anything else is only lost work, as a damaged one is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from umt.errors import UmtError
from umt.fileio import atomic_path, load_checkpoint

#: The key of a dict that stands for a numpy array (a tensor keeps its dtype and values exactly).
_ARRAY = "__numpy_array__"


def _plain(value):
    """``value`` with every numpy array (at any depth of dicts, lists and tuples) as a tagged tensor."""
    if isinstance(value, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _arrays(value):
    """The inverse of :func:`_plain`."""
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return value[_ARRAY].numpy()
        return {k: _arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_arrays(v) for v in value)
    return value

log = logging.getLogger("umt")


def save_stage_state(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (which holds its ``key``) atomically: a kill while saving keeps the last one."""
    with atomic_path(path) as tmp:
        torch.save(_plain(state), tmp)


def load_stage_state(path: str | os.PathLike, key: str, stage: str) -> dict | None:
    """The state saved at ``path`` under ``key``, or ``None`` (no file, another key, or a damaged
    file, which is only lost work: ``stage`` starts afresh)."""
    if not Path(path).exists():
        return None
    try:
        # on the CPU, where random-generator states live
        state = _arrays(load_checkpoint(path, "stage state", "cpu"))
    except UmtError as e:  # a damaged or foreign checkpoint is only lost work
        log.warning("unreadable checkpoint (%s): %s starts afresh", e, stage)
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        log.info("%s was saved with other settings or vectors: %s starts afresh", path, stage)
        return None
    return state
