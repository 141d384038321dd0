"""Factorizing values into dense integer codes, the way every frame stores its ids.

`factorize` turns an array of values (customer ids, touchpoint codes, channel names...)
into ``(codes, uniques)`` with ``uniques[codes] == values``:

- ``codes`` is an ``int64`` array; a missing value (None, NaN, NaT, Arrow null) gets -1.
- ``uniques`` holds each distinct value once. With ``sort=True`` (the default) they are
  in ascending order; with ``sort=False`` in order of first appearance; with
  ``sort=None`` in whichever of the two is cheaper for the input (ascending for floats,
  times and integers spanning a small range; first appearance for strings and, when
  pandas is installed, widely spread integers), which is what the scores use. Either
  way the result depends only on the values, never on hashing or on the thread count.

Fast paths, chosen by the kind of input (no Python work per value on any of them):

- integers spanning a small range (at most ``max(4 n, 65536)``): a lookup table, O(n);
- other integers: with the ``accel`` extra (numba) and at least
  `touchpoint.frame._accel.MIN_ROWS` values, compiled hash-partitioned kernels
  (`touchpoint.frame._accel`), the same result; otherwise a hash-partitioned factorize
  in numpy. Values are split by the top bits of a multiplicative hash into up to 256
  partitions (one stable radix pass per chunk), each partition is factorized on its own
  with pandas' hash table (``numpy.unique`` without pandas), small enough to stay in
  the CPU cache, and the partitions' codes are then renumbered into the requested
  order. When an evenly spaced sample says the keys have few distinct values (at most
  about 65,536: channels, stores, touchpoints), each chunk of rows gets one table
  instead and the chunks' tables are merged. Chunks and partitions run on the threads
  of `touchpoint._threads` (numpy and pandas release the GIL there);
- floats and times: ``numpy.unique`` (a sort);
- strings (Arrow string/binary arrays, which is also what pandas 3 ``str`` and polars
  ``String`` columns hand over; numpy ``object`` / ``str`` arrays of strings are moved to
  Arrow first when pyarrow is installed, unless a sample says they hold few distinct
  values: pandas' table of Python objects codes those faster than the move): strings of at most 8 bytes are packed into one
  64-bit key that orders like the string (big-endian bytes), then coded as integers;
  longer ones (up to 64 bytes) are hashed from their 8-byte words and coded as integers,
  and every value is then compared with the first value of its code, word by word, so
  the result is exact (on a hash collision the input is dictionary-encoded by Arrow
  instead); longer strings go to Arrow's dictionary encoding;
- Arrow ``string_view`` / ``binary_view`` arrays (polars' own string layout, which a
  polars ``String`` column hands over zero-copy) of strings of at most 8 bytes of one
  length, or at most 7 bytes: one 64-bit key per string read from the 16-byte views (the
  length in the low byte when lengths differ), the distinct strings rebuilt from their
  keys; other view arrays are cast to ``large_string`` first;
- Arrow dictionary arrays: their indices and dictionary, as they are.

Without pyarrow, strings go to ``pandas.factorize``; without pandas either, to
``numpy.unique`` on a ``StringDType`` view.

Examples
--------
>>> codes, uniques = factorize(np.array(["b", "a", None, "b"], dtype=object))
>>> codes.tolist(), uniques.tolist()
([1, 0, -1, 1], ['a', 'b'])
>>> codes, uniques = factorize(np.array(["b", "a", "b"], dtype=object), sort=False)
>>> codes.tolist(), uniques.tolist()
([0, 1, 0], ['b', 'a'])
>>> factorize(np.array([30, 10, 30]))[0].tolist()
[1, 0, 1]
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

import numpy as np

from touchpoint._mix64 import GOLDEN, MIX1, MIX2
from touchpoint._threads import chunk_bounds, empty, map_chunks, parallel_map
from touchpoint.frame import _accel

__all__ = ["factorize", "recode"]

_MISSING = -1
Order = Literal["ascending", "first"]

#: Below this many values one hash table beats partitioning.
_PARTITION_MIN = 1 << 16
#: Values per partition aimed for: with about ten events per customer the partition's
#: hash table holds some thousands of keys and stays in the CPU's L2 cache.
_PER_PARTITION = 1 << 14
#: At most 256 partitions, so that partition ids are one byte and one stable radix pass
#: (numpy's ``argsort(kind="stable")`` of uint8) groups a chunk by partition.
_MAX_PARTITION_BITS = 8
#: Rows per chunk of the partitioning passes: their temporaries stay in the L2 cache.
_CHUNK = 1 << 15
#: A hash table of at most this many distinct keys (about 1 MiB) stays in the L2 cache:
#: then one table per chunk of rows beats partitioning (`_few_distinct`).
_CACHE_KEYS = 1 << 16
#: Keys sampled, evenly spaced, to tell few distinct keys from many.
_SAMPLE = 1 << 13
#: Rows per chunk when few distinct keys are coded chunk by chunk.
_FEW_CHUNK = 1 << 20
#: Chunks of the string paths (rows per thread task).
_STRING_CHUNK = 1 << 18
#: Object/str arrays at least this long are moved to Arrow for the string paths.
_ARROW_MIN = 1 << 14
#: Strings longer than this many bytes go to Arrow's dictionary encoding.
_MAX_WORDS = 8

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: _KEEP[r]: the mask keeping the top r bytes of a big-endian 8-byte word.
_KEEP = np.array(
    [0] + [(0xFFFFFFFFFFFFFFFF << (8 * (8 - r))) & 0xFFFFFFFFFFFFFFFF for r in range(1, 9)],
    dtype=np.uint64,
)


def _optional(module: str) -> Any:
    """Import an accelerator if it is installed; None otherwise (never required)."""
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - the extras are installed in CI
        return None


def factorize(values: Any, *, sort: bool | None = True) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``int64`` codes and the distinct values; missing values get code -1.

    Parameters
    ----------
    values:
        A numpy array (any dtype), a sequence, or a pyarrow Array / ChunkedArray.
    sort:
        True: ``uniques`` ascending (codes follow value order). False: in order of first
        appearance. None: the cheaper of the two for this input (see the module docs). Values that cannot be
        ordered against each other (mixed types) fall back to first appearance.

    Returns
    -------
    codes, uniques:
        ``codes`` has the length of ``values``; ``uniques[codes[i]] == values[i]`` where
        ``codes[i] >= 0``.

    Examples
    --------
    >>> factorize([3.5, float("nan"), 1.0])[0].tolist()
    [1, -1, 0]
    """
    if _is_arrow(values):
        return _factorize_arrow(values, sort)
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    kind = arr.dtype.kind
    if sort is None and kind not in "iub":
        sort = kind in "fcmM"
    if kind == "b":
        arr = arr.astype(np.int8)
        kind = "i"
    if kind in "iu":
        return _factorize_int(arr, sort)
    if kind in "fc":
        return _factorize_masked(arr, ~np.isnan(arr), sort)
    if kind in "mM":
        return _factorize_masked(arr, ~np.isnat(arr), sort)
    return _factorize_object(arr, sort)


def _is_arrow(values: Any) -> bool:
    return type(values).__module__.startswith("pyarrow") and hasattr(values, "type")


def _first_appearance(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber sorted codes so that uniques come in order of first appearance."""
    n_u = len(uniques)
    if n_u == 0:
        return codes, uniques
    first = np.full(n_u, len(codes), dtype=np.int64)
    valid = codes >= 0
    idx = np.flatnonzero(valid)
    # reversed assignment: for repeated targets the last write (the first index) wins
    first[codes[idx[::-1]]] = idx[::-1]
    order = np.argsort(first, kind="stable")
    rank = np.empty(n_u, dtype=np.int64)
    rank[order] = np.arange(n_u)
    out = np.where(valid, rank[np.where(valid, codes, 0)], _MISSING)
    return out, uniques[order]


# --------------------------------------------------------------------------- integers


def _factorize_int(arr: np.ndarray, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(arr)
    if n == 0:
        return np.empty(0, np.int64), arr.copy()
    lo, hi = int(arr.min()), int(arr.max())
    span = hi - lo + 1
    if span <= max(4 * n, 1 << 16):
        codes, uniques = _lookup_codes(arr, lo, span)
        if sort is False:
            codes, uniques = _first_appearance(codes, uniques)
        return codes, uniques
    if sort is None:  # first appearance is what pandas' hash table gave; kept as it was
        sort = _optional("pandas") is None
    keys = arr if arr.dtype.itemsize == 8 else arr.astype(np.int64 if lo < 0 else np.uint64)
    # compiled hash tables: the same codes in the same order (ascending order is int64's)
    if (keys.dtype == np.int64 or not sort) and _accel.wanted(n):
        codes, uniques = _accel.factorize_int64(keys.view(np.int64), ascending=bool(sort))
        return codes, uniques.view(keys.dtype).astype(arr.dtype, copy=False)
    codes, uniques, _ = _hash_codes(keys, "ascending" if sort else "first", firsts=False)
    return codes, uniques.astype(arr.dtype, copy=False)


def _lookup_codes(arr: np.ndarray, lo: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Ascending codes of integers in ``[lo, lo + span)`` through a table of that size."""
    n = len(arr)

    def shifted(a: int, b: int) -> np.ndarray:  # the values minus lo, as int64
        part = arr[a:b]
        if part.dtype == np.uint64:  # subtract first: the differences fit int64
            return (part - np.uint64(lo)).view(np.int64)
        part = part.astype(np.int64, copy=False)  # no overflow of narrow types
        return part - lo if lo else part

    # np.full writes every page in this thread (np.zeros would leave them to the
    # threads' first writes, which fault at once: `touchpoint._threads.empty`)
    present = np.full(span, False)

    def mark(a: int, b: int) -> None:
        # chunks write True into one shared table: the same value, so they may overlap
        present[shifted(a, b)] = True

    map_chunks(mark, n)
    if arr.dtype == np.uint64:
        uniques = np.flatnonzero(present).astype(np.uint64) + np.uint64(lo)
    else:
        uniques = (np.flatnonzero(present) + lo).astype(arr.dtype)
    lut = np.cumsum(present, dtype=np.int64)
    lut -= 1
    codes = empty(n, dtype=np.int64)

    def code(a: int, b: int) -> None:
        np.take(lut, shifted(a, b), out=codes[a:b])

    map_chunks(code, n)
    return codes, uniques


def _table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One hash table: local codes, the distinct keys and each one's first position.

    The three agree with each other (``uniques[codes] == keys`` and
    ``keys[first] == uniques``); the order of ``uniques`` is whatever was cheaper.
    """
    pd = _optional("pandas")
    if pd is not None:
        codes, uniques = pd.factorize(keys, sort=False)
        # reversed assignment: for repeated targets the last write (the first row) wins
        # (55 against 134 us for a running maximum over a 40k-row partition's codes)
        first = np.empty(len(uniques), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
        return codes, np.asarray(uniques, dtype=keys.dtype), first
    uniques, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.reshape(-1), uniques, first


def _order_of(distinct: np.ndarray) -> np.ndarray:
    """``np.argsort`` of values that are all different (first positions, unique keys).

    No two are equal, so any sort gives the stable sort's order: numpy's default
    (introsort, vectorised on x86) is 2-3x faster than ``kind="stable"`` on 1M int64
    (0.045 s vs 0.11 s of CPU).
    """
    return np.argsort(distinct)


def _partition_bits(n: int) -> int:
    bits = 0
    while bits < _MAX_PARTITION_BITS and (n >> bits) > _PER_PARTITION:
        bits += 1
    return bits


def _hash_codes(
    keys: np.ndarray, order: Order, *, firsts: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Codes of 8-byte integer keys (no missing values) by hashing, in ``order``.

    Returns ``(codes, uniques, first)``: ``uniques`` ascending or in order of first
    appearance, ``first[j]`` the position of the first occurrence of ``uniques[j]``
    (None when not asked for and not needed for the order).

    Large inputs are radix-partitioned by the top bits of a multiplicative hash, as
    hash joins and aggregations in databases are, so that each partition's hash table
    stays in the CPU cache:

    1. in small chunks (cache-sized, on the thread pool), each key's partition and the
       count of each partition per chunk;
    2. in those chunks again, keys are moved to their partition's region of one buffer
       (256 sequential write streams) and each key's place there is noted;
    3. each partition is factorized on its own (pandas' hash table, or ``numpy.unique``)
       on the pool, and its codes are written over its region, renumbered into
       ``order`` once all partitions are done;
    4. each key's code is read back from its place, chunk by chunk.

    Neither the chunks nor the thread count change the result.
    """
    n = len(keys)
    bits = _partition_bits(n)
    if n < _PARTITION_MIN or bits == 0:
        local, uniques, first = _table(keys)
        return _renumber(local, uniques, first, order)
    if _few_distinct(keys):
        return _chunk_tables(keys, order)
    chunks = chunk_bounds(n, min_size=_CHUNK)
    want_first = firsts or order == "first"
    buffer, region, place, origin = _by_partition(keys, bits, chunks, want_first)
    uniques, first, offsets = _code_partitions(buffer, region, origin)
    del origin
    perm = _order_of(first if order == "first" else uniques)
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    codes_by_place = buffer.view(np.int64)

    def renumber(p: int) -> None:  # a partition's codes into the global order, in cache
        mine = codes_by_place[region[p] : region[p + 1]]
        mine[:] = rank[offsets[p] : offsets[p + 1]][mine]

    parallel_map(renumber, range(len(region) - 1))
    codes = empty(n, dtype=np.int64)

    def gather(c: int) -> None:  # step 4
        a, b = chunks[c]
        np.take(codes_by_place, place[a:b], out=codes[a:b])

    parallel_map(gather, range(len(chunks)))
    return codes, uniques[perm], (first[perm] if first is not None and firsts else None)


def _few_distinct(keys: np.ndarray) -> bool:
    """Whether an evenly spaced sample says the distinct keys fit a cache-sized table.

    Among ``m`` keys drawn from ``D`` equally common ones, about ``m**2 / (2 D)`` repeat
    an earlier one (the birthday problem), so ``D`` is at most `_CACHE_KEYS` when at least
    ``m**2 / (2 * _CACHE_KEYS)`` do (512 of 8192). Skew only adds repeats, and the common
    keys of a skewed input are the ones a table keeps in cache. Columns such as channels,
    stores or touchpoints (a few to a few thousand values) then skip the partitioning,
    which costs 3-4x one table's time for them.
    """
    sample = keys[:: max(1, len(keys) // _SAMPLE)]
    return _mostly_repeats(len(sample), len(_table(sample)[1]))


def _mostly_repeats(sampled: int, distinct: int) -> bool:
    """Whether ``distinct`` values among ``sampled`` mean at most `_CACHE_KEYS` in all."""
    return 2 * (sampled - distinct) * _CACHE_KEYS >= sampled * sampled


def _chunk_tables(keys: np.ndarray, order: Order) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_hash_codes` of keys with few distinct values: one table per chunk, then merged.

    Each chunk of rows is coded on its own (on the pool); the chunks' distinct keys, one
    chunk after the other, are coded once more, which maps each chunk's codes to the
    input's: a key's first chunk comes first, so first appearance among them is first
    appearance in the input.
    """
    chunks = chunk_bounds(len(keys), min_size=_FEW_CHUNK)
    tables = parallel_map(lambda c: _table(keys[chunks[c][0] : chunks[c][1]]), range(len(chunks)))
    joined = np.concatenate([u for _, u, _ in tables])
    where, uniques, at = _table(joined)
    first = np.concatenate([f + a for (_, _, f), (a, _) in zip(tables, chunks, strict=True)])[at]
    where, uniques, first = _renumber(where, uniques, first, order)
    offsets = np.zeros(len(tables) + 1, dtype=np.int64)
    np.cumsum([len(u) for _, u, _ in tables], out=offsets[1:])
    codes = empty(len(keys), dtype=np.int64)

    def gather(c: int) -> None:
        a, b = chunks[c]
        np.take(where[offsets[c] : offsets[c + 1]], tables[c][0], out=codes[a:b])

    parallel_map(gather, range(len(chunks)))
    return codes, uniques, first


def _by_partition(
    keys: np.ndarray, bits: int, chunks: list[tuple[int, int]], want_first: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Steps 1 and 2 of `_hash_codes`: the keys grouped by partition in one buffer.

    Returns the buffer, the partitions' regions in it (``parts + 1`` offsets), each
    key's position in it, and (if ``want_first``) each buffer position's input row.
    Within a partition keys keep their input order.
    """
    n, parts = len(keys), 1 << bits
    shift = np.uint64(64 - bits)
    unsigned = keys.view(np.uint64)
    pid = empty(n, dtype=np.uint8)
    counts = np.empty((len(chunks), parts), dtype=np.int64)

    def partition(c: int) -> None:  # step 1
        a, b = chunks[c]
        h = np.multiply(unsigned[a:b], GOLDEN)
        h >>= shift
        pid[a:b] = h
        counts[c] = np.bincount(pid[a:b], minlength=parts)

    parallel_map(partition, range(len(chunks)))
    region = np.zeros(parts + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=region[1:])
    # where each chunk's share of each partition starts: partition-major, chunks in order
    cursor = region[:-1] + np.cumsum(counts, axis=0) - counts
    small = np.int32 if n < 2**31 else np.int64
    buffer = empty(n, dtype=keys.dtype)
    place = empty(n, dtype=small)
    origin = empty(n, dtype=small) if want_first else None

    def scatter(c: int) -> None:  # step 2
        a, b = chunks[c]
        perm = np.argsort(pid[a:b], kind="stable")  # radix sort of one byte, in cache
        # the places of the chunk's rows in partition order, then in row order: the
        # keys are scattered straight from the input (no gather of them by ``perm``)
        dest = np.arange(b - a, dtype=small)
        dest += np.repeat((cursor[c] - (np.cumsum(counts[c]) - counts[c])).astype(small), counts[c])
        mine = place[a:b]
        mine[perm] = dest
        buffer[mine] = keys[a:b]  # a sequential write stream per partition
        if origin is not None:
            origin[mine] = np.arange(a, b, dtype=small)

    parallel_map(scatter, range(len(chunks)))
    return buffer, region, place, origin


def _code_partitions(
    buffer: np.ndarray, region: np.ndarray, origin: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Step 3 of `_hash_codes`: each partition's keys replaced by their local codes.

    Returns the partitions' distinct keys one after the other, their first input rows
    (if ``origin`` is given) and where each partition's distinct keys start.
    """

    def code(p: int) -> tuple[np.ndarray, np.ndarray | None]:
        lo, hi = int(region[p]), int(region[p + 1])
        local, uniques, first = _table(buffer[lo:hi])
        buffer[lo:hi] = local  # the keys are no longer needed: their codes take their place
        return uniques, (origin[lo + first] if origin is not None else None)

    results = parallel_map(code, range(len(region) - 1))
    uniques = np.concatenate([u for u, _ in results])
    first = np.concatenate([f for _, f in results]) if origin is not None else None
    offsets = np.zeros(len(results) + 1, dtype=np.int64)
    np.cumsum([len(u) for u, _ in results], out=offsets[1:])
    return uniques, first, offsets


def _renumber(
    codes: np.ndarray, uniques: np.ndarray, first: np.ndarray, order: Order
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of one table renumbered so that the uniques come in ``order``."""
    perm = _order_of(first if order == "first" else uniques)
    if np.array_equal(perm, np.arange(len(perm))):
        return codes.astype(np.int64, copy=False), uniques, first
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    return rank[codes], uniques[perm], first[perm]


# --------------------------------------------------------------------------- floats, times


def _factorize_masked(
    arr: np.ndarray, valid: np.ndarray, sort: bool
) -> tuple[np.ndarray, np.ndarray]:
    if valid.all():
        uniques, codes = np.unique(arr, return_inverse=True)
        codes = codes.astype(np.int64, copy=False)
    else:
        uniques, inner = np.unique(arr[valid], return_inverse=True)
        codes = np.full(len(arr), _MISSING, dtype=np.int64)
        codes[valid] = inner
    if not sort:
        codes, uniques = _first_appearance(codes, uniques)
    return codes, uniques


# --------------------------------------------------------------------------- Arrow


def _factorize_arrow(values: Any, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    pa = importlib.import_module("pyarrow")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    typ = values.type
    if pa.types.is_dictionary(typ):
        return _dictionary_codes(values, bool(sort))
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_temporal(typ):
        arr = values.to_numpy(zero_copy_only=False)
        return factorize(arr, sort=sort)
    if pa.types.is_string_view(typ) or pa.types.is_binary_view(typ):
        short = _short_view_codes(values, bool(sort))
        if short is not None:
            return short
        values = values.cast(
            pa.large_string() if pa.types.is_string_view(typ) else pa.large_binary()
        )
    if (
        pa.types.is_string(values.type)
        or pa.types.is_large_string(values.type)
        or pa.types.is_binary(values.type)
        or pa.types.is_large_binary(values.type)
    ):
        return _string_codes(values, bool(sort))
    encoded = importlib.import_module("pyarrow.compute").dictionary_encode(values)
    return _dictionary_codes(encoded, bool(sort))


def _dictionary_codes(encoded: Any, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """The codes of an Arrow dictionary array: its indices, re-sorted if asked to."""
    pa = importlib.import_module("pyarrow")
    indices, dictionary = encoded.indices, encoded.dictionary
    if indices.null_count:
        indices = indices.cast(pa.int64()).fill_null(_MISSING)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    uniques = _as_objects(dictionary)
    if sort and len(dictionary):
        try:
            order = importlib.import_module("pyarrow.compute").array_sort_indices(dictionary)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # pragma: no cover - exotic types
            return codes, uniques
        order = order.to_numpy()
        codes, uniques = recode(codes, order), uniques[order]
    return codes, uniques


def _as_objects(array: Any) -> np.ndarray:
    uniques = array.to_numpy(zero_copy_only=False)
    if uniques.dtype == object or uniques.dtype.kind in "US":
        uniques = np.asarray(uniques, dtype=object)
    return uniques


def _string_codes(values: Any, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes of an Arrow string / binary array (see the module docs for the paths)."""
    pa = importlib.import_module("pyarrow")
    pc = importlib.import_module("pyarrow.compute")
    if values.null_count:
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        inner, uniques = _string_codes(pc.drop_null(values), sort)
        codes = np.full(len(values), _MISSING, dtype=np.int64)
        codes[valid] = inner
        return codes, uniques
    n = len(values)
    large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[values.offset : values.offset + n + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets)
    if n == 0 or int(lengths.max()) > 8 * _MAX_WORDS:
        return _dictionary_codes(pc.dictionary_encode(values), sort)
    shortest, longest = int(lengths.min()), int(lengths.max())
    strings = _Strings(data, offsets[:-1], lengths, longest if shortest == longest else None)
    if longest <= 8 and (shortest == longest or not _has_nul(data, offsets[0], offsets[-1])):
        # one exact key per string, ordered as the strings are: equal lengths, or no NUL
        # byte, so that zero padding cannot make two different strings equal
        keys = empty(n, dtype=np.uint64)
        map_chunks(lambda a, b: strings.word(a, b, 0, out=keys[a:b]), n, min_size=_STRING_CHUNK)
        codes, _, first = _hash_codes(keys, "ascending" if sort else "first")
        return codes, _as_objects(values.take(pa.array(first)))
    words = -(-longest // 8)
    hashes = empty(n, dtype=np.uint64)
    map_chunks(lambda a, b: strings.hash(a, b, words, hashes[a:b]), n, min_size=_STRING_CHUNK)
    codes, _, first = _hash_codes(hashes, "first")
    # exact: every string equals the first string of its code, word by word and in length
    table = strings.at(first).table(0, len(first), words)
    same = map_chunks(
        lambda a, b: np.array_equal(strings.table(a, b, words), np.take(table, codes[a:b], axis=0)),
        n,
        min_size=_STRING_CHUNK,
    )
    if not all(same):  # pragma: no cover - a 64-bit hash collision
        return _dictionary_codes(pc.dictionary_encode(values), sort)
    if sort and len(first) > 1:
        # byte order: word 0, then word 1, ..., then the length (np.lexsort: last key first)
        perm = np.lexsort(table.T[::-1])
        codes, first = recode(codes, perm), first[perm]
    return codes, _as_objects(values.take(pa.array(first)))


def _short_view_codes(values: Any, sort: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes of an Arrow string_view / binary_view array of short strings, or None.

    A view array (polars' own string layout, handed over zero-copy) keeps strings of up
    to 12 bytes inside its 16-byte views: a 4-byte length, then the bytes, zero-padded.
    When every string has the same length of at most 8 bytes, or at most 7 bytes, each
    string is one exact 64-bit key read straight from the views (big-endian, so keys
    order as the strings do; with unequal lengths the low byte holds the length, which
    keeps ``"a"`` and ``"a\\0"`` apart and orders a prefix first), with no copy of the
    strings (casting to ``large_string`` costs 0.8 s of CPU at 10M rows). The distinct
    strings are rebuilt from their keys. None (the caller casts) for nulls, longer
    strings, or 8-byte strings of unequal lengths.
    """
    pa = importlib.import_module("pyarrow")
    n = len(values)
    if n == 0 or values.null_count:
        return None
    views = values.buffers()[1]
    base = 16 * values.offset
    lengths = np.ndarray((n,), dtype="<i4", buffer=views, offset=base, strides=(16,))
    shortest, longest = int(lengths.min()), int(lengths.max())
    equal = shortest == longest
    if longest > 8 or (longest == 8 and not equal):
        return None
    words = np.ndarray((n,), dtype=">u8", buffer=views, offset=base + 4, strides=(16,))
    keys = empty(n, dtype=np.uint64)

    def read(a: int, b: int) -> None:
        out = keys[a:b]
        out[:] = words[a:b]
        if equal:
            out &= _KEEP[longest]
        else:  # bytes past a string's length are zero in the view; the length goes last
            out &= _KEEP[7]
            out |= lengths[a:b].astype(np.uint64)

    map_chunks(read, n, min_size=_STRING_CHUNK)
    codes, unique_keys, _ = _hash_codes(keys, "ascending" if sort else "first", firsts=False)
    m = len(unique_keys)
    size = (
        np.full(m, longest, dtype=np.int64)
        if equal
        else (unique_keys & np.uint64(0xFF)).astype(np.int64)
    )
    matrix = unique_keys.astype(">u8").view(np.uint8).reshape(m, 8)
    data = matrix[np.arange(8) < size[:, None]]  # each string's bytes, in row order
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    typ = pa.large_string() if pa.types.is_string_view(values.type) else pa.large_binary()
    rebuilt = pa.Array.from_buffers(typ, m, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return codes, _as_objects(rebuilt)


def _has_nul(data: np.ndarray, lo: int, hi: int) -> bool:
    """Whether ``data[lo:hi]`` holds a zero byte (checked in chunks, no full-size mask)."""
    return any(map_chunks(lambda a, b: bool((data[lo + a : lo + b] == 0).any()), int(hi - lo)))


class _Strings:
    """Byte strings (Arrow's data and offsets) read as 8-byte big-endian words.

    ``starts`` and ``lengths`` stay in Arrow's offset type (int32 for ``string``); each
    chunk converts its own slice.
    """

    def __init__(
        self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int | None = None
    ) -> None:
        if len(data) < 8:  # so that an 8-byte load always fits
            data = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
        self.data = data
        self.starts = starts
        self.lengths = lengths
        #: the common length when the strings follow each other with equal lengths
        self.width = width
        self.last = len(data) - 8
        # every 8-byte window of the data, read big-endian: byte order = string order
        self.windows = np.ndarray((self.last + 1,), dtype=">u8", buffer=data, strides=(1,))

    def at(self, rows: np.ndarray) -> _Strings:
        """The strings at ``rows`` (views of the same data)."""
        return _Strings(self.data, self.starts[rows], self.lengths[rows])

    def word(self, a: int, b: int, j: int, out: np.ndarray | None = None) -> np.ndarray:
        """Word ``j`` (bytes ``8j .. 8j+7``, zero past the end) of strings ``a:b``."""
        if out is None:
            out = np.empty(b - a, dtype=np.uint64)
        width = self.width
        if width and a < b:
            # equal lengths, one after the other: a strided view, no gather
            first = int(self.starts[a]) + 8 * j
            fit = min(b - a, max(0, (self.last - first) // width + 1))
            if fit:
                out[:fit] = np.ndarray(
                    (fit,), dtype=">u8", buffer=self.data, offset=first, strides=(width,)
                )
                if fit < b - a:
                    self._gathered(a + fit, b, j, out[fit:])
                return np.bitwise_and(out, _KEEP[min(8, max(0, width - 8 * j))], out=out)
        return self._gathered(a, b, j, out)

    def _gathered(self, a: int, b: int, j: int, out: np.ndarray) -> np.ndarray:
        at = self.starts[a:b].astype(np.int64)
        at += 8 * j
        inside = np.minimum(at, self.last)
        word = self.windows[inside].astype(np.uint64)
        over = at - inside  # bytes past the last full window: shift them in
        if over.any():
            word <<= (8 * over).astype(np.uint64)
        rest = np.clip(self.lengths[a:b] - 8 * j, 0, 8)
        return np.bitwise_and(word, _KEEP[rest], out=out)

    def table(self, a: int, b: int, words: int) -> np.ndarray:
        """Strings ``a:b`` as rows of their ``words`` words, then their length."""
        out = np.empty((b - a, words + 1), dtype=np.uint64)
        for j in range(words):  # a loop over the words of a string, at most 8
            self.word(a, b, j, out=out[:, j])
        out[:, words] = self.lengths[a:b]
        return out

    def hash(self, a: int, b: int, words: int, out: np.ndarray) -> np.ndarray:
        """A 64-bit hash of strings ``a:b`` from their length and words."""
        h = np.multiply(self.lengths[a:b].astype(np.uint64), GOLDEN)
        for j in range(words):  # a loop over the words of a string, at most 8
            h ^= self.word(a, b, j)
            h *= MIX1
            h ^= h >> np.uint64(29)
        h *= MIX2
        h ^= h >> np.uint64(32)
        out[:] = h
        return out


# --------------------------------------------------------------------------- objects


def _factorize_object(arr: np.ndarray, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    sort = bool(sort)
    pd = _optional("pandas")
    if len(arr) >= _ARROW_MIN and not (pd is not None and _few_objects(pd, arr)):
        pa = _optional("pyarrow")
        if pa is not None:
            try:  # (numpy str arrays as objects: Arrow reads them up to a NUL character)
                strings = pa.array(
                    arr if arr.dtype == object else arr.astype(object), from_pandas=True
                )
            except (pa.ArrowException, TypeError, ValueError, UnicodeError):
                strings = None  # not all text: pandas below
            if strings is not None and (
                pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type)
            ):
                return _string_codes(strings, sort)
    if pd is not None:
        try:
            codes, uniques = pd.factorize(arr, sort=sort, use_na_sentinel=True)
        except TypeError:  # values of mixed types cannot be ordered
            codes, uniques = pd.factorize(arr, sort=False, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object) if arr.dtype == object else np.asarray(uniques)
        return np.asarray(codes, dtype=np.int64), uniques
    # pure numpy: treat None as missing, everything else through its string form
    valid = np.array([v is not None for v in arr], dtype=bool) if arr.dtype == object else None
    text = arr.astype(np.dtypes.StringDType()) if arr.dtype == object else arr
    if valid is None or valid.all():
        _, first, codes = np.unique(text, return_index=True, return_inverse=True)
        uniques = arr[first]
        codes = codes.astype(np.int64)
    else:
        _, first, inner = np.unique(text[valid], return_index=True, return_inverse=True)
        uniques = arr[valid][first]
        codes = np.full(len(arr), _MISSING, dtype=np.int64)
        codes[valid] = inner
    if not sort:
        codes, uniques = _first_appearance(codes, uniques)
    return codes, uniques


def _few_objects(pd: Any, arr: np.ndarray) -> bool:
    """Whether an object array holds few distinct values (a sample, as `_few_distinct`).

    pandas' hash table of Python objects codes such a column (channels, stores,
    touchpoints) in about the time moving it to Arrow alone would take.
    """
    sample = arr[:: max(1, len(arr) // _SAMPLE)]
    try:
        distinct = len(pd.unique(sample))
    except TypeError:  # unhashable values: the general path says what is wrong
        return False
    return _mostly_repeats(len(sample), distinct)


def recode(codes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Codes into ``uniques`` re-expressed as codes into ``uniques[order]`` (-1 stays -1).

    >>> recode(np.array([0, 1, -1, 2]), np.array([2, 0, 1])).tolist()
    [1, 2, -1, 0]
    """
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    if len(order) == 0:
        return codes.astype(np.int64, copy=True)
    if len(codes) == 0 or codes.min() >= 0:
        return rank[codes]
    return np.where(codes >= 0, rank[np.where(codes >= 0, codes, 0)], _MISSING)
