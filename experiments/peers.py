"""umt beside the tools people know: VecMap and MUSE, run by us on the same vectors and dictionaries.

For each pair, each system runs as its own process, one at a time, timed (wall seconds) and
measured (peak resident memory of that process), and every output is scored by the same
evaluator (umt's: MUSE protocol, CSLS and NN P@1 on the covered test words, Wilson intervals,
P@1 without the words translated by their own spelling) and compared with umt's default on the
same words by McNemar's exact test. Systems:

- ``umt``: ``umt align`` with its default preset (unsupervised);
- ``vecmap``: VecMap's fully unsupervised mode (``map_embeddings.py --unsupervised``, Artetxe et
  al. 2018), its published defaults;
- ``muse``: MUSE's adversarial recipe then Procrustes refinement (``unsupervised.py``, Conneau et
  al. 2018), its published defaults but for ``--dis_most_frequent`` (at most the smaller
  vocabulary, which MUSE asserts) and ``--dico_eval`` (the same test file; MUSE reads it only to
  log precision, its model selection is its unsupervised criterion);
- ``umt-supervised`` and ``vecmap-supervised``: each tool's supervised mode on the ``0-5000``
  training split, the reference every unsupervised figure is read against.

The peers are found through ``--peers`` or ``$UMT_PEERS`` (default: ``peers/`` beside the data
root), never imported: each runs as ``python SCRIPT`` in its own folder. A system's folder
``WORK/PAIR/SYSTEM/`` holds its log and outputs; ``result.json`` is written last, so a killed
run starts that system again and a finished one is never redone (the peers do not checkpoint).
Any non-default setting given through ``--umt-args``, ``--vecmap-args`` or ``--muse-args``
(unsupervised runs only) is recorded in the result and shown beside the figure. Writes ``OUT.json`` and ``OUT.md``::

    python experiments/peers.py --emb-root runs/emb --dict-root $UMT_DATA/dictionaries \\
        --pairs en-fr,fr-en,en-de,de-en --work runs/peers --out results/peers
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, write_json, write_text  # noqa: E402

SYSTEMS = ("umt", "vecmap", "muse", "umt-supervised", "vecmap-supervised")
DEFAULT_SYSTEMS = "umt,umt-supervised,vecmap,vecmap-supervised,muse"
UMT_SUPERVISED_ARGS = "--refine 3"
MUSE_DIS_MOST_FREQUENT = 75000  # MUSE's default, cut to the smaller vocabulary
MUSE_LOGGED = ("n_epoch", "n_iter", "precision_at_1-nn", "precision_at_1-csls_knn_10",
               "mean_cosine-csls_knn_10-S2T-10000")  # what the table quotes of MUSE's own log


def peers_root(explicit: str | None) -> Path:
    """The folder holding ``vecmap/`` and ``muse/``: ``--peers``, ``$UMT_PEERS`` or ``DATA/../peers``."""
    value = explicit or os.environ.get("UMT_PEERS")
    if not value and os.environ.get("UMT_DATA"):
        value = str(Path(os.environ["UMT_DATA"]).parent / "peers")
    if not value:
        raise UmtError("no peers folder: pass --peers or set UMT_PEERS (the folder holding vecmap/ and muse/)")
    root = Path(value)
    for script in ("vecmap/map_embeddings.py", "muse/unsupervised.py"):
        if not (root / script).is_file():
            raise UmtError(f"{root / script}: missing: the peers are absent (pass --peers or set UMT_PEERS)")
    return root


def run_measured(cmd: list[str], cwd: Path | None, log_path: Path) -> dict:
    """Run ``cmd`` with its output in ``log_path``; its wall seconds and peak resident memory."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # the peers' folders may be read-only
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as logf:
        t0 = time.monotonic()
        child = subprocess.Popen(cmd, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT, env=env)
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except KeyboardInterrupt:
            child.kill()
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        seconds = time.monotonic() - t0
    if child.returncode != 0:
        tail = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        raise UmtError(f"{log_path}: {Path(cmd[1]).name} failed with status {child.returncode}: "
                       f"{(tail[-1] if tail else 'no output')[:200]}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}  # Linux: KiB


def vec_file(emb_root: Path, lang: str, work: Path) -> Path:
    """The vectors of ``lang`` as a ``.vec`` text file (the peers' input), written once."""
    from umt.embeddings import load_embeddings, save_vec

    path = work / "vec" / f"{lang}.vec"
    if not path.exists():
        save_vec(load_embeddings(emb_root / lang), path)
    return path


def muse_folder(folder: Path, seed: int) -> Path:
    """Where MUSE writes its log and exported vectors: ``--exp_path/--exp_name/--exp_id``."""
    return folder / "muse" / f"s{seed}"


def command(system: str, pair: tuple[str, str], files: dict, folder: Path, peers: Path, a) -> tuple[list, Path | None]:
    """The command line of ``system`` and the folder it runs in."""
    src, tgt = pair
    py = sys.executable
    if system.startswith("umt"):
        cmd = [py, "-c", "import sys; from umt.cli import main; sys.exit(main())", "-q", "align",
               "--src-emb", str(files["src_emb"]), "--tgt-emb", str(files["tgt_emb"]), "--out", str(folder / "run"),
               "--seed", str(a.seed)]
        if system == "umt-supervised":
            cmd += ["--method", "procrustes", "--dict", str(files["train"]), *shlex.split(a.umt_supervised_args)]
        else:
            cmd += shlex.split(a.umt_args)
        return cmd, None
    if system.startswith("vecmap"):
        mode = ["--unsupervised"] if system == "vecmap" else ["--supervised", str(files["train"])]
        return ([py, str(peers / "vecmap" / "map_embeddings.py"), *mode, str(files["src_vec"]), str(files["tgt_vec"]),
                 str(folder / f"{src}.mapped.vec"), str(folder / f"{tgt}.mapped.vec"), "--seed", str(a.seed),
                 "--verbose", *shlex.split(a.vecmap_args)], None)
    most_frequent = min(MUSE_DIS_MOST_FREQUENT, files["smaller_vocabulary"])
    return ([py, "unsupervised.py", "--cuda", "False", "--src_lang", src, "--tgt_lang", tgt,
             "--src_emb", str(files["src_vec"]), "--tgt_emb", str(files["tgt_vec"]), "--emb_dim", str(files["dim"]),
             "--exp_path", str(folder), "--exp_name", muse_folder(folder, a.seed).parent.name,
             "--exp_id", muse_folder(folder, a.seed).name, "--seed", str(a.seed),
             "--export", "txt", "--dis_most_frequent", str(most_frequent), "--dico_eval", str(files["test"]),
             *shlex.split(a.muse_args)], peers / "muse")


def mapped_spaces(system: str, pair: tuple[str, str], folder: Path, files: dict, seed: int):
    """(source vectors, target vectors, mapped unit source rows, unit target rows) of a finished run."""
    import numpy as np

    from umt.alignment import load_mapping, prepare
    from umt.alignment.procrustes import map_spaces
    from umt.embeddings import load_embeddings

    src, tgt = pair
    if system.startswith("umt"):
        s, t = load_embeddings(files["src_emb"]), load_embeddings(files["tgt_emb"])
        saved = load_mapping(folder / "run", s.dim, s, t)
        x, y = prepare(s, t, saved.normalize)
        xm, ym = map_spaces(x, y, saved.source, saved.target)
    else:
        if system.startswith("vecmap"):
            paths = folder / f"{src}.mapped.vec", folder / f"{tgt}.mapped.vec"
        else:
            paths = muse_folder(folder, seed) / f"vectors-{src}.txt", muse_folder(folder, seed) / f"vectors-{tgt}.txt"
        s, t = (load_embeddings(p) for p in paths)
        xm, ym = s.vectors, t.vectors

    def unit(m):
        m = np.asarray(m, dtype=np.float32)
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    return s, t, unit(xm), unit(ym)


def muse_own_log(folder: Path, seed: int) -> list[dict]:
    """MUSE's own figures after each epoch and refinement iteration (its ``__log__`` lines)."""
    rows = []
    log = muse_folder(folder, seed) / "train.log"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []:
        if "__log__:" in line:
            entry = json.loads(line.split("__log__:", 1)[1])
            rows.append({k: entry[k] for k in MUSE_LOGGED if k in entry})
    return rows


def run_system(system: str, pair: tuple[str, str], files: dict, work: Path, peers: Path, a) -> dict:
    """Run (or reuse) one system on one pair and score it; ``result.json`` is written last."""
    from umt.evaluation.api import PER_QUERY_FILE, evaluate_prepared

    folder = work / "-".join(pair) / system
    done = folder / "result.json"
    if done.exists():
        return read_json(done, "peer result")
    cmd, cwd = command(system, pair, files, folder, peers, a)
    print(f"{'-'.join(pair)} {system}: running ({folder / 'output.log'})", file=sys.stderr, flush=True)
    cost = run_measured(cmd, cwd, folder / "output.log")
    s, t, xm, ym = mapped_spaces(system, pair, folder, files, a.seed)
    metrics = evaluate_prepared(xm, ym, s, t, files["test"], per_query_tsv=folder / PER_QUERY_FILE)
    result = {"pair": "-".join(pair), "system": system, "supervised": system.endswith("supervised"),
              "command": cmd, "cwd": str(cwd) if cwd else None, **cost,
              "settings_changed": {"umt": a.umt_args, "vecmap": a.vecmap_args, "muse": a.muse_args,
                                   "umt-supervised": "" if a.umt_supervised_args == UMT_SUPERVISED_ARGS
                                   else a.umt_supervised_args}.get(system) or "",
              **{k: metrics[k] for k in ("csls_p1", "csls_p1_ci95", "nn_p1", "csls_p10", "csls_p1_no_identical",
                                         "n_queries", "n_test_sources", "n_identical") if k in metrics}}
    if system == "muse":
        result["muse_own_log"] = muse_own_log(folder, a.seed)
    write_json(done, result)
    return result


def compare_with_umt(results: list[dict], work: Path) -> None:
    """McNemar's exact test of each system against umt on the test words both cover, and its time
    against umt's: a supervised system against ``umt-supervised``, an unsupervised one against the
    default ``umt``."""
    from umt.evaluation.bli import PER_QUERY_FILE, compare_query_files

    for r in results:
        own = "umt-supervised" if r["supervised"] else "umt"
        base = work / r["pair"] / own / PER_QUERY_FILE
        if r["system"] == own or not base.exists():
            continue
        diff, unshared = compare_query_files(base, work / r["pair"] / r["system"] / PER_QUERY_FILE)
        r["vs_umt"] = {"against": own, "n": diff.n, "umt_p1": round(diff.precision_a, 2),
                       "p1": round(diff.precision_b, 2), "only_umt": diff.only_a, "only_this": diff.only_b,
                       "p_value": diff.p_value, "unshared_words": unshared}
        umt = next((u for u in results if u["pair"] == r["pair"] and u["system"] == own), None)
        if umt is not None:
            r["time_vs_umt"] = round(r["seconds"] / max(umt["seconds"], 1e-9), 2)


def headline_pairs(results: list[dict]) -> dict:
    """Per pair, the figures the README quotes: each unsupervised system's CSLS P@1 and wall
    seconds (None where it did not run) and McNemar's p of umt against VecMap."""
    pairs: dict = {}
    for r in results:
        entry = pairs.setdefault(r["pair"], {f"{s}_{k}": None for s in ("umt", "vecmap", "muse")
                                            for k in ("csls_p1", "seconds")} | {"mcnemar_p_umt_vs_vecmap": None})
        if r["system"] in ("umt", "vecmap", "muse"):
            entry[f"{r['system']}_csls_p1"], entry[f"{r['system']}_seconds"] = r["csls_p1"], r["seconds"]
        if r["system"] == "vecmap" and "vs_umt" in r:
            entry["mcnemar_p_umt_vs_vecmap"] = r["vs_umt"]["p_value"]
    return pairs


def markdown(results: list[dict]) -> str:
    lines = ["| pair | system | CSLS P@1 [95% CI] | NN P@1 | P@1 w/o identical | covered | against umt (supervised: "
             "umt-supervised): only umt / only this, McNemar p | wall s | x umt's time | peak MiB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lo, hi = r["csls_p1_ci95"]
        vs = r.get("vs_umt")
        versus = f"{vs['only_umt']} / {vs['only_this']}, p = {vs['p_value']:.2g}" if vs else ""
        name = r["system"] + (f" ({r['settings_changed']})" if r.get("settings_changed") else "")
        lines.append(f"| {r['pair']} | {name} | {r['csls_p1']:.1f} [{lo:.1f}-{hi:.1f}] | {r['nn_p1']:.1f} | "
                     f"{r.get('csls_p1_no_identical', float('nan')):.1f} | {r['n_queries']} of {r['n_test_sources']} | "
                     f"{versus} | {r['seconds']:.0f} | {r['time_vs_umt'] if 'time_vs_umt' in r else ''} | "
                     f"{r['peak_rss_mib']:.0f} |")
    muse = [r for r in results if r.get("muse_own_log")]
    for r in muse:
        last = r["muse_own_log"][-1]
        lines += ["", f"MUSE's own log on {r['pair']} (its evaluator, its selection): last entry "
                  f"{json.dumps(last, sort_keys=True)}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb-root", required=True, help="folder with one umt vector folder per language (EMB/LANG)")
    ap.add_argument("--dict-root", required=True, help="MUSE-format dictionaries (SRC-TGT.0-5000.txt, .5000-6500.txt)")
    ap.add_argument("--pairs", default="en-fr", help="comma-separated SRC-TGT pairs (default %(default)s)")
    ap.add_argument("--systems", default=DEFAULT_SYSTEMS, help=f"comma-separated, of {', '.join(SYSTEMS)} "
                    "(default: all, the cheap ones first)")
    ap.add_argument("--peers", default=None, help="folder holding vecmap/ and muse/ (default $UMT_PEERS, "
                    "else peers/ beside $UMT_DATA)")
    ap.add_argument("--work", default="runs/peers", help="each system's outputs and logs; finished ones are reused")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--umt-args", default="", help="extra `umt align` options for umt's unsupervised run "
                    "(recorded as a non-default setting)")
    ap.add_argument("--umt-supervised-args", default=UMT_SUPERVISED_ARGS,
                    help="`umt align` options of umt's supervised reference after `--method procrustes --dict TRAIN` "
                         "(default %(default)r, the pipeline's reference; recorded when changed)")
    ap.add_argument("--vecmap-args", default="", help="extra options for VecMap's unsupervised run (recorded likewise)")
    ap.add_argument("--muse-args", default="", help="extra MUSE options, e.g. '--n_epochs 1' (recorded likewise)")
    ap.add_argument("--out", default="results/peers", help="writes OUT.json and OUT.md")
    ap.add_argument("--headline", default=None,
                    help="also write the results with the machine and the date to this JSON (the README's figures)")
    a = ap.parse_args(argv)
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise UmtError(f"--systems: unknown {', '.join(unknown)} (expected some of {', '.join(SYSTEMS)})")
    peers = peers_root(a.peers) if any(not s.startswith("umt") for s in systems) else None
    emb_root, dict_root, work = Path(a.emb_root), Path(a.dict_root), Path(a.work)
    results = []
    for text in a.pairs.split(","):
        src, _, tgt = text.strip().partition("-")
        if not src or not tgt:
            raise UmtError(f"--pairs: {text!r} is not SRC-TGT")
        files = {"src_emb": emb_root / src, "tgt_emb": emb_root / tgt,
                 "test": dict_root / f"{src}-{tgt}.5000-6500.txt", "train": dict_root / f"{src}-{tgt}.0-5000.txt"}
        for key in ("test", *(["train"] if any(s.endswith("supervised") for s in systems) else [])):
            if not files[key].is_file():
                raise UmtError(f"{files[key]}: missing ({key} dictionary of {src}-{tgt})")
        if peers is not None:
            from umt.embeddings import load_embeddings

            files["src_vec"], files["tgt_vec"] = vec_file(emb_root, src, work), vec_file(emb_root, tgt, work)
            sizes = [load_embeddings(emb_root / lang) for lang in (src, tgt)]
            files["smaller_vocabulary"], files["dim"] = min(len(e) for e in sizes), sizes[0].dim
        for system in systems:
            results.append(run_system(system, (src, tgt), files, work, peers, a))
    compare_with_umt(results, work)
    md = markdown(results)
    write_json(f"{a.out}.json", results)
    if a.headline:
        from umt.rundir import machine_and_date

        write_json(a.headline, {**machine_and_date(), "dictionaries": "MUSE test split (5000-6500), CSLS P@1",
                                **headline_pairs(results), "results": results})
    write_text(f"{a.out}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "peers")
