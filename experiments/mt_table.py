"""Multi30k BLEU table: word-by-word and each evaluated stage of back-translation training.

Reads the ``history.json`` of one or more ``umt mt train`` run directories (one per language
pair) and writes ``OUT.json`` and ``OUT.md``: test BLEU (sacrebleu, detokenized, cased) in both
directions of each pair, lowercased/tokenized BLEU in brackets, the round-trip BLEU that selects
the model, and the stage the selection picked. The whole chain that produces a run:

    umt embed train ...                                  # vectors on mono + caption half
    umt mt prepare --pair en-fr --src-emb E --tgt-emb F --out runs/mt/en-fr/data
    umt mt train --prepared runs/mt/en-fr/data --out runs/mt/en-fr/train
    python experiments/mt_table.py --runs runs/mt/en-fr/train --out results/mt

With ``--pipelines`` it reads ``umt mt run`` directories instead (their ``results.json``): the
final table of each direction beside Lample et al. (2018a)'s, in both conventions (sacreBLEU with
its bootstrap interval; lowercased Moses-tokenized BLEU), greedy and beam, with a BLEU-against-
hours plot per pair (``OUT-PAIR-hours.png``); ``--headline`` also writes the README's figures::

    umt mt run --pair en-fr                      # likewise en-de
    python experiments/mt_table.py --pipelines runs/mt/en-fr,runs/mt/en-de --out results/mt \
        --headline experiments/headline/mt.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, write_json, write_text  # noqa: E402
from umt.rundir import machine_and_date  # noqa: E402
from umt.translation.history import MLM_CURVE, cumulative_seconds, row_figures, selected_evaluation  # noqa: E402


def table_rows(run: Path) -> list[dict]:
    path = run / "history.json"
    if not path.exists():
        raise UmtError(f"{path}: missing (not an `umt mt train` run directory)")
    history = json.loads(path.read_text())
    config = json.loads((run / "config.json").read_text()) if (run / "config.json").exists() else {}
    rows = []
    # a run that averages its weights may select the averaged model
    chosen = selected_evaluation(history, config.get("selection_tolerance", 0.0))
    for r, seconds in zip(history, cumulative_seconds(history)):
        if r.get("system") == MLM_CURVE:  # the pretraining's own curve, not a translation system
            continue
        selected = r.get("system") is None and r["step"] == chosen.get("step")
        weights = chosen.get("weights", "live") if selected else "live"
        r = {**row_figures(r, weights), "seconds": seconds}
        directions = sorted({k[5:] for k in r if k.startswith("test_") and not k.endswith(("_tok_lc", "_bpc"))})
        stage = r.get("system") or f"step {r['step']}" + (" (averaged weights)" if weights == "averaged" else "")
        row = {"run": str(run), "stage": stage, "step": r["step"],
               "roundtrip": r.get("roundtrip"), "selected": selected, "seconds": r.get("seconds"),
               "steps_total": config.get("steps")}
        for d in directions:
            row[d] = r[f"test_{d}"]
            row[f"{d}_tok_lc"] = r.get(f"test_{d}_tok_lc")
            if f"test_{d}_bpc" in r:
                row[f"{d}_bpc"] = r[f"test_{d}_bpc"]  # L(Y|X), bits per character of the reference
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    directions = sorted({k for r in rows for k in r if "-" in k and not k.endswith("_tok_lc") and len(k) == 5})
    head = "| run | stage | " + " | ".join(f"{d} BLEU (tok/lc)" for d in directions) + " | round-trip | seconds |"
    lines = [head, "|" + "---|" * (4 + len(directions))]
    for r in rows:
        cells = [f"{r[d]:.2f} ({r[d + '_tok_lc']:.2f})" if d in r else "" for d in directions]
        stage = r["stage"] + (" **selected**" if r["selected"] else "")
        lines.append(f"| {Path(r['run']).name} | {stage} | " + " | ".join(cells)
                     + f" | {r['roundtrip']} | {r['seconds'] if r['seconds'] is not None else ''} |")
    return "\n".join(lines) + "\n"


#: Lample et al. (2018a), Table 2: Multi30k test 2016, lowercased tokenized BLEU (multi-bleu.perl).
PAPER = {"en-fr": {"word_by_word": 8.54, "iteration_1": 27.48, "iteration_3": 32.76},
         "fr-en": {"word_by_word": 16.77, "iteration_1": 28.07, "iteration_3": 32.07},
         "en-de": {"word_by_word": 5.39, "iteration_1": 19.32, "iteration_3": 22.74},
         "de-en": {"word_by_word": 15.72, "iteration_1": 23.69, "iteration_3": 26.26}}


def pipeline_results(run: Path) -> dict:
    path = run / "results.json"
    if not path.exists():
        raise UmtError(f"{path}: missing (not a finished `umt mt run` directory)")
    return read_json(path, "umt mt run results")


def headline_markdown(results: list[dict]) -> str:
    lines = ["| direction | system | BLEU greedy (sacreBLEU, 95% CI) | beam | lowercased Moses-tokenized, greedy "
             "| beam | training hours |", "|---|---|---|---|---|---|---|"]
    for res in results:
        for key, d in res["directions"].items():
            paper = PAPER.get(key, {})
            lo, hi = d["bleu_greedy_ci95"]
            blo, bhi = d["bleu_beam_ci95"]
            arrow = key.replace("-", "->")
            lines += [f"| {arrow} | umt word by word | {d['word_by_word']:.2f} | | {d['word_by_word_tok_lc']:.2f} | "
                      "| |",
                      f"| {arrow} | umt back-translation (step {res['trained_steps']}, selected "
                      f"{d['selected_step']}) | {d['bleu_greedy']:.2f} [{lo:.1f}-{hi:.1f}] | {d['bleu_beam']:.2f} "
                      f"[{blo:.1f}-{bhi:.1f}] | **{d['bleu_tok_lc_greedy']:.2f}** | {d['bleu_tok_lc_beam']:.2f} | "
                      f"{d['train_hours']:.2f} |"]
            if paper:
                lines += [f"| {arrow} | Lample et al. 2018a word by word / iteration 1 / iteration 3 | | | "
                          f"{paper['word_by_word']:.2f} / {paper['iteration_1']:.2f} / "
                          f"**{paper['iteration_3']:.2f}** | | |"]
    return "\n".join(lines) + "\n"


def headline(results: list[dict], previous: dict | None = None) -> dict:
    """The README's MT figures: one object per direction, each with the machine and the date it was measured.

    The directions of ``previous`` (the headline file as it was) that ``results`` do not remeasure are
    kept as they were, so one pair can be rerun without losing the other's figures.
    """
    now = machine_and_date()
    out: dict = {**now,
                 "test_set": "Multi30k test_2016_flickr",
                 "bleu_tok_lc": "lowercased, Moses-tokenized by sacremoses (-no-escape), multi-bleu.perl's BLEU",
                 "bleu": "sacreBLEU on detokenized cased output"}
    for key, d in (previous or {}).items():
        if isinstance(d, dict) and "bleu_greedy" in d:  # a direction; files before 2026-12-07 dated the whole file
            out[key] = {"machine": previous.get("machine"), "date": previous.get("date"), **d}
    for res in results:
        for key, d in res["directions"].items():
            out[key] = {k: d[k] for k in ("bleu_tok_lc_greedy", "bleu_tok_lc_beam", "bleu_greedy", "bleu_beam",
                                          "bleu_greedy_ci95", "bleu_beam_ci95", "word_by_word_tok_lc",
                                          "word_by_word", "train_hours", "selected_step", "signature")}
            out[key]["trained_steps"] = res["trained_steps"]
            # vectors, lexicon, training and evaluation; None for a run older than umt's stage times
            out[key]["pipeline_hours"] = (res.get("pipeline") or {}).get("hours")
            out[key]["beam"] = res["beam"]
            out[key].update(now)
    return out


def plot_hours(run: Path, pair: str, path: str) -> None:
    """Test BLEU (greedy, sacreBLEU) of both directions against training hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from umt.fileio import save_png

    rows = table_rows(run / "train")
    src, tgt = pair.split("-")
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for a, b in ((src, tgt), (tgt, src)):
        pts = [(r["seconds"] / 3600, r[f"{a}-{b}"]) for r in rows if r["seconds"] is not None and f"{a}-{b}" in r]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=f"{a}->{b}")
    ax.set(xlabel="training hours (wall)", ylabel="test BLEU (sacreBLEU, greedy)", title=f"{pair}: BLEU against time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=None, help="comma-separated `umt mt train` run directories")
    ap.add_argument("--pipelines", default=None, help="comma-separated `umt mt run` directories")
    ap.add_argument("--out", default="results/mt", help="writes OUT.json and OUT.md (default %(default)s)")
    ap.add_argument("--headline", default=None,
                    help="with --pipelines: also write the headline JSON here (directions these runs lack are kept)")
    a = ap.parse_args(argv)
    if (a.runs is None) == (a.pipelines is None):
        raise UmtError("give --runs (`umt mt train` directories) or --pipelines (`umt mt run` directories)")
    if a.pipelines is not None:
        runs = [Path(p) for p in a.pipelines.split(",")]
        results = [pipeline_results(run) for run in runs]
        md = headline_markdown(results)
        write_json(f"{a.out}.json", results)
        write_text(f"{a.out}.md", md)
        for run, res in zip(runs, results):
            plot_hours(run, res["pair"], f"{a.out}-{res['pair']}-hours.png")
        if a.headline:
            previous = read_json(a.headline, "headline figures") if Path(a.headline).exists() else None
            write_json(a.headline, headline(results, previous))
        print(md)
        return 0
    rows = [row for run in a.runs.split(",") for row in table_rows(Path(run))]
    write_json(f"{a.out}.json", rows)
    md = markdown(rows)
    write_text(f"{a.out}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "mt_table")
