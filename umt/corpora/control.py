r"""Structureless control corpora: the same words at the same rates, with no co-occurrence left.

The premise of umt is that a language's distribution carries its structure, so two languages can
be matched. The control removes exactly that structure and nothing else: every token of the
corpus is pooled and dealt back at random into sentences of the original lengths. The unigram
distribution (every word's count) and the sentence lengths are kept exactly; which words occur
together is destroyed, so

.. math::

    p_{control}(w_1 \dots w_n) = \prod_i p(w_i)

up to the finite-sample effect of dealing without replacement. Word vectors trained on such text
encode frequency only; distribution matching against a real language must fail on it.
"""

from __future__ import annotations

import gzip
import os

import numpy as np
from tqdm import tqdm

from umt.corpora.tokenize import tokenize_line
from umt.errors import UmtError
from umt.fileio import atomic_path, read_lines


def shuffle_tokens(sentences: list[list[str]], seed: int = 0) -> list[list[str]]:
    """Deal all tokens of ``sentences`` back at random into sentences of the same lengths."""
    lengths = [len(s) for s in sentences]
    pool = np.array([t for s in sentences for t in s], dtype=object)
    np.random.default_rng(seed).shuffle(pool)
    out, start = [], 0
    for n in lengths:
        out.append(pool[start:start + n].tolist())
        start += n
    return out


def write_control_corpus(src: str | os.PathLike, dst: str | os.PathLike, max_lines: int | None = None,
                         seed: int = 0, progress: bool = True) -> dict:
    """Tokenize ``src`` (as ``umt embed train`` does) and write its token-shuffled control to ``dst``."""
    sentences = [tokenize_line(line).split() for line in tqdm(read_lines(src, max_lines), desc="read corpus",
                                                                unit=" lines", disable=not progress)]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise UmtError(f"{src}: corpus holds no text")
    control = shuffle_tokens(sentences, seed)
    opener = gzip.open if str(dst).endswith(".gz") else open  # the name promises the format
    with atomic_path(dst) as tmp, opener(tmp, "wt", encoding="utf-8") as f:
        for s in control:
            f.write(" ".join(s) + "\n")
    return {"lines": len(control), "tokens": sum(len(s) for s in control), "seed": seed, "source": str(src)}
