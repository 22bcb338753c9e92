"""Thread and device settings: use every core, and the GPU when one is present (never required).

Where the tensor work of retrieval, alignment and evaluation runs is chosen once, at an entry
point (``umt``'s commands, :func:`umt.alignment.align`, :func:`umt.evaluation.evaluate_mapping`),
with :func:`computing_on`; the library below reads it with :func:`compute_device` instead of
passing a ``device`` argument down every call. :func:`to_tensor` and :func:`to_numpy` are the one
numpy/torch boundary of those floors: arrays come in as numpy and leave as numpy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch

_configured = False
_compute_device: ContextVar[torch.device | None] = ContextVar("umt_compute_device", default=None)


def use_all_cores() -> int:
    """Give torch and FAISS every core (once per process) and return the thread count."""
    global _configured
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not _configured:
        torch.set_num_threads(n)
        try:
            import faiss

            faiss.omp_set_num_threads(n)
        except ImportError:  # pragma: no cover - faiss is a dependency
            pass
        _configured = True
    return n


def default_device(requested: str | None = None) -> torch.device:
    """``requested`` if given (``"cpu"``, ``"cuda"``), else CUDA when available, else the CPU."""
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            from umt.errors import UmtError

            raise UmtError(f"device {requested!r} requested but no CUDA GPU is available")
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def computing_on(device: str | torch.device | None = None) -> Iterator[torch.device]:
    """Run the enclosed retrieval, alignment and evaluation on ``device`` (as
    :func:`default_device` reads it: ``None`` is CUDA when present, else the CPU); nested uses
    restore the outer device on exit."""
    chosen = device if isinstance(device, torch.device) else default_device(device)
    token = _compute_device.set(chosen)
    try:
        yield chosen
    finally:
        _compute_device.reset(token)


def compute_device() -> torch.device:
    """The device chosen by the innermost :func:`computing_on`, else :func:`default_device`'s."""
    chosen = _compute_device.get()
    return chosen if chosen is not None else default_device()


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware: any CUDA GPU, or a CPU with AVX512-BF16 or
    AMX (where a bfloat16 matmul runs several times faster than float32; elsewhere it is emulated
    and slower, so autocast stays off)."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence looked up with care
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def to_tensor(a: np.ndarray, dtype: type | None = np.float32) -> torch.Tensor:
    """``a`` as a contiguous tensor of numpy type ``dtype`` (``None``: ``a``'s own) on
    :func:`compute_device`; no copy on the CPU when ``a`` already is one."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=dtype)).to(compute_device())


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """``t`` back on the host as a numpy array."""
    return t.detach().cpu().numpy()
