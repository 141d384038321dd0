"""Calendar periods of naive UTC times as integer indices, and their first days.

A period is one of ``"D"`` (day), ``"W"`` (ISO week, Monday to Sunday), ``"M"``
(calendar month), ``"Q"`` (calendar quarter) or ``"Y"`` (year). `period_index` numbers
them consecutively (so the offset between two periods is a subtraction) and
`period_start` gives the first day of a numbered period.

Examples
--------
>>> t = np.array(["2026-01-31T23:00", "2026-02-01", "2025-12-29"], dtype="datetime64[us]")
>>> i = period_index(t, "M")
>>> (i - i.min()).tolist(), period_start(i, "M").astype(str).tolist()
([1, 2, 0], ['2026-01-01', '2026-02-01', '2025-12-01'])
>>> period_start(period_index(t, "W"), "W").astype(str).tolist()
['2026-01-26', '2026-01-26', '2025-12-29']
"""

from __future__ import annotations

import numpy as np

from touchpoint.errors import Problem, ValidationError

__all__ = ["PERIODS", "check_period", "period_index", "period_start"]

#: The calendar periods: day, ISO week (Monday first), month, quarter, year.
PERIODS = ("D", "W", "M", "Q", "Y")

# 1970-01-01, day 0, was a Thursday: day + 3 counts from the Monday before it
_MONDAY_SHIFT = 3


def check_period(period: str, name: str = "period") -> str:
    """``period`` if it is one of `PERIODS`, else the library's error naming ``name``."""
    if not isinstance(period, str) or period not in PERIODS:
        raise ValidationError(
            [Problem(name, f"must be one of {', '.join(map(repr, PERIODS))}", period)]
        )
    return period


def period_index(times: np.ndarray, period: str) -> np.ndarray:
    """Consecutive int64 numbers of the calendar periods of ``datetime64`` times (no NaT).

    Casting ``datetime64`` to a coarser unit rounds towards the past, so times before
    1970 fall in the right period too.
    """
    if period == "W":
        days = times.astype("datetime64[D]").view(np.int64)
        return (days + _MONDAY_SHIFT) // 7
    if period == "Q":
        return times.astype("datetime64[M]").view(np.int64) // 3
    return times.astype(f"datetime64[{period}]").view(np.int64)


def period_start(index: np.ndarray, period: str) -> np.ndarray:
    """The first day (``datetime64[D]``) of each numbered period (see `period_index`)."""
    index = np.asarray(index, dtype=np.int64)
    if period == "W":
        return (index * 7 - _MONDAY_SHIFT).view("datetime64[D]")
    if period == "Q":
        return (index * 3).view("datetime64[M]").astype("datetime64[D]")
    return index.view(f"datetime64[{period}]").astype("datetime64[D]")
