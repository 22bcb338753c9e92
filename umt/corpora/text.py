"""Reading raw monolingual corpora (plain or gzip) and writing their tokenized form."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tqdm import tqdm

from umt.corpora.tokenize import tokenize_line
from umt.errors import UmtError
from umt.fileio import atomic_path, read_lines

_WORDLIKE = re.compile(r"[^\W_]", re.UNICODE)


def count_lines(path: str | os.PathLike, limit: int | None = None) -> int:
    n = sum(1 for _ in read_lines(path, limit))
    return n


def tokenize_corpus(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    max_lines: int | None = None,
    progress: bool = True,
    words_only: bool = False,
) -> dict:
    """Tokenize ``src`` line by line into ``dst`` (atomically); return line and token counts.

    Empty lines are dropped. ``max_lines`` reads only the first lines of ``src`` (a slice for quick
    runs and tests). ``words_only`` drops tokens without a letter or digit (punctuation).
    """
    n_lines = n_tokens = 0
    with atomic_path(dst) as tmp, open(tmp, "w", encoding="utf-8") as out:
        lines = read_lines(src, max_lines)
        for line in tqdm(lines, desc=f"tokenize {Path(src).name}", unit=" lines", disable=not progress):
            toks = tokenize_line(line)
            if words_only:
                toks = " ".join(t for t in toks.split(" ") if _WORDLIKE.search(t))
            if toks:
                out.write(toks + "\n")
                n_lines += 1
                n_tokens += toks.count(" ") + 1
    if n_tokens == 0:
        raise UmtError(f"{src}: corpus holds no text")
    return {"lines": n_lines, "tokens": n_tokens}
