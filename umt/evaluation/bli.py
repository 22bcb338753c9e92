r"""Bilingual lexicon induction accuracy by the MUSE protocol.

For each distinct source word of the gold dictionary found in the vocabulary, the ``k`` best
targets are retrieved among the *whole* target vocabulary; the word counts as correct at ``k``
if any of its gold translations is among them:

.. math:: P@k = \frac{100}{|Q|} \sum_{x \in Q} \mathbb{1}[\,T_k(x) \cap G(x) \neq \emptyset\,]

Pairs with a word outside the vocabularies are dropped (MUSE); ``coverage`` reports the fraction
of test source words kept, and ``*_all`` keys count the dropped ones as misses (fastText's
convention), so the numbers compare with every tool.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from umt.evaluation.dictionaries import IndexedDictionary
from umt.retrieval.scoring import Retriever

KS = (1, 5, 10)


def precision_at_k(src: np.ndarray, tgt: np.ndarray, gold: IndexedDictionary,
                   methods=("nn", "csls"), ks=KS, device: str | None = None) -> dict:
    """Precision@k for each retrieval method, as percentages, plus coverage figures.

    ``src`` holds the mapped, unit-normalised source vectors, ``tgt`` the unit target vectors.
    """
    answers: dict[int, set[int]] = defaultdict(set)
    for s, t in zip(gold.src_ids.tolist(), gold.tgt_ids.tolist()):
        answers[s].add(t)
    queries = np.array(sorted(answers), dtype=np.int64)
    metrics = {
        "n_queries": int(len(queries)),
        "n_test_sources": gold.n_sources_total,
        "coverage": round(gold.coverage, 4),
    }
    for method in methods:
        if len(queries) == 0:
            for k in ks:
                metrics[f"{method}_p{k}"] = metrics[f"{method}_p{k}_all"] = 0.0
            continue
        _, top = Retriever(src, tgt, method, device=device).search(queries, max(ks))
        for k in ks:
            hits = sum(bool(answers[q] & set(top[i, :k].tolist())) for i, q in enumerate(queries.tolist()))
            metrics[f"{method}_p{k}"] = round(100.0 * hits / len(queries), 2)
            metrics[f"{method}_p{k}_all"] = round(100.0 * hits / max(gold.n_sources_total, 1), 2)
    return metrics
