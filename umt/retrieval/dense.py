r"""Best CSLS (or NN) match in both directions between two sets, in two blocked passes.

Dictionary induction and the criterion compare two sets of at most a few ten thousand rows
where every row is a query. Rather than one FAISS search per quantity (:math:`r_T`,
:math:`r_S`, forward, backward), the score matrix is computed block by block twice: the first
pass keeps each row's and each column's top-``k`` mean, the second the best CSLS match of each
row and each column. Memory stays at one ``block x m`` slab.
"""

from __future__ import annotations

import numpy as np
import torch

from umt.device import default_device, use_all_cores


def _tensor(a: np.ndarray, dev) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dev)


def transposed(a: torch.Tensor, out: torch.Tensor | None = None, block: int = 512) -> torch.Tensor:
    """``a.T.contiguous()``, copied in blocks of rows into ``out`` when given: about six times
    faster on the CPU for ``10k x 10k`` with a reused ``out`` (the blocks stay in cache and no
    fresh pages are faulted in), and the same values."""
    if out is None:
        out = torch.empty(a.shape[1], a.shape[0], dtype=a.dtype, device=a.device)
    if a.device.type != "cpu":
        return out.copy_(a.T)
    for i in range(0, a.shape[0], block):
        out[:, i:i + block].copy_(a[i:i + block].T)
    return out


def mutual_best(s: np.ndarray, t: np.ndarray, method: str = "csls", k: int = 10, block: int = 2048,
                device: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Best target of every row of ``s`` and best source of every row of ``t``.

    Returns ``(fwd_ids, fwd_scores, bwd_ids, bwd_scores)`` where ``fwd_ids[i]`` is the best row of
    ``t`` for ``s[i]`` and ``bwd_ids[j]`` the best row of ``s`` for ``t[j]``; scores are cosines
    (``nn``) or :math:`2\cos - r_T(x) - r_S(y)` (``csls``).

    Column reductions of a ``block x m`` slab are several times slower on the CPU than row ones,
    and a fresh slab per operation costs more in page faults than the arithmetic; so each slab is
    written into one reused buffer, updated in place, and copied once into a transposed buffer
    whose rows are the columns (together about twice as fast on 20k x 20k words, same results).
    """
    dev = default_device(device)
    use_all_cores()
    st, tt = _tensor(s, dev), _tensor(t, dev)
    n, m = len(st), len(tt)
    block = max(1, min(block, n))
    slab = torch.empty(block, m, device=dev)
    slab_t = torch.empty(m, block, device=dev)

    def scores(i: int) -> torch.Tensor:
        """Similarities of the source rows ``i:i+block`` to every target, in the reused slab."""
        return torch.matmul(st[i:i + block], tt.T, out=slab[:min(block, n - i)])

    r_s = torch.zeros(n, device=dev)  # r_T(x): mean similarity of each source to its k nearest targets
    r_t = torch.zeros(m, device=dev)  # r_S(y): mean similarity of each target to its k nearest sources
    if method == "csls":
        k_t, k_s = min(k, m), min(k, n)
        col_top = torch.full((m, k_s), -np.inf, device=dev)
        for i in range(0, n, block):
            sim = scores(i)
            r_s[i:i + len(sim)] = sim.topk(k_t, dim=1).values.mean(dim=1)
            sim_t = transposed(sim, out=slab_t[:, :len(sim)])
            col_top = torch.cat([col_top, sim_t.topk(min(k_s, len(sim)), dim=1).values], dim=1).topk(k_s, dim=1).values
        r_t = col_top.mean(dim=1)
    fwd_scores = torch.empty(n, device=dev)
    fwd_ids = torch.empty(n, dtype=torch.long, device=dev)
    bwd_scores = torch.full((m,), -np.inf, device=dev)
    bwd_ids = torch.zeros(m, dtype=torch.long, device=dev)
    for i in range(0, n, block):
        sim = scores(i)
        b = len(sim)
        if method == "csls":
            sim.mul_(2).sub_(r_s[i:i + b, None]).sub_(r_t[None, :])
        fwd_scores[i:i + b], fwd_ids[i:i + b] = sim.max(dim=1)
        col_best, col_arg = transposed(sim, out=slab_t[:, :b]).max(dim=1)
        better = col_best > bwd_scores
        bwd_scores = torch.where(better, col_best, bwd_scores)
        bwd_ids = torch.where(better, col_arg + i, bwd_ids)
    return fwd_ids.cpu().numpy(), fwd_scores.cpu().numpy(), bwd_ids.cpu().numpy(), bwd_scores.cpu().numpy()
