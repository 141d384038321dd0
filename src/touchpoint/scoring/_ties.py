"""One order of customers with no ties: by value, then a stable hash of the id, then the id.

Value tiers (and quantile scores with ``method="first"``) cut customers into groups of
exact sizes: the first ``c`` customers, the next ``c'``... When equal values straddle a
cut, something must decide which of them fall on which side, and it must not be the row
order (the same data in another order, or on Dask in other partitions, must give the
same groups). The order used is:

1. the value, best first;
2. among equal values, `tie_hash` of the customer id, smallest first: a fixed 64-bit
   mix of the id, so the customers an equal-value tie promotes are spread over the ids
   (not always the lowest or the oldest ids) yet the same on every run and machine;
3. among equal hashes (only for ids that are not integers, and then about one pair in
   2^64), the id itself, smallest first.

A cut after the first ``c`` customers is described by the key of the ``c``-th customer
(`Cut`): the value, and the hash and id only when the cut splits a run of equal values
or hashes. `resolve_cuts` finds them from a few counts and order statistics (no full
sort) asked of a `Source`: numpy arrays in memory (`cuts`), the partitions of a Dask
DataFrame in `touchpoint.scale`, so both find the same cuts; `after` then places any
customer against them, partition by partition if need be.

Examples
--------
>>> v = np.array([5.0, 5.0, 5.0, 1.0])
>>> ids = np.array([10, 11, 12, 13])
>>> c = cuts(v, ids, np.array([2]))  # the first two customers against the other two
>>> after(v, ids, c).tolist()  # 0: among the first two; one of the three 5s falls after
[0, 0, 1, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from touchpoint._mix64 import GOLDEN, mix64
from touchpoint.errors import Problem, ValidationError

__all__ = [
    "Cut",
    "Source",
    "TiedHashes",
    "after",
    "counts_around",
    "cuts",
    "ident_at",
    "order_and_count",
    "order_positions",
    "resolve_cuts",
    "split_counts",
    "tie_hash",
]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_CHUNK = 1 << 20  # ids turned into text per pass, to bound the memory of long ids


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function: a bijection of uint64 that mixes every bit."""
    return mix64(x + GOLDEN)


def _text_hash(ids: np.ndarray) -> np.ndarray:
    """FNV-1a (64-bit) over the code points of ``str(id)`` (trailing NULs dropped, as numpy
    strings drop them), then `_splitmix64`."""
    out = np.empty(len(ids), dtype=np.uint64)
    for start in range(0, len(ids), _CHUNK):  # chunks of a million ids, not one per id
        text = np.asarray(ids[start : start + _CHUNK]).astype(str)
        width = text.dtype.itemsize // 4
        points = text.view(np.uint32).reshape(len(text), width).astype(np.uint64)
        # numpy pads with NUL code points: a string ends after its last non-NUL one
        filled = points != 0
        length = np.where(filled.any(axis=1), width - np.argmax(filled[:, ::-1], axis=1), 0)
        h = np.full(len(text), _FNV_OFFSET, dtype=np.uint64)
        for j in range(width):  # a loop over the characters of the longest id
            live = j < length
            h = np.where(live, (h ^ points[:, j]) * _FNV_PRIME, h)
        out[start : start + len(text)] = h
    return _splitmix64(out)


def tie_hash(ids: Any) -> np.ndarray:
    """The tie order's 64-bit hash of each customer id (uint64), the same everywhere.

    Integer ids: SplitMix64's output function of the id as a 64-bit two's-complement
    integer (a bijection, so two integer ids never share a hash). Any other id: FNV-1a
    (64-bit: start at 0xCBF29CE484222325, for each Unicode code point of ``str(id)``
    xor it in and multiply by 0x100000001B3 modulo 2^64; trailing NUL characters are
    not counted), then the same function. It depends on the id alone: not on the other
    ids, the row order or the machine.

    >>> tie_hash(np.array([1, 2])).tolist() == tie_hash(np.array([2, 1])).tolist()[::-1]
    True
    >>> bool(tie_hash(np.array(["C1"], dtype=object))[0] == tie_hash(np.array(["C1"]))[0])
    True
    """
    arr = np.asarray(ids)
    if arr.dtype.kind == "u":
        return _splitmix64(arr.astype(np.uint64))
    if arr.dtype.kind in "ib":
        return _splitmix64(arr.astype(np.int64).view(np.uint64))
    return _text_hash(arr)


class Cut(NamedTuple):
    """The last customer before a cut: value, and hash / id when needed to tell ties apart.

    A customer with value ``v``, hash ``h`` and id ``i`` is before the cut when ``v >
    value``, or ``v == value`` and (``hash`` is None, or ``h < hash``, or ``h == hash``
    and (``ident`` is None or ``i <= ident``)).
    """

    value: float
    hash: int | None = None
    ident: Any = None


def split_counts(counts: Sequence[int] | np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """The counts ``1..n`` that need a cut, and how many are below 1 (everyone is after).

    >>> split_counts([0, 2, 5], 5)
    (array([2, 5]), 1)
    """
    c = np.asarray(counts, dtype=np.int64)
    return c[(c >= 1) & (c <= n)], int((c < 1).sum())


#: Per split value: the hashes found at the wanted positions, and how many of the tied
#: customers' hashes are above and equal to each.
TiedHashes = dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]


class Source(Protocol):
    """What finding cuts needs from the customers: a few counts and order statistics.

    In memory (`_Arrays`) each is a numpy call; on Dask (`touchpoint.scale`) a few
    passes over the partitions, so both give the same cuts. Keys are "higher is
    better", NaN for customers outside the order.
    """

    def key_at(
        self, positions: Callable[[int], np.ndarray]
    ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
        """The keys at ``positions(n)`` of the ascending sort of the n non-NaN keys, n,
        and per key found how many keys are above it and how many equal it."""

    def tied_hashes_at(self, wanted: dict[float, list[int]], tied: dict[float, int]) -> TiedHashes:
        """For each value: among the customers whose key equals it (``tied[value]`` of
        them), the hashes at ``wanted[value]`` of the ascending sort of their hashes,
        and how many of their hashes are above and equal to each."""

    def colliding_ids(self, value: float, h: int) -> np.ndarray:
        """The ids of the customers whose key equals ``value`` and whose hash is ``h``."""


def resolve_cuts(
    source: Source, counts_of: Callable[[int], tuple[np.ndarray, int]]
) -> tuple[list[Cut], int]:
    """The cuts after the first ``c`` customers for each ``c`` of ``counts_of(n)``.

    ``counts_of(n)`` gives the counts (each 1..n, ascending) and how many boundaries
    fall before everyone (see `split_counts`); both are returned with the cuts. Order
    statistics of the keys find each cut's value; only a cut that splits equal values
    looks at those customers' hashes, and only one that splits equal hashes at ids.
    """
    found: dict[str, Any] = {}

    def positions(n: int) -> np.ndarray:  # once n is known
        found["counts"], found["skipped"] = counts_of(n)
        result: np.ndarray = n - found["counts"]
        return result

    values, _, above, equal = source.key_at(positions)
    counts, skipped = found["counts"], found["skipped"]
    out: list[Cut | None] = [None] * len(counts)
    split: dict[float, list[tuple[int, int]]] = {}
    tied: dict[float, int] = {}
    for i, (c, t, a, e) in enumerate(zip(counts, values, above, equal, strict=True)):
        if c == a + e:  # every customer equal to the cut's value is before it
            out[i] = Cut(float(t))
        else:  # m of the e tied customers are before the cut
            split.setdefault(float(t), []).append((i, int(c - a)))
            tied[float(t)] = int(e)
    if split:
        wanted = {t: [m - 1 for _, m in cuts_at] for t, cuts_at in split.items()}
        hashes = source.tied_hashes_at(wanted, tied)
        for t, cuts_at in split.items():  # a loop over the few split values
            for (i, m), h, ha, he in zip(cuts_at, *hashes[t], strict=True):
                below = tied[t] - int(ha) - int(he)
                if below + int(he) == m:
                    out[i] = Cut(t, int(h))
                else:
                    ident = ident_at(source.colliding_ids(t, int(h)), m - below)
                    out[i] = Cut(t, int(h), ident)
    return [c for c in out if c is not None], skipped


def order_and_count(
    values: np.ndarray, positions: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In memory: ``np.sort(values)[positions]`` (no full sort), and how many values are
    above and equal to each."""
    at = np.asarray(positions, dtype=np.int64)
    if len(at) == 0:
        none = np.empty(0, dtype=np.int64)
        return values[:0], none, none
    found = np.partition(values, np.unique(at))[at]
    return (found, *counts_around(values, found))


class _Arrays:
    """`Source` over numpy arrays."""

    def __init__(self, key: np.ndarray, ids: np.ndarray) -> None:
        self.key, self.ids = key, ids
        valid = ~np.isnan(key)
        self.valid = key[valid] if not valid.all() else key
        self._hashes: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def key_at(
        self, positions: Callable[[int], np.ndarray]
    ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
        n = len(self.valid)
        found, above, equal = order_and_count(self.valid, positions(n))
        return found, n, above, equal

    def _tied(self, value: float) -> tuple[np.ndarray, np.ndarray]:
        if value not in self._hashes:
            tied = self.key == value
            self._hashes[value] = (tie_hash(self.ids[tied]), self.ids[tied])
        return self._hashes[value]

    def tied_hashes_at(self, wanted: dict[float, list[int]], tied: dict[float, int]) -> TiedHashes:
        return {t: order_and_count(self._tied(t)[0], at) for t, at in wanted.items()}

    def colliding_ids(self, value: float, h: int) -> np.ndarray:
        hashes, ids = self._tied(value)
        result: np.ndarray = ids[hashes == np.uint64(h)]
        return result


def cuts(key: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> list[Cut]:
    """The cuts after the first ``c`` customers, each ``c`` of ``counts`` in 1..n (ascending).

    ``key`` is higher-is-better, NaN for customers outside the order; ``ids`` the
    customer ids, row for row.
    """
    counts = np.asarray(counts, dtype=np.int64)
    return resolve_cuts(_Arrays(key, ids), lambda n: (counts, 0))[0]


#: Up to this many cuts or points, one vector comparison each beats a binary search per
#: value (the usual case: a handful of tiers or scores).
FEW = 16


def counts_around(values: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``at``: how many ``values`` are above it, and how many equal it."""
    points = np.unique(at)
    k = len(points)
    if k <= FEW:  # two comparisons per point
        above = np.array([np.count_nonzero(values > p) for p in points], dtype=np.int64)
        equal = np.array([np.count_nonzero(values == p) for p in points], dtype=np.int64)
    else:  # values > points[i] exactly when lo > i; values == points[i] when lo == i < hi
        lo = np.searchsorted(points, values, side="left")
        hi = np.searchsorted(points, values, side="right")
        above = np.cumsum(np.bincount(lo, minlength=k + 1)[::-1])[::-1][1:]
        equal = np.bincount(lo[hi > lo], minlength=k)[:k]
    where = np.searchsorted(points, at)
    return above[where].astype(np.int64), equal[where].astype(np.int64)


def ident_at(ids: np.ndarray, r: int) -> Any:
    """The ``r``-th smallest of ids that share a value and a hash; a repeated id is an error."""
    s = np.sort(np.asarray(ids))
    if r < len(s) and s[r - 1] == s[r]:
        raise ValidationError(
            [
                Problem(
                    "customer",
                    "appears in more than one row with the same value; give one row per customer",
                    s[r].item() if hasattr(s[r], "item") else s[r],
                )
            ]
        )
    return s[r - 1].item() if hasattr(s[r - 1], "item") else s[r - 1]


def after(key: np.ndarray, ids: np.ndarray, cut_list: Sequence[Cut]) -> np.ndarray:
    """How many of the cuts (ordered as their counts) each customer comes after.

    ``key`` must not hold NaN (leave those customers out first). Value comparisons for
    everyone, hashes only for the customers equal to a cut's value, ids only for those
    also equal to its hash.
    """
    if len(cut_list) <= FEW:  # one comparison per cut
        out = np.zeros(len(key), dtype=np.int64)
        for c in cut_list:
            out += key < c.value
    else:
        thresholds = -np.array([c.value for c in cut_list], dtype=np.float64)
        out = np.searchsorted(thresholds, -key, side="left").astype(np.int64)
    split = [(c, c.hash) for c in cut_list if c.hash is not None]
    if not split:
        return out
    tied = np.flatnonzero(np.isin(key, [c.value for c, _ in split]))
    h = tie_hash(ids[tied])
    for c, hashed in split:  # the few cuts that split a run of equal values
        on = key[tied] == c.value
        later = on & (h > np.uint64(hashed))
        if c.ident is not None:
            same = np.flatnonzero(on & (h == np.uint64(hashed)))
            later[same] = np.asarray(ids[tied[same]]) > c.ident
        out[tied[later]] += 1
    return out


def order_positions(key: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each customer's 0-based place in the order (key must not hold NaN): a full sort.

    >>> order_positions(np.array([1.0, 3.0, 3.0]), np.array([7, 8, 9])).tolist()
    [2, 0, 1]
    """
    h = tie_hash(ids)
    order = np.lexsort((h, -key))
    sk, sh = key[order], h[order]
    if len(order) > 1 and ((sk[1:] == sk[:-1]) & (sh[1:] == sh[:-1])).any():
        # equal hashes (only for ids that are not integers): the ids decide
        _, codes = np.unique(np.asarray(ids), return_inverse=True)
        order = np.lexsort((codes, h, -key))
    pos = np.empty(len(key), dtype=np.int64)
    pos[order] = np.arange(len(key))
    return pos
