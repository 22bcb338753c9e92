"""Where data lives, resolved from configuration (``--data`` flags or ``UMT_DATA``), never hard-coded."""

from __future__ import annotations

import os
from pathlib import Path

from umt.errors import DataMissingError, UmtError

DATA_ENV = "UMT_DATA"
LANGUAGES = ("en", "fr", "de")  # the languages of the shared data; any other ISO 639 code works too


def model_languages(*langs: str) -> tuple[str, ...]:
    """The languages a translation model embeds, in the order of their indices.

    en, fr and de come first, at the indices every model trained so far uses; the pair's other
    languages follow in alphabetical order, so that both directions of a pair index alike.
    """
    return LANGUAGES + tuple(sorted(set(langs) - set(LANGUAGES)))


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Return the data root: ``explicit`` if given, else ``$UMT_DATA``.

    Raises
    ------
    DataMissingError
        If neither is set or the folder does not exist.
    """
    value = explicit if explicit is not None else os.environ.get(DATA_ENV)
    if not value:
        raise DataMissingError(
            f"no data root: set {DATA_ENV}=/path/to/data or pass --data "
            "(the folder holding mono/, multi30k/ and dictionaries/)"
        )
    root = Path(value).expanduser()
    if not root.is_dir():
        raise DataMissingError(f"{root}: data root does not exist (set {DATA_ENV} or --data)")
    return root


def language_name(lang: str) -> str | None:
    """The English name of an ISO 639 code (two letters, ISO 639-1, or three, ISO 639-3), or None."""
    import pycountry

    if not (2 <= len(lang) <= 3 and lang.isascii() and lang.isalpha() and lang.islower()):
        return None
    try:
        found = pycountry.languages.get(**{"alpha_2" if len(lang) == 2 else "alpha_3": lang})
    except KeyError:  # older pycountry raises where newer ones return None
        found = None
    return found.name if found is not None else None


def check_language(lang: str) -> str:
    """``lang`` if it is an ISO 639 language code (``en``, ``is``, ``fao``...), else a one-line error.

    Any language works; the code is checked against the standard, not against the languages
    whose data happens to be present, so that a typo is caught before any work.
    """
    if language_name(lang) is None:
        hint = f" (did you mean {lang.lower()!r}?)" if language_name(lang.lower()) else ""
        raise UmtError(f"unknown language {lang!r}: expected an ISO 639 code such as en, fr, de or is{hint}")
    return lang


def data_file(relative: str, explicit: str | os.PathLike | None = None) -> Path:
    """Resolve ``relative`` under the data root, with a one-line hint when it is missing."""
    path = data_root(explicit) / relative
    if not path.exists():
        raise DataMissingError(
            f"{path}: missing; expected under the data root ({DATA_ENV}). "
            "See corpora/README.md for how to fetch it."
        )
    return path


def mono_corpus(lang: str, explicit: str | os.PathLike | None = None) -> Path:
    """Path of the shared monolingual corpus of ``lang``."""
    return data_file(f"mono/{check_language(lang)}.txt.gz", explicit)
