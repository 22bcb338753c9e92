r"""Cross-lingual masked-LM pretraining (Lample & Conneau 2019, XLM), the first phase of a run.

Sentences of both languages share one subword vocabulary; 15% of the subwords are to be predicted
(80% of them replaced by a mask, 10% by a random piece, 10% kept). The phase trains the encoder
and the embeddings; when it ends, each decoder layer starts from the encoder layer of its depth.
Its held-out curve (:meth:`MaskedLMPretraining.masked_lm_heldout`) reads monolingual text only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from umt.translation.data import MTData
from umt.translation.evaluate import pad_batch

log = logging.getLogger("umt")

#: The settings that shape masked-LM pretraining. A run may start from another run's
#: ``pretrained.pt`` (or a ``pretrained-STEP.pt`` snapshot) when these agree and the subwords and
#: training text are the same bytes; the translation phase's settings (lexicon, noise, schedule)
#: may differ, and a snapshot's run may have pretrained longer (the pretraining schedule does not
#: depend on its length: constant after warm-up, every draw keyed by the seed and the step).
PRETRAIN_SETTINGS = ("pretrain_steps", "batch_size", "lr", "warmup", "clip", "mask_rate", "seed", "init_embeddings",
                     "amp", "model")


def pretraining_data_digest(data: MTData) -> str:
    """SHA-256 of what masked-LM pretraining reads: the subword model and both training texts."""
    import hashlib

    h = hashlib.sha256()
    for path in (data.vocab.path, *(data.folder / f"train.{lang}.txt" for lang in (data.src, data.tgt))):
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def masked_inputs(ids: np.ndarray, vocab, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """XLM's masking of a padded batch of pieces: each real piece is chosen with probability
    ``rate`` (at least one in the batch); a chosen piece becomes the mask 80% of the time, a random
    piece 10%, and stays 10%. Returns the inputs and the chosen positions."""
    real = np.isin(ids, vocab.text_pieces)
    chosen = real & (rng.random(ids.shape) < rate)
    if not chosen.any():
        chosen[np.unravel_index(np.flatnonzero(real)[0], real.shape)] = True
    action = rng.random(ids.shape)
    inputs = ids.copy()
    inputs[chosen & (action < 0.8)] = vocab.blank_id  # the noise's blank serves as the mask
    swap = chosen & (action >= 0.8) & (action < 0.9)
    inputs[swap] = rng.choice(vocab.text_pieces, size=int(swap.sum()))
    return inputs, chosen


class MaskedLMPretraining:
    """The masked-LM steps of :class:`umt.translation.train.Trainer`, which mixes this class in and
    provides what it uses: ``cfg``, ``data``, ``model``, ``optimizer``, ``device``, ``languages``,
    ``step``, ``world``, ``lr_at``, ``_rng`` and ``_autocast``."""

    def masked_lm_step(self) -> dict:
        r"""One optimiser step of the cross-lingual masked language model (encoder and embeddings).

        The loss is the mean over the masked pieces :math:`M` of the batch,
        :math:`\frac{1}{|M|}\sum_{i \in M} -\log p(x_i \mid \tilde x)`. The masks are drawn on the
        whole padded batch; its sentences are then sorted by length and cut into ``length_buckets``
        passes, each padded only to its own longest, whose gradients add up to the same step (half
        the batch's positions are padding otherwise).
        """
        c, d = self.cfg, self.data
        rows, langs = [], []
        for k, lang in enumerate((d.src, d.tgt)):
            pool = d.train[lang]
            size = 2 * c.batch_size  # as many sentences a language as one translation step reads
            rows += [pool[i][: c.model.max_positions] for i in self._rng(k, 3).choice(len(pool), size=size)]
            langs += [self.languages.index(lang)] * size
        ids = pad_batch(rows).numpy()
        inputs, chosen = masked_inputs(ids, d.vocab, c.mask_rate, self._rng(9))
        lengths = np.array([len(r) for r in rows])
        order = np.argsort(lengths, kind="stable")
        passes = [p for p in np.array_split(order, min(c.length_buckets, len(rows))) if chosen[p].any()]
        masked = int(chosen.sum())
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for part in passes:
            cut = np.ix_(part, np.arange(max(1, lengths[part].max())))
            logits, target = self._masked_logits(ids[cut], inputs[cut], chosen[cut], [langs[i] for i in part])
            loss = F.cross_entropy(logits.float(), target, reduction="sum")
            (loss / masked).backward()
            total += float(loss.detach())
        if self.world > 1:  # the encoder alone runs outside DDP's forward: average the gradients by hand
            for p in self.model.parameters():
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= self.world
        if c.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        self.optimizer.step()
        self.step += 1
        return {"mlm": total / masked, "loss": total / masked, "tokens": masked}

    def _masked_logits(self, ids: np.ndarray, inputs: np.ndarray, chosen: np.ndarray,
                       langs: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's scores of every vocabulary piece at the masked positions, and the pieces."""
        dev = self.device
        where = torch.from_numpy(chosen).to(dev)
        with self._autocast():
            memory, _ = self.model.encode(torch.from_numpy(inputs).to(dev), torch.tensor(langs, device=dev))
            logits = memory[where] @ self.model.tok.weight.T
        return logits, torch.from_numpy(ids).to(dev)[where]

    @torch.no_grad()
    def masked_lm_heldout(self, batch: int = 128) -> dict:
        r"""The masked LM on the held-out monolingual sentences: the mean cross-entropy (nats) of a
        masked piece, :math:`-\frac{1}{|M|}\sum_{i \in M} \log p(x_i \mid \tilde x)`, and the share
        predicted exactly. The masks are drawn from the seed alone, so every evaluation of a run
        scores the same positions; no parallel text is read, so the curve may guide how long to
        pretrain."""
        d, c = self.data, self.cfg
        rng = np.random.default_rng([c.seed, 7, 7])
        if self._heldout_ids is None:  # encoded once a run: the same sentences at every evaluation
            self._heldout_ids = [d.vocab.encode(d.heldout[lang], c.model.max_positions) for lang in (d.src, d.tgt)]
        self.model.eval()
        total, right, count = 0.0, 0, 0
        try:
            for k, encoded in enumerate(self._heldout_ids):
                for i in range(0, len(encoded), batch):
                    ids = pad_batch(encoded[i:i + batch]).numpy()
                    inputs, chosen = masked_inputs(ids, d.vocab, c.mask_rate, rng)
                    logits, target = self._masked_logits(ids, inputs, chosen, [k] * len(ids))
                    total += float(F.cross_entropy(logits.float(), target, reduction="sum"))
                    right += int((logits.argmax(-1) == target).sum())
                    count += int(target.numel())
        finally:
            self.model.train()
        return {"mlm_heldout": round(total / max(count, 1), 4), "mlm_heldout_accuracy": round(right / max(count, 1), 4)}

    @torch.no_grad()
    def decoder_from_encoder(self) -> None:
        """Each decoder layer takes the pretrained encoder layer of its depth (XLM's initialisation)."""
        m = self.model
        for enc, dec in zip(m.encoder, m.decoder):
            dec.self_attn.load_state_dict(enc.attn.state_dict())
            dec.ff.load_state_dict(enc.ff.state_dict())
            dec.ln1.load_state_dict(enc.ln1.state_dict())
            dec.ln3.load_state_dict(enc.ln2.state_dict())
        m.dec_ln.load_state_dict(m.enc_ln.state_dict())
        log.info("masked-LM pretraining done at step %d: the decoder starts from the encoder", self.step)
