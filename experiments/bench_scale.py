"""Benchmark: time and peak memory of loading, retrieval and unsupervised alignment by vocabulary size.

Synthetic vectors (a random space and a noisy rotation of it, rows shuffled) stand in for real
ones at sizes beyond the real vocabularies. Prints one line per size and writes OUT.json, OUT.md
and OUT.png (seconds of each stage and peak memory against vocabulary size).
Targets (issue 3): a full unsupervised run (the default preset, refinement included) within 5
minutes and 4 GiB at 200k x 200k on 2 cores.

    python experiments/bench_scale.py --sizes 200000 --skip-load --out results/scale_duo
    python experiments/bench_scale.py --sizes 20000,50000,100000,200000 --preset fast --out results/scale
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from umt.alignment import align, prepare
from umt.alignment.presets import DEFAULT_PRESET, PRESETS, preset
from umt.embeddings import Embeddings, load_embeddings, save_vec
from umt.errors import run_script
from umt.fileio import atomic_path, write_json, write_text
from umt.retrieval import Retriever


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def synthetic_pair(n: int, dim: int, rng: np.random.Generator) -> tuple[Embeddings, Embeddings]:
    # A low-rank-plus-noise space: the similarity structure real vectors have, at any size.
    basis = rng.standard_normal((64, dim)).astype(np.float32)
    x = rng.standard_normal((n, 64)).astype(np.float32) @ basis + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    local = np.arange(n) + rng.integers(-20, 21, n)  # frequency ranks differ a little between languages
    order = np.argsort(local, kind="stable")
    y = x[order] @ q.T.astype(np.float32) + 0.05 * rng.standard_normal((n, dim)).astype(np.float32)
    return (Embeddings([f"s{i}" for i in range(n)], x, source="src"),
            Embeddings([f"t{i}" for i in order], y, source="tgt"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000,50000,100000,200000")
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--skip-load", action="store_true", help="do not time .vec loading")
    ap.add_argument("--out", default="results/scale", help="output prefix: OUT.json and OUT.md")
    ap.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                    help=f"the alignment recipe timed (default {DEFAULT_PRESET}, umt align's default)")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in map(int, a.sizes.split(",")):
        src, tgt = synthetic_pair(n, a.dim, rng)
        row = {"words": n, "dim": a.dim, "preset": a.preset}
        if not a.skip_load:
            with tempfile.TemporaryDirectory() as tmp:
                save_vec(src, Path(tmp) / "s.vec")
                t = time.perf_counter()
                load_embeddings(Path(tmp) / "s.vec")
                row["load_vec_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        result = align(src, tgt, preset(a.preset), progress=False)
        row["align_s"] = round(time.perf_counter() - t, 1)
        # summed over the candidates (the seeds of auto presets)
        row["init_s"] = round(sum(c.init_seconds for c in result.candidates), 1)
        row["refine_s"] = round(sum(c.refine_seconds for c in result.candidates), 1)
        mapped, y = result.mapped(*prepare(src, tgt, result.config.normalize))
        t = time.perf_counter()
        _, ids = Retriever(mapped, y, "csls").search(np.arange(0, min(n, 6500), 1)[-1500:], 10)
        row["csls_1500_queries_s"] = round(time.perf_counter() - t, 1)
        hits = [tgt.words[j[0]] == f"t{q}" for q, j in zip(range(min(n, 6500))[-1500:], ids)]
        row["p1_true_pairing"] = round(100 * float(np.mean(hits)), 1)
        row["peak_rss_gib"] = round(peak_rss_gib(), 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_outputs(rows, a.out)


def write_outputs(rows: list[dict], out: str) -> None:
    write_json(f"{out}.json", rows)
    keys = list(rows[0])
    md = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    md += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    write_text(f"{out}.md", "\n".join(md) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    words = [r["words"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, label in (("load_vec_s", "load .vec"), ("init_s", "unsupervised init"), ("refine_s", "refinement"),
                       ("align_s", "alignment total"), ("csls_1500_queries_s", "CSLS, 1,500 queries")):
        if key in rows[0]:
            left.plot(words, [r[key] for r in rows], marker="o", label=label)
    left.set_xlabel("words per language")
    left.set_ylabel("seconds")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.plot(words, [r["peak_rss_gib"] for r in rows], marker="o")
    right.set_xlabel("words per language")
    right.set_ylabel("peak resident memory (GiB)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(f"{out}.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    run_script(main, "bench_scale")
