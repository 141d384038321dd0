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

import importlib
import numbers
import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._codes import factorize

__all__ = [
    "FLOAT_NAMES",
    "TIME_NAMES",
    "column_names",
    "parse_numbers",
    "parse_times",
    "read_coded",
    "read_columns",
]

#: Logical names read as float64 (NaN = missing).
FLOAT_NAMES = frozenset(
    {"amount", "rating", "response_time", "value", "spend", "points", "cost", "price", "score"}
)
#: Logical names read as datetime64[us] (naive UTC).
TIME_NAMES = frozenset({"time", "start", "end", "date", "first_time", "last_time", "asof"})

_US = np.dtype("datetime64[us]")
_NAT = np.iinfo(np.int64).min
#: Times from year 1 to year 9999 (what ``datetime`` and ISO text can hold), as int64 us.
_FIRST = int(np.datetime64("0001-01-01", "us").view(np.int64))
_END = int(np.datetime64("10000-01-01", "us").view(np.int64))


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


def _converted(
    values: np.ndarray, convert: Callable[[np.ndarray], np.ndarray], out: np.ndarray
) -> list[int]:
    """``out[:] = convert(values)`` by vectorised calls; the positions of values that fail.

    One call converts everything when every value is good. A slice that fails is halved
    and each half tried again, so k bad values among n cost about ``2 k log2(n / k)``
    vectorised calls and never a Python step per good value; only the single values
    left over are reported.
    """
    bad: list[int] = []
    todo = [(0, len(values))]
    while todo:  # a loop over failing slices (about 2 log2 n per bad value)
        lo, hi = todo.pop()
        try:
            out[lo:hi] = convert(values[lo:hi])
        except (ValueError, TypeError, OverflowError):
            if hi - lo == 1:
                bad.append(lo)
            else:
                mid = (lo + hi) // 2
                todo += [(mid, hi), (lo, mid)]
    return sorted(bad)


def _to_us(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # ISO text with an offset and aware datetimes are converted to UTC: what we want
        warnings.filterwarnings("ignore", message=".*explicit representation of timezones")
        return values.astype(_US)


def parse_times(values: Any, label: str = "time") -> tuple[np.ndarray, np.ndarray]:
    """Values as ``datetime64[us]`` (naive UTC) and the positions of those that are no time.

    Accepts ``datetime64`` arrays, ISO 8601 text (with or without a UTC offset),
    ``datetime`` objects (naive ones are UTC, aware ones are converted), dates, and
    missing values (None, NaN, NaT, empty text), which become NaT and are not reported.
    Values that are not a time, and times outside the years 1 to 9999 (e.g. ``20260101``
    read as a year), become NaT and their positions are returned. The parse is
    vectorised; only values that fail it are looked at one by one.

    Raises
    ------
    touchpoint.errors.ValidationError
        The column holds numbers or booleans (no times at all).

    Examples
    --------
    >>> import datetime as dt
    >>> t, bad = parse_times(np.array(["2026-01-01T08:00+08:00", "not a date", None,
    ...                                dt.datetime(2026, 1, 2)], dtype=object))
    >>> t.astype(str).tolist(), bad.tolist()
    (['2026-01-01T00:00:00.000000', 'NaT', 'NaT', '2026-01-02T00:00:00.000000'], [1])
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.dtype.kind == "M":
        return arr.astype(_US, copy=False), np.empty(0, dtype=np.int64)
    if len(arr) == 0:
        return np.empty(0, dtype=_US), np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "USTO":
        raise ValidationError(
            [Problem(label, "must hold times (datetime64, datetime or ISO text)", str(arr.dtype))]
        )
    given, numeric = arr, None
    if arr.dtype == object:
        # numpy reads a number as a count of microseconds since 1970: refuse numbers
        numeric = _numbers(arr)
        if numeric is not None:
            arr = np.where(numeric, None, arr)
    out = np.empty(len(arr), dtype=_US)
    bad = _converted(arr, _to_us, out)
    if bad and arr.dtype == object:
        # the values the vectorised parse refused, one by one: NaN and NaT are missing
        bad = [i for i in bad if not _missing_time(arr[i], out, i)]
    if numeric is not None:
        with np.errstate(invalid="ignore"):
            number = numeric & np.asarray(np.equal(given, given), dtype=bool)  # NaN: missing
        bad = sorted({*bad, *np.flatnonzero(number).tolist()})
    out[bad] = np.datetime64("NaT", "us")
    t = out.view(np.int64)
    wild = (t != _NAT) & ((t < _FIRST) | (t >= _END))
    if wild.any():
        out[wild] = np.datetime64("NaT", "us")
        bad = sorted({*bad, *np.flatnonzero(wild).tolist()})
    return out, np.asarray(bad, dtype=np.int64)


_TYPE_OF = np.frompyfunc(type, 1, 1)


def _numbers(arr: np.ndarray) -> np.ndarray | None:
    """Which values of an object array are numbers or booleans (None if none is)."""
    kinds = _TYPE_OF(arr)
    numeric = [
        k for k in set(kinds.tolist()) if issubclass(k, numbers.Number | np.bool_ | np.number)
    ]
    if not numeric:
        return None
    mask = np.zeros(len(arr), dtype=bool)
    for k in numeric:  # a loop over the distinct numeric types, a handful
        mask |= np.asarray(kinds == k, dtype=bool)
    return mask


def _missing_time(value: Any, out: np.ndarray, i: int) -> bool:
    """Whether ``value`` is a missing time (None, NaN, NaT); sets ``out[i]`` to NaT if so."""
    try:
        missing = value is None or bool(value != value)
    except (TypeError, ValueError):
        missing = False
    if missing:
        out[i] = np.datetime64("NaT", "us")
    return missing


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
        arr = np.where(np.equal(arr, None), np.nan, arr)
    out = np.empty(len(arr), dtype=np.float64)
    bad = _converted(arr, lambda a: a.astype(np.float64), out)
    if bad:
        out[bad] = np.nan
    return out, np.asarray(bad, dtype=np.int64)


def _times(arr: np.ndarray, label: str) -> np.ndarray:
    """Any array of times as datetime64[us], naive UTC; an error naming a value that is not."""
    out, bad = parse_times(arr, label)
    if len(bad):
        raise ValidationError([_unreadable(label, "a time", arr, bad)])
    return out


def _unreadable(label: str, what: str, arr: np.ndarray, bad: np.ndarray) -> Problem:
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
        out, bad = parse_numbers(arr, label)
        if len(bad):
            raise ValidationError([_unreadable(label, "a number", arr, bad)])
        return out
    if arr.dtype.kind in "US":
        return arr.astype(object)
    return arr


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
    if arr.dtype.kind in "US" and isinstance(col, list | tuple):
        # numpy turns [5, "2026-01-01"] into text; keep each value as given
        arr = np.empty(len(col), dtype=object)
        arr[:] = col
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
    unreadable: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
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
        kind = _kind(logical)
        if unreadable is not None and kind != "any" and not want_codes:
            raw = table[column] if is_frame else _raw_column(table, column)
            given = _convert(raw, "any", column)
            parse = parse_times if kind == "time" else parse_numbers
            out[logical], bad = parse(given, column)
            if len(bad):
                unreadable[logical] = (bad, np.asarray(given, dtype=object)[bad])
            continue
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
    unreadable: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """As `read_columns`, but the ``categorical`` names come back as int64 codes.

    Returns ``(columns, categories)``: ``columns[c]`` holds codes (-1 = missing) into
    ``categories[c]``. Codes from an `EventFrame` (and pandas / polars categoricals,
    Arrow dictionaries) are passed through as stored; other inputs are factorized with
    `touchpoint.frame.factorize` (``sort`` as there; the default None takes the cheaper
    order: ascending for numbers, first appearance for strings).

    ``unreadable``: pass a dict to read values that are not a time (in a time column) or
    not a number (in a float column) as missing (NaT, NaN) instead of raising; for each
    such column it receives ``(positions, values as given)`` of those values, so a
    caller can refuse those rows alone (as `touchpoint.Workspace.record_batch` does).

    >>> cols, cats = read_coded({"c": ["x", "y", "x"]}, {"customer": "c"}, categorical=["customer"])
    >>> cols["customer"].tolist(), cats["customer"].tolist()
    ([0, 1, 0], ['x', 'y'])
    """
    return _collect(data, names, required, categorical, sort, unreadable)
