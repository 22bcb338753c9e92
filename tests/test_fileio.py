"""Outputs are written atomically, with the permissions a plain open() gives."""

import os

import numpy as np
import pytest

from umt.fileio import atomic_path, save_npy, write_json


def test_outputs_get_the_permissions_of_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        import importlib

        import umt.fileio

        importlib.reload(umt.fileio)  # the mode is read from the umask once, at import
        umt.fileio.write_json(tmp_path / "metrics.json", {"p1": 1.0})
        umt.fileio.save_npy(tmp_path / "mapping.npy", np.eye(3))
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
        importlib.reload(umt.fileio)
    for name in ("metrics.json", "mapping.npy"):
        assert (tmp_path / name).stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o640


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    write_json(tmp_path / "metrics.json", {"p1": 1.0})
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "metrics.json") as tmp:
            tmp.write_text("{partial")
            raise RuntimeError("killed")
    assert (tmp_path / "metrics.json").read_text().startswith("{\n  \"p1\": 1.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
    save_npy(tmp_path / "m.npy", np.ones(2))
    assert np.array_equal(np.load(tmp_path / "m.npy"), np.ones(2))
