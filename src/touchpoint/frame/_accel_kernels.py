"""The numba kernels of the ``accel`` extra; imported by `touchpoint.frame._accel` only.

Importing this module imports numba and loads (or compiles, the first time on a machine)
the kernels: ``cache=True`` keeps the machine code in numba's cache directory. Every
kernel is ``nogil``: touchpoint's own thread pool (`touchpoint._threads`) runs them on
several cores, so the thread count is the one `touchpoint._threads.set_threads` sets.
Plain loops over rows are what a compiled kernel is for; they never run in Python.

Examples
--------
One partition's keys replaced by their codes in first appearance (``~code`` on a key's
first row), the distinct keys written from the partition's start:

>>> import numpy as np
>>> buffer, found = np.array([7, -2, 7, 7]), np.zeros(4, np.int64)
>>> code_partition(buffer, 0, 4, found), buffer.tolist(), found[:2].tolist()
(2, [-1, -2, 0, 0], [7, -2])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from touchpoint._mix64 import MIX1, MIX2

__all__ = [
    "code_partition",
    "gather_codes",
    "partition_counts",
    "partition_keys",
    "rank_firsts",
    "recode",
]


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def _mix(key: Any) -> Any:
    x = np.uint64(key)
    x ^= x >> np.uint64(30)
    x *= MIX1
    x ^= x >> np.uint64(27)
    x *= MIX2
    x ^= x >> np.uint64(31)
    return x


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def partition_counts(keys: Any, lo: int, hi: int, shift: int, counts: Any) -> None:
    """Step 1: how many of rows ``lo:hi`` fall in each partition (top bits of the hash)."""
    s = np.uint64(shift)
    for i in range(lo, hi):
        counts[np.int64(_mix(keys[i]) >> s)] += 1


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def partition_keys(keys: Any, lo: int, hi: int, shift: int, cursor: Any, buffer: Any) -> None:
    """Step 2: rows ``lo:hi`` moved to their partition's region of ``buffer``, in order.

    ``cursor[p]`` is where the block's first row of partition ``p`` goes (advanced here).
    """
    s = np.uint64(shift)
    for i in range(lo, hi):
        key = keys[i]
        p = np.int64(_mix(key) >> s)
        buffer[cursor[p]] = key
        cursor[p] += 1


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def code_partition(buffer: Any, lo: int, hi: int, uniques: Any) -> int:
    """Step 3: the keys of ``buffer[lo:hi]`` (one partition) replaced by local codes.

    An open-addressing hash table (linear probing, at most half full, doubled when it
    gets there): sized by the distinct keys, small enough to stay in the CPU cache. Codes count from 0 in order of first appearance; a key's
    first row gets ``~code`` (negative), so that later steps see where each key starts.
    The distinct keys go to ``uniques[lo:]``; returns how many there are.
    """
    bits = 10  # grown as the distinct keys come: a table of 2-4 slots per distinct key
    mask = (1 << bits) - 1
    table = np.full(1 << bits, -1, np.int64)  # the code in that slot, -1: free
    count = 0
    for i in range(lo, hi):
        key = buffer[i]
        # the low bits of the hash: the top ones chose the partition, the same for all
        h = _mix(key)
        slot = np.int64(h & np.uint64(mask))
        while True:
            code = table[slot]
            if code < 0:
                if 2 * (count + 1) > mask:  # half full: double it, reinsert the keys
                    bits += 1
                    mask = (1 << bits) - 1
                    table = np.full(1 << bits, -1, np.int64)
                    for j in range(count):
                        s = np.int64(_mix(uniques[lo + j]) & np.uint64(mask))
                        while table[s] >= 0:
                            s = (s + 1) & mask
                        table[s] = j
                    slot = np.int64(h & np.uint64(mask))
                    continue
                table[slot] = count
                uniques[lo + count] = key
                buffer[i] = ~count
                count += 1
                break
            if uniques[lo + code] == key:
                buffer[i] = code
                break
            slot = (slot + 1) & mask
    return count


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def gather_codes(
    keys: Any, lo: int, hi: int, shift: int, cursor: Any, buffer: Any, base: Any, codes: Any
) -> int:
    """Step 4: each row of ``lo:hi`` gets its partition code ``base[p] + local`` back
    (``~`` of it on a key's first row), reading the partitions' regions as step 2 wrote
    them. Returns how many first rows the block holds."""
    s = np.uint64(shift)
    firsts = 0
    for i in range(lo, hi):
        p = np.int64(_mix(keys[i]) >> s)
        local = buffer[cursor[p]]
        cursor[p] += 1
        if local < 0:
            codes[i] = ~(base[p] + ~local)
            firsts += 1
        else:
            codes[i] = base[p] + local
    return firsts


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def rank_firsts(codes: Any, lo: int, hi: int, start: int, rank: Any) -> None:
    """Step 5: the first rows of ``lo:hi`` number their keys from ``start``, in row order."""
    r = start
    for i in range(lo, hi):
        c = codes[i]
        if c < 0:
            rank[~c] = r
            r += 1


@njit(cache=True, nogil=True, boundscheck=False)  # type: ignore[untyped-decorator]
def recode(codes: Any, lo: int, hi: int, rank: Any) -> None:
    """Step 6: rows ``lo:hi`` get their key's final code."""
    for i in range(lo, hi):
        c = codes[i]
        codes[i] = rank[c if c >= 0 else ~c]
