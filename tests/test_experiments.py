"""Every experiment script runs in a tiny configuration and writes its table (and plot)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synthetic import random_orthogonal

from umt.alignment import AlignConfig, prepare
from umt.alignment.criterion import translation_agreement
from umt.embeddings import Embeddings, load_embeddings, save_embeddings

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def run_script(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXPERIMENTS / name), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def letters(i: int) -> str:
    """``i`` spelled in base 26 with the letters a-z (the identical-strings seed skips digits)."""
    word = ""
    while True:
        i, r = divmod(i, 26)
        word += "abcdefghijklmnopqrstuvwxyz"[r]
        if i == 0:
            return word


@pytest.fixture(scope="module")
def synthetic_languages(tmp_path_factory):
    """Two 'languages': a clustered space and a noisy rotation of it, with MUSE-style dictionaries.

    One word in ten is spelled the same on both sides (numbers, names), so the identical-strings
    seed has something to start from.
    """
    root = tmp_path_factory.mktemp("bli")
    rng = np.random.default_rng(0)
    n, dim = 3000, 40
    basis = rng.standard_normal((16, dim))
    x = rng.standard_normal((n, 16)) @ basis + 0.3 * rng.standard_normal((n, dim))
    y = x @ random_orthogonal(dim, rng).T + 0.02 * rng.standard_normal((n, dim))
    src_words = [f"s{letters(i)}" for i in range(n)]
    tgt_words = [f"s{letters(i)}" if i % 10 == 0 else f"t{letters(i)}" for i in range(n)]
    save_embeddings(Embeddings(src_words, x.astype(np.float32)), root / "emb" / "en")
    save_embeddings(Embeddings(tgt_words, y.astype(np.float32)), root / "emb" / "fr")
    # the control: the same target words over a structureless cloud (nothing to match)
    control = rng.standard_normal((n, dim))
    save_embeddings(Embeddings(tgt_words, control.astype(np.float32)), root / "emb" / "fr_control")
    dicts = root / "dicts"
    dicts.mkdir()
    for name, rows in (("0-5000", range(0, 2000)), ("5000-6500", range(2000, 2500))):
        (dicts / f"en-fr.{name}.txt").write_text("".join(f"{src_words[i]} {tgt_words[i]}\n" for i in rows))
    return root


@pytest.mark.slow  # tens of seconds on 2 cores
def test_bli_table_writes_table_summary_and_seed_plot(synthetic_languages, tmp_path):
    root = synthetic_languages
    out = tmp_path / "bli"
    stdout = run_script("bli_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
                        "--pairs", "en-fr", "--configs", "supervised,identical,sim10k-i5", "--seeds", "0-1",
                        "--out", str(out))
    rows = json.loads(out.with_suffix(".json").read_text())
    assert len(rows) == len(stdout.strip().splitlines()) == 6
    by_config = {r["config"]: r for r in rows}
    assert by_config["supervised"]["supervised"] and not by_config["sim10k-i5"]["supervised"]
    # The rotation is exact up to small noise: every method must recover it.
    assert min(r["csls_p1"] for r in rows) > 90
    assert all(0 <= r["n_identical"] < r["n_queries"] and r["csls_p1_no_identical"] > 90 for r in rows)
    table = out.with_suffix(".md").read_text()
    assert "without identical pairs" in table
    assert "| en-fr | sim10k-i5 | 2 |" in table  # the per-method summary over the two seeds
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    # resumable: a wider seed range runs only the new seeds and keeps the earlier rows
    more = run_script("bli_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
                      "--pairs", "en-fr", "--configs", "sim10k-i5", "--seeds", "0-2", "--out", str(out))
    assert [json.loads(line)["seed"] for line in more.strip().splitlines()] == [2]
    assert len(json.loads(out.with_suffix(".json").read_text())) == 7
    assert "| en-fr | sim10k-i5 | 3 |" in out.with_suffix(".md").read_text()
    assert "| 3 of 3 |" in out.with_suffix(".md").read_text()  # every seed within 2 points of the best
    # nothing left to run: the table is rewritten from OUT.json alone
    out.with_suffix(".md").unlink()
    assert run_script("bli_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
                      "--pairs", "en-fr", "--configs", "sim10k-i5", "--seeds", "0-2", "--out", str(out)) == ""
    assert "| en-fr | sim10k-i5 | 3 |" in out.with_suffix(".md").read_text()


@pytest.mark.slow  # tens of seconds on 2 cores
def test_bli_table_scores_every_candidate_of_an_auto_run(synthetic_languages, tmp_path):
    root = synthetic_languages
    out = tmp_path / "auto"
    run_script("bli_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
               "--pairs", "en-fr", "--configs", "auto-cpu", "--adversarial-samples", "2000", "--out", str(out))
    (row,) = json.loads(out.with_suffix(".json").read_text())
    assert [c["name"] for c in row["candidates"]] == ["similarity:0", "adversarial:0"]
    by_name = {c["name"]: c for c in row["candidates"]}
    # the criterion chose the candidate it scores highest, and that one recovered the rotation
    assert row["chosen"] == max(row["candidates"], key=lambda c: c["criterion"])["name"]
    assert by_name[row["chosen"]]["csls_p1"] == row["csls_p1"] > 90
    assert "| en-fr | auto-cpu | 0 | adversarial:0 |" in out.with_suffix(".md").read_text()
    # the adversarial candidate collapsed on this tiny budget; a collapse of another initialisation
    # is no replicate of the kept map, so it must not flag that map as failed
    assert by_name["adversarial:0"]["csls_p1"] < 10
    assert row["verdict"] == "unchecked" and "agreement" not in row


@pytest.mark.slow  # tens of seconds on 2 cores
def test_bli_table_headline_puts_default_beside_supervised_reference(synthetic_languages, tmp_path):
    root = synthetic_languages
    args = ["--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"), "--pairs", "en-fr"]
    out, headline = tmp_path / "full", tmp_path / "bli.json"
    # a headline needs both rows of the pair: refused in one line before anything is written
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "bli_table.py"), *args, "--configs", "supervised",
                           "--out", str(tmp_path / "other"), "--headline", str(headline)],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "duo and supervised-ref" in done.stderr and "Traceback" not in done.stderr
    assert not headline.exists()
    run_script("bli_table.py", *args, "--configs", "duo,supervised-ref", "--out", str(out))
    rows = {r["config"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert rows["supervised-ref"]["supervised"] and not rows["duo"]["supervised"]
    assert rows["duo"]["vectors"]["en"]["folder"] == str(root / "emb" / "en")
    # nothing left to run: the headline is written from OUT.json, the quick rows from another results file
    assert run_script("bli_table.py", *args, "--configs", "duo,supervised-ref", "--out", str(out),
                      "--quick", str(out.with_suffix(".json")), "--headline", str(headline)) == ""
    figures = json.loads(headline.read_text())
    assert {"machine", "date", "en-fr"} <= set(figures)
    pair = figures["en-fr"]
    assert pair["unsupervised_csls_p1"] == rows["duo"]["csls_p1"] > 90
    assert pair["supervised_csls_p1"] == rows["supervised-ref"]["csls_p1"] > 90
    assert pair["quick_unsupervised_csls_p1"] == rows["duo"]["csls_p1"]
    assert pair["unsupervised_seeds"] == [0] and pair["vectors"]["fr"]["words"] == 3000


def test_bli_table_rejects_unknown_method(synthetic_languages, tmp_path):
    root = synthetic_languages
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "bli_table.py"), "--emb-root", str(root / "emb"),
                           "--dict-root", str(root / "dicts"), "--pairs", "en-fr", "--configs", "nosuch",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert done.returncode != 0 and "nosuch" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # tens of seconds on 2 cores
def test_scale_benchmark_writes_table_and_plot(tmp_path):
    out = tmp_path / "scale"
    run_script("bench_scale.py", "--sizes", "1000,2000", "--dim", "32", "--out", str(out))
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [r["words"] for r in rows] == [1000, 2000]
    assert all(r["p1_true_pairing"] > 90 for r in rows)  # the synthetic rotation is found at every size
    assert all(r["align_s"] > 0 and r["peak_rss_gib"] > 0 for r in rows)
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "| words |" in out.with_suffix(".md").read_text()
    assert all(r["preset"] == "duo" for r in rows)  # the default's time, unless a preset is named
    run_script("bench_scale.py", "--sizes", "1000", "--dim", "32", "--skip-load", "--preset", "fast", "--out", str(out))
    (row,) = json.loads(out.with_suffix(".json").read_text())
    assert row["preset"] == "fast" and row["p1_true_pairing"] > 90 and "load_vec_s" not in row


def test_load_benchmark_reports_both_formats(tmp_path):
    out = tmp_path / "load.json"
    run_script("bench_load.py", "--words", "2000", "--dim", "20", "--out", str(out))
    result = json.loads(out.read_text())
    assert result["words"] == 2000 and result["dim"] == 20
    assert result["seconds_vec"] > 0 and result["seconds_native"] > 0


@pytest.mark.slow  # tens of seconds on 2 cores
def test_failure_rule_passes_the_real_pair_and_flags_the_control(synthetic_languages, tmp_path):
    root = synthetic_languages
    out = tmp_path / "rule"
    run_script("failure_rule.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
               "--pairs", "en-fr", "--interval", "5", "--save-maps", str(tmp_path / "maps"), "--out", str(out))
    # the control with the default schedule: with 5-iteration phases two runs hardly leave the
    # (deterministic) initialisation and agree on a quarter of the words or more; with 50, seeds
    # 0-5 agree on 5-25%, under the line at a third
    run_script("failure_rule.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
               "--pairs", "en-fr_control", "--out", str(out))
    rows = {r["tgt"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert rows["fr"]["verdict"] == "ok" and rows["fr"]["csls_p1"] > 90
    # the saved maps are the two runs': their agreement is the one in the table
    src = load_embeddings(root / "emb" / "en")
    tgt = load_embeddings(root / "emb" / "fr")
    x, y = prepare(src, tgt, AlignConfig().normalize)
    w0, w1 = (np.load(tmp_path / "maps" / f"en-fr_similarity_{s}.npy") for s in (0, 1))
    assert translation_agreement(x, y, w0, w1) == pytest.approx(rows["fr"]["agreement"], abs=1e-4)
    assert rows["fr_control"]["verdict"] == "failed" and rows["fr_control"]["csls_p1"] < 5
    assert rows["fr_control"]["supervised_csls_p1"] < 20  # nothing to learn, even with a dictionary
    assert "**failed**" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    # a second call resumes: pairs already in the table are kept, not rerun
    again = run_script("failure_rule.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
                       "--pairs", "en-fr,en-fr_control", "--interval", "5", "--out", str(out))
    assert again.strip() == "" and len(json.loads(out.with_suffix(".json").read_text())) == 2


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_info_table_collects_explained_bits_curves_and_control(prepared, tmp_path):
    import shutil

    from umt.cli import main
    from umt.corpora.control import shuffle_tokens

    control_data = tmp_path / "control-data"  # the target half dealt at random, as --control-target does
    shutil.copytree(prepared, control_data)
    for name in ("train.fr.txt", "heldout.fr.txt"):
        lines = (control_data / name).read_text(encoding="utf-8").split("\n")[:-1]
        dealt = shuffle_tokens([line.split() for line in lines])
        (control_data / name).write_text("\n".join(" ".join(t) for t in dealt) + "\n", encoding="utf-8")
    (control_data / "manifest.json").write_text(json.dumps({"pair": "en-fr", "control": "fr structureless"}))
    runs = []
    for data, name in ((prepared, "en-fr"), (control_data, "en-fr-control")):
        runs.append(tmp_path / name / "train")
        assert main(["-q", "mt", "train", "--prepared", str(data), "--out", str(runs[-1]), "--steps", "20",
                     "--pretrain-steps", "0", "--batch-size", "8", "--dim", "32", "--heads", "2", "--layers", "1",
                     "--eval-every", "10", "--display-every", "1",  # the curve at every evaluation
                     "--wbw-steps", "4", "--ae-decay-steps", "10", "--device", "cpu"]) == 0
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps([{"src": "en", "tgt": "fr_control", "criterion": 0.44, "agreement": 0.01,
                                 "verdict": "failed", "csls_p1": 0.0, "supervised_csls_p1": 0.1}]))
    out = tmp_path / "info"
    stdout = run_script("info_table.py", "--runs", ",".join(map(str, runs)), "--info-root", str(tmp_path / "lm"),
                        "--rule", str(rule), "--lm-steps", "20", "--lm-dim", "32", "--lm-layers", "1",
                        "--lm-batch-size", "8", "--out", str(out))
    report = json.loads(out.with_suffix(".json").read_text())
    real = {r["direction"]: r for r in report["directions"] if not r["control"]}
    control = {r["direction"]: r for r in report["directions"] if r["control"]}
    assert set(real) == set(control) == {"en-fr", "fr-en"}
    for r in report["directions"]:
        assert r["explained"] == pytest.approx(r["L(Y)"] - r["L(Y|X)"], abs=2e-3)
        assert r["first_step"] == 10 and r["L(Y|X)_first"] > 0  # the curve comes from the run's history
    # the control's target language model learned from structureless text: it codes real French worse
    assert control["fr-en"]["L(Y)"] == pytest.approx(real["fr-en"]["L(Y)"], rel=0.3)
    assert control["en-fr"]["L(Y)"] > real["en-fr"]["L(Y)"]
    assert report["joint_vs_separate"][0]["pair"] == "en-fr" and report["joint_vs_separate"][1] is None
    assert "en->fr **(control)**" in stdout
    assert "fr_control" in stdout and "**failed**" in stdout
    assert (tmp_path / "lm" / "en-fr" / "info.json").exists()
    assert not list((tmp_path / "lm" / "en-fr-control").glob("lm.en+fr.pt"))  # no joint model for a control
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # tens of seconds on 2 cores
def test_supervised_recipes_hold_out_a_development_split_of_the_training_pairs(synthetic_languages, tmp_path):
    out = tmp_path / "recipes"
    run_script("supervised_recipes.py", "--emb-root", str(synthetic_languages / "emb"), "--dict-root",
               str(synthetic_languages / "dicts"), "--recipes", "procrustes-reweight,seed-reweight", "--out", str(out))
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [r["recipe"] for r in rows] == ["procrustes-reweight", "seed-reweight"]
    for r in rows:  # one source word in five of the 2,000 training pairs is held out; the test split is whole
        assert (r["dev_queries"], r["test_queries"]) == (400, 500)
        assert r["dev_csls_p1"] > 90 and r["test_csls_p1"] > 90  # a noisy rotation: every recipe finds it


@pytest.mark.slow  # two fastText trainings and two alignments, as processes
def test_vectors_study_trains_each_recipe_once_and_scores_the_development_split_only(synthetic_languages, tmp_path):
    import gzip

    from umt.embeddings import load_embeddings

    root = synthetic_languages
    dicts = tmp_path / "dicts"  # the training split alone: the study must never need the test split
    dicts.mkdir()
    (dicts / "en-fr.0-5000.txt").write_text((root / "dicts" / "en-fr.0-5000.txt").read_text())
    data = tmp_path / "data"
    (data / "mono").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for lang in ("en", "fr"):
        words = load_embeddings(root / "emb" / lang).words[:400]
        with gzip.open(data / "mono" / f"{lang}.txt.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(" ".join(rng.choice(words, 12)) for _ in range(1500)) + "\n")
    out, work = tmp_path / "study", tmp_path / "work"
    args = ["--recipe", f"given=@{root / 'emb'}", "--recipe", "tiny=--dim 8 --epoch 1 --min-count 1 --threads 1",
            "--dict-root", str(dicts), "--data", str(data), "--align-args", "--preset fast", "--work", str(work),
            "--out", str(out)]
    run_script("vectors_study.py", *args)
    result = json.loads(out.with_suffix(".json").read_text())
    rows = {r["recipe"]: r for r in result["rows"]}
    assert rows["given"]["dev_queries"] == 400  # one source word in five of the 2,000 training pairs
    # a noisy rotation: both maps find it, on words the supervised map never saw
    assert rows["given"]["supervised_dev_csls_p1"] > 90 and rows["given"]["unsupervised_dev_csls_p1"] > 90
    assert result["trained"]["given"] == {"en": None, "fr": None} and result["trained"]["tiny"]["en"] > 0
    assert rows["tiny"]["vocabulary"] == [400, 400] and 0 < rows["tiny"]["dev_queries"] < 400
    stamp = (work / "vectors" / "tiny" / "en" / "meta.json").stat().st_mtime_ns
    table = out.with_suffix(".md").read_text()
    assert "| given | en-fr |" in table and "made elsewhere" in table and "`tiny` = `--dim 8" in table
    run_script("vectors_study.py", *args)  # everything is reused: nothing trained or aligned again
    assert (work / "vectors" / "tiny" / "en" / "meta.json").stat().st_mtime_ns == stamp
    assert json.loads(out.with_suffix(".json").read_text())["rows"] == result["rows"]


def test_peers_runs_vecmap_muse_and_umt_as_processes_and_scores_them_alike(synthetic_languages, data_root, tmp_path):
    """The real VecMap and MUSE (shared/peers) on a noisy rotation, MUSE cut to a tiny budget."""
    work, out = tmp_path / "work", tmp_path / "peers"
    args = ["--emb-root", str(synthetic_languages / "emb"), "--dict-root", str(synthetic_languages / "dicts"),
            "--peers", str(data_root.parent / "peers"), "--work", str(work), "--out", str(out),
            "--umt-args", "--preset fast", "--vecmap-args", "--stochastic_interval 3",
            "--muse-args", "--n_epochs 1 --epoch_size 2000 --n_refinement 1 --dis_hid_dim 64",
            "--headline", str(tmp_path / "headline.json")]
    stdout = run_script("peers.py", *args)
    headline = json.loads((tmp_path / "headline.json").read_text())
    assert headline["machine"] and headline["date"] and len(headline["results"]) == 5
    figures = headline["en-fr"]  # the per-pair figures the README quotes
    assert figures["umt_csls_p1"] > 90 and figures["vecmap_seconds"] > 0 and figures["muse_csls_p1"] is not None
    assert 0 <= figures["mcnemar_p_umt_vs_vecmap"] <= 1
    results = {r["system"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert set(results) == {"umt", "umt-supervised", "vecmap", "vecmap-supervised", "muse"}
    for name in ("umt", "umt-supervised", "vecmap", "vecmap-supervised"):  # a noisy rotation: all find it
        assert results[name]["csls_p1"] > 90, (name, results[name]["csls_p1"])
    for name, r in results.items():
        assert r["n_queries"] == 500 and r["seconds"] > 0 and r["peak_rss_mib"] > 10
        assert (name in ("umt", "umt-supervised")) == ("vs_umt" not in r)
    assert results["vecmap"]["vs_umt"]["n"] == 500 and results["vecmap"]["time_vs_umt"] > 0
    assert results["vecmap-supervised"]["vs_umt"]["against"] == "umt-supervised"  # like against like
    assert results["muse"]["settings_changed"].startswith("--n_epochs 1") and results["muse"]["muse_own_log"]
    assert results["umt"]["settings_changed"] == "--preset fast" and not results["umt-supervised"]["settings_changed"]
    assert "| en-fr | muse (--n_epochs 1" in stdout
    finished = (work / "en-fr" / "vecmap" / "result.json").stat().st_mtime_ns
    again = run_script("peers.py", *args)  # finished systems are reused, not run again
    assert (work / "en-fr" / "vecmap" / "result.json").stat().st_mtime_ns == finished and again == stdout


@pytest.mark.slow  # tens of seconds on 2 cores
def test_mt_ablation_compares_levers_at_equal_translation_steps(prepared, tmp_path):
    from dataclasses import asdict

    from umt.translation.data import MTData
    from umt.translation.model import ModelConfig
    from umt.translation.train import MTTrainConfig, Trainer

    data = MTData.load(prepared)
    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64)
    histories = {}
    for name, pretrain in (("base", 0), ("xlm", 3)):  # the lever: 3 masked-LM steps first
        cfg = MTTrainConfig(steps=pretrain + 6, pretrain_steps=pretrain, batch_size=8, warmup=2, wbw_steps=2,
                            ae_decay_steps=4, eval_every=3, max_len=20, model=model, device="cpu",
                            average_decay=0.5 if name == "base" else 0.0)
        histories[name] = Trainer(data, cfg, tmp_path / name / "train").fit(progress=False)
        (tmp_path / name / "mt_run.json").write_text(json.dumps({"src": "en", "tgt": "fr", "train": asdict(cfg)}))
    out = tmp_path / "ablation"
    stdout = run_script("mt_ablation.py", "--runs", f"base={tmp_path / 'base'},xlm={tmp_path / 'xlm'}",
                        "--at", "3,6,9", "--out", str(out))
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["steps"] == [3, 6] and result["steps_missing"] == [9]  # xlm's step 6 is its 3rd translation step
    base, xlm = result["runs"]
    assert base["differences"] == [] and base["pretrain_seconds"] is None
    assert "train.pretrain_steps 0 -> 3" in xlm["differences"] and "train.steps 6 -> 9" in xlm["differences"]
    at_9 = next(r for r in histories["xlm"] if r["step"] == 9)  # translation step 6 of the pretrained run
    assert xlm["at"]["6"]["en-fr"] == at_9["test_en-fr"]
    assert xlm["at"]["6"]["delta"]["en-fr"] == pytest.approx(at_9["test_en-fr"] - base["at"]["6"]["en-fr"], abs=0.01)
    assert 0 < xlm["pretrain_seconds"] <= 3600 * xlm["at"]["3"]["hours"] + 0.5  # charged its pretraining time
    assert base["word_by_word"] == xlm["word_by_word"]  # one prepared pair: the same seed
    assert "| xlm | train.pretrain_steps 0 -> 3" in stdout and out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    import shutil  # a bare `umt mt train` run (no mt_run.json): its own config gives the pretraining steps

    shutil.copytree(tmp_path / "xlm" / "train", tmp_path / "bare" / "train")
    (tmp_path / "bare" / "train" / "params.json").write_text(json.dumps({"prepared": "relexed-copy"}))
    run_script("mt_ablation.py", "--runs", f"base={tmp_path / 'base'},bare={tmp_path / 'bare'}", "--out", str(out))
    bare = json.loads(out.with_suffix(".json").read_text())["runs"][1]
    assert bare["at"]["6"]["en-fr"] == at_9["test_en-fr"] and "trained on relexed-copy" in bare["differences"]
    # the averaged weights of a run that evaluated them, as a lever of their own
    run_script("mt_ablation.py", "--runs", f"base={tmp_path / 'base'},avg={tmp_path / 'base'}@averaged", "--out",
               str(out))
    avg = json.loads(out.with_suffix(".json").read_text())["runs"][1]
    at_6 = next(r for r in histories["base"] if r["step"] == 6)
    assert avg["at"]["6"]["en-fr"] == at_6["averaged"]["test_en-fr"] and avg["differences"] == ["averaged weights"]
    with pytest.raises(AssertionError, match="no averaged weights were evaluated"):
        run_script("mt_ablation.py", "--runs", f"avg={tmp_path / 'xlm'}@averaged", "--out", str(out))


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_mt_throughput_times_steps_with_and_without_length_buckets(prepared, tmp_path):
    out = tmp_path / "tp"
    run_script("mt_throughput.py", "--prepared", str(prepared), "--buckets", "1,3", "--threads", "1",
               "--batch-size", "6", "--steps", "2", "--warmup", "1", "--at", "5", "--out", str(out))
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["buckets"] for r in rows] == [1, 3]
    for r in rows:
        assert 0 < r["batch_and_back_translation_s"] < r["seconds_per_step"]
        assert r["tokens_per_second"] == pytest.approx(r["tokens_per_step"] / r["seconds_per_step"], rel=0.02)
    assert "| translation | 1 | 3 |" in out.with_suffix(".md").read_text()
    run_script("mt_throughput.py", "--prepared", str(prepared), "--phase", "masked-lm", "--buckets", "1,4",
               "--threads", "1", "--batch-size", "6", "--steps", "2", "--warmup", "0", "--at", "0", "--out", str(out),
               "--precision", "bfloat16,float32")
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [(r["phase"], r["buckets"]) for r in rows] == [("masked-lm", b) for b in (1, 1, 4, 4)]
    import torch

    from umt.device import native_bfloat16

    native = "bfloat16" if native_bfloat16(torch.device("cpu")) else "float32"  # what the trainer does here
    assert [r["precision"] for r in rows] == [native, "float32"] * 2
    assert len({r["tokens_per_step"] for r in rows}) == 1 and rows[0]["tokens_per_step"] > 0  # the same pieces


def test_mt_lexicon_scores_each_setting_and_leaves_the_prepared_pair_alone(prepared, tmp_path):
    import shutil

    from synthetic import EN, FR

    data = tmp_path / "data"
    shutil.copytree(prepared, data)
    x = np.random.default_rng(0).standard_normal((len(EN), 8)).astype(np.float32)
    save_embeddings(Embeddings(EN, x), tmp_path / "en")  # the French vectors are the English ones: an exact map
    save_embeddings(Embeddings(FR, x.copy()), tmp_path / "fr")
    np.save(tmp_path / "identity.npy", np.eye(8, dtype=np.float32))
    (data / "prepare.json").write_text(json.dumps({"pair": "en-fr", "mapping": str(tmp_path / "identity.npy")}))
    before = (data / "lexicon.en-fr.tsv").read_bytes()
    out = tmp_path / "lex"
    run_script("mt_lexicon.py", "--prepared", str(data), "--src-emb", str(tmp_path / "en"), "--tgt-emb",
               str(tmp_path / "fr"), "--identical-top", "0,3", "--frequency-prior", "0,0.01", "--out", str(out))
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [(r["identical_top"], r["frequency_prior"]) for r in rows] == [(0, 0.0), (0, 0.01), (3, 0.0), (3, 0.01)]
    assert all(r["val_en-fr"] > 50 and r["test_fr-en_tok_lc"] > 50 for r in rows)  # the exact toy lexicon
    assert "| 3 | 0.01 |" in out.with_suffix(".md").read_text()
    assert (data / "lexicon.en-fr.tsv").read_bytes() == before  # tables are rebuilt in a copy


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_gap_diagnosis_compares_unsupervised_and_supervised_basins(synthetic_languages, tmp_path):
    root = synthetic_languages
    out = tmp_path / "gap"
    stdout = run_script("gap_diagnosis.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
                        "--pair", "en-fr", "--refine", "2", "--cutoff", "1500", "--max-rank", "2000",
                        "--criterion-words", "1500", "--out", str(out))
    report = json.loads(out.with_suffix(".json").read_text())
    rows = {r["map"]: r for r in report["rows"]}
    assert len(rows) == 5 and len(report["refinement_curves"]["unsupervised"]) == 3
    # a noisy rotation: the distributions determine the map, both basins are the same good one
    assert rows["unsupervised map (no dictionary)"]["csls_p1"] > 90
    assert rows["supervised Procrustes (0-5000)"]["csls_p1"] > 90
    assert abs(rows["unsupervised map (no dictionary)"]["objective"]
               - rows["self-learning from the supervised dictionary"]["objective"]) < 0.01
    assert "| supervised + 2 refinements |" in out.with_suffix(".md").read_text() and "CSLS P@1" in stdout


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_reweight_table_scores_saved_maps_before_and_after(synthetic_languages, tmp_path):
    from umt.alignment import prepare, procrustes
    from umt.embeddings import load_embeddings

    root = synthetic_languages
    x, y = prepare(load_embeddings(root / "emb" / "en"), load_embeddings(root / "emb" / "fr"))
    maps = tmp_path / "maps"
    maps.mkdir()
    np.save(maps / "en-fr_fast_0.npy", procrustes(x[:2000], y[:2000]))  # the true pairing
    np.save(maps / "en-fr_fast_1.npy", np.eye(x.shape[1], dtype=np.float32))  # no alignment at all
    out = tmp_path / "rw"
    run_script("reweight_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
               "--maps", str(maps), "--pairs", "en-fr", "--out", str(out))
    rows = {r["map"]: r for r in json.loads(out.with_suffix(".json").read_text())}
    assert set(rows) == {"fast_0", "fast_1", "average_2", None}
    # the aligned map and the identity translate the frequent words differently: low agreement, no dictionary read
    agreement = rows.pop(None)
    assert agreement["statistic"] == "seed_agreement" and agreement["maps"] == 2
    assert 0 <= agreement["orthogonal"] < 20 and 0 <= agreement["reweighted_2"] < 20  # 0.07 and 0.1 when written
    assert rows["fast_0"]["orthogonal"] > 90
    assert rows["fast_0"]["reweighted_1"] > 90 and rows["fast_0"]["reweighted_2"] > 90
    assert rows["fast_1"]["orthogonal"] < 5
    assert "| en-fr | fast_0 |" in out.with_suffix(".md").read_text()
    # two maps of the true pairing learned from disjoint halves translate (nearly) every word the same way
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    np.save(aligned / "en-fr_fast_0.npy", procrustes(x[:1500], y[:1500]))
    np.save(aligned / "en-fr_fast_1.npy", procrustes(x[1500:], y[1500:]))
    dev = tmp_path / "rw_dev"
    run_script("reweight_table.py", "--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"),
               "--maps", str(aligned), "--pairs", "en-fr", "--rounds", "1", "--split", "0-5000", "--out", str(dev))
    dev_rows = {r["map"]: r for r in json.loads(dev.with_suffix(".json").read_text())}
    assert dev_rows.pop(None)["orthogonal"] > 95 and dev_rows["fast_1"]["orthogonal"] > 90
    assert {r["split"] for r in dev_rows.values()} == {"0-5000"}
    assert dev_rows["fast_0"]["reweighted_1"] > 90 and "reweighted_2" not in dev_rows["fast_0"]
    assert "single maps' translations (%)" in dev.with_suffix(".md").read_text()


@pytest.mark.parametrize("flag, expected", [("--interval", "expected 1 or more"),
                                            ("--reweight-words", "expected 1 or more"),
                                            ("--multiplier", "expected a value > 1")])
def test_seed_ensembles_rejects_a_zero_setting_instead_of_using_the_preset(flag, expected, tmp_path):
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "seed_ensembles.py"), "--emb-root", str(tmp_path),
                           "--dict-root", str(tmp_path), "--out", str(tmp_path / "x"), flag, "0"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and f"{flag} 0" in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.json").exists()


@pytest.mark.slow  # tens of seconds on 2 cores
def test_seed_ensembles_rebuilds_the_ensemble_preset_from_single_seeds(synthetic_languages, tmp_path):
    from dataclasses import replace

    from umt.alignment import align, prepare
    from umt.alignment.presets import preset
    from umt.embeddings import load_embeddings
    from umt.evaluation import load_dictionary, precision_at_k

    root = synthetic_languages
    out = tmp_path / "ens"
    common = ("--emb-root", str(root / "emb"), "--dict-root", str(root / "dicts"), "--pairs", "en-fr",
              "--ensemble", "2,3", "--interval", "5", "--save-maps", str(tmp_path / "maps"), "--out", str(out))
    run_script("seed_ensembles.py", *common, "--seeds", "3")
    rows = json.loads(out.with_suffix(".json").read_text())
    # each window's row lands as soon as the run that completes it has finished
    assert [(r["method"], r["seed"]) for r in rows] == [("supervised", None), ("fast", 0), ("fast", 1), (
        "ensemble2", 0), ("fast", 2), ("ensemble2", 1), ("ensemble3", 0)]
    assert all(r["interval"] == 5 and r["multiplier"] == 2.0 for r in rows[1:])  # the settings are on record
    window = rows[5]
    assert min(r["test"] for r in rows) > 90 and min(r["dev"] for r in rows) > 90
    # window 1 is exactly what the ensemble preset over two seeds keeps and re-weights with --seed 1
    src, tgt = load_embeddings(root / "emb" / "en"), load_embeddings(root / "emb" / "fr")
    cfg = replace(preset("ensemble"), candidates="similarity:0,similarity:1", seed=1)
    cfg.selflearn.interval = 5
    result = align(src, tgt, cfg, progress=False)
    gold = load_dictionary(root / "dicts" / "en-fr.5000-6500.txt", src, tgt)
    x, y = prepare(src, tgt, result.config.normalize)
    assert precision_at_k(*result.mapped(x, y), gold, ("csls",))["csls_p1"] == window["test"]
    assert window["criterion"] == round(result.criterion, 5)
    assert window["kept"] == ("average" if result.chosen.startswith("average") else
                               "seed " + result.chosen.partition(":")[2])
    table = out.with_suffix(".md").read_text()
    assert "| en-fr | ensemble2 | test |" in table and "| en-fr | ensemble3 | dev |" in table
    assert "| en-fr | fast | dev |" in table
    # each row keeps which test words it got right, in query order: the paired tests count from them
    hits = window["test_hits"]
    assert set(hits) <= {"0", "1"} and len(hits) == len(set(gold.src_ids.tolist()))
    assert round(100 * hits.count("1") / len(hits), 2) == window["test"]
    assert "pairs of seeds that differ (p < 0.05; smallest p)" in table
    fast_test = next(line for line in table.splitlines() if line.startswith("| en-fr | fast | test |"))
    # near-perfect seeds differ neither from each other nor from the reference
    assert fast_test.endswith("| 0 of 3 (1) | 0 of 3 (1) |")
    # --resume keeps the rows of the saved seeds, timings too: with no time left it runs nothing new
    run_script("seed_ensembles.py", *common, "--seeds", "4", "--resume", "--time-budget", "0")
    assert json.loads(out.with_suffix(".json").read_text()) == rows
    # --rescore re-weights the saved maps instead of running the seeds again: the same settings give the same rows
    rescored = tmp_path / "rescored"
    run_script("seed_ensembles.py", *common[:-2], "--out", str(rescored), "--seeds", "3", "--rescore",
               "--time-budget", "0")
    again = json.loads(rescored.with_suffix(".json").read_text())
    assert all(r.get("rescored") for r in again if r["method"] == "fast")
    untimed = lambda rs: [{k: v for k, v in r.items() if k not in ("seconds", "rescored")} for r in rs]  # noqa: E731
    assert untimed(again) == untimed(rows)
    assert all(r["reweight_words"] == preset("fast").reweight_words for r in rows[1:])
    # other re-weighting words are on record, and --resume does not take rows made with others
    run_script("seed_ensembles.py", *common[:-2], "--out", str(rescored), "--seeds", "3", "--rescore",
               "--reweight-words", "300", "--resume", "--time-budget", "0")
    assert all(r["reweight_words"] == 300 for r in json.loads(rescored.with_suffix(".json").read_text())[1:])
    # --average-when agree: the windows again, each the average of the seeds that agree with its best, exactly
    # what the library keeps under the same setting; the single seeds' rows are kept
    run_script("seed_ensembles.py", *common, "--seeds", "3", "--resume", "--time-budget", "0", "--average-when",
               "agree")
    agreed = json.loads(out.with_suffix(".json").read_text())
    assert [r for r in agreed if r["method"] == "fast"] == [r for r in rows if r["method"] == "fast"]
    window = next(r for r in agreed if (r["method"], r["seed"]) == ("ensemble2", 1))
    assert window["average_when"] == "agree" and window["kept"] == "average"
    result = align(src, tgt, replace(cfg, average_when="agree"), progress=False)
    assert result.chosen.startswith("average(")
    assert precision_at_k(*result.mapped(x, y), gold, ("csls",))["csls_p1"] == window["test"]
    assert window["criterion"] == round(result.criterion, 5)
    # a seed whose map is gone is not taken from the rows: it would run again, so with no time left they stop
    (tmp_path / "maps" / "en-fr_fast_2.npy").unlink()
    run_script("seed_ensembles.py", *common, "--seeds", "3", "--resume", "--time-budget", "0")
    assert json.loads(out.with_suffix(".json").read_text()) == rows[:4]
    # rows made with another interval are not reused either
    run_script("seed_ensembles.py", *common[:-6], "--interval", "6", *common[-4:], "--seeds", "3", "--resume",
               "--time-budget", "0")
    assert [r["method"] for r in json.loads(out.with_suffix(".json").read_text())] == ["supervised"]


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_seed_agreement_tells_seeds_of_one_map_from_unrelated_maps(synthetic_languages, tmp_path):
    from umt.alignment.procrustes import procrustes

    root = synthetic_languages
    src, tgt = load_embeddings(root / "emb" / "en"), load_embeddings(root / "emb" / "fr")
    x, y = prepare(src, tgt, AlignConfig().normalize)
    rng = np.random.default_rng(1)
    (tmp_path / "found").mkdir()
    (tmp_path / "lost").mkdir()
    for seed in range(3):  # three seeds that found the map (rows are translations), three that did not
        np.save(tmp_path / "found" / f"en-fr_fast_{seed}.npy", procrustes(x, y))
        np.save(tmp_path / "lost" / f"en-fr_fast_{seed}.npy", random_orthogonal(x.shape[1], rng).astype(np.float32))
    for name in ("found", "lost"):
        run_script("seed_agreement.py", "--emb-root", str(root / "emb"), "--maps", str(tmp_path / name), "--pair",
                   "en-fr", "--sources", "1000", "--targets", "2000", "--reweight-words", "2000",
                   "--out", str(tmp_path / name))
    found, lost = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("found", "lost"))
    assert found["seeds"] == [0, 1, 2] and found["orthogonal"] == found["reweighted"] == 100.0
    assert lost["orthogonal"] < 20
    assert "| en-fr | 3 |" in (tmp_path / "lost.md").read_text()


def test_seed_ensembles_counts_only_the_differences_mcnemar_separates():
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        from seed_ensembles import differing, summary
    finally:
        sys.path.remove(str(EXPERIMENTS))
    base = "1" * 30 + "0" * 70
    rows = [{"pair": "en-fr", "method": "supervised", "seed": None, "test": 30.0, "dev": 30.0,
             "test_hits": base, "dev_hits": base},
            # two words apart from the reference: noise; 25 apart, all one way: a real difference
            {"pair": "en-fr", "method": "fast", "seed": 0, "test": 32.0, "dev": 30.0,
             "test_hits": "1" * 32 + "0" * 68, "dev_hits": base},
            {"pair": "en-fr", "method": "fast", "seed": 1, "test": 55.0, "dev": 30.0,
             "test_hits": "1" * 55 + "0" * 45, "dev_hits": base}]
    assert differing(rows[1:], "test") == "1 of 1 (2.4e-07)" and differing(rows[1:], "dev") == "0 of 1 (1)"
    assert differing(rows[1:], "test", rows[0]) == "1 of 2 (6e-08)"
    assert differing([{"test": 1.0}, *rows[1:]], "test") == ""  # a row without per-word hits: no count
    table = summary(rows)
    assert "| 1 of 1 (2.4e-07) | 1 of 2 (6e-08) |" in table
    assert "| en-fr | fast | dev | 30.0, 30.0 | 30.00 / 30.00 / 30.00 | 0.00 | 2 of 2 | 0 of 1 (1) |  |" in table


@pytest.mark.parametrize("script, args, expected", [
    ("gap_diagnosis", ["--emb-root", "{t}/none", "--dict-root", "{t}/none", "--out", "{t}/x"],
     "{t}/none/en: embedding file not found"),
    ("reweight_table", ["--emb-root", "{t}/none", "--dict-root", "{t}/none", "--maps", "{t}/none", "--out", "{t}/x"],
     "{t}/none/en: embedding file not found"),
    ("mt_table", ["--runs", "{t}/none", "--out", "{t}/x"], "{t}/none/history.json: missing"),
    ("peers", ["--emb-root", "{t}/e", "--dict-root", "{t}/d", "--peers", "{t}/none", "--out", "{t}/x"],
     "{t}/none/vecmap/map_embeddings.py: missing"),
    ("mt_ablation", ["--runs", "a={t}/none", "--out", "{t}/x"], "{t}/none/train/history.json: missing"),
    ("mt_throughput", ["--prepared", "{t}/none", "--out", "{t}/x"], "{t}/none: not a prepared MT folder"),
    ("mt_lexicon", ["--prepared", "{t}/none", "--src-emb", "{t}/e", "--tgt-emb", "{t}/f", "--out", "{t}/x"],
     "{t}/none: not a prepared MT folder"),
])
def test_every_script_reports_bad_input_in_one_line(script, args, expected, tmp_path):
    done = subprocess.run([sys.executable, str(EXPERIMENTS / f"{script}.py"), *[a.format(t=tmp_path) for a in args]],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"{script}: error: {expected.format(t=tmp_path)}")


def test_import_graph_finds_upward_imports_and_cycles(tmp_path):
    for name, text in {"alignment/align.py": "from umt.evaluation.criterion import x\n",
                       "alignment/presets.py": "def f():\n    from umt.alignment.align import y\n",
                       "alignment/__init__.py": "", "evaluation/__init__.py": "",
                       "evaluation/criterion.py": "import umt.alignment.align\nfrom umt.errors import UmtError\n",
                       "errors.py": "", "__init__.py": ""}.items():
        (tmp_path / "umt" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "umt" / name).write_text(text)
    (tmp_path / "umt" / "alignment" / "align.py").write_text(
        "from umt.evaluation.criterion import x\n\ndef g():\n    from umt.alignment.presets import p\n")
    out = tmp_path / "graph"
    stdout = run_script("import_graph.py", "--root", str(tmp_path), "--out", str(out))
    g = json.loads(out.with_suffix(".json").read_text())
    assert [(u["from"], u["imports"], u["function_local"]) for u in g["upward"]] == [
        ("umt.alignment.align", "umt.evaluation.criterion", False)]
    assert g["package_cycles"] == [["alignment", "evaluation"]]
    assert g["module_cycles"] == [["umt.alignment.align", "umt.alignment.presets"],
                                  ["umt.alignment.align", "umt.evaluation.criterion"]]
    assert "1 upward imports (0 function-local), 1 package cycles, 2 pairs" in stdout


@pytest.mark.slow  # four alignments in their own processes, and a git archive
def test_bit_for_bit_runs_an_earlier_commit_beside_this_checkout(synthetic_languages, tmp_path):
    import shutil

    if shutil.which("git") is None or subprocess.run(["git", "-C", str(EXPERIMENTS), "rev-parse", "HEAD"],
                                                     capture_output=True).returncode:
        pytest.skip("not a git checkout")
    out = tmp_path / "same"
    stdout = run_script("bit_for_bit.py", "--before", "HEAD", "--emb-root", str(synthetic_languages / "emb"),
                        "--pairs", "en-fr,fr-en", "--work", str(tmp_path / "work"),
                        "--align-args", "--preset fast --sl-interval 3 --sl-init-words 500 --refine 1",
                        "--out", str(out))
    result = json.loads(out.with_suffix(".json").read_text())
    assert [r["pair"] for r in result["rows"]] == ["en-fr", "fr-en"] and "identical maps" in stdout
    for r in result["rows"]:  # the committed code and this checkout (the same, in CI) give the same maps
        assert r["identical"] and set(r["after"]["sha256"]) == {"mapping.npy", "target_mapping.npy"}
    assert (tmp_path / "work" / "code-HEAD" / "umt" / "cli.py").exists()


def test_mt_branch_continues_a_copy_of_a_run_with_a_learning_rate_decay(prepared, tmp_path):
    import torch

    from umt.translation.data import MTData
    from umt.translation.model import ModelConfig
    from umt.translation.train import MTTrainConfig, Trainer

    data = MTData.load(prepared, 20)  # as the branch loads it: at its max_len
    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64)
    cfg = dict(pretrain_steps=0, batch_size=8, warmup=2, wbw_steps=2, ae_decay_steps=4, eval_every=4, max_len=20,
               model=model, device="cpu", amp=False)
    straight = Trainer(data, MTTrainConfig(steps=8, **cfg), tmp_path / "straight")
    straight.fit(progress=False)
    Trainer(data, MTTrainConfig(steps=4, **cfg), tmp_path / "parent").fit(progress=False)
    parent = tmp_path / "parent"
    args = ["--parent", str(parent), "--prepared", str(prepared), "--steps", "8"]
    # no change: the branch is the parent trained on
    run_script("mt_branch.py", *args, "--out", str(tmp_path / "same"))
    same = torch.load(tmp_path / "same" / "checkpoint.pt", weights_only=False)
    for name, value in straight.model.state_dict().items():
        assert torch.allclose(same["model"][name], value, atol=1e-6), name
    assert torch.load(parent / "checkpoint.pt", weights_only=False)["step"] == 4  # the parent is left as it was
    # a decay from step 4 on, halving every 2 steps: the last step (8) ran at lr / 2^((7 - 4) / 2)
    run_script("mt_branch.py", *args, "--out", str(tmp_path / "decay"), "--set", "lr_half_life=2",
               "--set", "lr_decay_start=4")
    decayed = torch.load(tmp_path / "decay" / "checkpoint.pt", weights_only=False)
    assert decayed["config"]["lr_half_life"] == 2 and decayed["step"] == 8
    assert decayed["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4 * 0.5 ** 1.5)
    record = json.loads((tmp_path / "decay" / "branch.json").read_text())
    assert record["step"] == 4 and record["changes"] == {"lr_half_life": 2, "lr_decay_start": 4}
    history = json.loads((tmp_path / "decay" / "history.json").read_text())
    assert [r["step"] for r in history if r.get("system") is None] == [4, 8]
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "mt_branch.py"), *args, "--out", str(tmp_path / "bad"),
                           "--set", "lr_halflife=2"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown training settings: lr_halflife" in done.stderr
