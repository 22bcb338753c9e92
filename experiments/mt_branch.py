"""Continue a copy of an MT training run from its checkpoint with other settings for the steps to come.

An ablation of a late lever (a learning-rate decay, say) need not retrain the steps before it: this
script copies a run's ``checkpoint.pt``, ``history.json``, ``best.pt`` and ``spm.model`` into a new
folder and trains on from the checkpoint's step with the run's own settings except those given,
e.g. ``--set lr_half_life=300 --set lr_decay_start=5400``. ``umt mt train --resume`` refuses such
changes on purpose (a resumed run is the run it started as); a branch is a new run that says where
it came from: ``branch.json`` records the parent, the step and the changed settings, and its
``config.json`` the settings it trains with. Run it again to resume the branch itself::

    python experiments/mt_branch.py --parent runs/mt/en-fr/train --prepared runs/mt/en-fr/data \\
        --out runs/mt/en-fr-decay --steps 11400 --set lr_half_life=300 --set lr_decay_start=5400 \\
        --set eval_val=true --set display_every=1

The branch's history keeps the parent's rows up to the branch point, so ``mt_table.py`` and
``mt_ablation.py`` read it as one run; its hours continue the parent's.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, write_json  # noqa: E402

COPIED = ("checkpoint.pt", "history.json", "best.pt", "spm.model", "config.json")


def parse_settings(pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs, each value read as JSON (numbers, true/false) or else kept as text."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UmtError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def branch(parent: Path, prepared: Path, out: Path, steps: int, changes: dict, progress: bool = True) -> list[dict]:
    from umt.translation.data import MTData
    from umt.translation.train import MTTrainConfig, Trainer

    if not (parent / "checkpoint.pt").exists():
        raise UmtError(f"{parent}: no checkpoint.pt to branch from")
    stored = read_json(parent / "config.json", "the parent's training settings")
    unknown = sorted(set(changes) - set(asdict(MTTrainConfig())))
    if unknown:
        raise UmtError(f"unknown training settings: {', '.join(unknown)}")
    record = out / "branch.json"
    if record.exists():  # the branch itself resumed: its own checkpoint, its own settings
        saved = read_json(record, "branch record")
        if saved["changes"] != changes:
            raise UmtError(f"{out}: a branch with other changes ({saved['changes']}); pick a new --out")
    else:
        if (out / "checkpoint.pt").exists():
            raise UmtError(f"{out}: holds a run that is not a branch; pick a new --out")
        out.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            if (parent / name).exists():
                shutil.copyfile(parent / name, out / name)
    cfg = MTTrainConfig.from_dict({**stored, **changes, "steps": steps})
    data = MTData.load(prepared, cfg.max_len)
    trainer = Trainer(data, cfg, out, resume=True)
    if not record.exists():
        write_json(record, {"parent": str(parent.resolve()), "step": trainer.step, "changes": changes})
    return trainer.fit(progress=progress)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parent", required=True, type=Path, help="the run's training folder (RUN/train)")
    ap.add_argument("--prepared", required=True, type=Path, help="its prepared pair (RUN/data)")
    ap.add_argument("--out", required=True, type=Path, help="the branch's training folder")
    ap.add_argument("--steps", required=True, type=int, help="train the branch to this step (pretraining included)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training setting (MTTrainConfig field) changed from the branch point on; repeat")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    history = branch(a.parent, a.prepared, a.out, a.steps, parse_settings(a.set))
    last = history[-1]
    print(f"{a.out}: step {last['step']}, round-trip BLEU {last.get('roundtrip')}")
    return 0


if __name__ == "__main__":
    run_script(main, "mt_branch")
