"""Calendar arithmetic over numpy ``datetime64[D]`` arrays, vectorised.

Months are added the way people expect: the day of month is kept and clamped to the
month's last day (31 January + 1 month = 28 or 29 February; a 29 February birthday falls
on 28 February in other years).

Examples
--------
>>> days = np.array(["2024-01-31", "2024-02-29", "NaT"], dtype="datetime64[D]")
>>> add_months(days, 1).astype(str).tolist()
['2024-02-29', '2024-03-29', 'NaT']
>>> add_months(days, 12).astype(str).tolist()
['2025-01-31', '2025-02-28', 'NaT']
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_months", "day_of_month", "months_between"]


def day_of_month(days: np.ndarray) -> np.ndarray:
    """Day of month, 1..31, of each date (undefined for NaT)."""
    months = days.astype("datetime64[M]")
    return (days - months.astype("datetime64[D]")).astype(np.int64) + 1


def add_months(days: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """``days`` shifted by whole months, the day clamped to the target month's length."""
    days = np.asarray(days, dtype="datetime64[D]")
    start = days.astype("datetime64[M]")
    target = start + np.asarray(months, dtype=np.int64)
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    day = np.minimum(day_of_month(days), length)
    out = first + (day - 1)
    out[np.isnat(days)] = np.datetime64("NaT")
    return out


def months_between(start: np.ndarray, end: np.datetime64) -> np.ndarray:
    """Whole calendar months from each ``start`` month to ``end``'s month (may be negative)."""
    return (np.datetime64(end, "M") - start.astype("datetime64[M]")).astype(np.int64)
