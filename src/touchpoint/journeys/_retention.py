"""Retention: the cohort table, and the survival curve of customer lifetimes.

Examples
--------
>>> events = {"customer": ["a", "a", "b", "c", "c"],
...           "time": ["2026-01-05", "2026-03-01", "2026-01-20", "2026-02-02", "2026-02-03"]}
>>> r = retention(events, period="M")
>>> list(zip(r.table["cohort"].astype(str).tolist(), r.table["offset"].tolist(),
...          r.table["customers"].tolist()))  # doctest: +NORMALIZE_WHITESPACE
[('2026-01-01', 0, 2), ('2026-01-01', 1, 0), ('2026-01-01', 2, 1),
 ('2026-02-01', 0, 1), ('2026-02-01', 1, 0)]
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from touchpoint._distinct import distinct
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    DAY_US,
    ScoreFrame,
    as_time,
    check_codes,
    check_times,
    distributed,
    read_coded,
)
from touchpoint.journeys._km import kaplan_meier
from touchpoint.journeys._periods import check_period, period_index, period_start

__all__ = [
    "Retention",
    "cohort_counts",
    "cohort_frame",
    "cohort_table",
    "lifetimes",
    "retention",
    "window_us",
]

_NONE = np.iinfo(np.int64).min


@attrs.frozen(eq=False)
class Retention:
    """What `retention` returns.

    Attributes
    ----------
    table:
        The cohort table in long form, keyed by ``cohort`` (the first day of the
        period of the customers' first event, ``datetime64[D]``): ``offset`` (periods
        after the cohort's, 0, 1, ... up to the period of ``asof``), ``customers``
        (distinct customers of the cohort with an event in period cohort + offset) and
        ``share`` (customers / the cohort's size, its offset-0 count). Ordered by cohort,
        then offset; a period without a customer of the cohort has a row with 0.
    survival:
        The Kaplan-Meier curve (`kaplan_meier`) of the time in days from each
        customer's first to last event, keyed by ``time``.
    lifetimes:
        One row per customer: ``first`` and ``last`` event time, ``days`` (last - first
        in days) and ``churned`` (no event in the last ``inactive_after`` days before
        ``asof``: the lifetime is observed; otherwise still active, censored).
    """

    table: ScoreFrame
    survival: ScoreFrame
    lifetimes: ScoreFrame


def window_us(value: Any) -> int:
    """``inactive_after`` (days, or a ``timedelta64``) as microseconds."""
    if isinstance(value, np.timedelta64):
        us = int(value.astype("timedelta64[us]").view(np.int64))
    elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
        us = round(float(value) * DAY_US) if np.isfinite(value) else -1
    else:
        us = -1
    if us < 0:
        raise ValidationError(
            [Problem("inactive_after", "must be a number of days >= 0 or a timedelta64", value)]
        )
    return us


@distributed("lifetimes")
def lifetimes(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    asof: Any = None,
    inactive_after: Any = 90,
) -> ScoreFrame:
    """Each customer's first and last event, lifetime in days and whether they churned.

    The per-customer step of `retention` (see there for the arguments): a customer
    whose last event is more than ``inactive_after`` days before ``asof`` has churned;
    the others are still active, their lifetime censored.

    With a Dask DataFrame as ``data``: a lazy Dask DataFrame of the same columns, one
    row per customer.

    >>> lt = lifetimes({"customer": [1, 1, 2], "time": ["2026-01-01", "2026-01-11", "2026-03-30"]},
    ...                asof="2026-04-01", inactive_after=30)
    >>> lt["days"].tolist(), lt["churned"].tolist()
    ([10.0, 0.0], [True, False])
    """
    width = window_us(inactive_after)
    codes, t, at, ids = _events(data, customer, time, asof)
    return _per_customer(codes, t, at, ids, width)


def _per_customer(
    codes: np.ndarray, t: np.ndarray, at: int, ids: np.ndarray, width: int
) -> ScoreFrame:
    n = len(ids)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, _NONE, dtype=np.int64)
    np.minimum.at(first, codes, t)
    np.maximum.at(last, codes, t)
    seen = last != _NONE
    ids = ids[seen]
    first, last = first[seen], last[seen]
    return ScoreFrame(
        {
            "customer": ids,
            "first": first.view("datetime64[us]"),
            "last": last.view("datetime64[us]"),
            "days": (last - first) / DAY_US,
            "churned": (at - last) > width,
        }
    )


@distributed("retention")
def retention(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    period: str = "M",
    asof: Any = None,
    inactive_after: Any = 90,
    confidence: float = 0.95,
) -> Retention:
    """The cohort retention table and the survival curve of customer lifetimes.

    Parameters
    ----------
    data:
        Events: an `EventFrame`, a pandas / polars DataFrame, an Arrow table or a dict.
        Every event counts as activity (a purchase, a call, a visit...).
    customer, time:
        The columns of the customer id and the event time.
    period:
        The calendar period of cohorts and offsets: ``"D"`` day, ``"W"`` ISO week
        (Monday to Sunday), ``"M"`` month (default), ``"Q"`` quarter, ``"Y"`` year, of
        naive UTC times.
    asof:
        The date the table is taken at; events after it are ignored. Default: the
        latest event.
    inactive_after:
        Days without an event before ``asof`` after which a customer counts as gone
        (default 90; a number or a ``numpy.timedelta64``). A customer active within the
        window is still active: their lifetime is right-censored at their last event
        (we only know it lasts at least that long).
    confidence:
        The survival band's pointwise confidence level.

    Returns
    -------
    Retention
        ``table`` (cohort, offset, customers, share), ``survival`` (Kaplan-Meier, in
        days, with a Greenwood log-log band) and ``lifetimes`` (per customer). With a
        Dask DataFrame as ``data``: the same, computed (the cohort cells are summed
        over partitions of customers; the lifetimes, one row per customer, are
        brought into memory for the curve; see `touchpoint.scale`).

    Raises
    ------
    touchpoint.errors.ValidationError
        An event without a customer or time, an unknown period, a negative window.

    Examples
    --------
    >>> events = {"customer": [1, 1, 2, 2, 3],
    ...           "time": ["2026-01-01", "2026-01-20", "2026-01-03", "2026-06-01", "2026-06-02"]}
    >>> r = retention(events, period="M", asof="2026-06-30", inactive_after=60)
    >>> r.lifetimes["churned"].tolist()
    [True, False, False]
    >>> r.survival["time"].tolist(), r.survival["survival"].tolist()
    ([0.0, 19.0, 149.0], [1.0, 0.5, 0.5])
    """
    check_period(period)
    width = window_us(inactive_after)
    codes, t, at, ids = _events(data, customer, time, asof)
    per = _per_customer(codes, t, at, ids, width)
    survival = kaplan_meier(per["days"], per["churned"], confidence=confidence)
    return Retention(cohort_table(codes, t, at, period), survival, per)


def _events(
    data: Any, customer: str, time: str, asof: Any
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Customer codes and int64 times of the events up to ``asof``, ``asof``, the ids."""
    cols, cats = read_coded(
        data,
        {"customer": customer, "time": time},
        required=("customer", "time"),
        categorical=("customer",),
    )
    codes, times = cols["customer"], cols["time"]
    check_codes(codes, customer)
    check_times(times, time)
    t = times.view(np.int64)
    at = (int(t.max()) if len(t) else 0) if asof is None else int(as_time(asof).view(np.int64))
    if len(t) and t.max() > at:
        keep = t <= at
        codes, t = codes[keep], t[keep]
    return codes, t, at, cats["customer"]


def cohort_counts(
    codes: np.ndarray, t: np.ndarray, period: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero cells of the cohort table: ``(cohort, offset, customers)``.

    ``codes`` and ``t`` (int64 times) are events; ``cohort`` is a period number (see
    `touchpoint.journeys._periods.period_index`). Sums over disjoint sets of customers
    add up: a Dask plan computes them per partition of customers and adds them.
    """
    if not len(t):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    p = period_index(t.view("datetime64[us]"), period)
    p0 = int(p.min())
    rel = p - p0
    span = int(rel.max()) + 1
    n = int(codes.max()) + 1
    pairs = distinct(codes.astype(np.int64) * span + rel)  # distinct (customer, period)
    who, when = pairs // span, pairs % span
    first = np.full(n, span, dtype=np.int64)
    np.minimum.at(first, who, when)
    cohort = first[who]
    cells, counts = np.unique(cohort * span + (when - cohort), return_counts=True)
    return cells // span + p0, cells % span, counts.astype(np.int64)


def cohort_frame(
    cohort: np.ndarray, offset: np.ndarray, customers: np.ndarray, at: int, period: str
) -> ScoreFrame:
    """The long cohort table from its non-zero cells (summed), up to the period of ``at``.

    Each cohort with customers gets a row for every offset 0 .. period of ``at`` - cohort.
    """
    last_p = int(period_index(np.array([at]).view("datetime64[us]"), period)[0])
    if not len(cohort):
        return ScoreFrame(
            {
                "cohort": np.empty(0, dtype="datetime64[D]"),
                "offset": np.empty(0, dtype=np.int64),
                "customers": np.empty(0, dtype=np.int64),
                "share": np.empty(0),
            },
            key="cohort",
        )
    cohort, offset = np.asarray(cohort, np.int64), np.asarray(offset, np.int64)
    p0 = int(cohort.min())
    span = last_p - p0 + 1
    flat = np.zeros(span * span, dtype=np.int64)
    np.add.at(flat, (cohort - p0) * span + offset, np.asarray(customers, np.int64))
    counts = flat.reshape(span, span)  # cohort x offset
    size = counts[:, 0]
    cohorts = np.flatnonzero(size > 0)  # periods in which some customer first came
    offsets = span - cohorts  # offsets 0 .. last period - cohort
    row_cohort = np.repeat(cohorts, offsets)
    row_offset = np.arange(offsets.sum()) - np.repeat(np.r_[0, np.cumsum(offsets)[:-1]], offsets)
    got = counts[row_cohort, row_offset]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = got / size[row_cohort]
    return ScoreFrame(
        {
            "cohort": period_start(row_cohort + p0, period),
            "offset": row_offset,
            "customers": got.astype(np.int64),
            "share": share,
        },
        key="cohort",
    )


def cohort_table(codes: np.ndarray, t: np.ndarray, at: int, period: str) -> ScoreFrame:
    """The long cohort table of events (customer codes, int64 times) up to ``at``."""
    return cohort_frame(*cohort_counts(codes, t, period), at, period)
