"""Candidates that differ in the size of their similarity initialisation (``similarity:SEED@WORDS``):
each starts from its own dictionary, is saved under its own name, and is compared with the seeds of
its own size only."""

import sys
from dataclasses import replace

import numpy as np
import pytest

import umt.alignment.similarity_init as sl
from umt.alignment import AlignConfig, RefineConfig, align
from umt.alignment.similarity_init import SelfLearnConfig
from umt.alignment.unsupervised import CandidateSpec, parse_candidates
from umt.errors import UmtError

align_module = sys.modules["umt.alignment.align"]  # the package's ``align`` is the function

FAST = dict(normalize="none", selflearn=SelfLearnConfig(cutoff=600, interval=3),
            refine=RefineConfig(iterations=2, max_rank=600, criterion_words=600))


def test_sizes_parse_and_bad_sizes_are_one_clear_error():
    assert parse_candidates("similarity:0,similarity:1@300,similarity@200") == [
        CandidateSpec("similarity", 0), CandidateSpec("similarity", 1, 300), CandidateSpec("similarity", 0, 200)]
    assert CandidateSpec("similarity", 1, 300).name == "similarity:1@300"
    assert CandidateSpec("similarity", 1).name == "similarity:1"
    for bad, message in (("similarity:0@x", "positive number of words"), ("similarity:0@0", "positive number"),
                         ("adversarial:0@300", "for similarity only"), ("similarity:0@", "positive number")):
        with pytest.raises(UmtError, match=message):
            parse_candidates(bad)
    with pytest.raises(UmtError, match="given twice"):
        parse_candidates("similarity:0@300,similarity@300")


def test_the_configured_size_named_is_the_plain_candidate(pair):
    src, tgt = pair
    result = align(src, tgt, AlignConfig(method="auto", candidates="similarity:0@4000,similarity:1", **FAST),
                   progress=False)
    assert [c.name for c in result.candidates] == ["similarity:0", "similarity:1"]
    assert result.agreement is not None  # one family: the two seeds are compared
    with pytest.raises(UmtError, match="given twice: @4000 is the initial dictionary size of the settings"):
        align(src, tgt, AlignConfig(method="auto", candidates="similarity:0,similarity:0@4000", **FAST),
              progress=False)


def test_each_size_starts_from_its_own_dictionary_and_ends_where_a_run_of_that_size_does(pair, monkeypatch):
    src, tgt = pair
    sizes = []
    real = sl.initial_dictionary
    monkeypatch.setattr(sl, "initial_dictionary", lambda x, y, n, *a, **k: sizes.append(n) or real(x, y, n, *a, **k))
    both = align(src, tgt, AlignConfig(method="auto", candidates="similarity:0,similarity:0@300", **FAST),
                 progress=False)
    assert sizes == [4000, 300]  # two sizes, two dictionaries (the cache is per size)
    assert [c.name for c in both.candidates] == ["similarity:0", "similarity:0@300"]
    alone = align(src, tgt, AlignConfig(method="similarity", **{**FAST, "selflearn": replace(FAST["selflearn"],
                                                                                              init_words=300)}),
                  progress=False)
    np.testing.assert_array_equal(both.candidates[1].result.mapping, alone.candidates[0].result.mapping)
    # another size is not a replicate: no agreement is measured between the two, and nothing is averaged
    assert both.agreement is None and both.verdict == "unchecked"
    averaged = align(src, tgt, AlignConfig(method="auto", candidates="similarity:0,similarity:0@300", average=True,
                                           average_when="agree", **FAST), progress=False)
    assert not averaged.chosen.startswith("average")


def test_seeds_of_one_size_are_replicates_of_each_other(pair):
    """On an exact rotation every candidate finds it, criteria tie and the first is kept: its
    replicate is the other seed of its own size, never a seed of another size."""
    src, tgt = pair
    kept_300 = align(src, tgt, AlignConfig(method="auto", candidates="similarity:0@300,similarity:0,similarity:1@300",
                                           **FAST), progress=False)
    assert kept_300.chosen == "similarity:0@300" and kept_300.agreement == 1.0 and kept_300.verdict == "ok"
    kept_default = align(src, tgt, AlignConfig(method="auto", candidates="similarity:0,similarity:0@300,"
                                               "similarity:1@300", **FAST), progress=False)
    assert kept_default.chosen == "similarity:0" and kept_default.agreement is None


def test_sizes_are_saved_under_their_own_names_and_read_back(pair, tmp_path, monkeypatch):
    src, tgt = pair
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:0@300", **FAST)
    first = align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "candidate-similarity-0.json", "candidate-similarity-0.npz",
        "candidate-similarity-0@300.json", "candidate-similarity-0@300.npz"]
    ran = []
    monkeypatch.setattr(align_module, "run_candidate", lambda *a, **k: ran.append(a[2:4]))
    second = align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert ran == [] and second.resumed == ["similarity:0", "similarity:0@300"]
    assert np.array_equal(second.mapping, first.mapping)
