"""The :class:`Embeddings` container: a vocabulary in frequency order and its float32 matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from umt.errors import UmtError


@dataclass
class Embeddings:
    """Word vectors in frequency order (row ``i`` is the ``i``-th most frequent word).

    Attributes
    ----------
    words : list of str
        Vocabulary, most frequent first, without duplicates.
    vectors : ndarray of shape (n_words, dim), float32
    counts : ndarray of int64 or None
        Corpus frequency of each word, when known.
    source : str
        Where the vectors came from (a path), used in error messages.
    """

    words: list[str]
    vectors: np.ndarray
    counts: np.ndarray | None = None
    source: str = "<memory>"
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise UmtError(
                f"{self.source}: {len(self.words)} words but vectors of shape {self.vectors.shape}"
            )
        if self.counts is not None and len(self.counts) != len(self.words):
            raise UmtError(f"{self.source}: {len(self.words)} words but {len(self.counts)} counts")
        # The file readers refuse these with the guilty line; vectors built in memory are checked here,
        # so a NaN or a repeated word never reaches an alignment as silent garbage.
        finite = np.isfinite(self.vectors).all(axis=1)
        if not finite.all():
            row = int(np.argmin(finite))
            raise UmtError(f"{self.source}: NaN or infinite value in the vector of {self.words[row]!r} (row {row})")
        if "\x00" in "".join(self.words):  # a binary file read as text, or a damaged one (one C-level scan)
            row = next(i for i, w in enumerate(self.words) if "\x00" in w)
            raise UmtError(f"{self.source}: word {self.words[row]!r} (row {row}) holds a NUL byte")
        if len(self.index) != len(self.words):
            first = next(i for i, w in enumerate(self.words) if self.index[w] != i)  # the index keeps the last
            word = self.words[first]
            raise UmtError(f"{self.source}: word {word!r} appears twice (rows {first} and {self.index[word]})")

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """Map word -> row."""
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def head(self, n: int | None) -> Embeddings:
        """The ``n`` most frequent words (all if ``n`` is None or larger than the vocabulary)."""
        if n is None or n >= len(self):
            return self
        counts = None if self.counts is None else self.counts[:n]
        return Embeddings(self.words[:n], self.vectors[:n], counts, self.source)

    def with_vectors(self, vectors: np.ndarray) -> Embeddings:
        """Same vocabulary, new matrix (e.g. after mapping or normalisation)."""
        return Embeddings(self.words, vectors, self.counts, self.source, self._index)


def check_same_dim(src: Embeddings, tgt: Embeddings) -> None:
    """Raise a clear error when two spaces cannot be aligned."""
    if src.dim != tgt.dim:
        raise UmtError(
            f"dimension mismatch: {src.source} has {src.dim}-d vectors, {tgt.source} has {tgt.dim}-d"
        )
