"""Multi30k task 1 under the unsupervised protocol of Lample et al. (2018a).

The 29,000 training captions are parallel. To train without parallel data they are cut into two
disjoint halves: English sentences come only from the first half (lines 0-14,499), French and German
only from the second (lines 14,500-28,999), so no training sentence has its translation anywhere in
the training data. The last ``heldout`` lines of each monolingual half are kept aside for
unsupervised model selection (round-trip BLEU); they are never trained on. ``val`` and
``test_2016_flickr`` stay parallel and are read only to report BLEU.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from umt.config import check_language, data_file, language_name
from umt.corpora.control import shuffle_tokens
from umt.errors import UmtError
from umt.fileio import read_lines, write_json, write_text

TRAIN_LINES = 29_000
HALF = TRAIN_LINES // 2
# Which half each language may draw its monolingual sentences from.
LANGUAGE_HALF = {"en": 0, "fr": 1, "de": 1}
EVAL_SPLITS = ("val", "test_2016_flickr")


@dataclass(frozen=True)
class MonoSplit:
    """Line range of the parallel training file that one language's monolingual text comes from."""

    lang: str
    start: int
    stop: int
    heldout: int

    @property
    def train_range(self) -> range:
        return range(self.start, self.stop - self.heldout)

    @property
    def heldout_range(self) -> range:
        return range(self.stop - self.heldout, self.stop)


def multi30k_language(lang: str) -> str:
    """``lang`` if Multi30k has captions in it, else a one-line error (an ISO 639 typo first)."""
    check_language(lang)
    if lang not in LANGUAGE_HALF:
        raise UmtError(f"{lang} ({language_name(lang)}): Multi30k has captions in {', '.join(LANGUAGE_HALF)} only; "
                       "for another language give monolingual corpora (`umt mt run --src-corpus A --tgt-corpus B`)")
    return lang


def check_pair(src: str, tgt: str) -> None:
    multi30k_language(src), multi30k_language(tgt)
    if src == tgt:
        raise UmtError(f"language pair {src}-{tgt}: source and target must differ")
    if LANGUAGE_HALF[src] == LANGUAGE_HALF[tgt]:
        raise UmtError(
            f"language pair {src}-{tgt}: both languages would come from the same half of Multi30k, "
            "so training sentences would have their translations in the training data"
        )


def mono_split(lang: str, heldout: int = 500) -> MonoSplit:
    half = LANGUAGE_HALF[multi30k_language(lang)]
    if not 0 <= heldout < HALF // 2:
        raise UmtError(f"heldout={heldout}: must be between 0 and {HALF // 2}")
    return MonoSplit(lang, half * HALF, (half + 1) * HALF, heldout)


def read_split(name: str, lang: str, data: str | os.PathLike | None = None) -> list[str]:
    """All lines of ``multi30k/{name}.{lang}.gz`` (train, val or test_2016_flickr)."""
    path = data_file(f"multi30k/{name}.{check_language(lang)}.gz", data)
    lines = list(read_lines(path))
    if name == "train" and len(lines) != TRAIN_LINES:
        raise UmtError(f"{path}: expected {TRAIN_LINES} lines, found {len(lines)}")
    return lines


def _sha16(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def prepare_multi30k(src: str, tgt: str, out: str | os.PathLike, data=None, heldout: int = 500,
                     control_target: bool = False) -> dict:
    """Write the monolingual halves and the parallel evaluation sets of one pair into ``out``.

    Files: ``train.{L}.txt`` and ``heldout.{L}.txt`` (monolingual), ``{val,test}.{L}.txt``
    (parallel, evaluation only) and ``manifest.json`` (line ranges and checksums). With
    ``control_target`` the target's monolingual half (training and held-out lines) is made
    structureless, every token dealt back at random into captions of the original lengths
    (:func:`umt.corpora.control.shuffle_tokens`); the parallel evaluation sets stay real.
    """
    check_pair(src, tgt)
    out = Path(out)
    manifest: dict = {"pair": f"{src}-{tgt}", "protocol": "Lample et al. 2018a disjoint halves", "mono": {}}
    if control_target:
        manifest["control"] = f"{tgt} monolingual half token-shuffled (structureless); evaluation sets real"
    for lang in (src, tgt):
        split = mono_split(lang, heldout)
        lines = read_split("train", lang, data)
        train = [lines[i] for i in split.train_range]
        held = [lines[i] for i in split.heldout_range]
        if control_target and lang == tgt:
            dealt = shuffle_tokens([line.split() for line in train + held])
            train, held = [" ".join(t) for t in dealt[:len(train)]], [" ".join(t) for t in dealt[len(train):]]
        write_text(out / f"train.{lang}.txt", "\n".join(train) + "\n")
        write_text(out / f"heldout.{lang}.txt", "\n".join(held) + "\n")
        manifest["mono"][lang] = {
            "train_lines": [split.train_range.start, split.train_range.stop],
            "heldout_lines": [split.heldout_range.start, split.heldout_range.stop],
            "sha256_16": _sha16(train),
        }
    for name in EVAL_SPLITS:
        short = "test" if name.startswith("test") else name
        for lang in (src, tgt):
            lines = read_split(name, lang, data)
            write_text(out / f"{short}.{lang}.txt", "\n".join(lines) + "\n")
        manifest[short] = name
    write_json(out / "manifest.json", manifest)
    return manifest


def load_lines(path: str | os.PathLike) -> list[str]:
    lines = [line for line in read_lines(path)]
    if not lines:
        raise UmtError(f"{path}: no sentences")
    return lines


def write_embedding_corpus(lang: str, dst: str | os.PathLike, data=None, repeat: int = 5,
                           heldout: int = 500, mono_lines: int | None = None) -> dict:
    """Concatenate the shared mono corpus with ``repeat`` copies of this language's caption half.

    14.5k captions alone are far too little text for word vectors, and 19th-century fiction lacks
    much of the caption vocabulary (skateboards, T-shirts): repeating the caption half lets those
    words pass fastText's min-count while the novels still shape the space.
    """
    import gzip

    from umt.config import mono_corpus
    from umt.fileio import atomic_path

    split = mono_split(lang, heldout)
    captions = read_split("train", lang, data)
    captions = [captions[i] for i in split.train_range]
    n_mono = 0
    with atomic_path(dst) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        for line in read_lines(mono_corpus(lang, data), mono_lines):
            f.write(line + "\n")
            n_mono += 1
        for _ in range(repeat):
            f.write("\n".join(captions) + "\n")
    return {"mono_lines": n_mono, "caption_lines": len(captions), "caption_repeat": repeat}
