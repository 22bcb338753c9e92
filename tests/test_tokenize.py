from umt.corpora import tokenize, tokenize_corpus


def test_lowercases_and_splits_punctuation():
    assert tokenize("Hello, World!") == ["hello", ",", "world", "!"]


def test_french_elisions_stay_with_their_prefix():
    assert tokenize("L'homme qu'il aime") == ["l'", "homme", "qu'", "il", "aime"]
    assert tokenize("l\u2019eau") == ["l'", "eau"]


def test_english_clitics_start_a_token():
    assert tokenize("The man's dog don't") == ["the", "man", "'s", "dog", "don", "'t"]


def test_words_are_kept_intact_across_languages():
    assert tokenize("Straße Mädchen éléphant") == ["straße", "mädchen", "éléphant"]
    assert tokenize("drawing-room 1840") == ["drawing", "-", "room", "1840"]


def test_tokenize_corpus_counts_and_words_only(tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("Hello, world!\n\nA second line.\n", encoding="utf-8")
    stats = tokenize_corpus(src, tmp_path / "t.txt", progress=False, words_only=True)
    assert stats == {"lines": 2, "tokens": 5}
    assert (tmp_path / "t.txt").read_text().splitlines() == ["hello world", "a second line"]


def test_a_language_without_rules_still_tokenises_into_words():
    # combining vowel signs stay in their word (a plain \w regex splits Devanagari words apart)
    assert tokenize("नमस्ते दुनिया, यह एक परीक्षण है।") == ["नमस्ते", "दुनिया", ",", "यह", "एक", "परीक्षण", "है", "।"]
    assert tokenize("Привет, мир! Ελληνικά κείμενα.") == ["привет", ",", "мир", "!", "ελληνικά", "κείμενα", "."]
    assert tokenize("مرحبا بالعالم 2026") == ["مرحبا", "بالعالم", "2026"]
    assert tokenize("Þetta er prófun.") == ["þetta", "er", "prófun", "."]
    # scripts written without spaces: one token a character rather than a whole sentence
    assert tokenize("我爱北京。東京に行く") == ["我", "爱", "北", "京", "。", "東", "京", "に", "行", "く"]

