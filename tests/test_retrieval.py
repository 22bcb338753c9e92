import numpy as np
import pytest
from scipy.special import logsumexp

from umt.retrieval import Retriever, knn
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
    t_scores, t_ids = _knn_torch(src, tgt, 5, 64, "cpu")
    np.testing.assert_array_equal(t_ids, ids)


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_scores_match_brute_force(spaces, method):
    src, tgt = spaces
    brute = brute_scores(src, tgt, method)
    queries = np.array([0, 5, 17, 299])
    scores, ids = Retriever(src, tgt, method).search(queries, k=10)
    np.testing.assert_array_equal(ids, np.argsort(-brute[queries], axis=1)[:, :10])
    np.testing.assert_allclose(scores, np.take_along_axis(brute[queries], ids, axis=1), atol=1e-4)

