"""Code lengths in bits per character: exact arithmetic on a known distribution, and learning."""

import numpy as np
import pytest
import torch
from test_translation import EN, FR, toy_sentences

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
