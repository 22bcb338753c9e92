import importlib

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from umt.device import compute_device, computing_on, default_device, to_numpy, to_tensor
from umt.errors import UmtError
from umt.retrieval import Retriever, knn
from umt.retrieval.dense import row_topk
from umt.retrieval.knn import _knn_torch


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def spaces(rng):
    return unit(rng.standard_normal((300, 16))), unit(rng.standard_normal((250, 16)))


def brute_scores(src, tgt, method, k=10, beta=30.0):
    sims = src @ tgt.T
    if method == "nn":
        return sims
    if method == "csls":
        r_t = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
        r_s = np.sort(sims.T, axis=1)[:, -k:].mean(axis=1)
        return 2 * sims - r_t[:, None] - r_s[None, :]
    return beta * sims - logsumexp(beta * sims, axis=0)[None, :]


def test_knn_matches_brute_force(spaces):
    src, tgt = spaces
    scores, ids = knn(src, tgt, 5, batch_size=64)
    sims = src @ tgt.T
    np.testing.assert_array_equal(ids, np.argsort(-sims, axis=1)[:, :5])
    np.testing.assert_allclose(scores, np.sort(sims, axis=1)[:, ::-1][:, :5], atol=1e-5)
    with computing_on("cpu"):
        t_scores, t_ids = _knn_torch(src, tgt, 5, 64)
    np.testing.assert_array_equal(t_ids, ids)


def test_computing_on_sets_the_device_for_its_block_and_restores_the_outer_one():
    outside = compute_device()
    assert outside == default_device()
    with computing_on("cpu") as chosen:
        assert chosen == compute_device() == torch.device("cpu")
        with computing_on(torch.device("cpu", 0)):
            assert compute_device() == torch.device("cpu", 0)
        assert compute_device() == torch.device("cpu")
        assert to_tensor(np.ones((2, 3), np.float64)).dtype == torch.float32  # the boundary's default type
        assert to_tensor(np.ones(2, np.float64), None).dtype == torch.float64
        assert to_numpy(to_tensor(np.arange(3))).tolist() == [0, 1, 2]
    assert compute_device() == outside


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_computing_on_cuda_without_a_gpu_is_one_clear_error():
    with pytest.raises(UmtError, match="device 'cuda' requested but no CUDA GPU is available"):
        with computing_on("cuda"):
            pass


def test_knn_takes_the_torch_path_exactly_when_the_compute_device_is_cuda(spaces, monkeypatch):
    src, tgt = spaces
    knn_module = importlib.import_module("umt.retrieval.knn")  # the package re-exports a function of that name
    taken = []
    monkeypatch.setattr(knn_module, "_knn_torch", lambda *a: taken.append("torch") or _knn_torch(*a))
    monkeypatch.setattr(knn_module, "_knn_faiss", lambda *a: taken.append("faiss") or _knn_torch(*a))
    knn(src, tgt, 3)
    monkeypatch.setattr(knn_module, "compute_device", lambda: torch.device("cuda"))
    knn(src, tgt, 3)
    assert taken == ["faiss", "torch"]


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_scores_match_brute_force(spaces, method):
    src, tgt = spaces
    brute = brute_scores(src, tgt, method)
    queries = np.array([0, 5, 17, 299])
    scores, ids = Retriever(src, tgt, method).search(queries, k=10)
    np.testing.assert_array_equal(ids, np.argsort(-brute[queries], axis=1)[:, :10])
    np.testing.assert_allclose(scores, np.take_along_axis(brute[queries], ids, axis=1), atol=1e-4)



@pytest.mark.parametrize("width", [5000, 5037, 120])
def test_row_topk_matches_torch_topk(rng, width):
    # 5037 leaves a partial chunk at the end, 120 is too narrow for the pruning (plain topk)
    a = torch.from_numpy(rng.standard_normal((64, width)).astype(np.float32))
    for k in (1, 10, 16):
        values, ids = row_topk(a, k)
        expected = a.topk(k, dim=1)
        assert torch.equal(values, expected.values) and torch.equal(ids, expected.indices)
    view = a[::2, 7:]  # rows not adjacent, columns shifted: strided input
    assert torch.equal(row_topk(view, 10)[0], view.topk(10, dim=1).values)


def test_row_topk_with_ties_returns_the_tied_entries_once(rng):
    a = torch.from_numpy(rng.integers(0, 20, (32, 4000)).astype(np.float32))  # ~200 copies of each value a row
    values, ids = row_topk(a, 10)
    assert torch.equal(values, a.topk(10, dim=1).values)
    assert torch.equal(a.gather(1, ids), values)
    assert all(len(set(row.tolist())) == 10 for row in ids)


@pytest.mark.parametrize("dim", [0, 1])
def test_neighbourhood_gives_the_nearest_similarity_and_the_csls_density(rng, dim):
    from umt.retrieval.dense import neighbourhood

    sim = torch.from_numpy(rng.standard_normal((300, 500)).astype(np.float32))
    best, density = neighbourhood(sim, 10, dim)
    for j in range(sim.shape[1 - dim]):
        line = (sim[j] if dim == 1 else sim[:, j]).numpy()
        assert best[j] == line.max()
        assert density[j] == pytest.approx(np.sort(line)[-10:].mean(), rel=1e-6)
    assert torch.allclose(neighbourhood(sim[:3], 10, 0)[1], sim[:3].mean(dim=0))  # k capped at the rows there are
    low_best, low_density = neighbourhood(sim.to(torch.bfloat16), 10, dim)
    assert low_density.dtype == torch.float32 and low_best.dtype == torch.bfloat16  # averaged, not rounded
    assert torch.allclose(low_density, density, atol=0.02)
