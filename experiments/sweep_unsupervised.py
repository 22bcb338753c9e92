"""Sweep unsupervised alignment settings over language pairs and seeds; print P@1 and time.

Used to choose umt's defaults (see the closing notes of issue 3). Dictionaries are read only to
score each finished run, never by the method itself.

    python experiments/sweep_unsupervised.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \
        --pairs en-fr,fr-en --configs fast,vecmap --seeds 0,1 --out results/sweep.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from umt.alignment import align, apply_mapping, prepare
from umt.alignment.presets import preset
from umt.alignment.similarity_init import SelfLearnConfig
from umt.embeddings import load_embeddings
from umt.evaluation import load_dictionary, precision_at_k

CONFIGS = {
    "fast": lambda: preset("fast"),
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
    "fixed10k-i50": lambda: replace(preset("fast"), method="similarity", selflearn=SelfLearnConfig(
        cutoff=10000, interval=50, schedule="fixed", max_iterations=3000)),
    "adversarial": lambda: replace(preset("fast"), method="adversarial"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt embedding folder per language")
    ap.add_argument("--dict-root", required=True, help="folder with SRC-TGT.5000-6500.txt test dictionaries")
    ap.add_argument("--pairs", default="en-fr,fr-en,en-de,de-en")
    ap.add_argument("--configs", default="fast")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--time-budget", type=float, default=1e9, help="start no new run after this many seconds")
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t_start = time.time()
    rows = []
    cache = {}
    jobs = [(name, seed, pair) for name in a.configs.split(",") for seed in map(int, a.seeds.split(","))
            for pair in a.pairs.split(",")]
    for name, seed, pair in jobs:
        s, t = pair.split("-")
        for lang in (s, t):
            if lang not in cache:
                cache[lang] = load_embeddings(Path(a.emb_root) / lang, a.max_vocab)
        src, tgt = cache[s], cache[t]
        if time.time() - t_start > a.time_budget:
            break
        cfg = replace(CONFIGS[name](), seed=seed, device=a.device)
        t0 = time.time()
        result = align(src, tgt, cfg, progress=False)
        seconds = time.time() - t0
        x, y = prepare(src, tgt, cfg.normalize)
        gold = load_dictionary(Path(a.dict_root) / f"{pair}.5000-6500.txt", src, tgt)
        m = precision_at_k(apply_mapping(x, result.mapping), y, gold, device=a.device)
        row = {"pair": pair, "config": name, "seed": seed, "csls_p1": m["csls_p1"], "nn_p1": m["nn_p1"],
               "criterion": round(result.criteria[-1] if result.criteria else 0, 4),
               "best_criterion": round(max(result.criteria), 4), "chosen": result.chosen,
               "seconds": round(seconds, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
