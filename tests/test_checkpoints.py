"""A stopped alignment continues from its finished candidates and ends where an uninterrupted
run ends."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from umt.alignment import AlignConfig, RefineConfig, align, prepare, write_alignment
from umt.alignment.adversarial import AdversarialConfig
from umt.alignment.checkpoints import candidate_key, load_candidate, spaces_digest
from umt.alignment.similarity_init import SelfLearnConfig
from umt.embeddings import Embeddings, save_embeddings, save_vec

align_module = sys.modules["umt.alignment.align"]  # the package's ``align`` is the function

FAST = dict(selflearn=SelfLearnConfig(cutoff=600, interval=3), refine=RefineConfig(iterations=2, max_rank=600,
                                                                                   criterion_words=600))


def stopping_at_call(number, real):
    """``real``, except that its ``number``-th call raises KeyboardInterrupt (a kill at that point)."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    return wrapper


def test_finished_candidates_are_read_back_and_the_result_is_unchanged(pair, tmp_path, monkeypatch):
    src, tgt = pair
    cfg = AlignConfig(method="auto", candidates="similarity:0,similarity:1", normalize="none", **FAST)
    first = align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert first.resumed == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "candidate-similarity-0.json", "candidate-similarity-0.npz",
        "candidate-similarity-1.json", "candidate-similarity-1.npz"]
    (tmp_path / "candidate-similarity-1.json").unlink()  # as if stopped while running the second
    ran = []
    real = align_module.run_candidate
    monkeypatch.setattr(align_module, "run_candidate", lambda *a, **k: ran.append(a[2:4]) or real(*a, **k))
    second = align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert ran == [("similarity", 1)] and second.resumed == ["similarity:0"]
    assert second.chosen == first.chosen and np.array_equal(second.mapping, first.mapping)
    assert np.array_equal(second.lexicon.pairs(), first.lexicon.pairs())
    assert [c.curves for c in second.candidates] == [c.curves for c in first.candidates]


def test_a_checkpoint_of_other_settings_or_vectors_is_not_used(pair, tmp_path):
    src, tgt = pair
    cfg = AlignConfig(method="similarity", normalize="none", reweight=None, **FAST)
    align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    x, y = prepare(src, tgt, "none")
    spaces = spaces_digest(x, y)
    key = candidate_key(spaces, "similarity", 0, "none", cfg.adversarial, cfg.selflearn, cfg.refine)
    assert load_candidate(tmp_path, "similarity:0", key) is not None
    other_stage = replace(cfg.selflearn, interval=4)
    assert load_candidate(tmp_path, "similarity:0", candidate_key(spaces, "similarity", 0, "none", cfg.adversarial,
                                                                  other_stage, cfg.refine)) is None
    other_vectors = y.copy()
    other_vectors[5, 3] += 1e-3
    assert spaces_digest(x, other_vectors) != spaces
    assert load_candidate(tmp_path, "similarity:0", candidate_key(spaces_digest(x, other_vectors), "similarity", 0,
                                                                  "none", cfg.adversarial, cfg.selflearn,
                                                                  cfg.refine)) is None
    (tmp_path / "candidate-similarity-0.npz").write_bytes(b"damaged")
    assert load_candidate(tmp_path, "similarity:0", key) is None  # lost work, not an error


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_umt_align_resume(pair, tmp_path):
    src, tgt = pair
    save_vec(src, tmp_path / "src.vec")
    save_embeddings(tgt, tmp_path / "tgt")
    base = [sys.executable, "-m", "umt.cli", "align", "--method", "auto", "--candidates", "similarity:0,similarity:1",
            "--src-emb", str(tmp_path / "src.vec"), "--tgt-emb", str(tmp_path / "tgt"), "--sl-cutoff", "600",
            "--sl-interval", "3", "--max-rank", "600", "--refine-criterion-words", "600",
            "--out", str(tmp_path / "run")]
    assert subprocess.run(base, capture_output=True).returncode == 0
    mapping = np.load(tmp_path / "run" / "mapping.npy")
    (tmp_path / "run" / "checkpoints" / "candidate-similarity-1.json").unlink()
    done = subprocess.run([*base, "--resume"], capture_output=True, text=True)
    assert done.returncode == 0 and "candidate similarity:0: read back" in done.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["resumed_candidates"] == ["similarity:0"]
    assert np.array_equal(np.load(tmp_path / "run" / "mapping.npy"), mapping)
    fresh = subprocess.run(base, capture_output=True, text=True)  # without --resume: everything runs again
    assert fresh.returncode == 0 and "read back" not in fresh.stderr
    assert "resumed_candidates" not in json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_adversarial_training_continues_after_its_last_finished_epoch(pair, tmp_path, monkeypatch):
    """Stopped during its third epoch, training started again ends where an uninterrupted run ends."""
    import umt.alignment.adversarial as adversarial

    src, tgt = pair
    x, y = prepare(src, tgt, "none")
    cfg = AdversarialConfig(epochs=3, epoch_size=1024, batch_size=32, dis_hidden=32, log_every=8)
    whole = adversarial.train_adversarial(x, y, cfg, seed=3, progress=False)
    real = adversarial.mean_csls_cosine
    path = tmp_path / "adversarial-3.pt"
    monkeypatch.setattr(adversarial, "mean_csls_cosine", stopping_at_call(3, real))  # in the third epoch
    with pytest.raises(KeyboardInterrupt):
        adversarial.train_adversarial(x, y, cfg, seed=3, progress=False, checkpoint=path, key="k")
    saved = torch.load(path, weights_only=False)
    assert saved["epoch"] == 1  # epochs 1 and 2 finished
    counted = []
    monkeypatch.setattr(adversarial, "mean_csls_cosine", lambda *a, **k: counted.append(1) or real(*a, **k))
    resumed = adversarial.train_adversarial(x, y, cfg, seed=3, progress=False, checkpoint=path,
                                            key="k")
    assert len(counted) == 1  # only the third epoch ran
    assert (resumed.continued_after, whole.continued_after) == (2, 0)
    assert resumed.seconds >= saved["seconds"] > 0  # the time before the restart counts
    assert np.array_equal(resumed.mapping, whole.mapping) and resumed.criteria == whole.criteria
    assert resumed.epoch_samples == whole.epoch_samples and resumed.best_epoch == whole.best_epoch
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in whole.history]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed.history] == strip
    other = adversarial.train_adversarial(x, y, cfg, seed=3, progress=False, checkpoint=path,
                                          key="other settings")  # not this run's state: starts afresh
    assert other.criteria == whole.criteria


def test_an_adversarial_candidate_keeps_its_epochs_only_until_it_is_finished(pair, tmp_path, monkeypatch):
    import umt.alignment.stages as stages

    src, tgt = pair
    saved = []
    real = stages.save_stage_state
    monkeypatch.setattr(stages, "save_stage_state", lambda path, state: saved.append(path) or real(path, state))
    cfg = AlignConfig(method="adversarial", normalize="none", reweight=None, seed=2,
                      adversarial=AdversarialConfig(epochs=2, epoch_size=512, batch_size=32, dis_hidden=32), **FAST)
    align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert saved == [tmp_path / "adversarial-2.pt"] * 2  # after each epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate-adversarial-2.json", "candidate-adversarial-2.npz"]


@pytest.mark.parametrize("average", [False, True])
def test_self_learning_continues_after_its_last_saved_iteration(pair, tmp_path, monkeypatch, rng, average):
    """Stopped in its 14th iteration, self-learning started again runs from the 11th and ends on the
    map, dictionary and curves of an uninterrupted run. With ``average_final_phase`` it is stopped
    where the mean of the last stochastic phase's maps is taken, so the state saved the iteration
    before must carry that phase's running sum."""
    import umt.alignment.similarity_init as sl

    src, tgt = pair
    if average:  # noisier, so that the objective rises and every phase runs several iterations
        tgt = Embeddings(tgt.words, tgt.vectors + 0.2 * rng.standard_normal(tgt.vectors.shape).astype(np.float32))
    x, y = prepare(src, tgt, "none")
    cfg = SelfLearnConfig(cutoff=600, interval=5, init_words=300, average_final_phase=average)
    seed_src, seed_tgt = sl.initial_dictionary(x, y, cfg.init_words, cfg.csls_k)
    whole = sl.self_learning(x, y, seed_src, seed_tgt, cfg, seed=4, progress=False)
    stop, save_every = 14, 10
    if average:
        last_stochastic = [i for i, k in enumerate(whole.keep_probs) if k == max(set(whole.keep_probs) - {1.0})]
        assert len(last_stochastic) >= 3
        stop, save_every = last_stochastic[-1] + 2, 1  # map i + 2 (1-based) comes from dictionary i
    assert len(whole.objectives) > stop
    real = sl.procrustes_on_pairs
    path = tmp_path / "similarity-4.pt"
    monkeypatch.setattr(sl, "procrustes_on_pairs", stopping_at_call(stop, real))
    with pytest.raises(KeyboardInterrupt):
        sl.self_learning(x, y, seed_src, seed_tgt, cfg, seed=4, progress=False, checkpoint=path,
                         save_every=save_every, key="k")
    saved = torch.load(path, weights_only=False)
    assert saved["iteration"] == (stop - 1 if average else 10)
    counted = []
    monkeypatch.setattr(sl, "procrustes_on_pairs", lambda *a, **k: counted.append(1) or real(*a, **k))
    wrong_seed = np.zeros_like(seed_src)  # not read: the saved dictionary is
    resumed = sl.self_learning(x, y, wrong_seed, wrong_seed, cfg, seed=4, progress=False,
                               checkpoint=path, key="k")
    assert len(counted) == len(whole.objectives) + 1 - saved["iteration"]  # the iterations after it, and the last
    assert np.array_equal(resumed.mapping, whole.mapping)
    assert np.array_equal(resumed.src_ids, whole.src_ids) and np.array_equal(resumed.tgt_ids, whole.tgt_ids)
    assert resumed.objectives == whole.objectives and resumed.keep_probs == whole.keep_probs
    assert (resumed.continued_after, whole.continued_after) == (saved["iteration"], 0)
    assert resumed.seconds >= saved["seconds"] > 0  # the time before the restart counts
    other = sl.self_learning(x, y, seed_src, seed_tgt, cfg, seed=4, progress=False, checkpoint=path,
                             key="other settings")  # not this run's state: starts afresh
    assert other.objectives == whole.objectives


def test_a_similarity_candidate_stopped_mid_way_continues_in_align(pair, tmp_path, monkeypatch):
    import umt.alignment.similarity_init as sl

    src, tgt = pair
    cfg = AlignConfig(method="similarity", normalize="none", seed=1, **FAST)
    whole = align(src, tgt, cfg, progress=False)
    real = sl.procrustes_on_pairs
    monkeypatch.setattr(sl, "procrustes_on_pairs", stopping_at_call(12, real))
    with pytest.raises(KeyboardInterrupt):
        align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["similarity-1.pt"]
    saved_seconds = torch.load(tmp_path / "similarity-1.pt", weights_only=False)["seconds"]
    monkeypatch.setattr(sl, "procrustes_on_pairs", real)
    seeded = []  # the seed dictionary is not needed when the saved state continues
    monkeypatch.setattr(sl, "initial_dictionary", lambda *a, **k: seeded.append(1) or pytest.fail("seeded again"))
    resumed = align(src, tgt, cfg, progress=False, checkpoints=tmp_path)
    assert not seeded
    assert np.array_equal(resumed.mapping, whole.mapping)
    assert resumed.candidates[0].curves == whole.candidates[0].curves
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate-similarity-1.json", "candidate-similarity-1.npz"]
    candidate = resumed.candidates[0]
    assert candidate.continued_after == "self-learning iteration 10" and not whole.candidates[0].continued_after
    assert candidate.init_seconds >= saved_seconds > 0
    metrics = write_alignment(resumed, src, tgt, tmp_path / "run")
    assert metrics["continued_candidates"] == {"similarity:1": "self-learning iteration 10"}
    assert "continued_candidates" not in write_alignment(whole, src, tgt, tmp_path / "whole")


def test_a_damaged_or_foreign_stage_state_is_lost_work_not_an_error(tmp_path, caplog):
    from umt.alignment.stage_state import load_stage_state, save_stage_state

    path = tmp_path / "similarity-0.pt"
    assert load_stage_state(path, "k", "self-learning") is None  # nothing saved yet
    save_stage_state(path, {"key": "k", "iteration": 10})
    assert load_stage_state(path, "k", "self-learning") == {"key": "k", "iteration": 10}
    assert load_stage_state(path, "other", "self-learning") is None
    path.write_bytes(b"\x00 cut short by a full disk")
    with caplog.at_level("WARNING", logger="umt"):
        assert load_stage_state(path, "k", "self-learning") is None
    assert "unreadable checkpoint" in caplog.text and "self-learning starts afresh" in caplog.text
    torch.save([1, 2], path)  # readable, but not a state
    assert load_stage_state(path, "k", "self-learning") is None


class _RunsCode:
    """A pickle that would create a file if it were unpickled in full."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_stage_state_keeps_arrays_exactly_and_never_runs_code(tmp_path, caplog):
    from umt.alignment.stage_state import load_stage_state, save_stage_state

    path = tmp_path / "similarity-0.pt"
    mapping = np.random.default_rng(0).standard_normal((4, 4))
    ids = np.arange(5, dtype=np.int32)
    save_stage_state(path, {"key": "k", "result": {"mapping": mapping, "ids": [ids, (ids, 2.5)]},
                            "gen": torch.Generator().manual_seed(1).get_state()})
    state = load_stage_state(path, "k", "self-learning")
    assert state["result"]["mapping"].dtype == np.float64 and np.array_equal(state["result"]["mapping"], mapping)
    back = state["result"]["ids"]
    assert back[0].dtype == np.int32 and np.array_equal(back[0], ids) and back[1][1] == 2.5
    marker = tmp_path / "ran"
    torch.save({"key": "k", "payload": _RunsCode(marker)}, path)
    with caplog.at_level("WARNING", logger="umt"):
        assert load_stage_state(path, "k", "self-learning") is None
    assert not marker.exists()
    assert "could run code" in caplog.text and "self-learning starts afresh" in caplog.text


class _Counter:
    """A toy stage: adds its step number to a sum, and ends early once the sum passes ``stop_above``."""

    name, unit = "counting", "step"

    def __init__(self, total, stop_above=None):
        self.total, self.done, self.sum, self.stop_above, self.began = total, 0, 0, stop_above, False

    def begin(self):
        self.began = True

    def step(self):
        if self.stop_above is not None and self.sum > self.stop_above:
            return False
        self.done += 1
        self.sum += self.done
        return True

    def state_dict(self):
        return {"done": self.done, "sum": self.sum}

    def load_state_dict(self, state):
        self.done, self.sum = state["done"], state["sum"]

    def postfix(self):
        return {"sum": str(self.sum)}


def test_one_runner_saves_every_stage_and_continues_it_under_its_key(tmp_path, monkeypatch):
    import umt.alignment.stages as stages

    path = tmp_path / "counting.pt"
    saved = []
    real = stages.save_stage_state
    monkeypatch.setattr(stages, "save_stage_state", lambda p, state: saved.append(state["done"]) or real(p, state))
    first = stages.run_stage(_Counter(7), path, "k", save_every=3, progress=False)
    assert first.began and (first.done, first.sum) == (7, 28) and saved == [3, 6]
    again = stages.run_stage(_Counter(10), path, "k", save_every=3, progress=False)  # continues after step 6
    assert not again.began and (again.done, again.sum) == (10, 55) and saved[2:] == [9]
    other = stages.run_stage(_Counter(4), path, "another key", save_every=100, progress=False)
    assert other.began and other.sum == 10  # not its state: afresh
    early = stages.run_stage(_Counter(100, stop_above=20), None, progress=False)
    assert (early.done, early.sum) == (6, 21)  # a stage that ends itself stops the runner
