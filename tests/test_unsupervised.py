"""Unsupervised alignment: recovery of known rotations, determinism, presets, bad input."""

import importlib
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from synthetic import random_orthogonal

from umt.alignment import AlignConfig, RefineConfig, align, prepare
from umt.alignment.adversarial import AdversarialConfig, train_adversarial
from umt.alignment.presets import PRESETS, preset
from umt.alignment.similarity_init import (
    SelfLearnConfig,
    _induce_both_ways,
    _stochastic_argmax,
    initial_dictionary,
    self_learning_objective,
)
from umt.alignment.unsupervised import average_maps, parse_candidates
from umt.embeddings import Embeddings
from umt.errors import UmtError

FAST = dict(selflearn=SelfLearnConfig(cutoff=2000, interval=5), refine=RefineConfig(iterations=2, max_rank=2000,
                                                                                     criterion_words=2000))


def rotated_copy(emb: Embeddings, rng, n=2500, drop=0.1, noise=0.02):
    """Target = the source's n first words rotated, with noise, 10% dropped and rows shuffled."""
    x = emb.vectors[:n] / np.linalg.norm(emb.vectors[:n], axis=1, keepdims=True)
    w = random_orthogonal(x.shape[1], rng)
    keep = np.sort(rng.permutation(n)[: int(n * (1 - drop))])
    order = rng.permutation(keep)
    y = x[order] @ w.T + noise * rng.standard_normal((len(order), x.shape[1])).astype(np.float32)
    src = Embeddings(emb.words[:n], x, source="src")
    tgt = Embeddings([f"T_{emb.words[i]}" for i in order], y, source="tgt")
    return src, tgt, order


def pairing_accuracy(result, src, tgt, order):
    xm, ym = result.mapped(*prepare(src, tgt, result.config.normalize))
    best = (xm[order] @ ym.T).argmax(axis=1)
    return 100.0 * (best == np.arange(len(order))).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_similarity_init_recovers_a_rotation_of_real_vectors(small_embeddings, seed):
    rng = np.random.default_rng(100 + seed)
    src, tgt, order = rotated_copy(small_embeddings["en"], rng)
    result = align(src, tgt, AlignConfig(method="similarity", normalize="none", seed=seed, **FAST), progress=False)
    assert pairing_accuracy(result, src, tgt, order) > 98


def test_auto_keeps_the_candidate_with_the_best_criterion(small_embeddings):
    src, tgt, order = rotated_copy(small_embeddings["fr"], np.random.default_rng(7), n=1500)
    cfg = AlignConfig(method="auto", candidates="similarity:0,adversarial:0", normalize="none",
                      adversarial=AdversarialConfig(epochs=1, epoch_size=2048, batch_size=64, dis_hidden=64), **FAST)
    result = align(src, tgt, cfg, progress=False)
    assert [c.name for c in result.candidates] == ["similarity:0", "adversarial:0"]
    curves = result.candidates[1].curves
    assert len(curves["adversarial_criteria"]) == len(curves["adversarial_epoch_samples"]) == 1
    best = max(result.candidates, key=lambda c: c.criterion)
    assert result.chosen == best.name and np.array_equal(result.orthogonal, best.result.mapping)
    assert pairing_accuracy(result, src, tgt, order) > 98


def test_average_of_noisy_rotations_is_orthogonal_and_nearer_the_truth(rng):
    truth = random_orthogonal(50, rng)
    noisy = [average_maps([truth + 0.05 * rng.standard_normal((50, 50))]) for _ in range(6)]
    avg = average_maps(noisy)
    assert np.allclose(avg @ avg.T, np.eye(50), atol=1e-5)
    assert np.linalg.norm(avg - truth) < 0.6 * min(np.linalg.norm(w - truth) for w in noisy)
    assert np.allclose(average_maps([truth]), truth, atol=1e-5)


def test_auto_average_is_kept_only_when_the_criterion_prefers_it(small_embeddings):
    src, tgt, order = rotated_copy(small_embeddings["fr"], np.random.default_rng(3), n=1500)
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:1", normalize="none", average=True, **FAST)
    result = align(src, tgt, cfg, progress=False)
    best = max(result.candidates, key=lambda c: c.criterion)
    assert result.criterion >= best.criterion and result.verdict == "ok"
    if result.chosen.startswith("average("):
        assert result.criterion > best.criterion and result.criteria == [result.criterion]
        assert np.allclose(result.orthogonal @ result.orthogonal.T, np.eye(result.orthogonal.shape[0]), atol=1e-4)
    else:
        assert result.chosen == best.name and np.array_equal(result.orthogonal, best.result.mapping)
    assert pairing_accuracy(result, src, tgt, order) > 98


@pytest.mark.parametrize("agreement", [0.9, 0.2])
def test_average_when_agree_averages_the_seeds_that_agree_whatever_the_criterion(small_embeddings, monkeypatch,
                                                                                 agreement):
    align_module = importlib.import_module("umt.alignment.align")  # the package's ``align`` is the function
    src, tgt, order = rotated_copy(small_embeddings["fr"], np.random.default_rng(3), n=1500)
    # the two seeds' real agreement is high; a low one stands for a replicate that failed
    monkeypatch.setattr(align_module, "translation_agreement", lambda *args, **kwargs: agreement)
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:1", normalize="none", average=True,
                      average_when="agree", **FAST)
    result = align(src, tgt, cfg, progress=False)
    best = max(result.candidates, key=lambda c: c.criterion)
    if agreement >= 1 / 3:
        assert result.chosen == "average(" + "+".join([best.name] + [c.name for c in result.candidates
                                                                     if c is not best]) + ")"
        np.testing.assert_allclose(result.orthogonal, average_maps([c.result.mapping for c in result.candidates]),
                                   atol=1e-6)
        assert result.criteria == [result.criterion]  # the average's own, whether or not it is the higher
    else:
        assert result.chosen == best.name and np.array_equal(result.orthogonal, best.result.mapping)
        assert result.verdict == "failed"
    assert pairing_accuracy(result, src, tgt, order) > 98


def test_initial_dictionary_is_rotation_invariant(rng):
    x = rng.standard_normal((300, 20)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x @ random_orthogonal(20, rng).T
    src_ids, tgt_ids = initial_dictionary(x, y, n=300)
    assert (src_ids == tgt_ids).mean() > 0.95


def test_self_learning_objective_peaks_at_the_true_rotation(rng):
    x = rng.standard_normal((500, 20)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    r = random_orthogonal(20, rng)
    y = x @ r.T
    assert self_learning_objective(x, y, r, cutoff=500) == pytest.approx(1.0, abs=1e-5)
    assert self_learning_objective(x, y, np.eye(20, dtype=np.float32), cutoff=500) < 0.9


def test_adversarial_is_deterministic_under_a_seed(rng):
    x = rng.standard_normal((500, 16)).astype(np.float32)
    y = rng.standard_normal((500, 16)).astype(np.float32)
    cfg = AdversarialConfig(epochs=2, epoch_size=640, batch_size=32, dis_hidden=32, log_every=5)
    a, b = (train_adversarial(x, y, cfg, seed=3, progress=False) for _ in range(2))
    c = train_adversarial(x, y, cfg, seed=4, progress=False)
    np.testing.assert_array_equal(a.mapping, b.mapping)
    assert not np.array_equal(a.mapping, c.mapping)
    assert len(a.criteria) == 2 and a.history and 0 <= a.history[-1]["dis_acc"] <= 1
    assert a.epoch_samples == [640, 1280]  # where the training curves put each epoch's criterion
    np.testing.assert_allclose(a.mapping @ a.mapping.T, np.eye(16), atol=0.05)  # kept near-orthogonal


@pytest.mark.slow  # tens of seconds on 2 cores
def test_align_without_settings_runs_the_default_preset(small_embeddings):
    from umt.alignment.presets import DEFAULT_PRESET

    rng = np.random.default_rng(11)
    src, tgt, order = rotated_copy(small_embeddings["en_b"], rng, n=1500)
    result = align(src, tgt, progress=False)
    assert result.config == preset(DEFAULT_PRESET) and result.config.preset == "duo"
    assert [c.name for c in result.candidates] == ["similarity:0", "similarity:1"] and result.verdict == "ok"
    assert pairing_accuracy(result, src, tgt, order) > 98


def test_presets_parse_and_differ():
    assert {"fast", "plateau", "muse", "muse-code", "vecmap", "robust", "ensemble", "duo"} <= set(PRESETS)
    assert preset("ensemble").average and not preset("robust").average and not preset("fast").average
    duo = preset("duo")
    assert duo.average and duo.average_when == "agree" != preset("ensemble").average_when
    assert duo.selflearn.interval == 25 < preset("fast").selflearn.interval
    assert len(parse_candidates(duo.candidates)) == 2
    muse = preset("muse")
    assert muse.method == "adversarial" and muse.adversarial.batch_size == 32 and muse.adversarial.beta == 0.01
    assert preset("muse-code").adversarial.smoothing == 0.1 and preset("vecmap").selflearn.cutoff == 20000
    assert preset("plateau").selflearn.schedule == "plateau" != preset("fast").selflearn.schedule
    assert preset("muse").refine.start_competes and not preset("fast").refine.start_competes
    for name in PRESETS:
        cfg = preset(name)
        assert cfg.preset == name
        if cfg.method == "auto":
            parse_candidates(cfg.candidates)
    preset("fast").refine.iterations = 99
    assert preset("fast").refine.iterations != 99  # presets are copied, never mutated
    with pytest.raises(UmtError, match="unknown preset"):
        preset("nope")
    with pytest.raises(UmtError, match="bad candidate"):
        parse_candidates("similarity:0,gan:1")


def test_dimension_mismatch_is_a_clear_error(rng):
    src = Embeddings(["a", "b"], rng.standard_normal((2, 4)), source="src.vec")
    tgt = Embeddings(["c", "d"], rng.standard_normal((2, 5)), source="tgt.vec")
    with pytest.raises(UmtError, match="dimension mismatch: src.vec has 4-d vectors, tgt.vec has 5-d"):
        align(src, tgt, AlignConfig(method="similarity"), progress=False)


def test_low_precision_self_learning_ends_where_float32_does(small_embeddings):
    src, tgt, order = rotated_copy(small_embeddings["en"], np.random.default_rng(11))
    results = []
    for low in (True, False):
        cfg = AlignConfig(method="similarity", normalize="none", seed=0, **FAST)
        cfg = replace(cfg, selflearn=replace(cfg.selflearn, low_precision=low))
        results.append(align(src, tgt, cfg, progress=False))
    assert all(pairing_accuracy(r, src, tgt, order) > 98 for r in results)
    # the bfloat16 phases only steer the dictionary; the float32 phase settles the same map
    assert np.abs(results[0].orthogonal - results[1].orthogonal).max() < 0.02


def test_averaged_final_phase_starts_from_the_mean_map_and_recovers_a_rotation(small_embeddings, monkeypatch):
    import umt.alignment.similarity_init as sl

    src, tgt, order = rotated_copy(small_embeddings["en"], np.random.default_rng(12))
    maps, averaged = [], []
    real_procrustes, real_average = sl.procrustes_on_pairs, sl.average_maps
    monkeypatch.setattr(sl, "procrustes_on_pairs", lambda *a, **k: maps.append(real_procrustes(*a, **k)) or maps[-1])
    monkeypatch.setattr(sl, "average_maps", lambda m: averaged.append((m, real_average(m))) or averaged[-1][1])
    cfg = AlignConfig(method="similarity", normalize="none", seed=0, **FAST)
    result = align(src, tgt, replace(cfg, selflearn=replace(cfg.selflearn, average_final_phase=True)), progress=False)
    keeps = result.candidates[0].curves["keep_probs"]
    assert len(averaged) == 1  # once, where keep reaches 1
    first_final = keeps.index(1.0)
    last_phase = [i for i, k in enumerate(keeps) if k == keeps[first_final - 1]]
    # map i + 1 comes from dictionary i: the mean of the maps of the last stochastic phase's dictionaries
    np.testing.assert_allclose(averaged[0][0][0], sum(maps[i + 1].astype(np.float64) for i in last_phase), atol=1e-5)
    w = averaged[0][1]
    assert np.allclose(w @ w.T, np.eye(len(w)), atol=1e-5)
    assert pairing_accuracy(result, src, tgt, order) > 98


@pytest.mark.slow  # tens of seconds on 2 cores
def test_plateau_schedule_ends_flat_phases_early(small_embeddings):
    src, tgt, order = rotated_copy(small_embeddings["en"], np.random.default_rng(5), n=1500)
    runs = {}
    for schedule in ("fixed", "plateau"):
        cfg = AlignConfig(method="similarity", normalize="none", **FAST)
        cfg = replace(cfg, selflearn=replace(cfg.selflearn, interval=40, schedule=schedule))
        runs[schedule] = align(src, tgt, cfg, progress=False)
        assert pairing_accuracy(runs[schedule], src, tgt, order) > 98
    keeps = {name: r.candidates[0].curves["keep_probs"] for name, r in runs.items()}
    stochastic_phases = [sum(1 for k in keeps["plateau"] if k == p) for p in sorted(set(keeps["plateau"])) if p < 1]
    assert len(stochastic_phases) == 4 and all(20 <= n <= 41 for n in stochastic_phases)
    assert len(keeps["plateau"]) < len(keeps["fixed"]) - 20


def test_unknown_schedule_is_a_clear_error():
    with pytest.raises(UmtError, match="SelfLearnConfig.schedule = 'sometimes': expected one of plateau, fixed"):
        SelfLearnConfig(schedule="sometimes")


def sorted_stochastic_argmax(scores, keep, gen):
    """The definition: sort each row's best K, drop each with probability 1 - keep, take the first left."""
    k = min(scores.shape[1], max(1, math.ceil(math.log(1e-3) / math.log(1.0 - keep))))
    top = scores.topk(k, dim=1).indices
    kept = torch.rand(top.shape, generator=gen) < keep
    kept[:, -1] = True
    return top.gather(1, kept.to(torch.uint8).argmax(dim=1, keepdim=True)).squeeze(1)


@pytest.mark.parametrize("keep", [0.1, 0.3, 0.8])
def test_stochastic_argmax_picks_what_sorting_every_row_picks(rng, keep):
    scores = torch.from_numpy(rng.standard_normal((400, 5000)).astype(np.float32))
    picked = _stochastic_argmax(scores, keep, torch.Generator().manual_seed(3))
    assert torch.equal(picked, sorted_stochastic_argmax(scores, keep, torch.Generator().manual_seed(3)))
    assert (picked != scores.argmax(dim=1)).float().mean() > 0.1  # the dropout did act
    assert torch.equal(_stochastic_argmax(scores, 1.0, torch.Generator()), scores.argmax(dim=1))


@pytest.mark.parametrize("keep", [0.1, 0.5, 1.0])
def test_blocked_induction_matches_the_whole_matrix_definition(rng, keep):
    """CSLS both ways with dropout, in blocks (a partial last one, more targets than sources, tied
    scores) against whole-matrix top-k, shift and sorted dropout, with the same random draws."""
    n, m = 700, 900
    sim = torch.from_numpy((rng.standard_normal((n, m)) * 64).round().astype(np.float32) / 256)
    sim_t, scratch = torch.empty(m, n), torch.empty(256, m)
    induced = _induce_both_ways(sim.clone(), sim_t, scratch, 10, keep, torch.Generator().manual_seed(5))
    knn_fwd = sim.topk(10, dim=1).values.mean(dim=1)
    knn_bwd = sim.topk(10, dim=0).values.mean(dim=0)
    gen = torch.Generator().manual_seed(5)
    pick = (lambda s: sorted_stochastic_argmax(s, keep, gen)) if keep < 1 else (lambda s: s.argmax(dim=1))
    fwd, bwd = pick(sim - knn_bwd[None, :] / 2), pick(sim.T - knn_fwd[None, :] / 2)
    assert torch.equal(sim_t, sim.T)
    # ties (scores are multiples of 1/256) may be broken either way: compare the scores picked
    assert torch.equal((sim - knn_bwd / 2).gather(1, induced.fwd[:, None]), (sim - knn_bwd / 2).gather(1, fwd[:, None]))
    assert torch.equal((sim.T - knn_fwd / 2).gather(1, induced.bwd[:, None]),
                       (sim.T - knn_fwd / 2).gather(1, bwd[:, None]))
    assert (induced.fwd == fwd).float().mean() > 0.95
    assert induced.objective == pytest.approx((sim.max(dim=1).values.mean() + sim.max(dim=0).values.mean()).item() / 2)


def test_a_candidate_given_twice_is_refused():
    """Two runs of one seed would agree perfectly and pass the failure check as replicates."""
    with pytest.raises(UmtError, match="candidate 'similarity' given twice"):
        parse_candidates("similarity:0,similarity")
    assert parse_candidates("similarity:0,similarity:1,adversarial:0") == [
        ("similarity", 0, None), ("similarity", 1, None), ("adversarial", 0, None)]


def test_an_empty_space_is_a_clear_error(rng):
    tgt = Embeddings([f"t{i}" for i in range(50)], rng.standard_normal((50, 8)).astype(np.float32))
    with pytest.raises(UmtError, match="empty-src: no words to align"):
        align(Embeddings([], np.zeros((0, 8), np.float32), source="empty-src"), tgt, AlignConfig(), progress=False)


@pytest.mark.parametrize("make, message", [
    (lambda rng: (rng.standard_normal((5, 8)), rng.standard_normal((300, 8))), "5 words: too few to align"),
    (lambda rng: (rng.standard_normal((300, 1)), rng.standard_normal((300, 1))), "1-d vectors: nothing to rotate"),
    (lambda rng: (np.zeros((300, 8)), rng.standard_normal((300, 8))), "300 of its 300 vectors are zero"),
])
def test_spaces_no_alignment_can_be_meaningful_on_are_refused_before_any_work(make, message, rng, tmp_path):
    from umt.alignment import align

    x, y = make(rng)
    src = Embeddings([f"s{i}" for i in range(len(x))], x, source="src")
    tgt = Embeddings([f"t{i}" for i in range(len(y))], y, source="tgt")
    with pytest.raises(UmtError, match=message):
        align(src, tgt, checkpoints=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()
