"""A run directory is held by one process at a time."""

import json
import subprocess
import sys
import textwrap

import pytest

from umt.cli import main
from umt.errors import UmtError
from umt.rundir import start_run


def test_a_second_process_is_refused_a_busy_run_directory_and_gets_it_once_free(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from umt.rundir import start_run
        start_run({str(tmp_path / 'run')!r}, {{"command": "test"}})
        print("held", flush=True)
        sys.stdin.read()  # hold until told
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UmtError, match=rf"run: busy: another umt process \(pid {holder.pid}\) is writing"):
            start_run(tmp_path / "run", {"command": "test"})
        (tmp_path / "tiny.txt").write_text("a small corpus\n" * 20, encoding="utf-8")
        assert main(["-q", "embed", "train", "--lang", "en", "--corpus", str(tmp_path / "tiny.txt"), "--dim", "8",
                     "--out", str(tmp_path / "run")]) == 2
        assert "busy: another umt process" in capsys.readouterr().err
        assert not (tmp_path / "run" / "vectors.npy").exists()  # refused before any work
    finally:
        holder.communicate("", timeout=60)
    assert start_run(tmp_path / "run", {"command": "test"}) == tmp_path / "run"  # free once the holder has exited
    assert start_run(tmp_path / "run", {"command": "test", "again": 1}) == tmp_path / "run"  # and start it again


def test_another_command_is_refused_a_run_directory_it_would_overwrite(tmp_path):
    run = start_run(tmp_path / "run", {"command": "align"})
    (run / "metrics.json").write_text('{"csls_p1": 40.0}')
    with pytest.raises(UmtError, match=r"run: holds a `umt align` run; `umt evaluate` would overwrite its files"):
        start_run(run, {"command": "evaluate"})
    assert (run / "metrics.json").read_text() == '{"csls_p1": 40.0}'
    assert start_run(run, {"command": "align", "resume": True}) == run  # the same command may continue it


def test_a_run_directory_of_an_older_umt_is_continued(tmp_path):
    run = start_run(tmp_path / "old", {"command": "mt"})  # what an older umt wrote for every `umt mt` command
    assert start_run(run, {"command": "mt run"}) == run
    assert json.loads((run / "params.json").read_text())["command"] == "mt run"


def test_a_failed_command_leaves_no_folder_of_bookkeeping_alone(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    args = ["-q", "embed", "train", "--lang", "en", "--corpus", str(empty), "--dim", "8"]
    assert main([*args, "--out", str(tmp_path / "new" / "run")]) == 2  # refused after its folder was made
    assert "empty.txt" in capsys.readouterr().err
    assert not (tmp_path / "new" / "run").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine", encoding="utf-8")
    assert main([*args, "--out", str(kept)]) == 2  # a folder that held something before stays
    assert (kept / "notes.txt").read_text(encoding="utf-8") == "mine" and (kept / "params.json").exists()
    assert start_run(tmp_path / "new" / "run", {"command": "embed train"}).is_dir()  # free to use again
