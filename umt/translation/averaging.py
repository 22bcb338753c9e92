r"""An exponential moving average of a model's weights (Polyak averaging), for evaluation.

.. math:: \bar\theta_t = d_t\,\bar\theta_{t-1} + (1 - d_t)\,\theta_t, \qquad
   d_t = \min\Big(d, \frac{1 + t}{10 + t}\Big)

from the weights of the step before its first update (:math:`t` counts the updates, from 0). The
average smooths the step-to-step noise of about the last ``1 / (1 - d)`` steps; the warm-up of
:math:`d_t` (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``) keeps an average begun
late in a run from holding on to the weights it began with. Back-translation keeps using the live weights, so averaging
changes no training step: one run shows the live and the averaged model side by side, and
round-trip BLEU selects between them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class WeightAverage:
    """The running average of ``model``'s floating-point weights (integer buffers are not averaged)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"averaging decay {decay}: expected a number between 0 and 1, both excluded")
        self.model, self.decay = model, decay
        # the model's own tensors, read in place at every update (loading weights copies into them)
        self.live = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        self.shadow = {k: v.detach().float().clone() for k, v in self.live.items()}
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the model's current weights into the average."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in self.live.items():
            self.shadow[name].lerp_(value.float(), 1.0 - decay)
        self.updates += 1

    def weights(self) -> dict[str, torch.Tensor]:
        """A state dict of the model with the averaged weights in place of its own."""
        return {k: self.shadow[k].to(v.dtype) if k in self.shadow else v for k, v in self.model.state_dict().items()}

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The model holds the averaged weights inside the block and its own again after it."""
        live = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.weights())
        try:
            yield
        finally:
            self.model.load_state_dict(live)

    def state_dict(self) -> dict:
        return {"weights": self.shadow, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        if set(state["weights"]) != set(self.shadow):
            raise ValueError("the saved average holds other weights than the model")
        self.shadow = {k: v.to(self.shadow[k].device, torch.float32).clone() for k, v in state["weights"].items()}
        self.updates = state["updates"]
