"""The ``umt`` command line: a thin layer over the library API.

Every sub-command validates its input, calls one library function and writes its results into a
run directory. Problems with the input end in a one-line ``umt: error: ...`` and exit status 2.
The commands live in ``umt.commands`` (one module per area) and ``umt.translation.cli``; this
module composes their parsers and runs the one asked for.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from umt import __version__
from umt.commands import data, embed, info, lexicon
from umt.commands.common import EPILOG
from umt.errors import UmtError
from umt.ranges import POSITIVE, ConfigError, check_option
from umt.rundir import discard_empty_runs, keep_runs

log = logging.getLogger("umt")


class _Parser(argparse.ArgumentParser):
    """argparse's errors on one line: the usage of ``umt align`` alone runs to forty lines, and the
    problem came last. Subcommands' parsers are of this class too (argparse's default)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="umt", description="Unsupervised translation by distribution matching: embeddings, "
        "alignment, retrieval, evaluation.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"umt {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on the console")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    data.add_commands(sub, EPILOG)
    info.add_commands(sub)
    embed.add_commands(sub)
    lexicon.add_commands(sub)

    from umt.translation.cli import add_commands

    add_commands(sub, EPILOG)
    return parser


# options whose name differs from the config field they set
_OPTION_OF_FIELD = {"refine_iterations": ("refine",), "enc_layers": ("layers", "lm_layers"), "dec_layers": ("layers",),
                    "dim": ("lm_dim",), "steps": ("lm_steps",), "batch_size": ("lm_batch_size",)}


def _as_option(error: ConfigError, args: argparse.Namespace) -> str:
    """A config's complaint about a field, told as the option the user typed when one that sets
    the field holds that value ("--dim 0: expected a value >= 1"); otherwise the config's own words."""
    for dest in (error.field, *_OPTION_OF_FIELD.get(error.field, ())) if error.field else ():
        given = getattr(args, dest, None)
        if given is not None and given == error.value:
            return f"--{dest.replace('_', '-')} {given}: {error.problem}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        (parser if args.command is None else parser._subparsers._group_actions[0].choices[args.command]).print_help()
        return 0 if args.command is None else 2
    for old in [h for h in log.handlers if getattr(h, "umt_console", False)]:
        log.removeHandler(old)
    console = logging.StreamHandler(sys.stderr)
    console.umt_console = True
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)
    log.addHandler(console)
    log.setLevel(logging.INFO)
    try:
        if getattr(args, "max_vocab", None) is not None:  # every command that loads vectors has it
            check_option("--max-vocab", args.max_vocab, POSITIVE)
        from umt.device import computing_on, use_all_cores  # imports torch: not before a command needs it

        use_all_cores()  # torch and FAISS threads, set once here for every command
        with computing_on(getattr(args, "device", None)):  # and where the tensor work runs
            args.func(args)
        keep_runs()
        sys.stdout.flush()  # inside the try: a closed pipe is then caught below, not reported at exit
    except ConfigError as e:
        discard_empty_runs()
        print(f"umt: error: {_as_option(e, args)}", file=sys.stderr)
        return 2
    except UmtError as e:
        discard_empty_runs()
        print(f"umt: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # the commands that checkpoint say how to continue, so the user need not look it up
        hint = "; the same command with --resume continues from its checkpoints" if getattr(
            args, "resume", True) is False else ""
        if args.command == "run":
            hint = "; running it again reuses the cached vectors and continues the alignments from their checkpoints"
        elif getattr(args, "mt_command", None) == "run":
            hint = "; running it again keeps the finished stages and continues training from its checkpoint"
        print(f"umt: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `umt ... | head` closed the pipe: the reader has what it wanted
        # Python flushes stdout again at exit and would report this a second time
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
