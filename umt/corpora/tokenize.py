"""One word tokenizer for every language: lowercase, words kept intact, punctuation split off.

Rules (the same for every language; nothing is specific to the languages umt ships data for):

* Unicode NFC normalisation, typographic apostrophes mapped to ``'``, then lowercasing.
* A token is a run of letters with their combining marks (the vowel signs of Devanagari or
  Arabic belong to their word), a run of decimal digits, or a single other non-space character.
* Scripts written without spaces between words (Chinese characters, kana) give one token per
  character: without a segmentation dictionary, a character is the unit that can be matched.
* Hyphens split words (``drawing-room`` -> ``drawing - room``), as the MUSE dictionaries hold no
  hyphenated entries.
* An apostrophe after a short prefix (at most two letters, or ``qu``) stays with it as an elision
  (``l'homme`` -> ``l' homme``, ``qu'il`` -> ``qu' il``); otherwise it starts the next token
  (``don't`` -> ``don 't``, ``man's`` -> ``man 's``).
"""

from __future__ import annotations

import unicodedata

import regex

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'"})
_UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}"
_LETTER = rf"(?:(?![{_UNSPACED}])\p{{L}})"
_WORD = rf"{_LETTER}(?:{_LETTER}|\p{{M}})*"
_TOKEN = regex.compile(rf"{_WORD}|[{_UNSPACED}]\p{{M}}*|\p{{Nd}}+|'{_WORD}|\S")
_ELISION = regex.compile(r"^(?:\p{L}{1,2}|qu)$", regex.IGNORECASE)


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into word tokens, lowercased unless ``lower=False``.

    Examples
    --------
    >>> tokenize("L'homme, qu'il voit: DON'T!")
    ["l'", 'homme', ',', "qu'", 'il', 'voit', ':', 'don', "'t", '!']
    """
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    if lower:
        text = text.lower()
    raw = _TOKEN.findall(text)
    out: list[str] = []
    for tok in raw:
        if tok.startswith("'") and len(tok) > 1 and out and _ELISION.match(out[-1]):
            out[-1] += "'"
            out.append(tok[1:])
        else:
            out.append(tok)
    return out


def tokenize_line(text: str) -> str:
    """Tokenize and join with single spaces (the form fastText and sentencepiece read)."""
    return " ".join(tokenize(text))
