"""``umt mt run``: unsupervised MT on one Multi30k pair, end to end, in one run directory.

The stages, each skipped when its output is already there with the same settings, so running the
command again after a kill continues where it stopped (training from its last checkpoint)::

    OUT/corpus/LANG.txt.gz   mono corpus + the language's caption half      (umt mt corpus)
    OUT/emb/LANG/            fastText vectors on it                         (umt embed train)
    OUT/data/                halves, subwords, unsupervised lexicons        (umt mt prepare)
    OUT/train/               denoising + back-translation                   (umt mt train)
    OUT/eval-test-beamN/     BLEU, greedy and beam                          (umt mt evaluate)
    OUT/results.json, OUT/report.md
    OUT/stages.json          wall seconds of each finished stage, over every sitting (the vectors':
                             fastText's training seconds, from their meta.json)

Nothing parallel is read before the evaluation stage, except to display BLEU during training;
the model is selected by round-trip BLEU on held-out monolingual sentences.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from umt.corpora.multi30k import check_pair, write_embedding_corpus
from umt.embeddings.train import EmbedTrainConfig
from umt.errors import UmtError
from umt.fileio import read_json, write_json, write_text
from umt.ranges import NON_NEGATIVE, OPTIONAL_POSITIVE, POSITIVE, CheckedConfig, ranged, setting_differences
from umt.translation.data import FREQUENCY_PRIOR, IDENTICAL_TOP, MT_PRESET
from umt.translation.evaluate import bleu_scores, paired_bleu, translate_lines
from umt.translation.history import cumulative_seconds, selected_evaluation
from umt.translation.train import UNTRAINED_SETTINGS, MTTrainConfig, load_models, run_folder
from umt.translation.vocab import Vocab

log = logging.getLogger("umt")

#: The lexicon's vectors: 300-d skip-gram with character 5-grams, as the MT results were measured.
MT_EMBED = EmbedTrainConfig(dim=300, epoch=5, minn=5, maxn=5)


@dataclass
class MTPipelineConfig(CheckedConfig):
    src: str = "en"
    tgt: str = "fr"
    data: str | None = None
    mono_lines: int | None = ranged(None, OPTIONAL_POSITIVE)  # a slice of the mono corpora (quick checks)
    caption_repeat: int = ranged(5, NON_NEGATIVE)  # copies of the caption half in the vectors' corpus
    embed: EmbedTrainConfig = field(default_factory=lambda: EmbedTrainConfig(**asdict(MT_EMBED)))
    preset: str = MT_PRESET  # the lexicon's unsupervised alignment
    identical_top: int = ranged(IDENTICAL_TOP, NON_NEGATIVE)  # keep a spelling among its N best translations
    frequency_prior: float = ranged(FREQUENCY_PRIOR, low=0.0)  # the lexicon's frequency-rank prior; 0: none
    max_vocab: int = ranged(200000, POSITIVE)
    vocab_size: int = ranged(8000, POSITIVE)  # joint sentencepiece vocabulary
    heldout: int = ranged(500, NON_NEGATIVE)  # held-out mono sentences per language (model selection)
    train: MTTrainConfig = field(default_factory=MTTrainConfig)
    beam: int = ranged(4, POSITIVE)  # the final evaluation decodes greedily and with this beam
    # Any other pair: monolingual corpora instead of Multi30k, sentences drawn from each, and an
    # optional parallel test set (umt.corpora.mono_pair)
    src_corpus: str | None = None
    tgt_corpus: str | None = None
    sentences: int = ranged(30000, POSITIVE)
    test_src: str | None = None
    test_tgt: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        # The corpus options constrain each other; refuse a bad combination when the config is
        # built, so the CLI fails before any run folder is made.
        if (self.src_corpus is None) != (self.tgt_corpus is None):
            raise UmtError("--src-corpus and --tgt-corpus go together: give both corpora, or neither (Multi30k)")
        if (self.test_src is None) != (self.test_tgt is None):
            raise UmtError("--test-src and --test-tgt go together: a parallel test set needs both sides")
        if self.test_src is not None and self.src_corpus is None:
            raise UmtError("--test-src/--test-tgt score a pair trained from --src-corpus/--tgt-corpus; "
                           "Multi30k pairs are scored on test_2016_flickr")

    @property
    def corpora(self) -> dict | None:
        """Language -> monolingual corpus when the pair is trained from corpora, else None (Multi30k)."""
        return None if self.src_corpus is None else {self.src: self.src_corpus, self.tgt: self.tgt_corpus}

    @property
    def test_files(self) -> dict | None:
        """Language -> side of the parallel test set of a pair trained from corpora, else None."""
        return None if self.test_src is None else {self.src: self.test_src, self.tgt: self.test_tgt}

    @classmethod
    def from_dict(cls, d: dict) -> MTPipelineConfig:
        d = dict(d)
        d["embed"] = EmbedTrainConfig(**d.get("embed", {}))
        d["train"] = MTTrainConfig.from_dict(d.get("train", {}))
        return cls(**d)


# Settings a finished stage may differ in without being redone: how many cores trained the vectors,
# how long training goes on (a longer --steps continues the same run), where and in which precision
# it computes, and those that train nothing.
_FREE = {("embed", "threads"), ("train", "steps"), ("train", "patience"), ("train", "device"), ("train", "amp"),
         *(("train", k) for k in UNTRAINED_SETTINGS)}


def refuse_other_settings(out: str | Path, cfg: MTPipelineConfig) -> None:
    """Refuse to continue a run directory that was started with other settings."""
    saved = Path(out) / "mt_run.json"
    if saved.exists():
        diff = setting_differences(read_json(saved, "saved pipeline settings"), json.loads(json.dumps(asdict(cfg))),
                                   free=_FREE)
        if diff:
            raise UmtError(f"{out}: holds an `umt mt run` with other settings ({'; '.join(diff[:3])}); "
                           "pick a new --out, or run it again with its settings to continue it")


class StageClock:
    """Wall seconds of each finished stage of a run directory, kept in ``stages.json`` so that a
    run resumed over several sittings still knows what its vectors and lexicon cost. A stage is
    recorded when it finishes; a stage killed midway is timed again from its start when redone."""

    def __init__(self, path: Path):
        self.path = path
        self.seconds: dict = read_json(path, "stage times") if path.exists() else {}

    @contextlib.contextmanager
    def timing(self, stage: str):
        t = time.time()
        yield
        self.record(stage, time.time() - t)

    def record(self, stage: str, seconds: float | None) -> None:
        if seconds is not None:
            self.seconds[stage] = round(seconds, 3)
            write_json(self.path, self.seconds)

    def hours(self, train_hours: float, stages: list[str]) -> dict:
        r"""The whole pipeline's wall hours, :math:`\sum_s t_s + t_{train}`, and each stage's; the
        total is None when a stage ran before it was timed (a run directory older than this record)."""
        each = {s: round(self.seconds[s] / 3600, 3) if s in self.seconds else None for s in stages}
        known = None not in each.values()
        total = round(sum(each.values()) + train_hours, 3) if known else None
        return {"hours": total, "train_hours": train_hours, "stage_hours": each}


def vectors(lang: str, cfg: MTPipelineConfig, out: Path, progress: bool):
    """The stage's word vectors of ``lang``: trained on mono text + its caption half, or reused."""
    from umt.embeddings.io import load_embeddings
    from umt.embeddings.train import train_embeddings

    corpora = cfg.corpora
    corpus = Path(corpora[lang]) if corpora else out / "corpus" / f"{lang}.txt.gz"  # a corpus: its own text
    folder = out / "emb" / lang
    meta = folder / "meta.json"
    recorded = read_json(meta, "vectors' record").get("config", {}) if meta.exists() else None
    if recorded is not None and not setting_differences(recorded, asdict(cfg.embed), ("embed",), _FREE):
        log.info("%s: reusing the vectors in %s", lang, folder)
    else:
        if not corpus.exists() and not corpora:
            info = write_embedding_corpus(lang, corpus, cfg.data, cfg.caption_repeat, cfg.heldout, cfg.mono_lines)
            log.info("%s: %s", corpus, info)
        log.info("%s: training vectors into %s", lang, folder)
        train_embeddings(corpus, folder, cfg.embed, progress)
    return load_embeddings(folder, cfg.max_vocab)


def evaluate_run(model_dir, data, split: str = "test", beam: int = 1, out=None, which: str = "best") -> dict:
    """BLEU of a trained model and of word-by-word translation on ``split`` of a prepared pair.

    For each direction: sacreBLEU (signature, bootstrap 95% interval) and the lowercased Moses
    tokenized BLEU of both systems, and the paired randomization test between them. With ``out``,
    writes ``metrics.json`` and the outputs (``SPLIT.SRC-TGT.hyp.txt``, ``...word_by_word.txt``).
    ``model_dir`` may be a list of runs of one prepared pair, which then decode as an ensemble.
    The parallel text is read here for scoring only.
    """
    if not data.has(split):
        raise UmtError(f"{data.folder}: no parallel {split} set to score on (a pair prepared from monolingual "
                       "corpora: give --test-src and --test-tgt when preparing it)")
    runs = list(model_dir) if isinstance(model_dir, (list, tuple)) else [model_dir]
    model, state = load_models(runs, which)
    spm = run_folder(runs[0]) / "spm.model"
    if spm.exists():
        vocab = Vocab(spm)
    elif len(data.vocab) == model.cfg.vocab_size:  # a folder the trainer did not write: the pair's own pieces
        log.warning("%s: missing, decoding with %s's subword vocabulary", spm, data.folder)
        vocab = data.vocab
    else:
        raise UmtError(f"{spm}: missing, and {data.folder}'s vocabulary ({len(data.vocab)} pieces) is not the "
                       f"model's ({model.cfg.vocab_size}): evaluate it on the pair it was trained on")
    sets = getattr(data, split)
    metrics = {"model": str(runs[0]) if len(runs) == 1 else [str(r) for r in runs], "step": state.get("step"),
               "split": split, "beam": beam}
    for s, t in ((data.src, data.tgt), (data.tgt, data.src)):
        hyps = translate_lines(model, vocab, sets[s], s, t, beam)
        wbw = data.wbw[(s, t)].translate(sets[s])
        metrics[f"{s}-{t}"] = {"model": bleu_scores(hyps, sets[t], t, bootstrap=1000),
                               "word_by_word": bleu_scores(wbw, sets[t], t, bootstrap=1000),
                               "model_vs_word_by_word_p": paired_bleu(wbw, hyps, sets[t])["p_value"]}
        if out is not None:
            write_text(Path(out) / f"{split}.{s}-{t}.hyp.txt", "\n".join(hyps) + "\n")
            write_text(Path(out) / f"{split}.{s}-{t}.word_by_word.txt", "\n".join(wbw) + "\n")
    if out is not None:
        write_json(Path(out) / "metrics.json", metrics)
    return metrics


def run_mt_pipeline(cfg: MTPipelineConfig, out: str | Path, progress: bool = True) -> dict:
    """Every stage for ``cfg.src``-``cfg.tgt``; writes ``results.json`` and ``report.md`` in ``out``."""
    from umt.device import use_all_cores
    from umt.translation.data import MTData, prepare_mt
    from umt.translation.train import Trainer

    if cfg.corpora is None:
        check_pair(cfg.src, cfg.tgt)
    else:
        from umt.config import check_language
        from umt.fileio import require_file

        check_language(cfg.src), check_language(cfg.tgt)
        for path in (*cfg.corpora.values(), *(cfg.test_files or {}).values()):
            require_file(path, "corpus")
    out = Path(out)
    refuse_other_settings(out, cfg)
    write_json(out / "mt_run.json", asdict(cfg))
    use_all_cores()
    t0 = time.time()
    stages = StageClock(out / "stages.json")
    prepared = out / "data"
    if (prepared / "prepare.json").exists():
        log.info("reusing the prepared pair in %s", prepared)
    else:
        src_emb, tgt_emb = vectors(cfg.src, cfg, out, progress), vectors(cfg.tgt, cfg, out, progress)
        with stages.timing("prepare"):
            prepare_mt(cfg.src, cfg.tgt, prepared, src_emb, tgt_emb, None, cfg.data, cfg.vocab_size, cfg.heldout,
                       progress=progress, preset_name=cfg.preset, identical_top=cfg.identical_top,
                       frequency_prior=cfg.frequency_prior, corpora=cfg.corpora, sentences=cfg.sentences,
                       test_files=cfg.test_files)
    data = MTData.load(prepared, cfg.train.max_len)
    run = out / "train"
    resume = (run / "checkpoint.pt").exists()
    trainer = Trainer(data, cfg.train, run, resume=resume)  # a longer --steps continues the same run
    if trainer.step < cfg.train.steps and not trainer.stalled():
        trainer.fit(progress=progress)
    step = trainer.step
    del trainer
    evaluations = {}
    for beam in sorted({1, cfg.beam}) if data.has("test") else []:  # no parallel test set: no BLEU
        folder = out / f"eval-test-beam{beam}"
        saved = folder / "metrics.json"
        metrics = read_json(saved, "evaluation") if saved.exists() else None
        if metrics is None or metrics.get("trained_steps") != step:
            log.info("evaluating %s on %s with beam %d", run, _test_set_name(cfg), beam)
            with stages.timing(f"evaluate_beam{beam}"):
                metrics = {**evaluate_run(run, data, "test", beam, folder), "trained_steps": step}
                write_json(saved, metrics)
        evaluations[beam] = metrics
    history = read_json(run / "history.json", "training history")
    summary = summarize(cfg, history, evaluations, step)
    summary["seconds_this_sitting"] = round(time.time() - t0, 1)
    for lang in (cfg.src, cfg.tgt):  # the vectors' own record: right for vectors made by an earlier sitting too
        meta = out / "emb" / lang / "meta.json"
        if meta.exists():
            stages.record(f"vectors_{lang}", read_json(meta, "vectors' record").get("seconds_total"))
    timed = [f"vectors_{cfg.src}", f"vectors_{cfg.tgt}", "prepare", *(f"evaluate_beam{b}" for b in evaluations)]
    summary["pipeline"] = stages.hours(training_hours(history), timed)
    write_json(out / "results.json", summary)
    write_text(out / "report.md", format_report(summary, out))
    return summary


def training_hours(history: list[dict]) -> float:
    """Wall hours of training, earlier sittings of a resumed run included."""
    timed = [s for s in cumulative_seconds(history) if s is not None]
    return round(timed[-1] / 3600, 3) if timed else 0.0


def summarize(cfg: MTPipelineConfig, history: list[dict], evaluations: dict, step: int | None = None) -> dict:
    """The headline figures of one pair's run: both directions, both conventions, greedy and beam
    (only the training figures when the pair has no parallel test set)."""
    selected = selected_evaluation(history, cfg.train.selection_tolerance)
    directions = {}
    for s, t in ((cfg.src, cfg.tgt), (cfg.tgt, cfg.src)):
        key = f"{s}-{t}"
        d = {"train_hours": training_hours(history), "selected_step": selected.get("step"),
             "selected_weights": selected.get("weights", "live"), "roundtrip_bleu": selected.get("roundtrip")}
        if evaluations:
            g, b = evaluations[1][key], evaluations[max(evaluations)][key]
            d.update({
                "bleu_tok_lc_greedy": g["model"]["bleu_tok_lc"], "bleu_tok_lc_beam": b["model"]["bleu_tok_lc"],
                "bleu_greedy": g["model"]["bleu"], "bleu_beam": b["model"]["bleu"],
                "bleu_greedy_ci95": g["model"]["bleu_ci95"], "bleu_beam_ci95": b["model"]["bleu_ci95"],
                "word_by_word_tok_lc": g["word_by_word"]["bleu_tok_lc"], "word_by_word": g["word_by_word"]["bleu"],
                "signature": g["model"]["signature"]})
        directions[key] = d
    trained = evaluations[1].get("trained_steps") if evaluations else step
    stopped = cfg.train.patience and trained is not None and trained < cfg.train.steps
    return {"pair": f"{cfg.src}-{cfg.tgt}", "beam": max(evaluations) if evaluations else None,
            "trained_steps": trained, "stopped_by_patience": bool(stopped),
            "test_set": _test_set_name(cfg) if evaluations else None, "directions": directions, "config": asdict(cfg)}


def _test_set_name(cfg: MTPipelineConfig) -> str:
    return "Multi30k test_2016_flickr" if cfg.corpora is None else f"{cfg.test_src} / {cfg.test_tgt}"


def _pipeline_line(summary: dict) -> str:
    p = summary.get("pipeline") or {}
    each = p.get("stage_hours", {})
    if p.get("hours") is None:
        missing = ", ".join(k for k, v in each.items() if v is None) or "stages"
        return f"Whole pipeline: not known (untimed: {missing}, run before stage times were kept)."
    vectors = sum(v for k, v in each.items() if k.startswith("vectors_"))
    evaluation = sum(v for k, v in each.items() if k.startswith("evaluate_"))
    return (f"Whole pipeline: {p['hours']:.2f} h of wall time (vectors {vectors:.2f} h, lexicon and subwords "
            f"{each['prepare']:.2f} h, training {p['train_hours']:.2f} h, evaluation {evaluation:.2f} h).")


def _stop_line(summary: dict) -> str:
    cfg = summary["config"]["train"]
    if not summary.get("stopped_by_patience"):
        return f"Trained {summary['trained_steps']} of {cfg['steps']} steps."
    tolerance = cfg.get("selection_tolerance", 0.0)
    why = f"stayed more than {tolerance:g} below its best" if tolerance else "had not risen"
    return (f"Trained {summary['trained_steps']} of {cfg['steps']} steps: round-trip BLEU {why} for "
            f"{cfg['patience']} evaluations (--patience).")


def format_report(summary: dict, out: Path) -> str:
    if summary.get("beam") is None:  # a pair from monolingual corpora without a parallel test set
        lines = [f"# umt mt run {summary['pair']}: no parallel test set", "",
                 "No BLEU can be given: the pair was trained from monolingual corpora and no parallel test set "
                 "was named (--test-src/--test-tgt). The model selected by round-trip BLEU on held-out "
                 "monolingual sentences:", "",
                 "| direction | round-trip BLEU | training hours | selected step |", "|---|---|---|---|"]
        lines += [f"| {key.replace('-', '->')} | {d['roundtrip_bleu']} | {d['train_hours']:.2f} | "
                  f"{d['selected_step']} |" for key, d in summary["directions"].items()]
        lines += ["", _stop_line(summary), _pipeline_line(summary), "",
                  f"Translate with `umt translate --model {out}/train`; everything is in {out}/."]
        return "\n".join(lines) + "\n"
    lines = [f"# umt mt run {summary['pair']}: {summary.get('test_set') or 'Multi30k test_2016_flickr'}", "",
             "sacreBLEU on detokenized cased output (95% bootstrap interval); in brackets Lample et al. "
             "2018a's convention: lowercased, Moses-tokenized (sacremoses), multi-bleu.perl's BLEU.", "",
             f"| direction | word by word | greedy | beam {summary['beam']} | training hours | selected step |",
             "|---|---|---|---|---|---|"]
    for key, d in summary["directions"].items():
        lo, hi = d["bleu_greedy_ci95"]
        blo, bhi = d["bleu_beam_ci95"]
        lines.append(f"| {key.replace('-', '->')} | {d['word_by_word']:.2f} ({d['word_by_word_tok_lc']:.2f}) | "
                     f"{d['bleu_greedy']:.2f} [{lo:.1f}-{hi:.1f}] ({d['bleu_tok_lc_greedy']:.2f}) | "
                     f"{d['bleu_beam']:.2f} [{blo:.1f}-{bhi:.1f}] ({d['bleu_tok_lc_beam']:.2f}) | "
                     f"{d['train_hours']:.2f} | {d['selected_step']} |")
    signature = next(iter(summary["directions"].values()))["signature"]
    lines += ["", f"sacreBLEU signature: {signature}", "", _stop_line(summary), _pipeline_line(summary), "",
              "The model was selected by round-trip BLEU on held-out monolingual sentences; the test set was "
              "read only to score.", "",
              f"Everything is in {out}/ (data/, train/ with bleu.png and history.json, eval-test-beamN/)."]
    return "\n".join(lines) + "\n"
