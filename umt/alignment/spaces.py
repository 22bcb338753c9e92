"""Preparing a pair of embedding spaces for alignment and evaluation."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from umt.alignment.procrustes import map_spaces
from umt.embeddings.normalize import normalize
from umt.embeddings.vectors import Embeddings, check_same_dim
from umt.errors import UmtError
from umt.fileio import load_npy, read_json, save_npy, write_json

log = logging.getLogger("umt")

DEFAULT_NORMALIZE = "unit,center,unit"


MIN_ALIGN_WORDS = 10  # fewer words than this leave a map of many dimensions undetermined


def check_alignable(src: Embeddings, tgt: Embeddings) -> None:
    """Refuse, in one line, spaces no alignment can be meaningful on, before any work: other
    dimensions, one dimension (a rotation of a line is a sign), a handful of words, or vectors
    that are mostly zero (a damaged or unfinished training)."""
    check_same_dim(src, tgt)
    if src.dim < 2:
        raise UmtError(f"{src.source}: {src.dim}-d vectors: nothing to rotate (at least 2 dimensions)")
    for emb in (src, tgt):
        if len(emb) == 0:
            raise UmtError(f"{emb.source}: no words to align")
        if len(emb) < MIN_ALIGN_WORDS:
            raise UmtError(f"{emb.source}: {len(emb)} words: too few to align (at least {MIN_ALIGN_WORDS})")
        zero = int((~emb.vectors.any(axis=1)).sum())
        if 2 * zero > len(emb):
            raise UmtError(f"{emb.source}: {zero} of its {len(emb)} vectors are zero: nothing to align")


def prepare(src: Embeddings, tgt: Embeddings, chain: str = DEFAULT_NORMALIZE) -> tuple[np.ndarray, np.ndarray]:
    """Normalised source and target matrices, after checking the dimensions agree.

    The ``chain`` is applied, then every row is scaled to unit length: all scores are cosines.
    """
    check_same_dim(src, tgt)
    for emb in (src, tgt):
        if len(emb) == 0:
            raise UmtError(f"{emb.source}: no words to align")
    return normalize(src.vectors, f"{chain},unit"), normalize(tgt.vectors, f"{chain},unit")


class SavedMapping(NamedTuple):
    """A mapping read back: the source map, the normalisation chain and the target map (or None)."""

    source: np.ndarray
    normalize: str | None
    target: np.ndarray | None = None

    def apply(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both prepared spaces, mapped (see :func:`umt.alignment.procrustes.map_spaces`)."""
        return map_spaces(x, y, self.source, self.target)


def save_mapping(folder: str | os.PathLike, w: np.ndarray, chain: str, target: np.ndarray | None = None,
                 **info) -> Path:
    """Write ``mapping.npy`` (``x_mapped = x @ W.T``), ``mapping.json`` (how to prepare ``x``) and,
    for maps that move the target too, ``target_mapping.npy`` (``y_mapped = y @ W_target.T``)."""
    folder = Path(folder)
    (folder / "mapping.json").unlink(missing_ok=True)  # written last: without it the maps are incomplete
    w = w.astype(np.float32)
    save_npy(folder / "mapping.npy", w)
    target_path = folder / "target_mapping.npy"
    if target is not None:
        target = target.astype(np.float32)
        save_npy(target_path, target)
    elif target_path.exists():  # a rerun into the same folder must not pair with a stale target map
        target_path.unlink()
    digests = {"mapping.npy": matrix_digest(w), **({"target_mapping.npy": matrix_digest(target)} if target is not None
                                                   else {})}
    write_json(folder / "mapping.json", {"normalize": chain, "dim": int(w.shape[0]),
                                         "target_mapping": target is not None, "sha256": digests, **info})
    return folder / "mapping.npy"


def matrix_digest(w: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(w, dtype=np.float32).tobytes()).hexdigest()[:16]


def vocabulary_fingerprint(emb: Embeddings, words: int = 1000) -> str:
    """A short digest of the ``words`` most frequent words: which vectors a mapping was learned on.

    Only the head of the vocabulary counts, so a ``--max-vocab`` cut leaves it unchanged.
    """
    return hashlib.sha1("\n".join(emb.words[:words]).encode("utf-8")).hexdigest()[:16]


def load_mapping(path: str | os.PathLike, dim: int, src: Embeddings | None = None,
                 tgt: Embeddings | None = None) -> SavedMapping:
    """Read a mapping (a ``.npy`` file or a run directory), its normalisation and its target map.

    The target map is ``target_mapping.npy`` beside a run directory's ``mapping.npy``, when the
    saved ``mapping.json`` says there is one. Given the spaces it is about to be applied to,
    ``src`` and ``tgt``, it warns when ``mapping.json`` says it was learned on vectors with other
    frequent words, or on these two the other way round: the map would run without error and
    give nonsense.
    """
    path = Path(path)
    run_directory = path.is_dir()
    if run_directory:
        path = path / "mapping.npy"
    w = _read_matrix(path, dim, "mapping")
    meta = path.with_suffix(".json")
    if run_directory and not meta.exists():
        raise UmtError(f"{meta}: missing, and it is written last: the alignment in {path.parent} did not finish "
                       "writing; run it again")
    info = read_json(meta, "mapping description") if meta.exists() else {}
    if src is not None and tgt is not None:
        _warn_if_learned_elsewhere(path, info, src, tgt)
    target = _read_matrix(path.with_name("target_mapping.npy"), dim, "target mapping") \
        if info.get("target_mapping") else None
    for name, matrix in (("mapping.npy", w), ("target_mapping.npy", target)):
        expected = info.get("sha256", {}).get(name)  # older run directories carry no digests
        if expected is not None and matrix is not None and matrix_digest(matrix) != expected:
            raise UmtError(f"{path.with_name(name)}: not the map {meta.name} describes (the folder mixes two runs' "
                           "files); run the alignment again")
    return SavedMapping(w, info.get("normalize"), target)


def _warn_if_learned_elsewhere(path: Path, info: dict, src: Embeddings, tgt: Embeddings) -> None:
    learned = (info.get("src_vocabulary"), info.get("tgt_vocabulary"))
    if None in learned:  # written before fingerprints were kept
        return
    given = (vocabulary_fingerprint(src), vocabulary_fingerprint(tgt))
    if learned == given:
        return
    where = f"{info.get('src', '?')} -> {info.get('tgt', '?')}"
    if learned == given[::-1]:
        log.warning("%s: this mapping was learned %s and is applied the other way round, %s -> %s",
                    path, where, src.source, tgt.source)
    else:
        other = " and ".join(side for side, a, b in zip(("source", "target"), learned, given) if a != b)
        log.warning("%s: this mapping was learned on %s; the %s vectors given (%s -> %s) have other most frequent "
                    "words, so its translations may be nonsense", path, where, other, src.source, tgt.source)


def _read_matrix(path: Path, dim: int, what: str) -> np.ndarray:
    w = load_npy(path, what)
    if w.shape != (dim, dim):
        raise UmtError(f"{path}: mapping of shape {w.shape} does not fit {dim}-d embeddings")
    if not np.isfinite(w).all():
        raise UmtError(f"{path}: mapping holds NaN or infinite values")
    return w.astype(np.float32)
