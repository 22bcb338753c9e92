"""Same seed, same map: ``umt align`` of an earlier commit against this checkout's, byte for byte.

A refactoring that claims to change no behaviour is checked here on real vectors: for each pair
the same ``umt align`` command runs once with the code of ``--before`` (its ``umt`` package
unpacked under ``--work``) and once with this checkout's, each as its own process, and the
maps (``mapping.npy``, ``target_mapping.npy``) are compared by SHA-256. Writes ``OUT.json`` and
``OUT.md``::

    python experiments/bit_for_bit.py --before eec71a9 --emb-root runs/emb --pairs en-fr,de-en \\
        --work runs/bit_for_bit --out results/bit_for_bit
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import write_json, write_text  # noqa: E402

MAPS = ("mapping.npy", "target_mapping.npy")


def checkout(commit: str, work: Path) -> Path:
    """The ``umt`` package of ``commit``, unpacked under ``work`` (once; the repository is untouched)."""
    path = work / f"code-{commit}"
    if not (path / "umt").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "umt"],
                                 capture_output=True)
        if archive.returncode:
            raise UmtError(f"git archive {commit}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
    return path


def align_with(code: Path, args: list[str], out: Path) -> dict:
    """``umt align ARGS --out OUT`` with the package in ``code``; its maps' digests and seconds."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "umt.cli", "-q", "align", *args, "--out", str(out)], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise UmtError(f"umt align with {code} failed: {done.stderr.strip()[-300:]}")
    digests = {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in MAPS if (out / name).exists()}
    return {"seconds": round(time.time() - t0, 1), "sha256": digests}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the earlier commit")
    ap.add_argument("--emb-root", required=True, help="one umt vector folder per language (EMB/LANG)")
    ap.add_argument("--pairs", default="en-fr,de-en")
    ap.add_argument("--align-args", default="", help="more umt align options, one string (default: none, so "
                    "its default preset)")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--work", required=True, help="run folders and the earlier commit's checkout")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    before = checkout(a.before, work)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "umt"], capture_output=True,
                                text=True).stdout.strip())
    rows = []
    for pair in a.pairs.split(","):
        src, tgt = pair.split("-")
        args = ["--src", str(Path(a.emb_root) / src), "--tgt", str(Path(a.emb_root) / tgt), "--max-vocab",
                str(a.max_vocab), *shlex.split(a.align_args)]
        runs = {name: align_with(code, args, work / pair / name)
                for name, code in (("before", before), ("after", ROOT))}
        same = runs["before"]["sha256"] == runs["after"]["sha256"] and bool(runs["after"]["sha256"])
        rows.append({"pair": pair, "identical": same, **runs})
        print(f"{pair}: {'identical' if same else 'DIFFERENT'} maps ({runs['before']['seconds']} s before, "
              f"{runs['after']['seconds']} s after)", flush=True)
    result = {"before": a.before, "after": head + (" (uncommitted changes)" if dirty else ""),
              "align_args": a.align_args,
              "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)",
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    write_json(Path(a.out).with_suffix(".json"), result)
    lines = [f"| pair | maps {a.before} -> {result['after']} | seconds before | seconds after |", "|---|---|---|---|"]
    lines += [f"| {r['pair']} | {'identical (SHA-256)' if r['identical'] else 'different'} | "
              f"{r['before']['seconds']} | {r['after']['seconds']} |" for r in rows]
    write_text(Path(a.out).with_suffix(".md"), "\n".join(lines) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    run_script(main, "bit_for_bit.py")
