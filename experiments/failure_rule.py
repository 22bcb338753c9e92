"""Failure detection without a dictionary: real language pairs against structureless controls.

For every pair, two independent unsupervised initialisations are run and refined; the table
shows, side by side, what a user sees without supervision (each run's criterion, the criterion of
a random rotation, and how often the two runs give the same translation of the most frequent
words) and what only a dictionary reveals (CSLS P@1 on the MUSE test split, next to the
supervised Procrustes reference on the same vectors). A control target is a corpus whose tokens
were dealt at random into sentences (``umt corpus control``): the same words at the same rates,
no co-occurrence, so distribution matching must fail on it and the rule must say so.

The rule (``umt.alignment.criterion.alignment_verdict``) flags an alignment whose two runs
agree on fewer than ``AGREEMENT_FAILED_BELOW`` of the words; ``umt align --check`` and the
``auto``/``robust`` modes apply it. Writes ``OUT.json``, ``OUT.md`` and ``OUT.png``:

    umt corpus control --lang fr --out runs/control/fr.control.txt.gz
    python experiments/failure_rule.py --emb-root runs/embq --dict-root $UMT_DATA/dictionaries \\
        --pairs en-fr,fr-en,en-de,de-en,en-fr_control,en-de_control --out results/failure_rule

where ``runs/embq/LANG`` are umt vector folders and ``LANG_control`` the vectors of a control
corpus of LANG (scored with LANG's dictionaries: the control keeps every word of LANG).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.alignment import AlignConfig, RefineConfig, align, prepare  # noqa: E402
from umt.alignment.criterion import (  # noqa: E402
    AGREEMENT_FAILED_BELOW,
    random_rotation_criterion,
)
from umt.alignment.presets import preset  # noqa: E402
from umt.device import computing_on  # noqa: E402
from umt.embeddings import load_embeddings  # noqa: E402
from umt.errors import UmtError, run_script  # noqa: E402
from umt.evaluation import load_dictionary, precision_at_k  # noqa: E402
from umt.fileio import save_npy, save_png, write_json, write_text  # noqa: E402


def language(tag: str) -> str:
    """``fr_control`` -> ``fr``: the control keeps the words of its language."""
    return tag.split("_")[0]


def run_pair(src_tag: str, tgt_tag: str, emb_root: Path, dict_root: Path, base: str, max_vocab: int,
             device: str | None, interval: int | None = None, save_maps: Path | None = None) -> dict:
    src = load_embeddings(emb_root / src_tag, max_vocab)
    tgt = load_embeddings(emb_root / tgt_tag, max_vocab)
    pair = f"{language(src_tag)}-{language(tgt_tag)}"
    t0 = time.time()
    cfg = replace(preset(base), check=True, device=device)
    if interval:
        cfg = replace(cfg, selflearn=replace(cfg.selflearn, interval=interval))
    result = align(src, tgt, cfg, progress=False)
    seconds = time.time() - t0
    if save_maps:  # the runs' orthogonal maps, for statistics other than the rule's
        for c in result.candidates:
            save_npy(save_maps / f"{src_tag}-{tgt_tag}_{c.name.replace(':', '_')}.npy", c.result.mapping)
    x, y = prepare(src, tgt, cfg.normalize)
    gold = load_dictionary(dict_root / f"{pair}.5000-6500.txt", src, tgt)
    unsup = precision_at_k(*result.mapped(x, y), gold)
    sup_cfg = AlignConfig(method="procrustes", dict=str(dict_root / f"{pair}.0-5000.txt"),
                          refine=RefineConfig(iterations=3), device=device)
    sup = align(src, tgt, sup_cfg, progress=False)
    sup_m = precision_at_k(*sup.mapped(x, y), gold)
    return {"src": src_tag, "tgt": tgt_tag, "control": "_control" in src_tag + tgt_tag, "dictionary": pair,
            "runs": [{"name": c.name, "criterion": round(c.criterion, 4)} for c in result.candidates],
            "criterion": round(max(c.criterion for c in result.candidates), 4),
            "random_rotation_criterion": round(random_rotation_criterion(x, y), 4),
            "agreement": round(result.agreement, 4), "verdict": result.verdict,
            "csls_p1": unsup["csls_p1"], "supervised_csls_p1": sup_m["csls_p1"],
            "supervised_criterion": round(max(sup.criteria), 4), "seconds": round(seconds, 1)}


def markdown(rows: list[dict]) -> str:
    lines = [f"Rule: an alignment fails when two independent runs agree on fewer than "
             f"{100 * AGREEMENT_FAILED_BELOW:.0f}% of the translations of the 10k most frequent words.", "",
             "| source | target | criterion (run 1 / run 2) | random rotation | agreement | verdict | "
             "unsup. CSLS P@1 | supervised P@1 (criterion) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        runs = " / ".join(f"{c['criterion']:.3f}" for c in r["runs"])
        lines.append(f"| {r['src']} | {r['tgt']} | {runs} | {r['random_rotation_criterion']:.3f} | "
                     f"{100 * r['agreement']:.1f}% | **{r['verdict']}** | {r['csls_p1']:.1f} | "
                     f"{r['supervised_csls_p1']:.1f} ({r['supervised_criterion']:.3f}) |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: str) -> None:
    """Criterion against agreement: the rule is a vertical line; controls should fall left of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for r in rows:
        colour = "tab:red" if r["control"] else "tab:blue"
        ax.scatter(100 * r["agreement"], r["criterion"], color=colour, s=40)
        ax.annotate(f"{r['src']}->{r['tgt']}", (100 * r["agreement"], r["criterion"]), fontsize=7,
                    xytext=(4, 3), textcoords="offset points")
    ax.axvline(100 * AGREEMENT_FAILED_BELOW, color="grey", linestyle="--", label="failure rule")
    ax.set_xlabel("agreement of two independent runs (% of frequent words)")
    ax.set_ylabel("unsupervised criterion")
    ax.set_xlim(-5, 105)
    ax.scatter([], [], color="tab:blue", label="real pair")
    ax.scatter([], [], color="tab:red", label="structureless control")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_png(fig, path, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt vector folder per language tag")
    ap.add_argument("--dict-root", required=True, help="folder with SRC-TGT.{0-5000,5000-6500}.txt dictionaries")
    ap.add_argument("--pairs", default="en-fr,fr-en,en-de,de-en,en-fr_control",
                    help="comma list of SRC-TGT language tags; TAG_control is a control corpus of TAG")
    ap.add_argument("--preset", default="fast", help="the unsupervised recipe whose runs are compared")
    ap.add_argument("--interval", type=int, default=None,
                    help="self-learning interval (default: the preset's; small values for quick checks)")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--device", default=None)
    ap.add_argument("--save-maps", default=None, metavar="DIR",
                    help="also write each run's orthogonal map as DIR/SRC-TGT_INIT_SEED.npy")
    ap.add_argument("--out", required=True, help="output prefix: writes OUT.json, OUT.md, OUT.png")
    a = ap.parse_args(argv)
    with computing_on(a.device):  # where the tensor work runs, for the whole script
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        pairs = a.pairs.split(",")
        for pair in pairs:
            if not pair.partition("-")[2]:
                ap.error(f"bad pair {pair!r}: expected SRC-TGT")
        done = {f"{r['src']}-{r['tgt']}" for r in read_rows(a.out)}
        for pair in pairs:
            if pair in done:  # resume: a pair already in OUT.json is kept, not rerun
                logging.info("%s: already in %s.json", pair, a.out)
                continue
            src_tag, _, tgt_tag = pair.partition("-")
            row = run_pair(src_tag, tgt_tag, Path(a.emb_root), Path(a.dict_root), a.preset, a.max_vocab, a.device,
                           a.interval, Path(a.save_maps) if a.save_maps else None)
            print(json.dumps(row), flush=True)
            # merge with what is on disk now, so that runs of other pairs into the same OUT add up
            rows = {f"{r['src']}-{r['tgt']}": r for r in read_rows(a.out)}
            rows[pair] = row
            order = pairs + [k for k in rows if k not in pairs]
            rows = [rows[k] for k in order if k in rows]
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            write_json(f"{a.out}.json", rows)
            write_text(f"{a.out}.md", markdown(rows))
            plot(rows, f"{a.out}.png")
        return 0


def read_rows(out: str) -> list[dict]:
    path = Path(f"{out}.json")
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise UmtError(f"{path}: not a table written by failure_rule.py (remove it to start afresh)") from None


if __name__ == "__main__":
    run_script(main, "failure_rule")
