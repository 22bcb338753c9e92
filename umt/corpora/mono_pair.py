"""Monolingual training text for unsupervised MT from any two corpora (any language pair).

Multi30k (:mod:`umt.corpora.multi30k`) covers English, French and German captions. For any other
pair, each language's sentences are drawn from its own monolingual corpus: lines of
``min_words``-``max_words`` words, duplicates dropped, ``sentences + heldout`` of them drawn at
random under ``seed``. The last ``heldout`` drawn are kept aside for unsupervised model selection
(round-trip BLEU) and never trained on. The corpora share no sentence by construction only if
they are not translations of each other: parallel text given as two "monolingual" corpora would
not be unsupervised, so :func:`prepare_corpus_pair` refuses two corpora with many lines that
align one to one in length.

A parallel test set (two files, line by line translations) is optional and only scores.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from umt.config import check_language
from umt.errors import UmtError
from umt.fileio import read_lines, write_json, write_text


def _sha16(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def draw_sentences(path: str | os.PathLike, count: int, seed: int, min_words: int = 3,
                   max_words: int = 50) -> tuple[list[str], int]:
    """``count`` distinct lines of ``min_words``-``max_words`` words drawn at random from the corpus
    ``path`` (plain or gzip), in the order drawn, and how many lines were read."""
    seen, kept, read = set(), [], 0
    for line in read_lines(path):
        read += 1
        line = " ".join(line.split())
        if min_words <= len(line.split()) <= max_words and line not in seen:
            seen.add(line)
            kept.append(line)
    if len(kept) < count:
        raise UmtError(f"{path}: {len(kept)} distinct lines of {min_words}-{max_words} words, fewer than the "
                       f"{count} asked for (lower --sentences or --heldout)")
    order = np.random.default_rng(seed).permutation(len(kept))[:count]
    return [kept[i] for i in order], read


def looks_parallel(a: list[str], b: list[str]) -> bool:
    """Whether two corpora's first lines look like translations of each other line by line:
    their lengths in words correlate almost perfectly, as no two monolingual corpora do."""
    n = min(len(a), len(b), 2000)
    if n < 50:
        return False
    la = np.array([len(s.split()) for s in a[:n]], dtype=float)
    lb = np.array([len(s.split()) for s in b[:n]], dtype=float)
    if la.std() == 0 or lb.std() == 0:
        return False
    return float(np.corrcoef(la, lb)[0, 1]) > 0.8


def prepare_corpus_pair(src: str, tgt: str, out: str | os.PathLike, corpora: dict[str, str | os.PathLike],
                        sentences: int = 30000, heldout: int = 500, seed: int = 0,
                        test: dict[str, str | os.PathLike] | None = None) -> dict:
    """Write ``train.{L}.txt`` and ``heldout.{L}.txt`` for both languages from their corpora, and
    ``test.{L}.txt`` when a parallel ``test`` pair of files is given; returns the manifest
    (also written as ``manifest.json``)."""
    check_language(src), check_language(tgt)
    if src == tgt:
        raise UmtError(f"language pair {src}-{tgt}: source and target must differ")
    if sentences < 1 or heldout < 0:
        raise UmtError(f"--sentences {sentences} / --heldout {heldout}: expected at least 1 / 0")
    firsts = {lang: [" ".join(line.split()) for line in read_lines(corpora[lang], 2000)] for lang in (src, tgt)}
    if looks_parallel(firsts[src], firsts[tgt]):
        raise UmtError(f"{corpora[src]} and {corpora[tgt]}: their lines look like translations of each other "
                       "(line lengths match one to one); unsupervised MT needs monolingual corpora")
    out = Path(out)
    manifest: dict = {"pair": f"{src}-{tgt}", "protocol": "monolingual corpora, sentences drawn at random",
                      "mono": {}, "test": None, "seed": seed}
    for k, lang in enumerate((src, tgt)):
        drawn, read = draw_sentences(corpora[lang], sentences + heldout, seed + k)
        train, held = drawn[:sentences], drawn[sentences:]
        write_text(out / f"train.{lang}.txt", "\n".join(train) + "\n")
        write_text(out / f"heldout.{lang}.txt", "\n".join(held) + "\n")
        manifest["mono"][lang] = {"corpus": str(corpora[lang]), "lines_read": read, "train": len(train),
                                  "heldout": len(held), "sha256_16": _sha16(train)}
    if test:
        lines = {lang: list(read_lines(test[lang])) for lang in (src, tgt)}
        if len(lines[src]) != len(lines[tgt]) or not lines[src]:
            raise UmtError(f"{test[src]} and {test[tgt]}: a parallel test set needs the same number of lines "
                           f"(here {len(lines[src])} and {len(lines[tgt])}), at least one")
        for lang in (src, tgt):
            write_text(out / f"test.{lang}.txt", "\n".join(lines[lang]) + "\n")
        manifest["test"] = {lang: str(test[lang]) for lang in (src, tgt)}
    write_json(out / "manifest.json", manifest)
    return manifest
