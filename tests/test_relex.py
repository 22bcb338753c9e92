"""A lexicon re-induced from a model's translations (IBM Model 1 on machine-made pairs)."""

import json

import numpy as np

from umt.cli import main
from umt.translation.relex import NULL, TranslationTable, ibm1, relexicon
from umt.translation.wordbyword import WordByWord


def _word(prefix: str, k: int) -> str:
    """``prefix`` and two letters for ``k`` (the tokenizer splits letters from digits)."""
    return prefix + "abcdefghijklmnopqrstuvwxyz"[k % 26] + "abcdefghijklmnopqrstuvwxyz"[k // 26]


def _pairs(n=400, vocab=30, seed=0):
    """Sentences of source words ``s..`` whose translation writes ``t..`` for each, shuffled, plus a
    target word ``the`` that translates nothing (NULL's job)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        words = rng.choice(vocab, size=int(rng.integers(3, 8)), replace=False)
        target = [_word("t", k) for k in rng.permutation(words)] + ["the"]
        pairs.append(([_word("s", k) for k in words], target))
    return pairs


def test_ibm1_recovers_the_word_translations_of_shuffled_sentence_pairs():
    t = ibm1(_pairs(), iterations=8)
    assert t.source_words[0] == NULL
    best = t.best_target()
    for e, word in enumerate(t.source_words[1:], 1):
        assert t.target_words[best[e]] == "t" + word[1:]  # s.. -> t..
    # each source word's t(.|e) is a distribution
    np.testing.assert_allclose(np.bincount(t.source, weights=t.prob), 1.0)


def test_best_target_breaks_ties_by_the_lowest_id_and_marks_words_without_pairs():
    t = TranslationTable(["<null>", "a", "b", "c"], ["x", "y", "z"], source=np.array([1, 1, 1, 2, 2]),
                         target=np.array([2, 0, 1, 2, 1]), prob=np.array([0.2, 0.4, 0.4, 0.3, 0.7]))
    assert t.best_target().tolist() == [-1, 0, 1, -1]


def test_ibm1_on_no_pairs_gives_an_empty_table():
    t = ibm1([])
    assert t.source_words == [NULL] and len(t.prob) == 0 and t.best_target().tolist() == [-1]


def test_relexicon_corrects_seen_words_and_keeps_the_rest():
    pairs = _pairs(n=300)
    sources = [" ".join(s) for s, _ in pairs]
    translations = [" ".join(t) for _, t in pairs]
    first = WordByWord({"sba": "tja", "sca": "tca", "unseen": "gardé", "42": "42"})
    sources.append("sdb once 42")  # "once" appears once: below min_count, never added
    translations.append("tdb onze 42")
    new, summary = relexicon(sources, translations, first, casing={"tba": "Tba"}, min_count=2)
    assert new.table["sba"] == "Tba"  # corrected, in the target text's casing
    assert new.table["sca"] == "tca" and new.table["unseen"] == "gardé" and new.table["42"] == "42"
    assert "once" not in new.table
    assert summary["reinduced"] == 30 and summary["changed"] == 29  # sca was right already
    assert summary["sentence_pairs"] == 301


def test_mt_relex_writes_lexicons_and_a_prepared_copy_for_training(prepared, tmp_path, capsys):
    from umt.translation.data import MTData

    tiny = ["--steps", "4", "--pretrain-steps", "0", "--batch-size", "8", "--dim", "32", "--heads", "2",
            "--layers", "1", "--eval-every", "2", "--wbw-steps", "2", "--ae-decay-steps", "2", "--device", "cpu"]
    assert main(["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *tiny]) == 0
    copy = tmp_path / "relexed-data"
    args = ["-q", "mt", "relex", "--model", str(tmp_path / "run"), "--prepared", str(prepared), "--out",
            str(tmp_path / "relex"), "--sentences", "60", "--prepared-copy", str(copy)]
    assert main(args) == 0
    assert "re-induced entries changed" in capsys.readouterr().out
    report = json.loads((tmp_path / "relex" / "relex.json").read_text())
    best = json.loads((tmp_path / "run" / "history.json").read_text())
    selected = max((r for r in best if r.get("system") is None), key=lambda r: r["roundtrip"])["step"]
    assert report["model_step"] == selected and set(report["directions"]) == {"en-fr", "fr-en"}  # best.pt
    for d in report["directions"].values():
        assert d["sentence_pairs"] == 60 and 0 <= d["test_reinduced"] <= 100 and "val_first" in d
    data = MTData.load(copy)  # the copy trains as any prepared pair, with the new lexicons
    saved = WordByWord.load(tmp_path / "relex" / "lexicon.en-fr.tsv")
    assert data.wbw[("en", "fr")].table == saved.table
    assert json.loads((copy / "prepare.json").read_text())["relexicon"]["model_step"] == selected
    assert main(args) == 2  # the copy exists: refused before any translation
    assert "exists already" in capsys.readouterr().err
