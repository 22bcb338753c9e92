"""Ten seeds of the default and of the ``ensemble`` preset, from one set of single-seed runs.

The ``ensemble`` preset with ``--seed s`` runs the similarity seeds ``s .. s+K-1``, averages their
refined orthogonal maps, keeps the average when its unsupervised criterion beats the best seed's,
and re-weights what it kept. So ``N + K - 1`` runs of the default (``fast``) give ``N`` seeds of
both: each run's re-weighted maps are the default's seed, and each window of ``K`` consecutive
runs' orthogonal maps gives the ensemble's seed, computed exactly as ``umt align --preset
ensemble --seed s`` does after its candidates. No dictionary is read to learn or to choose; the
test (``5000-6500``) and development (``0-5000``) splits are read only to score, and the
supervised reference reads ``0-5000`` to learn. Writes ``OUT.json`` (one row per map) and
``OUT.md`` (per pair and method: P@1 per seed, min / mean / max, seeds within 2 points of the
best, on both splits, and how many pairs of seeds, and seeds against the supervised reference,
McNemar's exact test on the split's words tells apart at the 5% level):

    python experiments/seed_ensembles.py --emb-root runs/emb5 --dict-root $UMT_DATA/dictionaries \
        --pairs en-fr,de-en --seeds 13 --ensemble 2,4 --out results/seed_ensembles

``--rescore`` takes the saved orthogonal maps of an earlier run instead of running the seeds again
and gives them the current last step, so that re-weighting settings (``--reweight-words``) are
compared on the same maps: for the default settings its rows are the earlier run's, timings aside.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.alignment import AlignConfig, RefineConfig, align, apply_mapping, map_spaces, prepare  # noqa: E402
from umt.alignment.criterion import AGREEMENT_FAILED_BELOW, mean_csls_cosine, translation_agreement  # noqa: E402
from umt.alignment.presets import preset  # noqa: E402
from umt.alignment.reweight import reweight_from_map  # noqa: E402
from umt.alignment.unsupervised import average_if_better, scored_average  # noqa: E402
from umt.device import computing_on  # noqa: E402
from umt.embeddings import load_embeddings  # noqa: E402
from umt.errors import run_script  # noqa: E402
from umt.evaluation import load_dictionary, paired_difference, retrieve_queries  # noqa: E402
from umt.evaluation.bli import precision_metrics  # noqa: E402
from umt.fileio import save_npy, write_json, write_text  # noqa: E402

SPLITS = {"test": "5000-6500", "dev": "0-5000"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt embedding folder per language")
    ap.add_argument("--dict-root", required=True, help="folder with PAIR.5000-6500.txt and PAIR.0-5000.txt")
    ap.add_argument("--pairs", default="en-fr,de-en")
    ap.add_argument("--seeds", type=int, default=13, help="single-seed runs per pair: seeds 0 .. N-1")
    ap.add_argument("--ensemble", default="4", help="seeds per ensemble, or several sizes as 2,4 (the preset: 4)")
    ap.add_argument("--interval", type=int, default=None,
                    help="self-learning interval (default: the preset's; small values for quick checks)")
    ap.add_argument("--multiplier", type=float, default=None,
                    help="self-learning's keep-probability multiplier (default: the preset's, 2)")
    ap.add_argument("--average-final-phase", action="store_true",
                    help="self-learning's deterministic phase starts from the last stochastic phase's mean map")
    ap.add_argument("--average-when", choices=("better", "agree"), default="better",
                    help="which ensemble average is kept (AlignConfig.average_when): better = when the criterion "
                         "is higher (the preset's), agree = the seeds that agree with the best one, averaged")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--time-budget", type=float, default=1e9, help="start no new run after this many seconds")
    ap.add_argument("--device", default=None)
    ap.add_argument("--save-maps", default=None, metavar="DIR", help="write each run's orthogonal map here")
    ap.add_argument("--out", required=True, help="output prefix: writes OUT.json and OUT.md")
    ap.add_argument("--resume", action="store_true",
                    help="keep the rows already in OUT.json whose maps are in --save-maps and run only the rest")
    ap.add_argument("--rescore", action="store_true",
                    help="seeds whose orthogonal map is in --save-maps are not run again: the saved map is "
                         "re-weighted and scored with the current last step (to compare re-weighting settings "
                         "on the same maps; no seconds are recorded)")
    ap.add_argument("--reweight-words", type=int, default=None, metavar="N",
                    help="induce the re-weighting dictionaries among the N most frequent words (default: the "
                         "preset's)")
    a = ap.parse_args()
    with computing_on(a.device):  # where the tensor work runs, for the whole script
        if (a.resume or a.rescore) and not a.save_maps:
            ap.error("--resume and --rescore need --save-maps: they read the saved maps")
        for flag, value in (("--interval", a.interval), ("--reweight-words", a.reweight_words)):
            if value is not None and value < 1:  # 0 would otherwise fall back to the preset's value unnoticed
                ap.error(f"{flag} {value}: expected 1 or more")
        if a.multiplier is not None and not a.multiplier > 1:
            ap.error(f"--multiplier {a.multiplier}: expected a value > 1")
        t_start = time.time()
        rows: list[dict] = []
        done = json.loads(Path(f"{a.out}.json").read_text()) if a.resume and Path(f"{a.out}.json").exists() else []
        interval = a.interval if a.interval is not None else preset("fast").selflearn.interval
        words = a.reweight_words if a.reweight_words is not None else preset("fast").reweight_words
        multiplier = a.multiplier if a.multiplier is not None else preset("fast").selflearn.multiplier
        for pair in a.pairs.split(","):
            # a row made with other self-learning settings or re-weighting vocabulary is another experiment: it
            # is run again (rows written before the vocabulary or multiplier was recorded used 10000 words and 2)
            run_pair(a, pair, rows, t_start, interval, words, multiplier,
                     {(r["method"], r["seed"]): r for r in done if r["pair"] == pair
                      and r.get("interval", interval) == interval and r.get("reweight_words", 10000) == words
                      and r.get("multiplier", 2.0) == multiplier
                      and r.get("average_final_phase", False) == a.average_final_phase
                      and (r["method"] == "fast" or r.get("average_when", "better") == a.average_when)})
        write_text(f"{a.out}.md", summary(rows))
        print(summary(rows))


def run_pair(a: argparse.Namespace, pair: str, rows: list[dict], t_start: float, interval: int, words: int,
             multiplier: float, done: dict) -> None:
    """The supervised reference, the single-seed runs (self-learning ``interval`` and ``multiplier``,
    re-weighting among ``words`` words) and the ensembles of one pair; appends to ``rows``. ``done``
    holds an earlier run's rows by (method, seed): those are kept rather than computed again."""
    s, t = pair.split("-")
    src = load_embeddings(Path(a.emb_root) / s, a.max_vocab)
    tgt = load_embeddings(Path(a.emb_root) / t, a.max_vocab)
    gold = {name: load_dictionary(Path(a.dict_root) / f"{pair}.{split}.txt", src, tgt)
            for name, split in SPLITS.items()}

    def score(xm: np.ndarray, ym: np.ndarray) -> dict:
        """CSLS P@1 on each split, and which words were right ("1") in the split's query order."""
        scores = {}
        for name, g in gold.items():
            found = retrieve_queries(xm, ym, g, "csls", 1)
            scores[name] = precision_metrics([found], g, ks=(1,))["csls_p1"]
            scores[f"{name}_hits"] = "".join("1" if h else "0" for h in found.hits(1).tolist())
        return scores

    def record(row: dict) -> None:
        rows.append({"pair": pair, **row})
        print(json.dumps({key: v for key, v in rows[-1].items() if not key.endswith("_hits")}), flush=True)
        write_json(f"{a.out}.json", rows)

    reference = AlignConfig(method="procrustes", refine=RefineConfig(iterations=3), reweight=None,
                            dict=str(Path(a.dict_root) / f"{pair}.0-5000.txt"), device=a.device)
    sup = align(src, tgt, reference, progress=False)
    x, y = prepare(src, tgt, reference.normalize)
    record({"method": "supervised", "seed": None, **score(*sup.mapped(x, y))})
    cfg = replace(preset("fast"), device=a.device)
    cfg = replace(cfg, selflearn=replace(cfg.selflearn, interval=interval, multiplier=multiplier,
                                         average_final_phase=a.average_final_phase), reweight_words=words)
    recorded = {"interval": interval, "multiplier": multiplier, "reweight_words": words}  # in every unsupervised row
    if a.average_final_phase:
        recorded["average_final_phase"] = True
    sizes = [int(k) for k in str(a.ensemble).split(",")]
    runs = []  # (orthogonal map, criterion) per seed
    for seed in range(a.seeds):
        saved = Path(a.save_maps) / f"{pair}_fast_{seed}.npy" if a.save_maps else None
        if saved is not None and saved.exists() and (("fast", seed) in done or a.rescore):
            w = np.load(saved)  # its criterion is recomputed unrounded, as the ensemble compares criteria
            runs.append((w, mean_csls_cosine(apply_mapping(x, w), y, cfg.refine.criterion_words)))
            if ("fast", seed) in done:
                record({key: v for key, v in done[("fast", seed)].items() if key != "pair"})
            else:  # --rescore: the saved map gets the current last step
                maps = reweight_from_map(x, y, w, cfg.reweight, cfg.reweight_words, cfg.reweight_rounds)
                record({"method": "fast", "seed": seed, **recorded, "criterion": round(runs[-1][1], 5),
                        "rescored": True, **score(*map_spaces(x, y, *maps))})
        else:
            if time.time() - t_start > a.time_budget:
                break
            t0 = time.time()
            result = align(src, tgt, replace(cfg, seed=seed), progress=False)
            runs.append((result.orthogonal, result.criterion))
            if saved is not None:
                save_npy(saved, result.orthogonal)
            record({"method": "fast", "seed": seed, **recorded, "criterion": round(result.criterion, 5),
                    "seconds": round(time.time() - t0, 1), **score(*result.mapped(x, y))})
        for k in sizes:  # the window of k seeds that this run completes, so rows land as runs finish
            if len(runs) >= k:
                first = len(runs) - k
                if (f"ensemble{k}", first) in done:
                    record({key: v for key, v in done[(f"ensemble{k}", first)].items() if key != "pair"})
                    continue
                kept, criterion, label = ensemble_map(x, y, runs[first:], replace(cfg, average_when=a.average_when))
                maps = reweight_from_map(x, y, kept, cfg.reweight, cfg.reweight_words, cfg.reweight_rounds)
                gate = {"average_when": a.average_when} if a.average_when != "better" else {}
                record({"method": f"ensemble{k}", "seed": first, **recorded, **gate, "kept": label if label == "average"
                        else f"seed {first + label}", "criterion": round(criterion, 5),
                        **score(*map_spaces(x, y, *maps))})


def ensemble_map(x: np.ndarray, y: np.ndarray, members: list, cfg: AlignConfig) -> tuple:
    """What the ensemble preset keeps from its members' (orthogonal map, criterion): the best member
    (ties: the first, as ``select_best``), or the average when the library's rule
    (``cfg.average_when``) prefers it. Returns (map, criterion, ``"average"`` or the kept member's index)."""
    best = max(range(len(members)), key=lambda i: members[i][1])
    # the kept map first and its replicates after it, in seed order, as the preset passes them
    replicates = [w for i, (w, _) in enumerate(members) if i != best]
    if cfg.average_when == "agree":
        agreeing = [w for w in replicates if translation_agreement(x, y, members[best][0], w)
                    >= AGREEMENT_FAILED_BELOW]
        if not agreeing:
            return (*members[best], best)
        average = scored_average(x, y, [members[best][0], *agreeing], cfg.refine.criterion_words)
        return average.mapping, average.criterion, "average"
    better = average_if_better(x, y, *members[best], replicates, cfg.refine.criterion_words)
    return (better.mapping, better.criterion, "average") if better is not None else (*members[best], best)


def _hits(row: dict, split: str) -> np.ndarray | None:
    text = row.get(f"{split}_hits")  # rows written before the per-word hits were recorded lack them
    return None if text is None else np.frombuffer(text.encode(), dtype=np.uint8) == ord("1")


def differing(rows: list[dict], split: str, against: dict | None = None) -> str:
    """How many pairs of the rows' maps (or rows against ``against``) differ at the 5% level by
    McNemar's exact test on the split's words, and the smallest p-value, e.g. "3 of 45 (0.012)"
    (to correct for the number of comparisons, compare it with 0.05 / 45); "" without per-word hits."""
    hits = [_hits(r, split) for r in rows]
    if any(h is None for h in hits):
        return ""
    if against is not None:
        reference = _hits(against, split)
        if reference is None:
            return ""
        pairs = [(h, reference) for h in hits]
    else:
        pairs = [(hits[i], hits[j]) for i in range(len(hits)) for j in range(i + 1, len(hits))]
    p = [paired_difference(u, v).p_value for u, v in pairs]
    return f"{sum(q < 0.05 for q in p)} of {len(p)} ({min(p):.2g})"


def summary(rows: list[dict]) -> str:
    """Per pair and method: CSLS P@1 per seed and its spread, on each split, and how many seeds
    really differ: pairs of seeds, and seeds against the supervised reference, that McNemar's
    exact test on the split's words separates at the 5% level (by chance alone about 1 in 20), with
    the smallest p-value. Against the reference on the test split only: it learned from the dev split."""
    lines = ["| pair | method | split | CSLS P@1 per seed | min / mean / max | spread | within 2 points of the best "
             "| pairs of seeds that differ (p < 0.05; smallest p) | seeds that differ from the supervised reference |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["pair"], r["method"]), []).append(r)
    for (pair, method), group in groups.items():
        reference = next((r for r in rows if r["pair"] == pair and r["method"] == "supervised"), None)
        for split in SPLITS:
            p1 = [r[split] for r in group]
            ok = sum(p >= max(p1) - 2.0 for p in p1)
            versus = ("" if method == "supervised" or reference is None or split == "dev"
                      else differing(group, split, reference))
            lines.append(f"| {pair} | {method} | {split} | {', '.join(f'{p:.1f}' for p in p1)} | {min(p1):.2f} / "
                         f"{sum(p1) / len(p1):.2f} / {max(p1):.2f} | {max(p1) - min(p1):.2f} | {ok} of {len(p1)} "
                         f"| {differing(group, split) if len(group) > 1 else ''} | {versus} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    run_script(main, "seed_ensembles")
