import numpy as np
import pytest

from umt.embeddings import normalize
from umt.errors import UmtError


def test_unit_center_unit(rng):
    x = rng.standard_normal((100, 8)) * 5 + 3
    u = normalize(x, "unit")
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1, atol=1e-5)
    c = normalize(x, "center")
    np.testing.assert_allclose(c.mean(axis=0), 0, atol=1e-4)
    v = normalize(x, "unit,center,unit")
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert abs(v.mean(axis=0)).max() < abs(u.mean(axis=0)).max()


def test_renorm_is_unit_and_zero_rows_survive(rng):
    x = np.vstack([rng.standard_normal((3, 4)), np.zeros((1, 4))])
    np.testing.assert_array_equal(normalize(x, "renorm"), normalize(x, "unit"))
    assert np.isfinite(normalize(x, "unit")).all()


def test_unknown_step():
    with pytest.raises(UmtError, match="unknown normalisation step"):
        normalize(np.ones((2, 2)), "unit,whiten")


def test_iternorm_leaves_rows_both_unit_length_and_centred(rng):
    # an embedding-like cloud: a common direction shared by every word, and uneven norms
    x = rng.standard_normal((500, 16)) * rng.uniform(0.5, 3, (500, 1)) + 2 * rng.standard_normal(16)
    once = normalize(x, "unit,center,unit")
    it = normalize(x, "iternorm")
    np.testing.assert_allclose(np.linalg.norm(it, axis=1), 1, atol=1e-3)
    assert np.linalg.norm(it.mean(axis=0)) < 1e-5
    assert np.linalg.norm(once.mean(axis=0)) > 100 * np.linalg.norm(it.mean(axis=0))  # one round is not both
