"""The optional compiled accelerator (the ``accel`` extra, numba) for raw integer ids.

With numba installed (``pip install 'touchpoint-ctm[accel]'``), `touchpoint.frame.factorize`
of at least `MIN_ROWS` integers spread too widely for a lookup table (raw 13-digit
customer ids, as `touchpoint.scoring.rfm` meets them) runs compiled kernels instead of
numpy and pandas: the same codes and distinct values, in the same order; only the time
changes (50M ids of 5M customers: 1.1-1.5 CPU s instead of 1.7-1.9; 10M ids of 1M
customers: 0.21 instead of 0.26; same runs, under load).

How: radix-partitioned by the top bits of a hash, as databases do, so that each
partition's hash table stays in the CPU cache. Row blocks count their rows per
partition, move them to their partition's region in order, each partition is coded by
its own open-addressing hash table (codes in first appearance), then each row reads its
code back and the first rows number the keys in row order. Blocks and partitions run
on the thread pool (`touchpoint._threads`, the kernels release the GIL); neither the
blocks nor the thread count change the result.

When it runs: numba importable, the accelerator on (`touchpoint._threads.get_accel`:
``TOUCHPOINT_ACCEL=0`` or ``touchpoint.set_accel(False)`` turn it off), and at least
`MIN_ROWS` values. numba is imported the first time an input that large arrives, never
on ``import touchpoint``. That first call in a process pays for importing numba and
loading the kernels from numba's cache (about 0.5 CPU s), or compiling them when the
cache is cold (about 2 CPU s, once per machine and numba version); below `MIN_ROWS`,
where numpy needs a tenth of a second or less, nothing is loaded.

The grouped reduction of `touchpoint.frame.group_stats` stays numpy: a compiled kernel
did not pay there (see that module).

Examples
--------
>>> wanted(10)  # a few rows: numpy, numba not imported
False
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any

import numpy as np

from touchpoint._threads import chunk_bounds, empty, get_accel, parallel_map

__all__ = ["MIN_ROWS", "available", "factorize_int64", "wanted"]

#: Values from which the kernels run (when numba is importable and the accelerator is
#: on): loading them costs about 0.4 CPU s more than numpy's first call in a process,
#: and they save 0.03 a call at 4M, 0.04-0.06 at 10M, 0.3-0.6 at 50M: from 32M on the
#: first call of a process breaks even and every later one gains; below, a one-off
#: call (a notebook, a command) would pay more than it saves.
MIN_ROWS = 1 << 25

#: Hash partitions of `factorize_int64`: 256, so that at 5M distinct keys a partition's
#: hash table (about 20,000 keys) stays in the L2 cache.
_PARTITION_BITS = 8
#: Rows per block of the row passes (tasks on the thread pool).
_BLOCK_ROWS = 1 << 20


@functools.cache
def _kernels() -> ModuleType | None:
    """The kernels module (imports numba and loads the kernels once), or None without numba."""
    try:
        return importlib.import_module("touchpoint.frame._accel_kernels")
    except ImportError:
        return None


def available() -> bool:
    """Whether numba is installed (imports it and the kernels on the first call).

    >>> isinstance(available(), bool)
    True
    """
    return _kernels() is not None


def wanted(rows: int) -> bool:
    """Whether an input of ``rows`` rows goes to the kernels (on, at least `MIN_ROWS`, numba).

    >>> wanted(0)
    False
    """
    return rows >= MIN_ROWS and get_accel() and available()


def _partition_codes(
    kern: Any, keys: np.ndarray, blocks: list[tuple[int, int]], threads: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 1-4 (see `touchpoint.frame._accel_kernels`): each row's partition code
    (``~`` of it on a key's first row), the distinct keys in partition order, and how
    many first rows each block holds. The partition buffers are freed on return."""
    n = len(keys)
    parts = 1 << _PARTITION_BITS
    shift = 64 - _PARTITION_BITS
    counts = np.zeros((len(blocks), parts), np.int64)
    parallel_map(
        lambda b: kern.partition_counts(keys, *blocks[b], shift, counts[b]),
        range(len(blocks)),
        threads=threads,
    )
    region = np.zeros(parts + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=region[1:])
    # where each block's rows of each partition start: partitions in order, blocks in order
    cursor = region[:-1] + np.cumsum(counts, axis=0) - counts
    buffer = empty(n, np.int64)
    parallel_map(
        lambda b: kern.partition_keys(keys, *blocks[b], shift, cursor[b].copy(), buffer),
        range(len(blocks)),
        threads=threads,
    )
    found = empty(n, np.int64)  # each partition's distinct keys from its region's start
    distinct = np.array(
        parallel_map(
            lambda p: kern.code_partition(buffer, region[p], region[p + 1], found),
            range(parts),
            threads=threads,
        ),
        dtype=np.int64,
    )
    base = np.zeros(parts + 1, np.int64)
    np.cumsum(distinct, out=base[1:])
    codes = empty(n, np.int64)
    firsts = np.array(
        parallel_map(
            lambda b: kern.gather_codes(
                keys, *blocks[b], shift, cursor[b].copy(), buffer, base, codes
            ),
            range(len(blocks)),
            threads=threads,
        ),
        dtype=np.int64,
    )
    uniques = np.concatenate([found[region[p] : region[p] + distinct[p]] for p in range(parts)])
    return codes, uniques, firsts


def factorize_int64(
    keys: np.ndarray, *, ascending: bool, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values of int64 keys, in first appearance (or ascending) order.

    As ``factorize(keys, sort=ascending)`` without the kernels (see the module docs).

    >>> c, u = factorize_int64(np.array([9, -4, 9]), ascending=False)
    >>> c.tolist(), u.tolist()
    ([0, 1, 0], [9, -4])
    """
    kern: Any = _kernels()  # callers check `available` first
    blocks = chunk_bounds(len(keys), min_size=_BLOCK_ROWS)
    codes, uniques, firsts = _partition_codes(kern, keys, blocks, threads)
    # int32 when it fits: at 5M keys the table is 20 MB, which the last pass reads at
    # random and the L3 cache holds
    small = np.int32 if len(uniques) < 2**31 else np.int64
    rank = np.empty(len(uniques), small)
    if ascending:  # partition order -> value order: first appearance is not needed
        by_value = np.argsort(uniques)  # distinct values: any sort is the stable one
        rank[by_value] = np.arange(len(by_value))
        ordered = uniques[by_value]
    else:  # partition order -> first appearance, numbered by the first rows
        start = np.cumsum(firsts) - firsts
        parallel_map(
            lambda b: kern.rank_firsts(codes, *blocks[b], start[b], rank),
            range(len(blocks)),
            threads=threads,
        )
        ordered = np.empty_like(uniques)
        ordered[rank] = uniques
    parallel_map(
        lambda b: kern.recode(codes, *blocks[b], rank), range(len(blocks)), threads=threads
    )
    return codes, ordered
