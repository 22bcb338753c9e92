"""Download public data into the ``UMT_DATA`` layout, for users elsewhere (never used by tests' data).

``umt data fetch SRC-TGT`` fetches the MUSE ground-truth dictionaries of both directions (the full
dictionary and its ``0-5000`` / ``5000-6500`` splits) into ``ROOT/dictionaries/`` and, on request,
a pretrained fastText model per language into ``ROOT/vectors/``. Every file is streamed to a
temporary file, checked, and only then renamed into place: an interrupted or corrupted download
never leaves a file that looks complete. A file whose checksum umt knows (the dictionaries the
project measured with, :data:`KNOWN_SHA256_16`) must match it; for the others the checksum of
what was downloaded is recorded in ``ROOT/fetched.json``, so a later fetch of the same file, or
another machine's, can be compared with it. Files already present are kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from umt.config import check_language
from umt.errors import UmtError
from umt.fileio import atomic_path, make_folder, read_json, write_json

log = logging.getLogger("umt")

MUSE_DICTIONARIES = "https://dl.fbaipublicfiles.com/arrival/dictionaries/"
FASTTEXT_VECTORS = {  # Bojanowski et al. 2017 (wiki), Grave et al. 2018 (cc): 300-d, CC BY-SA 3.0
    "wiki": "https://dl.fbaipublicfiles.com/fasttext/vectors-wiki/wiki.{lang}.vec",
    "cc": "https://dl.fbaipublicfiles.com/fasttext/vectors-crawl/cc.{lang}.300.vec.gz",
}
#: First 16 hex digits of the sha256 of the MUSE dictionaries umt's results were measured with
#: (as ``corpora/sources.json`` lists them). The split files at MUSE's address are the official
#: splits, which the shared data rebuilt, so only the full dictionaries are known here.
KNOWN_SHA256_16 = {"en-fr.txt": "044952e1ab346efb", "fr-en.txt": "8fd71b3f8ee20b4f",
                   "en-de.txt": "ff9942eafd0ce4bc", "de-en.txt": "3417623f16a7efd9"}
RECORD = "fetched.json"
CHUNK = 1 << 20


@dataclass
class Download:
    """One file to fetch: where from and where to, relative to the data root."""

    url: str
    relative: str


def pair_downloads(pair: str, vectors: str | None = None, mirror: str | None = None) -> list[Download]:
    """The files ``umt data fetch PAIR`` downloads. ``mirror``: a base address with the same
    layout as the originals (``MIRROR/dictionaries/NAME``, ``MIRROR/vectors/NAME``)."""
    src, _, tgt = pair.partition("-")
    if not src or not tgt or src == tgt:
        raise UmtError(f"{pair}: expected a language pair such as en-fr")
    check_language(src), check_language(tgt)
    if vectors is not None and vectors not in FASTTEXT_VECTORS:
        raise UmtError(f"--vectors {vectors}: expected one of {', '.join(FASTTEXT_VECTORS)}")
    files = []
    for a, b in ((src, tgt), (tgt, src)):
        for split in ("", ".0-5000", ".5000-6500"):
            name = f"{a}-{b}{split}.txt"
            base = f"{mirror.rstrip('/')}/dictionaries/" if mirror else MUSE_DICTIONARIES
            files.append(Download(base + name, f"dictionaries/{name}"))
    if vectors is not None:
        for lang in (src, tgt):
            url = FASTTEXT_VECTORS[vectors].format(lang=lang)
            name = url.rsplit("/", 1)[1]
            files.append(Download(f"{mirror.rstrip('/')}/vectors/{name}" if mirror else url, f"vectors/{name}"))
    return files


def download(item: Download, root: Path, progress: bool = True) -> str:
    """Fetch ``item`` into ``root`` atomically; its sha256 (checked against a known one)."""
    target = root / item.relative
    make_folder(target.parent)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(item.url, timeout=60) as response, atomic_path(target) as tmp:
            total, size = int(response.headers.get("Content-Length") or 0) or None, 0
            with open(tmp, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=item.relative,
                                              disable=not progress, leave=False) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
            if total is not None and size != total:
                raise UmtError(f"{item.url}: download cut short ({size} of {total} bytes); nothing written")
            check_digest(item, digest.hexdigest())
    except urllib.error.HTTPError as e:
        raise UmtError(f"{item.url}: download failed (HTTP {e.code} {e.reason})") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        raise UmtError(f"{item.url}: download failed ({reason})") from None
    return digest.hexdigest()


def check_digest(item: Download, sha256: str) -> None:
    known = KNOWN_SHA256_16.get(Path(item.relative).name)
    if known is not None and not sha256.startswith(known):
        raise UmtError(f"{item.url}: checksum mismatch (sha256 {sha256[:16]}..., expected {known}...); "
                       "nothing written")


def fetch_pair(pair: str, root: str | os.PathLike, vectors: str | None = None, mirror: str | None = None,
               progress: bool = True) -> dict[str, str]:
    """Download what ``pair`` needs into ``root`` (see the module's docstring); returns
    ``{relative path: sha256}`` of the files fetched now, and records it in ``root/fetched.json``."""
    root = make_folder(root)
    record_path = root / RECORD
    record = read_json(record_path, "fetch record") if record_path.exists() else {}
    fetched = {}
    for item in pair_downloads(pair, vectors, mirror):
        if (root / item.relative).exists():
            log.info("%s: already present, kept", root / item.relative)
            continue
        log.info("fetching %s", item.url)
        fetched[item.relative] = download(item, root, progress)
        record[item.relative] = {"url": item.url, "sha256": fetched[item.relative]}
        write_json(record_path, record)  # after each file: an interrupted fetch keeps what it recorded
    return fetched
