r"""Adversarial initialisation (Conneau et al. 2018, "Word translation without parallel data").

A discriminator :math:`D` learns to tell mapped source vectors :math:`W x` from target vectors
:math:`y`; the map :math:`W` (identity at first) learns to fool it:

.. math::
   \mathcal{L}_D = -\tfrac{1}{n}\sum \log P_D(\mathrm{src} \mid W x_i)
                   -\tfrac{1}{m}\sum \log P_D(\mathrm{tgt} \mid y_j), \qquad
   \mathcal{L}_W = -\tfrac{1}{n}\sum \log P_D(\mathrm{tgt} \mid W x_i)
                   -\tfrac{1}{m}\sum \log P_D(\mathrm{src} \mid y_j)

with label smoothing. After each map step :math:`W` is pulled back towards the orthogonal
manifold by :math:`W \leftarrow (1+\beta) W - \beta (W W^\top) W`. At the end of each epoch the
unsupervised criterion is computed; the map with the best criterion is kept, the learning rate
decays, and it is halved when the criterion drops.

A run at MUSE's settings takes hours on a CPU, so with a ``checkpoint`` path the whole training
state (map, discriminator, learning rates, random generators, curves) is saved after every epoch,
and a run started again under the same key continues from the last finished epoch, drawing the
same batches it would have drawn.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from umt.alignment.criterion import mean_csls_cosine
from umt.alignment.stages import run_stage
from umt.device import compute_device, to_numpy, to_tensor
from umt.ranges import FRACTION, NON_NEGATIVE, POSITIVE, PROBABILITY_TO_DROP, CheckedConfig, ranged

log = logging.getLogger("umt")


@dataclass
class AdversarialConfig(CheckedConfig):
    """MUSE's paper values in comments; umt's defaults favour speed (see presets for MUSE's own)."""

    epochs: int = ranged(3, POSITIVE)  # MUSE: 5
    epoch_size: int = ranged(250_000, POSITIVE)  # samples per epoch; MUSE: 1,000,000
    batch_size: int = ranged(128, POSITIVE)  # MUSE: 32
    dis_layers: int = ranged(2, NON_NEGATIVE)
    dis_hidden: int = ranged(2048, POSITIVE)
    dis_dropout: float = ranged(0.0, PROBABILITY_TO_DROP)
    dis_input_dropout: float = ranged(0.1, PROBABILITY_TO_DROP)
    dis_steps: int = ranged(5, POSITIVE)
    dis_lr: float = ranged(0.1, low=0.0, low_open=True)
    map_lr: float = ranged(0.1, low=0.0, low_open=True)
    lr_decay: float = ranged(0.98, FRACTION)  # MUSE paper: 0.95
    lr_shrink: float = ranged(0.5, FRACTION)  # halve the learning rate when the criterion drops
    min_lr: float = ranged(1e-6, low=0.0)
    smoothing: float = ranged(0.1, low=0.0, high=0.5)  # MUSE paper: 0.2
    beta: float = ranged(0.001, low=0.0)  # orthogonalisation; MUSE paper: 0.01
    most_frequent: int = ranged(75000, POSITIVE)  # words shown to the discriminator; MUSE paper: 50,000
    clip_weights: float = ranged(0.0, low=0.0)
    log_every: int = ranged(200, POSITIVE)


@dataclass
class AdversarialResult:
    mapping: np.ndarray
    criteria: list[float] = field(default_factory=list)  # after each epoch
    epoch_samples: list[int] = field(default_factory=list)  # samples seen at the end of each epoch
    history: list[dict] = field(default_factory=list)  # discriminator loss/accuracy over time
    best_epoch: int = -1
    seconds: float = 0.0  # the whole stage's, including the part run before a restart
    continued_after: int = 0  # epochs read back from a saved state (0: run from the start)


class Discriminator(nn.Module):
    def __init__(self, dim: int, cfg: AdversarialConfig):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(cfg.dis_input_dropout)]
        width = dim
        for _ in range(cfg.dis_layers):
            layers += [nn.Linear(width, cfg.dis_hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.dis_dropout)]
            width = cfg.dis_hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)  # logits: > 0 means "mapped source"


def _orthogonalize(w: torch.Tensor, beta: float) -> None:
    if beta > 0:
        w.copy_((1 + beta) * w - beta * w.mm(w.t().mm(w)))


class AdversarialTraining:
    """Adversarial training as a resumable stage (:mod:`umt.alignment.stages`): one :meth:`step`
    is one epoch, ending with the criterion and the learning-rate schedule;
    :func:`train_adversarial` runs it."""

    name, unit = "adversarial training", "epoch"

    def __init__(self, x: np.ndarray, y: np.ndarray, cfg: AdversarialConfig, seed: int = 0,
                 progress: bool = True):
        self.t0 = time.time()
        self.x, self.y, self.cfg, self.progress = x, y, cfg, progress
        self.dev = dev = compute_device()
        torch.manual_seed(seed)  # the discriminator's initialisation and dropout draw from it
        self.gen = torch.Generator().manual_seed(seed)  # the batches draw from this one
        d = x.shape[1]
        self.xs, self.ys = to_tensor(x, None), to_tensor(y, None)
        self.n_src, self.n_tgt = min(cfg.most_frequent, len(x)), min(cfg.most_frequent, len(y))
        self.mapping = nn.Linear(d, d, bias=False).to(dev)
        with torch.no_grad():
            self.mapping.weight.copy_(torch.eye(d))
        self.dis = Discriminator(d, cfg).to(dev)
        self.dis_opt = torch.optim.SGD(self.dis.parameters(), lr=cfg.dis_lr)
        self.map_opt = torch.optim.SGD(self.mapping.parameters(), lr=cfg.map_lr)
        self.bce = nn.BCEWithLogitsLoss()
        bs = cfg.batch_size
        self.labels = torch.cat([torch.full((bs,), 1 - cfg.smoothing), torch.full((bs,), cfg.smoothing)]).to(dev)
        self.truth = torch.cat([torch.ones(bs), torch.zeros(bs)]).to(dev)
        self.result = AdversarialResult(to_numpy(self.mapping.weight).copy())
        self.best, self.seen = -np.inf, 0
        self.total, self.done = cfg.epochs, 0

    def begin(self) -> None:
        """Nothing to prepare: the map starts at the identity."""

    def state_dict(self) -> dict:
        dev = self.dev
        return {"epoch": self.done - 1, "mapping": self.mapping.state_dict(), "dis": self.dis.state_dict(),
                "dis_opt": self.dis_opt.state_dict(), "map_opt": self.map_opt.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None, "gen": self.gen.get_state(),
                "result": asdict(self.result), "best": self.best, "seen": self.seen,
                "seconds": time.time() - self.t0}

    def load_state_dict(self, state: dict) -> None:
        self.mapping.load_state_dict(state["mapping"])
        self.dis.load_state_dict(state["dis"])
        self.dis_opt.load_state_dict(state["dis_opt"])
        self.map_opt.load_state_dict(state["map_opt"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and self.dev.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.dev)
        self.gen.set_state(state["gen"])
        self.result = AdversarialResult(**state["result"])
        self.best, self.seen, self.done = state["best"], state["seen"], state["epoch"] + 1
        self.t0 = time.time() - state["seconds"]
        self.result.continued_after = self.done

    def postfix(self) -> dict[str, str]:
        return {"criterion": f"{self.result.criteria[-1]:.4f}"}

    def _batch(self, with_grad: bool) -> torch.Tensor:
        """``batch_size`` mapped sources (detached unless ``with_grad``) above as many targets."""
        bs, dev = self.cfg.batch_size, self.dev
        src = self.xs[torch.randint(self.n_src, (bs,), generator=self.gen).to(dev)]
        tgt = self.ys[torch.randint(self.n_tgt, (bs,), generator=self.gen).to(dev)]
        mapped = self.mapping(src) if with_grad else self.mapping(src).detach()
        return torch.cat([mapped, tgt])

    def _iteration(self) -> tuple[float, float]:
        """``dis_steps`` discriminator updates, then one map update; the last discriminator
        batch's (loss, accuracy)."""
        cfg, dis, bce = self.cfg, self.dis, self.bce
        dis.train()
        for _ in range(cfg.dis_steps):
            logits = dis(self._batch(False))
            loss = bce(logits, self.labels)
            self.dis_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.dis_opt.step()
            if cfg.clip_weights > 0:
                for p in dis.parameters():
                    p.data.clamp_(-cfg.clip_weights, cfg.clip_weights)
        dis_loss, dis_acc = loss.item(), ((logits > 0).float() == self.truth).float().mean().item()
        dis.eval()
        loss = bce(dis(self._batch(True)), 1 - self.labels)
        self.map_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.map_opt.step()
        with torch.no_grad():
            _orthogonalize(self.mapping.weight, cfg.beta)
        self.seen += cfg.batch_size
        return dis_loss, dis_acc

    def step(self) -> bool:
        cfg, result, epoch = self.cfg, self.result, self.done
        iters = max(1, cfg.epoch_size // cfg.batch_size)
        bar = tqdm(range(iters), desc=f"adversarial epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not self.progress)
        dis_losses, dis_accs = [], []
        for it in bar:
            dis_loss, dis_acc = self._iteration()
            dis_losses.append(dis_loss)
            dis_accs.append(dis_acc)
            if (it + 1) % cfg.log_every == 0:
                entry = {"samples": self.seen, "seconds": round(time.time() - self.t0, 2),
                         "dis_loss": float(np.mean(dis_losses)), "dis_acc": float(np.mean(dis_accs))}
                result.history.append(entry)
                bar.set_postfix(dis_loss=f"{entry['dis_loss']:.3f}", dis_acc=f"{entry['dis_acc']:.2f}")
                dis_losses, dis_accs = [], []
        w = to_numpy(self.mapping.weight).copy()
        criterion = mean_csls_cosine(self.x @ w.T, self.y)
        result.criteria.append(criterion)
        result.epoch_samples.append(self.seen)
        log.info("adversarial epoch %d: criterion %.4f (%.0f s)", epoch + 1, criterion, time.time() - self.t0)
        improved = criterion > self.best
        if improved:
            self.best, result.mapping, result.best_epoch = criterion, w, epoch
        # As in MUSE, only the map's learning rate decays, and it halves when the criterion drops.
        for group in self.map_opt.param_groups:
            shrink = 1.0 if improved else cfg.lr_shrink
            group["lr"] = max(cfg.min_lr, group["lr"] * cfg.lr_decay * shrink)
        self.done = epoch + 1
        return True


def train_adversarial(x: np.ndarray, y: np.ndarray, cfg: AdversarialConfig, seed: int = 0,
                      progress: bool = True, checkpoint: str | os.PathLike | None = None,
                      key: str = "") -> AdversarialResult:
    """Learn :math:`W` adversarially from normalised ``x`` (source) and ``y`` (target) rows.

    ``checkpoint``: a file for the training state after each epoch; when it holds a state saved
    under the same ``key`` (a digest of the settings and spaces, :mod:`umt.alignment.checkpoints`),
    training continues after that state's epoch.
    """
    stage = AdversarialTraining(x, y, cfg, seed, progress)
    run_stage(stage, checkpoint, key, 1, progress)
    stage.result.seconds = time.time() - stage.t0
    return stage.result
