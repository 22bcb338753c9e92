"""``umt embed``: train, convert or inspect word vectors."""

from __future__ import annotations

from pathlib import Path

from umt.errors import UmtError
from umt.rundir import start_run


def cmd_embed_train(a) -> None:
    from umt.config import mono_corpus
    from umt.embeddings.train import EmbedTrainConfig, train_embeddings

    corpus = a.corpus or mono_corpus(a.lang, a.data)
    cfg = EmbedTrainConfig(dim=a.dim, epoch=a.epoch, min_count=a.min_count, window=a.window, minn=a.minn,
                           maxn=a.maxn, threads=a.threads, max_lines=a.max_lines, max_vocab=a.max_vocab)
    start_run(a.out, {"command": "embed train", "lang": a.lang, "corpus": str(corpus), **vars(cfg)})
    emb = train_embeddings(corpus, a.out, cfg, progress=not a.quiet)
    print(f"{a.out}: {len(emb)} words x {emb.dim} dims")


def cmd_embed_convert(a) -> None:
    from umt.embeddings import load_embeddings, normalize, save_embeddings, save_vec

    suffix = Path(a.out).suffix.lower()
    if suffix in (".bin", ".gz", ".npy", ".txt"):  # checked before loading: a folder named out.bin misleads
        raise UmtError(f"--out {a.out}: umt writes vectors as a folder (its own format) or a .vec text file, "
                       f"not as {suffix}")
    emb = load_embeddings(a.input, a.max_vocab)
    if a.normalize:
        emb = emb.with_vectors(normalize(emb.vectors, a.normalize))
    if a.out.endswith(".vec"):
        save_vec(emb, a.out)
    else:
        save_embeddings(emb, a.out, meta={"converted_from": str(a.input), "normalize": a.normalize})
    print(f"{a.out}: {len(emb)} words x {emb.dim} dims")


def cmd_embed_info(a) -> None:
    import numpy as np

    from umt.embeddings import load_embeddings

    emb = load_embeddings(a.input, a.max_vocab)
    norms = np.linalg.norm(emb.vectors, axis=1)
    print(f"{emb.source}: {len(emb)} words x {emb.dim} dims; norms mean {norms.mean():.3f} "
          f"min {norms.min():.3f} max {norms.max():.3f}; first words: {' '.join(emb.words[:10])}")


def add_commands(sub) -> None:
    """Register ``embed train``, ``embed convert`` and ``embed info`` on ``umt``'s sub-command parsers."""
    emb = sub.add_parser("embed", help="train, convert or inspect word vectors")
    esub = emb.add_subparsers(dest="embed_command", metavar="ACTION")
    p = esub.add_parser("train", help="fastText skip-gram vectors from a raw corpus",
                        description="Tokenize a raw corpus (lowercase, words intact) and train fastText "
                        "skip-gram vectors; writes vectors.npy, vocab.txt, meta.json into --out.")
    p.add_argument("--lang", required=True, help="language code (en, fr, de)")
    p.add_argument("--corpus", help="raw text, plain or .gz (default: $UMT_DATA/mono/LANG.txt.gz)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--epoch", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--minn", type=int, default=3, help="shortest character n-gram (umt run's quick vectors: 5)")
    p.add_argument("--maxn", type=int, default=6, help="longest character n-gram (umt run's quick vectors: 5)")
    p.add_argument("--threads", type=int, default=0, help="0 = every core (default)")
    p.add_argument("--max-lines", type=int, default=None, help="read only the first N lines of the corpus")
    p.add_argument("--max-vocab", type=int, default=None, help="keep only the N most frequent words")
    p.add_argument("--data", default=None, help="data root (default: $UMT_DATA)")
    p.set_defaults(func=cmd_embed_train)
    p = esub.add_parser("convert", help="convert vectors to umt's fast format or .vec")
    p.add_argument("input", help=".vec/.txt[.gz], fastText .bin or umt folder")
    p.add_argument("--out", required=True, help="a folder (umt format) or a path ending in .vec")
    p.add_argument("--max-vocab", type=int, default=None)
    p.add_argument("--normalize", default=None, help="e.g. unit,center,unit")
    p.set_defaults(func=cmd_embed_convert)
    p = esub.add_parser("info", help="size, norms and first words of a vector file")
    p.add_argument("input")
    p.add_argument("--max-vocab", type=int, default=None)
    p.set_defaults(func=cmd_embed_info)
