r"""Noise for denoising auto-encoding (Lample et al. 2018a, section 2.3).

A sentence is a list of subword ids; noise acts on whole words (a word is a piece that starts
with sentencepiece's ``▁`` plus the pieces that continue it), so a word is never cut in two.

* **Word drop**: each word is removed with probability ``p_drop`` (a sentence keeps at least one).
* **Local shuffle**: word :math:`i` gets the key :math:`i + u_i`, :math:`u_i \sim U[0, k+1)`, and
  words are sorted by key. Word :math:`i` can only be overtaken by words :math:`j` with
  :math:`j - i < k + 1`, so no word moves more than ``k`` places.
* **Blanking**: each word is replaced by a single ``<blank>`` piece with probability ``p_blank``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from umt.ranges import NON_NEGATIVE, PROBABILITY_TO_DROP, CheckedConfig, ranged


@dataclass
class NoiseConfig(CheckedConfig):
    p_drop: float = ranged(0.1, PROBABILITY_TO_DROP)
    shuffle_k: int = ranged(3, NON_NEGATIVE)
    p_blank: float = ranged(0.1, PROBABILITY_TO_DROP)


def split_words(ids: list[int], word_start: np.ndarray) -> list[list[int]]:
    """Group subword ids into words: a new word begins at every id flagged in ``word_start``."""
    words: list[list[int]] = []
    for i in ids:
        if word_start[i] or not words:
            words.append([i])
        else:
            words[-1].append(i)
    return words


def word_drop(words: list, p: float, rng: np.random.Generator) -> list:
    if p <= 0 or len(words) <= 1:
        return words
    keep = rng.random(len(words)) >= p
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return [w for w, k in zip(words, keep) if k]


def local_shuffle(words: list, k: int, rng: np.random.Generator) -> list:
    if k <= 0 or len(words) <= 1:
        return words
    keys = np.arange(len(words)) + rng.uniform(0, k + 1, size=len(words))
    return [words[i] for i in np.argsort(keys, kind="stable")]


def blank(words: list, p: float, blank_id: int, rng: np.random.Generator) -> list:
    if p <= 0:
        return words
    hit = rng.random(len(words)) < p
    return [[blank_id] if h else w for w, h in zip(words, hit)]


def add_noise(ids: list[int], cfg: NoiseConfig, word_start: np.ndarray, blank_id: int,
              rng: np.random.Generator) -> list[int]:
    """Drop, shuffle and blank the words of one sentence (in that order, as in UnsupervisedMT)."""
    words = split_words(ids, word_start)
    words = word_drop(words, cfg.p_drop, rng)
    words = local_shuffle(words, cfg.shuffle_k, rng)
    words = blank(words, cfg.p_blank, blank_id, rng)
    return [i for w in words for i in w]
