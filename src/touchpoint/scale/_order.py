"""Exact order statistics of a distributed column, without collecting it.

Value tiers rank customers: the pyramid needs the values at a few ranks (the tier
boundaries), the Pareto curve the sums above a few ranks. On one machine
``np.partition`` finds them; across partitions `order_statistics` does it in three
passes over small per-partition summaries, and the answer is exact:

1. each partition sends ``probes`` evenly spaced values of its own sorted values; their
   union cuts the whole range into bins that each hold at most about ``n / probes``
   values (every bin lies between two neighbouring probes of every partition);
2. each partition counts its values per bin; the running total says which bin holds
   each wanted rank and how many values lie below that bin;
3. each partition sends the distinct values (with counts) of just those bins, and the
   wanted ranks are read off them.

Examples
--------
>>> import numpy as np, pandas as pd, dask.dataframe as dd
>>> s = dd.from_pandas(pd.Series([5.0, 1.0, 4.0, 1.0, 3.0, 9.0]), npartitions=3)
>>> order_statistics(s, [0, 2, 5]).tolist()
[1.0, 3.0, 9.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._dask import require_dask

__all__ = ["order_statistics", "partition_arrays"]

PROBES = 4096


def partition_arrays(series: Any, fn: Any, *args: Any) -> list[Any]:
    """``fn(values, *args)`` on each partition's float64 values, computed; one result each."""
    require_dask("order statistics")
    import dask as dask_core

    parts = series.to_delayed()
    shared = [dask_core.delayed(a) if isinstance(a, np.ndarray) else a for a in args]
    call = dask_core.delayed(_on_values)
    return list(dask_core.compute(*[call(p, fn, *shared) for p in parts]))


def _on_values(part: Any, fn: Any, *args: Any) -> Any:
    return fn(np.asarray(part, dtype=np.float64), *args)


def _probes(v: np.ndarray, probes: int) -> np.ndarray:
    if len(v) == 0:
        return v
    s = np.sort(v)
    return s[np.unique(np.linspace(0, len(s) - 1, min(probes, len(s))).astype(np.int64))]


def _bin_counts(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)


def _bin_values(
    v: np.ndarray, edges: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    keep = np.zeros(len(edges) + 1, dtype=bool)
    keep[wanted] = True
    sel = v[keep[np.searchsorted(edges, v, side="right")]]
    return np.unique(sel, return_counts=True)


def order_statistics(
    values: Any,
    positions: Sequence[int] | Callable[[int], Sequence[int]],
    *,
    probes: int = PROBES,
) -> np.ndarray:
    """The values at 0-based ``positions`` of the ascending sort of a Dask Series.

    Parameters
    ----------
    values:
        A Dask Series of numbers without NaN (drop them first).
    positions:
        0-based ranks, each in ``0 .. n - 1``; or a function of ``n`` (the number of
        values, counted in the second pass) that gives them, which saves a counting pass
        when the ranks depend on ``n`` (tier boundaries, quantile scores).
    probes:
        Values each partition sends in the first pass; the later passes move at most
        about ``len(positions) * n / probes`` values.

    Returns
    -------
    numpy.ndarray
        float64, one value per position, equal to ``np.sort(all values)[positions]``.
    """
    if not callable(positions) and len(positions) == 0:
        return np.empty(0, dtype=np.float64)
    edges = np.unique(np.concatenate(partition_arrays(values, _probes, probes)))
    counts = np.sum(partition_arrays(values, _bin_counts, edges), axis=0)
    n = int(counts.sum())
    pos = np.asarray(positions(n) if callable(positions) else positions, dtype=np.int64)
    if len(pos) == 0:
        return np.empty(0, dtype=np.float64)
    if pos.min() < 0 or pos.max() >= n:
        raise ValidationError([Problem("positions", f"must lie in 0..{n - 1}", pos.tolist())])
    running = np.cumsum(counts)
    bins = np.searchsorted(running, pos, side="right")  # first bin whose total passes pos
    below = np.where(bins > 0, running[np.maximum(bins - 1, 0)], 0)
    wanted = np.unique(bins)
    gathered = partition_arrays(values, _bin_values, edges, wanted)
    vals = np.concatenate([g[0] for g in gathered])
    cnts = np.concatenate([g[1] for g in gathered])
    distinct, inverse = np.unique(vals, return_inverse=True)
    cnts = np.bincount(inverse, weights=cnts).astype(np.int64)
    out = np.empty(len(pos), dtype=np.float64)
    bin_of = np.searchsorted(edges, distinct, side="right")
    for b in wanted:  # a loop over the few wanted bins, not over values
        in_bin = bin_of == b
        cum = np.cumsum(cnts[in_bin])
        at = bins == b
        out[at] = distinct[in_bin][np.searchsorted(cum, pos[at] - below[at], side="right")]
    return out
