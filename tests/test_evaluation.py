import numpy as np
import pytest

from umt.embeddings import Embeddings
from umt.embeddings.dictionaries import load_dictionary
from umt.errors import UmtError
from umt.evaluation import mean_csls_cosine, precision_at_k, read_dictionary
from umt.evaluation.api import evaluate_mapping


@pytest.fixture
def hand_made(tmp_path):
    """Four source words; targets placed so that the answers are known by construction."""
    e = np.eye(6, dtype=np.float32)
    src = Embeddings(["cat", "dog", "sun", "car"], e[[0, 1, 2, 3]], source="src")
    tgt = Embeddings(["chat", "chien", "soleil", "lune", "voiture", "x"],
                     np.stack([e[0], e[1] * 0.6 + e[2] * 0.8, e[2], e[4], e[3] * 0.7 + e[5] * 0.71, e[5]]),
                     source="tgt")
    d = tmp_path / "gold.txt"
    d.write_text("cat chat\ndog chien\nsun lune\nsun soleil\ncar voiture\nmoon lune\nbike velo\n")
    return src, tgt, d


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_precision_known_answer(hand_made):
    src, tgt, d = hand_made
    gold = load_dictionary(d, src, tgt)
    m = precision_at_k(unit(src.vectors), unit(tgt.vectors), gold, methods=("nn",))
    # cat->chat (hit), dog->chien (its only non-zero target: hit), sun->soleil (a gold target: hit),
    # car->voiture (hit): 4 of 4 covered queries; moon and bike are out of vocabulary.
    assert m["n_queries"] == 4 and m["n_test_sources"] == 6
    assert m["coverage"] == pytest.approx(4 / 6, abs=1e-4)
    assert m["nn_p1"] == 100.0 and m["nn_p1_all"] == pytest.approx(400 / 6, abs=0.01)


def test_precision_counts_misses(hand_made, tmp_path):
    src, tgt, _ = hand_made
    d = tmp_path / "wrong.txt"
    d.write_text("cat chien\ndog chat\nsun soleil\n")
    m = precision_at_k(unit(src.vectors), unit(tgt.vectors), load_dictionary(d, src, tgt), methods=("nn",))
    assert m["nn_p1"] == pytest.approx(100 / 3, abs=0.01)  # only sun->soleil is right at 1
    assert m["nn_p10"] == 100.0  # all six targets are within the top 10


def test_dictionary_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\nc d e\n")
    with pytest.raises(UmtError, match=r"bad.txt:2: expected 'source target'"):
        read_dictionary(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(UmtError, match="empty"):
        read_dictionary(empty)


def test_a_dictionary_that_covers_no_pair_is_an_error_that_spots_a_reversed_one(hand_made, tmp_path):
    src, tgt, _ = hand_made
    reversed_gold = tmp_path / "fr-en.txt"
    reversed_gold.write_text("chat cat\nchien dog\nvelo bike\n")
    with pytest.raises(UmtError, match=r"fr-en.txt: none of its 3 pairs has its source word in src and its target "
                                       r"word in tgt; 2 would be read the other way round: is it the tgt -> src"):
        load_dictionary(reversed_gold, src, tgt)
    other = tmp_path / "de-en.txt"
    other.write_text("katze cat\n")
    with pytest.raises(UmtError, match=r"de-en.txt: none of its 1 pairs .* in tgt$"):
        load_dictionary(other, src, tgt)
    one = tmp_path / "one.txt"
    one.write_text("katze cat\ncat chat\n")  # one covered pair is enough
    assert load_dictionary(one, src, tgt).n_sources_covered == 1


def test_criterion_ranks_good_mapping_above_bad(toy_pair, tmp_path):
    src, tgt, w = toy_pair
    x, y = unit(src.vectors), unit(tgt.vectors)
    good = mean_csls_cosine(unit(x @ w.T), y)
    bad = mean_csls_cosine(x, y)
    assert good > 0.9 and bad < 0.5
    d = tmp_path / "id.txt"
    d.write_text("".join(f"s{i} t{i}\n" for i in range(0, 400, 3)))
    m = evaluate_mapping(src, tgt, d, w, normalize="none")
    assert m["csls_p1"] == 100.0 and m["criterion"] == pytest.approx(good, abs=1e-3)


def test_failure_rule_passes_a_good_mapping_and_flags_random_ones(toy_pair):
    from synthetic import random_orthogonal

    from umt.alignment.criterion import (
        AGREEMENT_FAILED_BELOW,
        alignment_verdict,
        random_rotation_criterion,
        translation_agreement,
    )

    src, tgt, w = toy_pair
    rng = np.random.default_rng(5)
    x, y = src.vectors, tgt.vectors
    # a second good run: the same map up to a small perturbation
    w2, _ = np.linalg.qr(w + 0.01 * rng.standard_normal(w.shape))
    w2 *= np.sign(np.sum(w2 * w, axis=0))
    good = translation_agreement(x, y, w, w2)
    r1, r2 = random_orthogonal(x.shape[1], rng), random_orthogonal(x.shape[1], rng)
    bad = translation_agreement(x, y, r1, r2)
    assert good > 0.95 and bad < 0.05
    assert alignment_verdict(good) == "ok" and alignment_verdict(bad) == "failed"
    assert alignment_verdict(None) == "unchecked"
    assert 0 < AGREEMENT_FAILED_BELOW < 1
    # a random rotation's criterion is well below the true map's
    assert random_rotation_criterion(x, y) < mean_csls_cosine(x @ w.T, y) - 0.3


def test_precision_interval_is_wilsons_and_narrows_with_more_queries():
    from umt.evaluation import precision_interval

    def wilson(h, n, z=1.959963984540054):  # the formula of umt.evaluation.significance, written out
        p = h / n
        centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return 100 * (centre - half) / (1 + z * z / n), 100 * (centre + half) / (1 + z * z / n)

    for hits, n in [(22, 100), (220, 1000), (0, 50), (50, 50), (1, 3)]:
        lo, hi = precision_interval(hits, n)
        assert (lo, hi) == pytest.approx(wilson(hits, n), abs=0.006)
        assert 0 <= lo <= 100 * hits / n <= hi <= 100
    assert precision_interval(0, 50)[0] == 0 and precision_interval(0, 50)[1] > 5  # a collapse is not "exactly 0"
    small, large = precision_interval(22, 100), precision_interval(220, 1000)
    assert large[1] - large[0] < (small[1] - small[0]) / 3 + 0.5  # ~1/sqrt(10) as wide
    assert precision_interval(0, 0) == (0.0, 100.0)
    with pytest.raises(UmtError, match="5 hits among 3"):
        precision_interval(5, 3)


def test_paired_difference_is_mcnemars_exact_test():
    from math import comb

    from umt.evaluation import paired_difference

    a = np.array([1] * 40 + [0] * 50 + [1] * 10, dtype=bool)  # 10 right under a only
    b = np.array([1] * 40 + [0] * 50 + [0] * 8 + [1] * 2, dtype=bool)  # ... of which b gets 2
    d = paired_difference(a, b)
    assert (d.n, d.only_a, d.only_b) == (100, 8, 0)
    assert (d.precision_a, d.precision_b) == (50.0, 42.0)
    assert d.p_value == pytest.approx(2 * 0.5 ** 8, abs=1e-4)  # all 8 discordant queries on one side
    d2 = paired_difference(np.r_[a, [1, 0, 1, 0]].astype(bool), np.r_[b, [0, 1, 0, 1]].astype(bool))
    assert (d2.only_a, d2.only_b) == (10, 2)
    assert d2.p_value == pytest.approx(2 * sum(comb(12, k) for k in range(3)) / 2 ** 12, abs=1e-4)
    assert paired_difference(b, a).p_value == d.p_value  # symmetric
    assert paired_difference(a, a).p_value == 1.0
    with pytest.raises(UmtError, match="same queries"):
        paired_difference(a, b[:-1])


def test_evaluation_writes_each_test_word_and_its_interval(hand_made, tmp_path):
    from umt.evaluation import read_query_ranks

    src, tgt, _ = hand_made
    d = tmp_path / "wrong.txt"
    d.write_text("cat chien\ndog chat\nsun soleil\nsun lune\n")
    out = tmp_path / "evaluation.tsv"
    m = evaluate_mapping(src, tgt, d, normalize="none", per_query_tsv=out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "source\tgold\trank\tpredictions" and len(lines) == 4
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows["sun"][1] == "lune soleil" and rows["sun"][2] == "1" and rows["sun"][3].split()[0] == "soleil"
    ranks = read_query_ranks(out)
    assert ranks["sun"] == 1 and ranks["cat"] > 1 and ranks["dog"] > 1  # cat's best target is chat, not chien
    assert rows["cat"][3].split().index("chien") + 1 == ranks["cat"]
    assert m["csls_p1"] == pytest.approx(100 * sum(r == 1 for r in ranks.values()) / 3, abs=0.01)
    lo, hi = m["csls_p1_ci95"]
    assert lo < m["csls_p1"] < hi and set(m) >= {f"{meth}_p{k}_ci95" for meth in ("nn", "csls") for k in (1, 5, 10)}
    (tmp_path / "other.tsv").write_text("word\trank\n")
    with pytest.raises(UmtError, match="other.tsv: not a per-query evaluation file"):
        read_query_ranks(tmp_path / "other.tsv")
    out.write_text(lines[0] + "\ncat\tchien\tx\tchat\n", encoding="utf-8")
    with pytest.raises(UmtError, match="evaluation.tsv:2: expected"):
        read_query_ranks(out)


def test_compare_query_files_uses_the_shared_words_at_k(tmp_path):
    from umt.evaluation import compare_query_files

    head = "source\tgold\trank\tpredictions\n"
    (tmp_path / "a.tsv").write_text(head + "x\tX\t1\tX\ny\tY\t3\tp q Y\nz\tZ\t\tp\nonly_a\tO\t1\tO\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text(head + "x\tX\t2\tq X\ny\tY\t1\tY\nz\tZ\t1\tZ\nonly_b\tO\t\tq\n", encoding="utf-8")
    at1, unshared = compare_query_files(tmp_path / "a.tsv", tmp_path / "b.tsv")
    assert unshared == 2 and (at1.n, at1.only_a, at1.only_b) == (3, 1, 2)  # x | y, z
    at5, _ = compare_query_files(tmp_path / "a.tsv", tmp_path / "b.tsv", k=5)
    assert (at5.only_a, at5.only_b, at5.precision_a) == (0, 1, pytest.approx(200 / 3, abs=0.01))  # z only under b
    with pytest.raises(UmtError, match="k 0: expected"):
        compare_query_files(tmp_path / "a.tsv", tmp_path / "b.tsv", k=0)


def test_precision_without_identical_pairs_leaves_out_words_translated_by_their_spelling(tmp_path):
    e = np.eye(4, dtype=np.float32)
    src = Embeddings(["paris", "cat", "dog"], e[[0, 1, 2]], source="src")
    tgt = Embeddings(["paris", "chat", "chien"], np.stack([e[0], e[1] * 0.8 + e[2] * 0.6, e[3]]), source="tgt")
    d = tmp_path / "gold.txt"
    d.write_text("paris paris\ncat chat\ndog chien\n")
    m = evaluate_mapping(src, tgt, d, normalize="none", methods=("nn",))
    assert m["nn_p1"] == pytest.approx(66.67)  # paris and cat right, dog taken for chat
    assert m["n_identical"] == 1 and m["nn_p1_no_identical"] == 50.0
    lo, hi = m["nn_p1_no_identical_ci95"]
    assert lo < 50.0 < hi
    d.write_text("cat chat\ndog chien\n")
    m = evaluate_mapping(src, tgt, d, normalize="none", methods=("nn",))
    assert m["n_identical"] == 0 and m["nn_p1_no_identical"] == m["nn_p1"] == 50.0
