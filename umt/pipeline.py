"""The main job, end to end on one language pair: embeddings -> alignment -> lexicon -> evaluation.

By default the vectors are quick ones: 100-d, character 5-grams only, 3 epochs over the whole
shared corpora, enough for distribution matching to succeed (a slice of the corpora is not).
Word-only vectors (no n-grams) would be faster still, but fastText's training diverges to NaN on
them at random. ``full`` trains 300-d vectors instead (fastText skip-gram, 5 epochs, character
5-grams only). fastText's default 3-6-grams give a better supervised map but a worse
unsupervised one.
Vectors are cached by their settings and each alignment is reused while its vectors and settings
are unchanged, so a second run takes seconds. An alignment a killed run left unfinished continues
from its checkpoints (:mod:`umt.alignment.checkpoints`, keyed by the same vectors and settings).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from umt.alignment import DEFAULT_NORMALIZE, AlignConfig, RefineConfig, align, load_mapping, write_alignment
from umt.alignment.presets import DEFAULT_PRESET, PRESETS, resolve
from umt.config import data_root, mono_corpus
from umt.embeddings import Embeddings, load_embeddings
from umt.embeddings.train import EmbedTrainConfig, train_embeddings
from umt.errors import DataMissingError
from umt.evaluation import compare_query_files
from umt.evaluation.api import PER_QUERY_FILE, dictionary_scorer, evaluate_mapping
from umt.fileio import write_json, write_text
from umt.ranges import NON_NEGATIVE, OPTIONAL_POSITIVE, POSITIVE, CheckedConfig, ranged, setting_differences

log = logging.getLogger("umt")


QUICK_EMBED = EmbedTrainConfig(dim=100, epoch=3, minn=5, maxn=5)
FULL_EMBED = EmbedTrainConfig(dim=300, epoch=5, minn=5, maxn=5)


@dataclass
class PipelineConfig(CheckedConfig):
    src: str = "en"
    tgt: str = "fr"
    full: bool = False  # FULL_EMBED vectors instead of QUICK_EMBED
    lines: int | None = ranged(None, OPTIONAL_POSITIVE)  # read only the first lines of each corpus (quick checks)
    embed: EmbedTrainConfig = field(default_factory=lambda: EmbedTrainConfig(**asdict(QUICK_EMBED)))
    refine_iterations: int = ranged(3, NON_NEGATIVE)
    preset: str = ranged(DEFAULT_PRESET, choices=tuple(PRESETS))  # the unsupervised alignment's recipe
    max_vocab: int = ranged(200000, POSITIVE)
    data: str | None = None
    cache: str = "runs/cache"
    sample_sentences: int = ranged(5, NON_NEGATIVE)  # Multi30k test captions translated word by word in the report
    sample_target_words: int = ranged(50000, POSITIVE)  # target words a caption word may translate to
    src_corpus: str | None = None  # default $UMT_DATA/mono/SRC.txt.gz
    tgt_corpus: str | None = None
    test_dict: str | None = None  # default $UMT_DATA/dictionaries/SRC-TGT.5000-6500.txt, when it exists
    train_dict: str | None = None  # the supervised reference's; default ...SRC-TGT.0-5000.txt, when it exists

    def corpus(self, lang: str) -> Path:
        given = self.src_corpus if lang == self.src else self.tgt_corpus
        if given is None:
            return mono_corpus(lang, self.data)
        if not Path(given).is_file():
            raise DataMissingError(f"{given}: {lang} corpus not found")
        return Path(given)

    def dictionary(self, split: str) -> Path | None:
        """The given dictionary of ``split`` (``test`` or ``train``), else the data root's when it
        has one, else None: a pair without a dictionary is aligned all the same."""
        given = self.test_dict if split == "test" else self.train_dict
        if given is not None:
            if not Path(given).is_file():
                raise DataMissingError(f"{given}: {split} dictionary not found")
            return Path(given)
        name = f"{self.src}-{self.tgt}.{'5000-6500' if split == 'test' else '0-5000'}.txt"
        try:
            path = data_root(self.data) / "dictionaries" / name
        except DataMissingError:
            return None
        return path if path.is_file() else None


def cached_embeddings(lang: str, cfg: PipelineConfig, progress: bool = True) -> Embeddings:
    """Train (or reuse) vectors for ``lang`` with ``cfg.embed`` on the configured slice."""
    corpus = cfg.corpus(lang)
    embed = EmbedTrainConfig(**{**asdict(cfg.embed), "max_lines": cfg.lines})
    key = hashlib.sha1(json.dumps([lang, str(corpus.resolve()), asdict(embed)], sort_keys=True).encode()).hexdigest()
    folder = Path(cfg.cache) / f"emb-{lang}-{key[:10]}"
    if (folder / "meta.json").exists():
        log.info("%s: reusing cached vectors %s", lang, folder)
    else:
        log.info("%s: training %d-d vectors on %s (%s lines) into %s", lang, embed.dim, corpus,
                 embed.max_lines or "all", folder)
        train_embeddings(corpus, folder, embed, progress)
    return load_embeddings(folder, cfg.max_vocab)


def supervised_reference(train: str | Path) -> AlignConfig:
    """The supervised reference every unsupervised result is reported beside: VecMap's
    ``--supervised`` (Procrustes, then re-weighting learnt on the seed dictionary ``train``
    itself), then one round of re-weighting on the dictionary it induces."""
    return AlignConfig(method="procrustes", dict=str(train), refine=RefineConfig(iterations=0),
                       reweight_seed=True, reweight_rounds=1)


def run_pipeline(cfg: PipelineConfig, out: str | Path, progress: bool = True) -> dict:
    """Run every stage for ``cfg.src``-``cfg.tgt`` and write ``report.md`` and ``results.json``."""
    out = Path(out)
    t0 = time.time()
    test, train = cfg.dictionary("test"), cfg.dictionary("train")
    src, tgt = cached_embeddings(cfg.src, cfg, progress), cached_embeddings(cfg.tgt, cfg, progress)
    if test is None:
        log.warning("%s-%s: no test dictionary (give --test-dict): the alignments are made and checked without "
                    "a dictionary, but no precision can be given", cfg.src, cfg.tgt)
    refine = RefineConfig(iterations=cfg.refine_iterations)
    runs = [  # (report label, run folder, settings); every method is re-weighted unless it says otherwise
        (f"unsupervised ({cfg.preset} preset, no dictionary)", cfg.preset, resolve(cfg.preset))]
    skipped = {}
    shared = shared_spellings(src, tgt)
    if shared >= MIN_IDENTICAL_SEED:
        runs.append(("identical strings (no dictionary)", "identical", AlignConfig(method="identical", refine=refine)))
    else:  # other scripts, or unrelated spellings: such a seed says nothing
        skipped["identical strings (no dictionary)"] = f"only {shared} words spelt alike in both vocabularies"
        log.info("identical strings: skipped, %s", skipped["identical strings (no dictionary)"])
    if train is not None:
        # VecMap's supervised mode (re-weighting on the seed itself), then one round on the dictionary it
        # induces: chosen over Procrustes + refinement + re-weighting on the development split
        runs += [(f"procrustes (supervised reference, {train.name} seed, re-weighted on it)", "procrustes",
                  supervised_reference(train)),
                 ("procrustes, orthogonal (not re-weighted)", "procrustes-orthogonal",
                  AlignConfig(method="procrustes", dict=str(train), refine=refine, reweight=None))]
    results = {}
    for name, folder, acfg in runs:
        run_dir = out / folder
        metrics = finished_alignment(run_dir, acfg, src, tgt)
        if metrics is None:
            result = align(src, tgt, acfg, progress, checkpoints=run_dir / "checkpoints")
            scorer = None if test is None else dictionary_scorer(src, tgt, str(test))
            metrics = write_alignment(result, src, tgt, run_dir, scorer)
        else:
            log.info("%s: reusing the alignment in %s (same vectors and settings)", name, run_dir)
            if test is not None:
                metrics = evaluated(run_dir, metrics, src, tgt, str(test))
        results[name] = {**metrics, "run": str(run_dir)}
    unsupervised = next(r for r in results.values() if not r["supervised"])
    reference = next((name for name, r in results.items() if r["supervised"]), None)
    versus = None
    if test is not None and reference is not None:
        paired, _ = compare_query_files(unsupervised["run"], results[reference]["run"])  # same vectors: same words
        versus = {"reference": reference, **paired.as_dict()}
    summary = {"pair": f"{cfg.src}-{cfg.tgt}", "src_words": len(src), "tgt_words": len(tgt),
               "seconds": round(time.time() - t0, 1), "config": asdict(cfg), "results": results,
               "test_dictionary": None if test is None else str(test),
               "train_dictionary": None if train is None else str(train),
               "unsupervised_vs_supervised": versus, "skipped": skipped,
               "word_by_word": sample_translations(src, tgt, Path(unsupervised["run"]), cfg)}
    write_json(out / "results.json", summary)
    write_text(out / "report.md", format_report(summary, out))
    return summary


#: Top-level alignment settings at their defaults: one an older umt did not record is taken as this.
_DEFAULT_SETTINGS = json.loads(json.dumps(asdict(AlignConfig())))
MIN_IDENTICAL_SEED = 50  # fewer words spelt alike than this make no identical-strings seed


def shared_spellings(src: Embeddings, tgt: Embeddings) -> int:
    """How many alphabetic words both vocabularies spell the same (the identical-strings seed's size)."""
    return sum(1 for w in src.words if w.isalpha() and w in tgt.index)


def finished_alignment(run_dir: Path, acfg: AlignConfig, src: Embeddings, tgt: Embeddings) -> dict | None:
    """The metrics of an alignment already written in ``run_dir`` with these vectors and settings
    (:func:`evaluated` adds the test split's figures where they are missing)."""
    try:
        config = json.loads((run_dir / "config.json").read_text())
        mapping = json.loads((run_dir / "mapping.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    wanted = json.loads(json.dumps(asdict(acfg)))
    same = not setting_differences(config, wanted, defaults=_DEFAULT_SETTINGS) and (
        mapping.get("src"), mapping.get("tgt")) == (src.source, tgt.source)
    return metrics if same and (run_dir / "mapping.npy").exists() else None


def evaluated(run_dir: Path, metrics: dict, src: Embeddings, tgt: Embeddings, test: str) -> dict:
    """``metrics`` with the current evaluation: a run directory an older umt wrote (without the
    per-query file or the intervals) has its saved mapping evaluated again, in seconds."""
    if (run_dir / PER_QUERY_FILE).exists() and "csls_p1_no_identical" in metrics:
        return metrics
    saved = load_mapping(run_dir, src.dim)
    metrics = {**metrics, **evaluate_mapping(src, tgt, test, saved.source, saved.normalize or DEFAULT_NORMALIZE,
                                             target_mapping=saved.target, per_query_tsv=run_dir / PER_QUERY_FILE)}
    write_json(run_dir / "metrics.json", metrics)
    return metrics


def corpus_sentences(path: Path, n: int, skip: int = 0) -> list[str]:
    """``n`` sentences of 4 to 25 words from ``path``, after its first ``skip`` lines."""
    from umt.fileio import read_lines

    found = []
    for lineno, line in enumerate(read_lines(path), 1):
        if lineno > skip and 4 <= len(line.split()) <= 25:
            found.append(line.strip())
            if len(found) == n:
                break
    return found


def sample_translations(src: Embeddings, tgt: Embeddings, run: Path, cfg: PipelineConfig) -> list[dict]:
    """Word-by-word translations of a few sentences with the unsupervised mapping: Multi30k test
    captions where the pair has them, else sentences of the source corpus (after the lines the
    vectors were trained on, when ``cfg.lines`` limits those), with no reference.

    The references are shown beside them only to read; nothing here feeds back into the mapping.
    """
    from umt.alignment import prepare
    from umt.corpora.multi30k import read_split
    from umt.errors import UmtError
    from umt.translation.wordbyword import lexicon_from_embeddings, word_counts

    if not cfg.sample_sentences:
        return []
    try:
        sources = read_split("test_2016_flickr", cfg.src, cfg.data)[:cfg.sample_sentences]
        references = read_split("test_2016_flickr", cfg.tgt, cfg.data)[:cfg.sample_sentences]
    except UmtError:
        sources = corpus_sentences(cfg.corpus(cfg.src), cfg.sample_sentences, cfg.lines or 0)
        references = [None] * len(sources)
    if not sources:
        return []
    saved = load_mapping(run, src.dim)
    xm, ym = saved.apply(*prepare(src, tgt, saved.normalize or DEFAULT_NORMALIZE))
    targets = dict.fromkeys(tgt.words[:cfg.sample_target_words], 1)
    lexicon = lexicon_from_embeddings(src.words, xm, tgt.words, ym, word_counts(sources),
                                      targets)
    return [{"source": s, "word_by_word": t, "reference": r}
            for s, t, r in zip(sources, lexicon.translate(sources), references)]


def format_report(summary: dict, out: Path) -> str:
    header = [f"# umt {summary['pair']}: {summary['src_words']} x {summary['tgt_words']} words, "
              f"{summary['seconds']:.0f} s", ""]
    if summary.get("test_dictionary", True) is None:
        return "\n".join(header + unevaluated_report(summary, out)) + "\n"
    lines = header + [
             "| method | NN P@1 | CSLS P@1 | its 95% interval | without identical pairs | P@5 | P@10 | coverage "
             "| criterion | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in summary["results"].items():
        lo, hi = m["csls_p1_ci95"]
        honest = f"{m['csls_p1_no_identical']:.1f}" if "csls_p1_no_identical" in m else "-"
        lines.append(f"| {name} | {m['nn_p1']:.1f} | {m['csls_p1']:.1f} | {lo:.1f}-{hi:.1f} | {honest} "
                     f"| {m['csls_p5']:.1f} | {m['csls_p10']:.1f} | {m['n_queries']}/{m['n_test_sources']} "
                     f"| {m['criterion']:.3f} | {m['seconds']:.0f} |")
    versus = summary["unsupervised_vs_supervised"]
    if versus is None:
        lines += ["", "No training dictionary for this pair (give --train-dict): no supervised reference."]
    else:
        verdict = ("a significant difference at the 5% level" if versus["p_value"] < 0.05 else
                   "no significant difference at the 5% level: within the test split's noise")
        lines += ["", f"Unsupervised against the supervised reference on the same {versus['n']} test words: "
                  f"CSLS P@1 {versus['precision_a']:.1f} vs {versus['precision_b']:.1f}; {versus['only_a']} words "
                  f"right only unsupervised, {versus['only_b']} only supervised; McNemar's exact test "
                  f"p = {versus['p_value']:.3g}, {verdict}."]
    test = Path(summary.get("test_dictionary") or f"{summary['pair']}.5000-6500.txt").name
    lines += ["", f"Test dictionary {test} (MUSE protocol: out-of-vocabulary pairs dropped). "
              "'Without identical pairs': CSLS P@1 on the test words none of whose gold translations is "
              "spelt as the word itself, which an identical-strings seed gets for free."]
    return "\n".join(lines + lexicon_and_samples(summary, out)) + "\n"


def unevaluated_report(summary: dict, out: Path) -> list[str]:
    """The report's table where the pair has no test dictionary: what can be known without one."""
    lines = ["| method | verdict of the failure check | agreement of independent runs | criterion | seconds |",
             "|---|---|---|---|---|"]
    for name, m in summary["results"].items():
        agreement = f"{100 * m['agreement']:.0f}%" if m.get("agreement") is not None else "-"
        lines.append(f"| {name} | {m.get('verdict') or '-'} | {agreement} | {m['criterion']:.3f} "
                     f"| {m['seconds']:.0f} |")
    lines += ["", f"No test dictionary for {summary['pair']} (give --test-dict, or put {summary['pair']}.5000-6500.txt "
              "in $UMT_DATA/dictionaries): no precision can be given. The failure check compares independent "
              "runs' translations of the most frequent words; it needs no dictionary."]
    if summary.get("unsupervised_vs_supervised") is None and summary.get("train_dictionary") is None:
        lines += ["No training dictionary either: no supervised reference."]
    return lines + lexicon_and_samples(summary, out)


def lexicon_and_samples(summary: dict, out: Path) -> list[str]:
    unsupervised = next(m for m in summary["results"].values() if not m["supervised"])
    lex = Path(unsupervised["run"]) / "lexicon.tsv"
    sample = lex.read_text(encoding="utf-8").splitlines()[1:13]
    lines = ["", f"Most confident pairs of the unsupervised lexicon ({lex}):", ""]
    lines += ["    " + " -> ".join(row.split("\t")[:2]) for row in sample]
    for name, why in (summary.get("skipped") or {}).items():
        lines += ["", f"Not run: {name}: {why}."]
    rows = summary.get("word_by_word") or []
    if rows and rows[0]["reference"] is not None:
        lines += ["", "Word-by-word translation of Multi30k test captions with that lexicon (reference below):", ""]
    elif rows:
        lines += ["", "Word-by-word translation of source-corpus sentences with that lexicon (no reference):", ""]
    for row in rows:
        lines += [f"    {row['source']}", f"  > {row['word_by_word']}"]
        lines += [f"  = {row['reference']}", ""] if row["reference"] is not None else [""]
    lines += ["", f"Everything is in {out}/ (results.json, one run directory per method)."]
    return lines
