"""Loading and saving word vectors.

Formats
-------
``.vec`` / ``.txt`` (optionally ``.gz``)
    word2vec/fastText text: an optional ``count dim`` header, then ``word v1 ... vd`` per line.
``.bin``
    A fastText model; vectors of its vocabulary (in its frequency order) are read through the
    ``fasttext`` package.
native directory
    ``vectors.npy`` (float32, one row per word) and ``vocab.txt`` (``word<TAB>count`` per line),
    what umt writes; loads in well under a second.

Every problem with a file is raised as a one-line :class:`~umt.errors.UmtError` naming the file
and, for text files, the line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import (
    atomic_path,
    decode_line,
    load_npy,
    make_folder,
    read_json,
    require_file,
    save_npy,
    staged_results,
    write_json,
)
from umt.ranges import OPTIONAL_POSITIVE, check_option

log = logging.getLogger("umt")

VECTOR_FOLDER_FILES = ("vocab.txt", "vectors.npy", "meta.json")
_CHUNK = 20000  # lines parsed per numpy call: large enough to be fast, small enough for memory


def load_embeddings(path: str | os.PathLike, max_vocab: int | None = None) -> Embeddings:
    """Load vectors from ``path`` in any supported format, keeping the first ``max_vocab`` words.

    Duplicate words keep their first vector (a warning says how many were dropped).
    """
    path = Path(path)
    check_option("max_vocab", max_vocab, OPTIONAL_POSITIVE)
    if path.is_dir():
        return _load_native(path, max_vocab)
    require_file(path, "embedding file")
    if path.suffix == ".bin":
        return _load_fasttext_bin(path, max_vocab)
    if path.suffix == ".npy":
        return _load_native(path.parent, max_vocab)
    return _load_text(path, max_vocab)


def _check_complete(folder: Path, vocab_path: Path, vectors: np.ndarray) -> None:
    """Refuse a native folder whose writing did not finish, or whose files come from two writes."""
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        raise UmtError(f"{folder}: incomplete vector folder (no meta.json, which is written last): its writing was "
                       "interrupted; write it again")
    meta = read_json(meta_path, "vector folder description")
    vocab_ok = meta.get("vocab_sha256") in (None, hashlib.sha256(vocab_path.read_bytes()).hexdigest()[:16])
    vectors_ok = meta.get("vectors_digest") in (None, _vectors_digest(vectors))
    if not (vocab_ok and vectors_ok):  # older folders carry no digests and are taken as they are
        which = "vocab.txt" if not vocab_ok else "vectors.npy"
        raise UmtError(f"{folder}: {which} is not the file meta.json describes (the folder mixes two writes); "
                       "write it again")


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _parse_header(line: str) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1])
    return None


def _load_text(path: Path, max_vocab: int | None) -> Embeddings:
    """Parse with pandas' C reader when the file is well formed; otherwise line by line.

    The fast path accepts nothing the careful path would reject: any doubt (a parse error, a
    missing or extra value, a non-finite number, duplicates under ``max_vocab``) sends the file
    to the careful path, which names the guilty line.
    """
    try:
        fast = _load_text_fast(path, max_vocab)
    except Exception:  # noqa: BLE001 - the careful path below reports the actual problem
        fast = None
    return fast if fast is not None else _load_text_checked(path, max_vocab)


def _load_text_fast(path: Path, max_vocab: int | None) -> Embeddings | None:
    import pandas as pd

    with _open_binary(path) as f:
        first, second = f.readline().decode("utf-8-sig"), f.readline().decode("utf-8")
    header = _parse_header(first)
    sample = second if header else first
    dim = header[1] if header else len(sample.split()) - 1
    if dim <= 0:
        return None
    df = pd.read_csv(
        path, sep=" ", header=None, skiprows=1 if header else 0, quoting=csv.QUOTE_NONE, engine="c",
        names=list(range(dim + 2)), dtype={0: str, **{i: np.float32 for i in range(1, dim + 1)}, dim + 1: str},
        keep_default_na=False, na_values=[], nrows=max_vocab, encoding="utf-8-sig",
    )
    if len(df) == 0 or (df[dim + 1] != "").any() or (df[0] == "").any():
        return None
    matrix = df.iloc[:, 1 : dim + 1].to_numpy(dtype=np.float32)
    if not np.isfinite(matrix).all():
        return None
    words = df[0].tolist()
    _warn_if_count_differs(path, header, len(words), max_vocab)
    if len(set(words)) != len(words):
        if max_vocab is not None:
            return None
        keep = ~df[0].duplicated().to_numpy()
        log.warning("%s: %d duplicate words ignored (first occurrence kept)", path, int((~keep).sum()))
        words, matrix = [w for w, k in zip(words, keep) if k], matrix[keep]
    return Embeddings(words, matrix, None, str(path))


def _load_text_checked(path: Path, max_vocab: int | None) -> Embeddings:
    words: list[str] = []
    rests: list[str] = []
    linenos: list[int] = []
    seen: set[str] = set()
    duplicates = 0
    dim = None
    header = None
    chunks: list[np.ndarray] = []
    try:
        with _open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                line = decode_line(raw, path, lineno).rstrip("\r\n")
                if lineno == 1:
                    line = line.removeprefix("\ufeff")  # a byte-order mark some editors write
                    header = _parse_header(line)
                    if header is not None:
                        dim = header[1]
                        continue
                stripped = line.strip(" ")
                if not stripped:
                    continue
                word, _, rest = stripped.partition(" ")
                if not rest:
                    raise UmtError(f"{path}:{lineno}: word {word!r} has no vector")
                if dim is None:
                    dim = len(rest.split())
                if word in seen:
                    duplicates += 1
                    continue
                seen.add(word)
                words.append(word)
                rests.append(rest)
                linenos.append(lineno)
                if len(rests) == _CHUNK:
                    chunks.append(_parse_chunk(rests, linenos, dim, path))
                    rests, linenos = [], []
                if max_vocab is not None and len(words) >= max_vocab:
                    break
    except (OSError, EOFError, zlib.error) as e:
        raise UmtError(f"{path}: cannot read, damaged or not gzip ({e})") from None
    if rests:
        chunks.append(_parse_chunk(rests, linenos, dim, path))
    if not words:
        raise UmtError(f"{path}: no word vectors found (empty file?)")
    _warn_if_count_differs(path, header, len(words) + duplicates, max_vocab)
    if duplicates:
        log.warning("%s: %d duplicate words ignored (first occurrence kept)", path, duplicates)
    return Embeddings(words, np.concatenate(chunks), None, str(path))


def _warn_if_count_differs(path: Path, header: tuple[int, int] | None, lines: int, max_vocab: int | None) -> None:
    """Warn when the ``count dim`` header promised other than the ``lines`` read: a truncated
    download holds fewer (only fewer counts when reading stopped at ``max_vocab``)."""
    if header is None:
        return
    if (lines != header[0]) if max_vocab is None else (lines < min(header[0], max_vocab)):
        log.warning("%s: header announces %d words, file holds %d%s", path, header[0], lines,
                    " (truncated?)" if lines < header[0] else "")


def _parse_chunk(rests: list[str], linenos: list[int], dim: int, path: Path) -> np.ndarray:
    """Parse the numeric part of many lines at once; on any problem find the guilty line."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring("\n".join(rests), dtype=np.float32, sep=" ")
        except (DeprecationWarning, ValueError):
            flat = None
    if flat is None or flat.size != len(rests) * dim:
        for rest, lineno in zip(rests, linenos):
            fields = rest.split()
            if len(fields) != dim:
                raise UmtError(f"{path}:{lineno}: expected {dim} values, found {len(fields)}")
            try:
                np.array(fields, dtype=np.float32)
            except ValueError:
                bad = next(v for v in fields if not _is_float(v))
                raise UmtError(f"{path}:{lineno}: not a number: {bad!r}") from None
        raise UmtError(f"{path}: could not parse vectors near line {linenos[0]}")
    matrix = flat.reshape(len(rests), dim)
    bad_rows = ~np.isfinite(matrix).all(axis=1)
    if bad_rows.any():
        raise UmtError(f"{path}:{linenos[int(np.argmax(bad_rows))]}: NaN or infinite value in vector")
    return matrix


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _load_fasttext_bin(path: Path, max_vocab: int | None) -> Embeddings:
    try:
        import fasttext
    except ImportError:  # pragma: no cover - fasttext is a dependency
        raise UmtError(f"{path}: reading fastText .bin needs the 'fasttext' package") from None
    try:
        model = fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError) as e:
        raise UmtError(f"{path}: not a readable fastText model ({e})") from None
    words, counts = model.get_words(include_freq=True, on_unicode_error="replace")
    if max_vocab is not None:
        words, counts = words[:max_vocab], counts[:max_vocab]
    if not words:
        raise UmtError(f"{path}: fastText model has an empty vocabulary")
    vectors = np.stack([model.get_word_vector(w) for w in words])
    return Embeddings(list(words), vectors, np.asarray(counts, dtype=np.int64), str(path))


def _load_native(folder: Path, max_vocab: int | None) -> Embeddings:
    vec_path, vocab_path = folder / "vectors.npy", folder / "vocab.txt"
    for p in (vec_path, vocab_path):
        require_file(p, "embedding file")
    vectors = load_npy(vec_path, "embedding file", mmap_mode="r")
    _check_complete(folder, vocab_path, vectors)
    words: list[str] = []
    counts: list[int] = []
    cut = False  # whether max_vocab stopped the reading before the vocabulary ended
    with open(vocab_path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if max_vocab is not None and lineno > max_vocab:
                cut = True
                break
            word, _, count = decode_line(raw, vocab_path, lineno).rstrip("\n").partition("\t")
            if not word:
                raise UmtError(f"{vocab_path}:{lineno}: empty word")
            words.append(word)
            counts.append(int(count) if count.isdigit() else 0)
    if vectors.ndim != 2 or vectors.shape[0] < len(words) or (not cut and vectors.shape[0] != len(words)):
        # a vocabulary shorter than the matrix is a folder whose files come from two runs
        raise UmtError(f"{vec_path}: shape {vectors.shape} does not match {len(words)} words in {vocab_path}")
    matrix = np.array(vectors[: len(words)], dtype=np.float32)
    return Embeddings(words, matrix, np.asarray(counts, dtype=np.int64), str(folder))  # refuses NaN rows, by word


def _vectors_digest(vectors: np.ndarray, rows: int = 1024) -> str:
    """A digest of up to ``rows`` evenly spaced rows: tells two matrices apart without reading all."""
    picked = np.unique(np.linspace(0, len(vectors) - 1, min(rows, len(vectors))).astype(np.int64))
    return hashlib.sha256(np.ascontiguousarray(vectors[picked], dtype=np.float32).tobytes()).hexdigest()[:16]


def save_embeddings(emb: Embeddings, folder: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write ``emb`` in umt's native format (``vectors.npy`` + ``vocab.txt``) into ``folder``.

    The files are written beside the folder's earlier ones and replace them together
    (:func:`umt.fileio.staged_results`), ``meta.json`` last, with digests of the two files: an
    interrupted write (a kill, a full disk) leaves the earlier vectors whole, and a folder caught
    between two writes is refused by the loader rather than read as one file of each.
    """
    folder = make_folder(folder)
    counts = emb.counts if emb.counts is not None else np.zeros(len(emb), dtype=np.int64)
    vocab = "".join(f"{w}\t{int(c)}\n" for w, c in zip(emb.words, counts)).encode("utf-8")
    with staged_results(folder, VECTOR_FOLDER_FILES, "meta.json") as staging:
        with atomic_path(staging / "vocab.txt") as tmp:
            tmp.write_bytes(vocab)
        save_npy(staging / "vectors.npy", emb.vectors)
        write_json(staging / "meta.json", {"words": len(emb), "dim": emb.dim, **(meta or {}),
                                           "vocab_sha256": hashlib.sha256(vocab).hexdigest()[:16],
                                           "vectors_digest": _vectors_digest(emb.vectors)})
    return folder


def save_vec(emb: Embeddings, path: str | os.PathLike, precision: int = 5) -> Path:
    """Write ``emb`` as a fastText ``.vec`` text file with a header line."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{len(emb)} {emb.dim}\n")
            fmt = " ".join([f"%.{precision}f"] * emb.dim)
            for w, row in zip(emb.words, emb.vectors):
                f.write(w + " " + fmt % tuple(row) + "\n")
    return path
