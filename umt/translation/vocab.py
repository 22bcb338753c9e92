"""A joint sentencepiece vocabulary for one language pair, with language and blank tokens."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from umt.config import LANGUAGES
from umt.errors import UmtError
from umt.fileio import atomic_path, require_file

PAD, UNK, BOS, EOS = 0, 1, 2, 3
BLANK = "<blank>"


_LANG_TOKEN = re.compile(r"<[a-z]{2,3}>")  # the form of lang_token's pieces


def lang_token(lang: str) -> str:
    return f"<{lang}>"


def train_sentencepiece(texts: list[str | os.PathLike], prefix: str | os.PathLike, vocab_size: int = 8000,
                        seed_sentences: int = 1_000_000, languages: tuple[str, ...] = LANGUAGES) -> Path:
    """Train a unigram sentencepiece model on the monolingual training ``texts`` of both languages,
    with a token ``<LANG>`` for each of ``languages`` (:func:`umt.config.model_languages`).

    Writes ``prefix.model`` (and ``prefix.vocab``) atomically and returns the model path.
    """
    import sentencepiece as spm

    for t in texts:
        require_file(t, "training text")
    prefix = Path(prefix)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            input=",".join(str(t) for t in texts), model_writer=model, vocab_size=vocab_size,
            model_type="unigram", character_coverage=1.0, pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS,
            user_defined_symbols=[BLANK] + [lang_token(lang) for lang in languages],
            input_sentence_size=seed_sentences, shuffle_input_sentence=True, num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as e:
        raise UmtError(f"sentencepiece training on {texts[0]}: {str(e).splitlines()[-1]}") from None
    path = prefix.with_suffix(".model")
    with atomic_path(path) as tmp:
        tmp.write_bytes(model.getvalue())
    return path


class Vocab:
    """Encode text to ids and back. Ids: pad 0, unk 1, bos 2, eos 3, then ``<blank>`` and languages."""

    def __init__(self, model_path: str | os.PathLike):
        import sentencepiece as spm

        path = require_file(model_path, "sentencepiece model")
        self.path = Path(path)
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.load(str(path))
        except (OSError, RuntimeError) as e:
            raise UmtError(f"{path}: not a sentencepiece model ({e})") from None
        self.blank_id = self.sp.piece_to_id(BLANK)
        pieces = [self.sp.id_to_piece(i) for i in range(len(self))]
        self.special = {self.blank_id} | {i for i, p in enumerate(pieces) if _LANG_TOKEN.fullmatch(p)}
        # the pieces of text, which a masked LM predicts and draws its random replacements from
        self.text_pieces = np.setdiff1d(np.arange(len(self)), [PAD, UNK, BOS, EOS, *self.special])
        # A word starts at a piece with the "▁" marker and at every special piece.
        self.word_start = np.array([p.startswith("\u2581") or self.sp.is_control(i) or self.sp.is_unknown(i)
                                    or p.startswith("<") and p.endswith(">") for i, p in enumerate(pieces)])

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def lang_id(self, lang: str) -> int:
        i = self.sp.piece_to_id(lang_token(lang))
        if i == UNK:
            raise UmtError(f"{self.path}: no token for language {lang!r}")
        return i

    def encode(self, lines: list[str], max_len: int | None = None) -> list[list[int]]:
        out = self.sp.encode(lines)
        return [ids[:max_len] for ids in out] if max_len else out

    def decode(self, ids: list[list[int]]) -> list[str]:
        clean = [[i for i in seq if i > EOS and i not in self.special] for seq in ids]
        return self.sp.decode(clean)
