import os
from pathlib import Path

import numpy as np
import pytest
from synthetic import random_orthogonal

from umt.embeddings import Embeddings


def pytest_collection_modifyitems(items):
    """Every test that reads the real shared data is ``slow``: ``pytest -m 'not slow'`` leaves it out."""
    for item in items:
        if "data_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture
def pair(rng):
    """600 source words and their rotation plus 1% noise as the target (no returned map): big
    enough for self-learning and the criterion, small enough for many alignments per test."""
    x = rng.standard_normal((600, 16)).astype(np.float32)
    y = x @ random_orthogonal(16, rng).T + 0.01 * rng.standard_normal((600, 16)).astype(np.float32)
    return Embeddings([f"s{i}" for i in range(600)], x), Embeddings([f"t{i}" for i in range(600)], y)


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


SLICE_LINES = {"en": (0, 25000), "fr": (0, 50000), "en_b": (25000, 50000)}  # about 1.2M tokens each


def train_slices(data_root: Path, jobs: list[tuple[str, Path]]) -> None:
    """Train fastText vectors on line slices of the shared corpora, one job after another:
    (name, folder) with the lines of ``SLICE_LINES[name]``; ``en_b`` is English, disjoint from ``en``.
    One thread: fastText's Hogwild updates make multi-threaded vectors vary between runs.
    """
    import gzip
    from itertools import islice

    from umt.embeddings.train import EmbedTrainConfig, train_embeddings

    for name, folder in jobs:
        first, last = SLICE_LINES[name]
        corpus = folder.parent / f"{name}.txt"
        with gzip.open(data_root / "mono" / f"{name[:2]}.txt.gz", "rt", encoding="utf-8") as f:
            corpus.write_text("".join(islice(f, first, last)), encoding="utf-8")
        train_embeddings(corpus, folder, EmbedTrainConfig(dim=100, epoch=5, min_count=3, threads=1), progress=False)


@pytest.fixture(scope="session")
def small_embeddings(data_root, tmp_path_factory):
    """Vectors trained by umt itself on slices of the shared corpora: ``en`` and ``fr`` (about
    1.2M tokens each) and ``en_b`` (English, disjoint lines). Two single-threaded processes train
    them side by side (en then en_b, and fr), so the vectors are deterministic and CI's two cores
    both work."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from umt.embeddings import load_embeddings

    folders = {name: tmp_path_factory.mktemp(f"emb_{name}") / "vectors" for name in SLICE_LINES}
    workers = [[(name, folders[name]) for name in ("en", "en_b")], [("fr", folders["fr"])]]
    # spawn, not fork: the test process has torch's thread pools running already
    with ProcessPoolExecutor(len(workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(train_slices, data_root, jobs) for jobs in workers]:
            done.result()
    return {name: load_embeddings(folder) for name, folder in folders.items()}


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A tiny prepared en-fr pair from a toy grammar (see ``synthetic.write_prepared_pair``)."""
    from synthetic import write_prepared_pair

    return write_prepared_pair(tmp_path_factory.mktemp("mtprep"))
