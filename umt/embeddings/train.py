"""Training monolingual word vectors with fastText skip-gram on a tokenized corpus."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from umt.corpora.text import tokenize_corpus
from umt.embeddings.io import save_embeddings
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.fileio import make_folder, require_file
from umt.ranges import NON_NEGATIVE, OPTIONAL_POSITIVE, POSITIVE, CheckedConfig, ConfigError, ranged

log = logging.getLogger("umt")

NAN_RETRIES = 2  # fastText runs after a divergence to NaN, each at half the previous learning rate


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
    try:
        for attempt in range(NAN_RETRIES + 1):
            try:
                model = fasttext.train_unsupervised(
                    str(tokens_path), model="skipgram", dim=cfg.dim, epoch=cfg.epoch, minCount=cfg.min_count,
                    ws=cfg.window, neg=cfg.neg, minn=cfg.minn, maxn=cfg.maxn, lr=lr, thread=threads,
                    bucket=cfg.bucket, verbose=2 if progress else 0,
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
                                   f"lr={cfg.lr} down to {lr}, n-grams {cfg.minn}-{cfg.maxn}); word-only vectors "
                                   "are prone to it, keep character n-grams or lower the learning rate") from None
                # fastText diverges now and then on small or repetitive corpora even on one thread; a
                # smaller step almost always gets through, which beats failing an hour-long recipe
                log.warning("%s: fastText training diverged to NaN at lr=%g; retrying at lr=%g", corpus, lr, lr / 2)
                lr /= 2
    finally:
        tokens_path.unlink(missing_ok=True)
    words, counts = model.get_words(include_freq=True, on_unicode_error="replace")
    keep = [i for i, w in enumerate(words) if w != "</s>"]  # fastText's end-of-line token
    words, counts = [words[i] for i in keep], [counts[i] for i in keep]
    if not words:
        raise UmtError(f"{corpus}: no word reaches min_count={cfg.min_count}")
    if cfg.max_vocab:
        words, counts = words[: cfg.max_vocab], counts[: cfg.max_vocab]
    vectors = np.stack([model.get_word_vector(w) for w in words]).astype(np.float32)
    emb = Embeddings(list(words), vectors, np.asarray(counts, dtype=np.int64), str(out))
    seconds = time.time() - t0
    save_embeddings(emb, out, meta={
        "corpus": str(corpus), "config": asdict(cfg), "threads": threads, "lr_used": lr, **stats,
        "seconds_tokenize": round(t_tok, 1), "seconds_total": round(seconds, 1),
    })
    log.info("%s: %d words x %d dims from %d tokens in %.0f s", out, len(emb), emb.dim,
             stats["tokens"], seconds)
    return emb
