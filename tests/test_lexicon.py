import numpy as np
import pytest

from umt.embeddings import Embeddings
from umt.errors import UmtError
from umt.retrieval.dense import mutual_best, transposed
from umt.retrieval.lexicon import induce_lexicon, write_lexicon_tsv


def brute_best(src, tgt):
    return (src @ tgt.T).argmax(axis=1)


@pytest.fixture
def mapped(rng):
    s = rng.standard_normal((60, 8))
    t = s[rng.permutation(60)] + 0.8 * rng.standard_normal((60, 8))  # noisy: directions disagree
    unit = lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    return unit(s), unit(t)


def test_builds_agree_with_brute_force(mapped):
    s, t = mapped
    fwd = {(i, j) for i, j in enumerate(brute_best(s, t))}
    bwd = {(i, j) for j, i in enumerate(brute_best(t, s))}
    got = {b: set(map(tuple, induce_lexicon(s, t, "nn", b, max_rank=60).pairs().tolist()))
           for b in ("S2T", "T2S", "union", "intersection")}
    assert got["S2T"] == fwd and got["T2S"] == bwd
    assert got["union"] == fwd | bwd and got["intersection"] == fwd & bwd
    assert fwd != bwd  # the case really distinguishes the builds


def test_max_rank_and_sorting(mapped):
    s, t = mapped
    lex = induce_lexicon(s, t, "csls", "S2T", max_rank=20)
    assert len(lex) == 20 and lex.src_ids.max() < 20 and lex.tgt_ids.max() < 20
    assert (np.diff(lex.scores) <= 1e-6).all()


def test_tsv_export_and_bad_build(tmp_path, mapped):
    s, t = mapped
    lex = induce_lexicon(s, t, "nn", "intersection", 60)
    src = Embeddings([f"s{i}" for i in range(60)], s)
    tgt = Embeddings([f"t{i}" for i in range(60)], t)
    write_lexicon_tsv(lex, src, tgt, tmp_path / "lex.tsv")
    lines = (tmp_path / "lex.tsv").read_text().splitlines()
    assert lines[0] == "source\ttarget\tscore" and len(lines) == len(lex) + 1
    w, v, score = lines[1].split("\t")
    assert w == f"s{lex.src_ids[0]}" and v == f"t{lex.tgt_ids[0]}"
    assert float(score) == pytest.approx(lex.scores[0], abs=1e-4)
    with pytest.raises(UmtError, match="unknown dictionary build"):
        induce_lexicon(s, t, "nn", "both")


def brute_csls(s, t, k):
    sim = s.astype(np.float64) @ t.T.astype(np.float64)
    r_s = -np.sort(-sim, axis=1)[:, :k].mean(axis=1)
    r_t = -np.sort(-sim, axis=0)[:k].mean(axis=0)
    return 2 * sim - r_s[:, None] - r_t[None, :]


@pytest.mark.parametrize("block", [7, 64, 1000])
@pytest.mark.parametrize("method", ["csls", "nn"])
def test_mutual_best_agrees_with_brute_force_across_blocks(rng, method, block):
    s = rng.standard_normal((150, 12)).astype(np.float32)
    t = rng.standard_normal((90, 12)).astype(np.float32)  # fewer targets than sources, uneven last block
    scores = brute_csls(s, t, 10) if method == "csls" else s.astype(np.float64) @ t.T
    fwd_ids, fwd_scores, bwd_ids, bwd_scores = mutual_best(s, t, method, k=10, block=block)
    np.testing.assert_array_equal(fwd_ids, scores.argmax(axis=1))
    np.testing.assert_array_equal(bwd_ids, scores.argmax(axis=0))
    np.testing.assert_allclose(fwd_scores, scores.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(bwd_scores, scores.max(axis=0), atol=1e-5)


def test_blocked_transpose_equals_the_transpose(rng):
    import torch

    for shape in [(1300, 700), (5, 9), (512, 512)]:
        a = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        t = transposed(a, block=128)
        assert t.is_contiguous() and torch.equal(t, a.T)
        reused = torch.full(shape[::-1], float("nan"))  # a stale buffer is overwritten in full
        assert transposed(a, out=reused, block=128) is reused and torch.equal(reused, a.T)
        view = torch.full((shape[1], shape[0] + 3), float("nan"))[:, :shape[0]]  # a slice of a wider buffer
        assert torch.equal(transposed(a, out=view, block=128), a.T)


def test_a_zero_rank_is_refused_rather_than_an_empty_lexicon():
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(UmtError, match="^max_rank 0: expected a value >= 1$"):
        induce_lexicon(x, x, max_rank=0)
    with pytest.raises(UmtError, match="^csls_k -1: expected a value >= 1$"):
        induce_lexicon(x, x, csls_k=-1)
