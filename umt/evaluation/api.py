"""One call to evaluate a mapping: BLI precision@k with NN and CSLS, coverage and the criterion."""

from __future__ import annotations

import numpy as np

from umt.alignment.procrustes import map_spaces
from umt.alignment.spaces import DEFAULT_NORMALIZE, prepare
from umt.embeddings.vectors import Embeddings
from umt.evaluation.bli import precision_at_k
from umt.evaluation.criterion import mean_csls_cosine
from umt.evaluation.dictionaries import load_dictionary


def evaluate_prepared(src_mapped: np.ndarray, tgt: np.ndarray, src_emb: Embeddings, tgt_emb: Embeddings,
                      dict_path, device: str | None = None, methods=("nn", "csls")) -> dict:
    """Metrics for already mapped, unit-normalised source rows against unit target rows."""
    gold = load_dictionary(dict_path, src_emb, tgt_emb)
    metrics = precision_at_k(src_mapped, tgt, gold, methods, device=device)
    metrics["criterion"] = round(mean_csls_cosine(src_mapped, tgt, device=device), 5)
    metrics["dictionary"] = str(dict_path)
    return metrics


def evaluate_mapping(src: Embeddings, tgt: Embeddings, dict_path, mapping: np.ndarray | None = None,
                     normalize: str = DEFAULT_NORMALIZE, device: str | None = None,
                     methods=("nn", "csls"), target_mapping: np.ndarray | None = None) -> dict:
    """Normalise both spaces, map them (the source by ``mapping``, identity when None; the target
    by ``target_mapping`` when there is one) and evaluate."""
    x, y = prepare(src, tgt, normalize)
    w = np.eye(x.shape[1], dtype=np.float32) if mapping is None else mapping
    return evaluate_prepared(*map_spaces(x, y, w, target_mapping), src, tgt, dict_path, device, methods)
