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
- other integers: a hash-partitioned factorize. Values are split by the top bits of a
  multiplicative hash into up to 256 partitions (one stable radix pass per chunk), each
  partition is factorized on its own with pandas' hash table (``numpy.unique`` without
  pandas), small enough to stay in the CPU cache, and the partitions' codes are then
  renumbered into the requested order. Chunks and partitions run on the threads of
  `touchpoint._threads` (numpy and pandas release the GIL there);
- floats and times: ``numpy.unique`` (a sort);
- strings (Arrow string/binary arrays, which is also what pandas 3 ``str`` and polars
  ``String`` columns hand over; numpy ``object`` / ``str`` arrays of strings are moved to
  Arrow first when pyarrow is installed): strings of at most 8 bytes are packed into one
  64-bit key that orders like the string (big-endian bytes), then coded as integers;
  longer ones (up to 64 bytes) are hashed from their 8-byte words and coded as integers,
  and every value is then compared with the first value of its code, word by word, so
  the result is exact (on a hash collision the input is dictionary-encoded by Arrow
  instead); longer strings go to Arrow's dictionary encoding;
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

from touchpoint._threads import chunk_bounds, get_threads, map_chunks, parallel_map

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
#: Chunks of the string paths (rows per thread task).
_STRING_CHUNK = 1 << 18
#: Object/str arrays at least this long are moved to Arrow for the string paths.
_ARROW_MIN = 1 << 14
#: Strings longer than this many bytes go to Arrow's dictionary encoding.
_MAX_WORDS = 8

_FIB = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: multiplicative hashing
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 finaliser constants
_MIX2 = np.uint64(0x94D049BB133111EB)
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
    codes, uniques, _ = _hash_codes(keys, "ascending" if sort else "first")
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

    present = np.zeros(span, dtype=bool)

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
    codes = np.empty(n, dtype=np.int64)

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
        # codes in first-appearance order: a code is new where the running maximum grows
        top = np.maximum.accumulate(codes)
        new = np.empty(len(codes), dtype=bool)
        new[:1] = True
        np.not_equal(top[1:], top[:-1], out=new[1:])
        return codes, np.asarray(uniques, dtype=keys.dtype), np.flatnonzero(new)
    uniques, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.reshape(-1), uniques, first


def _partition_bits(n: int) -> int:
    bits = 0
    while bits < _MAX_PARTITION_BITS and (n >> bits) > _PER_PARTITION:
        bits += 1
    return bits


def _hash_codes(keys: np.ndarray, order: Order) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of 8-byte integer keys (no missing values) by hashing, in ``order``.

    Returns ``(codes, uniques, first)``: ``uniques`` ascending or in order of first
    appearance, ``first[j]`` the position of the first occurrence of ``uniques[j]``.
    Large inputs are hash-partitioned so that each partition's table stays in cache and
    the partitions run on the thread pool; the result does not depend on either.
    """
    n = len(keys)
    bits = _partition_bits(n)
    if n < _PARTITION_MIN or bits == 0:
        local, uniques, first = _table(keys)
        return _renumber(local, uniques, first, order)
    parts = 1 << bits
    shift = np.uint64(64 - bits)
    # chunks only bound the work of one task: the codes do not depend on them
    chunks = chunk_bounds(n, min_size=1 << 16, parts=max(2, get_threads()))
    starts = np.array([a for a, _ in chunks], dtype=np.int64)
    grouped = np.empty_like(keys)  # each chunk's keys, grouped by partition
    index = np.empty(n, dtype=np.int64 if max(b - a for a, b in chunks) >= 2**31 else np.int32)
    bounds = np.empty((len(chunks), parts + 1), dtype=np.int64)
    bounds[:, 0] = 0
    unsigned = keys.view(np.uint64)

    def group(c: int) -> None:
        a, b = chunks[c]
        pid = np.multiply(unsigned[a:b], _FIB)
        pid >>= shift
        pid = pid.astype(np.uint8)
        perm = np.argsort(pid, kind="stable")
        np.cumsum(np.bincount(pid, minlength=parts), out=bounds[c, 1:])
        np.take(keys[a:b], perm, out=grouped[a:b])
        index[a:b] = perm

    parallel_map(group, range(len(chunks)))
    local = np.empty(n, dtype=np.int32)  # partition-local codes, in the grouped layout

    def code(p: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = starts + bounds[:, p], starts + bounds[:, p + 1]
        sizes = hi - lo
        pieces = [grouped[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
        vals = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        codes, uniques, first = _table(vals)
        at = 0
        for a, size in zip(lo.tolist(), sizes.tolist(), strict=True):  # a loop over chunks
            local[a : a + size] = codes[at : at + size]
            at += size
        # the first occurrences' positions in the input: chunk, then place in the chunk
        ends = np.cumsum(sizes)
        c = np.searchsorted(ends, first, side="right")
        grouped_at = lo[c] + first - (ends[c] - sizes[c])
        return uniques, starts[c] + index[grouped_at]

    results = parallel_map(code, range(parts))
    uniques = np.concatenate([u for u, _ in results])
    first = np.concatenate([f for _, f in results])
    offsets = np.zeros(parts + 1, dtype=np.int64)
    np.cumsum([len(u) for u, _ in results], out=offsets[1:])
    perm = np.argsort(first if order == "first" else uniques, kind="stable")
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    codes = np.empty(n, dtype=np.int64)

    def place(c: int) -> None:
        a, b = chunks[c]
        ids = np.repeat(offsets[:-1], np.diff(bounds[c]))
        ids += local[a:b]
        codes[a:b][index[a:b]] = rank[ids]

    parallel_map(place, range(len(chunks)))
    return codes, uniques[perm], first[perm]


def _renumber(
    codes: np.ndarray, uniques: np.ndarray, first: np.ndarray, order: Order
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of one table renumbered so that the uniques come in ``order``."""
    perm = np.argsort(first if order == "first" else uniques, kind="stable")
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
    if longest <= 8 and (shortest == longest or not (data[offsets[0] : offsets[-1]] == 0).any()):
        # one exact key per string, ordered as the strings are: equal lengths, or no NUL
        # byte, so that zero padding cannot make two different strings equal
        keys = np.empty(n, dtype=np.uint64)
        map_chunks(lambda a, b: strings.word(a, b, 0, out=keys[a:b]), n, min_size=_STRING_CHUNK)
        codes, _, first = _hash_codes(keys, "ascending" if sort else "first")
        return codes, _as_objects(values.take(pa.array(first)))
    words = -(-longest // 8)
    hashes = np.empty(n, dtype=np.uint64)
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


class _Strings:
    """Byte strings (Arrow's data and offsets) read as 8-byte big-endian words."""

    def __init__(
        self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int | None = None
    ) -> None:
        if len(data) < 8:  # so that an 8-byte load always fits
            data = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
        self.data = data
        self.starts = starts.astype(np.int64, copy=False)
        self.lengths = lengths.astype(np.int64, copy=False)
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
        at = self.starts[a:b] + 8 * j
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
        h = np.multiply(self.lengths[a:b].astype(np.uint64), _FIB)
        for j in range(words):  # a loop over the words of a string, at most 8
            h ^= self.word(a, b, j)
            h *= _MIX1
            h ^= h >> np.uint64(29)
        h *= _MIX2
        h ^= h >> np.uint64(32)
        out[:] = h
        return out


# --------------------------------------------------------------------------- objects


def _factorize_object(arr: np.ndarray, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    sort = bool(sort)
    if len(arr) >= _ARROW_MIN:
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
    pd = _optional("pandas")
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
