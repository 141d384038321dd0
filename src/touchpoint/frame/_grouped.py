"""Count, sum and maximum per dense code in one call, on the thread pool.

`group_stats` is the reduction behind `touchpoint.scoring.rfm` (events per customer,
amount per customer, latest time per customer). Three things make it faster than
``np.bincount`` + ``np.bincount(weights=...)`` + ``np.maximum.at``:

- **Latest time by assignment.** On rows whose values never decrease (events in time
  order, as logged: one streaming pass per chunk detects it), the maximum of a code is
  the value of its last row, and ``out[codes] = values`` writes it without
  ``ufunc.at``'s per-element overhead. numpy writes repeated indices in order but does
  not document it, so `_assignment_keeps_last` probes it once per process (and the
  tests compare with ``np.maximum.at``); verifying every result instead would cost a
  gather, as much as ``np.maximum.at`` itself. Rows not in order take ``np.maximum.at``.
- **Threads.** Large inputs with many rows per code are cut into a fixed number of row
  chunks (`_parts`: it depends on the numbers of rows and codes only, never on the thread
  count), each chunk is reduced into its own per-code arrays on the thread pool
  (``touchpoint._threads``), and the partial arrays are combined in chunk order. Counts
  and maxima are exact; sums add chunk totals in a fixed order, so they are
  bit-identical for any thread count and agree with one ``np.bincount`` to about 1e-15
  relative. Inputs of one chunk (too few rows per code for partial arrays, e.g. 10M
  events of 1M customers) of at least 1M rows run their three statistics as three tasks
  instead (`_by_statistic`): each writes only its own output, so the result is the
  one-pass result bit for bit; ``np.bincount`` and fancy assignment release the GIL, so
  two cores overlap them (same CPU time, 0.16 s at 10M / 1M).
- **Runs.** Rows grouped by code (codes never decrease, e.g. a frame sorted by customer)
  get their counts and maxima from the runs (``np.maximum.reduceat``), no scatter.

Tried and dropped (figures in ``benchmarks/prototypes/grouped_reductions.py`` and
``benchmarks/README.md``): radix-partitioning the rows by code so each partition's
arrays fit in cache. In numpy the partition (a stable ``argsort`` of a partition id and
three gathers) costs more than the cache misses it saves: 2-3x the CPU time of the
plain scatters at 10M events / 1M codes. A compiled kernel (numba, the ``accel`` extra,
session 7) did not pay either, at 50M events / 5M codes, time-ordered, under load: one
pass with a code's count, sum and maximum in one cache line took 0.74 CPU s on one
thread against this module's 0.77 (and 0.66-0.72 when the machine was quieter, against
0.68-0.73); code ranges on two threads (each reading every row, to keep sums in row
order) 1.0-1.4 CPU s; radix-partitioning by code first 1.35 CPU s. The rows hit a
5M-code table at random, so memory latency, not numpy, sets the time; numba is used
for factorizing raw integer ids instead (`touchpoint.frame._accel`).

Examples
--------
>>> counts, sums, latest = group_stats(
...     np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), np.array([5, 6, 7]), 3, -1
... )
>>> counts.tolist(), sums.tolist(), latest.tolist()
([2, 1, 0], [4.0, 2.0, 0.0], [7, 6, -1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._threads import chunk_bounds, parallel_map

__all__ = ["code_time_order", "first_rows", "group_stats", "minimum", "nondecreasing"]

#: Below this many rows one chunk (the thread pool costs more than it saves).
_CHUNK_ROWS = 1 << 22
#: At most this many chunks: each holds per-code partial arrays until they are combined.
_MAX_PARTS = 4
#: From this many rows, one chunk's statistics (counts, sums, maxima) run as separate
#: tasks on the thread pool (`_by_statistic`).
_SPLIT_ROWS = 1 << 20
#: A chunk needs this many rows per code for its partial arrays to pay: measured at 50M
#: rows / 5M codes, four chunks of partial arrays (40 MB each, out of cache) cost twice
#: the CPU time of one pass (2.9 s vs 1.35 s) and more wall time even on two threads.
_ROWS_PER_CODE = 8


def _parts(n: int, k: int) -> int:
    """How many row chunks: one per ~4M rows, at most `_MAX_PARTS`, and only as many as
    have `_ROWS_PER_CODE` rows per code (24 bytes of partial arrays per code)."""
    by_rows = max(1, n // _CHUNK_ROWS)
    by_memory = max(1, n // max(1, _ROWS_PER_CODE * k))
    return min(_MAX_PARTS, by_rows, by_memory)


def nondecreasing(values: np.ndarray, *, threads: int | None = None) -> bool:
    """Whether ``values`` never decrease (NaN-free numbers or times as int64).

    One streaming pass, in chunks on the thread pool; stops handing out chunks once one
    fails.

    >>> nondecreasing(np.array([1, 1, 2])), nondecreasing(np.array([2, 1]))
    (True, False)
    """
    n = len(values)
    if n < 2:
        return True
    bounds = chunk_bounds(n - 1, min_size=1 << 20)
    failed = False

    def check(b: tuple[int, int]) -> bool:
        nonlocal failed
        if failed:
            return False
        lo, hi = b
        ok = bool((values[lo + 1 : hi + 1] >= values[lo:hi]).all())
        if not ok:
            failed = True
        return ok

    return all(parallel_map(check, bounds, threads=threads))


_LAST_WINS: list[bool] = []  # computed once per process by `_assignment_keeps_last`


def _assignment_keeps_last() -> bool:
    """Whether ``out[idx] = v`` with repeated indices leaves the last row's value.

    numpy writes a fancy assignment in index order today, but its documentation does not
    promise it. Checking every result costs a gather, as much as ``np.maximum.at``
    itself, so the order is probed once per process, on int64 arrays as `group_stats`
    uses them; if numpy ever writes in another order, `group_stats` uses
    ``np.maximum.at`` everywhere (and the test suite, which compares the two on
    time-ordered data, fails in CI).
    """
    if not _LAST_WINS:
        rng = np.random.default_rng(0)
        idx = rng.integers(0, 1 << 10, size=1 << 16)
        values = np.arange(len(idx), dtype=np.int64)
        out = np.full(1 << 10, -1, dtype=np.int64)
        out[idx] = values
        expected = np.full(1 << 10, -1, dtype=np.int64)
        np.maximum.at(expected, idx, values)
        _LAST_WINS.append(bool(np.array_equal(out, expected)))
    return _LAST_WINS[0]


def minimum(values: np.ndarray, *, threads: int | None = None) -> Any:
    """``values.min()`` in chunks on the thread pool (a NaN anywhere gives NaN).

    >>> float(minimum(np.array([3.0, 1.0, 2.0])))
    1.0
    """
    if len(values) < 1 << 21:
        return values.min()
    parts = parallel_map(
        lambda b: values[b[0] : b[1]].min(),
        chunk_bounds(len(values), min_size=1 << 20),
        threads=threads,
    )
    return np.min(np.array(parts, dtype=values.dtype))


def first_rows(codes: np.ndarray, k: int) -> np.ndarray:
    """The first row of each code 0..k-1 (``len(codes)`` for a code without rows).

    >>> first_rows(np.array([2, 0, 2, 0]), 4).tolist()
    [1, 4, 0, 4]
    """
    n = len(codes)
    first = np.full(k, n, dtype=np.int64)
    if _assignment_keeps_last():  # written in reverse: the first row is the last write
        first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)
    else:
        np.minimum.at(first, codes, np.arange(n, dtype=np.int64))
    return first


def code_time_order(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The rows sorted by (code, time); rows equal in both keep their input order.

    ``np.lexsort((times, codes))``'s permutation, for codes >= 0 and int64 (or
    datetime64) times. When the times never decrease (events as logged), one
    ``np.sort`` of packed keys ``code | row``: the keys are unique, so any sort keeps
    the rows of a code in input (time) order (12M rows of 1M codes: 0.12-0.17 s against
    ``np.lexsort``'s 1.6-1.8 s; shuffled times 2.2 against 4.2 s,
    ``benchmarks/prototypes/code_time_order.py``). Otherwise a stable sort by time
    first, then the same.

    >>> code_time_order(np.array([1, 0, 1, 0]), np.array([5, 7, 3, 7])).tolist()
    [1, 3, 2, 0]
    """
    n = len(codes)
    t = times.view(np.int64) if times.dtype.kind == "M" else times
    row_bits = max(1, (n - 1).bit_length())
    code_bits = max(1, int(codes.max()).bit_length()) if n else 1
    if n < 2 or code_bits + row_bits > 63:
        return np.lexsort((t, codes))
    by_time = None if nondecreasing(t) else np.argsort(t, kind="stable")
    key = (codes if by_time is None else codes[by_time]).astype(np.int64) << row_bits
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << row_bits) - 1
    return key if by_time is None else by_time[key]


def _max_into(out: np.ndarray, codes: np.ndarray, values: np.ndarray, ordered: bool) -> None:
    """``np.maximum.at(out, codes, values)`` for ``out`` filled with the empty value."""
    if ordered and _assignment_keeps_last():
        out[codes] = values  # in order, a code's last row holds its maximum
    else:
        np.maximum.at(out, codes, values)


def _runs(
    codes: np.ndarray, weights: np.ndarray | None, values: np.ndarray, k: int, empty: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`group_stats` for codes that never decrease (rows grouped by code)."""
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    present = codes[starts]
    counts = np.zeros(k, dtype=np.int64)
    counts[present] = np.diff(np.append(starts, len(codes)))
    sums = np.zeros(k)
    if weights is None:
        sums[present] = counts[present]
    else:
        # np.add.reduceat adds a run pairwise, np.bincount left to right: use bincount's
        # order so that the sums do not depend on how the rows are grouped
        sums = np.bincount(codes, weights=weights, minlength=k).astype(np.float64, copy=False)
    maxima = np.full(k, empty, dtype=values.dtype)
    maxima[present] = np.maximum.reduceat(values, starts)
    return counts, sums, maxima


def group_stats(
    codes: np.ndarray,
    weights: np.ndarray | None,
    values: np.ndarray,
    k: int,
    empty: Any,
    *,
    ordered: bool | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, sum of ``weights`` and maximum of ``values`` per code 0..k-1.

    Parameters
    ----------
    codes:
        Dense codes 0..k-1, one per row (no missing codes: checked by the caller).
    weights:
        float64 per row, or None (the sums are then the counts as float64). No NaN: a
        NaN weight makes its code's sum NaN, as in ``np.bincount``.
    values:
        int64 per row (times as microseconds): the maximum is taken of these.
    k:
        The number of codes.
    empty:
        The maximum of a code without rows.
    ordered:
        Whether ``values`` never decrease, if the caller knows (`touchpoint.frame.nondecreasing`);
        None: checked here.
    threads:
        At most this many threads (default ``touchpoint._threads.get_threads()``). The
        result does not depend on it.

    Returns
    -------
    counts (int64), sums (float64), maxima (``values.dtype``), each of length ``k``.
    Counts and maxima equal ``np.bincount`` and ``np.maximum.at``'s; sums equal
    ``np.bincount(codes, weights)``'s to about 1e-15 relative, bit for bit when the input
    is one chunk (fewer than 8M rows, or fewer than 16 rows per code).

    Examples
    --------
    Codes in runs (rows sorted by code) take the ``reduceat`` path, with the same result:

    >>> c, s, m = group_stats(np.array([0, 0, 2]), None, np.array([3, 1, 4]), 3, 0)
    >>> c.tolist(), s.tolist(), m.tolist()
    ([2, 0, 1], [2.0, 0.0, 1.0], [3, 0, 4])
    """
    n = len(codes)
    if n == 0:
        return (
            np.zeros(k, dtype=np.int64),
            np.zeros(k),
            np.full(k, empty, dtype=values.dtype),
        )
    parts = _parts(n, k)
    if ordered is None:
        ordered = nondecreasing(values, threads=threads)
    if not ordered and nondecreasing(codes, threads=threads):
        return _runs(codes, weights, values, k, empty)

    if parts == 1 and n >= _SPLIT_ROWS:
        return _by_statistic(codes, weights, values, k, empty, ordered, threads)

    def reduce(b: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = b
        c = codes[lo:hi]
        counts = np.bincount(c, minlength=k)
        if weights is None:
            sums = counts.astype(np.float64)
        else:
            sums = np.bincount(c, weights=weights[lo:hi], minlength=k).astype(
                np.float64, copy=False
            )
        maxima = np.full(k, empty, dtype=values.dtype)
        _max_into(maxima, c, values[lo:hi], ordered)
        return counts, sums, maxima

    partial = parallel_map(reduce, chunk_bounds(n, min_size=1, parts=parts), threads=threads)
    counts, sums, maxima = partial[0]
    if len(partial) > 1:
        # combine in chunk order, code ranges on the pool (a loop over a few chunks)
        def combine(b: tuple[int, int]) -> None:
            lo, hi = b
            for c, s, m in partial[1:]:
                counts[lo:hi] += c[lo:hi]
                sums[lo:hi] += s[lo:hi]
                np.maximum(maxima[lo:hi], m[lo:hi], out=maxima[lo:hi])

        parallel_map(combine, chunk_bounds(k, min_size=1 << 16), threads=threads)
    return counts, sums, maxima


def _by_statistic(
    codes: np.ndarray,
    weights: np.ndarray | None,
    values: np.ndarray,
    k: int,
    empty: Any,
    ordered: bool,
    threads: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`group_stats` in one row chunk, its three statistics as tasks on the thread pool.

    Each task scatters into its own output array only (no partial arrays to combine,
    no memory beyond the outputs), so the result is the one-chunk result bit for bit
    whatever the thread count; with two threads the wall time is that of the slowest
    statistic instead of their sum. A loop over three statistics.
    """
    out: dict[str, np.ndarray] = {}
    # filled here, in one thread: threads faulting in fresh pages at once wait on each
    # other in the kernel (`touchpoint._threads.empty`)
    maxima = np.full(k, empty, dtype=values.dtype)

    def task(name: str) -> None:
        if name == "counts":
            out[name] = np.bincount(codes, minlength=k)
        elif name == "sums":
            if weights is None:
                return
            out[name] = np.bincount(codes, weights=weights, minlength=k).astype(
                np.float64, copy=False
            )
        else:
            _max_into(maxima, codes, values, ordered)
            out[name] = maxima

    parallel_map(task, ("maxima", "counts", "sums"), threads=threads)
    counts = out["counts"]
    sums = out["sums"] if weights is not None else counts.astype(np.float64)
    return counts, sums, out["maxima"]
