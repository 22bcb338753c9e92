"""Training monolingual word vectors with fastText skip-gram on a tokenized corpus."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from umt.corpora.text import tokenize_corpus
from umt.embeddings.io import save_embeddings
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import make_folder, require_file
from umt.ranges import NON_NEGATIVE, OPTIONAL_POSITIVE, POSITIVE, CheckedConfig, ConfigError, ranged

log = logging.getLogger("umt")

NAN_RETRIES = 2  # fastText runs after a divergence to NaN, each at half the previous learning rate
FASTTEXT_INIT_BLOCKS = 10  # fastText draws its initial input matrix in this many blocks, one per thread


@dataclass
class EmbedTrainConfig(CheckedConfig):
    """fastText settings. Defaults: skip-gram, 300-d, 5 epochs, min count 5 (fastText's own)."""

    dim: int = ranged(300, POSITIVE)
    epoch: int = ranged(5, POSITIVE)
    min_count: int = ranged(5, POSITIVE)
    window: int = ranged(5, POSITIVE)
    neg: int = ranged(5, POSITIVE)
    minn: int = ranged(3, NON_NEGATIVE)
    maxn: int = ranged(6, NON_NEGATIVE)  # 0: no character n-grams
    lr: float = ranged(0.05, low=0.0, low_open=True)
    threads: int = ranged(0, NON_NEGATIVE)  # 0 = every core
    max_lines: int | None = ranged(None, OPTIONAL_POSITIVE)  # only the first lines of the corpus (quick runs, tests)
    max_vocab: int | None = ranged(None, OPTIONAL_POSITIVE)  # keep only the most frequent words in the output
    keep_punct: bool = False  # punctuation tokens only crowd the context window of words
    bucket: int = ranged(2_000_000, NON_NEGATIVE)

    def check_together(self, changed: str | None = None) -> None:
        if not (self.maxn and self.minn > self.maxn):  # else fastText would silently train without n-grams
            return
        if changed == "maxn":
            raise ConfigError(f"EmbedTrainConfig.maxn = {self.maxn}: expected at least minn ({self.minn}), or 0 for "
                              "no character n-grams", "maxn", self.maxn,
                              f"expected at least --minn ({self.minn}), or 0 for no character n-grams")
        raise ConfigError(f"EmbedTrainConfig.minn = {self.minn}: expected at most maxn ({self.maxn}), or maxn 0 "
                          "for no character n-grams", "minn", self.minn,
                          f"expected at most --maxn ({self.maxn}), or --maxn 0 for no character n-grams")


def train_embeddings(corpus: str | os.PathLike, out: str | os.PathLike, cfg: EmbedTrainConfig,
                     progress: bool = True) -> Embeddings:
    """Tokenize ``corpus`` and train fastText skip-gram vectors; write them to ``out`` (native).

    The vocabulary is in fastText's frequency order. With ``threads > 1`` fastText's Hogwild
    updates make the vectors vary slightly from run to run; ``threads=1`` is deterministic
    (fastText's Python binding exposes no seed, it always uses its fixed internal one).
    """
    import fasttext

    corpus = require_file(corpus, "corpus")
    out = make_folder(out)
    tokens_path = out / "corpus.tok.txt"
    t0 = time.time()
    stats = tokenize_corpus(corpus, tokens_path, cfg.max_lines, progress, words_only=not cfg.keep_punct)
    t_tok = time.time() - t0
    threads = cfg.threads or os.cpu_count() or 1
    lr = cfg.lr
    init_path = out / "init.vec"
    try:
        initialised = write_initial_vectors(tokens_path, init_path, cfg, threads)
        for attempt in range(NAN_RETRIES + 1):
            try:
                model = fasttext.train_unsupervised(
                    str(tokens_path), model="skipgram", dim=cfg.dim, epoch=cfg.epoch, minCount=cfg.min_count,
                    ws=cfg.window, neg=cfg.neg, minn=cfg.minn, maxn=cfg.maxn, lr=lr, thread=threads,
                    bucket=cfg.bucket, verbose=2 if progress else 0,
                    **({"pretrainedVectors": str(init_path)} if initialised else {}),
                )
                break
            except ValueError as e:  # fastText's words for a vocabulary that min_count empties
                if "Empty vocabulary" not in str(e):
                    raise
                raise UmtError(f"{corpus}: no word occurs at least min_count={cfg.min_count} times in its "
                               f"{stats['tokens']} tokens; give a larger corpus or a smaller --min-count") from None
            except RuntimeError as e:
                if "NaN" not in str(e):
                    raise
                if attempt == NAN_RETRIES:
                    raise UmtError(f"{corpus}: fastText training diverged to NaN {attempt + 1} times (dim={cfg.dim}, "
                                   f"lr={cfg.lr} down to {lr}, n-grams {cfg.minn}-{cfg.maxn}); lower the learning "
                                   "rate") from None
                # a smaller step almost always gets through, which beats failing an hour-long recipe
                log.warning("%s: fastText training diverged to NaN at lr=%g; retrying at lr=%g", corpus, lr, lr / 2)
                lr /= 2
    finally:
        tokens_path.unlink(missing_ok=True)
        init_path.unlink(missing_ok=True)
    words, counts = model.get_words(include_freq=True, on_unicode_error="replace")
    keep = [i for i, w in enumerate(words) if w != "</s>"]  # fastText's end-of-line token
    # fastText counts every word of the initial vectors once more, as if it were in the corpus
    words, counts = [words[i] for i in keep], [counts[i] - initialised for i in keep]
    if not words:
        raise UmtError(f"{corpus}: no word reaches min_count={cfg.min_count}")
    if cfg.max_vocab:
        words, counts = words[: cfg.max_vocab], counts[: cfg.max_vocab]
    vectors = np.stack([model.get_word_vector(w) for w in words]).astype(np.float32)
    emb = Embeddings(list(words), vectors, np.asarray(counts, dtype=np.int64), str(out))
    seconds = time.time() - t0
    save_embeddings(emb, out, meta={
        "corpus": str(corpus), "config": asdict(cfg), "threads": threads, "lr_used": lr,
        "initial_vectors": "umt" if initialised else "fasttext", **stats,
        "seconds_tokenize": round(t_tok, 1), "seconds_total": round(seconds, 1),
    })
    log.info("%s: %d words x %d dims from %d tokens in %.0f s", out, len(emb), emb.dim,
             stats["tokens"], seconds)
    return emb


def write_initial_vectors(tokens_path: Path, init_path: Path, cfg: EmbedTrainConfig, threads: int,
                          seed: int = 0) -> bool:
    r"""Write an initial vector for every word fastText will learn, when fastText would leave some
    of them unset; return whether it did.

    fastText draws its initial input matrix (words first, then the n-gram buckets) from
    :math:`U(-1/d, 1/d)` in ten blocks of rows, one block per training thread, so with
    :math:`t < 10` threads only the first :math:`t/10` of the rows are drawn. The others keep what
    the memory held: zeros from fresh pages, or a freed buffer's bytes when the allocation reuses
    the heap (small matrices), which makes runs of the same seed differ and can diverge to NaN.
    Without character n-grams the matrix is the vocabulary alone, so 90% of the words (60% on
    four threads) start from that memory. fastText reads a vector for each word from
    ``pretrainedVectors``; this writes one per word it will keep (every whitespace-separated token
    of the corpus and the end-of-line token ``</s>`` seen at least ``min_count`` times), drawn
    from the same distribution with ``seed``. Nothing is written when every word row is drawn by
    fastText itself (n-gram buckets make the matrix large enough), so those recipes are unchanged;
    their unset bucket rows are fresh zero pages.
    """
    buckets = cfg.bucket if cfg.maxn > 0 else 0  # fastText drops the buckets when there are no n-grams
    counts: Counter[bytes] = Counter()
    with open(tokens_path, "rb") as f:
        for line in f:
            counts.update(line.split())
            counts[b"</s>"] += 1
    words = [w for w, c in counts.items() if c >= cfg.min_count]
    rows = len(words) + buckets
    drawn_rows = (rows * cfg.dim // FASTTEXT_INIT_BLOCKS) * min(threads, FASTTEXT_INIT_BLOCKS) // cfg.dim
    if drawn_rows >= len(words):
        return False
    bound = 1.0 / cfg.dim
    vectors = np.random.default_rng(seed).uniform(-bound, bound, (len(words), cfg.dim)).astype(np.float32)
    with open(init_path, "wb") as f:
        f.write(f"{len(words)} {cfg.dim}\n".encode())
        for word, row in zip(words, vectors.tolist()):  # 9 significant digits give each float32 back exactly
            f.write(word + b" " + " ".join(f"{v:.9g}" for v in row).encode() + b"\n")
    return True
