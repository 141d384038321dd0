"""The input adapter: numpy columns out of any table a user may hand to a score.

The library's `EventFrame` / `ScoreFrame`, a pandas DataFrame, a polars DataFrame, a
pyarrow Table (or anything with ``__arrow_c_stream__``) and a dict of array-likes are
read column by column into numpy arrays, zero-copy where the layout allows (numeric
columns without nulls). pandas, polars and pyarrow are never imported here unless the
input is one of theirs. What the columns must hold is checked by
`touchpoint.frame._validation`, whose `read_columns` / `read_coded` every score calls.

Conversions by kind (see `kind_of`):

- ``time`` and other `TIME_NAMES`: ``datetime64[us]``, naive UTC (time-zone-aware input
  converted by `touchpoint.frame._times`);
- ``amount``, ``rating``, ``response_time`` and other `FLOAT_NAMES`: ``float64`` with NaN
  for missing (`parse_numbers`);
- anything else keeps its type; strings come back as a numpy ``object`` array with None
  for missing, integers as integers (float64 with NaN if they have nulls).

Examples
--------
>>> column_names({"cust": ["a", "b"], "paid": [1, 2]})
['cust', 'paid']
>>> convert([1, 2], "float", "paid").dtype.name
'float64'
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._times import US, converted, naive_utc_series, parse_times

__all__ = [
    "FLOAT_NAMES",
    "TIME_NAMES",
    "as_table",
    "column_names",
    "convert",
    "decode",
    "has_column",
    "is_frame",
    "kind_of",
    "parse_numbers",
    "raw_column",
    "unreadable",
]

#: Logical names read as float64 (NaN = missing).
FLOAT_NAMES = frozenset(
    {"amount", "rating", "response_time", "value", "spend", "points", "cost", "price", "score"}
)
#: Logical names read as datetime64[us] (naive UTC).
TIME_NAMES = frozenset({"time", "start", "end", "date", "first_time", "last_time", "asof"})

_US = US
_NONE = np.array(None, dtype=object)  # None as an array, for element-wise use


def kind_of(logical: str) -> str:
    if logical in TIME_NAMES:
        return "time"
    if logical in FLOAT_NAMES:
        return "float"
    return "any"


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def is_frame(data: Any) -> bool:
    """Whether ``data`` is one of the library's frames (`EventFrame`, `ScoreFrame`)."""
    return bool(getattr(type(data), "_is_touchpoint_frame", False))


# --------------------------------------------------------------------------- tables


def as_table(data: Any) -> Any:
    """Normalise the container: frames, pandas, polars, pyarrow stay; C-stream → pyarrow."""
    if is_frame(data) or isinstance(data, Mapping):
        return data
    mod = _module(data)
    if mod in ("pandas", "polars", "pyarrow"):
        if mod == "polars" and type(data).__name__ == "LazyFrame":
            return data.collect()
        return data
    if hasattr(data, "__arrow_c_stream__"):
        pa = importlib.import_module("pyarrow")
        return pa.table(data)
    if mod == "dask":
        raise ValidationError(
            [
                Problem(
                    "data",
                    "a Dask DataFrame, and this function runs in memory only (the scores "
                    "that run on Dask: touchpoint.frame.distributed_scores())",
                    type(data).__name__,
                )
            ]
        )
    raise ValidationError(
        [
            Problem(
                "data",
                "expected an EventFrame/ScoreFrame, a pandas or polars DataFrame, an Arrow "
                "table or a dict of arrays",
                type(data).__name__,
            )
        ]
    )


def column_names(data: Any) -> list[str]:
    """The column names of any supported table.

    A Dask DataFrame's column names too (without computing anything).

    >>> column_names({"a": [1], "b": [2]})
    ['a', 'b']
    """
    if _module(data) == "dask":
        return [str(c) for c in data.columns]
    table = as_table(data)
    if is_frame(table):
        return list(table.column_names)
    if isinstance(table, Mapping):
        return [str(k) for k in table]
    if _module(table) == "pyarrow":
        return list(table.column_names)
    return [str(c) for c in table.columns]


def raw_column(table: Any, column: str) -> Any:
    if is_frame(table) or isinstance(table, Mapping):
        return table[column]
    mod = _module(table)
    if mod == "pyarrow":
        return table.column(column)
    if mod == "polars":
        return table.get_column(column)
    return table[column]


def has_column(table: Any, column: str) -> bool:
    if is_frame(table):
        return column in table.column_names
    if isinstance(table, Mapping):
        return column in table
    return column in column_names(table)


# --------------------------------------------------------------------------- columns


def parse_numbers(values: Any, label: str = "value") -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 (NaN for missing) and the positions of those that are no number.

    Numbers, booleans and numeric text are read; None and NaN are missing; anything else
    becomes NaN and its position is returned (vectorised, as `parse_times`).

    >>> x, bad = parse_numbers(np.array([1, "2.5", None, "lots"], dtype=object))
    >>> x.tolist(), bad.tolist()
    ([1.0, 2.5, nan, nan], [3])
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.dtype == np.float64:
        return arr, np.empty(0, dtype=np.int64)
    if arr.dtype.kind in "iufb":
        return arr.astype(np.float64), np.empty(0, dtype=np.int64)
    if arr.dtype.kind == "M":
        raise ValidationError([Problem(label, "must be numbers", str(arr.dtype))])
    if arr.dtype == object and len(arr):
        arr = np.where(np.equal(arr, _NONE), np.nan, arr)
    out = np.empty(len(arr), dtype=np.float64)
    bad = converted(arr, lambda a: a.astype(np.float64), out)
    if bad:
        out[bad] = np.nan
    return out, np.asarray(bad, dtype=np.int64)


def _times(arr: np.ndarray, label: str) -> np.ndarray:
    """Any array of times as datetime64[us], naive UTC; an error naming a value that is not."""
    out, bad = parse_times(arr, label)
    if len(bad):
        raise ValidationError([unreadable(label, "a time", arr, bad)])
    return out


def unreadable(label: str, what: str, arr: np.ndarray, bad: np.ndarray) -> Problem:
    """The problem of a column whose values at ``bad`` cannot be read as ``what``."""
    first = int(bad[0])
    more = f" ({len(bad)} values cannot)" if len(bad) > 1 else ""
    value = arr[first]
    return Problem(
        f"{label}[{first}]",
        f"cannot read as {what}{more}",
        value.item() if isinstance(value, np.generic) else value,
    )


def _from_arrow(col: Any, kind: str, label: str, coded: bool) -> Any:
    pa = importlib.import_module("pyarrow")
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    typ = col.type
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        if pa.types.is_date(typ):
            col = col.cast(pa.timestamp("us"))
            typ = col.type
        ints = col.view(pa.int64())  # the UTC instants, zero-copy
        if ints.null_count:
            ints = ints.fill_null(np.iinfo(np.int64).min)  # NaT
        raw = ints.to_numpy(zero_copy_only=False).view(f"datetime64[{typ.unit}]")
        return raw.astype(_US, copy=False)
    if pa.types.is_dictionary(typ):
        if coded:
            return col
        codes = col.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
        cats = _from_arrow(col.dictionary, kind, label, False)
        return decode(codes, cats)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        if kind == "float" or (col.null_count and not pa.types.is_boolean(typ)):
            if not pa.types.is_float64(typ):
                col = col.cast(pa.float64())
            if col.null_count:
                col = col.fill_null(np.nan)
        return col.to_numpy(zero_copy_only=False)
    if coded:
        return col  # strings: dictionary-encoded by the caller
    out = col.to_numpy(zero_copy_only=False)
    return out if kind == "any" else _finish(out, kind, label)


def _from_pandas(col: Any, kind: str, label: str, coded: bool) -> Any:
    dtype = col.dtype
    name = getattr(dtype, "name", str(dtype))
    if name == "category":
        cats = col.cat.categories.to_numpy()
        codes = col.cat.codes.to_numpy().astype(np.int64)
        if coded:
            return codes, cats
        return decode(codes, cats)
    if getattr(dtype, "tz", None) is not None:
        return naive_utc_series(col).to_numpy().astype(_US, copy=False)
    if dtype.kind == "M":
        return col.to_numpy().astype(_US, copy=False)
    if hasattr(col.array, "__arrow_array__") and (
        dtype.kind in "OUS" or "string" in name or "[pyarrow]" in name or name == "str"
    ):
        pa = importlib.import_module("pyarrow")
        return _from_arrow(pa.array(col.array), kind, label, coded)
    if dtype.kind in "iufb":
        nullable = not isinstance(dtype, np.dtype)  # Int64, Float64, boolean: may hold NA
        if kind == "float" and dtype == np.float64:
            return col.to_numpy()  # zero-copy
        if kind == "float" or (nullable and col.hasnans):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        if nullable:
            return col.to_numpy(dtype=dtype.numpy_dtype)
    return _finish(col.to_numpy(), kind, label)


def _from_polars(col: Any, kind: str, label: str, coded: bool) -> Any:
    pl = importlib.import_module("polars")
    dtype = col.dtype
    if isinstance(dtype, pl.Datetime):
        col = naive_utc_series(col)
        return col.dt.cast_time_unit("us").to_numpy().astype(_US, copy=False)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).to_numpy()
    if isinstance(dtype, pl.Categorical | pl.Enum):
        if coded:
            return _polars_dictionary(col)
        arrow = col.to_arrow()
        return _from_arrow(arrow, kind, label, coded)
    if dtype.is_numeric() or dtype == pl.Boolean:
        if kind == "float" or (col.null_count() and dtype != pl.Boolean):
            return col.cast(pl.Float64).fill_null(np.nan).to_numpy()
        return col.to_numpy()
    if dtype in (pl.String, pl.Binary):
        newest = getattr(getattr(pl, "CompatLevel", None), "newest", None)
        if coded and newest is not None and dtype == pl.String and _short_ids(col):
            # polars' own string views, zero-copy (``to_arrow()`` copies them into a
            # large_string array: 0.18 s at 10M rows); factorize reads short strings
            # from the views
            return _from_arrow(col.to_arrow(compat_level=newest()), kind, label, coded)
        return _from_arrow(col.to_arrow(), kind, label, coded)
    return _finish(col.to_numpy(), kind, label)


def _short_ids(col: Any) -> bool:
    """Whether `touchpoint.frame.factorize` codes a polars String column from its views:
    no nulls, and at most 7 bytes, or 8 bytes each (one pass over the lengths: 0.02 to
    0.04 s at 10M rows). Other columns take ``to_arrow()``'s copy, which is cheaper than
    casting the views (1.04 s vs 1.25 s for 10M 37-byte ids)."""
    if not len(col) or col.null_count():
        return False
    lengths = col.str.len_bytes()
    lo, hi = lengths.min(), lengths.max()
    return bool(hi <= 7 or lo == hi == 8)


def _polars_dictionary(col: Any) -> Any:
    """A polars Categorical or Enum column as the Arrow dictionary array ``to_arrow`` gives,
    built from its physical codes (zero-copy) instead.

    polars' ``to_arrow`` rebuilds the dictionary from the strings (about 3 s of CPU for
    10M rows over 1M categories). Here: an Enum's codes index its categories as they
    are; a Categorical's index the process-wide categories, so they are renumbered in
    order of first appearance (an O(n) lookup-table factorize of small integers) and only
    the categories used are kept, which is what ``to_arrow`` returns.
    """
    pa = importlib.import_module("pyarrow")
    pl = importlib.import_module("polars")
    physical = col.to_physical()
    nulls = physical.null_count() > 0
    ints = physical.cast(pl.Int64).fill_null(-1).to_numpy() if nulls else physical.to_numpy()
    if isinstance(col.dtype, pl.Enum):
        indices = ints
        dictionary = col.dtype.categories.to_arrow()
    else:
        from touchpoint.frame._codes import factorize
        from touchpoint.frame._grouped import first_rows

        rows = np.flatnonzero(ints >= 0) if nulls else None
        present = ints if rows is None else ints[rows]
        codes, _ = factorize(present, sort=True)  # lookup table of the ids: O(n), threads
        first = first_rows(codes, int(codes.max()) + 1 if len(codes) else 0)
        order = np.argsort(first)  # the categories by first appearance (all different)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        indices = np.full(len(ints), -1, dtype=np.int64)
        if rows is None:
            indices = rank[codes]
        else:
            indices[rows] = rank[codes]
        at = first[order] if rows is None else rows[first[order]]
        # the strings of the used categories, read at their first rows (Categories'
        # to_series() would loop in Python over every category of the process)
        dictionary = col.gather(at).cast(pl.String).to_arrow()
    mask = indices < 0 if nulls else None
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask), dictionary)


def decode(codes: np.ndarray, cats: np.ndarray) -> np.ndarray:
    cats = np.asarray(cats)
    if cats.dtype.kind in "iufM":
        if (codes >= 0).all():
            decoded: np.ndarray = cats[codes]
            return decoded
        cats = cats.astype(object)
    out = (
        np.asarray(cats, dtype=object)[np.where(codes >= 0, codes, 0)]
        if len(cats)
        else np.full(len(codes), None, dtype=object)
    )
    if len(cats):
        out[codes < 0] = None
    return out


def _finish(arr: Any, kind: str, label: str) -> np.ndarray:
    arr = arr if isinstance(arr, np.ndarray) else np.asarray(arr)
    if arr.ndim != 1:
        raise ValidationError([Problem(label, "must be one-dimensional", f"shape {arr.shape}")])
    if kind == "time":
        return _times(arr, label)
    if kind == "float" and arr.dtype != np.float64:
        out, bad = parse_numbers(arr, label)
        if len(bad):
            raise ValidationError([unreadable(label, "a number", arr, bad)])
        return out
    if arr.dtype.kind in "US":
        result: np.ndarray = arr.astype(object)
        return result
    same: np.ndarray = arr
    return same


_PLAIN = (int, float, np.number, np.bool_, np.datetime64, dt.date, type(None))


def _plain_values(col: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a list holds only numbers, times and None, or only booleans (numpy reads
    those well).

    ``map(type, ...)`` runs in C; the set holds the few distinct types.
    """
    kinds = set(map(type, col))
    if len(kinds) > 1 and any(issubclass(k, bool | np.bool_) for k in kinds):
        return False  # numpy would read [10.0, True] as [10.0, 1.0]: keep True as given
    return all(issubclass(kind, _PLAIN) for kind in kinds)


def convert(col: Any, kind: str, label: str, coded: bool = False) -> Any:
    mod = _module(col)
    if isinstance(col, np.ndarray):
        return _finish(col, kind, label)
    if mod == "pyarrow":
        return _from_arrow(col, kind, label, coded)
    if mod == "pandas":
        return _from_pandas(col, kind, label, coded)
    if mod == "polars":
        return _from_polars(col, kind, label, coded)
    if hasattr(col, "__arrow_c_array__") or hasattr(col, "__arrow_c_stream__"):
        pa = importlib.import_module("pyarrow")
        return _from_arrow(
            pa.chunked_array(col) if hasattr(col, "__arrow_c_stream__") else pa.array(col),
            kind,
            label,
            coded,
        )
    if isinstance(col, list | tuple) and not _plain_values(col):
        # text, bytes or containers: keep each value as given in an object array. numpy
        # would turn [5, "2026-01-01"] into text, and a list of strings into a
        # fixed-width array as wide as the longest one (20k rows and one id of 20,000
        # characters: 1.6 GB), and a list of equal-length lists into a 2-d array
        arr = np.fromiter(col, dtype=object, count=len(col))
    else:
        arr = np.asarray(col)
    if (
        arr.dtype == object
        and kind == "any"
        and len(arr)
        and all(isinstance(v, bool) for v in arr[:1])
    ):
        arr = arr.astype(bool)
    return _finish(arr, kind, label)
