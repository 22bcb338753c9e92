"""Outputs are written atomically, with the permissions a plain open() gives."""

import os

import numpy as np
import pytest

from umt.errors import UmtError
from umt.fileio import atomic_path, load_npy, make_folder, read_json, save_npy, write_json


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


def test_a_folder_is_made_with_its_parents_or_refused_in_one_line(tmp_path):
    assert make_folder(tmp_path / "a" / "b").is_dir() and make_folder(tmp_path / "a").is_dir()
    (tmp_path / "file").write_text("x")
    for target in (tmp_path / "file", tmp_path / "file" / "sub" / "run"):
        with pytest.raises(UmtError, match=f"^{target}: cannot create this folder: {tmp_path / 'file'} exists and "):
            make_folder(target)
    with pytest.raises(UmtError, match="file exists and is not a folder"):
        write_json(tmp_path / "file" / "metrics.json", {"p1": 1.0})
    assert (tmp_path / "file").read_text() == "x"


def test_a_damaged_npy_or_json_file_is_one_line_naming_it(tmp_path):
    good = tmp_path / "good.npy"
    save_npy(good, np.arange(600, dtype=np.float32).reshape(20, 30))
    assert np.array_equal(load_npy(good, "mapping"), np.arange(600).reshape(20, 30))
    (tmp_path / "text.npy").write_text("0.1 0.2\n")
    (tmp_path / "short.npy").write_bytes(good.read_bytes()[:90])  # inside the header
    (tmp_path / "cut.npy").write_bytes(good.read_bytes()[:400])  # inside the data
    np.save(tmp_path / "pickle.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UmtError, match=r"text.npy: mapping is not a \.npy file \(no NumPy header\)$"):
        load_npy(tmp_path / "text.npy", "mapping")
    for name in ("short.npy", "cut.npy", "pickle.npy"):
        for mmap_mode in (None, "r"):
            with pytest.raises(UmtError, match=f"{name}: mapping is damaged or truncated"):
                load_npy(tmp_path / name, "mapping", mmap_mode=mmap_mode)
    (tmp_path / "bad.json").write_text('{"pair": "en-fr",\n oops}')
    (tmp_path / "latin.json").write_bytes('{"pair": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(UmtError, match=r"bad.json:2: record is not valid JSON \(Expecting property name"):
        read_json(tmp_path / "bad.json", "record")
    with pytest.raises(UmtError, match=r"latin.json: record is not valid UTF-8"):
        read_json(tmp_path / "latin.json", "record")
    write_json(tmp_path / "ok.json", {"pair": "en-fr"})
    assert read_json(tmp_path / "ok.json") == {"pair": "en-fr"}


def test_a_symlinked_output_writes_its_file_and_keeps_the_link(tmp_path):
    real = tmp_path / "store" / "metrics.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "metrics.json"
    link.symlink_to(real)
    write_json(link, {"p1": 1.0})
    assert link.is_symlink() and read_json(real) == {"p1": 1.0}
    assert real.stat().st_mode & 0o777 == 0o600  # an existing file keeps its permissions
    dangling = tmp_path / "later.json"
    dangling.symlink_to(tmp_path / "store" / "later.json")
    write_json(dangling, {"p1": 2.0})
    assert dangling.is_symlink() and read_json(tmp_path / "store" / "later.json") == {"p1": 2.0}
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["later.json", "metrics.json"]


def test_a_fifo_output_is_written_into_not_replaced(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_json(fifo, {"p1": 1.0})
    reader.join(timeout=30)
    assert received and received[0].startswith(b'{\n  "p1": 1.0')
    assert fifo.is_fifo()


def test_a_folder_or_a_full_disk_as_output_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    (tmp_path / "run").mkdir()
    with pytest.raises(UmtError, match=r"run: is a folder; expected the path of a file"):
        write_json(tmp_path / "run", {"p1": 1.0})
    write_json(tmp_path / "metrics.json", {"p1": 1.0})

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(UmtError, match=r"metrics.json: cannot write \(No space left on device\)$"):
        write_json(tmp_path / "metrics.json", {"p1": 2.0})
    monkeypatch.undo()
    assert read_json(tmp_path / "metrics.json") == {"p1": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "run"]


def test_bad_utf8_is_reported_at_its_own_line_in_plain_and_gzip_text(tmp_path):
    import gzip

    from umt.fileio import read_lines

    body = "".join(f"mot{i} word{i}\r\n" for i in range(5000)).encode() + "caf\xe9 coffee\n".encode("latin-1")
    (tmp_path / "dict.txt").write_bytes(body)
    (tmp_path / "dict.txt.gz").write_bytes(gzip.compress(body))
    for name in ("dict.txt", "dict.txt.gz"):
        lines = read_lines(tmp_path / name)
        assert next(lines) == "mot0 word0"  # the Windows line break goes too
        with pytest.raises(UmtError, match=rf"{name}:5001: not valid UTF-8"):
            list(lines)


def test_staged_results_replace_the_set_together_or_not_at_all(tmp_path):
    from umt.fileio import STAGING, staged_results

    owned = ("a.txt", "b.txt", "marker.json")
    with staged_results(tmp_path, owned, "marker.json") as staging:
        for name in owned:
            (staging / name).write_text("first")
    (tmp_path / "mine.txt").write_text("not a result")
    with pytest.raises(RuntimeError, match="scoring failed"):
        with staged_results(tmp_path, owned, "marker.json") as staging:
            (staging / "a.txt").write_text("second")
            raise RuntimeError("scoring failed")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.txt": "first", "b.txt": "first", "marker.json": "first", "mine.txt": "not a result"}
    (tmp_path / STAGING).mkdir()  # left by a killed process
    (tmp_path / STAGING / "b.txt").write_text("stale")
    with staged_results(tmp_path, owned, "marker.json") as staging:
        (staging / "a.txt").write_text("third")
        (staging / "marker.json").write_text("third")
    # b.txt was not written this time: the earlier run's copy goes, so the set is this run's alone
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.txt": "third", "marker.json": "third", "mine.txt": "not a result"}
    # a result the writer did not declare would outlive the next run that does not write it
    with pytest.raises(RuntimeError, match="results extra.txt are not declared"):
        with staged_results(tmp_path, owned, "marker.json") as staging:
            (staging / "extra.txt").write_text("fourth")
            (staging / "marker.json").write_text("fourth")
    assert (tmp_path / "marker.json").read_text() == "third" and not (tmp_path / "extra.txt").exists()
