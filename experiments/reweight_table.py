"""Re-weighting saved orthogonal maps: CSLS P@1 before and after, per map and for their average.

Reads maps written by ``bli_table.py --save-maps DIR`` (``PAIR_CONFIG_SEED.npy``, orthogonal),
re-weights each as ``umt align`` does (:func:`umt.alignment.reweight.reweight_rounds`: on the
dictionary the map induces, CSLS neighbours in both directions among the 10k most frequent words,
then again on the dictionary each round's spaces induce) and scores it after each of ``--rounds``
on the test split (``--split 0-5000`` scores on the training split instead, used as a development
split to choose the number of rounds). The dictionaries are read only to score.

Per pair it also measures, with no dictionary, how far apart the single maps are after each step:
the agreement of two maps is the share of the 10k most frequent source words that get the same
CSLS best target among the 10k most frequent target words (in the spaces each map produces), and
the ``seed_agreement`` row holds its mean over all pairs of maps (the averaged map left out).
Writes ``OUT.json`` and ``OUT.md``:

    python experiments/reweight_table.py --emb-root runs/emb5 --dict-root $UMT_DATA/dictionaries \
        --maps runs/maps5s --pairs en-fr,fr-en,en-de,de-en --out results/reweight
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.alignment import AlignConfig, apply_mapping, map_spaces, prepare  # noqa: E402
from umt.alignment.criterion import best_targets  # noqa: E402
from umt.alignment.reweight import reweight_rounds  # noqa: E402
from umt.alignment.unsupervised import average_maps  # noqa: E402
from umt.embeddings import load_embeddings  # noqa: E402
from umt.errors import run_script  # noqa: E402
from umt.evaluation import load_dictionary, precision_at_k  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402


def mean_agreement(ids: list[np.ndarray]) -> float | None:
    """Mean over all pairs of maps of the share of words both translate the same way (``None``: one map)."""
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    return round(100.0 * float(np.mean([np.mean(a == b) for a, b in pairs])), 2) if pairs else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True)
    ap.add_argument("--dict-root", required=True)
    ap.add_argument("--maps", required=True, nargs="+", help="folders of PAIR_CONFIG_SEED.npy maps")
    ap.add_argument("--pairs", default="en-fr,fr-en,en-de,de-en")
    ap.add_argument("--average", default="fast,fixed10k-i50",
                    help="configs whose seeds are also averaged (the same config under two names)")
    ap.add_argument("--rounds", default="1,2", help="re-weighting rounds to score, e.g. 1,2 (2 is the default)")
    ap.add_argument("--split", default="5000-6500",
                    help="dictionary split to score on, PAIR.SPLIT.txt (default: the test split)")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cfg = AlignConfig()
    rounds = [int(r) for r in a.rounds.split(",")]
    rows = []
    for pair in a.pairs.split(","):
        s, t = pair.split("-")
        src = load_embeddings(Path(a.emb_root) / s, a.max_vocab)
        tgt = load_embeddings(Path(a.emb_root) / t, a.max_vocab)
        x, y = prepare(src, tgt, cfg.normalize)
        gold = load_dictionary(Path(a.dict_root) / f"{pair}.{a.split}.txt", src, tgt)
        maps = {p.stem: np.load(p) for folder in a.maps for p in sorted(Path(folder).glob(f"{pair}_*.npy"))}
        averaged = [w for name, w in maps.items() if name.split("_")[1] in a.average.split(",")]
        if len(averaged) > 1:
            maps[f"{pair}_average_{len(averaged)}"] = average_maps(averaged)
        translations: dict[str, list[np.ndarray]] = {}  # per step, the single maps' best targets
        for name, w in maps.items():
            single = "_average_" not in name
            row = {"pair": pair, "map": name.split("_", 1)[1], "split": a.split}
            steps = [("orthogonal", (apply_mapping(x, w), y))]
            steps += [(f"reweighted_{r}", map_spaces(x, y, *maps_r)) for r, maps_r in enumerate(
                reweight_rounds(x, y, w, power=cfg.reweight, words=cfg.reweight_words, rounds=max(rounds)), start=1)
                if r in rounds]
            for key, spaces in steps:
                row[key] = precision_at_k(*spaces, gold, ("csls",))["csls_p1"]
                if single:
                    translations.setdefault(key, []).append(best_targets(*spaces))
            rows.append(row)
            print(row, flush=True)
            write_json(f"{a.out}.json", rows)
        agreement = {key: mean_agreement(ids) for key, ids in translations.items()}
        if agreement and all(v is not None for v in agreement.values()):
            rows.append({"pair": pair, "map": None, "statistic": "seed_agreement",
                         "maps": len(translations["orthogonal"]), "split": None, **agreement})
            print(rows[-1], flush=True)
            write_json(f"{a.out}.json", rows)
    keys = ["orthogonal"] + [f"reweighted_{r}" for r in rounds]
    lines = ["| pair | map | CSLS P@1 orthogonal | " + " | ".join(f"re-weighted, {r} round(s)" for r in rounds) + " |",
             "|---|---|" + "---|" * len(keys)]
    for r in rows:
        label = r["map"] or f"agreement of the {r['maps']} single maps' translations (%)"
        lines.append(f"| {r['pair']} | {label} | " + " | ".join(f"{r[k]:.1f}" for k in keys) + " |")
    write_text(f"{a.out}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    run_script(main, "reweight_table")
