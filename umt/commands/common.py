"""What the command groups share: the data epilog, dictionary names, the vector-pair options."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from umt.ranges import device_option

EPILOG = """\
data: shared corpora and dictionaries are found through --data or the UMT_DATA variable.
A dictionary argument may be a file or a short name such as en-fr.5000-6500, looked up as
$UMT_DATA/dictionaries/en-fr.5000-6500.txt.
"""


def resolve_dict(spec: str | None, data: str | None) -> str | None:
    """A dictionary file path, or a short name like ``en-fr.0-5000`` looked up under the data root."""
    if spec is None or spec == "identical" or Path(spec).exists():
        return spec
    if re.fullmatch(r"[a-z]{2}-[a-z]{2}(\.[0-9]+-[0-9]+)?", spec):
        from umt.config import data_file

        return str(data_file(f"dictionaries/{spec}.txt", data))
    return spec  # let the loader report the missing file


def add_pair_args(p: argparse.ArgumentParser, max_vocab: int = 200000) -> None:
    p.add_argument("--src-emb", required=True, help="source vectors: .vec/.txt[.gz], fastText .bin or a umt folder")
    p.add_argument("--tgt-emb", required=True, help="target vectors, same formats")
    p.add_argument("--max-vocab", type=int, default=max_vocab,
                   help="keep the N most frequent words (default %(default)s)")
    p.add_argument("--normalize", default=None,
                   help="normalisation chain applied to both spaces: unit,center,unit (default; for "
                        "evaluate: the chain saved with the mapping), or iternorm (unit and center repeated "
                        "until both hold, Zhang et al. 2019); steps: unit, center, unitdim, iternorm, none")
    p.add_argument("--device", type=device_option, default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")


def params(a) -> dict:
    """A command's arguments as recorded in its run directory's ``params.json``."""
    return {k: v for k, v in vars(a).items() if k != "func"}


def load_pair(a):
    from umt.embeddings import load_embeddings

    return load_embeddings(a.src_emb, a.max_vocab), load_embeddings(a.tgt_emb, a.max_vocab)
