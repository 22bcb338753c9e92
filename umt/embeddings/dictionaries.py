"""Reading gold bilingual dictionaries in the MUSE format (``source target`` per line)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import read_lines, require_file


def read_dictionary(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Pairs of a MUSE-format dictionary, in file order (duplicate lines dropped).

    A source word may appear on several lines (several correct translations).
    """
    path = require_file(path, "dictionary")
    pairs: list[tuple[str, str]] = []
    seen = set()
    for lineno, line in enumerate(read_lines(path), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise UmtError(f"{path}:{lineno}: expected 'source target', found {len(fields)} fields")
        pair = (fields[0], fields[1])
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    if not pairs:
        raise UmtError(f"{path}: dictionary holds no pairs")
    return pairs


@dataclass
class IndexedDictionary:
    """Gold pairs as vocabulary indices, plus what was lost to out-of-vocabulary words."""

    src_ids: np.ndarray  # shape (n_pairs,)
    tgt_ids: np.ndarray
    n_sources_total: int  # distinct source words in the file
    n_sources_covered: int  # distinct source words with at least one pair in vocabulary
    path: str = ""

    @property
    def coverage(self) -> float:
        return self.n_sources_covered / self.n_sources_total if self.n_sources_total else 0.0


def index_dictionary(pairs: list[tuple[str, str]], src: Embeddings, tgt: Embeddings,
                     path: str | Path = "") -> IndexedDictionary:
    """Keep pairs whose two words are both in the vocabularies (the MUSE protocol).

    A dictionary none of whose pairs is kept is an error rather than a precision of 0: it is
    another pair's dictionary, or this pair's the wrong way round.
    """
    s_index, t_index = src.index, tgt.index
    kept = [(s_index[a], t_index[b]) for a, b in pairs if a in s_index and b in t_index]
    n_total = len({a for a, _ in pairs})
    if not kept:
        reversed_kept = sum(1 for a, b in pairs if b in s_index and a in t_index)
        hint = (f"; {reversed_kept} would be read the other way round: is it the {tgt.source} -> {src.source} "
                "dictionary?") if reversed_kept else ""
        raise UmtError(f"{path or 'dictionary'}: none of its {len(pairs)} pairs has its source word in {src.source} "
                       f"and its target word in {tgt.source}{hint}")
    arr = np.array(kept, dtype=np.int64).reshape(-1, 2)
    return IndexedDictionary(arr[:, 0], arr[:, 1], n_total, len(set(arr[:, 0].tolist())), str(path))


def load_dictionary(path, src: Embeddings, tgt: Embeddings) -> IndexedDictionary:
    return index_dictionary(read_dictionary(path), src, tgt, path)
