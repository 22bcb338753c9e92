"""Every hyper-parameter of the alignment stages as a command-line option.

The options are generated from the fields of the stage configs (``--adv-epochs`` for
``AdversarialConfig.epochs``, ``--sl-interval`` for ``SelfLearnConfig.interval``, ...), so a
field added to a config is an option at once. An option that is not given leaves the chosen
preset's value in place, and ``config.json`` in the run directory records every value used.
Each option has its help here; its allowed values are the config field's
(:mod:`umt.ranges`), and a value outside them is one clear error naming the option, before any
work starts.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.align import AlignConfig
from umt.alignment.procrustes import RefineConfig
from umt.alignment.similarity_init import SelfLearnConfig
from umt.ranges import check_option, range_of


@dataclass(frozen=True)
class Option:
    """Help of one config field; ``flag`` overrides the generated name."""

    help: str
    ref: str = ""  # the published value, e.g. "MUSE: 5"
    flag: str | None = None


@dataclass(frozen=True)
class Stage:
    attribute: str  # the AlignConfig field holding this stage's config
    config: type
    prefix: str
    title: str
    options: dict[str, Option]

    def flag(self, name: str) -> str:
        return self.options[name].flag or f"--{self.prefix}-{name.replace('_', '-')}"

    def dest(self, name: str) -> str:
        return self.flag(name)[2:].replace("-", "_")


STAGES = (
    Stage("adversarial", AdversarialConfig, "adv",
          "adversarial stage (--method adversarial, and the adversarial candidates of auto and robust)", {
              "epochs": Option("training epochs", ref="MUSE: 5"),
              "epoch_size": Option("samples per epoch", ref="MUSE: 1,000,000"),
              "batch_size": Option("source and target words per batch", ref="MUSE: 32"),
              "dis_layers": Option("hidden layers of the discriminator"),
              "dis_hidden": Option("width of each hidden layer of the discriminator"),
              "dis_dropout": Option("dropout after each hidden layer of the discriminator"),
              "dis_input_dropout": Option("dropout on the discriminator's input", ref="MUSE: 0.1"),
              "dis_steps": Option("discriminator updates per update of the map"),
              "dis_lr": Option("discriminator learning rate (SGD)"),
              "map_lr": Option("learning rate of the map (SGD)"),
              "lr_decay": Option("the map's learning rate is multiplied by this after each epoch", ref="MUSE: 0.95"),
              "lr_shrink": Option("and by this too after an epoch whose criterion did not improve"),
              "min_lr": Option("floor of the map's learning rate"),
              "smoothing": Option("label smoothing of the discriminator's targets", ref="MUSE: 0.2"),
              "beta": Option("orthogonalisation after each update, W <- (1+beta) W - beta W W^T W; 0 = off",
                             ref="MUSE: 0.01"),
              "most_frequent": Option("the discriminator sees the N most frequent words of each side",
                                      ref="MUSE: 50,000"),
              "clip_weights": Option("clip the discriminator's weights to [-C, C]; 0 = off"),
              "log_every": Option("record discriminator loss and accuracy every N steps (the training "
                                  "curves)"),
          }),
    Stage("selflearn", SelfLearnConfig, "sl",
          "similarity initialisation and stochastic self-learning (--method similarity, the default)", {
              "init_words": Option("the initial dictionary comes from the similarity distributions of the "
                                   "N most frequent words", ref="VecMap: 4,000"),
              "cutoff": Option("self-learning induces its dictionaries among the N most frequent words",
                               ref="VecMap: 20,000"),
              "csls_k": Option("neighbourhood size of CSLS"),
              "initial_keep": Option("first keep probability of stochastic dictionary induction", ref="VecMap: 0.1"),
              "multiplier": Option("the keep probability is multiplied by this at the end of each phase"),
              "interval": Option("iterations per keep-probability phase at most; a phase also ends after "
                                 "this many without improvement", ref="VecMap: 50"),
              "threshold": Option("least gain of the objective that counts as an improvement"),
              "max_iterations": Option("self-learning iterations at most"),
              "schedule": Option("when a phase ends: fixed (after --sl-interval iterations), plateau (also "
                                 "when the objective stops rising: faster) or stagnation (only after "
                                 "--sl-interval iterations without improvement: VecMap)"),
              "min_interval": Option("plateau schedule: iterations per phase at least"),
              "plateau_window": Option("plateau schedule: iterations over which the gain is measured"),
              "plateau_gain": Option("plateau schedule: a phase ends when its best objective gained less "
                                     "than this over the window"),
              "final_patience": Option("the deterministic last phase stops after this many iterations "
                                       "without improvement"),
              "low_precision": Option("bfloat16 similarities while the keep probability is below 1 "
                                      "(faster; see the README before using it)"),
              "average_final_phase": Option("the deterministic last phase starts from the mean map of the "
                                            "last stochastic phase (nearest orthogonal matrix)"),
          }),
    Stage("refine", RefineConfig, "refine", "Procrustes refinement (every method)", {
              "iterations": Option("refinement iterations (0 for supervised procrustes unless given)",
                                   flag="--refine"),
              "method": Option("retrieval that induces each refinement dictionary"),
              "build": Option("refinement dictionary: mutual neighbours (intersection), either direction "
                              "or their union", flag="--build"),
              "max_rank": Option("refinement dictionary among the N most frequent words", flag="--max-rank"),
              "criterion_words": Option("the unsupervised criterion is the mean CSLS cosine of the N most "
                                        "frequent source words' best targets"),
              "patience": Option("stop after this many iterations without a better criterion; 0 = never"),
              "start_competes": Option("the starting map may be kept over the refined ones (as MUSE keeps "
                                       "its best model)"),
          }),
)

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def add_stage_options(parser: argparse.ArgumentParser, defaults: AlignConfig) -> None:
    """One argument group per stage; each help ends with the value of ``defaults``."""
    for stage in STAGES:
        group = parser.add_argument_group(stage.title)
        current = getattr(defaults, stage.attribute)
        for f in fields(stage.config):
            option = stage.options[f.name]  # KeyError: a new config field needs its help here
            kind = f.type if isinstance(f.type, type) else _TYPES[f.type]  # a string under postponed annotations
            ref = f"; {option.ref}" if option.ref else ""
            help_text = f"{option.help} (default {getattr(current, f.name)}{ref})"
            if kind is bool:
                group.add_argument(stage.flag(f.name), dest=stage.dest(f.name), default=None,
                                   action=argparse.BooleanOptionalAction, help=help_text)
            else:
                choices = f.metadata["range"].choices if "range" in f.metadata else None
                group.add_argument(stage.flag(f.name), dest=stage.dest(f.name), default=None, type=kind,
                                   choices=choices, metavar=None if choices else "N" if kind is int else "X",
                                   help=help_text)


def stage_options(args: argparse.Namespace) -> dict[str, dict]:
    """The stage options given in ``args``, as stage attribute -> fields (what
    :func:`umt.alignment.presets.resolve` takes); ``UmtError`` naming the option for a value outside
    the field's range."""
    out = {}
    for stage in STAGES:
        values = {f.name: getattr(args, stage.dest(f.name), None) for f in fields(stage.config)}
        given = {name: value for name, value in values.items() if value is not None}
        for name, value in given.items():
            check_option(stage.flag(name), value, range_of(stage.config, name))
        if given:
            out[stage.attribute] = given
    return out
