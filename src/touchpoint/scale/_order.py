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
from typing import Any, NamedTuple

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._dask import require_dask

#: Positions in the sorted values: a sequence (or array) of 0-based positions, or a
#: function of the number of values that gives them (known only after a first pass).
Positions = Sequence[int] | np.ndarray | Callable[[int], Sequence[int] | np.ndarray]

__all__ = [
    "Counted",
    "counted_order_statistics",
    "many_order_statistics",
    "order_statistics",
    "partition_arrays",
    "value_dtype",
]

PROBES = 4096


def partition_arrays(series: Any, fn: Any, *args: Any) -> list[Any]:
    """``fn(values, *args)`` on each partition's values, computed; one result each.

    The values come as float64, or as the series' own integer dtype for an integer
    series (64-bit hashes do not fit a float exactly).
    """
    return _together([(series, fn, args)])[0]


def _together(calls: list[tuple[Any, Any, tuple[Any, ...]]]) -> list[list[Any]]:
    """`partition_arrays` of several ``(series, fn, args)`` in one round trip."""
    require_dask("order statistics")
    import dask as dask_core

    tasks: list[Any] = []
    sizes: list[int] = []
    call = dask_core.delayed(_on_values)
    for series, fn, args in calls:
        dtype = value_dtype(series)
        shared = [dask_core.delayed(a) if isinstance(a, np.ndarray) else a for a in args]
        parts = series.to_delayed()
        tasks.extend(call(p, dtype, fn, *shared) for p in parts)
        sizes.append(len(parts))
    done = iter(dask_core.compute(*tasks))
    return [[next(done) for _ in range(size)] for size in sizes]


def value_dtype(series: Any) -> np.dtype:
    """The numpy dtype the values are read as: the series' integer dtype, else float64."""
    dtype = np.dtype(getattr(series.dtype, "numpy_dtype", series.dtype))
    return dtype if dtype.kind in "iu" else np.dtype(np.float64)


def _on_values(part: Any, dtype: np.dtype, fn: Any, *args: Any) -> Any:
    return fn(np.asarray(part, dtype=dtype), *args)


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


class Counted(NamedTuple):
    """Order statistics with the counts around them (see `counted_order_statistics`)."""

    values: np.ndarray  # the value at each wanted position
    n: int  # how many values there are (-1 when no position was asked: not counted)
    less: np.ndarray  # per position: how many values are below its value
    equal: np.ndarray  # per position: how many values equal its value


def order_statistics(
    values: Any,
    positions: Positions,
    *,
    probes: int = PROBES,
) -> np.ndarray:
    """The values at 0-based ``positions`` of the ascending sort of a Dask Series.

    Parameters
    ----------
    values:
        A Dask Series of numbers without NaN (drop them first); floats are read as
        float64, integers (64-bit hashes, say) keep their integer dtype.
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
        One value per position, equal to ``np.sort(all values)[positions]`` (float64,
        or the integer dtype of an integer series).
    """
    return counted_order_statistics(values, positions, probes=probes).values


def counted_order_statistics(
    values: Any,
    positions: Positions,
    *,
    probes: int = PROBES,
) -> Counted:
    """`order_statistics`, with ``n`` and how many values are below and equal to each
    value found (read off the same passes: ties at a boundary need no further pass).

    >>> import pandas as pd, dask.dataframe as dd
    >>> s = dd.from_pandas(pd.Series([5.0, 1.0, 4.0, 1.0, 3.0, 1.0]), npartitions=3)
    >>> c = counted_order_statistics(s, [1, 4])
    >>> c.values.tolist(), c.n, c.less.tolist(), c.equal.tolist()
    ([1.0, 4.0], 6, [0, 4], [3, 1])
    """
    if not callable(positions) and len(positions) == 0:  # nothing to find: no pass
        none = np.empty(0, dtype=np.int64)
        return Counted(np.empty(0, dtype=value_dtype(values)), -1, none, none)
    return many_order_statistics([(values, positions)], probes=probes)[0]


def many_order_statistics(
    wanted: list[tuple[Any, Positions]],
    *,
    probes: int = PROBES,
) -> list[Counted]:
    """`counted_order_statistics` of several ``(series, positions)``, sharing the passes:
    three round trips whatever their number."""
    dtypes = [value_dtype(v) for v, _ in wanted]
    probed = _together([(v, _probes, (probes,)) for v, _ in wanted])
    edges = [
        np.unique(np.concatenate(p).astype(dtype)) for p, dtype in zip(probed, dtypes, strict=True)
    ]
    binned = _together([(v, _bin_counts, (e,)) for (v, _), e in zip(wanted, edges, strict=True)])
    counts = [np.sum(b, axis=0) for b in binned]
    plans = []
    for (_, positions), c in zip(wanted, counts, strict=True):  # a few series
        n = int(c.sum())
        pos = np.asarray(positions(n) if callable(positions) else positions, dtype=np.int64)
        if len(pos) and (pos.min() < 0 or pos.max() >= n):
            raise ValidationError([Problem("positions", f"must lie in 0..{n - 1}", pos.tolist())])
        running = np.cumsum(c)
        bins = np.searchsorted(running, pos, side="right")  # first bin whose total passes pos
        below = np.where(bins > 0, running[np.maximum(bins - 1, 0)], 0)
        plans.append((n, pos, bins, below))
    todo = [i for i, plan in enumerate(plans) if len(plan[1])]
    gathered = _together(
        [(wanted[i][0], _bin_values, (edges[i], np.unique(plans[i][2]))) for i in todo]
    )
    out = []
    none = np.empty(0, dtype=np.int64)
    for i, (n, pos, bins, below) in enumerate(plans):
        if i not in todo:
            out.append(Counted(np.empty(0, dtype=dtypes[i]), n, none, none))
            continue
        got = gathered[todo.index(i)]
        out.append(_read_off(got, dtypes[i], edges[i], n, pos, bins, below))
    return out


def _read_off(
    gathered: list[Any],
    dtype: np.dtype,
    edges: np.ndarray,
    n: int,
    pos: np.ndarray,
    bins: np.ndarray,
    below: np.ndarray,
) -> Counted:
    """The wanted order statistics from the distinct values (with counts) of their bins."""
    vals = np.concatenate([g[0] for g in gathered]).astype(dtype, copy=False)
    cnts = np.concatenate([g[1] for g in gathered])
    distinct, inverse = np.unique(vals, return_inverse=True)
    cnts = np.bincount(inverse, weights=cnts).astype(np.int64)
    out = np.empty(len(pos), dtype=dtype)
    less = np.empty(len(pos), dtype=np.int64)
    equal = np.empty(len(pos), dtype=np.int64)
    bin_of = np.searchsorted(edges, distinct, side="right")
    for b in np.unique(bins):  # a loop over the few wanted bins, not over values
        in_bin = bin_of == b
        here, many = distinct[in_bin], cnts[in_bin]
        cum = np.cumsum(many)
        at = bins == b
        i = np.searchsorted(cum, pos[at] - below[at], side="right")
        out[at] = here[i]
        less[at] = below[at] + np.where(i > 0, cum[np.maximum(i - 1, 0)], 0)
        equal[at] = many[i]
    return Counted(out, n, less, equal)
