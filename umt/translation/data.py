"""Preparing one language pair for unsupervised MT: data split, subwords, word-by-word lexicons.

``prepare_mt`` writes into a folder:

* the Multi30k monolingual halves and parallel evaluation sets (``umt.corpora.multi30k``);
* ``spm.model``: a joint sentencepiece model trained on the two monolingual training halves;
* ``lexicon.SRC-TGT.tsv`` and ``lexicon.TGT-SRC.tsv``: word-by-word tables induced from
  cross-lingual embeddings aligned without supervision (the ``align`` run is recorded in
  ``prepare.json``);
* ``subword_vectors.npz``: the same cross-lingual vectors carried over to the sentencepiece pieces,
  to initialise the model's embeddings (``umt.translation.subword_init``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from umt.config import model_languages
from umt.corpora.multi30k import check_pair, load_lines, prepare_multi30k
from umt.errors import UmtError
from umt.fileio import read_json, write_json
from umt.translation.subword_init import save_subword_vectors, subword_vectors
from umt.translation.vocab import Vocab, train_sentencepiece
from umt.translation.wordbyword import WordByWord, lexicon_from_embeddings, true_case, word_counts

log = logging.getLogger("umt")

#: The alignment recipe of the word-by-word lexicons when no mapping is given (one seed; ``duo``,
#: ``umt align``'s default, runs two).
MT_PRESET = "fast"
#: A source word keeps its spelling when it is among its N best translations (0: never); see
#: :func:`umt.translation.wordbyword.lexicon_from_embeddings`.
IDENTICAL_TOP = 0
# The word-by-word lexicon's frequency-rank prior (wordbyword.lexicon_from_embeddings); 0: none.
# 0.01: the middle of the plateau (0.005-0.02) on en-de's validation split; neutral on en-fr's.
FREQUENCY_PRIOR = 0.01


def build_lexicons(src: str, tgt: str, folder: Path, src_emb, tgt_emb, mapping,
                   identical_top: int = IDENTICAL_TOP, frequency_prior: float = FREQUENCY_PRIOR) -> dict:
    """Write both word-by-word tables and the subword vectors from a saved ``src -> tgt`` mapping
    (``identical_top``, ``frequency_prior``: see :func:`umt.translation.wordbyword.lexicon_from_embeddings`)."""
    from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare

    xm, y = mapping.apply(*prepare(src_emb, tgt_emb, mapping.normalize or DEFAULT_NORMALIZE))
    counts = {lang: word_counts(load_lines(folder / f"train.{lang}.txt")) for lang in (src, tgt)}
    forward = lexicon_from_embeddings(src_emb.words, xm, tgt_emb.words, y, counts[src], counts[tgt],
                                      identical_top=identical_top, frequency_prior=frequency_prior)
    backward = lexicon_from_embeddings(tgt_emb.words, y, src_emb.words, xm, counts[tgt], counts[src],
                                       identical_top=identical_top, frequency_prior=frequency_prior)
    for table, lang in ((forward, tgt), (backward, src)):  # vectors are lowercase, the text is not
        casing = true_case(load_lines(folder / f"train.{lang}.txt"))
        table.table = {s: casing.get(t, t) for s, t in table.table.items()}
    forward.save(folder / f"lexicon.{src}-{tgt}.tsv")
    backward.save(folder / f"lexicon.{tgt}-{src}.tsv")
    vectors, pieces_covered = subword_vectors(Vocab(folder / "spm.model"),
                                              [(src_emb.words, xm, counts[src]), (tgt_emb.words, y, counts[tgt])])
    save_subword_vectors(folder / "subword_vectors.npz", vectors, pieces_covered)
    info = {}
    for lang, table in ((src, forward), (tgt, backward)):
        c = counts[lang]
        covered = sum(n for w, n in c.items() if w in table.table)
        info[f"{lang}_token_coverage"] = round(covered / max(sum(c.values()), 1), 4)
        info[f"{lang}_types"] = len(c)
    info["subword_pieces_initialised"] = int(pieces_covered.sum())
    return info


def prepare_mt(src: str, tgt: str, out: str | os.PathLike, src_emb, tgt_emb, mapping_dir: str | os.PathLike | None,
               data=None, vocab_size: int = 8000, heldout: int = 500, progress: bool = True,
               control_target: bool = False, preset_name: str = MT_PRESET, identical_top: int = IDENTICAL_TOP,
               corpora: dict | None = None, sentences: int = 30000, test_files: dict | None = None,
               frequency_prior: float = FREQUENCY_PRIOR) -> dict:
    """Everything ``umt mt train`` reads, in ``out``.

    The monolingual text comes from Multi30k's disjoint halves, or, with ``corpora`` (language ->
    corpus file), ``sentences`` lines drawn from each corpus (:mod:`umt.corpora.mono_pair`; any
    language pair, with the parallel ``test_files`` to score on if given). Without ``mapping_dir``
    the embeddings are first aligned without supervision with the preset ``preset_name``
    (:mod:`umt.alignment.presets`) into ``out/align``.
    """
    from umt.alignment.spaces import load_mapping
    from umt.ranges import NON_NEGATIVE, POSITIVE, Range, check_option

    check_option("vocab_size", vocab_size, POSITIVE)  # sentencepiece would find out late, after the data work
    check_option("heldout", heldout, NON_NEGATIVE)
    check_option("identical_top", identical_top, NON_NEGATIVE)
    check_option("frequency_prior", frequency_prior, Range(low=0.0))
    if corpora is None:
        check_pair(src, tgt)
    elif control_target:
        raise UmtError("--control-target makes a Multi30k half structureless; it does not apply to --src-corpus")
    aligned_here = mapping_dir is None
    if aligned_here:
        from umt.alignment.presets import resolve

        cfg = resolve(preset_name)  # an unknown name fails here, before the data work
    out = Path(out)
    if corpora is None:
        manifest = prepare_multi30k(src, tgt, out, data, heldout, control_target)
    else:
        from umt.corpora.mono_pair import prepare_corpus_pair

        manifest = prepare_corpus_pair(src, tgt, out, corpora, sentences, heldout, test=test_files)
    train_sentencepiece([out / f"train.{src}.txt", out / f"train.{tgt}.txt"], out / "spm", vocab_size,
                        languages=model_languages(src, tgt))
    if aligned_here:
        from umt.alignment.align import align, write_alignment

        result = align(src_emb, tgt_emb, cfg, progress)
        mapping_dir = out / "align"
        write_alignment(result, src_emb, tgt_emb, mapping_dir)
    lex = build_lexicons(src, tgt, out, src_emb, tgt_emb, load_mapping(mapping_dir, src_emb.dim, src_emb, tgt_emb),
                         identical_top, frequency_prior)
    info = {"pair": f"{src}-{tgt}", "src_emb": src_emb.source, "tgt_emb": tgt_emb.source,
            "mapping": str(mapping_dir), "preset": preset_name if aligned_here else None, "vocab_size": vocab_size,
            "identical_top": identical_top, "frequency_prior": frequency_prior,
            "lexicon": lex, "data": manifest}
    write_json(out / "prepare.json", info)
    return info


@dataclass
class MTData:
    """A prepared pair, loaded: vocabulary, encoded monolingual text, evaluation text, lexicons."""

    src: str
    tgt: str
    folder: Path
    vocab: Vocab
    train: dict  # lang -> list of id lists
    train_text: dict  # lang -> list of str
    heldout: dict  # lang -> list of str
    test: dict  # lang -> list of str (parallel); empty lists when the pair has no parallel test set
    val: dict
    wbw: dict  # (from, to) -> WordByWord

    @classmethod
    def load(cls, folder: str | os.PathLike, max_len: int = 100) -> MTData:
        folder = Path(folder)
        info_path = folder / "prepare.json"
        if not info_path.exists():
            raise UmtError(f"{folder}: not a prepared MT folder (no prepare.json; run `umt mt prepare`)")
        record = read_json(info_path, "preparation record")
        pair = record.get("pair") if isinstance(record, dict) else None
        if not isinstance(pair, str) or pair.count("-") != 1:
            raise UmtError(f"{info_path}: the preparation record names no pair like 'en-fr'")
        src, tgt = pair.split("-")
        vocab = Vocab(folder / "spm.model")
        train_text = {lang: load_lines(folder / f"train.{lang}.txt") for lang in (src, tgt)}
        return cls(
            src, tgt, folder, vocab,
            train={lang: vocab.encode(lines, max_len) for lang, lines in train_text.items()},
            train_text=train_text,
            heldout={lang: load_lines(folder / f"heldout.{lang}.txt") for lang in (src, tgt)},
            test=_optional_parallel(folder, "test", (src, tgt)),
            val=_optional_parallel(folder, "val", (src, tgt)),
            wbw={(a, b): WordByWord.load(folder / f"lexicon.{a}-{b}.tsv") for a, b in ((src, tgt), (tgt, src))},
        )

    def other(self, lang: str) -> str:
        return self.tgt if lang == self.src else self.src

    def has(self, split: str) -> bool:
        """Whether the pair has the parallel ``split`` (``test`` or ``val``) to score on."""
        return bool(getattr(self, split)[self.src])


def _optional_parallel(folder: Path, split: str, langs: tuple[str, str]) -> dict:
    """A parallel split's sentences per language, or empty lists when the pair has none (a pair
    prepared from monolingual corpora without a test set)."""
    if not any((folder / f"{split}.{lang}.txt").exists() for lang in langs):
        return {lang: [] for lang in langs}
    return {lang: load_lines(folder / f"{split}.{lang}.txt") for lang in langs}
