"""BLI table: every method on every pair and seed, with the supervised reference beside it.

Each row aligns one pair with one configuration and seed, then scores it on the MUSE test split
(``SRC-TGT.5000-6500.txt``). Unsupervised configurations never read a dictionary: the test
dictionary is read only after training, to score; ``supervised`` reads the ``0-5000`` split.
Writes ``OUT.json``, ``OUT.md`` (a Markdown table with a per-method summary over seeds) and, with
more than one seed, ``OUT.png`` (CSLS P@1 of every seed per pair and method); prints one JSON
line per run. Two tables of experiments/RESULTS.md:

    python experiments/bli_table.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \
        --configs supervised,identical,auto-cpu --out results/bli
    python experiments/bli_table.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \
        --configs fast --seeds 0-9 --out results/seeds

The README's BLI figures (``experiments/headline/bli.json``): the default preset and the
supervised reference on the full vectors, beside the default on the quick start's vectors (an
earlier run of this script on them, ``--quick``); each with its vectors' recipe and training time:

    python experiments/bli_table.py --emb-root runs/emb-quick --dict-root $UMT_DATA/dictionaries \
        --configs duo --out results/bli-quick
    python experiments/bli_table.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \
        --configs duo,supervised-ref --out results/bli-full --quick results/bli-quick.json \
        --headline experiments/headline/bli.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from umt.alignment import AlignConfig, RefineConfig, align, apply_mapping, prepare
from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.presets import preset
from umt.alignment.similarity_init import SelfLearnConfig
from umt.device import computing_on
from umt.embeddings import load_embeddings
from umt.errors import UmtError, run_script
from umt.evaluation import load_dictionary, precision_at_k
from umt.evaluation.bli import identical_queries, precision_metrics, retrieve_queries
from umt.fileio import read_json, save_npy, save_png, write_json, write_text
from umt.pipeline import supervised_reference

# A CPU budget: a 512-wide discriminator and two 250k-sample epochs (about 10x cheaper than the
# default 2048-wide, three-epoch stage), so that an adversarial row fits in minutes on a CPU.
CPU_BUDGET_ADVERSARIAL = AdversarialConfig(epochs=2, dis_hidden=512)

CONFIGS = {
    "duo": lambda: preset("duo"),  # umt's default
    # the supervised reference umt reports beside it (its dictionary is set per pair below)
    "supervised-ref": lambda: supervised_reference(""),
    # The foundation issue's reference (orthogonal), and the same re-weighted as umt's default is.
    "supervised": lambda: AlignConfig(method="procrustes", refine=RefineConfig(iterations=3), reweight=None),
    "supervised-rw": lambda: AlignConfig(method="procrustes", refine=RefineConfig(iterations=3)),
    "fast-orth": lambda: replace(preset("fast"), reweight=None),
    "ensemble": lambda: preset("ensemble"),
    "identical": lambda: AlignConfig(method="identical", refine=RefineConfig(iterations=3)),
    "fast": lambda: preset("fast"),
    "plateau": lambda: preset("plateau"),
    "muse": lambda: preset("muse"),
    "sim10k": lambda: replace(preset("fast"), method="similarity"),
    "sim5k": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(cutoff=5000)),
    "sim20k": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(cutoff=20000)),
    "sim10k-i5": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(interval=5)),
    "vecmap": lambda: preset("vecmap"),
    "stag10k-i50": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=10000, interval=50, schedule="stagnation", max_iterations=3000)),
    "stag10k-i20": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=10000, interval=20, schedule="stagnation", max_iterations=3000)),
    "stag5k-i50": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=5000, interval=50, schedule="stagnation", max_iterations=3000)),
    "fixed8k-i30": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=8000, interval=30, schedule="fixed", max_iterations=3000)),
    "fixed10k-i50": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=10000, interval=50, schedule="fixed", max_iterations=3000)),
    "adversarial": lambda: replace(preset("fast"), method="adversarial"),
    "adversarial-cpu": lambda: replace(preset("fast"), method="adversarial", adversarial=CPU_BUDGET_ADVERSARIAL),
    "robust": lambda: preset("robust"),
    # auto over the fast initialisation and the CPU-budget adversarial one: both rows in one run.
    "auto-cpu": lambda: replace(preset("robust"), candidates="similarity:0,adversarial:0",
                                adversarial=CPU_BUDGET_ADVERSARIAL),
}


def parse_seeds(spec: str) -> list[int]:
    """``"0,3"`` or ``"0-9"`` (inclusive) or a mix of both."""
    seeds = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt embedding folder per language")
    ap.add_argument("--dict-root", required=True, help="folder with SRC-TGT.5000-6500.txt test dictionaries")
    ap.add_argument("--pairs", default="en-fr,fr-en,en-de,de-en")
    ap.add_argument("--configs", default="fast", help=f"comma list of: {', '.join(CONFIGS)}")
    ap.add_argument("--seeds", default="0", help="comma list or range, e.g. 0-9")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--time-budget", type=float, default=1e9, help="start no new run after this many seconds")
    ap.add_argument("--adversarial-samples", type=int, default=None,
                    help="samples per adversarial epoch, overriding the method's own (to fit a time budget)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", required=True, help="output prefix: writes OUT.json and OUT.md")
    ap.add_argument("--save-maps", default=None, metavar="DIR",
                    help="also write each run's mapping as DIR/PAIR_METHOD_SEED.npy (for later diagnosis)")
    ap.add_argument("--headline", default=None, metavar="FILE",
                    help="also write each pair's duo and supervised-ref CSLS P@1 (mean over seeds), the vectors' "
                         "recipe and training seconds, the machine and the date to this JSON (the README's figures)")
    ap.add_argument("--quick", default=None, metavar="OUT.json",
                    help="with --headline: this script's results on the quick start's vectors, whose duo rows "
                         "give each pair's quick_unsupervised_csls_p1")
    a = ap.parse_args()
    if a.quick and not a.headline:
        ap.error("--quick goes with --headline")
    if a.headline and not {"duo", "supervised-ref"} <= set(a.configs.split(",")):
        ap.error("--headline needs each pair's duo and supervised-ref runs: give --configs duo,supervised-ref")
    with computing_on(a.device):  # where the tensor work runs, for the whole script
        unknown = [c for c in a.configs.split(",") if c not in CONFIGS]
        if unknown:
            ap.error(f"unknown method {', '.join(unknown)}: choose from {', '.join(CONFIGS)}")
        t_start = time.time()
        # Resumable: the runs already in OUT.json are kept, not run again (a table can grow over sessions).
        previous = Path(f"{a.out}.json")
        rows = json.loads(previous.read_text()) if previous.exists() else []
        done = {(r["config"], r["seed"], r["pair"]) for r in rows}
        cache, recipes = {}, {}
        jobs = [(name, seed, pair) for name in a.configs.split(",") for seed in parse_seeds(a.seeds)
                for pair in a.pairs.split(",") if (name, seed, pair) not in done]
        for name, seed, pair in jobs:
            s, t = pair.split("-")
            for lang in (s, t):
                if lang not in cache:
                    cache[lang] = load_embeddings(Path(a.emb_root) / lang, a.max_vocab)
                    recipes[lang] = vectors_recipe(Path(a.emb_root) / lang)
            src, tgt = cache[s], cache[t]
            if time.time() - t_start > a.time_budget:
                break
            cfg = replace(CONFIGS[name](), seed=seed, device=a.device)
            if a.adversarial_samples:
                cfg = replace(cfg, adversarial=replace(cfg.adversarial, epoch_size=a.adversarial_samples))
            if cfg.method == "procrustes":
                cfg = replace(cfg, dict=str(Path(a.dict_root) / f"{pair}.0-5000.txt"))
            t0 = time.time()
            result = align(src, tgt, cfg, progress=False)
            seconds = time.time() - t0
            if a.save_maps:
                # the orthogonal map (before any re-weighting): the one seeds can be averaged over
                save_npy(Path(a.save_maps) / f"{pair}_{name}_{seed}.npy",
                         result.mapping if result.orthogonal is None else result.orthogonal)
            x, y = prepare(src, tgt, cfg.normalize)
            gold = load_dictionary(Path(a.dict_root) / f"{pair}.5000-6500.txt", src, tgt)
            found = [retrieve_queries(*result.mapped(x, y), gold, method) for method in ("nn", "csls")]
            m = precision_metrics(found, gold, identical=identical_queries(found[0], src.words, tgt.words))
            row = {"pair": pair, "config": name, "seed": seed, "supervised": result.supervised, **{
                   k: m[k] for k in ("nn_p1", "csls_p1", "csls_p1_no_identical", "n_identical", "csls_p5", "csls_p10",
                                     "coverage", "n_queries")},
                   # "criterion": the last refinement's; "best_criterion": the kept map's
                   "criterion": round(result.criteria[-1] if result.criteria else 0, 4),
                   "best_criterion": round(result.criterion, 4), "chosen": result.chosen,
                   "verdict": result.verdict, "seconds": round(seconds, 1),
                   "vectors": {lang: recipes[lang] for lang in (s, t)}}
            kept = next((c for c in result.candidates if c.name == result.chosen), None)
            if kept is not None and "self_learning" in kept.curves:
                row["self_learning_iterations"] = len(kept.curves["self_learning"])
            if result.agreement is not None:
                row["agreement"] = round(result.agreement, 4)
            if len(result.candidates) > 1:  # score every candidate's orthogonal map, after the criterion has chosen
                row["candidates"] = [
                    {"name": c.name, "criterion": round(c.criterion, 4), "csls_p1": precision_at_k(
                        apply_mapping(x, c.result.mapping), y, gold)["csls_p1"]}
                    for c in result.candidates]
            rows.append(row)
            print(json.dumps(row), flush=True)
            write_table(rows, a.out)
        if rows and not jobs:  # nothing new to run: rewrite the table (e.g. after merging two OUT.json files)
            write_table(rows, a.out)
        if a.headline:
            quick = read_json(a.quick, "bli_table.py results") if a.quick else []
            write_json(a.headline, headline(rows, quick, a.pairs.split(",")))


def vectors_recipe(folder: Path) -> dict:
    """How a vector folder was made, from its ``meta.json``: fastText's settings and training seconds
    (``umt embed train``), or the file it was converted from."""
    meta = read_json(folder / "meta.json", "vector folder description")
    keep = ("dim", "epoch", "minn", "maxn", "window", "min_count", "neg", "lr", "threads")
    return {"folder": str(folder), "words": meta.get("words"), "seconds": meta.get("seconds_total"),
            **({"fasttext": {k: meta["config"][k] for k in keep if k in meta["config"]}} if "config" in meta
               else {"source": meta.get("source")})}


def headline(rows: list[dict], quick_rows: list[dict], pairs: list[str]) -> dict:
    """The README's BLI figures: per pair, umt's default (``duo``, mean over its seeds) and the supervised
    reference on the same vectors, the default on the quick vectors, and each set of vectors' cost."""
    from umt.rundir import machine_and_date

    def runs(source: list[dict], pair: str, config: str) -> list[dict]:
        return [r for r in source if r["pair"] == pair and r["config"] == config]

    def mean(found: list[dict], key: str) -> float | None:
        values = [r[key] for r in found if key in r]
        return round(sum(values) / len(values), 2) if values else None

    out: dict = {**machine_and_date(), "metric": "CSLS P@1, MUSE test split (5000-6500); "
                 "*_no_identical: the test words whose gold translations do not include their own spelling"}
    for pair in pairs:
        unsup, sup, quick = runs(rows, pair, "duo"), runs(rows, pair, "supervised-ref"), runs(quick_rows, pair, "duo")
        if not unsup or not sup:
            raise UmtError(f"{pair}: --headline needs this pair's duo and supervised-ref runs; add "
                           "--configs duo,supervised-ref")
        entry = {"unsupervised_csls_p1": mean(unsup, "csls_p1"), "supervised_csls_p1": mean(sup, "csls_p1"),
                 "quick_unsupervised_csls_p1": mean(quick, "csls_p1"),
                 "unsupervised_csls_p1_no_identical": mean(unsup, "csls_p1_no_identical"),
                 "supervised_csls_p1_no_identical": mean(sup, "csls_p1_no_identical"),
                 "unsupervised_seeds": sorted(r["seed"] for r in unsup),
                 "unsupervised_seconds": mean(unsup, "seconds"), "supervised_seconds": mean(sup, "seconds")}
        for prefix, found in (("", unsup), ("quick_", quick)):
            vectors = found[0].get("vectors") if found else None
            entry[f"{prefix}vectors"] = vectors
            entry[f"{prefix}vectors_seconds"] = (round(sum(v["seconds"] for v in vectors.values()), 1)
                                                 if vectors and all(v.get("seconds") for v in vectors.values())
                                                 else None)
        out[pair] = entry
    return out


def write_table(rows: list[dict], out: str) -> None:
    """``out.json`` with every run and ``out.md`` with one line per run and a per-config summary."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_json(f"{out}.json", rows)
    lines = ["| pair | method | seed | NN P@1 | CSLS P@1 | without identical pairs | P@5 | P@10 | covered | criterion "
             "| seconds |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["pair"], r["config"] != "supervised", r["config"], r["seed"])):
        honest = f"{r['csls_p1_no_identical']:.1f}" if "csls_p1_no_identical" in r else "-"
        lines.append(f"| {r['pair']} | {r['config']} | {r['seed']} | {r['nn_p1']:.1f} | {r['csls_p1']:.1f} | "
                     f"{honest} | {r['csls_p5']:.1f} | {r['csls_p10']:.1f} | {r['n_queries']} | "
                     f"{r['best_criterion']:.4f} | {r['seconds']:.0f} |")
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["pair"], r["config"]), []).append(r["csls_p1"])
    # a seed "succeeds" when it lands within 2 points of the best seed of its pair and method
    lines += ["", "| pair | method | runs | CSLS P@1 min | mean | max | runs within 2 points of the best |",
              "|---|---|---|---|---|---|---|"]
    for (pair, config), p1 in sorted(groups.items()):
        ok = sum(p >= max(p1) - 2.0 for p in p1)
        lines.append(f"| {pair} | {config} | {len(p1)} | {min(p1):.1f} | {sum(p1) / len(p1):.1f} | {max(p1):.1f} | "
                     f"{ok} of {len(p1)} |")
    with_candidates = [r for r in rows if r.get("candidates")]
    if with_candidates:
        lines += ["", "Candidates of each `auto` run (scored after the unsupervised criterion chose):", "",
                  "| pair | method | seed | candidate | criterion | CSLS P@1 | chosen |",
                  "|---|---|---|---|---|---|---|"]
        for r in sorted(with_candidates, key=lambda r: (r["pair"], r["config"], r["seed"])):
            for c in r["candidates"]:
                lines.append(f"| {r['pair']} | {r['config']} | {r['seed']} | {c['name']} | {c['criterion']:.4f} | "
                             f"{c['csls_p1']:.1f} | {'yes' if c['name'] == r['chosen'] else ''} |")
    write_text(f"{out}.md", "\n".join(lines) + "\n")
    if any(len(p1) > 1 for p1 in groups.values()):
        plot_seeds(groups, f"{out}.png")


def plot_seeds(groups: dict, path: str) -> None:
    """One column of dots per (pair, method): a failed seed shows as a dot far below the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(groups)
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(keys)), 3.5))
    for i, key in enumerate(keys):
        ax.scatter([i] * len(groups[key]), groups[key], alpha=0.7)
    ax.set_xticks(range(len(keys)), [f"{p}\n{c}" for p, c in keys], fontsize=8)
    ax.set_ylabel("CSLS P@1 (one dot per seed)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_png(fig, path, dpi=120)


if __name__ == "__main__":
    run_script(main, "bli_table")
