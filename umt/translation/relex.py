r"""A word-by-word lexicon re-induced from a trained model's own translations.

The first lexicon comes from aligned word vectors, whose corpora may lack much of the text's
vocabulary. Once back-translation has trained a model, its translations of the monolingual
training text are a (noisy, machine-made) parallel corpus: IBM Model 1 (Brown et al. 1993) on
those pairs gives every source word the target word it is most often translated by. No
bilingual data is read: the source sentences are the monolingual half, the targets the model's.

IBM Model 1 learns :math:`t(f|e)`, the probability that source word :math:`e` is translated by
target word :math:`f`, by EM over the sentence pairs :math:`(\mathbf e, \mathbf f)`, each target
word aligned to one source word or to NULL:

.. math::

    c(f, e) \mathrel{+}= \frac{t(f|e)}{\sum_{e' \in \mathbf e \cup \{\mathrm{NULL}\}} t(f|e')}
    \quad\text{for every } f \in \mathbf f,\ e \in \mathbf e, \qquad
    t(f|e) = \frac{c(f, e)}{\sum_{f'} c(f', e)}

The re-induced entry of :math:`e` is :math:`\arg\max_f t(f|e)` when :math:`e` was seen at least
``min_count`` times; other words keep the first lexicon's entry.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from umt.corpora.tokenize import tokenize
from umt.errors import UmtError
from umt.translation.wordbyword import WordByWord

log = logging.getLogger("umt")

NULL = "<null>"


@dataclass
class TranslationTable:
    """:math:`t(f|e)` on the co-occurring pairs only, as three aligned arrays: ``prob[i]`` is the
    probability that source id ``source[i]`` is translated by target id ``target[i]`` (source id 0
    is NULL)."""

    source_words: list[str]
    target_words: list[str]
    source: np.ndarray
    target: np.ndarray
    prob: np.ndarray

    def best_target(self) -> np.ndarray:
        """Per source id, the target id of highest :math:`t(f|e)` (the lowest id among ties; -1
        for a source word with no pair)."""
        order = np.lexsort((self.target, -self.prob, self.source))  # by source, most probable first
        src = self.source[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = src[1:] != src[:-1]
        best = np.full(len(self.source_words), -1, dtype=np.int64)
        best[src[first]] = self.target[order][first]
        return best


def ibm1(pairs: list[tuple[list[str], list[str]]], iterations: int = 5) -> TranslationTable:
    """IBM Model 1 over tokenized sentence pairs ``(source, target)``: the learnt
    :math:`t(f|e)` on every co-occurring pair. Vectorised over all (sentence, source position,
    target position) triples, so a few ten thousand sentence pairs take seconds."""
    src_vocab: dict[str, int] = {NULL: 0}
    tgt_vocab: dict[str, int] = {}
    s_ids, t_ids, groups = [], [], []  # one triple per (source word or NULL, target token)
    group = 0
    for src, tgt in pairs:
        src_row = [0] + [src_vocab.setdefault(w, len(src_vocab)) for w in src]
        for f in tgt:
            fid = tgt_vocab.setdefault(f, len(tgt_vocab))
            s_ids += src_row
            t_ids += [fid] * len(src_row)
            groups += [group] * len(src_row)
            group += 1
    s, t, g = (np.asarray(a, dtype=np.int64) for a in (s_ids, t_ids, groups))
    # t(f|e) lives on the distinct co-occurring (e, f) pairs, keyed e * width + f
    width = max(len(tgt_vocab), 1)  # no target token at all: no pair, but the key arithmetic still holds
    keys, inverse = np.unique(s * width + t, return_inverse=True)
    prob = np.ones(len(keys))
    pair_source = keys // width
    for _ in range(iterations if len(keys) else 0):
        p = prob[inverse]
        posterior = p / np.bincount(g, weights=p, minlength=group)[g]
        counts = np.bincount(inverse, weights=posterior, minlength=len(keys))
        totals = np.bincount(pair_source, weights=counts, minlength=len(src_vocab))
        prob = counts / np.maximum(totals[pair_source], 1e-300)
    return TranslationTable(list(src_vocab), list(tgt_vocab), pair_source, keys % width, prob)


def relexicon(sources: list[str], translations: list[str], first: WordByWord, casing: dict[str, str] | None = None,
              min_count: int = 2, iterations: int = 5) -> tuple[WordByWord, dict]:
    """The first lexicon ``first`` with each source word seen ``min_count`` times or more re-induced
    from the pairs (source sentence, the model's translation); ``casing`` maps a lowercased target
    word to its spelling in running text (:func:`umt.translation.wordbyword.true_case`). Returns
    the lexicon and a summary."""
    pairs = [([w for w in tokenize(s) if any(c.isalnum() for c in w)],
              [w for w in tokenize(t) if any(c.isalnum() for c in w)]) for s, t in zip(sources, translations)]
    t = ibm1(pairs, iterations)
    seen = Counter(w for src, _ in pairs for w in src)
    casing = casing or {}
    table, reinduced, changed = dict(first.table), 0, 0
    for e, f in enumerate(t.best_target()):
        word = t.source_words[e]
        if e == 0 or f < 0 or seen[word] < min_count or word.isdigit():
            continue
        new = casing.get(t.target_words[f], t.target_words[f])
        reinduced += 1
        changed += table.get(word) != new
        table[word] = new
    summary = {"sentence_pairs": len(pairs), "source_types": len(seen), "reinduced": reinduced,
               "changed": changed, "entries": len(table)}
    log.info("re-induced lexicon: %s", summary)
    return WordByWord(table), summary


def relex_run(model_dir, prepared, out, sentences: int | None = None, min_count: int = 2, beam: int = 1,
              prepared_copy=None) -> dict:
    """Both directions' lexicons re-induced from the model in ``model_dir`` translating the
    monolingual training text of ``prepared`` (its first ``sentences`` lines of each language),
    written to ``out`` with ``relex.json`` (word-by-word BLEU of the first and the re-induced
    lexicons on the parallel sets, read for display only). With ``prepared_copy``, also a copy of
    the prepared folder whose lexicons are the re-induced ones, ready for ``umt mt train``."""
    import shutil
    from pathlib import Path

    from umt.fileio import make_folder, read_json, write_json
    from umt.translation.data import MTData
    from umt.translation.evaluate import bleu_scores, translate_lines
    from umt.translation.train import load_model
    from umt.translation.wordbyword import true_case

    if prepared_copy is not None and Path(prepared_copy).exists():  # checked before the long translation
        raise UmtError(f"{prepared_copy}: exists already; name a new folder for the copy with the new lexicons")
    data = MTData.load(prepared)
    model, state = load_model(model_dir)
    if sorted(state.get("pair", [])) != sorted((data.src, data.tgt)):
        raise UmtError(f"{model_dir}: the model translates {'-'.join(state.get('pair', [])) or 'an unknown pair'}, "
                       f"but {prepared} holds {data.src}-{data.tgt}")
    out = make_folder(out)
    report: dict = {"model": str(model_dir), "model_step": state.get("step"), "prepared": str(prepared),
                    "sentences": sentences, "min_count": min_count, "beam": beam, "directions": {}}
    lexicons = {}
    for a, b in ((data.src, data.tgt), (data.tgt, data.src)):
        lines = data.train_text[a][:sentences]
        hyps = translate_lines(model, data.vocab, lines, a, b, beam)
        lexicon, summary = relexicon(lines, hyps, data.wbw[(a, b)], true_case(data.train_text[b]), min_count)
        lexicon.save(out / f"lexicon.{a}-{b}.tsv")
        lexicons[(a, b)] = lexicon
        entry = {**summary}
        for split in (s for s in ("val", "test") if data.has(s)):
            sets = getattr(data, split)
            for name, lex in (("first", data.wbw[(a, b)]), ("reinduced", lexicon)):
                scores = bleu_scores(lex.translate(sets[a]), sets[b], b)
                entry[f"{split}_{name}"] = scores["bleu"]
                entry[f"{split}_{name}_tok_lc"] = scores["bleu_tok_lc"]
        report["directions"][f"{a}-{b}"] = entry
    if prepared_copy is not None:
        copy = Path(prepared_copy)
        shutil.copytree(prepared, copy, ignore=shutil.ignore_patterns("run.log", "params.json", ".umt.lock"))
        for (a, b), lexicon in lexicons.items():
            lexicon.save(copy / f"lexicon.{a}-{b}.tsv")
        record = read_json(copy / "prepare.json", "preparation record")
        record["relexicon"] = {"from_model": str(model_dir), "model_step": state.get("step"), "folder": str(out)}
        write_json(copy / "prepare.json", record)
        report["prepared_copy"] = str(copy)
    write_json(out / "relex.json", report)
    return report
