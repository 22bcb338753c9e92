"""Word-by-word translation with an induced bilingual lexicon: the seed of back-translation."""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from umt.corpora.tokenize import tokenize
from umt.errors import UmtError
from umt.fileio import atomic_path, read_lines

#: Targets among which the frequency prior chooses (the CSLS-best ones).
FREQUENCY_CANDIDATES = 10

_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:)\]}%])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")
_ELIDED = re.compile(r"(\b\w{1,2}'|\bqu') ", re.IGNORECASE)


def detokenize(tokens: list[str]) -> str:
    """Join tokens with the spacing of ordinary prose (no space before ``.``, after ``l'``)."""
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    return _ELIDED.sub(r"\1", text)


@dataclass
class WordByWord:
    """A source-word -> target-word table; unknown words are copied (names, numbers)."""

    table: dict[str, str]

    def translate_line(self, line: str) -> str:
        out = []
        for tok in tokenize(line, lower=False):
            # The table's spelling wins (true-cased from the target text): a capitalised German
            # noun is not a reason to capitalise its English translation. Unknown words are copied.
            out.append(self.table.get(tok.lower(), tok))
        text = detokenize(out)
        return text[:1].upper() + text[1:] if line[:1].isupper() else text

    def translate(self, lines: list[str]) -> list[str]:
        return [self.translate_line(line) for line in lines]

    def save(self, path: str | os.PathLike) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for s, t in sorted(self.table.items()):
                f.write(f"{s}\t{t}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordByWord:
        table = {}
        for n, line in enumerate(read_lines(path), 1):
            parts = line.split("\t")
            if len(parts) < 2:
                raise UmtError(f"{path}:{n}: expected 'source<TAB>target', got {line[:40]!r}")
            if parts[0] != "source":
                table[parts[0]] = parts[1]
        if not table:
            raise UmtError(f"{path}: empty lexicon")
        return cls(table)


def true_case(lines: list[str]) -> dict[str, str]:
    """Each lowercased word's most frequent spelling inside sentences (not sentence-initial).

    German capitalises its nouns: a lexicon built on lowercased vectors must give ``Hund``, not
    ``hund``, or cased BLEU counts every noun as wrong.
    """
    spellings: dict[str, Counter] = {}
    for line in lines:
        for tok in tokenize(line, lower=False)[1:]:
            spellings.setdefault(tok.lower(), Counter())[tok] += 1
    return {w: c.most_common(1)[0][0] for w, c in spellings.items()}


def word_counts(lines: list[str]) -> Counter:
    return Counter(t for line in lines for t in tokenize(line) if any(c.isalnum() for c in t))


def lexicon_from_embeddings(src_words: list[str], src_vecs: np.ndarray, tgt_words: list[str], tgt_vecs: np.ndarray,
                            src_counts: Counter, tgt_counts: Counter, csls_k: int = 10,
                            identical_top: int = 0, frequency_prior: float = 0.0) -> WordByWord:
    r"""Translate every word of the source text to its CSLS-best target word of the target text.

    ``src_vecs`` are already mapped into the target space (unit rows). Both sides are restricted to
    the words that occur in the monolingual training text (``*_counts``), which keeps the lexicon
    in the domain of the sentences to translate; no bilingual data is read.

    With ``identical_top`` = k > 0, a source word spelled like a word of the target text keeps its
    spelling when that word is among its k CSLS-best targets: names and loanwords ("jeans",
    "skateboard") are rare in the vectors' corpora, so their mapped vectors land near the right
    word without always ranking it first, and an identical spelling is evidence no vector gives.

    With ``frequency_prior`` = :math:`\lambda > 0`, the translation of :math:`s` is chosen among its
    ``FREQUENCY_CANDIDATES`` CSLS-best targets :math:`N(s)` by

    .. math:: t^*(s) = \arg\max_{t \in N(s)} \mathrm{CSLS}(s, t) - \lambda\,|\log r(s) - \log r(t)|,

    with :math:`r` a word's frequency rank in its monolingual training text: a word and its
    translation are about as frequent in comparable text. Function words are where the vectors
    fail most ("und" -> "whilst") and where the ranks say most; they are also most of the tokens.
    """
    from umt.retrieval.scoring import Retriever

    s_idx = [i for i, w in enumerate(src_words) if w in src_counts and not w.isdigit()]  # numbers are copied
    t_idx = [j for j, w in enumerate(tgt_words) if w in tgt_counts]
    if not s_idx or not t_idx:
        raise UmtError("no word of the monolingual text has a vector: cannot build a lexicon")
    k = min(max(1, identical_top, FREQUENCY_CANDIDATES if frequency_prior > 0 else 1), len(t_idx))
    scores, ids = Retriever(src_vecs[s_idx], tgt_vecs[t_idx], "csls", csls_k).search(None, k)
    if frequency_prior > 0:
        log_rank = {lang: {w: math.log(r) for r, (w, _) in enumerate(counts.most_common(), 1)}
                    for lang, counts in (("src", src_counts), ("tgt", tgt_counts))}
    table = {}
    for i, row, row_scores in zip(s_idx, ids, scores):
        word = src_words[i]
        candidates = [tgt_words[t_idx[j]] for j in row]
        if identical_top and word in candidates[:identical_top]:
            table[word] = word
        elif frequency_prior > 0:
            gap = [abs(log_rank["src"][word] - log_rank["tgt"][c]) for c in candidates]
            table[word] = candidates[int(np.argmax(row_scores - frequency_prior * np.asarray(gap)))]
        else:
            table[word] = candidates[0]
    return WordByWord(table)
