"""Resumable training stages: one runner does the loop, the progress bar and the checkpoints.

A stage (stochastic self-learning, :class:`umt.alignment.similarity_init.SelfLearning`;
adversarial training, :class:`umt.alignment.adversarial.AdversarialTraining`) knows how to take
one step (an iteration, an epoch) and how to write and read its whole state, random generators
included. :func:`run_stage` drives any of them: it continues a state saved under the same key or
begins afresh, steps until the stage is done, and saves the state every ``save_every`` steps
(:mod:`umt.alignment.stage_state`), so that a killed run continues inside the stage and ends on
the map an uninterrupted run ends on.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

from tqdm import tqdm

from umt.alignment.stage_state import load_stage_state, save_stage_state

log = logging.getLogger("umt")


class Stage(Protocol):
    """What :func:`run_stage` needs of a stage."""

    name: str  # in the log and on the progress bar: "self-learning"
    unit: str  # what one step is: "iteration", "epoch"
    total: int  # steps at most
    done: int  # steps finished

    def begin(self) -> None:
        """Prepare a fresh start (no saved state continues)."""

    def step(self) -> bool:
        """Run step ``done + 1``; ``False`` when the stage ended without finishing it (converged)."""

    def state_dict(self) -> dict:
        """Everything the next steps depend on: tensors, numpy arrays and plain data only."""

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict`."""

    def postfix(self) -> dict[str, str]:
        """Figures for the progress bar after a step."""


def run_stage(stage: Stage, checkpoint: str | os.PathLike | None = None, key: str = "", save_every: int = 1,
              progress: bool = True) -> Stage:
    """Run ``stage`` to its end; with a ``checkpoint`` file, continue the state saved there under
    ``key`` (:func:`umt.alignment.checkpoints.candidate_key`) and save it every ``save_every`` steps."""
    state = load_stage_state(checkpoint, key, stage.name) if checkpoint is not None else None
    if state is None:
        stage.begin()
    else:
        stage.load_state_dict(state)
        log.info("%s: continuing after %s %d (%s)", stage.name, stage.unit, stage.done, checkpoint)
    bar = tqdm(total=stage.total, initial=stage.done, desc=stage.name, unit=stage.unit, disable=not progress)
    while stage.done < stage.total and stage.step():
        bar.update(1)
        bar.set_postfix(stage.postfix())
        if checkpoint is not None and stage.done % save_every == 0:
            save_stage_state(checkpoint, {"key": key, **stage.state_dict()})
    bar.close()
    return stage
