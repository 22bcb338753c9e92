"""Word-by-word BLEU of the MT lexicon under its settings: the seed of back-translation.

Rebuilds the word-by-word tables of a prepared pair (``umt mt prepare``) from its vectors and
saved mapping with each ``--identical-top`` and ``--frequency-prior`` setting, and scores
word-by-word translation on the validation split (where settings are chosen) and on test (shown,
never used to choose), in both conventions: sacreBLEU, and lowercased Moses-tokenized BLEU (Lample et al. 2018a).

    python experiments/mt_lexicon.py --prepared runs/mt/en-fr/data --src-emb runs/mt/en-fr/emb/en \\
        --tgt-emb runs/mt/en-fr/emb/fr --identical-top 0,3,10 --frequency-prior 0,0.01 --out results/mt_lexicon

The prepared folder is not changed: tables are built in a temporary copy. Writes OUT.json, OUT.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, write_json, write_text  # noqa: E402


def score(prepared: Path, src_emb, tgt_emb, identical_top: int, frequency_prior: float = 0.0) -> dict:
    from umt.alignment.spaces import load_mapping
    from umt.translation.data import MTData, build_lexicons
    from umt.translation.evaluate import bleu_scores

    record = read_json(prepared / "prepare.json", "preparation record")
    src, tgt = record["pair"].split("-")
    row: dict = {"identical_top": identical_top, "frequency_prior": frequency_prior}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(prepared, copy, ignore=shutil.ignore_patterns("align", "*.npz"))
        t0 = time.time()
        recorded = Path(record["mapping"])  # relative to where prepare ran; a moved folder keeps its align/
        where = recorded if recorded.exists() or not (prepared / "align").exists() else prepared / "align"
        mapping = load_mapping(where, src_emb.dim, src_emb, tgt_emb)
        build_lexicons(src, tgt, copy, src_emb, tgt_emb, mapping, identical_top, frequency_prior)
        row["seconds"] = round(time.time() - t0, 1)
        data = MTData.load(copy)
        for split in ("val", "test"):
            sets = getattr(data, split)
            for a, b in ((src, tgt), (tgt, src)):
                scores = bleu_scores(data.wbw[(a, b)].translate(sets[a]), sets[b], b)
                row[f"{split}_{a}-{b}"] = scores["bleu"]
                row[f"{split}_{a}-{b}_tok_lc"] = scores["bleu_tok_lc"]
    return row


def main(argv=None) -> int:
    from umt.embeddings.io import load_embeddings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepared", required=True, help="a folder written by `umt mt prepare`")
    ap.add_argument("--src-emb", required=True, help="the source vectors it was prepared from")
    ap.add_argument("--tgt-emb", required=True, help="the target vectors")
    ap.add_argument("--identical-top", default="0,3,10", help="comma-separated settings (default %(default)s)")
    ap.add_argument("--frequency-prior", default="0", help="comma-separated settings, each tried with every "
                    "--identical-top (default %(default)s)")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--out", default="results/mt_lexicon", help="writes OUT.json and OUT.md")
    a = ap.parse_args(argv)
    prepared = Path(a.prepared)
    if not (prepared / "prepare.json").exists():
        raise UmtError(f"{prepared}: not a prepared MT folder (no prepare.json; run `umt mt prepare`)")
    src_emb, tgt_emb = load_embeddings(a.src_emb, a.max_vocab), load_embeddings(a.tgt_emb, a.max_vocab)
    rows = []
    for k in (int(v) for v in a.identical_top.split(",")):
        for prior in (float(v) for v in a.frequency_prior.split(",")):
            rows.append(score(prepared, src_emb, tgt_emb, k, prior))
            print(rows[-1], flush=True)
    directions = [k[4:] for k in rows[0] if k.startswith("val_") and not k.endswith("_tok_lc")]
    lines = ["| identical top | frequency prior | "
             + " | ".join(f"{d} val (tok/lc) | {d} test (tok/lc)" for d in directions) + " |",
             "|---|---|" + "---|---|" * len(directions)]
    for r in rows:
        cells = [f"{r[f'{s}_{d}']:.2f} ({r[f'{s}_{d}_tok_lc']:.2f})" for d in directions for s in ("val", "test")]
        lines.append(f"| {r['identical_top']} | {r['frequency_prior']} | " + " | ".join(cells) + " |")
    write_json(f"{a.out}.json", {"prepared": str(prepared), "date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows})
    write_text(f"{a.out}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    run_script(main, "mt_lexicon")
