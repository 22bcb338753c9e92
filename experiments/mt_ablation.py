"""The MT ablation table: what each lever gave, per direction, at equal translation steps, and its cost.

Each lever is one ``umt mt run`` directory trained with one change against the first (the
baseline), e.g. masked-LM pretraining (``--pretrain-steps``). For every run the script reads
``train/history.json`` and ``mt_run.json`` and writes ``OUT.json``, ``OUT.md`` and ``OUT.png``:

- the settings in which the run differs from the baseline (read from its ``mt_run.json``);
- word-by-word test BLEU per direction (the seed of the loop);
- greedy test BLEU per direction after the same number of *translation* steps (the steps after
  any pretraining), with the difference from the baseline, and the wall hours it took to get
  there (pretraining included), so that a lever that costs time is charged for it;
- the model the unsupervised criterion selects (best round trip) among the steps every run has.

Test BLEU is read from the history, where training wrote it for display; nothing here selects
anything by it. Example::

    umt mt run --pair en-fr --out runs/mt/en-fr ...
    umt mt run --pair en-fr --out runs/mt/en-fr-xlm --pretrain-steps 2000 ...
    python experiments/mt_ablation.py --runs baseline=runs/mt/en-fr,xlm=runs/mt/en-fr-xlm \\
        --at 400,800,1400 --out results/mt_ablation
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, save_png, write_json, write_text  # noqa: E402
from umt.translation.history import PRETRAINING, cumulative_seconds, row_figures  # noqa: E402
from umt.translation.train import UNTRAINED_SETTINGS  # noqa: E402

UNTRAINED = {("train", k) for k in UNTRAINED_SETTINGS}


def parse_runs(text: str) -> list[tuple[str, Path, str]]:
    """``NAME=DIR,NAME=DIR@averaged`` (a bare ``DIR`` is named after its folder; ``@averaged``:
    the figures of the run's averaged weights, ``--average-decay``, instead of its live ones)."""
    runs = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, folder = item.rpartition("=") if "=" in item else ("", "", item)
        folder, averaged, _ = folder.partition("@averaged")
        runs.append((name or Path(folder).name, Path(folder), "averaged" if averaged else "live"))
    if len(runs) < 1:
        raise UmtError("--runs: give at least one NAME=DIR (the first is the baseline)")
    if len({n for n, _, _ in runs}) < len(runs):
        raise UmtError(f"--runs: two runs share a name ({text})")
    return runs


def run_settings(folder: Path) -> tuple[dict, str | None]:
    """The settings of a run, and the prepared data it was trained on when it is a bare
    ``umt mt train`` run (an ``umt mt run`` folder's settings name the data themselves)."""
    settings_path = folder / "mt_run.json"
    if settings_path.exists():
        return read_json(settings_path, "pipeline settings"), None
    config_path, params = folder / "train" / "config.json", folder / "train" / "params.json"
    train = read_json(config_path, "training settings") if config_path.exists() else {}
    prepared = read_json(params, "run parameters").get("prepared") if params.exists() else None
    return {"train": train}, prepared


def read_run(name: str, folder: Path, weights: str = "live") -> dict:
    """History (with cumulative wall seconds and translation steps) and settings of one run, with
    the figures of its ``weights`` (``"live"`` or ``"averaged"``)."""
    history_path = folder / "train" / "history.json"  # an `umt mt run` folder, or one holding a train/ run
    if not history_path.exists():
        raise UmtError(f"{history_path}: missing ({folder} is not an `umt mt run` directory)")
    history = read_json(history_path, "training history")
    settings, prepared = run_settings(folder)
    pretrain = settings.get("train", {}).get("pretrain_steps", 0)
    rows = []
    if weights == "averaged" and not any("averaged" in r for r in history):
        raise UmtError(f"{history_path}: no averaged weights were evaluated (train with --average-decay)")
    for r, seconds in zip(history, cumulative_seconds(history)):
        r = dict(row_figures(r, weights) if "averaged" in r else r)
        if seconds is not None:
            r["hours"] = seconds / 3600
        r["translation_step"] = r["step"] - pretrain if r.get("system") is None else None
        rows.append(r)
    return {"name": name, "folder": str(folder), "settings": settings, "prepared": prepared,
            "pretrain_steps": pretrain, "rows": rows, "weights": weights}


def trained_elsewhere(run: dict, base: dict) -> bool:
    """Whether a bare ``umt mt train`` run names prepared data other than the baseline's."""
    if not run["prepared"]:
        return False
    base_data = base["prepared"] or str(Path(base["folder"]) / "data")
    return Path(run["prepared"]).resolve() != Path(base_data).resolve()


def directions(run: dict) -> list[str]:
    keys = {k[5:] for r in run["rows"] for k in r if k.startswith("test_") and k.count("_") == 1}
    return sorted(keys)


def ablation(runs: list[dict], at: list[int]) -> dict:
    """One row per run: its differences from the baseline and its BLEU at each common step."""
    from umt.ranges import setting_differences

    base = runs[0]
    dirs = directions(base)
    evaluated = [{r["translation_step"] for r in run["rows"] if r["translation_step"] is not None} for run in runs]
    common = sorted(set.intersection(*evaluated)) if evaluated else []
    steps = [s for s in at if s in common] if at else common
    missing = sorted(set(at) - set(common))
    table = []
    for run in runs:
        by_step = {r["translation_step"]: r for r in run["rows"] if r["translation_step"] is not None}
        wbw = next((r for r in run["rows"] if r.get("system") == "word-by-word"), {})
        pre = next((r for r in run["rows"] if r.get("system") == PRETRAINING), {})
        selected = max((by_step[s] for s in common), key=lambda r: r["roundtrip"], default=None)
        entry = {"name": run["name"], "folder": run["folder"],
                 # averaging changes no training step: a lever only when its figures are read (@averaged)
                 "differences": setting_differences(base["settings"], run["settings"], free=UNTRAINED)
                 + ([f"trained on {run['prepared']}"] if trained_elsewhere(run, base) else [])
                 + (["averaged weights"] if run["weights"] == "averaged" else []),
                 "pretrain_steps": run["pretrain_steps"],
                 "pretrain_seconds": round(pre["hours"] * 3600, 3) if pre else None,
                 # the masked LM's cross-entropy on held-out monolingual text when pretraining ended (nats a piece)
                 "pretrain_mlm_heldout": pre.get("mlm_heldout"),
                 "word_by_word": {d: wbw.get(f"test_{d}") for d in dirs}, "at": {}}
        for s in steps:
            r = by_step[s]
            entry["at"][s] = {"hours": round(r["hours"], 6), "roundtrip": r["roundtrip"],
                              **{d: r.get(f"test_{d}") for d in dirs},
                              **{f"{d}_tok_lc": r.get(f"test_{d}_tok_lc") for d in dirs}}
        if selected is not None:
            entry["selected"] = {"translation_step": selected["translation_step"], "roundtrip": selected["roundtrip"],
                                 "hours": round(selected["hours"], 4), **{d: selected.get(f"test_{d}") for d in dirs}}
        table.append(entry)
    for entry in table:  # the gain over the baseline at the same translation step
        for s, cell in entry["at"].items():
            cell["delta"] = {d: round(cell[d] - table[0]["at"][s][d], 2) for d in dirs
                             if cell[d] is not None and table[0]["at"][s][d] is not None}
    return {"baseline": base["name"], "directions": dirs, "steps": steps, "steps_missing": missing,
            "common_steps": common, "runs": table}


def markdown(result: dict) -> str:
    dirs = result["directions"]
    head = "| lever | differs from the baseline in | step | hours | round trip | " + " | ".join(
        f"{d} greedy (delta)" for d in dirs) + " |"
    lines = [head, "|" + "---|" * (5 + len(dirs))]
    for e in result["runs"]:
        diff = "; ".join(e["differences"]) or ("(baseline)" if e["name"] == result["baseline"] else "nothing")
        wbw = " | ".join(f"{e['word_by_word'][d]:.2f}" if e["word_by_word"][d] is not None else "" for d in dirs)
        pre = f"pretraining {e['pretrain_seconds'] / 3600:.2f}" if e["pretrain_seconds"] else ""
        if e["pretrain_mlm_heldout"] is not None:
            pre += f" (held-out masked LM {e['pretrain_mlm_heldout']:.3f} nats)"
        lines.append(f"| {e['name']} | {diff} | word by word | {pre} | | {wbw} |")
        for s, c in e["at"].items():
            cells = " | ".join(f"{c[d]:.2f} ({c['delta'].get(d, 0):+.2f})" if c[d] is not None else "" for d in dirs)
            lines.append(f"| {e['name']} | | {s} | {c['hours']:.2f} | {c['roundtrip']:.2f} | {cells} |")
        if "selected" in e:
            sel = e["selected"]
            cells = " | ".join(f"{sel[d]:.2f}" if sel[d] is not None else "" for d in dirs)
            lines.append(f"| {e['name']} | | selected: {sel['translation_step']} | {sel['hours']:.2f} | "
                         f"{sel['roundtrip']:.2f} | {cells} |")
    note = [f"Steps are translation steps (after any pretraining); hours include pretraining. Baseline: "
            f"{result['baseline']}. Test BLEU is sacreBLEU, greedy, read from training's history (display only); "
            "the selected row is the best round trip among the steps every run has."]
    if result["steps_missing"]:
        note.append(f"Not evaluated in every run, left out: steps {result['steps_missing']}.")
    return "\n".join(lines) + "\n\n" + " ".join(note) + "\n"


def plot(runs: list[dict], dirs: list[str], path: str) -> None:
    """Greedy test BLEU of each run against translation steps and against wall hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    styles = ["-", "--", ":", "-."]
    for i, run in enumerate(runs):
        rows = [r for r in run["rows"] if r["translation_step"] is not None]
        for d, color in zip(dirs, ("tab:blue", "tab:orange", "tab:green", "tab:red")):
            key = f"test_{d}"
            pts = [(r["translation_step"], r["hours"], r[key]) for r in rows if key in r and "hours" in r]
            if pts:
                s, h, b = zip(*pts)
                label = f"{run['name']} {d}"
                axes[0].plot(s, b, styles[i % 4], marker="o", ms=3, color=color, label=label)
                axes[1].plot(h, b, styles[i % 4], marker="o", ms=3, color=color, label=label)
    axes[0].set(xlabel="translation steps (after pretraining)", ylabel="test BLEU (sacreBLEU, greedy)",
                title="per step")
    axes[1].set(xlabel="wall hours, pretraining included", ylabel="test BLEU (sacreBLEU, greedy)", title="per hour")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", required=True,
                    help="NAME=DIR,... `umt mt run` directories; the first is the baseline; NAME=DIR@averaged: "
                         "that run's averaged weights (--average-decay)")
    ap.add_argument("--at", default="", help="translation steps to tabulate (default: every step all runs have)")
    ap.add_argument("--out", default="results/mt_ablation", help="writes OUT.json, OUT.md, OUT.png")
    a = ap.parse_args(argv)
    try:
        at = [int(s) for s in a.at.split(",") if s.strip()]
    except ValueError:
        raise UmtError(f"--at: expected comma-separated step counts, got {a.at!r}") from None
    runs = [read_run(name, folder, weights) for name, folder, weights in parse_runs(a.runs)]
    result = ablation(runs, at)
    if not result["common_steps"]:
        raise UmtError(f"--runs: no translation step was evaluated in every run ({a.runs})")
    md = markdown(result)
    write_json(f"{a.out}.json", json.loads(json.dumps(result)))
    write_text(f"{a.out}.md", md)
    plot(runs, result["directions"], f"{a.out}.png")
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "mt_ablation")
