"""The ``umt`` command line: a thin layer over the library API.

Every sub-command validates its input, calls one library function and writes its results into a
run directory. Problems with the input end in a one-line ``umt: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from umt import __version__
from umt.errors import UmtError
from umt.ranges import POSITIVE, ConfigError, check_option, device_option, seed_option
from umt.rundir import discard_empty_runs, keep_runs, start_run

log = logging.getLogger("umt")

EPILOG = """\
data: shared corpora and dictionaries are found through --data or the UMT_DATA variable.
A dictionary argument may be a file or a short name such as en-fr.5000-6500, looked up as
$UMT_DATA/dictionaries/en-fr.5000-6500.txt.
"""


def _resolve_dict(spec: str | None, data: str | None) -> str | None:
    """A dictionary file path, or a short name like ``en-fr.0-5000`` looked up under the data root."""
    if spec is None or spec == "identical" or Path(spec).exists():
        return spec
    if re.fullmatch(r"[a-z]{2}-[a-z]{2}(\.[0-9]+-[0-9]+)?", spec):
        from umt.config import data_file

        return str(data_file(f"dictionaries/{spec}.txt", data))
    return spec  # let the loader report the missing file


def _add_pair_args(p: argparse.ArgumentParser, max_vocab: int = 200000) -> None:
    p.add_argument("--src-emb", required=True, help="source vectors: .vec/.txt[.gz], fastText .bin or a umt folder")
    p.add_argument("--tgt-emb", required=True, help="target vectors, same formats")
    p.add_argument("--max-vocab", type=int, default=max_vocab,
                   help="keep the N most frequent words (default %(default)s)")
    p.add_argument("--normalize", default=None,
                   help="normalisation chain applied to both spaces, e.g. unit,center,unit (default; "
                        "for evaluate: the chain saved with the mapping)")
    p.add_argument("--device", type=device_option, default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")


def cmd_data_fetch(a) -> None:
    from umt.config import DATA_ENV
    from umt.corpora.fetch import fetch_pair

    root = a.data or os.environ.get(DATA_ENV)  # not config.data_root: the folder to fill need not exist yet
    if not root:
        raise UmtError(f"no data root to fill: set {DATA_ENV} or pass --data")
    fetched = fetch_pair(a.pair, root, a.vectors, a.mirror, progress=not a.quiet)
    for relative, sha256 in fetched.items():
        print(f"{Path(root) / relative}  sha256 {sha256}")
    print(f"{len(fetched)} files fetched into {root} (record: {Path(root) / 'fetched.json'})")


def cmd_corpus_control(a) -> None:
    from umt.config import check_language, mono_corpus
    from umt.corpora.control import write_control_corpus

    check_language(a.lang)
    if a.max_lines is not None:
        check_option("--max-lines", a.max_lines, POSITIVE)
    corpus = a.corpus or mono_corpus(a.lang, a.data)
    info = write_control_corpus(corpus, a.out, a.max_lines, a.seed, progress=not a.quiet)
    print(f"{a.out}: {info['lines']} lines, {info['tokens']} tokens dealt at random from {corpus}")


def cmd_info(a) -> None:
    from umt.information.lm import LMTrainConfig
    from umt.information.report import information_report
    from umt.translation.model import ModelConfig

    model = ModelConfig(dim=a.lm_dim, heads=4, enc_layers=a.lm_layers, dec_layers=0, ff_dim=4 * a.lm_dim)
    cfg = LMTrainConfig(steps=a.lm_steps, batch_size=a.lm_batch_size, seed=a.seed, model=model)
    start_run(a.out, {**_params(a), "command": "info"})
    information_report(a.prepared, a.model, a.out, cfg, progress=not a.quiet)
    print((Path(a.out) / "info.md").read_text(encoding="utf-8"))


def cmd_embed_train(a) -> None:
    from umt.config import mono_corpus
    from umt.embeddings.train import EmbedTrainConfig, train_embeddings

    corpus = a.corpus or mono_corpus(a.lang, a.data)
    cfg = EmbedTrainConfig(dim=a.dim, epoch=a.epoch, min_count=a.min_count, window=a.window, minn=a.minn,
                           maxn=a.maxn, threads=a.threads, max_lines=a.max_lines, max_vocab=a.max_vocab)
    start_run(a.out, {"command": "embed train", "lang": a.lang, "corpus": str(corpus), **vars(cfg)})
    emb = train_embeddings(corpus, a.out, cfg, progress=not a.quiet)
    print(f"{a.out}: {len(emb)} words x {emb.dim} dims")


def cmd_embed_convert(a) -> None:
    from umt.embeddings import load_embeddings, normalize, save_embeddings, save_vec

    suffix = Path(a.out).suffix.lower()
    if suffix in (".bin", ".gz", ".npy", ".txt"):  # checked before loading: a folder named out.bin misleads
        raise UmtError(f"--out {a.out}: umt writes vectors as a folder (its own format) or a .vec text file, "
                       f"not as {suffix}")
    emb = load_embeddings(a.input, a.max_vocab)
    if a.normalize:
        emb = emb.with_vectors(normalize(emb.vectors, a.normalize))
    if a.out.endswith(".vec"):
        save_vec(emb, a.out)
    else:
        save_embeddings(emb, a.out, meta={"converted_from": str(a.input), "normalize": a.normalize})
    print(f"{a.out}: {len(emb)} words x {emb.dim} dims")


def cmd_embed_info(a) -> None:
    import numpy as np

    from umt.embeddings import load_embeddings

    emb = load_embeddings(a.input, a.max_vocab)
    norms = np.linalg.norm(emb.vectors, axis=1)
    print(f"{emb.source}: {len(emb)} words x {emb.dim} dims; norms mean {norms.mean():.3f} "
          f"min {norms.min():.3f} max {norms.max():.3f}; first words: {' '.join(emb.words[:10])}")


def _params(a) -> dict:
    return {k: v for k, v in vars(a).items() if k != "func"}


def _load_pair(a):
    from umt.embeddings import load_embeddings

    return load_embeddings(a.src_emb, a.max_vocab), load_embeddings(a.tgt_emb, a.max_vocab)


def cmd_align(a) -> None:
    from umt.alignment import align, write_alignment
    from umt.alignment.align import AlignConfig
    from umt.alignment.checkpoints import clear_candidates
    from umt.alignment.options import check_option, stage_options
    from umt.alignment.presets import resolve
    from umt.alignment.spaces import check_alignable
    from umt.evaluation.api import dictionary_scorer
    from umt.ranges import range_of

    given = {"dict": _resolve_dict(a.dict, a.data), "seed": a.seed, "device": a.device, "check": a.check}
    if a.normalize:
        given["normalize"] = a.normalize
    if a.candidates:
        given["candidates"] = a.candidates
    if a.average or a.average_when is not None:
        given["average"] = True
    if a.average_when is not None:
        given["average_when"] = a.average_when
    if a.reweight is not None:
        given["reweight"] = None if a.reweight == "none" else _power(a.reweight)
    if a.reweight_seed:
        given["reweight_seed"] = True
    for name in ("reweight_rounds", "reweight_words"):
        value = getattr(a, name)
        if value is not None:
            check_option(f"--{name.replace('_', '-')}", value, range_of(AlignConfig, name))
            given[name] = value
    cfg = resolve(a.preset, a.method, stage_options(a), **given)
    eval_dict = _resolve_dict(a.eval_dict, a.data)
    if eval_dict:
        from umt.embeddings.dictionaries import index_dictionary, read_dictionary

        # Checked now, so that a bad file (its format, then its coverage of the vectors) fails before
        # the alignment and not after it; the pairs are dropped here, and align() never sees them.
        test_pairs = read_dictionary(eval_dict)
    src, tgt = _load_pair(a)
    check_alignable(src, tgt)  # before the run directory is touched
    if eval_dict:
        index_dictionary(test_pairs, src, tgt, eval_dict)
        del test_pairs
    start_run(a.out, {**_params(a), "command": "align"})
    checkpoints = Path(a.out) / "checkpoints"
    if not a.resume:
        clear_candidates(checkpoints)
    result = align(src, tgt, cfg, progress=not a.quiet, checkpoints=checkpoints)
    scorer = dictionary_scorer(src, tgt, eval_dict) if eval_dict else None
    metrics = write_alignment(result, src, tgt, a.out, scorer, a.export_vec)
    _print_metrics(a.out, metrics)


def _power(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise UmtError(f"--reweight {text!r}: expected a power between 0 and 1, or none")
    return value


def cmd_evaluate(a) -> None:
    from umt.alignment import DEFAULT_NORMALIZE, load_mapping
    from umt.alignment.spaces import SavedMapping
    from umt.evaluation.api import PER_QUERY_FILE, evaluate_mapping
    from umt.fileio import write_json

    src, tgt = _load_pair(a)
    start_run(a.out, {**_params(a), "command": "evaluate"})
    saved = load_mapping(a.mapping, src.dim, src, tgt) if a.mapping else SavedMapping(None, None)
    chain = a.normalize or saved.normalize or DEFAULT_NORMALIZE
    metrics = evaluate_mapping(src, tgt, _resolve_dict(a.dict, a.data), saved.source, chain, a.device,
                               target_mapping=saved.target, per_query_tsv=Path(a.out) / PER_QUERY_FILE)
    metrics.update(normalize=chain, mapping=a.mapping)
    write_json(Path(a.out) / "metrics.json", metrics)
    _print_metrics(a.out, metrics)


def cmd_compare(a) -> None:
    from umt.evaluation import compare_query_files
    from umt.fileio import write_json

    check_option("--k", a.k, POSITIVE)
    if a.k > 10:
        raise UmtError(f"--k {a.k}: expected a value <= 10 (evaluation.tsv keeps the 10 best predictions)")
    diff, unshared = compare_query_files(a.a, a.b, a.k)
    verdict = ("a significant difference at the 5% level" if diff.p_value < 0.05
               else "no significant difference at the 5% level")
    print(f"P@{a.k} on {diff.n} shared test words: A {diff.precision_a:.2f}, B {diff.precision_b:.2f}; "
          f"{diff.only_a} right only under A, {diff.only_b} only under B; McNemar's exact test "
          f"p = {diff.p_value:.3g}: {verdict}")
    if unshared:
        print(f"note: {unshared} test words are covered by one evaluation only (other vocabularies) and were left out")
    if a.out:
        write_json(a.out, {"a": a.a, "b": a.b, "k": a.k, "unshared_words": unshared, **diff.as_dict()})


def cmd_induce(a) -> None:
    from umt.alignment import DEFAULT_NORMALIZE, load_mapping, prepare
    from umt.retrieval.lexicon import induce_lexicon, write_lexicon_tsv

    check_option("--max-rank", a.max_rank, POSITIVE)
    src, tgt = _load_pair(a)
    saved = load_mapping(a.mapping, src.dim, src, tgt)
    xm, ym = saved.apply(*prepare(src, tgt, a.normalize or saved.normalize or DEFAULT_NORMALIZE))
    lex = induce_lexicon(xm, ym, a.score, a.build, a.max_rank)
    write_lexicon_tsv(lex, src, tgt, a.out)
    print(f"{a.out}: {len(lex)} pairs ({a.build}, {a.score}, max rank {a.max_rank})")


def cmd_run(a) -> None:
    from dataclasses import replace

    from umt.config import check_language
    from umt.pipeline import FULL_EMBED, QUICK_EMBED, PipelineConfig, run_pipeline

    src, _, tgt = a.pair.partition("-")
    if not src or not tgt or src == tgt:
        raise UmtError(f"--pair {a.pair}: expected two different language codes, e.g. en-fr")
    check_language(src), check_language(tgt)
    embed = FULL_EMBED if a.full else QUICK_EMBED
    embed = replace(embed, dim=embed.dim if a.dim is None else a.dim, epoch=embed.epoch if a.epoch is None else a.epoch)
    cfg = PipelineConfig(src=src, tgt=tgt, full=a.full, lines=a.lines, data=a.data, cache=a.cache, embed=embed,
                         refine_iterations=a.refine, preset=a.preset, src_corpus=a.src_corpus,
                         tgt_corpus=a.tgt_corpus, test_dict=a.test_dict, train_dict=a.train_dict)
    out = a.out or f"runs/{a.pair}{'-full' if a.full else ''}"
    start_run(out, {**_params(a), "command": "run"})
    run_pipeline(cfg, out, progress=not a.quiet)
    print((Path(out) / "report.md").read_text(encoding="utf-8"))


def _print_metrics(out, m: dict) -> None:
    if "csls_p1" in m:
        ci = m.get("csls_p1_ci95")
        ci = f" (95% CI {ci[0]:.1f}-{ci[1]:.1f})" if ci else ""
        print(f"P@1 NN {m['nn_p1']:.1f}  CSLS {m['csls_p1']:.1f}{ci}  P@5 {m['csls_p5']:.1f}  P@10 {m['csls_p10']:.1f}"
              f"  | {m['n_queries']} of {m['n_test_sources']} test words covered ({100 * m['coverage']:.1f}%),"
              f" CSLS P@1 counting misses {m['csls_p1_all']:.1f}  | criterion {m['criterion']:.4f}")
        if "csls_p1_no_identical" in m:
            print(f"CSLS P@1 without the {m['n_identical']} test words translated by their own spelling: "
                  f"{m['csls_p1_no_identical']:.1f}")
    elif "criterion" in m:
        print(f"criterion {m['criterion']:.4f}")
    if m.get("verdict") == "failed":
        from umt.alignment.criterion import AGREEMENT_FAILED_BELOW

        print(f"warning: this alignment failed: independent initialisations agree on only "
              f"{100 * m['agreement']:.0f}% of the frequent words' translations (failed below "
              f"{100 * AGREEMENT_FAILED_BELOW:.0f}%; real language pairs measured: about half or more); "
              f"the two corpora may be too small or too different for distribution matching",
              file=sys.stderr)
    elif m.get("verdict") == "ok":
        print(f"check: independent initialisations agree on {100 * m['agreement']:.0f}% of the frequent "
              f"words' translations")
    print(f"results in {out}/metrics.json")


class _Parser(argparse.ArgumentParser):
    """argparse's errors on one line: the usage of ``umt align`` alone runs to forty lines, and the
    problem came last. Subcommands' parsers are of this class too (argparse's default)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from umt.alignment.align import METHODS, AlignConfig
    from umt.alignment.options import add_stage_options
    from umt.alignment.presets import DEFAULT_PRESET, PRESETS, preset
    from umt.retrieval.lexicon import BUILDS
    from umt.retrieval.scoring import METHODS as SCORES

    parser = _Parser(
        prog="umt", description="Unsupervised translation by distribution matching: embeddings, "
        "alignment, retrieval, evaluation.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"umt {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on the console")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="download public data into the UMT_DATA layout (for users elsewhere)")
    dsub = data.add_subparsers(dest="data_command", metavar="COMMAND")
    p = dsub.add_parser("fetch", help="MUSE dictionaries of a pair, and optionally pretrained fastText vectors",
                        description="Download the MUSE ground-truth dictionaries of both directions of PAIR (full, "
                        "0-5000 and 5000-6500) into DATA/dictionaries/ and, with --vectors, a pretrained fastText "
                        "model per language into DATA/vectors/. Each file is checked and renamed into place only "
                        "when complete; checksums are verified where umt knows them and recorded in "
                        "DATA/fetched.json. Files already present are kept. Never needed by the tests.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pair", help="language pair, two ISO 639 codes, e.g. en-fr or en-is")
    p.add_argument("--data", default=None, help="data root to fill (default: $UMT_DATA)")
    p.add_argument("--vectors", choices=("wiki", "cc"), default=None,
                   help="also fetch fastText vectors: wiki (Wikipedia, .vec) or cc (Common Crawl + Wikipedia, "
                   ".vec.gz); several GB a language")
    p.add_argument("--mirror", default=None,
                   help="base address of a mirror with the same layout (MIRROR/dictionaries/NAME, "
                   "MIRROR/vectors/NAME) instead of the original sites")
    p.set_defaults(func=cmd_data_fetch)

    corpus = sub.add_parser("corpus", help="derived corpora (the structureless control)")
    csub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION")
    p = csub.add_parser("control", help="a token-shuffled control corpus: same unigram counts, no structure",
                        description="Pool every token of a corpus and deal them back at random into sentences "
                        "of the original lengths: word counts are kept exactly, co-occurrence is destroyed. "
                        "Distribution matching against it must fail (the control of `umt info`).")
    p.add_argument("--lang", required=True, help="language code of the corpus (en, fr, de)")
    p.add_argument("--corpus", help="raw text, plain or .gz (default: $UMT_DATA/mono/LANG.txt.gz)")
    p.add_argument("--out", required=True, help="output text file (tokenized, one sentence a line)")
    p.add_argument("--max-lines", type=int, default=None, help="read only the first N lines")
    p.add_argument("--seed", type=seed_option, default=0)
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.set_defaults(func=cmd_corpus_control)

    p = sub.add_parser("info", help="bits per character of Y explained by X; joint vs separate models",
                       description="Train language models on the monolingual halves of a prepared pair (cached "
                       "in --out) and report, in bits per character: L(Y), L(Y|X) of a back-translation model "
                       "on the Multi30k test set (parallel text read for evaluation only), their difference, "
                       "and one joint model of both languages against two single-language models of the same "
                       "total size on held-out monolingual text.")
    p.add_argument("--prepared", required=True, help="folder written by `umt mt prepare`")
    p.add_argument("--model", default=None, help="run directory of `umt mt train` (omit for the LMs only)")
    p.add_argument("--out", required=True, help="run directory (language models are cached here)")
    p.add_argument("--lm-steps", type=int, default=3000)
    p.add_argument("--lm-batch-size", type=int, default=64)
    p.add_argument("--lm-dim", type=int, default=256, help="width of each single-language model")
    p.add_argument("--lm-layers", type=int, default=3)
    p.add_argument("--seed", type=seed_option, default=0)
    p.set_defaults(func=cmd_info)

    emb = sub.add_parser("embed", help="train, convert or inspect word vectors")
    esub = emb.add_subparsers(dest="embed_command", metavar="ACTION")
    p = esub.add_parser("train", help="fastText skip-gram vectors from a raw corpus",
                        description="Tokenize a raw corpus (lowercase, words intact) and train fastText "
                        "skip-gram vectors; writes vectors.npy, vocab.txt, meta.json into --out.")
    p.add_argument("--lang", required=True, help="language code (en, fr, de)")
    p.add_argument("--corpus", help="raw text, plain or .gz (default: $UMT_DATA/mono/LANG.txt.gz)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--epoch", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--minn", type=int, default=3, help="shortest character n-gram (umt run's quick vectors: 5)")
    p.add_argument("--maxn", type=int, default=6, help="longest character n-gram (umt run's quick vectors: 5)")
    p.add_argument("--threads", type=int, default=0, help="0 = every core (default)")
    p.add_argument("--max-lines", type=int, default=None, help="read only the first N lines of the corpus")
    p.add_argument("--max-vocab", type=int, default=None, help="keep only the N most frequent words")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.set_defaults(func=cmd_embed_train)
    p = esub.add_parser("convert", help="convert vectors to umt's fast format or .vec")
    p.add_argument("input", help=".vec/.txt[.gz], fastText .bin or umt folder")
    p.add_argument("--out", required=True, help="a folder (umt format) or a path ending in .vec")
    p.add_argument("--max-vocab", type=int, default=None)
    p.add_argument("--normalize", default=None, help="e.g. unit,center,unit")
    p.set_defaults(func=cmd_embed_convert)
    p = esub.add_parser("info", help="size, norms and first words of a vector file")
    p.add_argument("input")
    p.add_argument("--max-vocab", type=int, default=None)
    p.set_defaults(func=cmd_embed_info)

    p = sub.add_parser("align", help="learn a mapping between two spaces",
                       description="Learn a map from the source to the target space: orthogonal, then re-weighted "
                       "(--reweight). Every method "
                       "but procrustes is unsupervised: it reads no dictionary (--eval-dict is only read "
                       "after training, to report precision). Writes mapping.npy, lexicon.tsv, metrics.json, "
                       "params.json, config.json (every setting used), run.log and training_curves.png into --out. "
                       "The stage options below (--adv-*, --sl-*, refinement) show the default preset's "
                       f"({DEFAULT_PRESET}) values; with --preset, or --method (which starts from the fast "
                       "preset), that preset's values hold unless an option is given.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=METHODS, default=None,
                   help="the method, with the fast preset's settings unless --preset is given: similarity: "
                        "similarity-distribution init + stochastic self-learning (one seed: the fast preset); "
                        "auto: best of several unsupervised initialisations by the criterion; adversarial: "
                        "MUSE-style GAN; identical: identical strings as seed; procrustes: supervised by --dict. "
                        "Without --method and --preset: the default preset, duo")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="a published recipe in one flag: duo (default: two similarity seeds with shorter "
                        "phases, averaged when they agree, checked for failure), fast (one seed: 0.87 times "
                        "duo's time, less accurate, unchecked), muse, muse-code, vecmap, robust; plateau (faster "
                        "than fast) and ensemble (four seeds, averaged when the criterion prefers it: about four times "
                        "fast's time)")
    p.add_argument("--candidates", default=None,
                   help="for auto: comma-separated INIT[:SEED][@WORDS], e.g. similarity:0,adversarial:0; "
                        "@WORDS (similarity only) starts from the WORDS most frequent words instead of "
                        "--sl-init-words, e.g. similarity:0,similarity:0@3000 lets the criterion choose the size. "
                        "The failure check and the averages compare seeds of one size only")
    p.add_argument("--check", action="store_true",
                   help="failure check for a single initialisation: also run its next seed (twice the time) "
                        "and warn when the two runs disagree on the frequent words' translations; auto and "
                        "the robust preset check without it")
    p.add_argument("--average", action="store_true",
                   help="with auto or --check: also score the average of the kept map and the other seeds' "
                        "maps, and keep it when the unsupervised criterion is higher")
    p.add_argument("--average-when", choices=("better", "agree"), default=None,
                   help="which average is kept (implies --average): better = when the criterion is higher "
                        "(default); agree = the average of the kept map and the seeds that agree with it "
                        "(failure detection's rule), whatever the criterion")
    p.add_argument("--reweight", default=None, metavar="P|none",
                   help="last step: VecMap's whitening, re-weighting by singular values to the power P and "
                        "de-whitening, on the dictionary the map induces; both spaces move (default 0.5; "
                        "none keeps the orthogonal map, as the muse presets do)")
    p.add_argument("--reweight-rounds", type=int, default=None, metavar="N",
                   help="re-weight N times, each round on the dictionary the previous round's spaces induce "
                        "(default 2; 1 is VecMap's single step)")
    p.add_argument("--reweight-seed", action="store_true",
                   help="with --method procrustes: the first re-weighting learns on the seed dictionary itself "
                        "(VecMap's --supervised), then --reweight-rounds more on the dictionaries it induces")
    p.add_argument("--reweight-words", type=int, default=None, metavar="N",
                   help="induce the re-weighting dictionaries among the N most frequent words of each side "
                        f"(default {AlignConfig.reweight_words})")
    _add_pair_args(p)
    p.add_argument("--dict", default=None, help="seed dictionary for procrustes, or 'identical'")
    p.add_argument("--eval-dict", default=None, help="evaluate the result on this dictionary")
    p.add_argument("--seed", type=seed_option, default=0,
                   help="seed of every random draw (default 0); auto adds it to its candidates' seeds")
    p.add_argument("--export-vec", action="store_true", help="also write the mapped spaces as .vec files")
    p.add_argument("--resume", action="store_true",
                   help="continue a run that was stopped, in the same --out: the initialisations it finished "
                        "(saved in OUT/checkpoints) are read back when the settings and vectors are the same, the "
                        "one it was running continues from its last saved epoch or self-learning iteration, the "
                        "rest run; without it a run starts afresh")
    p.add_argument("--out", required=True, help="run directory")
    add_stage_options(p, preset(DEFAULT_PRESET))
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("evaluate", help="precision@1/5/10 of a mapping on a gold dictionary",
                       description="Bilingual lexicon induction by the MUSE protocol, NN and CSLS.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_pair_args(p)
    p.add_argument("--mapping", default=None, help="mapping.npy or a run directory (default: identity)")
    p.add_argument("--dict", required=True, help="gold dictionary")
    p.add_argument("--out", required=True, help="output folder for metrics.json")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="is one map really better? a paired test on the same test words",
                       description="Compare two evaluations of the same gold dictionary word by word: the "
                       "precision of each on the test words both cover, the words only one gets right, and "
                       "McNemar's exact test of the difference (far more sensitive than comparing the two "
                       "precisions' intervals). A and B: run directories of umt align --eval-dict or umt "
                       "evaluate, or their evaluation.tsv files.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", metavar="A", help="the first evaluation: a run directory or its evaluation.tsv")
    p.add_argument("b", metavar="B", help="the second evaluation")
    p.add_argument("--k", type=int, default=1, help="compare precision at k, 1 to 10 (default 1)")
    p.add_argument("--out", default=None, help="also write the figures to this JSON file")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("run", help="the whole pipeline on one language pair (the main job)",
                       description="Train vectors on the whole shared corpora (quick 100-d vectors by "
                       "default, 300-d ones with --full), align them without a dictionary, with the "
                       "identical-strings seed and with the supervised reference (re-weighted on the seed, and "
                       "orthogonal), "
                       "evaluate each on the MUSE test split, translate a few Multi30k captions word by word and "
                       "print a report. Vectors and finished alignments are reused, so a second run takes "
                       "seconds.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", default="en-fr",
                   help="language pair: any two ISO 639 codes, e.g. en-fr, de-en, is-fo (default %(default)s)")
    p.add_argument("--src-corpus", default=None,
                   help="source-language text, plain or .gz, one sentence a line (default $UMT_DATA/mono/SRC.txt.gz)")
    p.add_argument("--tgt-corpus", default=None, help="target-language text (default $UMT_DATA/mono/TGT.txt.gz)")
    p.add_argument("--test-dict", default=None,
                   help="test dictionary, read only to score (default $UMT_DATA/dictionaries/SRC-TGT.5000-6500.txt "
                   "when it exists; without one the alignments are made and checked, but no precision is given)")
    p.add_argument("--train-dict", default=None,
                   help="dictionary of the supervised reference (default $UMT_DATA/dictionaries/SRC-TGT.0-5000.txt "
                   "when it exists; without one there is no supervised reference)")
    p.add_argument("--full", action="store_true",
                   help="300-d vectors with character 5-grams, 5 epochs (slower) instead of quick 100-d vectors "
                   "with 5-grams, 3 epochs")
    p.add_argument("--lines", type=int, default=None, help="read only the first N lines of each corpus")
    p.add_argument("--dim", type=int, default=None, help="vector size (default 100, or 300 with --full)")
    p.add_argument("--epoch", type=int, default=None, help="fastText epochs (default 3, or 5 with --full)")
    p.add_argument("--refine", type=int, default=3,
                   help="refinement iterations of the identical-strings seed and the orthogonal supervised map "
                        "(default %(default)s; the re-weighted reference is VecMap's supervised recipe plus one "
                        "induced round, as `umt align --reweight-seed --reweight-rounds 1`)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                   help="the unsupervised alignment's recipe, as in umt align (default %(default)s; fast is "
                        "quicker; the muse presets train a discriminator for hours on a CPU); its run directory "
                        "is OUT/PRESET")
    p.add_argument("--cache", default="runs/cache", help="where trained vectors are kept (default %(default)s)")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.add_argument("--out", default=None, help="run directory (default runs/PAIR)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("induce", help="induce a bilingual lexicon (TSV) from a mapping")
    _add_pair_args(p)
    p.add_argument("--mapping", required=True, help="mapping.npy or a run directory")
    p.add_argument("--build", choices=BUILDS, default="intersection")
    p.add_argument("--score", choices=SCORES, default="csls")
    p.add_argument("--max-rank", type=int, default=15000)
    p.add_argument("--out", required=True, help="output .tsv")
    p.set_defaults(func=cmd_induce)

    from umt.translation.cli import add_commands

    add_commands(sub, EPILOG)
    return parser


# options whose name differs from the config field they set
_OPTION_OF_FIELD = {"refine_iterations": ("refine",), "enc_layers": ("layers", "lm_layers"), "dec_layers": ("layers",),
                    "dim": ("lm_dim",), "steps": ("lm_steps",), "batch_size": ("lm_batch_size",)}


def _as_option(error: ConfigError, args: argparse.Namespace) -> str:
    """A config's complaint about a field, told as the option the user typed when one that sets
    the field holds that value ("--dim 0: expected a value >= 1"); otherwise the config's own words."""
    for dest in (error.field, *_OPTION_OF_FIELD.get(error.field, ())) if error.field else ():
        given = getattr(args, dest, None)
        if given is not None and given == error.value:
            return f"--{dest.replace('_', '-')} {given}: {error.problem}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        (parser if args.command is None else parser._subparsers._group_actions[0].choices[args.command]).print_help()
        return 0 if args.command is None else 2
    for old in [h for h in log.handlers if getattr(h, "umt_console", False)]:
        log.removeHandler(old)
    console = logging.StreamHandler(sys.stderr)
    console.umt_console = True
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)
    log.addHandler(console)
    log.setLevel(logging.INFO)
    try:
        if getattr(args, "max_vocab", None) is not None:  # every command that loads vectors has it
            check_option("--max-vocab", args.max_vocab, POSITIVE)
        from umt.device import computing_on, use_all_cores  # imports torch: not before a command needs it

        use_all_cores()  # torch and FAISS threads, set once here for every command
        with computing_on(getattr(args, "device", None)):  # and where the tensor work runs
            args.func(args)
        keep_runs()
        sys.stdout.flush()  # inside the try: a closed pipe is then caught below, not reported at exit
    except ConfigError as e:
        discard_empty_runs()
        print(f"umt: error: {_as_option(e, args)}", file=sys.stderr)
        return 2
    except UmtError as e:
        discard_empty_runs()
        print(f"umt: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # the commands that checkpoint say how to continue, so the user need not look it up
        hint = "; the same command with --resume continues from its checkpoints" if getattr(
            args, "resume", True) is False else ""
        if args.command == "run":
            hint = "; running it again reuses the cached vectors and continues the alignments from their checkpoints"
        print(f"umt: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `umt ... | head` closed the pipe: the reader has what it wanted
        # Python flushes stdout again at exit and would report this a second time
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
