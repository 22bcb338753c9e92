r"""Bits of Y explained by X, and joint against separate language models, for one trained pair.

For a prepared pair (``umt mt prepare``) and a back-translation run (``umt mt train``):

* :math:`L(Y)`: a language model trained on the target's monolingual training half only;
* :math:`L(Y|X)`: the translation model's teacher-forced code length of the Multi30k test
  references given their sources (parallel text read for evaluation only);
* :math:`L(Y) - L(Y|X)`: bits per character of Y that X explains;
* :math:`L(Y|X') - L(Y|X)`, with :math:`X'` the source of another test sentence: the same
  estimate with the model's own language-model ability cancelled out, so it is near zero for a
  model that ignores its input and for sources unrelated to their targets (the pairing control);
* joint against separate: one language model of both languages, with as many parameters as the
  two single-language models together and as many training sentences of each language as each of
  them (so twice the steps for a pair), against those two; held-out monolingual code length of
  X and Y in each case. The joint model wins when the languages share structure it can reuse.

All figures are bits per character of raw text (``umt.information.lm``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, replace
from pathlib import Path

from umt.errors import UmtError
from umt.fileio import make_folder, write_json, write_text
from umt.information.lm import (
    LMTrainConfig,
    code_length,
    load_language_model,
    save_language_model,
    train_language_model,
)
from umt.translation.data import MTData

log = logging.getLogger("umt")


def lm_parameters(cfg) -> int:
    """Parameters of ``LanguageModel(cfg)``: embeddings, ``enc_layers`` pre-norm layers, final norm."""
    d, f = cfg.dim, cfg.ff_dim
    layer = 2 * 2 * d + (4 * d * d + 4 * d) + (2 * d * f + f + d)
    return cfg.vocab_size * d + cfg.max_positions * d + cfg.enc_layers * layer + 2 * d


def width_for_parameters(cfg, target: int) -> int:
    """The model width (a multiple of the head count, feed-forward 4x) closest to ``target`` parameters."""
    return min(range(cfg.heads, 8 * cfg.dim, cfg.heads),
               key=lambda d: abs(lm_parameters(replace(cfg, dim=d, ff_dim=4 * d)) - target))


def _cached_lm(path: Path, data: MTData, langs: tuple[str, ...], cfg: LMTrainConfig, progress: bool):
    """The language model in ``path`` if it was trained with ``cfg``; else train (and keep) it."""
    training = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                "model": asdict(cfg.model)}
    if path.exists():
        model, state = load_language_model(path)
        if state.get("training") == training:
            return model
        log.info("%s was trained with other settings: training it again", path)
    model = train_language_model(data.vocab, {lang: data.train_text[lang] for lang in langs}, cfg, progress=progress)
    save_language_model(model, path, langs=list(langs), training=training)
    return model


def information_report(prepared: str | os.PathLike, mt_run: str | os.PathLike | None, out: str | os.PathLike,
                       lm: LMTrainConfig | None = None, progress: bool = True, joint: bool = True) -> dict:
    """Train (or reuse) the language models in ``out`` and write ``info.json`` and ``info.md``.

    ``joint=False`` skips the joint language model (and the joint-against-separate figures).
    """
    data = MTData.load(prepared)
    pair = (data.src, data.tgt)
    model = None
    if mt_run is not None and not data.has("test"):
        raise UmtError(f"{prepared}: no parallel test set, so there is no L(Y|X) of references to give; "
                       "prepare the pair with --test-src/--test-tgt, or leave out --model")
    if mt_run is not None:  # read before the language models train, so a wrong run fails in seconds
        from umt.translation.train import load_model

        model, state = load_model(mt_run)
        if sorted(state.get("pair", [])) != sorted(pair):
            raise UmtError(f"{mt_run}: the model translates {'-'.join(state.get('pair', [])) or 'an unknown pair'}, "
                           f"but {prepared} holds {data.src}-{data.tgt}")
    out = make_folder(out)
    lm = lm or LMTrainConfig()
    lm.model.vocab_size = len(data.vocab)
    single = {lang: _cached_lm(out / f"lm.{lang}.pt", data, (lang,), lm, progress) for lang in pair}
    size = single[data.src].n_parameters()
    report: dict = {"pair": f"{data.src}-{data.tgt}", "units": "bits per character", "single_lm_parameters": size}
    if joint:
        joint_dim = width_for_parameters(lm.model, 2 * size)
        joint_cfg = replace(lm, steps=lm.steps * len(pair),
                            model=replace(lm.model, dim=joint_dim, ff_dim=4 * joint_dim))
        joint_lm = _cached_lm(out / f"lm.{data.src}+{data.tgt}.pt", data, pair, joint_cfg, progress)
        report["joint_lm_parameters"] = joint_lm.n_parameters()
        held = {lang: code_length(single[lang], data.vocab, data.heldout[lang], lang) for lang in pair}
        held_joint = {lang: code_length(joint_lm, data.vocab, data.heldout[lang], lang) for lang in pair}
        chars = sum(held[lang]["chars"] for lang in pair)
        report["heldout_separate_bpc"] = sum(held[lang]["bits"] for lang in pair) / chars
        report["heldout_joint_bpc"] = sum(held_joint[lang]["bits"] for lang in pair) / chars
        report["joint_saving_bpc"] = report["heldout_separate_bpc"] - report["heldout_joint_bpc"]
    if model is not None:
        from umt.translation.evaluate import conditional_code_length

        for a, b in (pair, pair[::-1]):
            ly = code_length(single[b], data.vocab, data.test[b], b)["bpc"]
            lyx = conditional_code_length(model, data.vocab, data.test[a], data.test[b], a, b)["bpc"]
            mismatched = data.test[a][1:] + data.test[a][:1]  # every target with another sentence's source
            lyx_other = conditional_code_length(model, data.vocab, mismatched, data.test[b], a, b)["bpc"]
            report[f"{a}-{b}"] = {"L(Y)": ly, "L(Y|X)": lyx, "explained": ly - lyx, "L(Y|X')": lyx_other,
                                  "explained_vs_mismatched": lyx_other - lyx}
    report = _rounded(report)
    write_json(out / "info.json", report)
    write_text(out / "info.md", format_report(report, pair))
    return report


def _rounded(d):
    if isinstance(d, dict):
        return {k: _rounded(v) for k, v in d.items()}
    return round(d, 4) if isinstance(d, float) else d


def format_report(r: dict, pair: tuple[str, str]) -> str:
    a, b = pair
    lines = [f"# Information view, {r['pair']} (bits per character, Multi30k)", ""]
    if f"{a}-{b}" in r:
        lines += ["| direction | L(Y) | L(Y|X) | explained L(Y) - L(Y|X) | L(Y|X'), X' another sentence's "
                  "source | explained L(Y|X') - L(Y|X) |", "|---|---|---|---|---|---|"]
        for x, y in (pair, pair[::-1]):
            m = r[f"{x}-{y}"]
            other = m["L(Y|X')"]
            lines.append(f"| {x}->{y} | {m['L(Y)']:.3f} | {m['L(Y|X)']:.3f} | {m['explained']:.3f} | "
                         f"{other:.3f} | {m['explained_vs_mismatched']:.3f} |")
        lines.append("")
    if "heldout_joint_bpc" not in r:
        return "\n".join(lines) + "\n"
    lines += ["| held-out monolingual text | bits per character |", "|---|---|",
              f"| two single-language models ({r['single_lm_parameters']:,} parameters each) | "
              f"{r['heldout_separate_bpc']:.4f} |",
              f"| one joint model ({r['joint_lm_parameters']:,} parameters) | {r['heldout_joint_bpc']:.4f} |",
              f"| saving of the joint model | {r['joint_saving_bpc']:.4f} |"]
    return "\n".join(lines) + "\n"
