"""The lexicon commands: ``umt align``, ``evaluate``, ``compare``, ``run`` (the whole pipeline) and
``induce``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from umt.commands.common import EPILOG, add_pair_args, load_pair, params, resolve_dict
from umt.errors import UmtError
from umt.ranges import POSITIVE, check_option, seed_option
from umt.rundir import start_run


def cmd_align(a) -> None:
    from umt.alignment import align, write_alignment
    from umt.alignment.align import AlignConfig
    from umt.alignment.checkpoints import clear_candidates
    from umt.alignment.options import check_option, stage_options
    from umt.alignment.presets import resolve
    from umt.alignment.spaces import check_alignable
    from umt.evaluation.api import dictionary_scorer
    from umt.ranges import range_of

    given = {"dict": resolve_dict(a.dict, a.data), "seed": a.seed, "device": a.device, "check": a.check}
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
    eval_dict = resolve_dict(a.eval_dict, a.data)
    if eval_dict:
        from umt.embeddings.dictionaries import index_dictionary, read_dictionary

        # Checked now, so that a bad file (its format, then its coverage of the vectors) fails before
        # the alignment and not after it; the pairs are dropped here, and align() never sees them.
        test_pairs = read_dictionary(eval_dict)
    src, tgt = load_pair(a)
    check_alignable(src, tgt)  # before the run directory is touched
    if eval_dict:
        index_dictionary(test_pairs, src, tgt, eval_dict)
        del test_pairs
    start_run(a.out, {**params(a), "command": "align"})
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

    src, tgt = load_pair(a)
    start_run(a.out, {**params(a), "command": "evaluate"})
    saved = load_mapping(a.mapping, src.dim, src, tgt) if a.mapping else SavedMapping(None, None)
    chain = a.normalize or saved.normalize or DEFAULT_NORMALIZE
    metrics = evaluate_mapping(src, tgt, resolve_dict(a.dict, a.data), saved.source, chain, a.device,
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
    src, tgt = load_pair(a)
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
    start_run(out, {**params(a), "command": "run"})
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


def add_commands(sub) -> None:
    """Register the lexicon commands on ``umt``'s sub-command parsers."""
    from umt.alignment.align import METHODS, AlignConfig
    from umt.alignment.options import add_stage_options
    from umt.alignment.presets import DEFAULT_PRESET, PRESETS, preset
    from umt.retrieval.lexicon import BUILDS
    from umt.retrieval.scoring import METHODS as SCORES

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
                        "phases, averaged when they agree, checked for failure), fast (one seed: quicker "
                        "than duo, less accurate, unchecked), muse, muse-code, vecmap, robust; plateau (faster "
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
    add_pair_args(p)
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
    add_pair_args(p)
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
    add_pair_args(p)
    p.add_argument("--mapping", required=True, help="mapping.npy or a run directory")
    p.add_argument("--build", choices=BUILDS, default="intersection")
    p.add_argument("--score", choices=SCORES, default="csls")
    p.add_argument("--max-rank", type=int, default=15000)
    p.add_argument("--out", required=True, help="output .tsv")
    p.set_defaults(func=cmd_induce)
