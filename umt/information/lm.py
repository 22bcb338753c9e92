r"""A causal Transformer language model over the pair's subwords, and its code length.

The code length of held-out text under a model :math:`q` is

.. math::

    L(Y) = -\sum_{s} \sum_{t} \log_2 q(y^s_t \mid y^s_{<t}), \qquad
    \mathrm{bpc}(Y) = L(Y) \,/\, \sum_s (|y^s| + 1)

over every subword and end-of-sentence token, per character of the raw text (one extra character
per line end), exactly as :math:`L(Y|X)` is counted for the translation model, so the two can be
subtracted: :math:`L(Y) - L(Y|X)` is what the source explains of the target. A language token
starts each sentence, so one model can be trained on one language or on both (the joint model).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from umt.config import check_language
from umt.errors import UmtError
from umt.fileio import atomic_path, load_checkpoint
from umt.ranges import NON_NEGATIVE, POSITIVE, CheckedConfig, ranged
from umt.translation.model import EncoderLayer, ModelConfig
from umt.translation.vocab import EOS, PAD, Vocab

log = logging.getLogger("umt")


class LanguageModel(nn.Module):
    """Pre-norm Transformer layers under a causal mask; ``cfg.enc_layers`` layers, tied output."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=PAD)
        self.pos = nn.Embedding(cfg.max_positions, cfg.dim)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.enc_layers))
        self.ln = nn.LayerNorm(cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.tok.weight, std=cfg.dim ** -0.5)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, T, V) for ``ids`` (B, T) that start with a language token."""
        t = ids.size(1)
        causal = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
        mask = causal[None, None] & (ids != PAD)[:, None, None, :]
        h = self.tok(ids) * math.sqrt(self.cfg.dim) + self.pos(torch.arange(t, device=ids.device))[None]
        h = self.drop(h)
        for layer in self.layers:
            h = layer(h, mask)
        return self.ln(h) @ self.tok.weight.T

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


@dataclass
class LMTrainConfig(CheckedConfig):
    steps: int = ranged(3000, POSITIVE)
    batch_size: int = ranged(64, POSITIVE)
    lr: float = ranged(5e-4, low=0.0, low_open=True)
    warmup: int = ranged(200, NON_NEGATIVE)
    clip: float = ranged(1.0, low=0.0, low_open=True)
    max_len: int = ranged(100, POSITIVE)
    seed: int = 0
    model: ModelConfig = field(default_factory=lambda: ModelConfig(enc_layers=3, dec_layers=0))


def _batch(seqs: list[tuple[int, list[int]]], device) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``[lang] + ids`` and targets ``ids + [EOS]``, padded."""
    width = max(len(ids) for _, ids in seqs) + 1
    inp = torch.full((len(seqs), width), PAD, dtype=torch.long)
    out = torch.full((len(seqs), width), PAD, dtype=torch.long)
    for i, (lang_tok, ids) in enumerate(seqs):
        inp[i, : len(ids) + 1] = torch.tensor([lang_tok] + ids)
        out[i, : len(ids) + 1] = torch.tensor(ids + [EOS])
    return inp.to(device), out.to(device)


def train_language_model(vocab: Vocab, texts: dict[str, list[str]], cfg: LMTrainConfig, device=None,
                         progress: bool = True) -> LanguageModel:
    """Train one model on the sentences of every language in ``texts`` (one language: L(Y))."""
    from tqdm import tqdm

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    pool = [(vocab.lang_id(lang), ids) for lang, lines in texts.items() for ids in vocab.encode(lines, cfg.max_len)]
    pool = [(lang, ids) for lang, ids in pool if ids]
    if not pool:
        raise UmtError("no text to train a language model on")
    cfg.model.vocab_size = len(vocab)
    torch.manual_seed(cfg.seed)
    model = LanguageModel(cfg.model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    bar = tqdm(range(cfg.steps), desc=f"lm {'+'.join(texts)}", unit="step", disable=not progress)
    for step in bar:
        rng = np.random.default_rng([cfg.seed, step])
        inp, out = _batch([pool[i] for i in rng.integers(len(pool), size=cfg.batch_size)], device)
        loss = F.cross_entropy(model(inp).flatten(0, 1), out.flatten(), ignore_index=PAD)
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, (step + 1) / max(cfg.warmup, 1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return model


@torch.no_grad()
def code_length(model: LanguageModel, vocab: Vocab, lines: list[str], lang: str, batch_size: int = 128) -> dict:
    """:math:`L(Y)` of ``lines`` (language ``lang``) in bits, and bits per character."""
    check_language(lang)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    limit = model.cfg.max_positions - 1
    seqs = [(vocab.lang_id(lang), ids[:limit - 1]) for ids in vocab.encode(lines)]
    nats = 0.0
    for start in range(0, len(seqs), batch_size):
        inp, out = _batch(seqs[start:start + batch_size], device)
        nats += float(F.cross_entropy(model(inp).flatten(0, 1).float(), out.flatten(), ignore_index=PAD,
                                      reduction="sum"))
    model.train(was_training)
    chars = sum(len(line) + 1 for line in lines)
    bits = nats / math.log(2)
    return {"bits": bits, "chars": chars, "bpc": bits / max(chars, 1)}


def save_language_model(model: LanguageModel, path: str | os.PathLike, **info) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "config": asdict(model.cfg), **info}, tmp)


def load_language_model(path: str | os.PathLike, device=None) -> tuple[LanguageModel, dict]:
    path = Path(path)
    state = load_checkpoint(path, "language model", device)
    try:
        model = LanguageModel(ModelConfig(**state["config"]))
        model.load_state_dict(state["model"])
    except Exception as e:  # noqa: BLE001 - any unreadable file is one clear error
        raise UmtError(f"{path}: cannot read language model ({e})") from None
    model.eval()
    return model, state
