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


# ----- two corpora of one hidden language, spelt in two alphabets (for `umt run` on any pair) -----

ALPHABETS = {"is": "aábdðeéfghiíjklmnoóprstuúvxyýþæö", "fo": "aábdðefghiíjklmnoóprstuúvyýæø"}


def hidden_language_corpora(folder, langs=("is", "fo"), concepts=300, sentences=12000, follow=0.85, seed=0):
    """One Markov chain over ``concepts`` hidden words, sampled independently for each language
    and spelt with that language's own random word forms: the two corpora share no sentence and
    no word, only the distribution, so distribution matching must find the translation. Writes
    ``LANG.txt`` for each language and returns ``{lang: word forms}`` (concept ``i`` is spelt
    ``forms[lang][i]``)."""
    rng = np.random.default_rng(seed)
    # each concept has its own number of likely successors, some likelier than others: words
    # differ in how their contexts spread, the shape distribution matching reads
    successors = np.stack([rng.choice(concepts, size=12, replace=False) for _ in range(concepts)])
    spread = rng.integers(2, 13, size=concepts)
    weights = 1.0 / np.arange(1, concepts + 1)
    weights /= weights.sum()
    forms = {}
    for k, lang in enumerate(langs):
        letters, words = ALPHABETS.get(lang, "abcdefghijklmnoprstuvyz"), set()
        spell = np.random.default_rng(seed + 100 + k)
        while len(words) < concepts:
            words.add("".join(spell.choice(list(letters), size=int(spell.integers(4, 9)))))
        forms[lang] = sorted(words)
        sample = np.random.default_rng(seed + 200 + k)
        lengths = sample.integers(6, 14, size=sentences)
        total = int(lengths.sum())
        restart, branch, coin = sample.choice(concepts, size=total, p=weights), sample.random(total), sample.random(
            total)
        lines, word, t = [], 0, 0
        for length in lengths.tolist():
            sentence = []
            for _ in range(length):
                if sentence and coin[t] < follow:  # the j-th of a word's successors with probability ~ 1/(j+1)
                    word = int(successors[word, int(spread[word] ** branch[t]) - 1])
                else:
                    word = int(restart[t])
                sentence.append(forms[lang][word])
                t += 1
            lines.append(" ".join(sentence).capitalize() + ".")
        (folder / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return forms
