"""Preparing a pair of embedding spaces for alignment and evaluation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from umt.embeddings.normalize import normalize
from umt.embeddings.vectors import Embeddings, check_same_dim
from umt.errors import UmtError
from umt.fileio import require_file, save_npy, write_json

DEFAULT_NORMALIZE = "unit,center,unit"


def prepare(src: Embeddings, tgt: Embeddings, chain: str = DEFAULT_NORMALIZE) -> tuple[np.ndarray, np.ndarray]:
    """Normalised source and target matrices, after checking the dimensions agree.

    The ``chain`` is applied, then every row is scaled to unit length: all scores are cosines.
    """
    check_same_dim(src, tgt)
    return normalize(src.vectors, f"{chain},unit"), normalize(tgt.vectors, f"{chain},unit")


def save_mapping(folder: str | os.PathLike, w: np.ndarray, chain: str, **info) -> Path:
    """Write ``mapping.npy`` (``x_mapped = x @ W.T``) and ``mapping.json`` (how to prepare ``x``)."""
    folder = Path(folder)
    save_npy(folder / "mapping.npy", w.astype(np.float32))
    write_json(folder / "mapping.json", {"normalize": chain, "dim": int(w.shape[0]), **info})
    return folder / "mapping.npy"


def load_mapping(path: str | os.PathLike, dim: int) -> tuple[np.ndarray, str | None]:
    """Read a mapping (a ``.npy`` file or a run directory) and the normalisation saved with it."""
    path = Path(path)
    if path.is_dir():
        path = path / "mapping.npy"
    require_file(path, "mapping")
    try:
        w = np.load(path)
    except (ValueError, OSError) as e:
        raise UmtError(f"{path}: not a readable .npy mapping ({e})") from None
    if w.shape != (dim, dim):
        raise UmtError(f"{path}: mapping of shape {w.shape} does not fit {dim}-d embeddings")
    if not np.isfinite(w).all():
        raise UmtError(f"{path}: mapping holds NaN or infinite values")
    meta = path.with_suffix(".json")
    chain = json.loads(meta.read_text())["normalize"] if meta.exists() else None
    return w.astype(np.float32), chain
