"""Run directories: one folder per experiment holding its parameters, its log and its outputs."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

from umt.errors import UmtError
from umt.fileio import make_folder, write_json

log = logging.getLogger("umt")

LOCK_FILE = ".umt.lock"
_held: dict[Path, object] = {}  # run directories this process holds, with their open lock files
_made: set[Path] = set()  # run directories this process created (or found empty)
#: What :func:`start_run` writes before any work: a folder holding only these has no results.
_BOOKKEEPING = {"params.json", "run.log", LOCK_FILE}


def machine_and_date() -> dict:
    """Where and when a headline figure was measured, for the JSON that records it."""
    import platform

    return {"machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)",
            "date": time.strftime("%Y-%m-%d")}


def lock_run_directory(out: Path) -> None:
    """Hold ``out`` for this process until it exits, or refuse in one line when another holds it.

    Two commands writing one run directory would mix their checkpoints and results. The lock is
    the operating system's (``lockf`` on ``out/.umt.lock``), so a killed process never leaves a
    stale one; the file keeps the holder's pid for the message. torchrun's ranks other than 0
    write into rank 0's directory and do not take it.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return
    key = out.resolve()
    if key in _held or os.environ.get("RANK", "0") != "0":
        return
    handle = open(out / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held open until the process ends
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise UmtError(f"{out}: busy: another umt process (pid {holder}) is writing to this run directory; "
                       "wait for it to finish or choose another output folder") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[key] = handle


def refuse_another_command(out: Path, command: str | None) -> None:
    """A run directory belongs to the command that made it: another command's outputs there
    (``umt evaluate`` into an ``umt align`` run) would replace files of the same name."""
    path = out / "params.json"
    if command is None or not path.exists():
        return
    try:
        earlier = json.loads(path.read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return
    older_umt = command.startswith(f"{earlier} ")  # which recorded "mt" for every `umt mt` command
    if earlier is not None and earlier != command and not older_umt:
        raise UmtError(f"{out}: holds a `umt {earlier}` run; `umt {command}` would overwrite its files there: "
                       "choose another output folder")


def start_run(out: str | os.PathLike, params: dict, log_name: str = "run.log") -> Path:
    """Create ``out``, hold it for this process (:func:`lock_run_directory`), write ``params.json``
    and send the ``umt`` log there too."""
    fresh = not Path(out).is_dir() or not any(Path(out).iterdir())
    out = make_folder(out)
    if fresh:
        _made.add(out)
    lock_run_directory(out)
    refuse_another_command(out, params.get("command"))
    write_json(out / "params.json", {**params, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                     "argv": sys.argv})
    for old in [h for h in log.handlers if getattr(h, "umt_run_log", False)]:
        log.removeHandler(old)  # one run log at a time, also when a notebook starts several runs
        old.close()
    handler = logging.FileHandler(out / log_name, encoding="utf-8")
    handler.umt_run_log = True
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info("run directory %s, parameters %s", out, params)
    return out


def discard_empty_runs() -> list[Path]:
    """Remove the run directories this process created that hold nothing but ``params.json``,
    ``run.log`` and the lock, as a command refused for bad input leaves them; returns them.

    Called when a command fails: a folder of bookkeeping alone would look like a run. A folder
    that held anything before, or that received any output, is kept as it is.
    """
    removed = []
    for out in sorted(_made):
        for handler in [h for h in log.handlers if getattr(h, "umt_run_log", False)]:
            if Path(handler.baseFilename).parent == out.absolute():
                log.removeHandler(handler)
                handler.close()
        held = _held.pop(out.resolve(), None) if out.exists() else None
        if held is not None:
            held.close()  # closing the file releases the lock
        try:
            if not out.is_dir() or {p.name for p in out.iterdir()} - _BOOKKEEPING:
                continue
            for name in _BOOKKEEPING:
                (out / name).unlink(missing_ok=True)
            out.rmdir()
            removed.append(out)
        except OSError:  # another process wrote there meanwhile, or no permission: leave it
            continue
    _made.clear()
    return removed


def keep_runs() -> None:
    """The command succeeded: its run directories are no longer candidates for :func:`discard_empty_runs`."""
    _made.clear()
