r"""Unsupervised NMT: denoising auto-encoding + on-the-fly back-translation (Lample et al. 2018a).

Each step trains one shared model on four tasks at once, concatenated into a single batch:

.. math::

    \mathcal{L} = \lambda_{ae}(t)\,[\ell(x|C(x)) + \ell(y|C(y))] + \ell(x|\hat y(x)) + \ell(y|\hat x(y))

where :math:`C` is the noise of ``umt.translation.noise``, :math:`\hat y(x)` is the current model's
greedy translation of :math:`x` (no gradient through it) and :math:`\lambda_{ae}` decays linearly
from ``ae_weight_start`` to ``ae_weight_end``. For the first ``wbw_steps`` steps the back-translations
come from the word-by-word lexicon instead of the model, which is how the first round is seeded.

With ``pretrain_steps`` > 0 the run starts with that many steps of cross-lingual masked language
modelling (Lample & Conneau 2019, XLM): sentences of both languages, one shared vocabulary,
15% of the subwords to predict (80% of them replaced by a mask, 10% by a random piece, 10% kept).
It trains the encoder and the embeddings; when it ends, each decoder layer starts from the encoder
layer of its depth (self-attention, feed-forward, norms; cross-attention stays as initialised),
as XLM initialises its decoder, and the schedule above (warm-up, word-by-word steps, the
auto-encoding weight) starts from there.

Model selection is unsupervised: round-trip BLEU (x -> y -> x) on held-out monolingual sentences.
Test and validation BLEU are computed for display and plots only, at every ``display_every``-th
evaluation and the last.

Every random draw of step ``t`` (batches, noise, dropout) is seeded by ``(seed, t)``, so a run
resumed from a checkpoint continues exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from umt.config import model_languages
from umt.device import native_bfloat16
from umt.errors import UmtError
from umt.fileio import atomic_path, load_checkpoint, make_folder, write_json
from umt.interrupts import StopBetweenSteps
from umt.ranges import NON_NEGATIVE, POSITIVE, PROBABILITY_TO_DROP, CheckedConfig, ConfigError, ranged
from umt.translation.averaging import WeightAverage
from umt.translation.data import MTData
from umt.translation.evaluate import (
    bleu_scores,
    conditional_code_length,
    max_output_len,
    pad_batch,
    strip_output,
    translate_lines,
)
from umt.translation.history import (
    MLM_CURVE,
    PRETRAINING,
    cumulative_seconds,
    evaluations_since_best,
    row_figures,
    selected_evaluation,
    selected_weights,
)
from umt.translation.model import Ensemble, ModelConfig, Seq2Seq
from umt.translation.noise import NoiseConfig, add_noise
from umt.translation.pretraining import PRETRAIN_SETTINGS, MaskedLMPretraining, pretraining_data_digest
from umt.translation.vocab import EOS, PAD

log = logging.getLogger("umt")

#: Sentences decoded together for on-the-fly back-translation: a batch decodes until its longest
#: output ends, so larger batches wait on more stragglers.
BT_BATCH = 48

@dataclass
class MTTrainConfig(CheckedConfig):
    """Training schedule. ``batch_size`` sentences per task (four tasks per step)."""

    steps: int = ranged(8400, POSITIVE)
    batch_size: int = ranged(32, POSITIVE)
    lr: float = ranged(5e-4, low=0.0, low_open=True)
    warmup: int = ranged(400, NON_NEGATIVE)
    # translation's learning rate halves every lr_half_life steps after translation step lr_decay_start; 0: constant
    lr_half_life: int = ranged(0, NON_NEGATIVE)
    lr_decay_start: int = ranged(0, NON_NEGATIVE)
    label_smoothing: float = ranged(0.1, PROBABILITY_TO_DROP)
    clip: float = ranged(1.0, low=0.0)  # 0: no clipping
    ae_weight_start: float = ranged(1.0, low=0.0)
    ae_weight_end: float = ranged(0.1, low=0.0)
    ae_decay_steps: int = ranged(2000, NON_NEGATIVE)
    wbw_steps: int = ranged(300, NON_NEGATIVE)
    max_len: int = ranged(60, POSITIVE)
    length_buckets: int = ranged(4, POSITIVE)  # a step's sentences are cut, by length, into this many passes
    # bfloat16 autocast where the device computes it natively: training and back-translation on CUDA,
    # training on CPUs with AVX512-BF16 or AMX; float32 elsewhere. Evaluation always decodes in float32.
    amp: bool = True
    pretrain_steps: int = ranged(5000, NON_NEGATIVE)  # cross-lingual masked-LM steps first (XLM); 0: none
    # keep pretrained-STEP.pt every N masked-LM steps, for runs that branch off a shorter pretraining; 0: none
    pretrain_snapshots: int = ranged(0, NON_NEGATIVE)
    mask_rate: float = ranged(0.15, PROBABILITY_TO_DROP)  # share of subwords the masked LM predicts
    # weights averaged over translation steps (umt.translation.averaging), evaluated beside the live ones; 0: none
    average_decay: float = ranged(0.0, PROBABILITY_TO_DROP)
    eval_every: int = ranged(200, POSITIVE)
    # stop translation training once this many evaluations in a row bring no new selected model; 0: all steps
    patience: int = ranged(0, NON_NEGATIVE)
    # best.pt keeps the last model within this many BLEU points of the best round trip (history.selected_evaluation)
    selection_tolerance: float = ranged(0.0, low=0.0)
    checkpoint_every: int = ranged(200, POSITIVE)
    eval_test: bool = True
    eval_val: bool = False
    # test (and validation) BLEU at every Nth evaluation and the last: display only, half of an evaluation's time
    display_every: int = ranged(5, POSITIVE)
    init_embeddings: bool = True
    seed: int = 0
    device: str | None = None
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    def check_together(self, changed: str | None = None) -> None:
        if self.pretrain_steps <= self.steps:  # equal: a pretraining-only run, whose pretrained.pt others start from
            return
        if changed == "steps":
            raise ConfigError(f"MTTrainConfig.steps = {self.steps}: expected at least pretrain_steps "
                              f"({self.pretrain_steps}), which count in it", "steps", self.steps,
                              f"expected at least --pretrain-steps ({self.pretrain_steps}), which count in it")
        raise ConfigError(f"MTTrainConfig.pretrain_steps = {self.pretrain_steps}: expected at most steps "
                          f"({self.steps}), since they count in it; 0 for none", "pretrain_steps", self.pretrain_steps,
                          f"expected at most --steps ({self.steps}), since they count in it; 0 for none")

    @classmethod
    def from_dict(cls, d: dict) -> MTTrainConfig:
        d = dict(d)
        d.setdefault("pretrain_steps", 0)  # recorded before masked-LM pretraining existed: there was none
        d["noise"] = NoiseConfig(**d.get("noise", {}))
        d["model"] = ModelConfig(**d.get("model", {}))
        return cls(**d)


# Settings that change no training step: weight averaging (evaluated beside the live weights), pretraining
# snapshots, how often test BLEU is displayed and whether validation BLEU is. A resumed run may change
# them, and runs that differ only in them trained the same model.
UNTRAINED_SETTINGS = frozenset({"average_decay", "pretrain_snapshots", "display_every", "eval_val"})


def _distributed() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; (0, 0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


class Trainer(MaskedLMPretraining):
    """Owns the model, optimiser, run directory and history of one training run."""

    def __init__(self, data: MTData, cfg: MTTrainConfig, out: str | os.PathLike, resume: bool = False,
                 pretrained: str | os.PathLike | None = None):
        self.data, self.cfg, self.out = data, cfg, Path(out)
        self.rank, local_rank, self.world = _distributed()
        if self.world > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            torch.distributed.init_process_group(backend)
        if cfg.device:
            self.device = torch.device(cfg.device)
        elif torch.cuda.is_available():
            self.device = torch.device("cuda", local_rank if self.world > 1 else 0)
        else:
            self.device = torch.device("cpu")
        self.uses_bfloat16 = cfg.amp and native_bfloat16(self.device)
        self.precision = "bfloat16" if self.uses_bfloat16 else "float32"  # as the log and the history say it
        cfg.model.vocab_size = len(data.vocab)
        self.languages = model_languages(data.src, data.tgt)  # en-fr and en-de: the 3 indices of every model so far
        cfg.model.n_langs = max(cfg.model.n_langs, len(self.languages))
        torch.manual_seed(cfg.seed)
        self.model = Seq2Seq(cfg.model)
        if cfg.init_embeddings and not resume:
            self._init_embeddings()
        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
        self.net = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.step = 0
        self.history: list[dict] = []
        self.best_roundtrip = -1.0
        self.average: WeightAverage | None = None  # begins at the first translation step
        # wall seconds spent before this sitting: this run's earlier sittings, or the pretraining of the
        # run it starts from (charged as if it had pretrained itself), so that "seconds" never restart
        self.seconds_before = 0.0
        self._sitting_t0: float | None = None
        self._heldout_ids: list[list[list[int]]] | None = None
        self.ckpt = self.out / "checkpoint.pt"
        if resume:
            if not self.ckpt.exists():
                raise UmtError(f"{self.ckpt}: no checkpoint to resume from")
            self._load(self.ckpt)
        elif self.ckpt.exists():
            raise UmtError(f"{self.out}: holds a checkpoint already; pass --resume to continue it or pick a new --out")
        elif pretrained is not None:
            self._start_from_pretrained(Path(pretrained))

    def _init_embeddings(self) -> None:
        from umt.translation.subword_init import load_subword_vectors, project_to_width

        path = self.data.folder / "subword_vectors.npz"
        if not path.exists():
            log.warning("%s: missing, token embeddings start random (re-run `umt mt prepare` to create it)", path)
            return
        vectors, covered = load_subword_vectors(path)
        if len(vectors) != self.cfg.model.vocab_size:
            raise UmtError(f"{path}: {len(vectors)} rows for a vocabulary of {self.cfg.model.vocab_size}")
        init = torch.from_numpy(project_to_width(vectors, covered, self.cfg.model.dim))
        with torch.no_grad():
            rows = torch.from_numpy(covered)
            self.model.tok.weight[rows] = init[rows]
        log.info("token embeddings: %d of %d pieces start from cross-lingual vectors", int(covered.sum()),
                 len(covered))

    # ----- checkpoints -----
    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                "config": asdict(self.cfg), "history": self.history, "best_roundtrip": self.best_roundtrip,
                "pair": [self.data.src, self.data.tgt], "vocab": str(self.data.vocab.path),
                "seconds": self.elapsed(),
                "average": self.average.state_dict() if self.average is not None else None}

    def elapsed(self) -> float:
        """Wall seconds of training so far, earlier sittings included, to the millisecond.

        History rows and checkpoints both keep this one rounding: a row rounded coarser than its
        checkpoint could read later than the checkpoint written after it (0.6 s against 0.582 s).
        """
        sitting = time.time() - self._sitting_t0 if self._sitting_t0 is not None else 0.0
        return round(self.seconds_before + sitting, 3)

    def save(self, path: Path | None = None, **extra) -> None:
        """The training state (plus ``extra`` entries) to ``path``, the checkpoint by default."""
        if self.rank != 0:
            return
        with atomic_path(path or self.ckpt) as tmp:
            torch.save({**self._state(), **extra}, tmp)

    def _load(self, path: Path) -> None:
        state = load_checkpoint(path, "checkpoint", self.device)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.history, self.best_roundtrip = state["step"], state["history"], state["best_roundtrip"]
        if state.get("average") is not None and self.cfg.average_decay:
            self.average = WeightAverage(self.model, self.cfg.average_decay)
            self.average.load_state_dict(state["average"])
        # a checkpoint written before "seconds" was saved continues from its last timed row
        timed = [s for s in cumulative_seconds(self.history) if s is not None]
        self.seconds_before = state.get("seconds", timed[-1] if timed else 0.0)
        log.info("resumed %s at step %d", path, self.step)

    def _start_from_pretrained(self, path: Path) -> None:
        """Continue from another run's weights, optimiser and step at the end of its masked-LM
        pretraining, exactly as this run would have reached them itself (every random draw derives
        from the seed and the step); the history keeps that run's pretraining row and its cost."""
        state = load_checkpoint(path, "pretrained model", self.device)
        if "data_digest" not in state:
            raise UmtError(f"{path}: not a pretrained.pt (the file a run writes when its masked-LM pretraining ends)")
        if state["step"] != self.cfg.pretrain_steps:
            raise UmtError(f"{path}: holds {state['step']} masked-LM steps; give --pretrain-steps {state['step']}")
        theirs, mine = state["config"], json.loads(json.dumps(asdict(self.cfg)))
        differ = [f"{k} {theirs.get(k)} -> {mine[k]}" for k in PRETRAIN_SETTINGS
                  if k != "pretrain_steps" and theirs.get(k) != mine[k]]
        if differ:
            raise UmtError(f"{path}: pretrained with other settings ({'; '.join(differ[:3])}); give the ones it was "
                           "made with")
        if state["data_digest"] != pretraining_data_digest(self.data):
            raise UmtError(f"{path}: pretrained on other subwords or training text than {self.data.folder}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = state["step"]
        self.history = [{**r, "pretrained_in": str(path.parent)} for r in state["history"]
                        if r.get("system") in (PRETRAINING, MLM_CURVE) and r["step"] <= self.step]
        if not any(r.get("system") == PRETRAINING for r in self.history):
            # a snapshot inside a longer pretraining: its end here, charged the time it took to get there
            self.history.append({"step": self.step, "system": PRETRAINING, **self.masked_lm_heldout(),
                                 "seconds": state["seconds"], "pretrained_in": str(path.parent)})
        self.seconds_before = max(r["seconds"] for r in self.history)  # the pretraining row's, its last
        log.info("starting from %s at step %d (its masked-LM pretraining)", path, self.step)

    # ----- one step -----
    def _rng(self, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.cfg.seed, self.rank, self.step, *keys])

    def phase_step(self, step: int) -> int:
        """Steps since the current phase began: masked-LM pretraining, then translation."""
        return step if step < self.cfg.pretrain_steps else step - self.cfg.pretrain_steps

    def lr_at(self, step: int) -> float:
        r"""The learning rate of ``step``: warm-up to ``lr`` at the start of each phase, then constant,
        or in translation with ``lr_half_life`` :math:`h > 0` halved every :math:`h` steps after
        translation step ``lr_decay_start`` :math:`s`: :math:`\mathrm{lr} \cdot 2^{-\max(0, t - s) / h}`.
        Nothing depends on ``steps``, so a longer run continues the same schedule."""
        c, t = self.cfg, self.phase_step(step)
        lr = c.lr * min(1.0, (t + 1) / max(c.warmup, 1))
        if c.lr_half_life and step >= c.pretrain_steps:
            lr *= 0.5 ** (max(0, t - c.lr_decay_start) / c.lr_half_life)
        return lr

    def ae_weight(self, step: int) -> float:
        c = self.cfg
        frac = min(1.0, self.phase_step(step) / max(c.ae_decay_steps, 1))
        return c.ae_weight_start + frac * (c.ae_weight_end - c.ae_weight_start)

    def _autocast(self, decoding: bool = False):
        """bfloat16 autocast when ``amp`` is set and the device computes bfloat16 natively (no loss
        scaling needed: bfloat16 keeps float32's range); parameters, gradients and Adam's moments
        stay float32. On the CPU greedy ``decoding`` stays float32: one position at a time, its
        matmuls are too small for bfloat16 to pay for its casts."""
        enabled = self.uses_bfloat16 and not (decoding and self.device.type == "cpu")
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _back_translate(self, requests: list[tuple[str, np.ndarray]]) -> list[list[list[int]]]:
        """Translations of the training sentences ``idx`` of ``lang`` into the other language, for
        each ``(lang, idx)`` of ``requests``: word by word during the first ``wbw_steps``, else the
        current model's greedy output, all requests decoded together, sorted by length."""
        vocab = self.data.vocab
        if self.phase_step(self.step) < self.cfg.wbw_steps:
            return [vocab.encode(self.data.wbw[(lang, self.data.other(lang))].translate(
                [self.data.train_text[lang][i] for i in idx]), self.cfg.max_len) for lang, idx in requests]
        seqs, src_lang, tgt_lang, bos = [], [], [], []
        for lang, idx in requests:
            other = self.data.other(lang)
            seqs += [self.data.train[lang][i] + [EOS] for i in idx]
            src_lang += [self.languages.index(lang)] * len(idx)
            tgt_lang += [self.languages.index(other)] * len(idx)
            bos += [vocab.lang_id(other)] * len(idx)
        # decoded by length, BT_BATCH at a time: a batch runs until its longest output ends
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        rows: list = [None] * len(seqs)
        self.model.eval()
        for start in range(0, len(order), BT_BATCH):
            part = order[start:start + BT_BATCH]
            batch = pad_batch([seqs[i] for i in part], self.device)
            with self._autocast(decoding=True):
                out = self.model.greedy(batch, torch.tensor([src_lang[i] for i in part], device=self.device),
                                        torch.tensor([tgt_lang[i] for i in part], device=self.device),
                                        torch.tensor([bos[i] for i in part], device=self.device),
                                        min(max_output_len(batch.size(1)), self.cfg.max_len))
            for i, r in zip(part, out.tolist()):
                rows[i] = strip_output(r)[: self.cfg.max_len] or [vocab.blank_id]
        self.model.train()
        bounds = np.cumsum([0] + [len(idx) for _, idx in requests])
        return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def make_batch(self) -> list[tuple]:
        """The four tasks of this step as (source ids, source lang, target ids, target lang, task)."""
        c, d = self.cfg, self.data
        examples, requests = [], []
        for k, lang in enumerate((d.src, d.tgt)):
            pool = d.train[lang]
            ae_idx = self._rng(k, 0).choice(len(pool), size=c.batch_size, replace=len(pool) < c.batch_size)
            noise_rng = self._rng(k, 1)
            for i in ae_idx:
                noisy = add_noise(pool[i], c.noise, d.vocab.word_start, d.vocab.blank_id, noise_rng)
                examples.append((noisy, lang, pool[i], lang, f"ae_{lang}"))
            bt_idx = self._rng(k, 2).choice(len(pool), size=c.batch_size, replace=len(pool) < c.batch_size)
            requests.append((lang, bt_idx))
        for (lang, idx), translations in zip(requests, self._back_translate(requests)):
            examples += [(y, d.other(lang), d.train[lang][i], lang, f"bt_{lang}") for i, y in zip(idx, translations)]
        return examples

    def train_step(self) -> dict:
        """One optimiser step; returns the loss of each task."""
        torch.manual_seed(self.cfg.seed * 1_000_003 + self.step * 7919 + self.rank)
        if self.step < self.cfg.pretrain_steps:
            return self.masked_lm_step()
        if self.step == self.cfg.pretrain_steps > 0:
            self.decoder_from_encoder()
        losses = self.learn(self.make_batch())
        if self.cfg.average_decay:
            if self.average is None:  # a run that turns averaging on when resumed starts it here
                self.average = WeightAverage(self.model, self.cfg.average_decay)
            self.average.update()
        return losses

    def learn(self, examples: list[tuple]) -> dict:
        r"""One optimiser step on ``examples``; returns the loss of each task.

        The loss is :math:`\sum_k w_k \bar\ell_k`, the weighted mean token loss of each task
        :math:`k`. Sentences are sorted by length and cut into ``length_buckets`` passes whose
        gradients add up, so a pass pads its sentences only to their own longest, not to the
        step's: each token's loss is weighted :math:`w_k / n_k` (:math:`n_k` the task's tokens),
        which makes the sum over passes the same loss.
        """
        c, dev, vocab = self.cfg, self.device, self.data.vocab
        tasks = list(dict.fromkeys(e[4] for e in examples))
        task_of = [tasks.index(e[4]) for e in examples]
        n_tokens = np.bincount(task_of, weights=[len(e[2]) + 1 for e in examples], minlength=len(tasks))
        ae_w = self.ae_weight(self.step)
        weight = torch.tensor([(ae_w if t.startswith("ae") else 1.0) / n for t, n in zip(tasks, n_tokens)],
                              device=dev)
        order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]) + len(examples[i][2]))
        passes = [p for p in np.array_split(order, min(c.length_buckets, len(examples))) if len(p)]
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        sums = torch.zeros(len(tasks), device=dev)
        for n, rows in enumerate(passes):
            part = [examples[i] for i in rows]
            src = pad_batch([e[0] + [EOS] for e in part], dev)
            tgt_in = pad_batch([[vocab.lang_id(e[3])] + e[2] for e in part], dev)
            tgt_out = pad_batch([e[2] + [EOS] for e in part], dev)
            src_lang = torch.tensor([self.languages.index(e[1]) for e in part], device=dev)
            tgt_lang = torch.tensor([self.languages.index(e[3]) for e in part], device=dev)
            select = tgt_out != PAD
            tok_task = torch.tensor([task_of[i] for i in rows], device=dev)[:, None].expand_as(tgt_out)[select]
            last = n == len(passes) - 1
            with contextlib.nullcontext() if last or self.world == 1 else self.net.no_sync():
                with self._autocast():
                    logits = self.net(src, src_lang, tgt_in, tgt_lang, select)
                tok_loss = F.cross_entropy(logits.float(), tgt_out[select], label_smoothing=c.label_smoothing,
                                           reduction="none")
                (tok_loss * weight[tok_task]).sum().backward()
            sums.index_add_(0, tok_task, tok_loss.detach())
        if c.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        self.optimizer.step()
        self.step += 1
        means = (sums.cpu().double().numpy() / n_tokens).tolist()
        losses = {t: m for t, m in zip(tasks, means)}
        losses["loss"] = float(sum((ae_w if t.startswith("ae") else 1.0) * m for t, m in zip(tasks, means)))
        losses["tokens"] = int(n_tokens.sum())
        return losses

    # ----- evaluation -----
    def evaluate(self, beam: int = 1, display: bool = True) -> dict:
        """Round-trip BLEU on held-out monolingual text (selection) and, when ``display``, parallel BLEU."""
        d, m = self.data, self.model
        row: dict = {"step": self.step}
        rts = []
        for lang in (d.src, d.tgt):
            other = d.other(lang)
            there = translate_lines(m, d.vocab, d.heldout[lang], lang, other, beam, self.cfg.max_len)
            back = translate_lines(m, d.vocab, there, other, lang, beam, self.cfg.max_len)
            rt = bleu_scores(back, d.heldout[lang])["bleu"]
            row[f"roundtrip_{lang}"] = rt
            rts.append(rt)
        row["roundtrip"] = round(float(np.mean(rts)), 2)
        for split, enabled in (("test", self.cfg.eval_test), ("val", self.cfg.eval_val)):
            if not display or not enabled or not d.has(split):
                continue
            sets = getattr(d, split)
            for a, b in ((d.src, d.tgt), (d.tgt, d.src)):
                hyps = translate_lines(m, d.vocab, sets[a], a, b, beam, self.cfg.max_len)
                scores = bleu_scores(hyps, sets[b], b)
                row[f"{split}_{a}-{b}"] = scores["bleu"]
                row[f"{split}_{a}-{b}_tok_lc"] = scores["bleu_tok_lc"]
                # L(Y|X) in bits per character of Y: how much of the reference the source explains.
                code = conditional_code_length(m, d.vocab, sets[a], sets[b], a, b)
                row[f"{split}_{a}-{b}_bpc"] = round(code["bpc"], 4)
        return row

    def wordbyword_baseline(self) -> dict:
        d = self.data
        row: dict = {"step": 0, "system": "word-by-word"}
        for split in (s for s in ("test", "val") if d.has(s)):
            sets = getattr(d, split)
            for a, b in ((d.src, d.tgt), (d.tgt, d.src)):
                scores = bleu_scores(d.wbw[(a, b)].translate(sets[a]), sets[b], b)
                row[f"{split}_{a}-{b}"] = scores["bleu"]
                row[f"{split}_{a}-{b}_tok_lc"] = scores["bleu_tok_lc"]
        rts = []
        for lang in (d.src, d.tgt):
            other = d.other(lang)
            back = d.wbw[(other, lang)].translate(d.wbw[(lang, other)].translate(d.heldout[lang]))
            rts.append(bleu_scores(back, d.heldout[lang])["bleu"])
            row[f"roundtrip_{lang}"] = rts[-1]
        row["roundtrip"] = round(float(np.mean(rts)), 2)
        return row

    def best_roundtrip_step(self) -> int | None:
        """The step of the evaluation ``best.pt`` holds (:func:`selected_evaluation`)."""
        return selected_evaluation(self.history, self.cfg.selection_tolerance).get("step")

    def stalled(self) -> bool:
        r"""Whether the last ``patience`` evaluations all failed to become the selected model.

        With evaluations :math:`e_1, \dots, e_n` and :math:`e_b` the one ``best.pt`` keeps
        (:func:`selected_evaluation`: the first best round trip, or with ``selection_tolerance`` the
        last within it of the best), training has stalled when :math:`n - b \ge` ``patience``. It
        reads only the history, so a resumed run that had stalled stays stopped, and a larger
        ``patience`` (or 0) continues it.
        """
        return bool(self.cfg.patience) and evaluations_since_best(
            self.history, self.cfg.selection_tolerance) >= self.cfg.patience

    def _record(self, row: dict) -> None:
        self.history.append(row)
        if self.rank == 0:
            write_json(self.out / "history.json", self.history)

    def _stop_requested(self, stop: StopBetweenSteps) -> bool:
        """Whether a signal asked training to stop, on any rank (torchrun signals every rank, not
        necessarily between the same two steps)."""
        if self.world == 1:
            return stop.requested
        flag = torch.tensor([float(stop.requested)], device=self.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return bool(flag.item())

    # ----- the loop -----
    def fit(self, progress: bool = True) -> list[dict]:
        from tqdm import tqdm

        c = self.cfg
        make_folder(self.out)
        write_json(self.out / "config.json", asdict(c))
        if self.rank == 0:
            import shutil

            with atomic_path(self.out / "spm.model") as tmp:  # the run directory translates on its own
                shutil.copyfile(self.data.vocab.path, tmp)
        if not any(r.get("system") == "word-by-word" for r in self.history) and self.rank == 0:
            baseline = self.wordbyword_baseline()
            log.info("word-by-word baseline: %s", json.dumps(baseline))
            self.history.insert(0, baseline)
            write_json(self.out / "history.json", self.history)
        log.info("training on %s in %s", self.device, self.precision)
        bar = tqdm(total=c.steps, initial=self.step, desc="mt train", unit="step", disable=not progress or self.rank)
        self._sitting_t0, tokens = time.time(), 0
        stalled = self.stalled()  # a resumed run that had stalled stays stopped
        with StopBetweenSteps("training") as stop:
            while self.step < c.steps and not stalled:
                losses = self.train_step()
                tokens += losses["tokens"]
                bar.update(1)
                bar.set_postfix(loss=f"{losses['loss']:.2f}", ae=f"{self.ae_weight(self.step):.2f}",
                                tok_s=f"{tokens / max(time.time() - self._sitting_t0, 1e-9):.0f}")
                done = self.step == c.steps
                pretraining = self.step <= c.pretrain_steps and not done  # the decoder is not trained yet
                if self.rank == 0 and self.step == c.pretrain_steps > 0:  # what pretraining cost, for the ablation
                    self._record({"step": self.step, "system": PRETRAINING, "mlm": round(losses["mlm"], 4),
                                  **self.masked_lm_heldout(),
                                  "seconds": self.elapsed()})
                    # other runs may start from here
                    self.save(self.out / "pretrained.pt", data_digest=pretraining_data_digest(self.data))
                if self.rank == 0 and pretraining and self.step < c.pretrain_steps and self.step % c.eval_every == 0:
                    # the pretraining curve, for choosing its length: held-out, monolingual, the selection's own text
                    self._record({"step": self.step, "system": MLM_CURVE, "mlm": round(losses["mlm"], 4),
                                  **self.masked_lm_heldout(), "seconds": self.elapsed()})
                if self.rank == 0 and c.pretrain_snapshots and self.step < c.pretrain_steps \
                        and self.step % c.pretrain_snapshots == 0:  # a shorter pretraining other runs may start from
                    self.save(self.out / f"pretrained-{self.step}.pt", data_digest=pretraining_data_digest(self.data))
                evaluates = not pretraining and (self.step % c.eval_every == 0 or done)
                if self.rank == 0 and evaluates:
                    display = done or self.step % (c.eval_every * c.display_every) == 0
                    row = self.evaluate(display=display)
                    if self.average is not None:
                        with self.average.swapped_in():
                            row["averaged"] = {k: v for k, v in self.evaluate(display=display).items() if k != "step"}
                    row.update({k: round(v, 4) for k, v in losses.items() if k != "tokens"})
                    row["seconds"] = self.elapsed()
                    row["precision"] = self.precision  # sittings may differ
                    self._record(row)
                    log.info("step %d: %s", self.step, json.dumps(row))
                    self.best_roundtrip = max(self.best_roundtrip, row_figures(row, selected_weights(row))["roundtrip"])
                    selected = selected_evaluation(self.history, c.selection_tolerance)
                    if selected["step"] == self.step:
                        chosen = selected.get("weights", "live")
                        weights = self.average.weights() if chosen == "averaged" else self.model.state_dict()
                        with atomic_path(self.out / "best.pt") as tmp:
                            torch.save({"model": weights, "config": asdict(c), "step": self.step, "weights": chosen,
                                        "pair": [self.data.src, self.data.tgt], "roundtrip": selected["roundtrip"]},
                                       tmp)
                if evaluates and c.patience:  # only an evaluation can end a stall's count
                    stalled = self.rank == 0 and self.stalled()
                    if self.world > 1:  # every rank stops where rank 0, which evaluates, says so
                        flag = torch.tensor([float(stalled)], device=self.device)
                        torch.distributed.broadcast(flag, 0)
                        stalled = bool(flag.item())
                saves = self.step % c.checkpoint_every == 0 or done or stalled
                if saves:
                    self.save()
                if stalled:
                    log.info("round-trip BLEU has selected no new model for %d evaluations (best.pt: step %d): "
                             "training stops at step %d of %d", c.patience, self.best_roundtrip_step(), self.step,
                             c.steps)
                if self._stop_requested(stop):  # Ctrl-C or kill: this step is kept, none is redone
                    if not saves:
                        self.save()
                    bar.close()
                    log.info("stopped at step %d of %d, checkpoint written: resuming continues from here",
                             self.step, c.steps)
                    raise KeyboardInterrupt
        bar.close()
        if self.rank == 0:
            from umt.translation.plots import plot_bleu

            plot_bleu(self.history, self.data.src, self.data.tgt, self.out / "bleu.png")
        return self.history


def load_model(run: str | os.PathLike, which: str = "best", device=None) -> tuple[Seq2Seq, dict]:
    """A trained model from a run directory (``best.pt`` by default, else ``checkpoint.pt``)."""
    run = Path(run)
    path = run / f"{which}.pt" if run.is_dir() else run
    if run.is_dir() and not path.exists():
        path = run / "checkpoint.pt"
    if not path.exists():
        raise UmtError(f"{run}: no trained model (best.pt or checkpoint.pt)")
    state = load_checkpoint(path, "model", device)
    try:
        cfg = MTTrainConfig.from_dict(state["config"])
    except Exception as e:  # noqa: BLE001
        raise UmtError(f"{path}: cannot read model ({e})") from None
    model = Seq2Seq(cfg.model)
    model.load_state_dict(state["model"])
    model.eval()
    return model.to(device or "cpu"), state


def load_models(runs: list, which: str = "best", device=None) -> tuple[Seq2Seq | Ensemble, dict]:
    """One trained model, or several decoding as an :class:`~umt.translation.model.Ensemble`.

    Several must come from one prepared pair: the same subword vocabulary (``spm.model``, byte for
    byte) and the same languages. Returns the model and the first run's checkpoint state.
    """
    loaded = [load_model(run, which, device) for run in runs]
    if len(loaded) == 1:
        return loaded[0]
    first = Path(runs[0])
    for run, (_, state) in zip(runs[1:], loaded[1:]):
        if state.get("pair") != loaded[0][1].get("pair"):
            raise UmtError(f"{run}: translates {'-'.join(state.get('pair', []))}, but {first} "
                           f"{'-'.join(loaded[0][1].get('pair', []))}: an ensemble needs one language pair")
        if _vocab_bytes(Path(run)) != _vocab_bytes(first):
            raise UmtError(f"{run}: another subword vocabulary than {first} (spm.model differs): an ensemble "
                           "needs models trained on one prepared pair")
    return Ensemble([model for model, _ in loaded]), loaded[0][1]


def run_folder(model: str | os.PathLike) -> Path:
    """The run directory of ``model``, which names a run or one of its checkpoint files."""
    model = Path(model)
    return model if model.is_dir() else model.parent


def _vocab_bytes(run: Path) -> bytes | None:
    path = run_folder(run) / "spm.model"
    return path.read_bytes() if path.exists() else None
