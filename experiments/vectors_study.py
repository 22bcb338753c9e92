"""Which monolingual vectors lift bilingual lexicon induction: recipes compared on the development split.

With about 10M words a language the vectors, not the search, set the limit (unsupervised maps
reach the supervised one), so a better recipe for the monolingual spaces lifts both. Each recipe
is a name and the ``umt embed train`` options that make it (``NAME=OPTIONS``), or a folder of
vectors made elsewhere (``NAME=@DIR``, holding ``DIR/LANG``). For each recipe:

- the vectors of every language of ``--pairs`` are trained by ``umt embed train``, each as its
  own process, one at a time, timed; a finished folder (``meta.json`` written) is reused;
- each pair is aligned twice and scored on the **development split**: every fifth distinct source
  word of the training dictionary (``SRC-TGT.0-5000.txt``) is held out (as in
  ``supervised_recipes.py``), CSLS P@1 on those words, MUSE protocol;

  - supervised: ``seed-reweight+1`` (VecMap's supervised re-weighting on the other four fifths,
    then one round on the dictionary it induces: ``umt run``'s reference), in this process;
  - unsupervised: ``umt align`` with its default preset (or ``--align-args``) as its own process,
    timed; it reads no dictionary.

The test split is never read: a recipe is chosen here, then measured once on test elsewhere.
Writes ``OUT.json`` and ``OUT.md``; a pair already scored for a recipe is kept (``--work`` holds
the vectors and alignments)::

    python experiments/vectors_study.py --recipe "5gram=--minn 5 --maxn 5" --recipe "word=--minn 0 --maxn 0" \\
        --pairs en-fr,fr-en --dict-root $UMT_DATA/dictionaries --work runs/vectors --out results/vectors
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supervised_recipes import learn, score, split_pairs  # noqa: E402

from umt.errors import UmtError, run_script  # noqa: E402
from umt.fileio import read_json, write_json, write_text  # noqa: E402

UMT = [sys.executable, "-c", "import sys; from umt.cli import main; sys.exit(main())", "-q"]


def parse_recipe(text: str) -> tuple[str, str]:
    """``NAME=OPTIONS`` or ``NAME=@DIR`` as (name, the rest)."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip() or "/" in name:
        raise UmtError(f"--recipe {text!r}: expected NAME=EMBED-TRAIN-OPTIONS or NAME=@DIR")
    return name.strip(), rest.strip()


def vectors(name: str, spec: str, lang: str, a) -> tuple[Path, float | None]:
    """The recipe's vectors of ``lang`` and the seconds their training took (None: made elsewhere)."""
    if spec.startswith("@"):
        folder = Path(spec[1:]) / lang
        if not (folder / "meta.json").exists() and not (folder / "vectors.npy").exists():
            raise UmtError(f"{folder}: no umt vector folder (recipe {name})")
        return folder, None
    folder = Path(a.work) / "vectors" / name / lang
    if not (folder / "meta.json").exists():
        cmd = [*UMT, "embed", "train", "--lang", lang, "--out", str(folder), *shlex.split(spec)]
        if a.data:
            cmd += ["--data", a.data]
        if a.max_lines:
            cmd += ["--max-lines", str(a.max_lines)]
        print(f"{name} {lang}: training ({' '.join(shlex.quote(c) for c in cmd[4:])})", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise UmtError(f"recipe {name}, {lang}: umt embed train failed: "
                           f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
    meta = read_json(folder / "meta.json")
    return folder, meta.get("seconds_total")


def score_pair(name: str, pair: str, src_dir: Path, tgt_dir: Path, a) -> dict:
    """Supervised and unsupervised CSLS P@1 of one pair on the development split."""
    from umt.alignment import load_mapping
    from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare
    from umt.embeddings import load_embeddings
    from umt.embeddings.dictionaries import index_dictionary, read_dictionary

    src, tgt = load_embeddings(src_dir, a.max_vocab), load_embeddings(tgt_dir, a.max_vocab)
    train_path = Path(a.dict_root) / f"{pair}.0-5000.txt"
    fit, dev = split_pairs(read_dictionary(train_path))
    gold = index_dictionary(dev, src, tgt, train_path)
    x, y = prepare(src, tgt, DEFAULT_NORMALIZE)
    t0 = time.perf_counter()
    supervised = learn("seed-reweight+1", x, y, index_dictionary(fit, src, tgt, train_path))
    row = {"recipe": name, "pair": pair, "supervised_seconds": round(time.perf_counter() - t0, 1)}
    row["supervised_dev_csls_p1"], row["dev_queries"] = score(x, y, supervised, gold)
    run = Path(a.work) / "align" / name / pair
    cmd = [*UMT, "align", "--src-emb", str(src_dir), "--tgt-emb", str(tgt_dir), "--out", str(run),
           "--max-vocab", str(a.max_vocab), *shlex.split(a.align_args)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise UmtError(f"recipe {name}, {pair}: umt align failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    row["unsupervised_seconds"] = round(time.perf_counter() - t0, 1)
    saved = load_mapping(run, src.dim, src, tgt)
    xu, yu = prepare(src, tgt, saved.normalize)
    row["unsupervised_dev_csls_p1"] = score(xu, yu, (saved.source, saved.target), gold)[0]
    row["unsupervised_verdict"] = read_json(run / "metrics.json").get("verdict")
    row["vocabulary"] = [len(src), len(tgt)]
    return row


def table(rows: list[dict], trained: dict) -> str:
    lines = ["| recipe | pair | supervised dev CSLS P@1 | unsupervised dev CSLS P@1 | unsupervised - supervised | "
             "dev words | vocabulary | training seconds (source, target) | align seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        src, tgt = r["pair"].split("-")
        seconds = [trained.get(r["recipe"], {}).get(lang) for lang in (src, tgt)]
        shown = ", ".join("made elsewhere" if s is None else f"{s:.0f}" for s in seconds)
        lines.append(f"| {r['recipe']} | {r['pair']} | {r['supervised_dev_csls_p1']:.2f} | "
                     f"{r['unsupervised_dev_csls_p1']:.2f} | "
                     f"{r['unsupervised_dev_csls_p1'] - r['supervised_dev_csls_p1']:+.2f} | {r['dev_queries']} | "
                     f"{r['vocabulary'][0]:,} / {r['vocabulary'][1]:,} | {shown} | {r['unsupervised_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", action="append", required=True, metavar="NAME=OPTIONS",
                    help="a recipe: NAME=umt embed train options (quoted), or NAME=@DIR for vectors made elsewhere; "
                         "repeat for each")
    ap.add_argument("--pairs", default="en-fr", help="comma-separated SRC-TGT pairs")
    ap.add_argument("--dict-root", required=True, help="MUSE-format dictionaries: only SRC-TGT.0-5000.txt is read")
    ap.add_argument("--data", default=None, help="data root the corpora are read from (default: $UMT_DATA)")
    ap.add_argument("--max-lines", type=int, default=None, help="train on the first N lines of each corpus only")
    ap.add_argument("--max-vocab", type=int, default=200000)
    ap.add_argument("--align-args", default="", help="more `umt align` options for the unsupervised map (recorded)")
    ap.add_argument("--work", required=True, help="vectors and alignments; finished ones are reused")
    ap.add_argument("--out", required=True, help="output prefix: OUT.json and OUT.md")
    a = ap.parse_args(argv)
    recipes = dict(parse_recipe(r) for r in a.recipe)
    if len(recipes) < len(a.recipe):
        raise UmtError("--recipe: a name is given twice")
    pairs = [p.strip() for p in a.pairs.split(",") if p.strip()]
    for pair in pairs:
        if not pair.partition("-")[2]:
            raise UmtError(f"--pairs: bad pair {pair!r}, expected SRC-TGT")
        if not (Path(a.dict_root) / f"{pair}.0-5000.txt").is_file():
            raise UmtError(f"{Path(a.dict_root) / f'{pair}.0-5000.txt'}: training dictionary not found")
    out_json = Path(f"{a.out}.json")
    previous = json.loads(out_json.read_text()) if out_json.exists() else {"rows": []}
    done = {(r["recipe"], r["pair"]): r for r in previous["rows"] if r.get("align_args", "") == a.align_args}
    asked = {(name, pair) for name in recipes for pair in pairs}
    others = [r for r in previous["rows"] if (r["recipe"], r["pair"]) not in asked]  # earlier runs' other recipes
    rows, trained = [], previous.get("trained", {})
    for name, spec in recipes.items():
        langs = list(dict.fromkeys(lang for pair in pairs for lang in pair.split("-")))
        folders = {}
        for lang in langs:
            folders[lang], seconds = vectors(name, spec, lang, a)
            trained.setdefault(name, {})[lang] = seconds
        for pair in pairs:
            if (name, pair) in done:
                rows.append(done[(name, pair)])
                continue
            src, tgt = pair.split("-")
            row = {**score_pair(name, pair, folders[src], folders[tgt], a), "spec": spec, "align_args": a.align_args}
            rows.append(row)
            print(json.dumps(row), flush=True)
            write_json(out_json, {"rows": others + rows, "trained": trained})  # each pair kept as it finishes
    rows = others + rows
    write_json(out_json, {"rows": rows, "trained": trained})
    md = (table(rows, trained) + "\nDevelopment split: every fifth distinct source word of the training dictionary, "
          "held out from the supervised map; the test split is not read. Recipes: "
          + "; ".join(f"`{r['recipe']}` = `{r['spec'] or '(umt embed train defaults)'}`"
                      for r in {r["recipe"]: r for r in rows}.values())
          + (f". Unsupervised: `umt align {a.align_args}`." if a.align_args else
             ". Unsupervised: `umt align`'s default."))
    write_text(f"{a.out}.md", md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    run_script(main, "vectors_study")
