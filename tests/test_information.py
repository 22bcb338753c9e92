"""Code lengths in bits per character: exact arithmetic on a known distribution, and learning."""

import numpy as np
import pytest
import torch
from synthetic import EN, FR, toy_sentences

from umt.errors import UmtError
from umt.fileio import write_text
from umt.information.lm import (
    LanguageModel,
    LMTrainConfig,
    code_length,
    load_language_model,
    save_language_model,
    train_language_model,
)
from umt.translation.model import ModelConfig
from umt.translation.vocab import Vocab, train_sentencepiece


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("info")
    rng = np.random.default_rng(0)
    text = {"en": toy_sentences(EN, 400, rng), "fr": toy_sentences(FR, 400, rng)}
    for lang, lines in text.items():
        write_text(folder / f"{lang}.txt", "\n".join(lines) + "\n")
    vocab = Vocab(train_sentencepiece([folder / "en.txt", folder / "fr.txt"], folder / "spm", 60))
    held = {"en": toy_sentences(EN, 50, rng), "fr": toy_sentences(FR, 50, rng)}
    return vocab, text, held


def _tiny_lm(vocab_size: int) -> ModelConfig:
    return ModelConfig(vocab_size=vocab_size, dim=32, heads=2, enc_layers=1, dec_layers=0, ff_dim=64, dropout=0.0)


def test_uniform_model_costs_log2_v_bits_a_token(toy):
    vocab, _, held = toy
    model = LanguageModel(_tiny_lm(len(vocab)))
    with torch.no_grad():
        model.ln.weight.zero_()
        model.ln.bias.zero_()
    code = code_length(model, vocab, held["fr"], "fr", batch_size=7)
    tokens = sum(len(ids) + 1 for ids in vocab.encode(held["fr"]))
    assert code["bits"] == pytest.approx(tokens * np.log2(len(vocab)), rel=1e-5)
    assert code["chars"] == sum(len(line) + 1 for line in held["fr"])
    assert code["bpc"] == pytest.approx(code["bits"] / code["chars"])


def test_a_trained_model_compresses_its_language_and_not_the_other(toy, tmp_path):
    vocab, text, held = toy
    cfg = LMTrainConfig(steps=150, batch_size=32, lr=3e-3, warmup=10, model=_tiny_lm(len(vocab)))
    model = train_language_model(vocab, {"fr": text["fr"]}, cfg, device="cpu", progress=False)
    own = code_length(model, vocab, held["fr"], "fr")["bpc"]
    other = code_length(model, vocab, held["en"], "en")["bpc"]
    uniform = sum(len(ids) + 1 for ids in vocab.encode(held["fr"])) * np.log2(len(vocab)) / sum(
        len(line) + 1 for line in held["fr"])
    assert own < 0.5 * uniform  # the toy grammar is very predictable
    assert other > 1.5 * own  # a French model has not learned English
    save_language_model(model, tmp_path / "lm.pt", lang="fr")
    loaded, state = load_language_model(tmp_path / "lm.pt")
    assert state["lang"] == "fr"
    assert code_length(loaded, vocab, held["fr"], "fr")["bpc"] == pytest.approx(own, rel=1e-6)
    with pytest.raises(UmtError, match="language model"):
        load_language_model(tmp_path / "missing.pt")


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_info_command_reports_explained_bits_and_joint_saving(prepared, tmp_path, capsys):
    """`umt info` on the tiny prepared pair, with a tiny back-translation model."""
    import json

    from test_translation import _tiny_config

    from umt.cli import main
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    folder = prepared
    run = tmp_path / "run"
    Trainer(MTData.load(folder), _tiny_config(steps=30, eval_every=30, checkpoint_every=30), run).fit(progress=False)
    out = tmp_path / "info"
    args = ["-q", "info", "--prepared", str(folder), "--model", str(run), "--out", str(out), "--lm-steps", "40",
            "--lm-dim", "32", "--lm-layers", "1", "--lm-batch-size", "16"]
    assert main(args) == 0
    report = json.loads((out / "info.json").read_text())
    for direction in ("en-fr", "fr-en"):
        m = report[direction]
        assert m["L(Y)"] > 0 and m["L(Y|X)"] > 0
        assert m["explained"] == pytest.approx(m["L(Y)"] - m["L(Y|X)"], abs=2e-4)
        assert m["L(Y|X')"] > 0 and m["L(Y|X')"] != m["L(Y|X)"]  # the mismatched sources were really read
        assert m["explained_vs_mismatched"] == pytest.approx(m["L(Y|X')"] - m["L(Y|X)"], abs=2e-4)
    assert report["joint_lm_parameters"] == pytest.approx(2 * report["single_lm_parameters"], rel=0.15)
    assert report["joint_saving_bpc"] == pytest.approx(report["heldout_separate_bpc"] - report["heldout_joint_bpc"],
                                                       abs=2e-4)
    assert "L(Y|X)" in capsys.readouterr().out
    models = sorted(p.name for p in out.glob("lm.*.pt"))
    assert models == ["lm.en+fr.pt", "lm.en.pt", "lm.fr.pt"]
    stamps = [p.stat().st_mtime_ns for p in sorted(out.glob("lm.*.pt"))]
    assert main(args) == 0  # the language models are reused, not retrained
    assert [p.stat().st_mtime_ns for p in sorted(out.glob("lm.*.pt"))] == stamps
    joint_state = torch.load(out / "lm.en+fr.pt", weights_only=False)
    assert joint_state["training"]["steps"] == 2 * 40  # as many sentences of each language as a single model
    args[args.index("--lm-steps") + 1] = "20"
    assert main(args) == 0  # other settings: the stale models are trained again
    assert all(a != b for a, b in zip(stamps, [p.stat().st_mtime_ns for p in sorted(out.glob("lm.*.pt"))]))
    wrong = [*args[:args.index("--model") + 1], str(folder), "--out", str(tmp_path / "wrong"), *args[-8:]]
    assert main(wrong) == 2  # a folder without a model fails before any language model trains
    assert "no trained model" in capsys.readouterr().err and not list((tmp_path / "wrong").glob("lm.*"))


def test_parameter_count_and_width_matching():
    from dataclasses import replace

    from umt.information.report import lm_parameters, width_for_parameters

    cfg = ModelConfig(vocab_size=500, dim=48, heads=4, enc_layers=2, dec_layers=0, ff_dim=192)
    assert lm_parameters(cfg) == LanguageModel(cfg).n_parameters()
    wide = width_for_parameters(cfg, 2 * lm_parameters(cfg))
    assert wide % 4 == 0
    assert lm_parameters(replace(cfg, dim=wide, ff_dim=4 * wide)) == pytest.approx(2 * lm_parameters(cfg), rel=0.05)
