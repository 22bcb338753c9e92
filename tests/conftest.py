import os
from pathlib import Path

import numpy as np
import pytest
from synthetic import random_orthogonal

from umt.embeddings import Embeddings


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def toy_pair(rng):
    """A source space and its exact rotation (plus a little noise) as the target space."""
    n, d = 400, 32
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = random_orthogonal(d, rng)
    y = x @ w.T + 0.01 * rng.standard_normal((n, d)).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], x, source="src")
    tgt = Embeddings([f"t{i}" for i in range(n)], y, source="tgt")
    return src, tgt, w


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data root from UMT_DATA. Tests needing it are skipped without it, except in CI."""
    value = os.environ.get("UMT_DATA")
    if not value:
        if os.environ.get("CI"):
            pytest.fail("UMT_DATA must be set in CI (to ../shared/data)")
        pytest.skip("UMT_DATA not set: real-data tests need the shared data")
    root = Path(value)
    assert (root / "mono").is_dir(), f"UMT_DATA={value} holds no mono/ folder"
    return root


SLICE_LINES = {"en": 25000, "fr": 50000, "de": 25000}  # about 1.2M tokens each


@pytest.fixture(scope="session")
def small_embeddings(data_root, tmp_path_factory):
    """en and fr vectors trained by umt itself on a slice of the shared corpora (about a minute)."""
    from umt.embeddings import load_embeddings
    from umt.embeddings.train import EmbedTrainConfig, train_embeddings

    out = {}
    for lang in ("en", "fr"):
        folder = tmp_path_factory.mktemp(f"emb_{lang}")
        # One thread: fastText's Hogwild updates make multi-threaded vectors vary between runs.
        cfg = EmbedTrainConfig(dim=100, epoch=5, min_count=3, max_lines=SLICE_LINES[lang], threads=1)
        train_embeddings(data_root / "mono" / f"{lang}.txt.gz", folder, cfg, progress=False)
        out[lang] = load_embeddings(folder)
    return out


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A tiny prepared en-fr pair from a toy grammar (see ``synthetic.write_prepared_pair``)."""
    from synthetic import write_prepared_pair

    return write_prepared_pair(tmp_path_factory.mktemp("mtprep"))
