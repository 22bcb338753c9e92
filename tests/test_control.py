"""The structureless control corpus keeps word counts and sentence lengths, destroys co-occurrence."""

import gzip
from collections import Counter

import numpy as np

from umt.cli import main
from umt.corpora.control import shuffle_tokens


def adjacent_mutual_information(sentences: list[list[str]]) -> float:
    """Mutual information (bits) between a word and the next one, estimated from counts."""
    pairs = Counter((a, b) for s in sentences for a, b in zip(s, s[1:]))
    n = sum(pairs.values())
    left = Counter(a for a, _ in pairs.elements())
    right = Counter(b for _, b in pairs.elements())
    return sum(c / n * np.log2(c * n / (left[a] * right[b])) for (a, b), c in pairs.items())


def markov_text(n: int, rng: np.random.Generator) -> list[list[str]]:
    """Sentences with strong word-to-word structure: each word mostly decides the next."""
    words = [f"w{i}" for i in range(30)]
    out = []
    for _ in range(n):
        w = int(rng.integers(30))
        sent = []
        for _ in range(int(rng.integers(4, 12))):
            sent.append(words[w])
            w = (w + 1) % 30 if rng.random() < 0.9 else int(rng.integers(30))
        out.append(sent)
    return out


def test_control_keeps_unigrams_and_lengths_and_destroys_cooccurrence():
    text = markov_text(3000, np.random.default_rng(0))
    control = shuffle_tokens(text, seed=1)
    assert Counter(t for s in control for t in s) == Counter(t for s in text for t in s)
    assert [len(s) for s in control] == [len(s) for s in text]
    real, shuffled = adjacent_mutual_information(text), adjacent_mutual_information(control)
    assert real > 2.0  # the next word is nearly determined by this one
    assert shuffled < 0.1  # only the small-sample bias of the estimate is left
    assert shuffle_tokens(text, seed=1) == control and shuffle_tokens(text, seed=2) != control


def test_control_corpus_command(tmp_path, capsys):
    src = tmp_path / "raw.txt"
    src.write_text("The cat sat on the mat.\nA dog ran.\n\nThe end!\n", encoding="utf-8")
    out = tmp_path / "control.txt"
    assert main(["-q", "corpus", "control", "--lang", "en", "--corpus", str(src), "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3  # the empty line is dropped
    tokens = Counter(" ".join(lines).split())
    assert tokens["the"] == 3 and tokens["cat"] == 1
    assert main(["-q", "corpus", "control", "--lang", "xx", "--corpus", str(src), "--out", str(out)]) == 2
    assert "xx" in capsys.readouterr().err


def test_control_corpus_named_gz_is_gzipped(tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("Le chat dort.\nUn chien court.\n", encoding="utf-8")
    out = tmp_path / "control.txt.gz"
    assert main(["-q", "corpus", "control", "--lang", "fr", "--corpus", str(src), "--out", str(out)]) == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        words = [w for w in f.read().split() if w.isalpha()]
    assert Counter(words) == Counter("le chat dort un chien court".split())
