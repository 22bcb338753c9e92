"""Synthetic data shared by the tests."""

import numpy as np


def random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


# ----- a toy language pair for the translation and information tests -----

EN = "a the man woman dog cat red blue small big runs sits walks eats on in near street park grass".split()
FR = "un le homme femme chien chat rouge bleu petit grand court assis marche mange sur dans près rue parc herbe".split()


def toy_sentences(words, n, rng):
    """Sentences of a six-slot toy grammar; EN and FR words at the same index translate each other."""
    out = []
    for _ in range(n):
        w = [words[int(rng.integers(lo, hi))] for lo, hi in ((0, 2), (6, 10), (2, 6), (10, 14), (14, 17), (17, 20))]
        out.append(" ".join(w).capitalize() + ".")
    return out


def write_prepared_pair(folder):
    """A tiny prepared pair (what `umt mt prepare` writes): monolingual halves from the toy grammar,
    parallel test/val sets, exact word-by-word lexicons, a 60-piece sentencepiece model."""
    from umt.fileio import write_json, write_text
    from umt.translation.vocab import train_sentencepiece
    from umt.translation.wordbyword import WordByWord

    rng = np.random.default_rng(0)
    for lang, words in (("en", EN), ("fr", FR)):
        write_text(folder / f"train.{lang}.txt", "\n".join(toy_sentences(words, 300, rng)) + "\n")
        write_text(folder / f"heldout.{lang}.txt", "\n".join(toy_sentences(words, 20, rng)) + "\n")
    test_rng = np.random.default_rng(1)
    en_test = toy_sentences(EN, 30, test_rng)
    table = dict(zip(EN, FR))
    fr_test = [" ".join(table.get(w.lower().strip("."), w) for w in s.split()).capitalize() + "." for s in en_test]
    for split in ("test", "val"):
        write_text(folder / f"{split}.en.txt", "\n".join(en_test) + "\n")
        write_text(folder / f"{split}.fr.txt", "\n".join(fr_test) + "\n")
    WordByWord(table).save(folder / "lexicon.en-fr.tsv")
    WordByWord({f: e for e, f in table.items()}).save(folder / "lexicon.fr-en.tsv")
    train_sentencepiece([folder / "train.en.txt", folder / "train.fr.txt"], folder / "spm", vocab_size=60)
    write_json(folder / "prepare.json", {"pair": "en-fr"})
    return folder
