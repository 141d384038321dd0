"""Factorizing values into dense integer codes, the way every frame stores its ids.

`factorize` turns an array of values (customer ids, touchpoint codes, channel names...)
into ``(codes, uniques)`` with ``uniques[codes] == values``:

- ``codes`` is an ``int64`` array; a missing value (None, NaN, NaT, Arrow null) gets -1.
- ``uniques`` holds each distinct value once. With ``sort=True`` (the default) they are
  in ascending order; with ``sort=False`` in order of first appearance; with
  ``sort=None`` in whichever of the two is cheaper for the input (ascending for floats,
  times and integers spanning a small range; first appearance for strings and, when
  pandas is installed, widely spread integers), which is what the scores use. Either
  way the result depends only on the values, never on hashing.

Fast paths, chosen by the kind of input (no Python work per value on any of them):

- integers spanning a small range: a lookup table, O(n);
- other integers: ``pandas.factorize`` (a hash table) when pandas is installed;
- floats, times (and wide integers without pandas): ``numpy.unique`` (a sort);
- Arrow string/binary arrays (also what pandas 3 ``str`` columns hold): Arrow's hash
  dictionary-encode, then only the distinct values are sorted;
- numpy object/unicode arrays: ``pandas.factorize`` when pandas is installed, otherwise
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
from typing import Any

import numpy as np

__all__ = ["factorize", "recode"]

_MISSING = -1


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


def _factorize_int(arr: np.ndarray, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(arr)
    if n == 0:
        return np.empty(0, np.int64), arr.copy()
    lo, hi = int(arr.min()), int(arr.max())
    span = hi - lo + 1
    if span <= max(4 * n, 1 << 16):
        shifted = (arr - lo) if lo else arr
        if shifted.dtype.kind == "u" or shifted.dtype.itemsize > 8:
            shifted = shifted.astype(np.int64)
        present = np.bincount(shifted, minlength=span) > 0
        lut = np.cumsum(present, dtype=np.int64) - 1
        codes = lut[shifted]
        uniques = (np.flatnonzero(present) + lo).astype(arr.dtype)
    else:
        pd = _optional("pandas")
        if pd is not None:  # a hash table beats numpy's sort about 3x on wide ids
            codes, uniques = pd.factorize(arr, sort=bool(sort))
            return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=arr.dtype)
        uniques, codes = np.unique(arr, return_inverse=True)
        codes = codes.astype(np.int64, copy=False)
    if sort is False:
        codes, uniques = _first_appearance(codes, uniques)
    return codes, uniques


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


def _factorize_arrow(values: Any, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    pa = importlib.import_module("pyarrow")
    pc = importlib.import_module("pyarrow.compute")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        indices, dictionary = values.indices, values.dictionary
    elif (
        pa.types.is_integer(values.type)
        or pa.types.is_floating(values.type)
        or pa.types.is_temporal(values.type)
    ):
        arr = values.to_numpy(zero_copy_only=False)
        return factorize(arr, sort=sort)
    else:
        sort = bool(sort)
        if pa.types.is_string_view(values.type):
            values = values.cast(pa.large_string())
        encoded = pc.dictionary_encode(values)
        indices, dictionary = encoded.indices, encoded.dictionary
    if indices.null_count:
        indices = indices.cast(pa.int64()).fill_null(_MISSING)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    uniques = dictionary.to_numpy(zero_copy_only=False)
    if uniques.dtype == object or uniques.dtype.kind in "US":
        uniques = np.asarray(uniques, dtype=object)
    if sort and len(dictionary):
        try:
            order = pc.array_sort_indices(dictionary).to_numpy()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # pragma: no cover - exotic types
            return codes, uniques
        codes, uniques = recode(codes, order), uniques[order]
    return codes, uniques


def _factorize_object(arr: np.ndarray, sort: bool | None) -> tuple[np.ndarray, np.ndarray]:
    sort = bool(sort)
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
