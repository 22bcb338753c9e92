"""``umt info``: bits per character of Y explained by X, joint against separate models."""

from __future__ import annotations

from pathlib import Path

from umt.commands.common import params
from umt.ranges import seed_option
from umt.rundir import start_run


def cmd_info(a) -> None:
    from umt.information.lm import LMTrainConfig
    from umt.information.report import information_report
    from umt.translation.model import ModelConfig

    model = ModelConfig(dim=a.lm_dim, heads=4, enc_layers=a.lm_layers, dec_layers=0, ff_dim=4 * a.lm_dim)
    cfg = LMTrainConfig(steps=a.lm_steps, batch_size=a.lm_batch_size, seed=a.seed, model=model)
    start_run(a.out, {**params(a), "command": "info"})
    information_report(a.prepared, a.model, a.out, cfg, progress=not a.quiet)
    print((Path(a.out) / "info.md").read_text(encoding="utf-8"))


def add_commands(sub) -> None:
    """Register ``info`` on ``umt``'s sub-command parsers."""
    p = sub.add_parser("info", help="bits per character of Y explained by X; joint vs separate models",
                       description="Train language models on the monolingual halves of a prepared pair (cached "
                       "in --out) and report, in bits per character: L(Y), L(Y|X) of a back-translation model "
                       "on the Multi30k test set (parallel text read for evaluation only), their difference, "
                       "and one joint model of both languages against two single-language models of the same "
                       "total size on held-out monolingual text.")
    p.add_argument("--prepared", required=True, help="folder written by `umt mt prepare`")
    p.add_argument("--model", default=None, help="run directory of `umt mt train` (omit for the LMs only)")
    p.add_argument("--out", required=True, help="run directory (language models are cached here)")
    p.add_argument("--lm-steps", type=int, default=3000)
    p.add_argument("--lm-batch-size", type=int, default=64)
    p.add_argument("--lm-dim", type=int, default=256, help="width of each single-language model")
    p.add_argument("--lm-layers", type=int, default=3)
    p.add_argument("--seed", type=seed_option, default=0)
    p.set_defaults(func=cmd_info)
