"""Integration tests on the real shared data (UMT_DATA): a slice of the corpora, so they stay fast."""

import numpy as np

from umt.alignment import AlignConfig, RefineConfig, align, prepare
from umt.embeddings.dictionaries import index_dictionary
from umt.evaluation import precision_at_k, read_dictionary


def split_by_source(pairs):
    """Even-ranked source words train, odd-ranked ones test: disjoint source words."""
    order = {s: i for i, s in enumerate(dict.fromkeys(s for s, _ in pairs))}
    train = [p for p in pairs if order[p[0]] % 2 == 0]
    test = [p for p in pairs if order[p[0]] % 2 == 1]
    return train, test


def test_supervised_procrustes_on_real_corpora(small_embeddings, data_root, tmp_path):
    src, tgt = small_embeddings["en"], small_embeddings["fr"]
    assert len(src) > 10000 and len(tgt) > 10000
    train, test = split_by_source(read_dictionary(data_root / "dictionaries" / "en-fr.0-5000.txt"))
    train_file = tmp_path / "train.txt"
    train_file.write_text("".join(f"{a} {b}\n" for a, b in train))
    cfg = AlignConfig(method="procrustes", dict=str(train_file), refine=RefineConfig(iterations=1))
    result = align(src, tgt, cfg, progress=False)
    x, y = prepare(src, tgt, result.config.normalize)
    gold = index_dictionary(test, src, tgt)
    metrics = precision_at_k(*result.mapped(x, y), gold)
    identity = precision_at_k(x, y, gold)
    assert gold.coverage > 0.6
    # Measured: CSLS P@1 10.1 (NN 8.1) on this 1.2M-token slice; the full corpora give about 35.
    # Unaligned spaces score about 0 and chance is 1 in 20,000: a broken Procrustes, retrieval or
    # evaluation cannot pass 6.
    assert metrics["csls_p1"] > 6, metrics
    assert metrics["csls_p1"] >= metrics["nn_p1"] - 2
    assert identity["csls_p1"] < 2
    assert np.allclose(result.orthogonal @ result.orthogonal.T, np.eye(src.dim), atol=1e-4)



def test_unsupervised_alignment_on_real_corpora(small_embeddings):
    """Two English spaces trained on disjoint halves of the corpus, one randomly rotated.

    1.2M-token slices are too small for en-fr without a dictionary (measured: P@1 about 1; the
    full corpora give about 30), but two independently trained spaces of one language must be
    aligned by the default method. Nothing but the vectors is given to it; the true pairing
    (identical words) only scores the finished map.
    """
    from synthetic import random_orthogonal

    from umt.alignment.presets import DEFAULT_PRESET, preset
    from umt.alignment.similarity_init import SelfLearnConfig

    src, other = small_embeddings["en"], small_embeddings["en_b"]
    tgt = other.with_vectors(other.vectors @ random_orthogonal(other.dim, np.random.default_rng(5)).T)
    cfg = preset(DEFAULT_PRESET)
    cfg.selflearn = SelfLearnConfig(cutoff=3000, interval=10)  # a CI-sized run of the default method
    result = align(src, tgt, cfg, progress=False)
    assert result.verdict == "ok" and result.chosen.startswith("average(")  # the two seeds agreed
    x, y = prepare(src, tgt, cfg.normalize)
    words = [w for w in src.words[:5000] if w in tgt.index and w.isalpha()][1000:3000]
    gold = index_dictionary([(w, w) for w in words], src, tgt)
    metrics = precision_at_k(*result.mapped(x, y), gold)
    before = precision_at_k(x, y, gold)
    # Measured: CSLS P@1 52.8 after alignment (the same with cutoff 5000 and interval 20), 0.0
    # before. A map that failed scores about 0.
    assert before["csls_p1"] < 2
    assert metrics["csls_p1"] > 40, metrics
