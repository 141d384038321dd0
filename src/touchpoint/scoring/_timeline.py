"""Per-customer running sums and maxima on a timeline, for many (customer, time) queries.

`cumulative_at` answers "how much had this customer accumulated by this time" for many
queries at once: source rows and queries are sorted together by exact composite keys
``customer x S + time`` (with a dense rank of the times instead when those keys would
not fit in int64), and a running sum per customer is read at each query.

Examples
--------
>>> src_c, src_t, v = np.array([0, 0, 1]), np.array([1, 5, 2]), np.array([10.0, 20.0, 7.0])
>>> cumulative_at(src_c, src_t, v, np.array([0, 0, 1, 1]), np.array([4, 5, 1, 9])).tolist()
[10.0, 30.0, 0.0, 7.0]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from touchpoint._threads import parallel_map
from touchpoint.frame import nondecreasing

#: Rows per block of `segmented_cumsum` (blocks end at segment starts).
SEGMENT_BLOCK = 1 << 20

__all__ = [
    "add_months",
    "count_within",
    "cumulative_at",
    "cumulative_self",
    "running_max_before",
    "segmented_cumsum",
]


def _composite(customers: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Int64 keys ordered by (customer, time): direct when they fit, else via time ranks."""
    cust = customers.astype(np.int64)
    if len(times) == 0:
        return cust
    lo, hi = int(times.min()), int(times.max())
    span = hi - lo + 1
    if (int(cust.max()) + 1) * span < 2**62:
        result: np.ndarray = cust * span + (times - lo)
        return result
    _, rank = np.unique(times, return_inverse=True)
    return cust * (int(rank.max()) + 1) + rank


def cumulative_at(
    src_customer: np.ndarray,
    src_time: np.ndarray,
    values: np.ndarray,
    query_customer: np.ndarray,
    query_time: np.ndarray,
) -> np.ndarray:
    """For each query, the sum of ``values`` of source rows of its customer at time <= its time.

    Times are int64 (e.g. microseconds). Sources and queries are sorted together by
    (customer, time) (one stable sort; sources first at equal keys), a running sum is
    taken and each query reads it, minus the running sum before its customer's rows.
    Each customer's running sum adds only that customer's values (`segmented_cumsum`),
    so the error is relative to the customer's own total, not to everyone's, and the
    answer does not depend on which other customers are in the data.
    """
    m, q = len(src_time), len(query_time)
    if m == 0 or q == 0:
        return np.zeros(q, dtype=np.float64)
    cust = np.concatenate((src_customer, query_customer)).astype(np.int64)
    key = _composite(cust, np.concatenate((src_time, query_time)))
    order = np.argsort(key, kind="stable")
    weights = np.zeros(m + q)
    weights[:m] = values
    counts = np.bincount(cust)
    block_start = np.cumsum(counts) - counts  # merged rows of smaller customers
    starts = np.zeros(m + q, dtype=bool)
    starts[block_start[counts > 0]] = True
    cs = segmented_cumsum(weights[order], starts)
    position = np.empty(m + q, dtype=np.int64)
    position[order] = np.arange(m + q)
    return cs[position[m:]]


def cumulative_self(customers: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row, the sum of ``values`` over its customer's rows at time <= its time.

    ``cumulative_at(c, t, v, c, t)`` when the queries are the source rows themselves
    (points expiring by each expiry instant): one stable sort of the rows by (customer,
    time), one running sum per customer (`segmented_cumsum`), and rows of equal
    (customer, time) all take the sum at the last of their run. Half the rows of the
    joint sort of sources and queries, and equal to it up to the rounding of the
    running sums (the same values added in the same order, without the queries' zeros).

    >>> cumulative_self(np.array([0, 1, 0, 0]), np.array([5, 1, 1, 5]),
    ...                 np.array([1.0, 2.0, 3.0, 4.0])).tolist()
    [8.0, 2.0, 3.0, 8.0]
    """
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    if nondecreasing(times):  # time order: a stable sort by customer is enough
        order = np.argsort(customers, kind="stable")
        key = None
    else:
        key = _composite(customers, times)
        order = np.argsort(key, kind="stable")
        key = key[order]
    starts = np.ones(n, dtype=bool)
    sorted_customers = customers[order]
    np.not_equal(sorted_customers[1:], sorted_customers[:-1], out=starts[1:])
    sums = segmented_cumsum(values[order], starts)
    last = starts  # reused: the last row of each run of equal (customer, time)
    if key is None:
        sorted_times = times[order]
        np.not_equal(sorted_times[1:], sorted_times[:-1], out=last[:-1])
        last[:-1] |= sorted_customers[1:] != sorted_customers[:-1]
        del sorted_times
    else:
        np.not_equal(key[1:], key[:-1], out=last[:-1])
    last[-1] = True
    del key, sorted_customers
    ends = np.flatnonzero(last)
    run = np.cumsum(last)  # a row's run: how many runs ended before it
    np.subtract(run, last, out=run)
    out = np.empty(n, dtype=np.float64)
    out[order] = sums[ends[run]]
    return out


def count_within(
    src_customer: np.ndarray,
    src_time: np.ndarray,
    query_customer: np.ndarray,
    query_start: np.ndarray,
    query_end: np.ndarray,
) -> np.ndarray:
    """For each query, how many source rows of its customer have start < time <= end.

    Customers are non-negative integer codes, times int64 (e.g. microseconds), with
    ``start <= end``. The counts of "N follow-ups within D days": only the sources are
    sorted, by one int64 key per row that orders them by (customer, time) (``customer x
    span + time`` when that fits, else with the time replaced by its rank among the
    source times), and each query bound is found with ``numpy.searchsorted``. Both bounds
    of a query fall in its own customer's block of keys, so the difference of the two
    positions is the count: exact integers, a key and a sorted copy of the sources'
    length and two positions per query, instead of a sort of sources and queries together.

    >>> count_within(np.array([0, 0, 0, 1]), np.array([1, 5, 9, 5]),
    ...              np.array([0, 0, 1]), np.array([1, 0, 0]), np.array([5, 9, 4])).tolist()
    [1, 3, 0]
    """
    q = len(query_customer)
    if len(src_time) == 0 or q == 0:
        return np.zeros(q, dtype=np.int64)
    lo = min(int(src_time.min()), int(query_start.min()))
    hi = max(int(src_time.max()), int(query_end.max()))
    span = hi - lo + 1
    width = int(max(src_customer.max(), query_customer.max())) + 1
    qc = query_customer.astype(np.int64)
    if width * span < 2**62:
        keys = src_customer.astype(np.int64) * span
        keys += src_time
        keys -= lo
        side: Literal["left", "right"] = "right"

        def needle(t: np.ndarray) -> np.ndarray:
            k = qc * span
            k += t
            k -= lo
            return k

    else:  # ranks of the source times: the keys stay below customers x rows
        uniq, rank = np.unique(src_time, return_inverse=True)
        span = len(uniq) + 1
        keys = src_customer.astype(np.int64) * span
        keys += rank.reshape(-1)
        del rank
        side = "left"  # sources at or before t: rank below the count of times <= t

        def needle(t: np.ndarray) -> np.ndarray:
            k = qc * span
            k += np.searchsorted(uniq, t, side="right")
            return k

    keys.sort()
    # the queries searched in key order: the searches then walk the keys forward (a few
    # cache misses each) instead of jumping across them (one per halving)
    first = needle(query_start)
    order = np.argsort(first)
    counts = np.empty(q, dtype=np.int64)
    last = needle(query_end)[order]
    counts[order] = np.searchsorted(keys, last, side=side) - np.searchsorted(
        keys, first[order], side=side
    )
    return counts


def segmented_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` that start again at each True of ``starts``.

    A doubling scan: in pass j every row adds the partial sum ``2**j`` rows back in its
    own segment, so log2(longest segment) vector passes, and a row's sum only ever adds
    values of its own segment (error relative to the segment's total).

    >>> segmented_cumsum(np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    ...                  np.array([True, False, True, False, False])).tolist()
    [1.0, 3.0, 3.0, 7.0, 12.0]
    """
    out = np.array(values, dtype=np.float64)
    n = len(out)
    if n == 0:
        return out
    # blocks of whole segments (about SEGMENT_BLOCK rows each) are independent: their
    # temporaries stay small and they run on the thread pool; a row's sum is the same
    # whatever the blocks, since only rows of its own segment ever add to it
    heads = np.flatnonzero(starts)
    if not len(heads) or heads[0] != 0:
        heads = np.concatenate(([0], heads))
    cuts = np.unique(
        heads[np.searchsorted(heads, np.arange(0, n, SEGMENT_BLOCK), side="right") - 1]
    )
    bounds = list(zip(cuts.tolist(), [*cuts[1:].tolist(), n], strict=True))

    def scan(lo_hi: tuple[int, int]) -> None:
        lo, hi = lo_hi
        part = out[lo:hi]
        offset = np.arange(hi - lo)
        index = np.where(starts[lo:hi], offset, 0)
        np.maximum.accumulate(index, out=index)
        np.subtract(offset, index, out=offset)  # place in segment
        del index
        rows = np.flatnonzero(offset >= 1)
        step = 1
        while len(rows):
            part[rows] += part[rows - step]  # right-hand side read in full before the update
            step *= 2
            rows = rows[offset[rows] >= step]

    parallel_map(scan, bounds)
    return out


def running_max_before(
    src_customer: np.ndarray,
    src_time: np.ndarray,
    values: np.ndarray,
    query_customer: np.ndarray,
    query_time: np.ndarray,
) -> np.ndarray:
    """For each query, the max of ``values`` over its customer's source rows strictly before it.

    -inf where there are none. A segmented running maximum in one pass: values are
    replaced by their rank and offset by customer (``customer x R + rank``), so one
    ``np.maximum.accumulate`` over rows sorted by (customer, time) never mixes customers.

    >>> running_max_before(np.array([0, 0, 1]), np.array([1, 3, 2]), np.array([5.0, 2.0, 9.0]),
    ...                    np.array([0, 0, 0, 1]), np.array([1, 2, 9, 9])).tolist()
    [-inf, 5.0, 5.0, 9.0]
    """
    m = len(src_time)
    out = np.full(len(query_time), -np.inf)
    if m == 0 or len(query_time) == 0:
        return out
    uniq_t, inv_t = np.unique(np.concatenate((src_time, query_time)), return_inverse=True)
    span_t = np.int64(len(uniq_t) + 1)
    src_key = src_customer.astype(np.int64) * span_t + inv_t[:m]
    order = np.argsort(src_key, kind="stable")
    keys = src_key[order]
    uniq_v, rank_v = np.unique(values[order], return_inverse=True)
    span_v = np.int64(len(uniq_v) + 1)
    cust_sorted = src_customer[order].astype(np.int64)
    best = np.maximum.accumulate(cust_sorted * span_v + rank_v)
    q_cust = query_customer.astype(np.int64)
    pos = np.searchsorted(keys, q_cust * span_t + inv_t[m:], side="left") - 1
    ok = pos >= 0
    ok[ok] = cust_sorted[pos[ok]] == q_cust[ok]
    out[ok] = uniq_v[best[pos[ok]] - q_cust[ok] * span_v]
    return out


def add_months(times: np.ndarray, months: int) -> np.ndarray:
    """Add calendar months to ``datetime64[us]`` times, clamping to the month's last day.

    >>> t = np.array(["2026-01-31T10:00", "2026-03-15"], dtype="datetime64[us]")
    >>> add_months(t, 1).astype("datetime64[m]").tolist()
    [datetime.datetime(2026, 2, 28, 10, 0), datetime.datetime(2026, 4, 15, 0, 0)]
    """
    month = times.astype("datetime64[M]")
    day = times.astype("datetime64[D]")
    into_day = times - day.astype(times.dtype)
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(months, "M")
    last = (
        (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")
    ).astype(np.int64) - 1
    out_day = target.astype("datetime64[D]") + np.minimum(day_of_month, last).astype(
        "timedelta64[D]"
    )
    result: np.ndarray = out_day.astype(times.dtype) + into_day
    return result
