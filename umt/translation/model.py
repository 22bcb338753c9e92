r"""One Transformer encoder-decoder shared by both translation directions.

Every token embedding is the sum of a subword embedding (shared by encoder, decoder and the
output layer, scaled by :math:`\sqrt{d}`), a learned position embedding and a language embedding;
the decoder starts from the target-language token (``<fr>``), so one model serves en->fr,
fr->en and both auto-encoders. Layers are pre-norm. The decoder keeps a key/value cache, so
greedy and beam decoding cost one new position per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from umt.config import LANGUAGES
from umt.ranges import NON_NEGATIVE, POSITIVE, PROBABILITY_TO_DROP, CheckedConfig, ConfigError, ranged
from umt.translation.vocab import EOS, PAD


@dataclass
class ModelConfig(CheckedConfig):
    vocab_size: int = ranged(8000, POSITIVE)
    dim: int = ranged(256, POSITIVE)
    heads: int = ranged(4, POSITIVE)
    enc_layers: int = ranged(3, NON_NEGATIVE)
    dec_layers: int = ranged(3, NON_NEGATIVE)
    ff_dim: int = ranged(1024, POSITIVE)
    dropout: float = ranged(0.1, PROBABILITY_TO_DROP)
    max_positions: int = ranged(160, POSITIVE)
    n_langs: int = ranged(len(LANGUAGES), POSITIVE)

    def check_together(self, changed: str | None = None) -> None:
        if not self.dim % self.heads:  # each head takes an equal slice of the model width
            return
        if changed == "heads":
            raise ConfigError(f"ModelConfig.heads = {self.heads}: expected a divisor of dim ({self.dim})", "heads",
                              self.heads, f"expected a divisor of --dim ({self.dim})")
        raise ConfigError(f"ModelConfig.dim = {self.dim}: expected a multiple of heads ({self.heads})", "dim",
                          self.dim, f"expected a multiple of --heads ({self.heads})")


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, d = t.shape
        return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x, memory=None, mask=None, causal=False, cache: dict | None = None):
        """Self-attention when ``memory`` is None, else cross-attention to ``memory``.

        ``cache`` (a dict) accumulates past keys/values of self-attention, or holds the projected
        memory of cross-attention, for step-by-step decoding.
        """
        b, n, d = x.shape
        q = self._split(self.q(x))
        if memory is None:
            k, v = (self._split(t) for t in self.kv(x).chunk(2, dim=-1))
            if cache is not None:
                if "k" in cache:
                    k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
                cache["k"], cache["v"] = k, v
        elif cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            k, v = (self._split(t) for t in self.kv(memory).chunk(2, dim=-1))
            if cache is not None:
                cache["k"], cache["v"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and n > 1,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class EncoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.dim), nn.LayerNorm(c.dim)
        self.attn = Attention(c.dim, c.heads, c.dropout)
        self.ff = FeedForward(c.dim, c.ff_dim, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, mask):
        x = x + self.drop(self.attn(self.ln1(x), mask=mask))
        return x + self.drop(self.ff(self.ln2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(c.dim), nn.LayerNorm(c.dim), nn.LayerNorm(c.dim)
        self.self_attn = Attention(c.dim, c.heads, c.dropout)
        self.cross_attn = Attention(c.dim, c.heads, c.dropout)
        self.ff = FeedForward(c.dim, c.ff_dim, c.dropout)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, memory, memory_mask, cache: dict | None = None):
        x = x + self.drop(self.self_attn(self.ln1(x), causal=True, cache=None if cache is None else cache["self"]))
        x = x + self.drop(self.cross_attn(self.ln2(x), memory, memory_mask,
                                          cache=None if cache is None else cache["cross"]))
        return x + self.drop(self.ff(self.ln3(x)))


class Decoding:
    """Greedy and beam search over any next-piece scorer: one model, or several as an :class:`Ensemble`.

    A scorer gives ``cfg.max_positions`` and three steps: ``start_decoding`` (encode the source,
    empty caches), ``next_scores`` (scores of the next piece, whose argmax and log-softmax are
    what the searches use) and ``reorder`` (keep the caches of the hypotheses beam search kept).
    """

    @torch.no_grad()
    def greedy(self, src, src_lang, tgt_lang, bos, max_len: int) -> torch.Tensor:
        """Greedy decoding; returns (B, T) ids, each row ending in EOS then PAD (or cut at max_len)."""
        state = self.start_decoding(src, src_lang)
        tok = bos[:, None]
        done = torch.zeros(len(src), dtype=torch.bool, device=src.device)
        out = []
        for t in range(min(max_len, self.cfg.max_positions)):
            nxt = self.next_scores(state, tok, tgt_lang, t).argmax(-1)
            nxt = nxt.masked_fill(done, PAD)
            out.append(nxt)
            done |= nxt == EOS
            if done.all():
                break
            tok = nxt[:, None]
        return torch.stack(out, 1)

    @torch.no_grad()
    def beam_search(self, src, src_lang, tgt_lang, bos, max_len: int, beam: int = 4,
                    length_penalty: float = 1.0) -> list[list[int]]:
        r"""Beam search; a finished hypothesis scores :math:`\log p(y|x) / |y|^{\alpha}`.

        Each sentence keeps its ``beam`` best finished hypotheses and stops once it has that many
        and its best live hypothesis, scored as if it ended at the next step, is no better than the
        worst of them (as in Hugging Face's ``BeamHypotheses``). Stopping at the first ``beam``
        finished hypotheses instead let low-probability ones that ended early win over the
        longer, far likelier one the model was still extending: on a toy task the model translated
        perfectly by greedy search, that search returned a wrong sentence for 2 of 16 inputs.
        """
        b, k = len(src), beam
        state = self.start_decoding(src, src_lang, repeat=k)
        lang = tgt_lang.repeat_interleave(k)
        tok = bos.repeat_interleave(k)[:, None]
        scores = torch.full((b, k), float("-inf"), device=src.device)
        scores[:, 0] = 0.0
        seqs = torch.zeros((b * k, 0), dtype=torch.long, device=src.device)
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(b)]
        done = [False] * b
        steps = min(max_len, self.cfg.max_positions)
        for t in range(steps):
            logp = F.log_softmax(self.next_scores(state, tok, lang, t).float(), -1)
            vocab = logp.size(-1)
            cand = (scores.view(-1, 1) + logp).view(b, k * vocab)
            top, idx = cand.topk(2 * k, dim=1)
            top, idx = top.tolist(), idx.tolist()
            new_scores = torch.full((b, k), float("-inf"), device=src.device)
            select = torch.zeros(b * k, dtype=torch.long, device=src.device)
            new_tok = torch.full((b * k,), PAD, dtype=torch.long, device=src.device)
            for i in range(b):
                if done[i]:
                    continue
                filled = 0
                for rank, (s, j) in enumerate(zip(top[i], idx[i])):
                    if filled == k or s == float("-inf"):
                        break
                    beam_j, word = divmod(j, vocab)
                    if word == EOS or t == steps - 1:
                        if rank >= k:  # as in fairseq: only an end within the top k may finish a hypothesis
                            continue
                        hyp = seqs[i * k + beam_j].tolist() + ([] if word == EOS else [word])
                        finished[i] = sorted([*finished[i], (s / max(len(hyp) + 1, 1) ** length_penalty, hyp)],
                                             reverse=True)[:k]
                        continue
                    select[i * k + filled] = i * k + beam_j
                    new_tok[i * k + filled] = word
                    new_scores[i, filled] = s
                    filled += 1
                best_live = float(new_scores[i, 0]) / (t + 2) ** length_penalty  # ending at the next step
                done[i] = filled == 0 or (len(finished[i]) >= k and best_live <= finished[i][-1][0])
                if done[i]:
                    new_scores[i] = float("-inf")
            if all(done):
                break
            scores = new_scores
            seqs = torch.cat([seqs[select], new_tok[:, None]], 1)
            self.reorder(state, select)
            tok = new_tok[:, None]
        return [f[0][1] if f else [] for f in finished]


class Seq2Seq(nn.Module, Decoding):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=PAD)
        self.pos = nn.Embedding(cfg.max_positions, cfg.dim)
        self.lang = nn.Embedding(cfg.n_langs, cfg.dim)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.dec_layers))
        self.enc_ln, self.dec_ln = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.tok.weight, std=cfg.dim ** -0.5)
        nn.init.normal_(self.pos.weight, std=0.02)
        nn.init.normal_(self.lang.weight, std=0.02)
        with torch.no_grad():
            self.tok.weight[PAD].zero_()

    def _embed(self, ids, lang, offset: int = 0):
        positions = torch.arange(offset, offset + ids.size(1), device=ids.device)
        h = self.tok(ids) * math.sqrt(self.cfg.dim) + self.pos(positions)[None] + self.lang(lang)[:, None]
        return self.drop(h)

    def encode(self, src, src_lang):
        """Encode ``src`` (B, S) ids of language indices ``src_lang`` (B,); returns memory and mask."""
        mask = (src != PAD)[:, None, None, :]
        h = self._embed(src, src_lang)
        for layer in self.encoder:
            h = layer(h, mask)
        return self.enc_ln(h), mask

    def decode(self, tgt_in, tgt_lang, memory, memory_mask, caches=None, offset: int = 0, select=None):
        """Next-token logits (B, T, V) for decoder inputs ``tgt_in`` (B, T).

        With a boolean ``select`` (B, T), only the selected positions are projected onto the
        vocabulary (N, V): the output layer is the costliest matmul, and padding needs none.
        """
        h = self._embed(tgt_in, tgt_lang, offset)
        for i, layer in enumerate(self.decoder):
            h = layer(h, memory, memory_mask, None if caches is None else caches[i])
        h = self.dec_ln(h)
        return (h if select is None else h[select]) @ self.tok.weight.T

    def forward(self, src, src_lang, tgt_in, tgt_lang, select=None):
        memory, mask = self.encode(src, src_lang)
        return self.decode(tgt_in, tgt_lang, memory, mask, select=select)

    def _new_caches(self):
        return [{"self": {}, "cross": {}} for _ in self.decoder]

    def start_decoding(self, src, src_lang, repeat: int = 1) -> dict:
        memory, mask = self.encode(src, src_lang)
        if repeat > 1:  # beam search: each sentence's memory once per hypothesis
            memory, mask = memory.repeat_interleave(repeat, 0), mask.repeat_interleave(repeat, 0)
        return {"memory": memory, "mask": mask, "caches": self._new_caches()}

    def next_scores(self, state: dict, tok, tgt_lang, t: int):
        """Logits of the next piece (B, V) after the pieces ``tok`` (B, 1) at position ``t``."""
        return self.decode(tok, tgt_lang, state["memory"], state["mask"], state["caches"], offset=t)[:, -1]

    def reorder(self, state: dict, select) -> None:
        # the cross-attention caches hold each sentence's memory, the same for all its hypotheses
        for cache in state["caches"]:
            cache["self"]["k"] = cache["self"]["k"][select]
            cache["self"]["v"] = cache["self"]["v"][select]


class Ensemble(nn.Module, Decoding):
    r"""Models trained on one subword vocabulary, decoding as one.

    The next piece's probability is the mean of the members':
    :math:`p(y_t \mid y_{<t}, x) = \frac{1}{M} \sum_{m=1}^{M} p_m(y_t \mid y_{<t}, x)`, so the scores
    are :math:`\log \frac{1}{M} \sum_m \exp \log p_m`, already log-probabilities.
    """

    def __init__(self, members: list[Seq2Seq]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        first = members[0].cfg
        for m in members[1:]:
            if (m.cfg.vocab_size, m.cfg.n_langs) != (first.vocab_size, first.n_langs):
                raise ValueError(f"members differ in vocabulary ({m.cfg.vocab_size} and {first.vocab_size} pieces) "
                                 f"or languages ({m.cfg.n_langs} and {first.n_langs})")
        self.members = nn.ModuleList(members)
        self.cfg = replace(first, max_positions=min(m.cfg.max_positions for m in members))

    def start_decoding(self, src, src_lang, repeat: int = 1) -> list[dict]:
        return [m.start_decoding(src, src_lang, repeat) for m in self.members]

    def next_scores(self, state: list[dict], tok, tgt_lang, t: int):
        logp = torch.stack([F.log_softmax(m.next_scores(s, tok, tgt_lang, t).float(), -1)
                            for m, s in zip(self.members, state)])
        return torch.logsumexp(logp, 0) - math.log(len(self.members))

    def reorder(self, state: list[dict], select) -> None:
        for m, s in zip(self.members, state):
            m.reorder(s, select)
