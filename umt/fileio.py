"""Small I/O helpers: atomic writes, JSON, opening plain or gzip text with clear errors."""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from umt.errors import UmtError


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# what open() gives a new file; mkstemp's private 0600 would hide results from the user's group
_FILE_MODE = _umask_mode()


def make_folder(path: str | os.PathLike) -> Path:
    """Create the folder ``path`` and its parents, or raise a one-line :class:`UmtError`.

    An existing file in the way, a missing permission or a full disk names the folder.
    """
    path = Path(path)
    if path.is_dir():
        return path
    blocker = next((p for p in (path, *path.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise UmtError(f"{path}: cannot create this folder: {blocker} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UmtError(f"{path}: cannot create this folder: {e.strerror or e}") from None
    return path


# errors that only a write gives: inside an atomic write they are the destination's, never an input's
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; once the block succeeds, its content becomes ``path``'s.

    A regular file (or none yet) is replaced by renaming the temporary file beside it, so a
    crash, an exception or a full disk leaves any previous ``path`` untouched and no partial file
    behind; a new file gets the permissions a plain ``open()`` would give it, an existing one keeps
    its own. Writes go where the user pointed: through a symlink to its file (the link stays), and
    into a FIFO, a device or ``/dev/stdout`` by opening it, as a shell redirection would; such a
    target is never replaced by a regular file. A write error names ``path`` in one line.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UmtError(f"{path}: is a folder; expected the path of a file to write")
    special = target.exists() and not target.is_file()  # FIFO, character or block device, socket
    if not special:
        make_folder(target.parent)
    mode = target.stat().st_mode & 0o7777 if target.is_file() else _FILE_MODE
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=None if special else target.parent)
    except OSError as e:
        raise UmtError(f"{path}: cannot write here ({e.strerror or e})") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
        except OSError as e:
            if e.errno in _WRITE_ERRORS:
                raise UmtError(f"{path}: cannot write ({e.strerror or e})") from None
            raise
        try:
            if special:
                with open(tmp, "rb") as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                os.chmod(tmp, mode)
                os.replace(tmp, target)
        except BrokenPipeError:  # the reader of a pipe went away: the CLI's exit for `| head`
            raise
        except OSError as e:
            raise UmtError(f"{path}: cannot write ({e.strerror or e})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


STAGING = ".incoming"  # where a run folder's next results are written before they replace the last ones


@contextlib.contextmanager
def staged_results(folder: str | os.PathLike, owned: Iterable[str], marker: str) -> Iterator[Path]:
    """Yield a staging folder inside ``folder``; once the block succeeds, what it holds replaces
    the results named ``owned`` in ``folder`` (those it did not write are removed), ``marker``
    last.

    The slow part of writing a result set (scoring, plots, large matrices) happens in the
    staging folder, so an exception, a kill or a full disk during it leaves the earlier results
    whole and in use. Only the publishing renames (milliseconds) touch them: ``marker`` (the file
    that records the set, with its digests, and that readers check) is removed first and renamed
    in last, so a folder caught between the two sets has no marker and is refused by its readers,
    never read as mixed. A staging folder left by a killed process is cleared by the next write.

    Every name written must be in ``owned``: a writer that adds a result file without declaring
    it fails here (before anything is published), rather than leaving that file behind, stale,
    when a later run does not write it.
    """
    owned = tuple(owned)
    folder = make_folder(folder)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    make_folder(staging)
    try:
        yield staging
        undeclared = sorted(p.name for p in staging.iterdir() if p.name not in owned)
        if undeclared:
            raise RuntimeError(f"{folder}: results {', '.join(undeclared)} are not declared among {owned}")
        (folder / marker).unlink(missing_ok=True)
        for name in owned:
            if name != marker and not (staging / name).exists():
                (folder / name).unlink(missing_ok=True)
        written = sorted(p.name for p in staging.iterdir())
        for name in (*(n for n in written if n != marker), *(n for n in written if n == marker)):
            try:
                os.replace(staging / name, folder / name)
            except OSError as e:
                raise UmtError(f"{folder / name}: cannot write ({e.strerror or e})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


def read_json(path: str | os.PathLike, what: str = "JSON file"):
    """The JSON value in ``path``, or a one-line :class:`UmtError` naming the file and the problem."""
    path = require_file(path, what)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UmtError(f"{path}: {what} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UmtError(f"{path}:{e.lineno}: {what} is not valid JSON ({e.msg}, column {e.colno})") from None


_NPY_MAGIC = b"\x93NUMPY"


def load_npy(path: str | os.PathLike, what: str = ".npy file", mmap_mode: str | None = None) -> np.ndarray:
    """The array in ``path`` (never a pickle), or a one-line :class:`UmtError` naming the file and the problem."""
    path = require_file(path, what)
    with open(path, "rb") as f:
        if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise UmtError(f"{path}: {what} is not a .npy file (no NumPy header)")
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise UmtError(f"{path}: {what} is damaged or truncated ({e})") from None


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a Path, or raise a one-line UmtError if it is missing or empty."""
    path = Path(path)
    if not path.exists():
        raise UmtError(f"{path}: {what} not found")
    if path.is_file() and path.stat().st_size == 0:
        raise UmtError(f"{path}: {what} is empty")
    return path


def decode_line(raw: bytes, path: str | os.PathLike, lineno: int) -> str:
    """One line's bytes as UTF-8, or a one-line :class:`UmtError` naming ``path`` and the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UmtError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None


def read_lines(path: str | os.PathLike, limit: int | None = None) -> Iterator[str]:
    """Yield lines (without the line break) of a UTF-8 text file, plain or gzip.

    Each line is decoded on its own, so bad UTF-8 is reported at the line that holds it.
    """
    path = require_file(path)
    try:
        with gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if limit is not None and lineno > limit:
                    return
                yield decode_line(raw, path, lineno).rstrip("\n").removesuffix("\r")
    except (OSError, EOFError, zlib.error) as e:
        raise UmtError(f"{path}: cannot read, damaged or not gzip ({e})") from None


def load_checkpoint(path: str | os.PathLike, what: str = "checkpoint", device=None) -> dict:
    """A torch file of tensors and plain data (``weights_only`` loading), as one clear error otherwise.

    Full unpickling would run whatever code a downloaded file names; umt's checkpoints hold only
    tensors, numbers, strings, lists and dicts, so anything else is refused.
    """
    import pickle

    import torch

    # numpy scalars (a float64 in a history row) are data too; older checkpoints hold some
    multiarray = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core to numpy._core
    scalars = [multiarray.multiarray.scalar, np.dtype, *{type(np.dtype(t)) for t in (np.float64, np.float32, np.int64)}]
    try:
        with torch.serialization.safe_globals(scalars):
            state = torch.load(path, map_location=device or "cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UmtError(f"{path}: {what} holds more than tensors and plain data, refused: loading it could run "
                       f"code ({first[:160]})") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file is one clear error
        raise UmtError(f"{path}: cannot read {what} ({e})") from None
    if not isinstance(state, dict):
        raise UmtError(f"{path}: not a umt {what} (a {type(state).__name__}, not a dict)")
    return state

