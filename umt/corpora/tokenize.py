"""One word tokenizer for every language: lowercase, words kept intact, punctuation split off.

Rules (identical for en, fr, de):

* Unicode NFC normalisation, typographic apostrophes mapped to ``'``, then lowercasing.
* A token is a run of letters, a run of digits, or a single other non-space character.
* Hyphens split words (``drawing-room`` -> ``drawing - room``), as the MUSE dictionaries hold no
  hyphenated entries.
* An apostrophe after a short prefix (at most two letters, or ``qu``) stays with it as an elision
  (``l'homme`` -> ``l' homme``, ``qu'il`` -> ``qu' il``); otherwise it starts the next token
  (``don't`` -> ``don 't``, ``man's`` -> ``man 's``).
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'"})
_TOKEN = re.compile(r"[^\W\d_]+|\d+|'[^\W\d_]+|\S", re.UNICODE)
_ELISION = re.compile(r"^(?:[^\W\d_]{1,2}|qu)$", re.UNICODE | re.IGNORECASE)


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
