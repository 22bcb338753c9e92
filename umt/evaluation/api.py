"""One call to evaluate a mapping: BLI precision@k with NN and CSLS, coverage and the criterion."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from umt.alignment.criterion import mean_csls_cosine
from umt.alignment.procrustes import map_spaces
from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare
from umt.device import computing_on, use_all_cores
from umt.embeddings.dictionaries import load_dictionary
from umt.embeddings.vectors import Embeddings
from umt.evaluation.bli import (
    KS,
    PER_QUERY_FILE,
    identical_queries,
    precision_metrics,
    retrieve_queries,
    write_query_tsv,
)

__all__ = ["PER_QUERY_FILE", "evaluate_mapping", "evaluate_prepared", "dictionary_scorer"]


def evaluate_prepared(src_mapped: np.ndarray, tgt: np.ndarray, src_emb: Embeddings, tgt_emb: Embeddings,
                      dict_path, methods=("nn", "csls"),
                      per_query_tsv: str | os.PathLike | None = None) -> dict:
    """Metrics for already mapped, unit-normalised source rows against unit target rows, with
    P@1 also on the test words not translated by their own spelling (``*_p1_no_identical``).

    ``per_query_tsv``: also write every test word's gold translations, predictions and rank
    (:func:`umt.evaluation.bli.write_query_tsv`) for the last of ``methods`` (CSLS by default).
    """
    gold = load_dictionary(dict_path, src_emb, tgt_emb)
    results = [retrieve_queries(src_mapped, tgt, gold, m, max(KS)) for m in methods]
    identical = identical_queries(results[0], src_emb.words, tgt_emb.words) if results else None
    metrics = precision_metrics(results, gold, identical=identical)
    metrics["criterion"] = round(mean_csls_cosine(src_mapped, tgt), 5)
    metrics["dictionary"] = str(dict_path)
    if per_query_tsv is not None and results:
        write_query_tsv(results[-1], src_emb, tgt_emb, per_query_tsv)
    return metrics


def dictionary_scorer(src_emb: Embeddings, tgt_emb: Embeddings, dict_path):
    """What :func:`umt.alignment.write_alignment` calls on the mapped rows to add the test figures
    of ``dict_path`` to the run directory it writes (with their per-query file)."""
    def score(src_mapped: np.ndarray, tgt: np.ndarray, folder: Path) -> dict:
        return evaluate_prepared(src_mapped, tgt, src_emb, tgt_emb, dict_path,
                                 per_query_tsv=Path(folder) / PER_QUERY_FILE)

    return score


def evaluate_mapping(src: Embeddings, tgt: Embeddings, dict_path, mapping: np.ndarray | None = None,
                     normalize: str = DEFAULT_NORMALIZE, device: str | None = None,
                     methods=("nn", "csls"), target_mapping: np.ndarray | None = None,
                     per_query_tsv: str | os.PathLike | None = None) -> dict:
    """Normalise both spaces, map them (the source by ``mapping``, identity when None; the target
    by ``target_mapping`` when there is one) and evaluate, on ``device`` (None: CUDA when present)."""
    use_all_cores()
    x, y = prepare(src, tgt, normalize)
    w = np.eye(x.shape[1], dtype=np.float32) if mapping is None else mapping
    with computing_on(device):
        return evaluate_prepared(*map_spaces(x, y, w, target_mapping), src, tgt, dict_path, methods, per_query_tsv)
