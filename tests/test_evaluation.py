import numpy as np
import pytest

from umt.embeddings import Embeddings
from umt.errors import UmtError
from umt.evaluation import mean_csls_cosine, precision_at_k, read_dictionary
from umt.evaluation.api import evaluate_mapping
from umt.evaluation.dictionaries import load_dictionary


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

    from umt.evaluation.criterion import (
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
