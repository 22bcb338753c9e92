"""``umt mt prepare|train|evaluate`` and ``umt translate``: the command line of back-translation."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from umt.errors import UmtError
from umt.ranges import POSITIVE, Range, check_option, device_option, seed_option


def _params(a) -> dict:
    return {k: v for k, v in vars(a).items() if k != "func"}


def _pair(spec: str, corpora: bool = False) -> tuple[str, str]:
    """``SRC-TGT``: a Multi30k pair, or with ``corpora`` (monolingual corpora given) any two languages."""
    from umt.config import check_language
    from umt.corpora.multi30k import check_pair

    src, _, tgt = spec.partition("-")
    if not corpora:
        check_pair(src, tgt)
    elif check_language(src) == check_language(tgt):
        raise UmtError(f"language pair {spec}: source and target must differ")
    return src, tgt


def _corpus_options(a) -> dict:
    """The corpus-pair options of `mt prepare`, checked together by the config they make."""
    from umt.translation.pipeline import MTPipelineConfig

    src, _, tgt = a.pair.partition("-")
    cfg = MTPipelineConfig(src=src, tgt=tgt, src_corpus=a.src_corpus, tgt_corpus=a.tgt_corpus, test_src=a.test_src,
                           test_tgt=a.test_tgt, sentences=a.sentences)
    return {"corpora": cfg.corpora, "test_files": cfg.test_files, "sentences": cfg.sentences}


def _add_corpus_options(p) -> None:
    g = p.add_argument_group("any language pair", "monolingual corpora instead of Multi30k (which covers en, fr, "
                             "de): sentences drawn at random from each, an optional parallel test set to score on")
    g.add_argument("--src-corpus", default=None, help="the source language's monolingual text (plain or .gz)")
    g.add_argument("--tgt-corpus", default=None, help="the target language's monolingual text")
    g.add_argument("--sentences", type=int, default=30000,
                   help="training sentences drawn from each corpus (default %(default)s)")
    g.add_argument("--test-src", default=None, help="a parallel test set's source side (scores only)")
    g.add_argument("--test-tgt", default=None, help="its target side, line by line translations")


def cmd_corpus(a) -> None:
    from umt.config import check_language
    from umt.corpora.multi30k import write_embedding_corpus
    from umt.ranges import NON_NEGATIVE, OPTIONAL_POSITIVE

    check_language(a.lang)
    check_option("--repeat", a.repeat, NON_NEGATIVE)
    check_option("--heldout", a.heldout, NON_NEGATIVE)
    check_option("--mono-lines", a.mono_lines, OPTIONAL_POSITIVE)
    info = write_embedding_corpus(a.lang, a.out, a.data, a.repeat, a.heldout, a.mono_lines)
    print(f"{a.out}: {info['mono_lines']} mono lines + {info['caption_repeat']} x {info['caption_lines']} captions "
          f"of the {a.lang} training half; train vectors with `umt embed train --lang {a.lang} --corpus {a.out}`")


def cmd_prepare(a) -> None:
    from umt.embeddings.io import load_embeddings
    from umt.ranges import NON_NEGATIVE
    from umt.rundir import start_run
    from umt.translation.data import MT_PRESET, prepare_mt

    src, tgt = _pair(a.pair, corpora=a.src_corpus is not None or a.tgt_corpus is not None)
    corpus_pair = _corpus_options(a)
    check_option("--vocab-size", a.vocab_size, POSITIVE)
    check_option("--heldout", a.heldout, NON_NEGATIVE)
    check_option("--frequency-prior", a.frequency_prior, Range(low=0.0))
    if a.preset is not None and a.mapping is not None:
        raise UmtError("--preset chooses how to align when no --mapping is given; give one or the other")
    start_run(a.out, {**_params(a), "command": "mt prepare"})
    src_emb = load_embeddings(a.src_emb, max_vocab=a.max_vocab)
    tgt_emb = load_embeddings(a.tgt_emb, max_vocab=a.max_vocab)
    info = prepare_mt(src, tgt, a.out, src_emb, tgt_emb, a.mapping, a.data, a.vocab_size, a.heldout,
                      control_target=a.control_target, preset_name=a.preset or MT_PRESET, progress=not a.quiet,
                      identical_top=a.identical_top, frequency_prior=a.frequency_prior, **corpus_pair)
    print(f"{a.out}: prepared {info['pair']} (lexicon coverage {info['lexicon']})")


def _train_config(a):
    from umt.translation.model import ModelConfig
    from umt.translation.train import MTTrainConfig

    model = ModelConfig(dim=a.dim, heads=a.heads, enc_layers=a.layers, dec_layers=a.layers, ff_dim=4 * a.dim,
                        dropout=a.dropout)
    return MTTrainConfig(steps=a.steps, batch_size=a.batch_size, lr=a.lr, wbw_steps=a.wbw_steps,
                         ae_decay_steps=a.ae_decay_steps, ae_weight_end=a.ae_weight_end, eval_every=a.eval_every,
                         checkpoint_every=a.checkpoint_every, eval_val=a.eval_val, seed=a.seed, device=a.device,
                         amp=not a.float32, patience=a.patience, selection_tolerance=a.selection_tolerance,
                         lr_half_life=a.lr_half_life, lr_decay_start=a.lr_decay_start,
                         init_embeddings=not a.random_embeddings, pretrain_steps=a.pretrain_steps, model=model,
                         pretrain_snapshots=a.pretrain_snapshots, display_every=a.display_every,
                         average_decay=MTTrainConfig.average_decay if a.average_decay is None else a.average_decay)


def cmd_train(a) -> None:
    from umt.rundir import start_run
    from umt.translation.data import MTData
    from umt.translation.train import UNTRAINED_SETTINGS, MTTrainConfig, Trainer

    cfg = _train_config(a)  # a bad setting is reported before any data is read
    if a.resume and a.pretrained:
        raise UmtError("--resume continues a run from its own checkpoint; --pretrained starts a new one: give one")
    if a.resume:
        from dataclasses import asdict

        from umt.fileio import read_json
        from umt.ranges import setting_differences

        saved = Path(a.out) / "config.json"
        if saved.exists():  # a resumed run keeps the settings it started with, except its length
            stored = read_json(saved, "saved training settings")
            free = {("steps",), ("patience",), ("device",), ("amp",), ("model", "vocab_size"), ("model", "n_langs"),
                    *((k,) for k in UNTRAINED_SETTINGS)}
            diff = setting_differences(stored, json.loads(json.dumps(asdict(cfg))), free=free)
            if diff:
                raise UmtError(f"{a.out}: --resume continues the settings the run started with, and the command "
                               f"gives others ({'; '.join(diff[:3])}): drop them, or train into another --out")
            # a setting newer than the run's record takes the command's value, as `umt mt run` does
            cfg = MTTrainConfig.from_dict({**asdict(cfg), **stored, "steps": a.steps, "patience": a.patience,
                                           "amp": cfg.amp, "pretrain_snapshots": a.pretrain_snapshots,
                                           "display_every": a.display_every, "eval_val": a.eval_val})
            if a.average_decay is not None:
                cfg.average_decay = a.average_decay
    # sentences cut at the run's own max_len, as `umt mt run` cuts them: both commands train the same model
    data = MTData.load(a.prepared, cfg.max_len)
    start_run(a.out, {**_params(a), "command": "mt train"})
    trainer = Trainer(data, cfg, a.out, resume=a.resume, pretrained=a.pretrained)
    history = trainer.fit(progress=not a.quiet)
    last = history[-1]
    print(f"{a.out}: step {last['step']}, round-trip BLEU {last.get('roundtrip')}, "
          + ", ".join(f"{k} {v}" for k, v in last.items() if k.startswith("test_") and not k.endswith("tok_lc")))


def _add_lexicon_options(p) -> None:
    from umt.translation.data import FREQUENCY_PRIOR, IDENTICAL_TOP

    p.add_argument("--vocab-size", type=int, default=8000, help="sentencepiece vocabulary (default %(default)s)")
    p.add_argument("--identical-top", type=int, default=IDENTICAL_TOP,
                   help="a word spelled like a target-text word keeps its spelling when that word is among its N "
                        "CSLS-best translations (names, loanwords); 0: the best translation always (default "
                        "%(default)s)")
    p.add_argument("--frequency-prior", type=float, default=FREQUENCY_PRIOR, metavar="LAMBDA",
                   help="choose each word's translation among its 10 CSLS-best by CSLS - LAMBDA * |log rank gap|, "
                        "ranks by frequency in the monolingual text (mends function words); 0: none (default "
                        "%(default)s)")


def _add_train_options(p) -> None:
    p.add_argument("--steps", type=int, default=8400, help="optimiser steps in all (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=32,
                   help="sentences per task; 4 tasks per step (default %(default)s)")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam's peak learning rate (default %(default)s)")
    p.add_argument("--wbw-steps", type=int, default=300,
                   help="translation steps whose back-translations are word by word (default %(default)s)")
    p.add_argument("--ae-decay-steps", type=int, default=2000,
                   help="auto-encoding weight 1 -> --ae-weight-end over N translation steps (default %(default)s)")
    p.add_argument("--ae-weight-end", type=float, default=0.1,
                   help="auto-encoding (denoising) weight after the decay; 1: no decay (default %(default)s)")
    p.add_argument("--average-decay", type=float, default=None, metavar="D",
                   help="also evaluate an exponential moving average of the weights over translation steps "
                        "(decay D, e.g. 0.999: about the last 1/(1-D) steps); round-trip BLEU selects the live "
                        "or the averaged model. It changes no training step, so --resume may turn it on "
                        "(default: off, or what the resumed run used)")
    p.add_argument("--dim", type=int, default=256, help="model width (default %(default)s)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default %(default)s)")
    p.add_argument("--layers", type=int, default=3, help="encoder and decoder layers each (default %(default)s)")
    p.add_argument("--dropout", type=float, default=0.1, help="(default %(default)s)")
    p.add_argument("--random-embeddings", action="store_true",
                   help="start token embeddings at random instead of from the cross-lingual subword vectors")
    p.add_argument("--pretrain-steps", type=int, default=5000,
                   help="cross-lingual masked-LM steps before translation training (XLM); they count in --steps; "
                        "0: none (default %(default)s)")
    p.add_argument("--pretrain-snapshots", type=int, default=0, metavar="N",
                   help="also keep pretrained-STEP.pt every N masked-LM steps, so that other runs can start from a "
                        "shorter pretraining (--pretrained) without pretraining again; 0: none (default %(default)s)")
    p.add_argument("--eval-every", type=int, default=200,
                   help="steps between evaluations: round-trip BLEU selects the model (default %(default)s)")
    p.add_argument("--lr-half-life", type=int, default=0, metavar="STEPS",
                   help="halve translation's learning rate every STEPS steps after --lr-decay-start; 0: constant "
                        "after warm-up (default %(default)s)")
    p.add_argument("--lr-decay-start", type=int, default=0, metavar="STEP",
                   help="the translation step where --lr-half-life begins (default %(default)s)")
    p.add_argument("--patience", type=int, default=0, metavar="N",
                   help="stop translation training once N evaluations in a row select no new model (no new best "
                        "round-trip BLEU, or none within --selection-tolerance of it), --steps being the most it "
                        "trains; like --steps, a resumed run may change it; 0: train all --steps (default "
                        "%(default)s)")
    p.add_argument("--selection-tolerance", type=float, default=0.0, metavar="BLEU",
                   help="best.pt keeps the last evaluated model whose round-trip BLEU is within BLEU points of the "
                        "best, the most trained one the round trip cannot tell from it; 0: the best itself "
                        "(default %(default)s)")
    p.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints (default %(default)s)")
    p.add_argument("--display-every", type=int, default=5, metavar="N",
                   help="test BLEU (and validation BLEU with --eval-val), for display only, at every Nth evaluation "
                        "and at the last step; 1: at each (default %(default)s)")
    p.add_argument("--eval-val", action="store_true", help="also display validation BLEU during training")
    p.add_argument("--seed", type=seed_option, default=0,
                   help="every random draw of a step derives from it and the step")
    p.add_argument("--device", type=device_option, default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--float32", action="store_true",
                   help="train in float32 throughout; by default training autocasts to bfloat16 where the device "
                        "computes it natively (CUDA, CPUs with AVX512-BF16 or AMX)")


def cmd_run(a) -> None:
    from dataclasses import replace

    from umt.rundir import start_run
    from umt.translation.pipeline import MT_EMBED, MTPipelineConfig, refuse_other_settings, run_mt_pipeline

    src, tgt = _pair(a.pair, corpora=a.src_corpus is not None or a.tgt_corpus is not None)
    check_option("--beam", a.beam, POSITIVE)
    cfg = MTPipelineConfig(src=src, tgt=tgt, data=a.data, mono_lines=a.mono_lines, preset=a.preset,
                           identical_top=a.identical_top, frequency_prior=a.frequency_prior, heldout=a.heldout,
                           vocab_size=a.vocab_size, beam=a.beam, train=_train_config(a),
                           embed=replace(MT_EMBED, dim=a.embed_dim, epoch=a.embed_epoch),
                           src_corpus=a.src_corpus, tgt_corpus=a.tgt_corpus, sentences=a.sentences,
                           test_src=a.test_src, test_tgt=a.test_tgt)
    out = Path(a.out or f"runs/mt/{src}-{tgt}")
    refuse_other_settings(out, cfg)  # before the run directory is touched
    start_run(out, {**_params(a), "command": "mt run"})
    summary = run_mt_pipeline(cfg, out, progress=not a.quiet)
    for key, d in summary["directions"].items() if summary.get("beam") else []:
        print(f"{key.replace('-', '->')}: BLEU greedy {d['bleu_greedy']:.2f} (tok/lc {d['bleu_tok_lc_greedy']:.2f}), "
              f"beam {summary['beam']} {d['bleu_beam']:.2f} ({d['bleu_tok_lc_beam']:.2f}); "
              f"word by word {d['word_by_word']:.2f} ({d['word_by_word_tok_lc']:.2f})")
    print(f"report: {out}/report.md")


def cmd_evaluate(a) -> None:
    from umt.translation.data import MTData
    from umt.translation.pipeline import evaluate_run
    from umt.translation.train import run_folder

    check_option("--beam", a.beam, POSITIVE)
    data = MTData.load(a.prepared)
    ensemble = f"-ensemble{len(a.model)}" if len(a.model) > 1 else ""
    out = Path(a.out or run_folder(a.model[0]) / f"eval-{a.split}-beam{a.beam}{ensemble}")
    metrics = evaluate_run(a.model, data, a.split, a.beam, out, a.which)
    for s, t in ((data.src, data.tgt), (data.tgt, data.src)):
        m, w = metrics[f"{s}-{t}"]["model"], metrics[f"{s}-{t}"]["word_by_word"]
        (m_lo, m_hi), (w_lo, w_hi) = m["bleu_ci95"], w["bleu_ci95"]
        print(f"{s}->{t}: BLEU {m['bleu']:.2f} (95% CI {m_lo:.1f}-{m_hi:.1f}; Moses tok/lc {m['bleu_tok_lc']:.2f}), "
              f"word-by-word {w['bleu']:.2f} ({w_lo:.1f}-{w_hi:.1f}); they differ with p = "
              f"{metrics[f'{s}-{t}']['model_vs_word_by_word_p']:.2g}")
    print(f"sacrebleu signature: {metrics[f'{data.src}-{data.tgt}']['model']['signature']}")
    print(f"results in {out}/metrics.json")


def cmd_relex(a) -> None:
    from umt.ranges import OPTIONAL_POSITIVE
    from umt.rundir import start_run
    from umt.translation.relex import relex_run

    check_option("--sentences", a.sentences, OPTIONAL_POSITIVE)
    check_option("--min-count", a.min_count, POSITIVE)
    check_option("--beam", a.beam, POSITIVE)
    start_run(a.out, {**_params(a), "command": "mt relex"})
    report = relex_run(a.model, a.prepared, a.out, a.sentences, a.min_count, a.beam, a.prepared_copy)
    for key, d in report["directions"].items():
        shown = (f"; test word by word {d['test_first']:.2f} -> {d['test_reinduced']:.2f}"
                 if "test_first" in d else "")
        print(f"{key.replace('-', '->')}: {d['changed']} of {d['reinduced']} re-induced entries changed{shown}")
    print(f"{a.out}: lexicon.*.tsv, relex.json" + (f"; prepared copy {a.prepared_copy}" if a.prepared_copy else ""))


def cmd_compare(a) -> None:
    from umt.fileio import read_lines, write_json
    from umt.translation.evaluate import paired_bleu

    if a.samples < 1:
        raise UmtError(f"--samples {a.samples}: expected a value >= 1")
    texts = {path: list(read_lines(path)) for path in (a.refs, a.baseline, a.system)}
    for path in (a.baseline, a.system):
        if len(texts[path]) != len(texts[a.refs]):
            raise UmtError(f"{path}: {len(texts[path])} lines, but the references {a.refs} have "
                           f"{len(texts[a.refs])}: outputs must be line-aligned with them")
    result = paired_bleu(texts[a.baseline], texts[a.system], texts[a.refs], a.samples)
    print(f"BLEU {result['bleu_baseline']:.2f} ({a.baseline}) vs {result['bleu_system']:.2f} ({a.system}): "
          f"p = {result['p_value']:.2g} ({result['test']}, {a.samples} trials)")
    if a.out:
        write_json(a.out, {"baseline": str(a.baseline), "system": str(a.system), "refs": str(a.refs),
                           "samples": a.samples, **result})


def cmd_translate(a) -> None:
    from umt.config import check_language

    check_language(a.src), check_language(a.tgt)
    check_option("--beam", a.beam, POSITIVE)
    if (a.model is None) == (a.lexicon is None):
        raise UmtError("give exactly one of --model RUN (neural) or --lexicon TSV (word by word)")
    if a.lexicon:
        from umt.translation.wordbyword import WordByWord

        named = re.search(r"(?:^|[^a-z])([a-z]{2,3})-([a-z]{2,3})(?:[^a-z]|$)", Path(a.lexicon).name)
        if named and named.groups() != (a.src, a.tgt):  # lexicon.fr-en.tsv used for en -> fr
            raise UmtError(f"{a.lexicon}: a {named[1]}->{named[2]} lexicon, by its name, not {a.src}->{a.tgt}")
        wbw = WordByWord.load(a.lexicon)

        def run(lines):
            return wbw.translate(lines)
    else:
        from umt.translation.evaluate import translate_lines
        from umt.translation.train import load_models, run_folder
        from umt.translation.vocab import Vocab

        model, state = load_models(a.model)
        pair = state.get("pair", [])
        if a.src not in pair or a.tgt not in pair:
            raise UmtError(f"{a.model[0]}: model translates {'-'.join(pair)}, not {a.src}-{a.tgt}")
        vocab = Vocab(run_folder(a.model[0]) / "spm.model")

        def run(lines):
            return translate_lines(model, vocab, lines, a.src, a.tgt, a.beam)

    if a.input:
        from umt.fileio import read_lines

        lines = list(read_lines(a.input))
    elif sys.stdin.isatty():
        print(f"umt translate {a.src}->{a.tgt}: type a sentence, Ctrl-D to quit", file=sys.stderr)
        while True:
            try:
                line = input("> ")
            except EOFError:
                return
            print(run([line])[0] if line.strip() else "")
    else:
        lines = _stdin_lines()
    outs = run(lines) if lines else []
    sys.stdout.write("".join(o + "\n" for o in outs))


def _stdin_lines() -> list[str]:
    """Standard input's lines, each decoded as UTF-8 on its own so a bad one is named."""
    source = getattr(sys.stdin, "buffer", None)
    if source is None:  # a text stream without bytes beneath (a notebook's, a test's): already decoded
        return [line.rstrip("\n") for line in sys.stdin]
    from umt.fileio import decode_line

    return [decode_line(raw, "<stdin>", lineno).rstrip("\n").removesuffix("\r") for lineno, raw in enumerate(source, 1)]


def add_commands(sub, epilog: str) -> None:
    from umt.alignment.presets import DEFAULT_PRESET, PRESETS
    from umt.translation.data import MT_PRESET

    mt = sub.add_parser("mt", help="unsupervised neural MT: prepare Multi30k, train, evaluate")
    msub = mt.add_subparsers(dest="mt_command", metavar="ACTION")
    fmt = argparse.RawDescriptionHelpFormatter

    p = msub.add_parser("corpus", help="text for the lexicon's word vectors: mono corpus + caption half",
                        description="Write the shared monolingual corpus of LANG followed by --repeat copies of "
                        "its Multi30k training half (only the half LANG may train on), gzipped: the corpus for "
                        "`umt embed train` whose vectors `umt mt prepare` aligns.")
    p.add_argument("--lang", required=True, help="en, fr or de")
    p.add_argument("--out", required=True, help="output file (.txt.gz)")
    p.add_argument("--repeat", type=int, default=5, help="copies of the caption half (default %(default)s)")
    p.add_argument("--heldout", type=int, default=500, help="held-out captions left out (as in prepare)")
    p.add_argument("--mono-lines", type=int, default=None, help="read only the first N lines of the mono corpus")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.set_defaults(func=cmd_corpus)

    p = msub.add_parser("prepare", help="split Multi30k, train subwords, induce word-by-word lexicons",
                        description="Split Multi30k train into disjoint monolingual halves (en from lines 0-14499, "
                        "fr/de from 14500-28999), train a joint sentencepiece model on them, and induce word-by-word "
                        "lexicons from cross-lingual embeddings (aligned without supervision unless --mapping is "
                        "given).", epilog=epilog, formatter_class=fmt)
    p.add_argument("--pair", default="en-fr", help="en-fr, fr-en, en-de or de-en on Multi30k; any SRC-TGT with "
                   "--src-corpus/--tgt-corpus (default %(default)s)")
    p.add_argument("--src-emb", required=True, help="source word vectors (trained with the caption half)")
    p.add_argument("--tgt-emb", required=True, help="target word vectors")
    p.add_argument("--max-vocab", type=int, default=200000)
    p.add_argument("--mapping", default=None, help="an `umt align` run directory (default: align now)")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help=f"unsupervised recipe when no --mapping is given (default {MT_PRESET}, which the README's "
                        f"MT results used; {DEFAULT_PRESET} is `umt align`'s default)")
    _add_lexicon_options(p)
    p.add_argument("--heldout", type=int, default=500, help="held-out mono sentences per language for selection")
    p.add_argument("--control-target", action="store_true",
                   help="structureless control: deal the target half's tokens at random into captions "
                        "(unigrams and lengths kept, co-occurrence destroyed); test sets stay real")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.add_argument("--out", required=True, help="output folder")
    _add_corpus_options(p)
    p.set_defaults(func=cmd_prepare)

    p = msub.add_parser("train", help="denoising + iterative back-translation from monolingual text only",
                        description="Train one shared Transformer for both directions with denoising auto-encoding "
                        "and on-the-fly back-translation, seeded by word-by-word translations. Model selection by "
                        "round-trip BLEU on held-out monolingual text; test BLEU is only displayed. Writes "
                        "checkpoint.pt (every --checkpoint-every steps), best.pt, history.json, bleu.png. "
                        "Launch with torchrun for several GPUs.", formatter_class=fmt)
    p.add_argument("--prepared", required=True, help="folder written by `umt mt prepare`")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--pretrained", default=None,
                   help="start from the pretrained.pt another run wrote at the end of its masked-LM pretraining, "
                        "or one of its pretrained-STEP.pt snapshots with --pretrain-steps STEP (same pretraining "
                        "settings, subwords and training text; e.g. a `mt relex --prepared-copy`)")
    _add_train_options(p)
    p.set_defaults(func=cmd_train)

    p = msub.add_parser("run", help="the whole pipeline for one pair: vectors, lexicon, training, BLEU",
                        description="Unsupervised MT on one Multi30k pair in one run directory: the vectors' corpus "
                        "(mono corpus + the language's caption half), 300-d fastText vectors, the unsupervised "
                        "lexicon and subwords (mt prepare), denoising + back-translation (mt train), then test BLEU "
                        "greedy and with --beam (mt evaluate), results.json and report.md. Each stage is skipped "
                        "when its output exists with the same settings: run the same command again to continue "
                        "after a kill, or with a larger --steps to train longer.", formatter_class=fmt)
    p.add_argument("--pair", default="en-fr", help="en-fr, fr-en, en-de or de-en on Multi30k; any SRC-TGT with "
                   "--src-corpus/--tgt-corpus (default %(default)s)")
    p.add_argument("--out", default=None, help="run directory (default runs/mt/PAIR)")
    p.add_argument("--preset", default=MT_PRESET, choices=sorted(PRESETS),
                   help="the lexicon's unsupervised alignment (default %(default)s)")
    _add_lexicon_options(p)
    p.add_argument("--embed-dim", type=int, default=300, help="word vectors' dimension (default %(default)s)")
    p.add_argument("--embed-epoch", type=int, default=5, help="fastText epochs (default %(default)s)")
    p.add_argument("--mono-lines", type=int, default=None,
                   help="read only the first N lines of each mono corpus (quick checks)")
    p.add_argument("--beam", type=int, default=4, help="beam of the final evaluation, besides greedy")
    p.add_argument("--heldout", type=int, default=500, help="held-out mono sentences per language for selection")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    _add_corpus_options(p)
    _add_train_options(p)
    p.set_defaults(func=cmd_run)

    p = msub.add_parser("evaluate", help="BLEU (sacrebleu) of a trained model and of word-by-word")
    p.add_argument("--model", required=True, action="append",
                   help="run directory of `umt mt train`; repeated, runs of one prepared pair decode as an ensemble "
                   "(the mean of their next-piece probabilities)")
    p.add_argument("--prepared", required=True, help="folder written by `umt mt prepare`")
    p.add_argument("--split", choices=("test", "val"), default="test",
                   help="parallel set to score (display only: nothing is selected on it; default %(default)s)")
    p.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
    p.add_argument("--which", choices=("best", "checkpoint"), default="best",
                   help="best.pt (chosen by round-trip BLEU) or the last checkpoint.pt (default %(default)s)")
    p.add_argument("--out", default=None, help="default: MODEL/eval-SPLIT-beamN (-ensembleM for several models)")
    p.set_defaults(func=cmd_evaluate)

    p = msub.add_parser("relex", help="re-induce the word-by-word lexicons from a trained model's translations",
                        description="Translate the monolingual training text with a trained model and learn "
                        "IBM Model 1 on (sentence, translation) pairs: each source word seen --min-count times "
                        "gets the target word it is most often translated by; other words keep the first "
                        "lexicon's entry. No bilingual data is read; word-by-word BLEU on the parallel sets is "
                        "reported for display. --prepared-copy writes a copy of the prepared pair with the new "
                        "lexicons, for `umt mt train`.")
    p.add_argument("--model", required=True, help="run directory of `umt mt train`")
    p.add_argument("--prepared", required=True, help="folder written by `umt mt prepare`")
    p.add_argument("--out", required=True, help="output folder (lexicon.SRC-TGT.tsv, relex.json)")
    p.add_argument("--sentences", type=int, default=None, help="translate the first N training sentences of each "
                   "language (default: all)")
    p.add_argument("--min-count", type=int, default=2, help="occurrences a word needs to be re-induced "
                   "(default %(default)s)")
    p.add_argument("--beam", type=int, default=1, help="beam of the model's translations (default greedy)")
    p.add_argument("--prepared-copy", default=None, help="also write a copy of --prepared with the new lexicons")
    p.set_defaults(func=cmd_relex)

    p = msub.add_parser("compare", help="paired significance test of two systems' BLEU on the same sentences",
                        description="Whether two translations of the same test set differ in BLEU: the paired "
                        "approximate randomization test on sacrebleu's n-gram counts. Each trial swaps the two "
                        "outputs of every sentence at random; p is the share of trials whose BLEU difference is at "
                        "least the observed one (ties count, unlike in sacrebleu's PairedTest). Each file holds one "
                        "detokenized output per line, aligned with --refs; `umt mt evaluate` writes "
                        "SPLIT.SRC-TGT.hyp.txt (the model) and SPLIT.SRC-TGT.word_by_word.txt.", formatter_class=fmt)
    p.add_argument("baseline", help="the first system's outputs")
    p.add_argument("system", help="the second system's outputs")
    p.add_argument("--refs", required=True, help="reference translations, one per line")
    p.add_argument("--samples", type=int, default=10000, help="randomization trials (default %(default)s)")
    p.add_argument("--out", default=None, help="also write the result to this JSON file")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("translate", help="translate stdin or a file, one sentence per line",
                       description="Translate with a trained model (--model) or word by word (--lexicon). Reads "
                       "--input or stdin; on a terminal it is interactive.")
    p.add_argument("--model", default=None, action="append",
                   help="run directory of `umt mt train`; repeated, runs of one prepared pair decode as an ensemble")
    p.add_argument("--lexicon", default=None, help="word-by-word table (lexicon.SRC-TGT.tsv of `umt mt prepare`)")
    p.add_argument("--src", required=True)
    p.add_argument("--tgt", required=True)
    p.add_argument("--input", default=None, help="text file (default: stdin)")
    p.add_argument("--beam", type=int, default=1)
    p.set_defaults(func=cmd_translate)
