from dataclasses import replace

import numpy as np
import pytest
from synthetic import random_orthogonal

from umt.alignment import AlignConfig, RefineConfig, align, apply_mapping, procrustes, refine
from umt.alignment.procrustes import procrustes_on_pairs
from umt.embeddings import Embeddings


def test_procrustes_recovers_rotation_under_noise(rng):
    d = 50
    x = rng.standard_normal((2000, d)).astype(np.float32)
    w = random_orthogonal(d, rng)
    y = x @ w.T + 0.1 * rng.standard_normal(x.shape).astype(np.float32)
    est = procrustes(x, y)
    np.testing.assert_allclose(est @ est.T, np.eye(d), atol=1e-4)  # orthogonal
    assert np.linalg.norm(est - w) / np.linalg.norm(w) < 0.02


def test_procrustes_on_pairs_sums_per_target_without_changing_the_map(rng):
    # self-learning's shape: every target twice (a query, and some word's best target), plus ids
    # beyond the first n, as a seed dictionary can have
    x = rng.standard_normal((700, 40)).astype(np.float32)
    y = rng.standard_normal((800, 40)).astype(np.float32)
    n = 500
    src = np.r_[np.arange(n), rng.integers(0, n, n), [650, 699]]
    tgt = np.r_[rng.integers(0, n, n), np.arange(n), [799, 3]]
    expected = procrustes(x[src], y[tgt])
    np.testing.assert_allclose(procrustes_on_pairs(x, y, src, tgt), expected, atol=1e-6)
    assert np.abs(procrustes_on_pairs(x, y, src[:n], tgt[:n]) - expected).max() > 1e-3  # the pairs matter


def test_refinement_repairs_a_perturbed_map(toy_pair, rng):
    src, tgt, w = toy_pair
    x = src.vectors / np.linalg.norm(src.vectors, axis=1, keepdims=True)
    y = tgt.vectors / np.linalg.norm(tgt.vectors, axis=1, keepdims=True)
    noisy = procrustes(x, x @ w.T + 0.6 * rng.standard_normal(x.shape).astype(np.float32))
    before = (apply_mapping(x, noisy) @ y.T).argmax(1)
    iterates = []
    result = refine(x, y, noisy, RefineConfig(iterations=3, max_rank=400, criterion_words=400), progress=False,
                    on_iteration=lambda it, w_it: iterates.append((it, w_it)))
    after = (apply_mapping(x, result.mapping) @ y.T).argmax(1)
    assert (after == np.arange(400)).mean() > 0.99 > (before == np.arange(400)).mean()
    assert result.criteria[result.best_iteration] == max(result.criteria)
    assert [it for it, _ in iterates] == [1, 2, 3]
    assert any(np.array_equal(w_it, result.mapping) for _, w_it in iterates)  # the kept map is one of them


def test_the_start_map_competes_only_on_request(toy_pair):
    # Started at the true map, with dictionaries of 20 pairs in 32 dimensions every refined map is
    # worse than the start: by default a refined map is kept all the same; with start_competes,
    # or with no iteration, the start is.
    src, tgt, w = toy_pair
    x = src.vectors / np.linalg.norm(src.vectors, axis=1, keepdims=True)
    y = tgt.vectors / np.linalg.norm(tgt.vectors, axis=1, keepdims=True)
    cfg = RefineConfig(iterations=4, max_rank=20, criterion_words=400, patience=2)
    iterates = []
    default = refine(x, y, w, cfg, progress=False, on_iteration=lambda it, _: iterates.append(it))
    assert default.best_iteration >= 1
    assert default.criteria[default.best_iteration] < default.criteria[0]
    assert len(iterates) <= 3  # patience: stops two iterations after the last better criterion
    competing = refine(x, y, w, replace(cfg, start_competes=True), progress=False)
    assert competing.best_iteration == 0 and competing.mapping is w
    assert refine(x, y, w, replace(cfg, iterations=0), progress=False).mapping is w


def test_identical_seed_needs_no_dictionary(rng):
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]
    x = rng.standard_normal((300, 20)).astype(np.float32)
    w = random_orthogonal(20, rng)
    src = Embeddings(words, x)
    tgt = Embeddings(words[:150] + [f"z{i}" for i in range(150)], x @ w.T)
    result = align(src, tgt, AlignConfig(method="identical", normalize="none"), progress=False)
    assert np.linalg.norm(result.orthogonal - w) < 1e-3
    assert not result.supervised


def test_a_run_directory_that_mixes_two_writes_is_refused(tmp_path, rng):
    from umt.alignment.spaces import load_mapping, save_mapping
    from umt.errors import UmtError

    first, second = random_orthogonal(6, rng), random_orthogonal(6, rng)
    save_mapping(tmp_path / "run", first, "unit", target=second)
    saved = load_mapping(tmp_path / "run", 6)
    assert np.array_equal(saved.source, first) and np.array_equal(saved.target, second)
    np.save(tmp_path / "run" / "target_mapping.npy", first)  # a later run's file beside this run's description
    with pytest.raises(UmtError, match=r"target_mapping.npy: not the map mapping.json describes"):
        load_mapping(tmp_path / "run", 6)
    (tmp_path / "run" / "mapping.json").unlink()  # killed before the description was written
    with pytest.raises(UmtError, match=r"mapping.json: missing, and it is written last"):
        load_mapping(tmp_path / "run", 6)
    assert np.array_equal(load_mapping(tmp_path / "run" / "mapping.npy", 6).source, first)  # a bare .npy file
