import numpy as np
import pytest
from synthetic import random_orthogonal

from umt.alignment import AlignConfig, align, load_mapping, map_spaces, procrustes, reweight, save_mapping
from umt.alignment.reweight import reweight_from_map, reweighted_maps
from umt.embeddings import Embeddings
from umt.errors import UmtError
from umt.retrieval.lexicon import induce_lexicon


def anisotropic_pair(rng, n=1500, d=20, noise=0.05):
    """A target that is a rotation of the source plus noise, in a space with unequal variances."""
    x = rng.standard_normal((n, d)) * np.linspace(0.3, 3.0, d)
    y = x @ random_orthogonal(d, rng).T + noise * rng.standard_normal((n, d))
    unit = [a / np.linalg.norm(a, axis=1, keepdims=True) for a in (x, y)]
    return unit[0].astype(np.float32), unit[1].astype(np.float32)


def test_reweighted_maps_keep_the_pairing_and_are_not_orthogonal(rng):
    x, y = anisotropic_pair(rng)
    ids = np.arange(1000)  # a dictionary over the first 1000 words; the rest are held out
    ws, wt = reweighted_maps(x, y, ids, ids, power=0.5)
    xm, ym = map_spaces(x, y, ws, wt)
    held_out = (xm[1000:] @ ym.T).argmax(1)
    assert (held_out == np.arange(1000, 1500)).mean() > 0.99
    assert not np.allclose(ws @ ws.T, np.eye(20), atol=1e-2)  # the re-weighting stretches dimensions


def test_reweighting_favours_the_dimensions_both_languages_share(rng):
    # Ten dimensions are shared (up to a rotation and a little noise); ten are each language's own,
    # independent between them. Procrustes must weigh all twenty alike; re-weighting by the
    # singular values of the cross-covariance shrinks the private ones and retrieval improves.
    n, k = 3000, 10
    shared = rng.standard_normal((n, k))
    x = np.hstack([shared, rng.standard_normal((n, k))])
    y = np.hstack([shared + 0.3 * rng.standard_normal((n, k)), rng.standard_normal((n, k))])
    y = y @ random_orthogonal(2 * k, rng).T
    x, y = (a / np.linalg.norm(a, axis=1, keepdims=True) for a in (x.astype(np.float32), y.astype(np.float32)))
    ids, test = np.arange(2000), np.arange(2000, n)

    def accuracy(xm, ym):
        return ((xm[test] @ ym[test].T).argmax(1) == np.arange(len(test))).mean()

    orthogonal = accuracy(*map_spaces(x, y, procrustes(x[ids], y[ids])))
    reweighted = accuracy(*map_spaces(x, y, *reweighted_maps(x, y, ids, ids, power=0.5)))
    assert reweighted > orthogonal + 0.05, (reweighted, orthogonal)


def test_reweighting_needs_enough_pairs_to_whiten(rng):
    x, y = anisotropic_pair(rng, n=100)
    with pytest.raises(ValueError, match="at least 20 dictionary pairs"):
        reweighted_maps(x, y, np.arange(10), np.arange(10))
    with pytest.raises(ValueError, match="do not span the space"):  # 30 pairs, but one word repeated
        reweighted_maps(x, y, np.zeros(30, np.int64), np.arange(30))


def test_a_second_round_relearns_on_the_dictionary_the_first_round_induces(rng):
    x, y = anisotropic_pair(rng, n=400, noise=1.0)
    w = procrustes(x[:50], y[:50])  # a rough orthogonal start: the rounds' dictionaries differ
    first = reweight_from_map(x, y, w, words=400, rounds=1)
    lexicon = induce_lexicon(*map_spaces(x, y, *first), "csls", "union", 400)
    expected = reweighted_maps(x, y, lexicon.src_ids, lexicon.tgt_ids)
    second = reweight_from_map(x, y, w, words=400, rounds=2)
    for got, want in zip(second, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert not np.allclose(first[0], second[0], atol=1e-4)


def test_a_later_round_that_cannot_whiten_keeps_the_previous_maps(rng, monkeypatch):
    x, y = anisotropic_pair(rng, n=400)
    w = procrustes(x, y)
    first = reweight_from_map(x, y, w, words=400, rounds=1)
    calls = []

    def whiten_once(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("degenerate")
        return reweighted_maps(*args, **kwargs)

    monkeypatch.setattr(reweight, "reweighted_maps", whiten_once)
    for got, want in zip(reweight_from_map(x, y, w, words=400, rounds=3), first):
        np.testing.assert_array_equal(got, want)
    assert len(calls) == 2


def test_saved_target_mapping_round_trip(tmp_path, rng):
    x, y = anisotropic_pair(rng, n=300)
    ws, wt = reweighted_maps(x, y, np.arange(300), np.arange(300))
    save_mapping(tmp_path, ws, "unit", target=wt)
    saved = load_mapping(tmp_path, 20)
    assert saved.normalize == "unit"
    for got, want in zip(saved.apply(x, y), map_spaces(x, y, ws, wt)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    save_mapping(tmp_path, ws, "unit")  # an orthogonal rerun into the same folder drops the target map
    assert load_mapping(tmp_path, 20).target is None and not (tmp_path / "target_mapping.npy").exists()


def test_align_keeps_the_orthogonal_map_when_too_few_pairs_can_be_induced(rng):
    words = [f"w{chr(97 + i)}" for i in range(12)]
    x = rng.standard_normal((12, 16)).astype(np.float32)
    src, tgt = Embeddings(words, x), Embeddings(words, x @ random_orthogonal(16, rng).T)
    result = align(src, tgt, AlignConfig(method="identical", normalize="none"), progress=False)
    assert result.target_mapping is None and result.orthogonal is None  # 12 pairs cannot whiten 16 dims
    np.testing.assert_allclose(result.mapping @ result.mapping.T, np.eye(16), atol=1e-4)


def test_reweighting_from_the_seed_learns_on_it_then_on_what_it_induces(rng):
    x, y = anisotropic_pair(rng, n=400, noise=1.0)
    ids = np.arange(60)
    seeded = reweighted_maps(x, y, ids, ids)
    for got, want in zip(reweight.reweight_from_seed(x, y, ids, ids, words=400, rounds=0), seeded):
        np.testing.assert_array_equal(got, want)  # no round: VecMap's --supervised maps
    lexicon = induce_lexicon(*map_spaces(x, y, *seeded), "csls", "union", 400)
    expected = reweighted_maps(x, y, lexicon.src_ids, lexicon.tgt_ids)
    for got, want in zip(reweight.reweight_from_seed(x, y, ids, ids, words=400, rounds=1), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_align_reweights_a_supervised_map_from_its_seed_dictionary(rng, tmp_path):
    x, y = anisotropic_pair(rng, n=600, noise=0.3)
    words = [f"w{i}" for i in range(600)]
    src, tgt = Embeddings(words, x), Embeddings([f"v{i}" for i in range(600)], y)
    seed = tmp_path / "seed.txt"
    seed.write_text("".join(f"w{i} v{i}\n" for i in range(100)), encoding="utf-8")
    cfg = AlignConfig(method="procrustes", dict=str(seed), normalize="none", reweight_seed=True, reweight_rounds=1,
                      reweight_words=600)
    result = align(src, tgt, cfg, progress=False)
    ids = np.arange(100)
    for got, want in zip((result.mapping, result.target_mapping),
                         reweight.reweight_from_seed(x, y, ids, ids, words=600, rounds=1)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    xm, ym = result.mapped(x, y)
    induced = induce_lexicon(xm, ym, "csls", "S2T", 600)
    assert len(induced.src_ids) == 600 and np.mean(induced.tgt_ids == induced.src_ids) > 0.95  # the rotation found
    with pytest.raises(UmtError, match="--reweight-seed"):
        align(src, tgt, AlignConfig(method="similarity", reweight_seed=True), progress=False)


def test_a_finished_alignment_is_reused_when_a_later_umt_added_a_setting_at_its_default(rng, tmp_path):
    import json

    from umt.alignment import write_alignment
    from umt.pipeline import finished_alignment

    x, y = anisotropic_pair(rng, n=300)
    words = ["".join(chr(97 + i // 26 ** k % 26) for k in range(2)) for i in range(300)]  # letters: identical seeds
    src, tgt = Embeddings(words, x), Embeddings(words, y)
    cfg = AlignConfig(method="identical", normalize="none")
    write_alignment(align(src, tgt, cfg, progress=False), src, tgt, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["reweight_seed"]  # as umt wrote it before the setting existed
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert finished_alignment(tmp_path, cfg, src, tgt) is not None
    assert finished_alignment(tmp_path, AlignConfig(method="identical", normalize="none", reweight_seed=True),
                              src, tgt) is None
    assert finished_alignment(tmp_path, AlignConfig(method="identical", normalize="unit"), src, tgt) is None


def test_an_alignment_that_fails_while_writing_leaves_the_earlier_run_whole(rng, tmp_path):
    import json

    from umt.alignment import write_alignment

    x, y = anisotropic_pair(rng, n=300)
    words = ["".join(chr(97 + i // 26 ** k % 26) for k in range(2)) for i in range(300)]
    src, tgt = Embeddings(words, x), Embeddings(words, y)
    first = align(src, tgt, AlignConfig(method="identical", normalize="none"), progress=False)
    write_alignment(first, src, tgt, tmp_path, scorer=lambda xm, ym, folder: {"p1": 1.0})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = align(src, tgt, AlignConfig(method="identical", normalize="unit"), progress=False)

    def failing(xm, ym, folder):
        (folder / "evaluation.tsv").write_text("half a file")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_alignment(second, src, tgt, tmp_path, scorer=failing)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert np.array_equal(load_mapping(tmp_path, x.shape[1]).source, first.mapping.astype(np.float32))
    write_alignment(second, src, tgt, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["normalize"] == "unit"
    assert "p1" not in json.loads((tmp_path / "metrics.json").read_text())
