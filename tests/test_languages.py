"""Any ISO 639 language works: codes, tokens of the translation model, clear limits of Multi30k."""

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
