"""User-facing errors.

Every problem caused by the user's input (a missing file, a malformed vector file, a dimension
mismatch, ...) is raised as :class:`UmtError`. The CLI prints its message on one line and exits
with status 2, so a user never sees a traceback for bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn


class UmtError(Exception):
    """An error whose message is meant for the user: one line naming the file and the problem."""


class DataMissingError(UmtError):
    """Shared data (corpora, dictionaries) could not be found where configuration points."""


def run_script(main: Callable[[], int | None], prog: str) -> NoReturn:
    """Run an ``experiments/`` script's ``main`` the way the CLI runs a command: a :class:`UmtError`
    is one line on stderr and status 2, an interrupt is status 130, never a traceback."""
    try:
        status = main()
    except UmtError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)
