"""Times: the one place where a time becomes ``datetime64[us]``, naive UTC.

Inside the library a time is UTC without a zone: ``datetime64[us]`` in columns, and the
same instant as a scalar. Whatever a user hands over (an aware or naive ``datetime``, a
pandas ``Timestamp``, a ``date``, ``datetime64``, ISO 8601 text with or without an
offset, a time-zone-aware pandas or polars column) is converted here, and only here:

- `naive_utc`: one aware value (``datetime`` or pandas ``Timestamp``) as naive UTC; a
  naive value is UTC already and is returned as it is;
- `naive_utc_series`: the same for a pandas or polars column;
- `as_time` / `as_day`: one value as ``datetime64[us]`` / ``datetime64[D]``, with an
  error naming the argument;
- `parse_times`: a whole column, vectorised, reporting the positions of the values that
  are no time;
- `micros`: one value as UTC microseconds since the epoch.

Examples
--------
>>> import datetime as dt
>>> shanghai = dt.timezone(dt.timedelta(hours=8))
>>> naive_utc(dt.datetime(2026, 3, 2, 1, 0, tzinfo=shanghai))
datetime.datetime(2026, 3, 1, 17, 0)
>>> as_time("2026-03-02T01:00+08:00")
np.datetime64('2026-03-01T17:00:00.000000')
>>> as_day("2026-03-02", name="asof")
np.datetime64('2026-03-02')
"""

from __future__ import annotations

import datetime as dt
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from touchpoint.errors import Problem, ValidationError

__all__ = [
    "DAY_US",
    "NAT",
    "US",
    "as_day",
    "as_time",
    "micros",
    "naive_utc",
    "naive_utc_series",
    "parse_times",
    "to_us",
]

#: The dtype of every time column: microseconds, naive UTC.
US = np.dtype("datetime64[us]")
#: Microseconds in a day.
DAY_US = 86_400_000_000
#: NaT as the int64 it is stored as (the smallest int64).
NAT = int(np.iinfo(np.int64).min)
#: Times from year 1 to year 9999 (what ``datetime`` and ISO text can hold), as int64 us.
_FIRST = int(np.datetime64("0001-01-01", "us").view(np.int64))
_END = int(np.datetime64("10000-01-01", "us").view(np.int64))

_TimeArray = npt.NDArray[np.datetime64]
_Positions = npt.NDArray[np.int64]


def naive_utc(value: Any) -> Any:
    """An aware ``datetime`` or pandas ``Timestamp`` as the same instant in naive UTC.

    Naive values (UTC by the library's convention) and anything else are returned as
    they are.

    >>> import datetime as dt
    >>> naive_utc(dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    datetime.datetime(2026, 1, 1, 0, 0)
    >>> naive_utc("2026-01-01")
    '2026-01-01'
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value
        if hasattr(value, "tz_convert"):  # a pandas Timestamp (a datetime subclass)
            return value.tz_convert("UTC").tz_localize(None)
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def naive_utc_series(column: Any) -> Any:
    """A time-zone-aware pandas or polars column as naive UTC (a naive one as it is)."""
    dtype = column.dtype
    if type(column).__module__.split(".")[0] == "polars":
        if getattr(dtype, "time_zone", None) is None:
            return column
        return column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    if getattr(dtype, "tz", None) is None:
        return column
    return column.dt.tz_convert("UTC").dt.tz_localize(None)


def to_us(values: np.ndarray) -> _TimeArray:
    """An array of times (datetime64, datetimes, ISO text) as ``datetime64[us]``, naive UTC.

    Text with a UTC offset and aware datetimes are converted to UTC (numpy does the
    arithmetic). Raises numpy's ``ValueError`` / ``TypeError`` on a value that is no time;
    `parse_times` reports those instead.
    """
    with warnings.catch_warnings():
        # ISO text with an offset and aware datetimes are converted to UTC: what we want
        warnings.filterwarnings("ignore", message=".*explicit representation of timezones")
        return values.astype(US)


def as_time(value: Any, *, name: str = "asof") -> np.datetime64:
    """A date, datetime, ``datetime64``, pandas Timestamp or ISO text as ``datetime64[us]``.

    Aware values are converted to UTC; naive ones are UTC. Missing values (None, NaT)
    and values that are no time are refused with an error naming ``name``.

    >>> as_time(np.datetime64("2026-03-01"))
    np.datetime64('2026-03-01T00:00:00.000000')
    >>> as_time("soon", name="when")
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - when: must be a date, datetime or ISO text (value: "'soon'")
    """
    given = value
    value = naive_utc(value)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*explicit representation of timezones")
            out = np.datetime64(value, "us")
    except (TypeError, ValueError):
        raise ValidationError(
            [Problem(name, "must be a date, datetime or ISO text", repr(given))]
        ) from None
    if np.isnat(out):
        raise ValidationError([Problem(name, "must be a date, not missing", repr(given))])
    return out


def as_day(value: Any, *, name: str) -> np.datetime64:
    """A date (or the UTC date of a time) as ``datetime64[D]``; an error naming ``name``.

    >>> as_day("2026-03-02T23:00-02:00", name="asof")
    np.datetime64('2026-03-03')
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*explicit representation of timezones")
            day = np.datetime64(naive_utc(value), "D")
    except (TypeError, ValueError):
        raise ValidationError([Problem(name, "must be a date", value)]) from None
    if np.isnat(day):
        raise ValidationError([Problem(name, "must be a date", value)])
    return day


def micros(value: Any) -> int:
    """UTC microseconds since the epoch of a datetime (naive = UTC), ``datetime64`` or text.

    >>> micros("1970-01-01T00:00:01")
    1000000
    """
    value = naive_utc(value)
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1970, 1, 1)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return int(np.datetime64(value, "us").astype(np.int64))


def parse_times(values: Any, label: str = "time") -> tuple[_TimeArray, _Positions]:
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
        return arr.astype(US, copy=False), np.empty(0, dtype=np.int64)
    if len(arr) == 0:
        return np.empty(0, dtype=US), np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "USTO":
        raise ValidationError(
            [Problem(label, "must hold times (datetime64, datetime or ISO text)", str(arr.dtype))]
        )
    given, numeric = arr, None
    if arr.dtype == object:
        # numpy reads a number as a count of microseconds since 1970: refuse numbers
        numeric = _numbers(arr)
        if numeric is not None:
            arr = np.where(numeric, _NONE, arr)
    out = np.empty(len(arr), dtype=US)
    bad = converted(arr, to_us, out)
    if bad and arr.dtype == object:
        # the values the vectorised parse refused, one by one: NaN and NaT are missing
        bad = [i for i in bad if not _missing_time(arr[i], out, i)]
    if numeric is not None:
        with np.errstate(invalid="ignore"):
            number = numeric & np.asarray(np.equal(given, given), dtype=bool)  # NaN: missing
        bad = sorted({*bad, *np.flatnonzero(number).tolist()})
    out[bad] = np.datetime64("NaT", "us")
    t = out.view(np.int64)
    wild = (t != NAT) & ((t < _FIRST) | (t >= _END))
    if wild.any():
        out[wild] = np.datetime64("NaT", "us")
        bad = sorted({*bad, *np.flatnonzero(wild).tolist()})
    return out, np.asarray(bad, dtype=np.int64)


def converted(
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


_TYPE_OF = np.frompyfunc(type, 1, 1)
_NONE = np.array(None, dtype=object)  # None as an array, for element-wise use


def _numbers(arr: np.ndarray) -> npt.NDArray[np.bool_] | None:
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
