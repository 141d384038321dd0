"""What every score does first: read its columns, check them, and reduce by customer.

Kept small and specific to scoring: the `asof` date, per-customer reductions
(``np.bincount`` and ``np.maximum.at`` over dense codes), and validation errors that
name the column and an example value.

Examples
--------
>>> as_time("2026-03-01")
np.datetime64('2026-03-01T00:00:00.000000')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError

__all__ = [
    "DAY_US",
    "as_time",
    "check_codes",
    "check_nonnegative",
    "group_max",
    "group_sum",
    "report",
]

#: Microseconds in a day.
DAY_US = 86_400_000_000
_US = np.dtype("datetime64[us]")

Progress = Callable[[str, float], None] | None


def report(progress: Progress, step: str, done: float) -> None:
    """Call the progress callback, if any, with a step name and the fraction done."""
    if progress is not None:
        progress(step, done)


def as_time(value: Any, *, name: str = "asof") -> np.datetime64:
    """A date, datetime, numpy datetime64 or ISO string as ``datetime64[us]`` (naive UTC)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    try:
        out = np.datetime64(value, "us")
    except (TypeError, ValueError):
        raise ValidationError(
            [Problem(name, "must be a date, datetime or ISO text", repr(value))]
        ) from None
    if np.isnat(out):
        raise ValidationError([Problem(name, "must be a date, not missing", repr(value))])
    return out


def check_codes(codes: np.ndarray, column: str, values: np.ndarray | None = None) -> None:
    """Raise if any row has no value (code -1) in a column that needs one."""
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "is missing; every row needs one", None)]
        )


def check_nonnegative(values: np.ndarray, column: str) -> None:
    """Raise if a money or duration column holds a negative value (NaN is allowed)."""
    if len(values) and np.nanmin(values, initial=0.0) < 0:
        row = int(np.flatnonzero(values < 0)[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "must not be negative", float(values[row]))]
        )


def check_times(times: np.ndarray, column: str) -> None:
    """Raise if a time is missing (NaT)."""
    if len(times) and np.isnat(times).any():
        row = int(np.flatnonzero(np.isnat(times))[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "is missing; every event needs a time", "NaT")]
        )


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


def group_min(codes: np.ndarray, values: np.ndarray, k: int, empty: Any) -> np.ndarray:
    """Per-group minimum over dense codes; ``empty`` where a group has no rows."""
    out = np.full(k, empty, dtype=values.dtype)
    np.minimum.at(out, codes, values)
    return out


def count_worse(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """For each (non-NaN) value, how many of the others are strictly worse.

    One argsort, then the position of the first of each run of equal values, so equal
    values get the same count (a "min" rank minus one).

    >>> count_worse(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [2, 0, 2, 1]
    >>> count_worse(np.array([3.0, 1.0, 3.0, 2.0]), higher_is_better=False).tolist()
    [0, 3, 0, 2]
    """
    n = len(values)
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    key = values if higher_is_better else -values
    order = np.argsort(key)
    s = key[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(s[1:], s[:-1], out=starts[1:])
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    out[order] = first
    return out
