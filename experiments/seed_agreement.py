"""How alike the seeds of one setting translate, from their saved orthogonal maps (no dictionary).

Reads the maps ``seed_ensembles.py --save-maps DIR`` writes (``PAIR_fast_SEED.npy``), gives each the
last step ``umt align`` gives it (re-weighting among ``--reweight-words`` words, two rounds, as the
default) and takes, in each map's own re-weighted spaces, the CSLS best target of each of the
``--sources`` most frequent source words among the ``--targets`` most frequent target words. The
agreement of two seeds is the share of those sources given the same target; the table holds its mean
over all pairs of seeds, for the re-weighted maps (what ``umt align`` outputs) and for the orthogonal
maps alone (the same words, each map's mapped source and the target space). Seeds that agree more
land closer to one map, and their precision varies less from seed to seed. Writes ``OUT.json`` and
``OUT.md``:

    python experiments/seed_agreement.py --emb-root runs/emb5 --maps runs/maps --pair de-en \
        --out results/agreement_de-en
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reweight_table import mean_agreement  # noqa: E402  (this folder is on the path)

from umt.alignment import AlignConfig, apply_mapping, map_spaces, prepare  # noqa: E402
from umt.alignment.reweight import reweight_from_map  # noqa: E402
from umt.device import computing_on  # noqa: E402
from umt.embeddings import load_embeddings  # noqa: E402
from umt.errors import run_script  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402
from umt.retrieval.dense import mutual_best  # noqa: E402


def best_targets(xm: np.ndarray, ym: np.ndarray, sources: int, targets: int) -> np.ndarray:
    """CSLS best target (among the ``targets`` most frequent) of each of the ``sources`` most frequent sources."""
    unit = lambda a: a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # noqa: E731
    return mutual_best(unit(xm[:sources]), unit(ym[:targets]), "csls", 10)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt embedding folder per language")
    ap.add_argument("--maps", required=True, help="folder of PAIR_fast_SEED.npy orthogonal maps")
    ap.add_argument("--pair", required=True, help="SRC-TGT, e.g. de-en")
    ap.add_argument("--sources", type=int, default=10000, help="most frequent source words compared")
    ap.add_argument("--targets", type=int, default=20000, help="most frequent target words searched")
    ap.add_argument("--reweight-words", type=int, default=AlignConfig().reweight_words)
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", required=True, help="output prefix: writes OUT.json and OUT.md")
    a = ap.parse_args()
    pattern = re.compile(rf"{re.escape(a.pair)}_fast_(\d+)\.npy")
    found = sorted((int(m.group(1)), p) for p in Path(a.maps).glob("*.npy") if (m := pattern.fullmatch(p.name)))
    if len(found) < 2:
        ap.error(f"{a.maps}: fewer than two {a.pair}_fast_SEED.npy maps, nothing to compare")
    s, t = a.pair.split("-")
    src, tgt = (load_embeddings(Path(a.emb_root) / lang, a.max_vocab) for lang in (s, t))
    cfg = AlignConfig()
    x, y = prepare(src, tgt, cfg.normalize)
    with computing_on(a.device):  # where the tensor work runs
        orthogonal, reweighted = [], []
        for seed, path in found:
            w = np.load(path)
            orthogonal.append(best_targets(apply_mapping(x, w), y, a.sources, a.targets))
            maps = reweight_from_map(x, y, w, cfg.reweight, a.reweight_words, cfg.reweight_rounds)
            reweighted.append(best_targets(*map_spaces(x, y, *maps), a.sources, a.targets))
            print(f"seed {seed} done", flush=True)
        result = {"pair": a.pair, "seeds": [seed for seed, _ in found], "sources": a.sources, "targets": a.targets,
                  "reweight_words": a.reweight_words, "orthogonal": mean_agreement(orthogonal),
                  "reweighted": mean_agreement(reweighted)}
        write_json(f"{a.out}.json", result)
        table = ("| pair | seeds | agreement of two seeds, orthogonal maps (%) | re-weighted, as umt align outputs "
                 "(%) |\n|---|---|---|---|\n"
                 f"| {a.pair} | {len(found)} | {result['orthogonal']:.2f} | {result['reweighted']:.2f} |\n")
        write_text(f"{a.out}.md", table)
        print(table)


if __name__ == "__main__":
    run_script(main, "seed_agreement")
