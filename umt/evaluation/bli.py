r"""Bilingual lexicon induction accuracy by the MUSE protocol.

For each distinct source word of the gold dictionary found in the vocabulary, the ``k`` best
targets are retrieved among the *whole* target vocabulary; the word counts as correct at ``k``
if any of its gold translations is among them:

.. math:: P@k = \frac{100}{|Q|} \sum_{x \in Q} \mathbb{1}[\,T_k(x) \cap G(x) \neq \emptyset\,]

Pairs with a word outside the vocabularies are dropped (MUSE); ``coverage`` reports the fraction
of test source words kept, and ``*_all`` keys count the dropped ones as misses (fastText's
convention), so the numbers compare with every tool. Each ``METHOD_pK`` comes with
``METHOD_pK_ci95``, its 95% Wilson interval over the queries
(:mod:`umt.evaluation.significance`).

About a quarter of MUSE's test pairs translate a word by its own spelling (names, loanwords,
numbers; Kementchedjhieva et al. 2019), which an identical-strings seed gets for free. Given which
queries those are, ``METHOD_p1_no_identical`` is P@1 over the other queries only, beside the
standard figure, with ``n_identical`` the number left out.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umt.embeddings.dictionaries import IndexedDictionary
from umt.embeddings.vectors import Embeddings
from umt.errors import UmtError
from umt.evaluation.significance import PairedDifference, paired_difference, precision_interval
from umt.fileio import read_lines, require_file, write_text
from umt.ranges import Range, check_option
from umt.retrieval.scoring import Retriever

KS = (1, 5, 10)
QUERY_TSV_HEADER = "source\tgold\trank\tpredictions"
PER_QUERY_FILE = "evaluation.tsv"  # the per-query CSLS results a run directory holds


@dataclass
class QueryResults:
    """Retrieval of every test query by one method: ``queries`` (source ids, ascending),
    ``answers`` (their gold target ids), ``top`` (the best target ids, best first) and
    ``rank``, the 1-based rank of the first gold target in ``top`` (0 when none is there)."""

    method: str
    queries: np.ndarray
    answers: list[set[int]]
    top: np.ndarray
    rank: np.ndarray

    def hits(self, k: int) -> np.ndarray:
        """Per query: whether a gold translation is among the ``k`` best."""
        return (self.rank >= 1) & (self.rank <= k)


def gold_answers(gold: IndexedDictionary) -> dict[int, set[int]]:
    answers: dict[int, set[int]] = defaultdict(set)
    for s, t in zip(gold.src_ids.tolist(), gold.tgt_ids.tolist()):
        answers[s].add(t)
    return answers


def retrieve_queries(src: np.ndarray, tgt: np.ndarray, gold: IndexedDictionary, method: str = "csls",
                     k: int = max(KS)) -> QueryResults:
    """The ``k`` best targets of every test source word by ``method`` (``nn`` or ``csls``)."""
    answers = gold_answers(gold)
    queries = np.array(sorted(answers), dtype=np.int64)
    if len(queries) == 0:
        return QueryResults(method, queries, [], np.zeros((0, k), dtype=np.int64), np.zeros(0, dtype=np.int64))
    _, top = Retriever(src, tgt, method).search(queries, k)
    rank = np.zeros(len(queries), dtype=np.int64)
    for i, q in enumerate(queries.tolist()):
        right = answers[q]
        rank[i] = next((r for r, t in enumerate(top[i].tolist(), 1) if t in right), 0)
    return QueryResults(method, queries, [answers[q] for q in queries.tolist()], top, rank)


def identical_queries(results: QueryResults, src_words: list[str], tgt_words: list[str]) -> np.ndarray:
    """Per query: whether one of its gold translations is spelt as the source word itself."""
    return np.array([src_words[q] in {tgt_words[t] for t in right}
                     for q, right in zip(results.queries.tolist(), results.answers)], dtype=bool)


def precision_metrics(results: list[QueryResults], gold: IndexedDictionary, ks=KS,
                      identical: np.ndarray | None = None) -> dict:
    """Precision@k (percent), its Wilson interval and the coverage figures, from retrievals.

    ``identical`` (:func:`identical_queries`, same order as every result's queries) adds P@1 on
    the queries that are not translated by their own spelling."""
    metrics = {
        "n_queries": int(len(results[0].queries)) if results else 0,
        "n_test_sources": gold.n_sources_total,
        "coverage": round(gold.coverage, 4),
    }
    for res in results:
        n = len(res.queries)
        for k in ks:
            hits = int(res.hits(k).sum()) if n else 0
            metrics[f"{res.method}_p{k}"] = round(100.0 * hits / n, 2) if n else 0.0
            metrics[f"{res.method}_p{k}_all"] = round(100.0 * hits / max(gold.n_sources_total, 1), 2)
            metrics[f"{res.method}_p{k}_ci95"] = list(precision_interval(hits, n))
    if identical is not None and results:
        keep = ~identical
        metrics["n_identical"] = int(identical.sum())
        for res in results:
            hits, n = int(res.hits(1)[keep].sum()), int(keep.sum())
            metrics[f"{res.method}_p1_no_identical"] = round(100.0 * hits / n, 2) if n else 0.0
            metrics[f"{res.method}_p1_no_identical_ci95"] = list(precision_interval(hits, n))
    return metrics


def precision_at_k(src: np.ndarray, tgt: np.ndarray, gold: IndexedDictionary,
                   methods=("nn", "csls"), ks=KS) -> dict:
    """Precision@k for each retrieval method, as percentages, plus coverage figures.

    ``src`` holds the mapped, unit-normalised source vectors, ``tgt`` the unit target vectors.
    """
    return precision_metrics([retrieve_queries(src, tgt, gold, m, max(ks)) for m in methods], gold, ks)


def write_query_tsv(results: QueryResults, src: Embeddings, tgt: Embeddings, path: str | os.PathLike) -> None:
    """One line per test query: the source word, its gold translations, the rank of the first
    gold one among the predictions (empty when none is there) and the predictions, best first."""
    lines = [QUERY_TSV_HEADER]
    for q, right, rank, top in zip(results.queries.tolist(), results.answers, results.rank.tolist(),
                                   results.top.tolist()):
        lines.append("\t".join([src.words[q], " ".join(sorted(tgt.words[t] for t in right)),
                                str(rank) if rank else "", " ".join(tgt.words[t] for t in top)]))
    write_text(path, "\n".join(lines) + "\n")


def read_query_ranks(path: str | os.PathLike) -> dict[str, int]:
    """Source word -> rank of its first correct prediction (0: none) from :func:`write_query_tsv`'s file."""
    lines = read_lines(require_file(path, "per-query evaluation"))
    if next(lines, None) != QUERY_TSV_HEADER:
        raise UmtError(f"{path}: not a per-query evaluation file (expected the header {QUERY_TSV_HEADER!r})")
    ranks = {}
    for lineno, line in enumerate(lines, 2):
        fields = line.split("\t")
        if len(fields) != 4 or not (fields[2] == "" or fields[2].isdigit()):
            raise UmtError(f"{path}:{lineno}: expected 'source, gold, rank, predictions' separated by tabs")
        ranks[fields[0]] = int(fields[2] or 0)
    return ranks


def compare_query_files(path_a: str | os.PathLike, path_b: str | os.PathLike,
                        k: int = 1) -> tuple[PairedDifference, int]:
    """P@``k`` of two per-query files (:func:`write_query_tsv`; a run directory stands for its
    ``evaluation.tsv``) on the test words both cover, McNemar's exact test of the difference, and
    how many words only one file covers (vocabularies differ: each map is scored on its own
    covered words, so only the shared ones are compared)."""
    check_option("k", k, Range(low=1, high=max(KS), integer=True))
    a, b = (read_query_ranks(Path(p) / PER_QUERY_FILE if Path(p).is_dir() else p) for p in (path_a, path_b))
    words = sorted(a.keys() & b.keys())
    if not words:
        raise UmtError(f"{path_a} and {path_b} share no test word: were they evaluated on the same dictionary?")
    diff = paired_difference(np.array([0 < a[w] <= k for w in words]), np.array([0 < b[w] <= k for w in words]))
    return diff, len(a.keys() ^ b.keys())
