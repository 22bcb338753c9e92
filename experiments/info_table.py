"""The information view in one table: bits of Y explained by X, through training, and the control.

For each back-translation run (``umt mt train``; its prepared data is read from its
``params.json``) this trains or reuses the language models of ``umt info`` in
``INFO_ROOT/PAIR`` and collects, per direction, in bits per character of the test references:

* ``L(Y)`` (target language model), ``L(Y|X)`` (the selected model, teacher forced), the bits X
  explains ``L(Y) - L(Y|X)``, and the same against mismatched sources ``L(Y|X') - L(Y|X)``;
* ``L(Y|X)`` at the first evaluation (the end of the word-by-word bootstrap) and at the selected
  step, from the run's history: how much more of Y the source explains after back-translation;
* joint against separate language models of the pair.

With ``--rule`` (the JSON of ``experiments/failure_rule.py``) the real pairs and the structureless
controls are listed with their unsupervised criterion, agreement, verdict and P@1. Writes
``OUT.json``, ``OUT.md`` and ``OUT.png`` (L(Y|X) and BLEU against training steps, L(Y) as a line):

    python experiments/info_table.py --runs runs/mt/en-fr/train-init,runs/mt/en-de/train \\
        --info-root runs/info --rule results/failure_rule.json --out results/info
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import save_png, write_json, write_text  # noqa: E402
from umt.information.lm import LMTrainConfig  # noqa: E402
from umt.information.report import information_report  # noqa: E402
from umt.translation.model import ModelConfig  # noqa: E402


def run_rows(run: Path, info_root: Path, lm: LMTrainConfig,
             joint_pairs: set[str] | None = None) -> tuple[list[dict], dict | None, list[dict]]:
    """Rows per direction, the joint-vs-separate figures and the run's history."""
    for name in ("params.json", "history.json"):
        if not (run / name).exists():
            raise UmtError(f"{run / name}: missing (not an `umt mt train` run directory)")
    prepared = json.loads((run / "params.json").read_text())["prepared"]
    history = json.loads((run / "history.json").read_text())
    stages = [r for r in history if r.get("system") is None]
    if not stages:
        raise UmtError(f"{run / 'history.json'}: no evaluation recorded yet")
    selected = max(stages, key=lambda r: r["roundtrip"])
    manifest = Path(prepared) / "manifest.json"
    control = json.loads(manifest.read_text()).get("control") if manifest.exists() else None
    # The control's joint model would say nothing about shared structure: only real pairs get one.
    pair = json.loads((Path(prepared) / "prepare.json").read_text()).get("pair")
    joint = control is None and (joint_pairs is None or pair in joint_pairs)
    info = information_report(prepared, run, info_root / run.parent.name, lm, progress=True, joint=joint)
    rows = []
    for key, m in info.items():
        if not isinstance(m, dict) or "L(Y|X)" not in m:
            continue
        with_bits = [r for r in stages if f"test_{key}_bpc" in r]
        rows.append({"run": str(run), "direction": key, "control": control, "selected_step": selected["step"],
                     "bleu": selected.get(f"test_{key}"), **m,  # None: test BLEU not shown at that step
                     "first_step": with_bits[0]["step"] if with_bits else None,
                     "L(Y|X)_first": with_bits[0][f"test_{key}_bpc"] if with_bits else None})
    joint = {k: info[k] for k in ("pair", "single_lm_parameters", "joint_lm_parameters", "heldout_separate_bpc",
                                  "heldout_joint_bpc", "joint_saving_bpc")} if joint else None
    return rows, joint, history


def markdown(rows: list[dict], joints: list[dict], rule: list[dict]) -> str:
    out = ["Bits per character of the Multi30k test references (`test_2016_flickr`); the parallel test set is "
           "read for evaluation only. A control run learned its target language from that language's "
           "monolingual half with every token dealt at random into captions (`umt mt prepare --control-target`).", "",
           "| direction | BLEU (selected step) | L(Y) | L(Y|X) | explained L(Y) - L(Y|X) | L(Y|X') - L(Y|X) | "
           "L(Y|X) at the first evaluation |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        first = (f"{r['L(Y|X)_first']:.3f} (step {r['first_step']})" if r["L(Y|X)_first"] is not None
                 else "not recorded")
        label = r["direction"].replace("-", "->") + (" **(control)**" if r.get("control") else "")
        bleu = f"{r['bleu']:.2f}" if r["bleu"] is not None else "not shown"
        out.append(f"| {label} | {bleu} (step {r['selected_step']}) | {r['L(Y)']:.3f} | "
                   f"{r['L(Y|X)']:.3f} | **{r['explained']:.3f}** | {r['explained_vs_mismatched']:.3f} | {first} |")
    out += ["", "| pair | two single-language models | one joint model (same total size) | saving |",
            "|---|---|---|---|"]
    for j in filter(None, joints):
        out.append(f"| {j['pair']} | {j['heldout_separate_bpc']:.4f} | {j['heldout_joint_bpc']:.4f} | "
                   f"{j['joint_saving_bpc']:.4f} |")
    if rule:
        out += ["", "| source | target | criterion | agreement of two runs | verdict | unsup. CSLS P@1 | "
                "supervised P@1 |", "|---|---|---|---|---|---|---|"]
        for r in rule:
            out.append(f"| {r['src']} | {r['tgt']} | {r['criterion']:.3f} | {100 * r['agreement']:.1f}% | "
                       f"**{r['verdict']}** | {r['csls_p1']:.1f} | {r['supervised_csls_p1']:.1f} |")
    return "\n".join(out) + "\n"


def plot(curves: list[tuple[list[dict], list[dict]]], path: str) -> None:
    """Per run: L(Y|X) against steps with L(Y) dashed (the gap is what X explains), and BLEU."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 3.6 * len(curves)), squeeze=False)
    for (history, rows), (ax_bits, ax_bleu) in zip(curves, axes):
        stages = [r for r in history if r.get("system") is None]
        for r, colour in zip(rows, ("tab:blue", "tab:orange")):
            d = r["direction"]
            src, tgt = d.split("-")
            pts = [(s["step"], s[f"test_{d}_bpc"]) for s in stages if f"test_{d}_bpc" in s]
            if pts:
                ax_bits.plot(*zip(*pts), marker="o", color=colour, label=f"L({tgt}|{src}) during training")
            ax_bits.scatter([r["selected_step"]], [r["L(Y|X)"]], color=colour, marker="*", s=120, zorder=3)
            ax_bits.axhline(r["L(Y)"], color=colour, ls="--", alpha=0.7, label=f"L({tgt}), language model")
            shown = [s for s in stages if f"test_{d}" in s]  # test BLEU is shown every --display-every evaluations
            ax_bleu.plot([s["step"] for s in shown], [s[f"test_{d}"] for s in shown], marker="o", color=colour,
                         label=f"{d}")
        name = rows[0]["run"] + (" (control)" if rows[0].get("control") else "") if rows else ""
        ax_bits.set(xlabel="training step", ylabel="bits per character", title=f"Code length of the reference, {name}")
        ax_bleu.set(xlabel="training step", ylabel="test BLEU", title=f"BLEU (sacrebleu), {name}")
        ax_bits.legend(fontsize=7)
        ax_bleu.legend(fontsize=7)
        for ax in (ax_bits, ax_bleu):
            ax.grid(alpha=0.3)
    fig.tight_layout()
    save_png(fig, path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", required=True, help="comma-separated `umt mt train` run directories")
    ap.add_argument("--info-root", default="runs/info", help="where the language models are trained and kept")
    ap.add_argument("--rule", default=None, help="JSON written by experiments/failure_rule.py")
    ap.add_argument("--joint", default=None,
                    help="comma-separated pairs that get the joint language model (default: every real pair)")
    ap.add_argument("--lm-steps", type=int, default=LMTrainConfig.steps)
    ap.add_argument("--lm-dim", type=int, default=256, help="width of each single-language model")
    ap.add_argument("--lm-layers", type=int, default=3)
    ap.add_argument("--lm-batch-size", type=int, default=LMTrainConfig.batch_size)
    ap.add_argument("--out", default="results/info", help="writes OUT.json, OUT.md, OUT.png")
    a = ap.parse_args(argv)
    rows, joints, curves = [], [], []
    joint_pairs = set(a.joint.split(",")) if a.joint else None
    for run in a.runs.split(","):
        model = ModelConfig(dim=a.lm_dim, heads=4, enc_layers=a.lm_layers, dec_layers=0, ff_dim=4 * a.lm_dim)
        lm = LMTrainConfig(steps=a.lm_steps, batch_size=a.lm_batch_size, model=model)
        r, joint, history = run_rows(Path(run), Path(a.info_root), lm, joint_pairs)
        rows += r
        listed = joint is not None and any(j and j["pair"] == joint["pair"] for j in joints)
        joints.append(None if listed else joint)  # a pair's joint figures once, however many runs it has
        curves.append((history, r))
    rule = json.loads(Path(a.rule).read_text()) if a.rule else []
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(f"{a.out}.json", {"directions": rows, "joint_vs_separate": joints, "failure_rule": rule})
    md = markdown(rows, joints, rule)
    write_text(f"{a.out}.md", md)
    plot(curves, f"{a.out}.png")
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "info_table")
