"""Any ISO 639 language works: codes, tokens of the translation model, clear limits of Multi30k."""

import json
import shutil

import numpy as np
import pytest

from umt.cli import main
from umt.config import LANGUAGES, model_languages
from umt.errors import UmtError


def test_language_codes_are_checked_against_iso_639_not_against_the_shipped_data():
    from umt.config import check_language, language_name

    for code in ("en", "fr", "de", "is", "fo", "sw", "hi", "zh", "fao", "haw"):
        assert check_language(code) == code and language_name(code)
    assert language_name("is") == "Icelandic" and language_name("fao") == "Faroese"
    for typo, message in (("xx", "unknown language 'xx'"), ("EN", "did you mean 'en'"), ("english", "ISO 639"),
                          ("", "unknown language ''"), ("e1", "unknown language")):
        with pytest.raises(UmtError, match=message):
            check_language(typo)


def test_model_languages_keep_the_indices_of_en_fr_de_and_agree_in_both_directions():
    assert model_languages("en", "fr") == model_languages("de", "en") == LANGUAGES == ("en", "fr", "de")
    assert model_languages("is", "fo") == model_languages("fo", "is") == ("en", "fr", "de", "fo", "is")
    assert model_languages("en", "sw") == ("en", "fr", "de", "sw")


def test_a_vocabulary_has_a_token_for_each_language_of_its_pair(tmp_path):
    from umt.translation.vocab import Vocab, train_sentencepiece

    for lang, words in (("is", "þetta er hús og bók"), ("fo", "hetta er hús og bók")):
        (tmp_path / f"{lang}.txt").write_text((words + "\n") * 50, encoding="utf-8")
    path = train_sentencepiece([tmp_path / "is.txt", tmp_path / "fo.txt"], tmp_path / "spm", vocab_size=24,
                               languages=model_languages("is", "fo"))
    vocab = Vocab(path)
    ids = {lang: vocab.lang_id(lang) for lang in ("en", "fr", "de", "fo", "is")}
    assert len(set(ids.values())) == 5 and set(ids.values()) <= vocab.special
    assert vocab.decode(vocab.encode(["þetta er hús"])) == ["þetta er hús"]


def test_mt_commands_name_multi30k_s_languages_for_another_one(capsys):
    assert main(["-q", "mt", "corpus", "--lang", "is", "--out", "unused.txt.gz"]) == 2
    err = capsys.readouterr().err
    assert "is (Icelandic): Multi30k has captions in en, fr, de only" in err and "Traceback" not in err
    assert "--src-corpus" in err  # and says how to train another pair


def _parallel_test_set(folder, forms, n=40, seed=5):
    """Sentences of hidden concepts spelt in both languages: a true parallel test set."""
    rng = np.random.default_rng(seed)
    concepts = [rng.integers(0, 60, size=int(rng.integers(5, 9))).tolist() for _ in range(n)]
    for lang in ("is", "fo"):
        lines = [" ".join(forms[lang][c] for c in sentence).capitalize() + "." for sentence in concepts]
        (folder / f"test.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "test.is", folder / "test.fo"


def test_a_corpus_pair_draws_distinct_sentences_and_keeps_the_held_out_ones_apart(tmp_path):
    from synthetic import hidden_language_corpora

    from umt.corpora.mono_pair import prepare_corpus_pair

    forms = hidden_language_corpora(tmp_path, sentences=1500)
    corpora = {"is": tmp_path / "is.txt", "fo": tmp_path / "fo.txt"}
    test = _parallel_test_set(tmp_path, forms, n=80)
    manifest = prepare_corpus_pair("is", "fo", tmp_path / "a", corpora, sentences=400, heldout=30, seed=1,
                                   test={"is": test[0], "fo": test[1]})
    for lang in ("is", "fo"):
        train = (tmp_path / "a" / f"train.{lang}.txt").read_text(encoding="utf-8").splitlines()
        held = (tmp_path / "a" / f"heldout.{lang}.txt").read_text(encoding="utf-8").splitlines()
        assert (len(train), len(held)) == (400, 30) and len(set(train + held)) == 430  # distinct, apart
        assert manifest["mono"][lang]["lines_read"] == 1500
    again = prepare_corpus_pair("is", "fo", tmp_path / "b", corpora, sentences=400, heldout=30, seed=1)
    assert again["mono"] == manifest["mono"] and again["test"] is None  # the same draw under the same seed
    assert not (tmp_path / "b" / "test.is.txt").exists()
    with pytest.raises(UmtError, match="fewer than the 5500 asked for"):
        prepare_corpus_pair("is", "fo", tmp_path / "c", corpora, sentences=5000)
    parallel = {"is": test[0], "fo": test[1]}  # two sides of one parallel text given as "monolingual"
    with pytest.raises(UmtError, match="look like translations of each other"):
        prepare_corpus_pair("is", "fo", tmp_path / "d", parallel, sentences=10, heldout=0)


@pytest.mark.slow  # the whole pipeline, tiny: tens of seconds
def test_mt_run_trains_any_language_pair_from_monolingual_corpora(tmp_path, capsys):
    from synthetic import hidden_language_corpora

    forms = hidden_language_corpora(tmp_path, sentences=2000)
    test = _parallel_test_set(tmp_path, forms)
    tiny = ["--sentences", "500", "--heldout", "20", "--embed-dim", "16", "--embed-epoch", "2", "--vocab-size",
            "300", "--steps", "4", "--pretrain-steps", "0", "--batch-size", "8", "--dim", "32", "--heads", "2",
            "--layers", "1",
            "--eval-every", "2", "--wbw-steps", "2", "--ae-decay-steps", "2", "--beam", "2", "--device", "cpu"]
    corpora = ["--src-corpus", str(tmp_path / "is.txt"), "--tgt-corpus", str(tmp_path / "fo.txt")]
    assert main(["-q", "mt", "run", "--pair", "is-fo", *corpora, "--out", str(tmp_path / "run"), *tiny]) == 0
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "no parallel test set" in report and "No BLEU can be given" in report
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["beam"] is None and results["directions"]["is-fo"]["roundtrip_bleu"] is not None
    assert not list((tmp_path / "run").glob("eval-test-*"))
    capsys.readouterr()
    shutil.copytree(tmp_path / "run" / "emb", tmp_path / "scored" / "emb")  # the same vectors: reused, not retrained
    with_test = ["--test-src", str(test[0]), "--test-tgt", str(test[1])]
    assert main(["-q", "mt", "run", "--pair", "is-fo", *corpora, *with_test, "--out", str(tmp_path / "scored"),
                 *tiny]) == 0
    results = json.loads((tmp_path / "scored" / "results.json").read_text())
    # every stage timed: the vectors by their own record (trained by the first run), the rest here
    pipeline = results["pipeline"]
    vectors = json.loads((tmp_path / "run" / "emb" / "is" / "meta.json").read_text())["seconds_total"]
    assert pipeline["stage_hours"]["vectors_is"] == round(vectors / 3600, 3)
    assert pipeline["hours"] == pytest.approx(sum(pipeline["stage_hours"].values()) + pipeline["train_hours"], abs=4e-3)
    assert pipeline["hours"] >= pipeline["train_hours"] >= 0  # hours to 3 decimals: a tiny run's may read 0.0
    assert json.loads((tmp_path / "scored" / "stages.json").read_text())["prepare"] > 0
    assert "Whole pipeline: " in (tmp_path / "scored" / "report.md").read_text(encoding="utf-8")
    scored = results["directions"]["fo-is"]
    assert results["beam"] == 2 and 0 <= scored["bleu_greedy"] <= 100 and "word_by_word" in scored
    assert str(test[0]) in results["test_set"] and "fo->is" in capsys.readouterr().out
    # the pair's options go together, and are refused before a folder is made
    assert main(["-q", "mt", "run", "--pair", "is-fo", "--src-corpus", str(tmp_path / "is.txt"),
                 "--out", str(tmp_path / "half")]) == 2
    assert "--src-corpus and --tgt-corpus go together" in capsys.readouterr().err
    assert not (tmp_path / "half").exists()
