"""Multi30k BLEU table: word-by-word and each evaluated stage of back-translation training.

Reads the ``history.json`` of one or more ``umt mt train`` run directories (one per language
pair) and writes ``OUT.json`` and ``OUT.md``: test BLEU (sacrebleu, detokenized, cased) in both
directions of each pair, lowercased/tokenized BLEU in brackets, the round-trip BLEU that selects
the model, and the stage the selection picked. The whole chain that produces a run:

    umt embed train ...                                  # vectors on mono + caption half
    umt mt prepare --pair en-fr --src-emb E --tgt-emb F --out runs/mt/en-fr/data
    umt mt train --prepared runs/mt/en-fr/data --out runs/mt/en-fr/train
    python experiments/mt_table.py --runs runs/mt/en-fr/train --out results/mt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402


def table_rows(run: Path) -> list[dict]:
    path = run / "history.json"
    if not path.exists():
        raise UmtError(f"{path}: missing (not an `umt mt train` run directory)")
    history = json.loads(path.read_text())
    config = json.loads((run / "config.json").read_text()) if (run / "config.json").exists() else {}
    rows = []
    best = max((r for r in history if r.get("system") is None), key=lambda r: r["roundtrip"], default=None)
    offset, last = 0.0, 0.0  # "seconds" restarts from 0 when a run is resumed: accumulate the segments
    for r in history:
        selected = r is best
        if r.get("seconds") is not None:
            if r["seconds"] < last:
                offset += last
            last = r["seconds"]
            r = {**r, "seconds": round(offset + r["seconds"], 1)}
        directions = sorted({k[5:] for k in r if k.startswith("test_") and not k.endswith(("_tok_lc", "_bpc"))})
        row = {"run": str(run), "stage": r.get("system") or f"step {r['step']}", "step": r["step"],
               "roundtrip": r.get("roundtrip"), "selected": selected, "seconds": r.get("seconds"),
               "steps_total": config.get("steps")}
        for d in directions:
            row[d] = r[f"test_{d}"]
            row[f"{d}_tok_lc"] = r.get(f"test_{d}_tok_lc")
            if f"test_{d}_bpc" in r:
                row[f"{d}_bpc"] = r[f"test_{d}_bpc"]  # L(Y|X), bits per character of the reference
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    directions = sorted({k for r in rows for k in r if "-" in k and not k.endswith("_tok_lc") and len(k) == 5})
    head = "| run | stage | " + " | ".join(f"{d} BLEU (tok/lc)" for d in directions) + " | round-trip | seconds |"
    lines = [head, "|" + "---|" * (4 + len(directions))]
    for r in rows:
        cells = [f"{r[d]:.2f} ({r[d + '_tok_lc']:.2f})" if d in r else "" for d in directions]
        stage = r["stage"] + (" **selected**" if r["selected"] else "")
        lines.append(f"| {Path(r['run']).name} | {stage} | " + " | ".join(cells)
                     + f" | {r['roundtrip']} | {r['seconds'] if r['seconds'] is not None else ''} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", required=True, help="comma-separated `umt mt train` run directories")
    ap.add_argument("--out", default="results/mt", help="writes OUT.json and OUT.md (default %(default)s)")
    a = ap.parse_args(argv)
    rows = [row for run in a.runs.split(",") for row in table_rows(Path(run))]
    write_json(f"{a.out}.json", rows)
    md = markdown(rows)
    write_text(f"{a.out}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "mt_table")
