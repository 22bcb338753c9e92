"""Benchmark: loading word vectors (.vec text and umt's native format).

Writes a synthetic ``.vec`` of ``--words`` x ``--dim`` (or times a file you give) and prints the
seconds each loader takes. Target (issue 2): 200k x 300 from ``.vec`` in under 15 s on 2 cores.

    python experiments/bench_load.py --words 200000 --dim 300
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from umt.embeddings import Embeddings, load_embeddings, save_embeddings, save_vec
from umt.errors import run_script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=int, default=200000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--vec", default=None, help="time this .vec file instead of a synthetic one")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(a.vec) if a.vec else Path(tmp) / "synthetic.vec"
        if not a.vec:
            rng = np.random.default_rng(0)
            emb = Embeddings([f"w{i}" for i in range(a.words)], rng.standard_normal((a.words, a.dim)) * 0.1)
            t = time.perf_counter()
            save_vec(emb, path)
            print(f"wrote {path.stat().st_size / 2**20:.0f} MiB .vec in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        emb = load_embeddings(path)
        t_vec = time.perf_counter() - t
        save_embeddings(emb, Path(tmp) / "native")
        t = time.perf_counter()
        load_embeddings(Path(tmp) / "native")
        t_native = time.perf_counter() - t
    result = {"words": len(emb), "dim": emb.dim, "seconds_vec": round(t_vec, 4), "seconds_native": round(t_native, 4)}
    print(f"load .vec {len(emb)} x {emb.dim}: {t_vec:.2f} s   native: {t_native:.2f} s")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    run_script(main, "bench_load")
