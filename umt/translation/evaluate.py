"""Translating with a trained model and scoring with BLEU (sacrebleu).

Two BLEU figures per direction:

* ``bleu``: sacrebleu's standard score on detokenized, cased output against the raw references
  (its signature is recorded); the number to compare with modern papers.
* ``bleu_tok_lc``: the convention of Lample et al. (2018a): the output and the references
  lowercased and tokenized by the Moses tokenizer of the target language (``sacremoses``,
  ``-no-escape`` as XLM runs it), then BLEU as multi-bleu.perl computes it (sacrebleu with
  ``tokenize='none'`` and no smoothing: one empty n-gram order gives 0).
"""

from __future__ import annotations

import json

import numpy as np
import torch

from umt.config import model_languages
from umt.errors import UmtError
from umt.translation.model import Decoding, Seq2Seq
from umt.translation.vocab import EOS, PAD, Vocab


def pad_batch(seqs: list[list[int]], device=None) -> torch.Tensor:
    width = max(1, max(len(s) for s in seqs))
    out = torch.full((len(seqs), width), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out.to(device) if device else out


def strip_output(row: list[int]) -> list[int]:
    """Ids up to (not including) the first EOS or PAD."""
    out = []
    for i in row:
        if i in (EOS, PAD):
            break
        out.append(i)
    return out


def max_output_len(src_len: int) -> int:
    return int(1.5 * src_len) + 10


def translate_ids(model: Decoding, vocab: Vocab, seqs: list[list[int]], src: str, tgt: str, beam: int = 1,
                  batch_size: int = 128, device=None) -> list[list[int]]:
    """Translate id sequences (without EOS); batches are built by length for speed, order is kept."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    results: list[list[int]] = [[] for _ in seqs]
    src_lang, tgt_lang = model_languages(src, tgt).index(src), model_languages(src, tgt).index(tgt)
    bos = vocab.lang_id(tgt)
    for start in range(0, len(seqs), batch_size):
        idx = order[start : start + batch_size]
        batch = pad_batch([seqs[i] + [EOS] for i in idx], device)
        n = len(idx)
        sl = torch.full((n,), src_lang, device=device)
        tl = torch.full((n,), tgt_lang, device=device)
        b = torch.full((n,), bos, device=device)
        limit = max_output_len(batch.size(1))
        if beam > 1:
            outs = model.beam_search(batch, sl, tl, b, limit, beam)
        else:
            outs = [strip_output(r) for r in model.greedy(batch, sl, tl, b, limit).tolist()]
        for i, o in zip(idx, outs):
            results[i] = o
    model.train(was_training)
    return results


def translate_lines(model: Decoding, vocab: Vocab, lines: list[str], src: str, tgt: str, beam: int = 1,
                    max_len: int = 100, device=None) -> list[str]:
    return vocab.decode(translate_ids(model, vocab, vocab.encode(lines, max_len), src, tgt, beam, device=device))


def moses_lowercase(lines: list[str], lang: str) -> list[str]:
    """Lines lowercased and tokenized as ``tokenizer.perl -l LANG -no-escape`` does (sacremoses)."""
    from sacremoses import MosesTokenizer

    tokenizer = MosesTokenizer(lang=lang)
    return [tokenizer.tokenize(line.lower(), escape=False, return_str=True) for line in lines]


def multi_bleu(hyps: list[str], refs: list[str]) -> float:
    """BLEU of already tokenized text as multi-bleu.perl computes it (no smoothing, one reference)."""
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize="none", smooth_method="none", force=True).corpus_score(hyps, [refs]).score


def bleu_scores(hyps: list[str], refs: list[str], lang: str | None = None, bootstrap: int = 0) -> dict:
    """Detokenized cased sacreBLEU and, given the target ``lang``, Lample et al.'s lowercased
    Moses-tokenized BLEU (``bleu_tok_lc``, see the module docstring), with sacrebleu's signature.

    ``bootstrap``: with N > 1, also ``bleu_ci95``, the 95% interval of the detokenized BLEU from
    sacrebleu's bootstrap resampling of the test sentences (N samples, sacrebleu's fixed seed), so
    that two systems a point apart on 1,000 sentences are not read as different.
    """
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    detok = metric.corpus_score(hyps, [refs])
    scores = {"bleu": round(float(detok.score), 2), "signature": str(metric.get_signature())}
    if lang is not None:
        scores["bleu_tok_lc"] = round(float(multi_bleu(moses_lowercase(hyps, lang), moses_lowercase(refs, lang))), 2)
    if bootstrap > 1:
        resampled = json.loads(BLEU().corpus_score(hyps, [refs], n_bootstrap=bootstrap).format(
            signature=scores["signature"], width=4, is_json=True))
        # sacrebleu reports the bootstrap mean +- half the 2.5-97.5 percentile range, and nothing when all are 0
        mean, half = resampled.get("confidence_mean", 0.0), resampled.get("confidence_var", 0.0)
        scores["bleu_ci95"] = [round(mean - half, 2), round(mean + half, 2)]
    return scores


def _sentence_bleu_statistics(hyps: list[str], refs: list[str]) -> np.ndarray:
    """Per sentence: output length, reference length, matched and total n-grams (n = 1..4), as
    sacrebleu counts them; their sum over sentences gives its corpus BLEU."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(effective_order=True)  # changes the sentence score only, not the counts; silences a warning
    return np.array([[s.sys_len, s.ref_len, *s.counts, *s.totals]
                     for s in (metric.sentence_score(h, [r]) for h, r in zip(hyps, refs))], dtype=np.int64)


def paired_bleu(baseline: list[str], system: list[str], refs: list[str], samples: int = 10000,
                seed: int = 12345) -> dict:
    r"""Whether ``system`` and ``baseline`` differ in BLEU on the same sentences: the paired
    approximate randomization test (Riezler and Maxwell 2005), on sacrebleu's n-gram counts.

    Each of ``samples`` trials swaps the two systems' outputs of every sentence with probability
    1/2 and recomputes the BLEU difference; with :math:`\delta` the observed difference,

    .. math:: p = \frac{1 + \#\{\text{trials with } |\delta_\text{trial}| \ge |\delta|\}}{1 + \text{samples}}.

    Not sacrebleu's ``PairedTest``: it counts only trials with a strictly larger difference, so
    two systems that differ in one sentence (every trial ties) get ``p = 1 / (1 + samples)``, and
    a system against itself too. Sentences both systems translate alike cannot change a trial, as
    in McNemar's test for lexicons. Returns both detokenized BLEU scores (sacrebleu's defaults)
    and the p-value, unrounded.
    """
    from sacrebleu.metrics import BLEU

    if not len(baseline) == len(system) == len(refs):
        raise UmtError(f"paired BLEU needs as many outputs as references: {len(baseline)}, {len(system)} "
                       f"and {len(refs)} lines")

    def corpus_bleu(stats: np.ndarray) -> float:  # the layout of _sentence_bleu_statistics, summed
        return BLEU.compute_bleu(correct=stats[2:6].tolist(), total=stats[6:10].tolist(), sys_len=int(stats[0]),
                                 ref_len=int(stats[1]), smooth_method="exp").score

    a, b = _sentence_bleu_statistics(baseline, refs), _sentence_bleu_statistics(system, refs)
    total_a, total_b = a.sum(axis=0), b.sum(axis=0)
    bleu_a, bleu_b = corpus_bleu(total_a), corpus_bleu(total_b)
    observed = abs(bleu_a - bleu_b)
    differs = (a != b).any(axis=1)
    change = (b - a)[differs]  # what swapping a sentence moves from one pseudo-system to the other
    swaps = np.random.default_rng(seed).integers(2, size=(samples, len(change))).astype(np.int64) @ change
    at_least = sum(abs(corpus_bleu(total_a + s) - corpus_bleu(total_b - s)) >= observed - 1e-9 for s in swaps)
    return {"bleu_baseline": round(bleu_a, 2), "bleu_system": round(bleu_b, 2),
            "p_value": (1 + int(at_least)) / (1 + samples), "samples": samples,
            "differing_sentences": int(differs.sum()), "test": "paired approximate randomization"}


@torch.no_grad()
def conditional_code_length(model: Seq2Seq, vocab: Vocab, sources: list[str], targets: list[str], src: str,
                            tgt: str, batch_size: int = 128, device=None) -> dict:
    r"""Teacher-forced code length of ``targets`` given ``sources``: :math:`L(Y|X)` in bits.

    .. math::

        L(Y|X) = -\sum_{s} \sum_{t} \log_2 p(y^s_t \mid y^s_{<t}, x^s), \qquad
        \mathrm{bpc} = L(Y|X) \,/\, \sum_s (|y^s| + 1)

    summed over every subword of every sentence and its end-of-sentence token, per character of the
    raw target text (one extra character per sentence for its line end), so that models with
    different tokenizations compare. This reads parallel text: evaluation only.
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    limit = model.cfg.max_positions - 1
    src_ids = [s[:limit] + [EOS] for s in vocab.encode(sources, limit)]
    tgt_ids = vocab.encode(targets, limit)
    languages = model_languages(src, tgt)
    src_lang, tgt_lang, bos = languages.index(src), languages.index(tgt), vocab.lang_id(tgt)
    nats = 0.0
    for start in range(0, len(src_ids), batch_size):
        s = pad_batch(src_ids[start:start + batch_size], device)
        t = tgt_ids[start:start + batch_size]
        t_in = pad_batch([[bos] + y for y in t], device)
        t_out = pad_batch([y + [EOS] for y in t], device)
        n = len(t)
        logits = model(s, torch.full((n,), src_lang, device=device), t_in, torch.full((n,), tgt_lang, device=device))
        nats += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), t_out.flatten(),
                                                        ignore_index=PAD, reduction="sum"))
    model.train(was_training)
    chars = sum(len(y) + 1 for y in targets)
    bits = nats / np.log(2)
    return {"bits": bits, "chars": chars, "bpc": bits / max(chars, 1)}
