"""Thread and device settings: use every core, and the GPU when one is present (never required)."""

from __future__ import annotations

import os

import torch

_configured = False


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
