"""Back-translation stack: noise, data protocol, subwords, model, training loop, CLI."""

import io
import json

import numpy as np
import pytest
import torch

from umt.cli import main
from umt.translation.model import ModelConfig, Seq2Seq
from umt.translation.noise import NoiseConfig, add_noise, local_shuffle, split_words, word_drop
from umt.translation.vocab import EOS, PAD, Vocab
from umt.translation.wordbyword import WordByWord, detokenize


def sequence_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target token, padding ignored."""
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), target.reshape(-1),
                                             ignore_index=PAD)


# ----- noise -----

def test_local_shuffle_never_moves_a_word_more_than_k():
    rng = np.random.default_rng(0)
    for k in (1, 2, 3):
        for _ in range(500):
            n = int(rng.integers(1, 30))
            out = local_shuffle(list(range(n)), k, rng)
            assert sorted(out) == list(range(n))
            assert max(abs(pos - w) for pos, w in enumerate(out)) <= k
    moved = local_shuffle(list(range(50)), 3, np.random.default_rng(1))
    assert moved != list(range(50))  # it does shuffle


def test_word_drop_rate_holds():
    rng = np.random.default_rng(0)
    kept = sum(len(word_drop(list(range(20)), 0.1, rng)) for _ in range(2000))
    assert abs(1 - kept / 40000 - 0.1) < 0.01
    assert len(word_drop([7], 0.99, rng)) == 1  # a sentence keeps at least one word


def test_noise_acts_on_whole_words():
    word_start = np.array([False, False, False, False, True, False, True, False, True])
    words = split_words([4, 5, 6, 7, 8], word_start)
    assert words == [[4, 5], [6, 7], [8]]
    rng = np.random.default_rng(0)
    cfg = NoiseConfig(p_drop=0.0, shuffle_k=3, p_blank=0.3)
    for _ in range(50):
        out = add_noise([4, 5, 6, 7, 8], cfg, word_start, blank_id=99, rng=rng)
        for piece in (5, 7):  # continuation pieces always follow their word's first piece
            if piece in out:
                assert out[out.index(piece) - 1] == piece - 1


# ----- data protocol -----

def test_multi30k_halves_are_disjoint(data_root, tmp_path):
    from umt.corpora.multi30k import prepare_multi30k, read_split

    manifest = prepare_multi30k("en", "fr", tmp_path, data_root)
    en_range, fr_range = manifest["mono"]["en"]["train_lines"], manifest["mono"]["fr"]["train_lines"]
    assert en_range[1] <= fr_range[0]
    en_train = (tmp_path / "train.en.txt").read_text(encoding="utf-8").splitlines()
    fr_train = (tmp_path / "train.fr.txt").read_text(encoding="utf-8").splitlines()
    assert len(en_train) == len(fr_train) == 14000
    fr_all, en_all = read_split("train", "fr", data_root), read_split("train", "en", data_root)
    # No training sentence has its translation in the training data (beyond captions that occur
    # verbatim twice in Multi30k, which the line-level split cannot control).
    translations_of_en = {fr_all[i] for i in range(*en_range)}
    assert len(translations_of_en & set(fr_train)) <= 10
    translations_of_fr = {en_all[i] for i in range(*fr_range)}
    assert len(translations_of_fr & set(en_train)) <= 10
    held = (tmp_path / "heldout.en.txt").read_text(encoding="utf-8").splitlines()
    assert len(held) == 500 and manifest["mono"]["en"]["heldout_lines"] == [en_range[1], en_range[1] + 500]


def test_control_target_half_keeps_words_and_lengths_but_not_captions(data_root, tmp_path):
    from collections import Counter

    from umt.corpora.multi30k import prepare_multi30k

    prepare_multi30k("en", "fr", tmp_path / "real", data_root)
    manifest = prepare_multi30k("en", "fr", tmp_path / "control", data_root, control_target=True)
    assert "control" in manifest

    def lines(kind, name):
        return (tmp_path / kind / name).read_text(encoding="utf-8").splitlines()

    assert lines("real", "train.en.txt") == lines("control", "train.en.txt")  # the source stays real
    assert lines("real", "test.fr.txt") == lines("control", "test.fr.txt")  # evaluation stays real
    real = lines("real", "train.fr.txt") + lines("real", "heldout.fr.txt")
    control = lines("control", "train.fr.txt") + lines("control", "heldout.fr.txt")
    assert [len(s.split()) for s in real] == [len(s.split()) for s in control]
    assert Counter(w for s in real for w in s.split()) == Counter(w for s in control for w in s.split())
    assert len(set(real) & set(control)) < 10  # hardly a caption survives


def test_prepare_aligns_with_the_preset_asked_for_and_builds_both_lexicons(data_root, tmp_path):
    """``prepare_mt`` end to end: the en vectors of the caption half's 600 most frequent words and
    a rotation of them as vectors of the fr half's 600 most frequent words; aligned by ``duo``, the
    rank-paired words must come out as each other's translations."""
    from synthetic import random_orthogonal

    from umt.corpora.multi30k import load_lines, prepare_multi30k
    from umt.embeddings import Embeddings
    from umt.translation.data import prepare_mt
    from umt.translation.wordbyword import word_counts

    prepare_multi30k("en", "fr", tmp_path / "halves", data_root)
    words = {lang: [w for w, _ in word_counts(load_lines(tmp_path / "halves" / f"train.{lang}.txt")).most_common(700)
                    if not w.isdigit()][:600] for lang in ("en", "fr")}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 16)).astype(np.float32)
    y = x @ random_orthogonal(16, rng).T + 0.01 * rng.standard_normal((600, 16)).astype(np.float32)
    out = tmp_path / "prepared"
    info = prepare_mt("en", "fr", out, Embeddings(words["en"], x), Embeddings(words["fr"], y), None, data_root,
                      vocab_size=500, progress=False, preset_name="duo")
    assert info["preset"] == "duo" and json.loads((out / "prepare.json").read_text())["preset"] == "duo"
    metrics = json.loads((out / "align" / "metrics.json").read_text())
    assert metrics["preset"] == "duo" and metrics["verdict"] == "ok"  # duo's two seeds ran and agreed
    for a, b in (("en", "fr"), ("fr", "en")):
        table = WordByWord.load(out / f"lexicon.{a}-{b}.tsv").table
        paired = dict(zip(words[a], words[b]))
        right = sum(table.get(w, "").lower() == paired[w] for w in paired)
        assert right >= 0.95 * len(paired), (a, b, right)


def test_prepare_refuses_an_unknown_preset_before_any_work(tmp_path):
    from umt.errors import UmtError
    from umt.translation.data import prepare_mt

    with pytest.raises(UmtError, match="unknown preset 'nope'"):
        prepare_mt("en", "fr", tmp_path / "out", None, None, None, preset_name="nope")
    assert not (tmp_path / "out").exists()


def test_pairs_from_the_same_half_are_refused(tmp_path):
    from umt.corpora.multi30k import check_pair
    from umt.errors import UmtError

    with pytest.raises(UmtError, match="same half"):
        check_pair("fr", "de")


def test_sentencepiece_round_trip(prepared):
    vocab = Vocab(prepared / "spm.model")
    lines = (prepared / "train.fr.txt").read_text(encoding="utf-8").splitlines()[:20]
    assert vocab.decode(vocab.encode(lines)) == lines
    assert vocab.lang_id("en") != vocab.lang_id("fr")


def test_word_by_word_keeps_case_and_spacing():
    wbw = WordByWord({"the": "le", "dog": "chien", "runs": "court"})
    assert wbw.translate_line("The dog runs, 3 times.") == "Le chien court, 3 times."
    assert detokenize(["l'", "homme", "(", "grand", ")", "."]) == "l'homme (grand)."


# ----- model -----

@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_tiny_model_overfits_a_toy_pair_and_translates_it():
    """A supervised sanity check of the architecture: it must learn a word mapping with reordering."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = ModelConfig(vocab_size=40, dim=64, heads=4, enc_layers=2, dec_layers=2, ff_dim=128, dropout=0.0)
    model = Seq2Seq(cfg)
    srcs = [list(rng.integers(10, 25, size=int(rng.integers(3, 7)))) for _ in range(64)]
    tgts = [[int(t) + 15 for t in reversed(s)] for s in srcs]  # translate and reverse
    from umt.translation.evaluate import pad_batch, strip_output

    src = pad_batch([s + [EOS] for s in srcs])
    tgt_in = pad_batch([[6] + t for t in tgts])
    tgt_out = pad_batch([t + [EOS] for t in tgts])
    lang0, lang1 = torch.zeros(len(srcs), dtype=torch.long), torch.ones(len(srcs), dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss = sequence_loss(model(src, lang0, tgt_in, lang1), tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    bos = torch.full((len(srcs),), 6)
    greedy = [strip_output(r) for r in model.greedy(src, lang0, lang1, bos, 12).tolist()]
    assert np.mean([g == t for g, t in zip(greedy, tgts)]) > 0.9
    beam = model.beam_search(src[:16], lang0[:16], lang1[:16], bos[:16], 12, beam=3)
    assert np.mean([b == t for b, t in zip(beam, tgts[:16])]) > 0.9


def test_an_ensemble_of_one_model_twice_decodes_as_the_model_and_averages_probabilities():
    from umt.translation.evaluate import pad_batch, strip_output
    from umt.translation.model import Ensemble

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=30, dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64, dropout=0.0)
    a, b = Seq2Seq(cfg).eval(), Seq2Seq(cfg).eval()
    src = pad_batch([[7, 8, 9, EOS], [10, 11, EOS], [12, 13, 14, 15, 16, EOS]])
    lang0, lang1, bos = torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long), torch.full((3,), 6)
    twice = Ensemble([a, a])
    assert twice.greedy(src, lang0, lang1, bos, 9).tolist() == a.greedy(src, lang0, lang1, bos, 9).tolist()
    assert twice.beam_search(src, lang0, lang1, bos, 9, beam=3) == a.beam_search(src, lang0, lang1, bos, 9, beam=3)
    # two different models: the mean of their next-piece probabilities, step after step
    pair = Ensemble([a, b])
    state, tok = pair.start_decoding(src, lang0), bos[:, None]
    alone = [m.start_decoding(src, lang0) for m in (a, b)]
    for t in range(3):
        got = pair.next_scores(state, tok, lang1, t)
        mean = sum(torch.softmax(m.next_scores(s, tok, lang1, t), -1) for m, s in zip((a, b), alone)) / 2
        assert torch.allclose(got.exp(), mean, atol=1e-6)
        tok = got.argmax(-1)[:, None]
    outs = [strip_output(r) for r in pair.greedy(src, lang0, lang1, bos, 9).tolist()]
    assert len(outs) == 3 and all(0 <= i < cfg.vocab_size for o in outs for i in o)
    with pytest.raises(ValueError, match="vocabulary"):
        Ensemble([a, Seq2Seq(ModelConfig(vocab_size=31, dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64))])


# ----- training loop -----

def _tiny_config(**kw):
    from umt.translation.train import MTTrainConfig

    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64, dropout=0.1)
    # float32, whatever this CPU computes natively: these tests compare steps to 1e-5
    base = dict(steps=6, pretrain_steps=0, batch_size=8, warmup=2, wbw_steps=2, ae_decay_steps=4, eval_every=3,
                checkpoint_every=3, amp=False,
                max_len=20, model=model, device="cpu")
    return MTTrainConfig(**{**base, **kw})


def test_checkpoint_resume_gives_identical_next_step(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    straight = Trainer(data, _tiny_config(), tmp_path / "a")
    for _ in range(3):
        straight.train_step()
    straight.save()
    expected = straight.train_step()
    resumed = Trainer(data, _tiny_config(), tmp_path / "a", resume=True)
    assert resumed.step == 3
    got = resumed.train_step()
    for task in ("ae_en", "bt_en", "ae_fr", "bt_fr", "loss"):
        assert got[task] == pytest.approx(expected[task], rel=1e-5), task


def test_training_run_writes_history_plot_and_translates(prepared, tmp_path, monkeypatch, capsys):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    out = tmp_path / "run"
    history = Trainer(data, _tiny_config(), out).fit(progress=False)
    assert history[0]["system"] == "word-by-word" and history[0]["test_en-fr"] > 50  # exact toy lexicon
    assert [r["step"] for r in history[1:]] == [3, 6]
    for name in ("checkpoint.pt", "best.pt", "history.json", "bleu.png", "spm.model", "config.json"):
        assert (out / name).stat().st_size > 0, name
    from umt.errors import UmtError

    with pytest.raises(UmtError, match="--resume"):
        Trainer(data, _tiny_config(), out)
    monkeypatch.setattr("sys.stdin", io.StringIO("A man runs.\nThe dog sits.\n"))
    assert main(["-q", "translate", "--model", str(out), "--src", "en", "--tgt", "fr"]) == 0
    translated = capsys.readouterr().out
    assert len(translated.splitlines()) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("A man runs.\nThe dog sits.\n"))
    assert main(["-q", "translate", "--model", str(out / "best.pt"), "--src", "en", "--tgt", "fr"]) == 0
    assert capsys.readouterr().out == translated  # a checkpoint file of the run, its vocabulary found


def test_cli_word_by_word_translates_stdin(prepared, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("A red dog runs in the park.\n"))
    assert main(["-q", "translate", "--lexicon", str(prepared / "lexicon.en-fr.tsv"), "--src", "en",
                 "--tgt", "fr"]) == 0
    assert capsys.readouterr().out == "Un rouge chien court dans le parc.\n"
    assert main(["-q", "translate", "--src", "en", "--tgt", "fr"]) == 2
    assert "exactly one" in capsys.readouterr().err


def test_cli_mt_evaluate_writes_metrics(prepared, tmp_path, capsys, monkeypatch):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    out = tmp_path / "run"
    Trainer(MTData.load(prepared), _tiny_config(steps=3), out).fit(progress=False)
    assert main(["-q", "mt", "evaluate", "--model", str(out), "--prepared", str(prepared), "--beam", "2"]) == 0
    metrics = json.loads((out / "eval-test-beam2" / "metrics.json").read_text())
    assert metrics["en-fr"]["word_by_word"]["bleu"] > 50
    assert "nrefs:1" in metrics["en-fr"]["model"]["signature"]
    lo, hi = metrics["en-fr"]["word_by_word"]["bleu_ci95"]  # sacrebleu's bootstrap over the test sentences
    assert lo <= metrics["en-fr"]["word_by_word"]["bleu"] <= hi and hi - lo < 60
    printed = capsys.readouterr().out
    assert "95% CI" in printed and "they differ with p = " in printed
    p = metrics["en-fr"]["model_vs_word_by_word_p"]
    assert 0 < p <= 1
    hyps = out / "eval-test-beam2" / "test.en-fr.hyp.txt"
    wbw = out / "eval-test-beam2" / "test.en-fr.word_by_word.txt"
    assert len(hyps.read_text().splitlines()) == len(wbw.read_text().splitlines()) > 0
    # the same test again from the files the evaluation wrote
    refs = tmp_path / "refs.txt"
    refs.write_text("\n".join(MTData.load(prepared).test["fr"]) + "\n")
    result = tmp_path / "c.json"
    assert main(["-q", "mt", "compare", str(wbw), str(hyps), "--refs", str(refs), "--out", str(result)]) == 0
    assert json.loads(result.read_text())["p_value"] == p
    # one model twice, as an ensemble: the same translations; a run of another prepared pair is refused
    assert main(["-q", "mt", "evaluate", "--model", str(out), "--model", str(out), "--prepared", str(prepared),
                 "--beam", "2"]) == 0
    ensemble = out / "eval-test-beam2-ensemble2"
    assert (ensemble / "test.en-fr.hyp.txt").read_text() == hyps.read_text()
    assert json.loads((ensemble / "metrics.json").read_text())["model"] == [str(out), str(out)]
    # a checkpoint file names its run: the run's vocabulary, and the output beside the file
    assert main(["-q", "mt", "evaluate", "--model", str(out / "checkpoint.pt"), "--prepared", str(prepared),
                 "--beam", "2", "--split", "val"]) == 0
    assert (out / "eval-val-beam2" / "val.en-fr.hyp.txt").exists()
    assert not (out / "checkpoint.pt").is_dir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "best.pt").write_bytes((out / "best.pt").read_bytes())
    (other / "spm.model").write_bytes(b"another vocabulary")
    capsys.readouterr()
    assert main(["-q", "mt", "evaluate", "--model", str(out), "--model", str(other), "--prepared",
                 str(prepared)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{other}: another subword vocabulary" in err
    # a folder without the run's vocabulary decodes with the pair's only when the sizes agree
    (other / "spm.model").unlink()
    assert main(["-q", "mt", "evaluate", "--model", str(other), "--prepared", str(prepared), "--beam", "2"]) == 0
    assert (other / "eval-test-beam2" / "test.en-fr.hyp.txt").read_text() == hyps.read_text()
    from umt.translation.vocab import Vocab

    monkeypatch.setattr(Vocab, "__len__", lambda self: 7)  # a pair prepared with another vocabulary size
    capsys.readouterr()
    assert main(["-q", "mt", "evaluate", "--model", str(other), "--prepared", str(prepared)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{other / 'spm.model'}: missing" in err and "(7 pieces)" in err


def test_paired_bleu_tells_a_real_difference_from_none():
    from sacrebleu.metrics import BLEU

    from umt.translation.evaluate import paired_bleu

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(30)]
    refs = [" ".join(rng.choice(words, 8)) for _ in range(300)]
    scrambled = [" ".join(rng.permutation(r.split())) for r in refs]
    better = [r if i % 2 else s for i, (r, s) in enumerate(zip(refs, scrambled))]  # half right
    worse = [r if i % 4 == 1 else s for i, (r, s) in enumerate(zip(refs, scrambled))]  # a quarter right
    clear = paired_bleu(worse, better, refs, samples=2000)
    assert clear["bleu_system"] == round(BLEU().corpus_score(better, [refs]).score, 2)  # sacrebleu's own BLEU
    assert clear["bleu_system"] > clear["bleu_baseline"] and clear["p_value"] < 0.01
    assert clear["differing_sentences"] == 75
    assert paired_bleu(better, better, refs, samples=2000)["p_value"] == 1.0
    # one sentence better: every trial swaps it or not and ties with the observed difference, which
    # chance explains fully (sacrebleu's PairedTest, counting only larger differences, says p = 0.0005)
    one = list(better)
    one[0] = refs[0]
    assert paired_bleu(better, one, refs, samples=2000)["p_value"] == 1.0
    # one sentence better and one worse: far inside the noise
    two = list(one)
    two[1] = scrambled[1]
    assert paired_bleu(better, two, refs, samples=2000)["p_value"] > 0.5


def test_mt_compare_refuses_outputs_not_aligned_with_the_references(tmp_path, capsys):
    refs, short = tmp_path / "refs.txt", tmp_path / "short.txt"
    refs.write_text("a b c\nd e f\n")
    short.write_text("a b c\n")
    assert main(["-q", "mt", "compare", str(short), str(refs), "--refs", str(refs)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(short) in err and "1 lines" in err
    assert main(["-q", "mt", "compare", str(refs), str(refs), "--refs", str(refs), "--samples", "0"]) == 2
    assert "--samples 0: expected a value >= 1" in capsys.readouterr().err


def test_bleu_interval_brackets_the_score_and_narrows_with_more_sentences():
    from umt.translation.evaluate import bleu_scores

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    refs = [" ".join(rng.choice(words, 8)) for _ in range(400)]
    # half the sentences copied, half with their words shuffled: a BLEU far from 0 and 100
    hyps = [r if i % 2 else " ".join(rng.permutation(r.split())) for i, r in enumerate(refs)]
    few, many = bleu_scores(hyps[:40], refs[:40], bootstrap=500), bleu_scores(hyps, refs, bootstrap=500)
    for s in (few, many):
        assert s["bleu_ci95"][0] < s["bleu"] < s["bleu_ci95"][1]
    assert many["bleu_ci95"][1] - many["bleu_ci95"][0] < few["bleu_ci95"][1] - few["bleu_ci95"][0]
    assert bleu_scores(hyps, refs, bootstrap=500) == many  # sacrebleu's fixed seed: the same interval again
    assert "bleu_ci95" not in bleu_scores(hyps, refs)


def test_lowercased_tokenized_bleu_follows_moses_and_multi_bleu():
    from umt.translation.evaluate import bleu_scores, moses_lowercase, multi_bleu

    french = moses_lowercase(["L'homme est à l'école, n'est-ce pas ?"], "fr")
    assert french == ["l' homme est à l' école , n' est-ce pas ?"]
    assert moses_lowercase(["A man's dog (brown) doesn't run."], "en") == ["a man 's dog ( brown ) doesn 't run ."]
    # case and spacing around punctuation do not count; words do
    refs = ["Un homme, avec un chapeau, regarde quelque chose.", "Deux chiens jouent dans l'herbe verte."]
    hyps = ["un homme , avec un chapeau , regarde quelque chose .", "DEUX CHIENS JOUENT DANS L'HERBE VERTE."]
    scores = bleu_scores(hyps, refs, "fr")
    assert scores["bleu_tok_lc"] == 100.0 and scores["bleu"] < 90  # sacreBLEU counts case
    assert "bleu_tok_lc" not in bleu_scores(hyps, refs)  # no language, no Moses rules to apply
    # multi-bleu.perl does not smooth: no matching 4-gram anywhere gives 0, where sacrebleu's default does not
    assert multi_bleu(["a b c d x e f"], ["a b c d y e f"]) > 0
    assert multi_bleu(["a b x c d y e f"], ["a b z c d w e f"]) == 0.0
    assert bleu_scores(["a b x c d y e f"], ["a b z c d w e f"])["bleu"] > 0


def test_mt_table_experiment_writes_its_table(prepared, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    run = tmp_path / "run"
    Trainer(MTData.load(prepared), _tiny_config(), run).fit(progress=False)
    script = Path(__file__).resolve().parents[1] / "experiments" / "mt_table.py"
    out = tmp_path / "mt"
    subprocess.run([sys.executable, str(script), "--runs", str(run), "--out", str(out)], check=True,
                   capture_output=True)
    rows = json.loads((tmp_path / "mt.json").read_text())
    assert [r["stage"] for r in rows] == ["word-by-word", "step 3", "step 6"]
    assert sum(r["selected"] for r in rows) == 1
    assert "en-fr BLEU" in (tmp_path / "mt.md").read_text()


def test_mt_table_adds_up_the_time_of_a_resumed_run(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "mt_table", Path(__file__).resolve().parents[1] / "experiments" / "mt_table.py")
    mt_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mt_table)
    run = tmp_path / "run"
    run.mkdir()
    history = [{"step": 0, "system": "word-by-word", "test_en-fr": 5.0, "roundtrip": 30.0},
               {"step": 200, "test_en-fr": 6.0, "roundtrip": 10.0, "seconds": 600.0},
               {"step": 400, "test_en-fr": 9.0, "roundtrip": 20.0, "seconds": 1200.0},
               {"step": 600, "test_en-fr": 12.0, "roundtrip": 25.0, "seconds": 500.0}]  # resumed after 400
    (run / "history.json").write_text(json.dumps(history))
    rows = mt_table.table_rows(run)
    assert [r["seconds"] for r in rows] == [None, 600.0, 1200.0, 1700.0]
    assert [r["selected"] for r in rows] == [False, False, False, True]


def test_mt_table_headline_keeps_the_directions_a_rerun_does_not_remeasure():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "mt_table", Path(__file__).resolve().parents[1] / "experiments" / "mt_table.py")
    mt_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mt_table)
    figures = {k: 20.0 for k in ("bleu_tok_lc_greedy", "bleu_tok_lc_beam", "bleu_greedy", "bleu_beam",
                                 "word_by_word_tok_lc", "word_by_word", "train_hours")}
    figures.update(bleu_greedy_ci95=[19.0, 21.0], bleu_beam_ci95=[19.0, 21.0], selected_step=800, signature="s")
    previous = {"machine": "old box", "date": "2026-12-06", "test_set": "t",
                "en-fr": {**figures, "bleu_greedy": 28.0}, "en-de": {**figures, "bleu_greedy": 19.5}}
    rerun = {"directions": {"en-fr": {**figures, "bleu_greedy": 29.5}}, "trained_steps": 900, "beam": 4,
             "pipeline": {"hours": 2.8}}
    head = mt_table.headline([rerun], previous)
    assert head["en-fr"]["bleu_greedy"] == 29.5 and head["en-fr"]["pipeline_hours"] == 2.8
    assert head["en-fr"]["date"] == head["date"] and head["en-fr"]["machine"] == head["machine"]
    assert head["en-de"]["bleu_greedy"] == 19.5  # not remeasured: kept, with where and when it was measured
    assert (head["en-de"]["date"], head["en-de"]["machine"]) == ("2026-12-06", "old box")
    assert "test_set" not in head["en-de"] and head["test_set"] != "t"


# ----- cross-lingual subword initialisation -----

class _PieceVocab:
    """A hand-made piece inventory with greedy longest-match segmentation (sentencepiece's interface)."""

    def __init__(self, pieces):
        self.pieces = ["<pad>", "<unk>", "<s>", "</s>", "<blank>"] + pieces
        self.special = {4}
        self.sp = self
        self.blank_id = 4

    def __len__(self):
        return len(self.pieces)

    def id_to_piece(self, i):
        return self.pieces[i]

    def is_unknown(self, i):
        return i == 1

    def encode(self, word):
        text, ids = "\u2581" + word, []
        while text:
            best = max((p for p in self.pieces[5:] if text.startswith(p)), key=len, default=None)
            ids.append(self.pieces.index(best) if best else 1)
            text = text[len(best):] if best else text[1:]
        return ids


def test_subword_vectors_carry_word_vectors_to_pieces():
    from collections import Counter

    from umt.translation.subword_init import project_to_width, subword_vectors

    en, fr = ["man", "dog", "dogs"], ["homme", "chien", "chiens"]
    vocab = _PieceVocab(["\u2581man", "\u2581homme", "\u2581dog", "\u2581chien", "s", "\u2581zzz"])
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((3, 12))
    shared /= np.linalg.norm(shared, axis=1, keepdims=True)
    # Translations share one vector, as after a perfect alignment; "dogs" is seen 3 times, "dog" once.
    vectors, covered = subword_vectors(vocab, [(en, shared, Counter({"man": 1, "dog": 1, "dogs": 3})),
                                               (fr, shared, Counter({"homme": 1, "chien": 1, "chiens": 1}))])
    piece = {p: i for i, p in enumerate(vocab.pieces)}
    for word, row in (("man", 0), ("homme", 0), ("dog", 1), ("chien", 1)):
        np.testing.assert_allclose(vectors[piece["\u2581" + word]], shared[row], atol=1e-6)  # whole word wins
    # "s" is only ever part of a word: the count-weighted mean of "dogs" (3) and "chiens" (1).
    np.testing.assert_allclose(vectors[piece["s"]], shared[2], atol=1e-6)
    assert covered.tolist() == [False] * 5 + [True] * 5 + [False]  # specials and the unused piece stay random
    low = project_to_width(vectors, covered, 4)
    np.testing.assert_allclose(np.linalg.norm(low[covered], axis=1), 1.0, atol=1e-5)
    assert not low[~covered].any()
    assert low[piece["\u2581man"]] @ low[piece["\u2581homme"]] > 0.999  # translations stay together
    assert low[piece["\u2581man"]] @ low[piece["\u2581dog"]] < 0.99


def test_trainer_starts_from_subword_vectors(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.subword_init import project_to_width, save_subword_vectors
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    n = len(data.vocab)
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((n, 16)).astype(np.float32)
    covered = np.zeros(n, dtype=bool)
    covered[10:30] = True
    save_subword_vectors(prepared / "subword_vectors.npz", vectors, covered)
    try:
        trainer = Trainer(data, _tiny_config(), tmp_path / "run")
        random = Trainer(data, _tiny_config(init_embeddings=False), tmp_path / "run2")
    finally:
        (prepared / "subword_vectors.npz").unlink()
    expected = project_to_width(vectors, covered, 32)
    got = trainer.model.tok.weight.detach().numpy()
    np.testing.assert_allclose(got[10:30], expected[10:30], atol=1e-6)
    np.testing.assert_allclose(got[40:], random.model.tok.weight.detach().numpy()[40:])  # the rest untouched


def test_conditional_code_length_of_a_uniform_model(prepared):
    """With every logit zero each token costs exactly log2 V bits: L(Y|X) = (tokens + ends) log2 V."""
    from umt.translation.evaluate import conditional_code_length

    vocab = Vocab(prepared / "spm.model")
    model = Seq2Seq(ModelConfig(vocab_size=len(vocab), dim=16, heads=2, enc_layers=1, dec_layers=1, ff_dim=32))
    with torch.no_grad():
        model.dec_ln.weight.zero_()
        model.dec_ln.bias.zero_()
    sources = ["A man runs.", "The dog sits on the grass."]
    targets = ["Un homme court.", "Le chien est assis sur l'herbe."]
    code = conditional_code_length(model, vocab, sources, targets, "en", "fr", batch_size=1)
    tokens = sum(len(ids) + 1 for ids in vocab.encode(targets))
    assert code["bits"] == pytest.approx(tokens * np.log2(len(vocab)), rel=1e-5)
    assert code["chars"] == sum(len(t) + 1 for t in targets)
    assert code["bpc"] == pytest.approx(code["bits"] / code["chars"])


def test_mt_corpus_command_appends_only_the_languages_half(data_root, tmp_path, capsys):
    import gzip

    from umt.corpora.multi30k import mono_split, read_split

    out = tmp_path / "fr.txt.gz"
    assert main(["-q", "mt", "corpus", "--lang", "fr", "--out", str(out), "--repeat", "2", "--mono-lines", "100",
                 "--data", str(data_root)]) == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) == 100 + 2 * 14000
    tail = lines[100:]
    captions = read_split("train", "fr", data_root)
    half = [captions[i] for i in mono_split("fr").train_range]
    assert tail == half + half  # two copies of the French half, nothing of the English half's lines
    assert "umt embed train" in capsys.readouterr().out


def test_true_case_restores_german_nouns_but_not_sentence_starts():
    from umt.translation.wordbyword import true_case

    casing = true_case(["Ein Hund läuft über die Wiese.", "Der Hund schläft.", "Die Katze sieht den Hund.",
                        "Ein Mann und ein Hund."])
    assert casing["hund"] == "Hund" and casing["wiese"] == "Wiese"
    assert casing["ein"] == "ein"  # "Ein" starts sentences only; inside them it is lowercase
    assert "der" not in casing  # seen only sentence-initially: no evidence, the lexicon keeps its form
    assert WordByWord({"dog": casing["hund"]}).translate_line("The dog.") == "The Hund."


def test_word_by_word_takes_case_from_the_table_not_the_source():
    wbw = WordByWord({"der": "the", "hund": "dog", "sieht": "sees", "berlin": "Berlin"})
    assert wbw.translate_line("Der Hund sieht Berlin.") == "The dog sees Berlin."
    assert wbw.translate_line("Der Hund sieht Paris.") == "The dog sees Paris."  # unknown: copied


_TINY_RUN = ["--steps", "4", "--pretrain-steps", "0", "--batch-size", "8", "--dim", "32", "--heads", "2",
             "--layers", "1", "--eval-every", "2",
             "--checkpoint-every", "2", "--wbw-steps", "2", "--ae-decay-steps", "4", "--beam", "2", "--device", "cpu"]


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
def test_mt_run_trains_evaluates_and_continues(prepared, tmp_path, capsys):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(prepared, out / "data")  # a prepared pair: the vectors and lexicon stages are skipped
    assert main(["-q", "mt", "run", "--out", str(out), *_TINY_RUN]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["trained_steps"] == 4 and results["beam"] == 2
    for direction in ("en-fr", "fr-en"):
        d = results["directions"][direction]
        for key in ("bleu_tok_lc_greedy", "bleu_tok_lc_beam", "bleu_greedy", "bleu_beam", "word_by_word_tok_lc",
                    "train_hours"):
            assert isinstance(d[key], float), key
        # the exact toy lexicon translates the toy test set almost perfectly word by word
        assert d["word_by_word_tok_lc"] > 50
        lo, hi = d["bleu_greedy_ci95"]
        assert lo <= d["bleu_greedy"] <= hi
    greedy = json.loads((out / "eval-test-beam1" / "metrics.json").read_text())
    assert greedy["beam"] == 1 and (out / "eval-test-beam2" / "test.en-fr.hyp.txt").exists()
    assert "| en->fr |" in (out / "report.md").read_text()
    assert not results["stopped_by_patience"] and "Trained 4 of 4 steps." in (out / "report.md").read_text()
    assert "en->fr: BLEU greedy" in capsys.readouterr().out
    # the vectors and lexicon came from elsewhere, untimed: the whole pipeline's hours are not made up
    pipeline = results["pipeline"]
    assert pipeline["hours"] is None and pipeline["stage_hours"]["prepare"] is None
    assert pipeline["stage_hours"]["evaluate_beam2"] is not None  # hours to 3 decimals: 0.0 for a tiny run
    assert json.loads((out / "stages.json").read_text())["evaluate_beam2"] > 0
    assert "Whole pipeline: not known (untimed: vectors_en, vectors_fr, prepare" in (out / "report.md").read_text()

    # again with the same settings: nothing is trained or evaluated anew
    stamp = (out / "eval-test-beam1" / "metrics.json").stat().st_mtime_ns
    assert main(["-q", "mt", "run", "--out", str(out), *_TINY_RUN]) == 0
    assert (out / "eval-test-beam1" / "metrics.json").stat().st_mtime_ns == stamp
    # a longer schedule continues the same run from its checkpoint, and is evaluated again
    longer = [*_TINY_RUN]
    longer[1] = "6"
    assert main(["-q", "mt", "run", "--out", str(out), *longer]) == 0
    steps = [r["step"] for r in json.loads((out / "train" / "history.json").read_text())]
    assert steps == [0, 2, 4, 6]
    assert json.loads((out / "results.json").read_text())["trained_steps"] == 6
    capsys.readouterr()

    # other settings are refused in one line, before the run directory is touched
    params = (out / "params.json").read_text()
    assert main(["-q", "mt", "run", "--out", str(out), *longer, "--lr", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.lr 0.0005 -> 0.1" in err
    assert (out / "params.json").read_text() == params

    # the table script reads the run: both conventions beside the paper's, the hours plot, the headline JSON
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "experiments" / "mt_table.py"
    table = tmp_path / "mt"
    subprocess.run([sys.executable, str(script), "--pipelines", str(out), "--out", str(table), "--headline",
                    str(tmp_path / "headline.json")], check=True, capture_output=True)
    head = json.loads((tmp_path / "headline.json").read_text())
    assert head["machine"] and head["date"]
    assert head["en-fr"]["trained_steps"] == 6 and head["fr-en"]["bleu_beam"] == results_of(out)["fr-en"]["bleu_beam"]
    assert "pipeline_hours" in head["en-fr"] and head["en-fr"]["pipeline_hours"] is None
    assert "Lample et al. 2018a" in (tmp_path / "mt.md").read_text()
    assert (tmp_path / "mt-en-fr-hours.png").stat().st_size > 1000


def results_of(run):
    return json.loads((run / "results.json").read_text())["directions"]


def test_mt_run_reuses_vectors_trained_with_other_threads_only(tmp_path, monkeypatch):
    from dataclasses import asdict, replace

    import numpy as np

    import umt.embeddings.train as embed_train
    from umt.embeddings.io import save_embeddings
    from umt.embeddings.vectors import Embeddings
    from umt.translation.pipeline import MTPipelineConfig, vectors

    cfg = MTPipelineConfig()
    folder = tmp_path / "emb" / "en"
    emb = Embeddings(["a", "b"], np.eye(2, dtype=np.float32), np.array([2, 1]), str(folder))
    save_embeddings(emb, folder, meta={"config": asdict(replace(cfg.embed, threads=7))})
    monkeypatch.setattr(embed_train, "train_embeddings", lambda *a, **k: (_ for _ in ()).throw(AssertionError()))
    assert vectors("en", cfg, tmp_path, progress=False).words == ["a", "b"]
    save_embeddings(emb, folder, meta={"config": asdict(replace(cfg.embed, dim=50))})
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "en.txt.gz").write_bytes(b"")  # written by an earlier sitting
    with pytest.raises(AssertionError):  # other vectors' settings: trained again
        vectors("en", cfg, tmp_path, progress=False)


def _bucketed_pair(prepared, tmp_path, buckets: int, **settings) -> tuple[list, list]:
    """Two trainers from the same weights, one padded batch against ``buckets`` passes, each with
    plain SGD at rate 1 (the update is the gradient, so the two are comparable), and the weights."""
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64, dropout=0.0)
    trainers = [Trainer(data, _tiny_config(model=model, length_buckets=b, **settings), tmp_path / f"b{b}")
                for b in (1, buckets)]
    for t in trainers:
        t.optimizer = torch.optim.SGD(t.model.parameters(), lr=1.0)
    return trainers, [p.detach().clone() for p in trainers[0].model.parameters()]


def _assert_same_update(trainers: list, before: list) -> None:
    moved = 0
    for a, b, start in zip(trainers[0].model.parameters(), trainers[1].model.parameters(), before):
        torch.testing.assert_close(b - start, a - start, rtol=1e-3, atol=1e-9)
        moved += int((a != start).sum())
    assert moved > 1000  # the step did move the weights


def test_length_buckets_give_the_same_step_as_one_padded_batch(prepared, tmp_path):
    trainers, before = _bucketed_pair(prepared, tmp_path, 3, wbw_steps=0)
    for t in trainers:
        t.step = 1  # back-translations from the model: the same for both, as their weights are equal
    examples = trainers[0].make_batch()
    assert examples == trainers[1].make_batch()
    assert len({len(e[0]) for e in examples}) > 3  # lengths differ, so the passes pad differently
    one, three = (t.learn(examples) for t in trainers)
    assert one.keys() == three.keys() and one["tokens"] == three["tokens"]
    for k in one:
        assert three[k] == pytest.approx(one[k], rel=1e-5), k
    _assert_same_update(trainers, before)


def test_length_buckets_give_the_same_masked_lm_step_as_one_padded_batch(prepared, tmp_path):
    trainers, before = _bucketed_pair(prepared, tmp_path, 4, pretrain_steps=5)
    one, four = (t.masked_lm_step() for t in trainers)
    assert one["tokens"] == four["tokens"] > 0
    assert four["mlm"] == pytest.approx(one["mlm"], rel=1e-5) and four["loss"] == four["mlm"]
    _assert_same_update(trainers, before)


def test_identical_spelling_wins_when_among_the_best_targets():
    from collections import Counter

    from umt.translation.wordbyword import lexicon_from_embeddings

    tgt_words = ["pantalon", "jeans", "chien", "chat"]
    tgt = np.eye(4, dtype=np.float32)
    src_words = ["jeans", "dog", "cat"]
    src = np.array([[0.8, 0.6, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float32)  # "jeans" nearer "pantalon"
    counts = (Counter(src_words), Counter(tgt_words))
    plain = lexicon_from_embeddings(src_words, src, tgt_words, tgt, *counts, csls_k=1)
    assert plain.table == {"jeans": "pantalon", "dog": "chien", "cat": "chat"}
    copied = lexicon_from_embeddings(src_words, src, tgt_words, tgt, *counts, csls_k=1, identical_top=2)
    assert copied.table == {"jeans": "jeans", "dog": "chien", "cat": "chat"}
    # not among the best two: the vectors decide
    far = src.copy()
    far[0] = [0.8, 0.0, 0.6, 0.0]
    assert lexicon_from_embeddings(src_words, far, tgt_words, tgt, *counts, csls_k=1, identical_top=2).table["jeans"] \
        == "pantalon"


def test_frequency_prior_mends_a_function_word_and_leaves_a_clear_translation():
    from collections import Counter

    from umt.translation.wordbyword import lexicon_from_embeddings

    tgt_words = ["and", "whilst", "dog"]
    tgt = np.eye(3, dtype=np.float32)
    src_words = ["und", "hund"]
    src = np.array([[0.6, 0.8, 0], [0, 0, 1]], dtype=np.float32)  # "und" a little nearer "whilst"
    counts = (Counter({"und": 100, "hund": 3}), Counter({"and": 100, "dog": 3, "whilst": 1}))
    plain = lexicon_from_embeddings(src_words, src, tgt_words, tgt, *counts, csls_k=1)
    assert plain.table == {"und": "whilst", "hund": "dog"}
    ranked = lexicon_from_embeddings(src_words, src, tgt_words, tgt, *counts, csls_k=1, frequency_prior=0.5)
    assert ranked.table == {"und": "and", "hund": "dog"}  # the CSLS margin (0.2) is less than the rank gap's cost
    weak = lexicon_from_embeddings(src_words, src, tgt_words, tgt, *counts, csls_k=1, frequency_prior=0.05)
    assert weak.table["und"] == "whilst"


@pytest.mark.slow  # several seconds: kept out of the quick loop (pytest -m "not slow")
@pytest.mark.parametrize("pretrain_steps", ["0", "2"])  # "2": masked-LM steps outside DDP's forward, then one more
def test_torchrun_ranks_stay_identical_on_the_cpu(prepared, tmp_path, pretrain_steps):
    import subprocess
    import sys
    from pathlib import Path

    worker = Path(__file__).resolve().parent / "ddp_worker.py"
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    for cmd, out in (([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                       str(worker)], tmp_path / "ddp"), ([sys.executable, str(worker)], tmp_path / "single")):
        done = subprocess.run([*cmd, str(prepared), str(out), pretrain_steps], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / "ddp" / f"rank{r}-of-2.pt", weights_only=False) for r in (0, 1)]
    single = torch.load(tmp_path / "single" / "rank0-of-1.pt", weights_only=False)
    # each rank draws its own sentences, and the averaged gradients keep the two models equal
    assert ranks[0]["first_batch"] != ranks[1]["first_batch"]
    for name, weight in ranks[0]["model"].items():
        torch.testing.assert_close(weight, ranks[1]["model"][name], rtol=0, atol=0, msg=name)
    # rank 0 draws what a single process draws; their weights differ, as rank 1's gradients count too
    assert ranks[0]["first_batch"] == single["first_batch"]
    assert any(not torch.equal(w, single["model"][n]) for n, w in ranks[0]["model"].items())


class _Payload:
    """An object a malicious checkpoint could carry: unpickling it would call os.system."""

    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/umt-payload-ran",))


def test_checkpoints_with_code_in_them_are_refused(prepared, tmp_path, capsys):
    from pathlib import Path

    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    run = tmp_path / "run"
    Trainer(MTData.load(prepared), _tiny_config(steps=2, eval_every=2, checkpoint_every=2), run).fit(progress=False)
    state = torch.load(run / "best.pt", weights_only=True)  # umt's own files load as plain data
    torch.save({**state, "roundtrip": np.float64(12.5)}, run / "best.pt")  # older umt saved numpy scalars
    from umt.translation.train import load_model

    assert load_model(run)[1]["roundtrip"] == 12.5
    marker = Path("/tmp/umt-payload-ran")
    marker.unlink(missing_ok=True)
    torch.save({**state, "extra": _Payload()}, run / "best.pt")
    capsys.readouterr()
    assert main(["-q", "translate", "--model", str(run), "--src", "en", "--tgt", "fr", "--input",
                 str(prepared / "test.en.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "best.pt: model holds more than tensors and plain data, refused" in err
    assert not marker.exists()


def test_masked_lm_pretraining_learns_then_hands_its_layers_to_the_decoder(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    trainer = Trainer(data, _tiny_config(pretrain_steps=40, steps=44, lr=3e-3, warmup=5), tmp_path / "run")
    decoder_before = {k: v.clone() for k, v in trainer.model.decoder.state_dict().items()}
    heldout = trainer.masked_lm_heldout()
    assert trainer.masked_lm_heldout() == heldout and trainer.step == 0  # the same masks, no step taken
    losses = [trainer.train_step() for _ in range(40)]
    assert all("mlm" in x for x in losses)
    assert np.mean([x["mlm"] for x in losses[-5:]]) < 0.7 * np.mean([x["mlm"] for x in losses[:5]])
    learnt = trainer.masked_lm_heldout()  # what it learnt carries to sentences it never saw
    assert learnt["mlm_heldout"] < 0.8 * heldout["mlm_heldout"]
    assert learnt["mlm_heldout_accuracy"] > heldout["mlm_heldout_accuracy"]
    for k, v in trainer.model.decoder.state_dict().items():  # the masked LM never touches the decoder
        assert torch.equal(v, decoder_before[k]), k
    encoder = {k: v.clone() for k, v in trainer.model.encoder.state_dict().items()}
    trainer.train_step()  # the first translation step: the decoder starts from the encoder, then learns
    assert trainer.ae_weight(trainer.step) < 1 and trainer.lr_at(40) == pytest.approx(3e-3 / 5)
    moved = trainer.model.decoder[0].self_attn.q.weight
    assert (moved - encoder["0.attn.q.weight"]).abs().max() < 0.05 < (moved - decoder_before["0.self_attn.q.weight"]
                                                                      ).abs().max()


def test_pretraining_runs_are_evaluated_only_once_the_decoder_learns(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    history = Trainer(MTData.load(prepared), _tiny_config(pretrain_steps=3, steps=6), tmp_path / "run").fit(False)
    assert [r["step"] for r in history] == [0, 3, 6]  # step 3 ends the pretraining: nothing to translate with yet
    pretraining = history[1]
    assert pretraining["system"] == "masked-LM pretraining" and pretraining["seconds"] > 0
    assert "roundtrip" not in pretraining


def test_pretraining_records_its_heldout_curve(prepared, tmp_path):
    """Every --eval-every steps of pretraining the masked LM is scored on the held-out monolingual
    sentences (the curve that tells how long to pretrain); the translation evaluations are unchanged."""
    from umt.translation.data import MTData
    from umt.translation.history import MLM_CURVE, selected_evaluation
    from umt.translation.train import Trainer

    history = Trainer(MTData.load(prepared), _tiny_config(pretrain_steps=6, steps=8), tmp_path / "run").fit(False)
    assert [(r["step"], r.get("system")) for r in history] == [
        (0, "word-by-word"), (3, MLM_CURVE), (6, "masked-LM pretraining"), (8, None)]
    for row in history[1:3]:
        assert row["mlm_heldout"] > 0 and 0 <= row["mlm_heldout_accuracy"] <= 1 and row["seconds"] > 0
    assert selected_evaluation(history)["step"] == 8


def test_a_run_started_from_anothers_pretraining_continues_it_bit_for_bit(prepared, tmp_path):
    """pretrained.pt holds a run at the end of its masked-LM pretraining: a second run started from
    it (e.g. on a relexed copy of the pair) ends where the first ends, charged the pretraining."""
    import shutil

    from umt.errors import UmtError
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data, cfg = MTData.load(prepared), lambda **kw: _tiny_config(pretrain_steps=3, steps=6, **kw)
    first = Trainer(data, cfg(), tmp_path / "first")
    first.fit(False)
    pretrained = tmp_path / "first" / "pretrained.pt"
    second = Trainer(data, cfg(), tmp_path / "second", pretrained=pretrained)
    assert second.step == 3
    history = second.fit(False)
    for k, v in first.model.state_dict().items():
        assert torch.equal(v, second.model.state_dict()[k]), k
    assert [r.get("system") for r in history[:2]] == ["word-by-word", "masked-LM pretraining"]
    assert history[1]["pretrained_in"] == str(pretrained.parent) and history[2]["seconds"] >= history[1]["seconds"]
    with pytest.raises(UmtError, match=r"other settings \(lr 0.0005 -> 0.001"):
        Trainer(data, cfg(lr=1e-3), tmp_path / "lr", pretrained=pretrained)
    with pytest.raises(UmtError, match="holds 3 masked-LM steps; give --pretrain-steps 3"):
        Trainer(data, _tiny_config(), tmp_path / "none", pretrained=pretrained)
    with pytest.raises(UmtError, match="not a pretrained.pt"):
        Trainer(data, cfg(), tmp_path / "ckpt", pretrained=tmp_path / "first" / "checkpoint.pt")
    other = shutil.copytree(prepared, tmp_path / "other")
    train = other / f"train.{data.src}.txt"
    train.write_text("\n".join(train.read_text().splitlines()[1:]) + "\n")  # one sentence fewer
    with pytest.raises(UmtError, match="other subwords or training text"):
        Trainer(MTData.load(other), cfg(), tmp_path / "text", pretrained=pretrained)


def test_a_run_branches_off_a_longer_pretraining_at_its_snapshot(prepared, tmp_path):
    """--pretrain-snapshots keeps pretrained-STEP.pt inside a long pretraining; a run started there
    with --pretrain-steps STEP is bit for bit the run that pretrained STEP steps itself, so that
    pretraining lengths are compared without pretraining again."""
    from umt.errors import UmtError
    from umt.translation.data import MTData
    from umt.translation.history import MLM_CURVE
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    long = Trainer(data, _tiny_config(pretrain_steps=6, steps=6, pretrain_snapshots=3), tmp_path / "long")
    long.fit(False)
    snapshot = tmp_path / "long" / "pretrained-3.pt"
    assert snapshot.exists() and not (tmp_path / "long" / "pretrained-6.pt").exists()  # the end is pretrained.pt
    branch = Trainer(data, _tiny_config(pretrain_steps=3, steps=5), tmp_path / "branch", pretrained=snapshot)
    history = branch.fit(False)
    scratch = Trainer(data, _tiny_config(pretrain_steps=3, steps=5), tmp_path / "scratch")
    scratch.fit(False)
    for k, v in scratch.model.state_dict().items():
        assert torch.equal(v, branch.model.state_dict()[k]), k
    assert [(r["step"], r.get("system")) for r in history] == [
        (0, "word-by-word"), (3, MLM_CURVE), (3, "masked-LM pretraining"), (5, None)]
    assert history[2]["pretrained_in"] == str(snapshot.parent) and history[2]["mlm_heldout"] > 0
    assert history[1]["seconds"] <= history[2]["seconds"] <= history[3]["seconds"]  # charged the time to get there
    with pytest.raises(UmtError, match="holds 3 masked-LM steps; give --pretrain-steps 3"):
        Trainer(data, _tiny_config(pretrain_steps=4, steps=5), tmp_path / "four", pretrained=snapshot)


def test_training_options_default_to_the_config_and_pretraining_fits_in_the_steps(prepared, tmp_path, capsys):
    """The command line and the API train the same measured recipe; masked-LM steps count in
    --steps, so more of them than steps is one line naming the option (equal: pretraining only)."""
    import argparse
    from dataclasses import asdict

    from umt.errors import UmtError
    from umt.translation.cli import _add_train_options, _train_config
    from umt.translation.train import MTTrainConfig

    parser = argparse.ArgumentParser()
    _add_train_options(parser)
    assert _train_config(parser.parse_args([])) == MTTrainConfig()
    assert MTTrainConfig().pretrain_steps > 0
    assert _train_config(parser.parse_args(["--ae-weight-end", "1"])).ae_weight_end == 1.0  # no decay
    assert _train_config(parser.parse_args(["--average-decay", "0.998"])).average_decay == 0.998
    assert MTTrainConfig().amp and not _train_config(parser.parse_args(["--float32"])).amp
    recorded = {k: v for k, v in asdict(MTTrainConfig(steps=600, pretrain_steps=0)).items() if k != "pretrain_steps"}
    assert MTTrainConfig.from_dict(recorded).pretrain_steps == 0  # a run from before pretraining had none
    assert MTTrainConfig(steps=5, pretrain_steps=5).pretrain_steps == 5
    with pytest.raises(UmtError, match="expected at most steps"):
        MTTrainConfig(steps=4)
    assert main(["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), "--steps",
                 "4"]) == 2
    err = capsys.readouterr().err
    assert "--pretrain-steps 5000: expected at most --steps (4)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    assert main(["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"),
                 "--ae-weight-end", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("umt: error: --ae-weight-end -1") and len(err.strip().splitlines()) == 1


def test_mt_train_takes_resume_or_pretrained_not_both(prepared, tmp_path, capsys):
    assert main(["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), "--resume",
                 "--pretrained", str(tmp_path / "pretrained.pt"), "--pretrain-steps", "2"]) == 2
    assert "--pretrained starts a new one" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resuming_with_other_settings_is_refused_not_silently_ignored(prepared, tmp_path, capsys):
    tiny = ["--batch-size", "8", "--heads", "2", "--layers", "1", "--eval-every", "2", "--checkpoint-every", "2",
            "--pretrain-steps", "0", "--wbw-steps", "2", "--ae-decay-steps", "4", "--device", "cpu"]
    common = ["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *tiny]
    assert main([*common, "--steps", "2", "--dim", "32"]) == 0
    capsys.readouterr()
    assert main([*common, "--steps", "4", "--dim", "64", "--resume"]) == 2
    assert "model.dim 32 -> 64" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "history.json").read_text())[-1]["step"] == 2  # untouched
    assert main([*common, "--steps", "4", "--dim", "32", "--resume"]) == 0  # a longer run, as it started: fine
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["step"] == 4
    # the second sitting's clock continues the first's: a resumed run's hours are read off its last row
    import torch

    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["seconds"]
    assert 0 < history[-2]["seconds"] <= history[-1]["seconds"] <= saved


_TINY_TRAIN = ["--batch-size", "8", "--heads", "2", "--layers", "1", "--dim", "32", "--eval-every", "2",
               "--checkpoint-every", "2", "--pretrain-steps", "0", "--wbw-steps", "2", "--ae-decay-steps", "4",
               "--device", "cpu"]


def test_test_bleu_is_shown_at_every_nth_evaluation_and_the_last_and_may_change_on_resume(prepared, tmp_path):
    """Round trip (the selection) at every evaluation; test BLEU, display only, at every
    --display-every-th and at the last step; a resumed run may show it more often, and add
    validation BLEU."""
    common = ["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *_TINY_TRAIN]
    assert main([*common, "--steps", "10", "--display-every", "3"]) == 0
    rows = [r for r in json.loads((tmp_path / "run" / "history.json").read_text()) if r.get("system") is None]
    assert [r["step"] for r in rows] == [2, 4, 6, 8, 10] and all("roundtrip" in r for r in rows)
    assert [r["step"] for r in rows if "test_en-fr" in r] == [6, 10]
    assert all(("test_fr-en_tok_lc" in r) == ("test_en-fr" in r) for r in rows)
    assert main([*common, "--steps", "14", "--display-every", "1", "--eval-val", "--resume"]) == 0
    rows = [r for r in json.loads((tmp_path / "run" / "history.json").read_text()) if r.get("system") is None]
    assert [r["step"] for r in rows if "test_en-fr" in r] == [6, 10, 12, 14]
    assert [r["step"] for r in rows if "val_fr-en" in r] == [12, 14]


def test_translate_names_a_lexicon_of_the_other_direction_and_bad_utf8_on_stdin(prepared, monkeypatch, capsys):
    lexicon = str(prepared / "lexicon.fr-en.tsv")
    assert main(["-q", "translate", "--lexicon", lexicon, "--src", "en", "--tgt", "fr"]) == 2
    assert "lexicon.fr-en.tsv: a fr->en lexicon, by its name, not en->fr" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("Le chien.\nLe caf\xe9.\n".encode("latin-1"))))
    assert main(["-q", "translate", "--lexicon", lexicon, "--src", "fr", "--tgt", "en"]) == 2
    assert "<stdin>:2: not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Le chien court.\r\n")))
    assert main(["-q", "translate", "--lexicon", lexicon, "--src", "fr", "--tgt", "en"]) == 0
    assert capsys.readouterr().out == "The dog runs.\n"


def test_weight_average_follows_its_formula_and_swaps_back():
    import torch

    from umt.translation.averaging import WeightAverage

    model = torch.nn.Linear(3, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    average = WeightAverage(model, 0.75)
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update()  # the first update keeps a tenth of the start: d_0 = min(0.75, 1 / 10)
    expected = 0.1 * start["weight"] + 0.9 * (start["weight"] + 1.0)
    assert torch.allclose(average.state_dict()["weights"]["weight"], expected)
    for _ in range(30):  # then d_t grows to the decay asked for
        average.update()
    assert average.updates == 31 and min(0.75, 31 / 40) == 0.75
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update()
    expected = 0.75 * (start["weight"] + 1.0) + 0.25 * (start["weight"] + 2.0)
    assert torch.allclose(average.state_dict()["weights"]["weight"], expected, atol=1e-6)
    live = model.weight.detach().clone()
    with average.swapped_in():
        assert torch.allclose(model.weight, expected)
    assert torch.equal(model.weight, live)  # the live weights are back, bit for bit
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(model, 1.0)


@pytest.mark.slow
def test_averaged_weights_are_evaluated_beside_the_live_ones_and_may_be_selected(prepared, tmp_path):
    """Averaging changes no training step; each evaluation row holds both models' figures, and
    best.pt holds whichever round-trip BLEU prefers, as the run's summary says."""
    import torch

    from umt.translation.data import MTData
    from umt.translation.history import selected_evaluation
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    plain = Trainer(data, _tiny_config(steps=3), tmp_path / "plain").fit(progress=False)
    averaged = Trainer(data, _tiny_config(steps=3, average_decay=0.5), tmp_path / "avg").fit(progress=False)
    for a, b in zip(plain[1:], averaged[1:]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6) and a["roundtrip"] == b["roundtrip"]
        assert "averaged" not in a and set(b["averaged"]) >= {"roundtrip", "test_en-fr", "test_fr-en"}
    chosen = selected_evaluation(averaged)
    best = torch.load(tmp_path / "avg" / "best.pt", weights_only=False)
    assert best["step"] == chosen["step"] and best["roundtrip"] == chosen["roundtrip"]
    assert best["weights"] == chosen.get("weights", "live")
    saved = torch.load(tmp_path / "avg" / "checkpoint.pt", weights_only=False)["average"]
    resumed = Trainer(data, _tiny_config(average_decay=0.5), tmp_path / "avg", resume=True)
    assert resumed.average.updates == saved["updates"] == 3  # one update a translation step
    assert all(torch.equal(resumed.average.state_dict()["weights"][k], v) for k, v in saved["weights"].items())
    # a run resumed with averaging turned on starts it at its next step
    late = Trainer(data, _tiny_config(average_decay=0.5), tmp_path / "plain", resume=True)
    assert late.average is None
    late.train_step()
    assert late.average is not None


def test_native_bfloat16_is_read_off_the_device(monkeypatch):
    from umt.device import native_bfloat16

    for avx512_bf16, amx in ((False, False), (True, False), (False, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert native_bfloat16(torch.device("cpu")) == (avx512_bf16 or amx)
    assert native_bfloat16(torch.device("cuda"))  # no GPU is needed to say so
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert not native_bfloat16(torch.device("cpu"))  # a torch without the probes: float32, not an error


@pytest.mark.parametrize("native", [True, False])
def test_bfloat16_autocast_trains_where_native_and_keeps_float32_weights(prepared, tmp_path, monkeypatch, native):
    """Where the device computes bfloat16 natively, the masked-LM and translation steps run their
    matmuls in bfloat16 (emulated here when the CPU has none), with losses near float32's; weights,
    gradients and the optimiser stay float32, and so does the CPU's greedy back-translation.
    Elsewhere, float32 throughout."""
    from dataclasses import replace

    import umt.translation.train as train
    from umt.translation.data import MTData

    monkeypatch.setattr(train, "native_bfloat16", lambda device: native)
    data = MTData.load(prepared)
    model = ModelConfig(dim=32, heads=2, enc_layers=1, dec_layers=1, ff_dim=64, dropout=0.0)  # no random draws
    settings = dict(amp=True, pretrain_steps=2, steps=6, wbw_steps=0, model=model)
    mixed = train.Trainer(data, _tiny_config(**settings), tmp_path / "mixed")
    plain = train.Trainer(data, _tiny_config(**{**settings, "amp": False, "model": replace(model)}), tmp_path / "plain")
    assert mixed.uses_bfloat16 == native and not plain.uses_bfloat16
    seen, decoded = [], []  # the dtype of a feed-forward layer's output while learning, and while decoding

    def hook(module, inputs, out):
        (seen if module.training else decoded).append(out.dtype)

    mixed.model.decoder[0].ff[0].register_forward_hook(hook)
    mixed.model.encoder[0].ff[0].register_forward_hook(hook)
    for _ in range(2):
        got, want = mixed.masked_lm_step(), plain.masked_lm_step()
        assert got["mlm"] == pytest.approx(want["mlm"], rel=0.02)
    got, want = mixed.train_step(), plain.train_step()  # back-translates with the model, then learns
    for task in ("ae_en", "bt_en", "ae_fr", "bt_fr"):
        assert np.isfinite(got[task]) and got[task] == pytest.approx(want[task], rel=0.05), task
    assert set(seen) == {torch.bfloat16 if native else torch.float32}
    assert set(decoded) == {torch.float32}  # on the CPU greedy back-translation gains nothing from bfloat16
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for p in mixed.model.parameters()
               if p.grad is not None)
    assert (got["loss"] == want["loss"]) != native  # bfloat16 did round something


def _scripted_roundtrips(monkeypatch, values: list[float]) -> None:
    """Evaluations that return ``values`` in turn as round-trip BLEU: the stopping rule reads nothing else."""
    from umt.translation.train import Trainer

    def evaluate(self, beam: int = 1, display: bool = True) -> dict:
        done = sum(1 for r in self.history if r.get("system") is None)
        return {"step": self.step, "roundtrip": values[done]}

    monkeypatch.setattr(Trainer, "evaluate", evaluate)


def test_patience_counts_evaluations_since_the_best_round_trip(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    trainer = Trainer(MTData.load(prepared), _tiny_config(patience=2), tmp_path / "run")
    rows = lambda *rts: [{"step": 0, "system": "word by word"}] + [  # noqa: E731
        {"step": 3 * (i + 1), "roundtrip": rt} for i, rt in enumerate(rts)]
    for history, stalled in (([], False), (rows(10), False), (rows(10, 12, 11), False), (rows(10, 12, 11, 12), True),
                             (rows(10, 12, 11, 13), False), (rows(10, 9, 8), True)):
        trainer.history = history
        assert trainer.stalled() == stalled, history
    # an averaged model that wins the round trip is the best, as best.pt keeps it
    trainer.history = rows(10, 11, 11) + [{"step": 12, "roundtrip": 9, "averaged": {"roundtrip": 14}}]
    assert not trainer.stalled() and trainer.best_roundtrip_step() == 12
    trainer.cfg.patience = 0
    trainer.history = rows(10, 9, 8, 7)
    assert not trainer.stalled()


def test_training_stops_when_the_round_trip_stalls_and_a_resumed_run_stays_stopped(prepared, tmp_path, monkeypatch):
    """--steps is the most a run trains; with --patience it stops at the evaluation that makes the
    stall, checkpoints there, and continues only when resumed with more patience."""
    import torch

    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    _scripted_roundtrips(monkeypatch, [10, 12, 11, 12, 15, 16, 17, 18, 19, 20])
    data = MTData.load(prepared)
    history = Trainer(data, _tiny_config(steps=30, patience=2), tmp_path / "run").fit(progress=False)
    assert [r["step"] for r in history if r.get("system") is None] == [3, 6, 9, 12]
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == 12
    assert torch.load(tmp_path / "run" / "best.pt", weights_only=False)["step"] == 6
    again = Trainer(data, _tiny_config(steps=30, patience=2), tmp_path / "run", resume=True)
    assert again.stalled()
    again.fit(progress=False)
    assert again.step == 12
    more = Trainer(data, _tiny_config(steps=18, patience=3), tmp_path / "run", resume=True)
    more.fit(progress=False)
    assert more.step == 18 and more.best_roundtrip_step() == 18


def test_a_selection_tolerance_keeps_the_last_model_within_it_of_the_best_and_can_be_kept_online():
    from umt.translation.history import evaluations_since_best, selected_evaluation

    rows = lambda *rts: [{"step": 0, "system": "word by word"}] + [  # noqa: E731
        {"step": 3 * (i + 1), "roundtrip": rt} for i, rt in enumerate(rts)]
    history = rows(10, 12, 11.5, 9, 11.2, 8)
    assert selected_evaluation(history)["step"] == 6
    assert selected_evaluation(history, 1.0)["step"] == 15 and evaluations_since_best(history, 1.0) == 1
    assert selected_evaluation(history, 0.5)["step"] == 9 and selected_evaluation(history, 0.4)["step"] == 6
    assert selected_evaluation(rows(10, 12, 12), 0.0)["step"] == 6  # the first of equal bests
    # what training keeps in best.pt, deciding at each evaluation, is the selection of the whole history
    rng = np.random.default_rng(0)
    for tolerance in (0.0, 0.5, 1.0, 3.0):
        for _ in range(50):
            history = rows(*np.round(rng.normal(50, 2, size=12), 1))
            kept = None
            for n in range(2, len(history) + 1):
                if selected_evaluation(history[:n], tolerance)["step"] == history[n - 1]["step"]:
                    kept = history[n - 1]["step"]
            assert kept == selected_evaluation(history, tolerance)["step"]


def test_training_with_a_selection_tolerance_keeps_the_later_model_and_counts_patience_from_it(prepared, tmp_path,
                                                                                            monkeypatch):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    _scripted_roundtrips(monkeypatch, [10, 12, 11.5, 9, 11.2, 8, 7, 6, 5])
    cfg = _tiny_config(steps=27, patience=2, selection_tolerance=1.0)
    history = Trainer(MTData.load(prepared), cfg, tmp_path / "run").fit(progress=False)
    assert [r["step"] for r in history if r.get("system") is None] == [3, 6, 9, 12, 15, 18, 21]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    assert (best["step"], best["roundtrip"]) == (15, 11.2)


def test_mt_train_resume_may_change_patience_only_like_steps(prepared, tmp_path, capsys, monkeypatch):
    _scripted_roundtrips(monkeypatch, [10, 9, 8, 7, 6, 5])
    common = ["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *_TINY_TRAIN]
    assert main([*common, "--steps", "20", "--patience", "1"]) == 0
    rows = [r for r in json.loads((tmp_path / "run" / "history.json").read_text()) if r.get("system") is None]
    assert [r["step"] for r in rows] == [2, 4]
    assert main([*common, "--steps", "20", "--patience", "2", "--resume"]) == 0
    rows = [r for r in json.loads((tmp_path / "run" / "history.json").read_text()) if r.get("system") is None]
    assert [r["step"] for r in rows] == [2, 4, 6]
    capsys.readouterr()
    assert main([*common, "--steps", "20", "--patience", "-1", "--resume"]) == 2
    assert "patience" in capsys.readouterr().err


def test_the_report_says_when_patience_stopped_training():
    from umt.translation.pipeline import _stop_line

    summary = {"trained_steps": 7400, "stopped_by_patience": True, "config": {"train": {"steps": 10400, "patience": 5}}}
    assert _stop_line(summary) == ("Trained 7400 of 10400 steps: round-trip BLEU had not risen for 5 evaluations "
                                   "(--patience).")
    assert _stop_line({**summary, "stopped_by_patience": False}) == "Trained 7400 of 10400 steps."
    tolerant = {**summary, "config": {"train": {"steps": 10400, "patience": 5, "selection_tolerance": 1.5}}}
    assert _stop_line(tolerant) == ("Trained 7400 of 10400 steps: round-trip BLEU stayed more than 1.5 below its "
                                    "best for 5 evaluations (--patience).")


def _signal_at_step(monkeypatch, step: int, times: int = 1) -> None:
    """``kill`` sent to this process ``times`` times right after training step ``step``."""
    import os
    import signal

    from umt.translation.train import Trainer

    original = Trainer.train_step

    def train_step(self):
        losses = original(self)
        if self.step == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGTERM)
        return losses

    monkeypatch.setattr(Trainer, "train_step", train_step)


def test_a_killed_run_checkpoints_the_step_it_was_in_and_resumes_as_if_never_stopped(prepared, tmp_path,
                                                                                   monkeypatch):
    """SIGTERM (or Ctrl-C) between checkpoints: the step in progress finishes and is saved, so the
    resumed run loses nothing and ends with the weights of a run never stopped."""
    import signal

    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    data = MTData.load(prepared)
    straight = Trainer(data, _tiny_config(steps=7, eval_every=7), tmp_path / "straight")
    straight.fit(progress=False)
    handler = signal.getsignal(signal.SIGTERM)
    _signal_at_step(monkeypatch, 4)  # checkpoints fall at steps 3 and 6
    with pytest.raises(KeyboardInterrupt):
        Trainer(data, _tiny_config(steps=7, eval_every=7), tmp_path / "killed").fit(progress=False)
    assert signal.getsignal(signal.SIGTERM) is handler
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=False)["step"] == 4
    monkeypatch.undo()
    resumed = Trainer(data, _tiny_config(steps=7, eval_every=7), tmp_path / "killed", resume=True)
    assert resumed.step == 4
    resumed.fit(progress=False)
    for name, value in straight.model.state_dict().items():
        assert torch.allclose(resumed.model.state_dict()[name], value, atol=1e-6), name
    assert [r["step"] for r in resumed.history] == [r["step"] for r in straight.history]


def test_a_second_kill_stops_at_once_and_the_cli_says_how_to_continue(prepared, tmp_path, monkeypatch, capsys):
    _signal_at_step(monkeypatch, 4, times=2)
    args = ["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *_TINY_TRAIN,
            "--steps", "7", "--checkpoint-every", "3", "--eval-every", "7"]
    assert main(args) == 130
    assert "interrupted; the same command with --resume continues" in capsys.readouterr().err
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == 3  # the last periodic one


def test_mt_train_cuts_sentences_at_the_runs_max_len_as_mt_run_does(prepared, tmp_path, monkeypatch):
    from umt.errors import UmtError
    from umt.translation.data import MTData
    from umt.translation.train import MTTrainConfig

    asked = []

    def load(folder, max_len=100):
        asked.append(max_len)
        raise UmtError("enough")

    monkeypatch.setattr(MTData, "load", load)
    assert main(["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run")]) == 2
    assert asked == [MTTrainConfig().max_len]


def test_the_learning_rate_halves_every_half_life_after_its_start_in_translation_only(prepared, tmp_path):
    from umt.translation.data import MTData
    from umt.translation.train import Trainer

    cfg = _tiny_config(lr=1e-3, warmup=2, pretrain_steps=5, lr_half_life=10, lr_decay_start=20)
    trainer = Trainer(MTData.load(prepared), cfg, tmp_path / "run")
    assert trainer.lr_at(0) == pytest.approx(5e-4) and trainer.lr_at(4) == pytest.approx(1e-3)  # warm-up, then flat
    assert [trainer.lr_at(5 + t) for t in (0, 20, 30, 45)] == pytest.approx([5e-4, 1e-3, 5e-4, 1e-3 * 0.5 ** 2.5])
    trainer.cfg.lr_half_life = 0
    assert trainer.lr_at(5 + 45) == pytest.approx(1e-3)


def test_resuming_a_run_recorded_before_a_setting_existed_takes_the_commands_value(prepared, tmp_path):
    """As `umt mt run` does: a setting the run's record lacks (added to umt since) is the command's,
    not silently the default."""
    common = ["-q", "mt", "train", "--prepared", str(prepared), "--out", str(tmp_path / "run"), *_TINY_TRAIN]
    assert main([*common, "--steps", "2"]) == 0
    saved = tmp_path / "run" / "config.json"
    record = json.loads(saved.read_text())
    del record["lr_half_life"]
    saved.write_text(json.dumps(record))
    assert main([*common, "--steps", "4", "--lr-half-life", "5", "--resume"]) == 0
    assert json.loads(saved.read_text())["lr_half_life"] == 5
