"""Small I/O helpers: atomic writes, JSON, opening plain or gzip text with clear errors."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from umt.errors import UmtError


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# what open() gives a new file; mkstemp's private 0600 would hide results from the user's group
_FILE_MODE = _umask_mode()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A crash or an exception leaves any previous ``path`` untouched and no partial file behind.
    The file gets the permissions a plain ``open()`` would give it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def save_png(fig, path, dpi: int = 110) -> None:
    """Write a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


def save_npy(path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise a one-line UmtError if it is missing or empty."""
    path = Path(path)
    if not path.exists():
        raise UmtError(f"{path}: {what} not found")
    if path.is_file() and path.stat().st_size == 0:
        raise UmtError(f"{path}: {what} is empty")
    return path


def open_text(path: str | os.PathLike):
    """Open a UTF-8 text file, transparently gunzipping ``*.gz``."""
    path = require_file(path)
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_lines(path: str | os.PathLike, limit: int | None = None) -> Iterator[str]:
    """Yield lines (without newline) of a UTF-8 text file, raising a clear error on bad encoding."""
    path = Path(path)
    lineno = 0
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if limit is not None and lineno > limit:
                    return
                yield line.rstrip("\n")
    except UnicodeDecodeError as e:
        raise UmtError(f"{path}:{lineno + 1}: not valid UTF-8 ({e.reason})") from None
    except (OSError, EOFError) as e:
        raise UmtError(f"{path}: cannot read ({e})") from None
