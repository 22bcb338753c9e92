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
