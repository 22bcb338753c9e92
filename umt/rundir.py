"""Run directories: one folder per experiment holding its parameters, its log and its outputs."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from umt.fileio import make_folder, write_json

log = logging.getLogger("umt")


def start_run(out: str | os.PathLike, params: dict, log_name: str = "run.log") -> Path:
    """Create ``out``, write ``params.json`` and send the ``umt`` log there too."""
    out = make_folder(out)
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
