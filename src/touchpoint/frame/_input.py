"""The input adapter: columns out of any table a user may hand to a score, as numpy arrays.

`read_columns` accepts the library's `EventFrame` / `ScoreFrame`, a pandas DataFrame, a
polars DataFrame, a pyarrow Table (or anything with ``__arrow_c_stream__``) and a dict of
array-likes, and returns numpy arrays, zero-copy where the layout allows (numeric columns
without nulls). pandas, polars and pyarrow are never imported here unless the input is
one of theirs.

Conversions by logical name (the keys of ``names``):

- ``time`` and names ending in ``_time`` except ``response_time`` (see `TIME_NAMES`):
  ``datetime64[us]``, naive UTC; timezone-aware input is converted to UTC first.
- ``amount``, ``rating``, ``response_time`` and other `FLOAT_NAMES`: ``float64`` with NaN
  for missing.
- anything else keeps its type; strings come back as a numpy ``object`` array with None
  for missing, integers as integers (float64 with NaN if they have nulls).

`read_coded` is the variant the scores use: for the categorical names asked for it returns
integer codes and the distinct values instead of the values, which costs nothing when the
input is an `EventFrame` (already coded) and uses Arrow's dictionary encoding for Arrow,
pandas-3 and polars string columns.

Examples
--------
>>> cols = read_columns({"cust": ["a", "b"], "paid": [1, 2]}, {"customer": "cust", "amount": "paid"})
>>> cols["customer"].tolist(), cols["amount"].dtype.name
(['a', 'b'], 'float64')
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._codes import factorize

__all__ = ["FLOAT_NAMES", "TIME_NAMES", "column_names", "read_coded", "read_columns"]

#: Logical names read as float64 (NaN = missing).
FLOAT_NAMES = frozenset(
    {"amount", "rating", "response_time", "value", "spend", "points", "cost", "price", "score"}
)
#: Logical names read as datetime64[us] (naive UTC).
TIME_NAMES = frozenset({"time", "start", "end", "date", "first_time", "last_time", "asof"})

_US = np.dtype("datetime64[us]")


def _kind(logical: str) -> str:
    if logical in TIME_NAMES:
        return "time"
    if logical in FLOAT_NAMES:
        return "float"
    return "any"


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


# --------------------------------------------------------------------------- tables


def _as_table(data: Any) -> Any:
    """Normalise the container: frames, pandas, polars, pyarrow stay; C-stream → pyarrow."""
    if getattr(type(data), "_is_touchpoint_frame", False) or isinstance(data, Mapping):
        return data
    mod = _module(data)
    if mod in ("pandas", "polars", "pyarrow"):
        if mod == "polars" and type(data).__name__ == "LazyFrame":
            return data.collect()
        return data
    if hasattr(data, "__arrow_c_stream__"):
        pa = importlib.import_module("pyarrow")
        return pa.table(data)
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

    >>> column_names({"a": [1], "b": [2]})
    ['a', 'b']
    """
    table = _as_table(data)
    if getattr(type(table), "_is_touchpoint_frame", False):
        return list(table.column_names)
    if isinstance(table, Mapping):
        return [str(k) for k in table]
    if _module(table) == "pyarrow":
        return list(table.column_names)
    return [str(c) for c in table.columns]


def _raw_column(table: Any, column: str) -> Any:
    if getattr(type(table), "_is_touchpoint_frame", False) or isinstance(table, Mapping):
        return table[column]
    mod = _module(table)
    if mod == "pyarrow":
        return table.column(column)
    if mod == "polars":
        return table.get_column(column)
    return table[column]


def _has(table: Any, column: str) -> bool:
    if getattr(type(table), "_is_touchpoint_frame", False):
        return column in table.column_names
    if isinstance(table, Mapping):
        return column in table
    return column in column_names(table)


# --------------------------------------------------------------------------- columns


def _times(arr: np.ndarray, label: str) -> np.ndarray:
    """Any array of times as datetime64[us], naive UTC."""
    if arr.dtype.kind == "M":
        return arr.astype(_US, copy=False)
    if len(arr) == 0:
        return np.empty(0, dtype=_US)
    if arr.dtype.kind in "US" or arr.dtype.kind == "T":
        try:
            return arr.astype(_US)
        except ValueError as exc:
            raise ValidationError([Problem(label, f"cannot read as a time: {exc}")]) from None
    if arr.dtype == object:
        out = np.empty(len(arr), dtype=_US)
        # Python objects in, Python work per value: only for lists/object arrays of datetimes
        for i, v in enumerate(arr):
            out[i] = _one_time(v, label)
        return out
    raise ValidationError(
        [Problem(label, "must hold times (datetime64, datetime or ISO text)", str(arr.dtype))]
    )


def _one_time(v: Any, label: str) -> np.datetime64:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.datetime64("NaT", "us")
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        return np.datetime64(v, "us")
    if isinstance(v, dt.date | str | np.datetime64):
        try:
            return np.datetime64(v, "us")
        except ValueError:
            pass
    raise ValidationError([Problem(label, "cannot read as a time", repr(v))])


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
        return _decode(codes, cats)
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
        return _decode(codes, cats)
    if getattr(dtype, "tz", None) is not None:
        return col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype(_US, copy=False)
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
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.dt.cast_time_unit("us").to_numpy().astype(_US, copy=False)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).to_numpy()
    if isinstance(dtype, pl.Categorical | pl.Enum):
        arrow = col.to_arrow()
        return _from_arrow(arrow, kind, label, coded)
    if dtype.is_numeric() or dtype == pl.Boolean:
        if kind == "float" or (col.null_count() and dtype != pl.Boolean):
            return col.cast(pl.Float64).fill_null(np.nan).to_numpy()
        return col.to_numpy()
    if dtype in (pl.String, pl.Binary):
        return _from_arrow(col.to_arrow(), kind, label, coded)
    return _finish(col.to_numpy(), kind, label)


def _decode(codes: np.ndarray, cats: np.ndarray) -> np.ndarray:
    cats = np.asarray(cats)
    if cats.dtype.kind in "iufM":
        if (codes >= 0).all():
            return cats[codes]
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
        if arr.dtype == object:
            arr = np.where(np.equal(arr, None), np.nan, arr)
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            bad = next((v for v in arr if not _is_number(v)), None)
            raise ValidationError([Problem(label, "must be numbers", repr(bad))]) from None
    if arr.dtype.kind in "US":
        return arr.astype(object)
    return arr


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _convert(col: Any, kind: str, label: str, coded: bool = False) -> Any:
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
    arr = np.asarray(col)
    if (
        arr.dtype == object
        and kind == "any"
        and len(arr)
        and all(isinstance(v, bool) for v in arr[:1])
    ):
        arr = arr.astype(bool)
    return _finish(arr, kind, label)


# --------------------------------------------------------------------------- entry points


def _collect(
    data: Any,
    names: Mapping[str, str | None],
    required: Collection[str],
    categorical: Collection[str],
    sort: bool | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    table = _as_table(data)
    is_frame = getattr(type(table), "_is_touchpoint_frame", False)
    out: dict[str, np.ndarray] = {}
    cats: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for logical, column in names.items():
        if column is None:
            if logical in required:
                problems.append(
                    Problem(
                        logical,
                        "this score needs the column; name it with the keyword argument",
                        None,
                    )
                )
            continue
        if not _has(table, column):
            if logical in required:
                available = ", ".join(map(repr, column_names(table))) or "none"
                problems.append(
                    Problem(
                        column, f"no such column for {logical!r} (available: {available})", column
                    )
                )
            continue
        want_codes = logical in categorical
        if is_frame:
            if want_codes and column in table.categories:
                out[logical] = table.columns[column]
                cats[logical] = table.categories[column]
                continue
            raw = table[column]
            values = _convert(raw, _kind(logical), column)
        else:
            values = _convert(_raw_column(table, column), _kind(logical), column, coded=want_codes)
        if want_codes:
            if isinstance(values, tuple):
                out[logical], cats[logical] = values
            else:
                out[logical], cats[logical] = factorize(values, sort=sort)
        else:
            out[logical] = values
    if problems:
        raise ValidationError(problems)
    lengths = {logical: len(v) for logical, v in out.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{names[k]!r} has {n}" for k, n in lengths.items())
        raise ValidationError(
            [Problem("data", f"columns differ in length: {shown}", sorted(set(lengths.values())))]
        )
    return out, cats


def read_columns(
    data: Any, names: Mapping[str, str | None], *, required: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """Columns of ``data`` as numpy arrays, keyed by logical name.

    Parameters
    ----------
    data:
        An `EventFrame` / `ScoreFrame`, a pandas or polars DataFrame, a pyarrow Table (or
        anything with ``__arrow_c_stream__``), or a dict of array-likes.
    names:
        Logical name -> column name in ``data`` (None: not given). Columns that are not
        there are left out, unless their logical name is in ``required``.
    required:
        Logical names that must be present.

    Returns
    -------
    dict
        Logical name -> 1-d numpy array, all of one length. Categorical columns of an
        `EventFrame` come back decoded (the original values).

    Raises
    ------
    touchpoint.errors.ValidationError
        A required column is missing (the message lists the available ones), columns
        differ in length (naming them and their lengths), or values cannot be read as the
        logical type (naming the column and an example value).

    Examples
    --------
    >>> import numpy as np
    >>> cols = read_columns({"t": np.array(["2026-01-01T08:00"], dtype="datetime64[s]")},
    ...                     {"time": "t", "amount": None}, required=["time"])
    >>> cols["time"].dtype, sorted(cols)
    (dtype('<M8[us]'), ['time'])
    """
    return _collect(data, names, required, (), True)[0]


def read_coded(
    data: Any,
    names: Mapping[str, str | None],
    *,
    required: Collection[str] = (),
    categorical: Collection[str] = (),
    sort: bool | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """As `read_columns`, but the ``categorical`` names come back as int64 codes.

    Returns ``(columns, categories)``: ``columns[c]`` holds codes (-1 = missing) into
    ``categories[c]``. Codes from an `EventFrame` (and pandas / polars categoricals,
    Arrow dictionaries) are passed through as stored; other inputs are factorized with
    `touchpoint.frame.factorize` (``sort`` as there; the default None takes the cheaper
    order: ascending for numbers, first appearance for strings).

    >>> cols, cats = read_coded({"c": ["x", "y", "x"]}, {"customer": "c"}, categorical=["customer"])
    >>> cols["customer"].tolist(), cats["customer"].tolist()
    ([0, 1, 0], ['x', 'y'])
    """
    return _collect(data, names, required, categorical, sort)
