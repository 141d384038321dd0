"""Per-customer reductions over dense codes, and progress reports.

Reading and checking columns is the frame layer's (`touchpoint.frame.read_coded`,
`touchpoint.frame.check_codes`...); what is left here is specific to scoring: sums,
maxima per group (``np.bincount``, ``np.maximum.at`` over dense codes) and
the optional progress callback.

Examples
--------
>>> group_sum(np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), 2).tolist()
[4.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Progress", "group_max", "group_sum", "report"]

Progress = Callable[[str, float], None] | None


def report(progress: Progress, step: str, done: float) -> None:
    """Call the progress callback, if any, with a step name and the fraction done."""
    if progress is not None:
        progress(step, done)


def group_sum(codes: np.ndarray, weights: np.ndarray | None, k: int) -> np.ndarray:
    """Per-group sums (counts without weights) over dense codes 0..k-1.

    Sums of weights are float64 even with no rows (``np.bincount`` gives int64 then).

    >>> group_sum(np.array([], dtype=np.int64), np.array([]), 2).tolist()
    [0.0, 0.0]
    """
    out = np.bincount(codes, weights=weights, minlength=k)
    return out if weights is None else out.astype(np.float64, copy=False)


def group_max(codes: np.ndarray, values: np.ndarray, k: int, empty: Any) -> np.ndarray:
    """Per-group maximum over dense codes; ``empty`` where a group has no rows."""
    out = np.full(k, empty, dtype=values.dtype)
    np.maximum.at(out, codes, values)
    return out
