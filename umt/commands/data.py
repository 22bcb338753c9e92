"""``umt data`` and ``umt corpus``: public data for users elsewhere, and derived corpora."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from umt.errors import UmtError
from umt.ranges import POSITIVE, check_option, seed_option


def cmd_data_fetch(a) -> None:
    from umt.config import DATA_ENV
    from umt.corpora.fetch import fetch_pair

    root = a.data or os.environ.get(DATA_ENV)  # not config.data_root: the folder to fill need not exist yet
    if not root:
        raise UmtError(f"no data root to fill: set {DATA_ENV} or pass --data")
    fetched = fetch_pair(a.pair, root, a.vectors, a.mirror, progress=not a.quiet)
    for relative, sha256 in fetched.items():
        print(f"{Path(root) / relative}  sha256 {sha256}")
    print(f"{len(fetched)} files fetched into {root} (record: {Path(root) / 'fetched.json'})")


def cmd_corpus_control(a) -> None:
    from umt.config import check_language, mono_corpus
    from umt.corpora.control import write_control_corpus

    check_language(a.lang)
    if a.max_lines is not None:
        check_option("--max-lines", a.max_lines, POSITIVE)
    corpus = a.corpus or mono_corpus(a.lang, a.data)
    info = write_control_corpus(corpus, a.out, a.max_lines, a.seed, progress=not a.quiet)
    print(f"{a.out}: {info['lines']} lines, {info['tokens']} tokens dealt at random from {corpus}")


def add_commands(sub, epilog: str) -> None:
    """Register ``data fetch`` and ``corpus control`` on ``umt``'s sub-command parsers."""
    data = sub.add_parser("data", help="download public data into the UMT_DATA layout (for users elsewhere)")
    dsub = data.add_subparsers(dest="data_command", metavar="COMMAND")
    p = dsub.add_parser("fetch", help="MUSE dictionaries of a pair, and optionally pretrained fastText vectors",
                        description="Download the MUSE ground-truth dictionaries of both directions of PAIR (full, "
                        "0-5000 and 5000-6500) into DATA/dictionaries/ and, with --vectors, a pretrained fastText "
                        "model per language into DATA/vectors/. Each file is checked and renamed into place only "
                        "when complete; checksums are verified where umt knows them and recorded in "
                        "DATA/fetched.json. Files already present are kept. Never needed by the tests.",
                        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pair", help="language pair, two ISO 639 codes, e.g. en-fr or en-is")
    p.add_argument("--data", default=None, help="data root to fill (default: $UMT_DATA)")
    p.add_argument("--vectors", choices=("wiki", "cc"), default=None,
                   help="also fetch fastText vectors: wiki (Wikipedia, .vec) or cc (Common Crawl + Wikipedia, "
                   ".vec.gz); several GB a language")
    p.add_argument("--mirror", default=None,
                   help="base address of a mirror with the same layout (MIRROR/dictionaries/NAME, "
                   "MIRROR/vectors/NAME) instead of the original sites")
    p.set_defaults(func=cmd_data_fetch)

    corpus = sub.add_parser("corpus", help="derived corpora (the structureless control)")
    csub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION")
    p = csub.add_parser("control", help="a token-shuffled control corpus: same unigram counts, no structure",
                        description="Pool every token of a corpus and deal them back at random into sentences "
                        "of the original lengths: word counts are kept exactly, co-occurrence is destroyed. "
                        "Distribution matching against it must fail (the control of `umt info`).")
    p.add_argument("--lang", required=True, help="language code of the corpus (en, fr, de)")
    p.add_argument("--corpus", help="raw text, plain or .gz (default: $UMT_DATA/mono/LANG.txt.gz)")
    p.add_argument("--out", required=True, help="output text file (tokenized, one sentence a line)")
    p.add_argument("--max-lines", type=int, default=None, help="read only the first N lines")
    p.add_argument("--seed", type=seed_option, default=0)
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.set_defaults(func=cmd_corpus_control)
