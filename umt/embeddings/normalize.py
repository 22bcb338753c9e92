r"""Normalisation of embedding matrices as a chain of named steps.

Steps (applied left to right, e.g. ``"unit,center,unit"`` as in VecMap):

``unit`` / ``renorm``
    Scale each row to unit length, :math:`x_i \leftarrow x_i / \lVert x_i \rVert_2`. ``renorm``
    is MUSE's name for the same step.
``center``
    Subtract the mean vector, :math:`x_i \leftarrow x_i - \frac{1}{n}\sum_j x_j`.
``unitdim``
    Give each dimension zero mean and unit variance.
``iternorm``
    Iterative normalisation (Zhang et al. 2019): ``unit`` then ``center``, repeated until the
    rows are both unit length and centred (at most 5 rounds, as in the paper). A single
    ``unit,center,unit`` leaves the mean non-zero again; spaces that are both are closer to
    isomorphic, which orthogonal maps need.
``none``
    Do nothing.
"""

from __future__ import annotations

import numpy as np

from umt.errors import UmtError


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def _center(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0, keepdims=True)


def _unitdim(x: np.ndarray) -> np.ndarray:
    x = _center(x)
    std = x.std(axis=0, keepdims=True)
    std[std == 0] = 1.0
    return x / std


def _iternorm(x: np.ndarray, rounds: int = 5, tol: float = 1e-4) -> np.ndarray:
    for _ in range(rounds):
        x = _center(_unit(x))
        if np.abs(np.linalg.norm(x, axis=1) - 1).max() < tol:
            break
    return x


STEPS = {"unit": _unit, "renorm": _unit, "center": _center, "unitdim": _unitdim, "iternorm": _iternorm,
         "none": lambda x: x}


def parse_chain(chain: str | list[str] | None) -> list[str]:
    """Split ``"unit,center,unit"`` into steps, rejecting unknown names."""
    if chain is None or chain == "":
        return []
    steps = chain.split(",") if isinstance(chain, str) else list(chain)
    steps = [s.strip() for s in steps if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise UmtError(f"unknown normalisation step(s) {unknown}: choose from {sorted(STEPS)}")
    return steps


def normalize(x: np.ndarray, chain: str | list[str] | None = "unit,center,unit") -> np.ndarray:
    """Apply the normalisation ``chain`` to the rows of ``x`` and return a new float32 array."""
    x = np.array(x, dtype=np.float32, copy=True)
    for step in parse_chain(chain):
        x = STEPS[step](x).astype(np.float32, copy=False)
    return x
