"""Work that several candidates of one alignment would repeat is done once, and the result is the
one the repeated work gives."""

import importlib
import json

import numpy as np
import pytest

import umt.alignment.criterion as criterion
import umt.alignment.similarity_init as sl
from umt.alignment import AlignConfig, RefineConfig, align, prepare
from umt.alignment.checkpoints import load_candidate
from umt.alignment.criterion import best_targets, translation_agreement
from umt.alignment.procrustes import apply_mapping
from umt.alignment.similarity_init import SelfLearnConfig
from umt.retrieval.lexicon import induce_lexicon

align_module = importlib.import_module("umt.alignment.align")  # the package's ``align`` is the function

# criterion_words is left at its default, the words failure detection compares, so that the
# refinements' targets can stand in for a second search
FAST = dict(normalize="none", selflearn=SelfLearnConfig(cutoff=600, interval=3),
            refine=RefineConfig(iterations=2, max_rank=600))
TWO_SEEDS = AlignConfig(method="auto", candidates="similarity:0,similarity:1", **FAST)


def counting(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_seeds_share_one_seed_dictionary_and_end_where_separate_runs_do(pair, monkeypatch):
    src, tgt = pair
    seeded = counting(monkeypatch, sl, "initial_dictionary")
    both = align(src, tgt, TWO_SEEDS, progress=False)
    assert len(seeded) == 1
    for candidate, seed in zip(both.candidates, (0, 1)):
        alone = align(src, tgt, AlignConfig(method="similarity", seed=seed, reweight=None, **FAST), progress=False)
        assert np.array_equal(candidate.result.mapping, alone.mapping)
    assert len(seeded) == 3  # separate alignments do not share it


def test_agreement_reuses_the_targets_of_each_refinement(pair, monkeypatch, tmp_path):
    src, tgt = pair
    x, y = prepare(src, tgt, "none")
    searches = counting(monkeypatch, criterion, "best_targets")
    result = align(src, tgt, TWO_SEEDS, progress=False, checkpoints=tmp_path)
    assert searches == []
    first, second = result.candidates
    for c in result.candidates:
        assert np.array_equal(c.result.targets, best_targets(x @ c.result.mapping.T, y))
    searched = translation_agreement(x, y, first.result.mapping, second.result.mapping)
    assert result.agreement == searched and result.verdict == "ok"

    # a checkpoint keeps the targets; one written before they were kept is searched again
    for name, saved in (("similarity:0", first), ("similarity:1", second)):
        stem = tmp_path / f"candidate-{name.replace(':', '-')}"
        key = json.loads(stem.with_suffix(".json").read_text())["key"]
        assert np.array_equal(load_candidate(tmp_path, name, key).result.targets, saved.result.targets)
        with np.load(stem.with_suffix(".npz")) as npz:
            older = {k: npz[k] for k in npz.files if k != "targets"}
        np.savez(stem.with_suffix(".npz"), **older)
        assert load_candidate(tmp_path, name, key).result.targets is None
    searches.clear()
    resumed = align(src, tgt, TWO_SEEDS, progress=False, checkpoints=tmp_path)
    assert resumed.resumed == ["similarity:0", "similarity:1"] and len(searches) == 2
    assert resumed.agreement == result.agreement


def test_other_criterion_words_search_the_agreement_targets_again(pair, monkeypatch):
    src, tgt = pair
    searches = counting(monkeypatch, criterion, "best_targets")
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:1", normalize="none",
                      selflearn=SelfLearnConfig(cutoff=600, interval=3),
                      refine=RefineConfig(iterations=2, max_rank=600, criterion_words=300))
    result = align(src, tgt, cfg, progress=False)
    assert len(searches) == 2  # the refinements' targets cover 300 words, the agreement 10,000
    x, y = prepare(src, tgt, "none")
    assert result.agreement == translation_agreement(x, y, *(c.result.mapping for c in result.candidates))


@pytest.mark.parametrize("reweighting", ["on", "off", "fails"])
def test_an_average_gets_a_lexicon_of_its_own_map(pair, monkeypatch, reweighting):
    src, tgt = pair
    x, y = prepare(src, tgt, "none")
    inductions = counting(monkeypatch, align_module, "induce_lexicon")
    if reweighting == "fails":
        def degenerate(*args, **kwargs):
            raise ValueError("too few pairs")
        monkeypatch.setattr(align_module, "reweight_from_map", degenerate)
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:1", average=True, average_when="agree",
                      reweight=None if reweighting == "off" else 0.5, **FAST)
    result = align(src, tgt, cfg, progress=False)
    assert result.chosen.startswith("average(")
    assert len(inductions) == 1  # the lexicon the kept map gets, never one thrown away
    xm, ym = result.mapped(x, y)
    expected = induce_lexicon(xm, ym, "csls", "intersection", 600)
    assert np.array_equal(result.lexicon.pairs(), expected.pairs())
    if reweighting != "on":
        assert result.target_mapping is None
        np.testing.assert_array_equal(xm, apply_mapping(x, result.mapping))
