"""The supervised reference's recipe: precision against time, chosen on a development split.

Every unsupervised figure is read against a supervised map on the same vectors, so that map's
cost is part of every run. This script times candidate recipes for it on one pair and scores
them with the same evaluator (CSLS P@1, MUSE protocol):

- ``refined``: Procrustes on the training pairs, 3 Procrustes refinements on induced
  dictionaries, then re-weighting (VecMap's step) on the dictionary the map induces, 2 rounds
  (umt's reference today: ``umt align --method procrustes --dict TRAIN --refine 3``);
- ``procrustes-reweight``: the same without the refinements;
- ``seed-reweight``: re-weighted maps learned on the training pairs themselves, nothing induced
  (what VecMap's ``--supervised`` mode does);
- ``seed-reweight+1``: that, then one re-weighting round on the dictionary it induces.

Development split: every fifth distinct source word of the training dictionary (``0-5000``) is
held out; the recipes learn on the rest and are scored on it. The test split (``5000-6500``) is
scored with the recipes learned on the whole training dictionary, for display. Writes
``OUT.json`` and ``OUT.md``::

    python experiments/supervised_recipes.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \\
        --pairs en-fr,de-en --out results/supervised_recipes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402

RECIPES = ("refined", "procrustes-reweight", "seed-reweight", "seed-reweight+1")


def split_pairs(pairs: list[tuple[str, str]], every: int = 5) -> tuple[list, list]:
    """(training pairs, development pairs): every ``every``-th distinct source word is held out."""
    sources = list(dict.fromkeys(s for s, _ in pairs))
    held = set(sources[every - 1::every])
    return [p for p in pairs if p[0] not in held], [p for p in pairs if p[0] in held]


def learn(recipe: str, x: np.ndarray, y: np.ndarray, seed) -> tuple[np.ndarray, np.ndarray | None]:
    """The (source map, target map) of ``recipe`` from the indexed training pairs ``seed``."""
    from umt.alignment.procrustes import RefineConfig, map_spaces, procrustes, refine
    from umt.alignment.reweight import reweight_from_map, reweighted_maps
    from umt.retrieval.lexicon import induce_lexicon

    if recipe in ("refined", "procrustes-reweight"):
        w = procrustes(x[seed.src_ids], y[seed.tgt_ids])
        if recipe == "refined":
            w = refine(x, y, w, RefineConfig(iterations=3), progress=False).mapping
        return reweight_from_map(x, y, w, 0.5, 20000, rounds=2)
    maps = reweighted_maps(x, y, seed.src_ids, seed.tgt_ids, 0.5)
    if recipe == "seed-reweight+1":
        xm, ym = map_spaces(x[:20000], y[:20000], *maps)
        induced = induce_lexicon(xm, ym, "csls", "union", 20000)
        maps = reweighted_maps(x, y, induced.src_ids, induced.tgt_ids, 0.5)
    return maps


def score(x, y, maps, gold) -> tuple[float, int]:
    from umt.alignment.procrustes import map_spaces
    from umt.evaluation.bli import retrieve_queries

    res = retrieve_queries(*map_spaces(x, y, *maps), gold, "csls", 1)
    return round(100.0 * float(res.hits(1).mean()), 2), len(res.queries)


def main(argv=None) -> int:
    from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare
    from umt.embeddings import load_embeddings
    from umt.embeddings.dictionaries import index_dictionary, load_dictionary, read_dictionary

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt vector folder per language (EMB/LANG)")
    ap.add_argument("--dict-root", required=True, help="MUSE-format dictionaries")
    ap.add_argument("--pairs", default="en-fr")
    ap.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated, of {', '.join(RECIPES)}")
    ap.add_argument("--out", default="results/supervised_recipes")
    a = ap.parse_args(argv)
    recipes = [r.strip() for r in a.recipes.split(",") if r.strip()]
    if set(recipes) - set(RECIPES):
        raise UmtError(f"--recipes: unknown {sorted(set(recipes) - set(RECIPES))} (expected some of {RECIPES})")
    rows = []
    for pair in a.pairs.split(","):
        src_lang, _, tgt_lang = pair.partition("-")
        src, tgt = load_embeddings(Path(a.emb_root) / src_lang), load_embeddings(Path(a.emb_root) / tgt_lang)
        train_path = Path(a.dict_root) / f"{pair}.0-5000.txt"
        test = load_dictionary(Path(a.dict_root) / f"{pair}.5000-6500.txt", src, tgt)
        train_all = read_dictionary(train_path)
        fit, dev = split_pairs(train_all)
        x, y = prepare(src, tgt, DEFAULT_NORMALIZE)
        seeds = {"dev": index_dictionary(fit, src, tgt, train_path), "test": index_dictionary(train_all, src, tgt)}
        golds = {"dev": index_dictionary(dev, src, tgt, train_path), "test": test}
        for recipe in recipes:
            row = {"pair": pair, "recipe": recipe}
            for split in ("dev", "test"):
                t0 = time.perf_counter()
                maps = learn(recipe, x, y, seeds[split])
                row[f"{split}_seconds"] = round(time.perf_counter() - t0, 2)
                row[f"{split}_csls_p1"], row[f"{split}_queries"] = score(x, y, maps, golds[split])
            rows.append(row)
            print(row, flush=True)
    lines = ["| pair | recipe | dev CSLS P@1 | test CSLS P@1 | seconds (test fit) |", "|---|---|---|---|---|"]
    lines += [f"| {r['pair']} | {r['recipe']} | {r['dev_csls_p1']:.2f} ({r['dev_queries']}) | "
              f"{r['test_csls_p1']:.2f} ({r['test_queries']}) | {r['test_seconds']:.1f} |" for r in rows]
    md = "\n".join(lines) + "\n\nSeconds: learning the maps only (vectors loaded and normalised once).\n"
    write_json(f"{a.out}.json", rows)
    write_text(f"{a.out}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "supervised_recipes")
