"""`umt data fetch`: downloads from a server on the loopback, checked, atomic, recorded."""

import functools
import hashlib
import http.server
import json
import threading

import pytest

from umt.cli import main


@pytest.fixture
def mirror(tmp_path):
    """A mirror of the MUSE layout for en-is, served on 127.0.0.1."""
    site = tmp_path / "site"
    (site / "dictionaries").mkdir(parents=True)
    for a, b in (("en", "is"), ("is", "en")):
        for split in ("", ".0-5000", ".5000-6500"):
            (site / "dictionaries" / f"{a}-{b}{split}.txt").write_text(f"{a}{split} {b}\n" * 100, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_downloads_both_directions_records_checksums_and_keeps_what_exists(mirror, tmp_path, capsys):
    site, url = mirror
    root = tmp_path / "data"
    assert main(["-q", "data", "fetch", "en-is", "--data", str(root), "--mirror", url]) == 0
    names = sorted(p.name for p in (root / "dictionaries").iterdir())
    assert names == sorted(p.name for p in (site / "dictionaries").iterdir()) and len(names) == 6
    record = json.loads((root / "fetched.json").read_text())
    body = (site / "dictionaries" / "en-is.5000-6500.txt").read_bytes()
    assert (root / "dictionaries" / "en-is.5000-6500.txt").read_bytes() == body
    assert record["dictionaries/en-is.5000-6500.txt"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert "6 files fetched" in capsys.readouterr().out
    assert main(["-q", "data", "fetch", "en-is", "--data", str(root), "--mirror", url]) == 0
    assert "0 files fetched" in capsys.readouterr().out  # already present: kept, not downloaded again


def test_a_bad_checksum_or_a_missing_file_writes_nothing_and_says_so(mirror, tmp_path, capsys):
    site, url = mirror
    for a, b in (("en", "fr"), ("fr", "en")):  # umt knows the real full dictionaries' checksums
        for split in ("", ".0-5000", ".5000-6500"):
            (site / "dictionaries" / f"{a}-{b}{split}.txt").write_text("tampered x\n", encoding="utf-8")
    root = tmp_path / "data"
    assert main(["-q", "data", "fetch", "en-fr", "--data", str(root), "--mirror", url]) == 2
    err = capsys.readouterr().err
    assert "en-fr.txt: checksum mismatch" in err and "nothing written" in err
    assert not (root / "dictionaries" / "en-fr.txt").exists()
    assert not [p for p in (root / "dictionaries").iterdir() if p.name.startswith(".")]  # no temporary left
    (site / "dictionaries" / "is-en.0-5000.txt").unlink()
    assert main(["-q", "data", "fetch", "en-is", "--data", str(root), "--mirror", url]) == 2
    assert "is-en.0-5000.txt: download failed (HTTP 404" in capsys.readouterr().err
    assert (root / "dictionaries" / "en-is.txt").exists()  # what came before the failure is kept and recorded
    assert "dictionaries/en-is.txt" in json.loads((root / "fetched.json").read_text())
    assert main(["-q", "data", "fetch", "en-xx", "--data", str(root), "--mirror", url]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err
