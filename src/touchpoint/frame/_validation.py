"""Reading and checking columns: the one place every score reads its input through.

As scikit-learn's ``utils/validation.py`` is for its estimators: `read_columns` and
`read_coded` take any supported table (see `touchpoint.frame._input`) and the logical
names a score needs, and return numpy columns of the right kind; the ``check_*``
functions then state what a score requires of them. Every error is a
`touchpoint.errors.ValidationError` whose problems name the input, the column, the row
and the value: ``amount[3]: must not be negative (value: -5.0)``.

- which columns: `require_columns` (missing ones, listing those available), equal lengths;
- codes: `check_codes` (every row has a customer, a touchpoint...);
- times: `check_times` (no NaT; reading and UTC conversion are `touchpoint.frame._times`);
- numbers: `check_nonnegative`, `check_finite`, `check_range`, `as_float64`;
- NaN policy: amounts may be NaN (missing) unless a check says otherwise; codes use -1
  and times NaT for missing;
- text: `text_problems` says which ids are no acceptable text (bytes and other types,
  lone surrogates, C0 control characters such as NUL, more than `MAX_ID_LENGTH`
  characters), vectorised and without building a fixed-width string array of the
  over-long ones; ingest (`read_coded` with ``unreadable``) reports those values per row.

Examples
--------
>>> cols = read_columns({"cust": ["a", "b"], "paid": [1, 2]}, {"customer": "cust", "amount": "paid"})
>>> cols["customer"].tolist(), cols["amount"].dtype.name
(['a', 'b'], 'float64')
>>> check_nonnegative(np.array([2.0, -1.0]), "paid")
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in the records:
  - paid[1]: must not be negative (value: -1.0)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._codes import factorize
from touchpoint.frame._input import (
    as_table,
    column_names,
    convert,
    has_column,
    is_frame,
    kind_of,
    parse_numbers,
    raw_column,
)
from touchpoint.frame._times import parse_times

__all__ = [
    "MAX_ID_LENGTH",
    "TEXT_MESSAGES",
    "Columns",
    "as_float64",
    "check_codes",
    "check_finite",
    "check_nonnegative",
    "check_range",
    "check_times",
    "first_row",
    "read_coded",
    "read_columns",
    "require_columns",
    "short_value",
    "text_message",
    "text_problems",
]

#: Columns by logical name, as `read_columns` returns them.
Columns = dict[str, np.ndarray]
#: ``(positions, values as given)`` of the unreadable values of each column (`read_coded`).
Unreadable = dict[str, tuple[np.ndarray, np.ndarray]]

#: The most characters an id or code may have at ingest (event ids, customers,
#: touchpoints, channels, outcomes, staff, stores, referrers, indicators). An e-mail
#: address used as a customer id has at most 254 (RFC 5321), a UUID 36; anything longer
#: is not an id but a mistake or an attack, and would cost memory in every fixed-width
#: string array built from the column.
MAX_ID_LENGTH = 256

#: `text_problems` reason codes -> what the problem says.
TEXT_MESSAGES = {
    1: "must be text (a str), not {type}",
    2: "is not valid text (it holds a lone surrogate, which cannot be stored as UTF-8)",
    3: "is too long: {length} characters, the limit is {limit}",
    4: "must not contain control characters (NUL, tab, newline... U+0000 to U+001F, U+007F)",
}
_NOT_TEXT, _BAD_TEXT, _TOO_LONG, _CONTROL = 1, 2, 3, 4
_TYPE_OF_UFUNC = np.frompyfunc(type, 1, 1)
_LEN_UFUNC = np.frompyfunc(len, 1, 1)


def _TYPE_OF(values: np.ndarray) -> np.ndarray:
    """The type of each value of an object array, as an object array."""
    return cast(np.ndarray, _TYPE_OF_UFUNC(values))


def _LEN(values: np.ndarray) -> np.ndarray:
    """``len`` of each value of an object array, as an object array."""
    return cast(np.ndarray, _LEN_UFUNC(values))


#: Cells of code points looked at in one block (bounds the memory of `text_problems`).
_BLOCK_CELLS = 1 << 21


def _of_type(kinds: np.ndarray, kind: type) -> npt.NDArray[np.bool_]:
    """Which entries of an object array of types are ``kind``.

    Compared array to array: ``kinds == kind`` lets a class that defines
    ``__array_ufunc__`` (pandas' NA) take over the comparison and answer False.
    """
    other = np.empty(1, dtype=object)
    other[0] = kind
    return np.asarray(np.equal(kinds, other), dtype=bool)


def _id_type(kind: type) -> bool:
    """Whether values of this type are accepted as ids (read as their text) or missing."""
    if issubclass(kind, bool | np.bool_):
        return False
    if issubclass(kind, int | float | np.integer | np.floating | type(None)):
        return True
    return kind.__name__ in ("NAType", "NaTType")  # pandas' missing markers


def text_problems(values: Any, *, limit: int = MAX_ID_LENGTH) -> npt.NDArray[np.int8]:
    """Per value, 0 if it is an acceptable id, else the reason (a key of `TEXT_MESSAGES`).

    Accepted: text (``str``) of at most ``limit`` characters without C0 control
    characters (U+0000 to U+001F, U+007F) or lone surrogates; integers and floats (ids
    read as their text); missing values (None, NaN, pandas' NA and NaT). Refused: any
    other type (``bytes``, ``bool``, a dict, a list...), and text that is too long,
    holds a control character (numpy's fixed-width strings drop a trailing NUL, so
    ``"C1\\x00"`` would become ``"C1"``) or a lone surrogate.

    Vectorised: the types and lengths are read by numpy ufuncs over the object array;
    only values within ``limit`` are turned into code points, in blocks of bounded size,
    so one over-long value costs nothing beyond its length.

    >>> text_problems(np.array(["C1", "C1" + chr(0), b"C1", "x" * 300, chr(0xD800), 7, None],
    ...                        dtype=object)).tolist()
    [0, 4, 1, 3, 2, 0, 0]
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    n = len(arr)
    reason = np.zeros(n, dtype=np.int8)
    if n == 0 or arr.dtype.kind in "iufb":
        return reason
    if arr.dtype.kind == "S":
        reason[:] = _NOT_TEXT
        return reason
    if arr.dtype != object:
        arr = arr.astype(object)
    kinds = _TYPE_OF(arr)
    is_str = np.zeros(n, dtype=bool)
    for kind in set(kinds.tolist()):  # a loop over the distinct types of the column, a handful
        mask = _of_type(kinds, kind)
        if issubclass(kind, str):
            is_str |= mask
        elif not _id_type(kind):
            reason[mask] = _NOT_TEXT
    at = np.flatnonzero(is_str)
    if not len(at):
        return reason
    lengths = _LEN(arr[at]).astype(np.int64)
    reason[at[lengths > limit]] = _TOO_LONG
    short = lengths <= limit
    at, lengths = at[short], lengths[short]
    if not len(at):
        return reason
    width = max(int(lengths.max()), 1)
    step = max(_BLOCK_CELLS // width, 1)
    for lo in range(0, len(at), step):  # a loop over blocks of rows, to bound the memory
        rows, size = at[lo : lo + step], lengths[lo : lo + step]
        text = arr[rows].astype(f"<U{width}")
        cp = text.view(np.uint32).reshape(len(rows), width)
        inside = np.arange(width) < size[:, None]  # a trailing NUL is inside the text
        control = (inside & ((cp < 32) | (cp == 127))).any(axis=1)
        surrogate = ((cp >= 0xD800) & (cp <= 0xDFFF)).any(axis=1)
        reason[rows[control]] = _CONTROL
        reason[rows[surrogate]] = _BAD_TEXT
    return reason


def text_message(reason: int, value: Any, limit: int = MAX_ID_LENGTH) -> str:
    """What a problem says about ``value``, refused by `text_problems` for ``reason``.

    >>> text_message(3, "x" * 300)
    'is too long: 300 characters, the limit is 256'
    """
    length = len(value) if isinstance(value, str | bytes) else 0
    return TEXT_MESSAGES[int(reason)].format(type=type(value).__name__, length=length, limit=limit)


def short_value(value: Any, limit: int = 64) -> Any:
    """A value as an error shows it: text cut to ``limit`` characters (saying how long it
    was), a whole number too big for a float summarised, another object (a dict, a list)
    as its repr, cut; None, numbers and short text unchanged.

    >>> short_value("x" * 1000, 8)
    'xxxxxxxx… (1000 characters)'
    >>> short_value(2**1100)
    '<a whole number of about 332 digits>'
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        head = value[:limit]
        head = head if isinstance(head, str) else repr(head)
        return f"{head}… ({len(value)} {'characters' if isinstance(value, str) else 'bytes'})"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<a whole number of about {int(value.bit_length() * 0.30103) + 1} digits>"
    if not isinstance(value, str | bytes | int | float | type(None)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "…"
    return value


def _drop_bad_text(
    logical: str,
    codes: np.ndarray,
    cats: np.ndarray,
    unreadable: Unreadable,
) -> tuple[np.ndarray, np.ndarray]:
    """Codes and categories without the categories that are no acceptable ids.

    The rows holding one get code -1 and are reported in ``unreadable`` with their values
    (checked once per distinct value, so a column of a million rows costs its categories).
    """
    cats = np.asarray(cats)
    if cats.dtype.kind in "iufbM" or not len(cats):
        return codes, cats
    bad = text_problems(cats) > 0
    if not bad.any():
        return codes, cats
    present = codes >= 0
    safe = np.where(present, codes, 0)
    hit = present & bad[safe]
    rows = np.flatnonzero(hit)
    _note(unreadable, logical, rows, np.asarray(cats, dtype=object)[codes[rows]])
    keep = ~bad
    renumber = np.cumsum(keep, dtype=np.int64) - 1
    codes = np.where(present & ~hit, renumber[safe], -1).astype(np.int64)
    return codes, cats[keep]


def _note(unreadable: Unreadable, logical: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Add ``rows`` (with their values as given) to the unreadable ones of a column."""
    if not len(rows):
        return
    if logical in unreadable:
        old_rows, old_values = unreadable[logical]
        rows = np.concatenate([old_rows, rows])
        values = np.concatenate([np.asarray(old_values, dtype=object), values])
        order = np.argsort(rows, kind="stable")
        rows, values = rows[order], values[order]
    unreadable[logical] = (rows.astype(np.int64), np.asarray(values, dtype=object))


def _unhashable(values: np.ndarray) -> npt.NDArray[np.bool_]:
    """Which values of an object array cannot be hashed (dicts, lists...), vectorised."""
    kinds = _TYPE_OF(values)
    mask = np.zeros(len(values), dtype=bool)
    for kind in set(kinds.tolist()):  # a loop over the distinct types, a handful
        if getattr(kind, "__hash__", None) is None:
            mask |= _of_type(kinds, kind)
    return mask


def _factorize(
    read: Any, logical: str, column: str, sort: bool | None, unreadable: Unreadable | None
) -> tuple[np.ndarray, np.ndarray]:
    """`factorize`, with values that cannot be ids (a dict, a list) reported, not raised.

    Scores get the library's error naming the column, the row and the value; ingest
    (``unreadable`` given) gets those rows as missing and reported.
    """
    try:
        return factorize(read, sort=sort)
    except TypeError:
        if not (isinstance(read, np.ndarray) and read.dtype == object):
            raise
        bad = _unhashable(read)
        if not bad.any():
            raise
        rows = np.flatnonzero(bad)
        if unreadable is None:
            value = read[rows[0]]
            raise ValidationError(
                [
                    Problem(
                        f"{column}[{int(rows[0])}]",
                        f"must be an id (text or a number), not {type(value).__name__}",
                        short_value(value),
                    )
                ]
            ) from None
        _note(unreadable, logical, rows, read[rows])
        read = read.copy()
        read[rows] = None
        return factorize(read, sort=sort)


def _checked_text(logical: str, values: Any, unreadable: Unreadable) -> Any:
    """A column of ids (not coded) with the values that are no acceptable ids set to None."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "OUS":
        return values
    reason = text_problems(values)
    rows = np.flatnonzero(reason)
    missing = _missing_markers(values)
    if not len(rows) and missing is None:
        return values
    out = values.astype(object)
    if missing is not None:  # pandas' NA and NaT: missing, as None is
        out[missing] = None
    _note(unreadable, logical, rows, out[rows])
    out[rows] = None
    return out


def _not_quantities(values: Any) -> npt.NDArray[np.bool_] | None:
    """Which values of an object column are booleans or bytes (None if none is).

    numpy reads ``True`` as 1 and ``b"5"`` as 5 (or a time): in a column of amounts or
    times among other values, those are mistakes, refused at ingest.
    """
    if not isinstance(values, np.ndarray) or values.dtype != object or not len(values):
        return None
    kinds = _TYPE_OF(values)
    odd = [k for k in set(kinds.tolist()) if issubclass(k, bool | np.bool_ | bytes | bytearray)]
    if not odd:
        return None
    mask = np.zeros(len(values), dtype=bool)
    for kind in odd:  # a loop over the distinct odd types, a handful
        mask |= _of_type(kinds, kind)
    return mask


def _without(values: np.ndarray, mask: npt.NDArray[np.bool_]) -> np.ndarray:
    """A copy of an object array with the values at ``mask`` missing (None)."""
    out = values.copy()
    out[mask] = None
    return out


def _missing_markers(values: np.ndarray) -> npt.NDArray[np.bool_] | None:
    """Which values are pandas' NA or NaT (None if none is); an object array only."""
    if values.dtype != object or not len(values):
        return None
    kinds = _TYPE_OF(values)
    found = [k for k in set(kinds.tolist()) if k.__name__ in ("NAType", "NaTType")]
    if not found:
        return None
    mask = np.zeros(len(values), dtype=bool)
    for kind in found:  # at most the two marker types
        mask |= _of_type(kinds, kind)
    return mask


def first_row(mask: npt.NDArray[np.bool_]) -> int | None:
    """The first position where ``mask`` is true (None if nowhere).

    >>> first_row(np.array([False, True, True]))
    1
    """
    rows = np.flatnonzero(mask)
    return int(rows[0]) if len(rows) else None


# --------------------------------------------------------------------------- which columns


def require_columns(
    available: Collection[str],
    names: Mapping[str, str | None],
    required: Collection[str] = (),
) -> None:
    """Raise unless every ``required`` logical name is given a column that ``available`` has.

    ``names`` maps logical names to column names (None: not given). One problem per
    missing column, listing the available ones.

    >>> require_columns(["a"], {"customer": "cust"}, ["customer"])
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - cust: no such column for 'customer' (available: 'a') (value: 'cust')
    """
    problems: list[Problem] = []
    shown = ", ".join(map(repr, available)) or "none"
    for logical in required:
        column = names.get(logical)
        if column is None:
            problems.append(
                Problem(
                    logical, "this score needs the column; name it with the keyword argument", None
                )
            )
        elif column not in available:
            problems.append(
                Problem(column, f"no such column for {logical!r} (available: {shown})", column)
            )
    if problems:
        raise ValidationError(problems)


def _check_lengths(out: Mapping[str, np.ndarray], names: Mapping[str, str | None]) -> None:
    lengths = {logical: len(v) for logical, v in out.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{names[k]!r} has {n}" for k, n in lengths.items())
        raise ValidationError(
            [Problem("data", f"columns differ in length: {shown}", sorted(set(lengths.values())))]
        )


# --------------------------------------------------------------------------- reading


def _collect(
    data: Any,
    names: Mapping[str, str | None],
    required: Collection[str],
    categorical: Collection[str],
    sort: bool | None,
    unreadable: Unreadable | None = None,
) -> tuple[Columns, Columns]:
    table = as_table(data)
    frame = is_frame(table)
    out: Columns = {}
    cats: Columns = {}
    given = {k: v for k, v in names.items() if v is not None and has_column(table, v)}
    missing = [k for k in names if k in required and k not in given]
    if missing:
        require_columns(column_names(table), names, missing)
    for logical, column in given.items():
        want_codes = logical in categorical
        kind = kind_of(logical)
        if unreadable is not None and kind != "any" and not want_codes:
            raw = table[column] if frame else raw_column(table, column)
            values = convert(raw, "any", column)
            parse = parse_times if kind == "time" else parse_numbers
            odd = _not_quantities(values)
            out[logical], bad = parse(values if odd is None else _without(values, odd), column)
            if odd is not None:
                bad = np.union1d(bad, np.flatnonzero(odd)).astype(np.int64)
            if len(bad):
                unreadable[logical] = (bad, np.asarray(values, dtype=object)[bad])
            continue
        if frame:
            if want_codes and column in table.categories:
                out[logical] = table.columns[column]
                cats[logical] = table.categories[column]
                if unreadable is not None:
                    out[logical], cats[logical] = _drop_bad_text(
                        logical, out[logical], cats[logical], unreadable
                    )
                continue
            read = convert(table[column], kind, column)
        else:
            read = convert(raw_column(table, column), kind, column, coded=want_codes)
        if want_codes:
            if isinstance(read, tuple):
                codes, distinct = read
            else:
                codes, distinct = _factorize(read, logical, column, sort, unreadable)
            if unreadable is not None:  # ingest: ids that are no acceptable text, per row
                codes, distinct = _drop_bad_text(logical, codes, distinct, unreadable)
            out[logical], cats[logical] = codes, distinct
        elif unreadable is not None and kind == "any":
            out[logical] = _checked_text(logical, read, unreadable)
        else:
            out[logical] = read
    _check_lengths(out, names)
    return out, cats


def read_columns(
    data: Any, names: Mapping[str, str | None], *, required: Collection[str] = ()
) -> Columns:
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
        `EventFrame` come back decoded (the original values). Time names (`TIME_NAMES`)
        are ``datetime64[us]`` naive UTC, float names (`FLOAT_NAMES`) float64.

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
    unreadable: Unreadable | None = None,
) -> tuple[Columns, Columns]:
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


# --------------------------------------------------------------------------- checks


def check_codes(codes: np.ndarray, column: str) -> None:
    """Raise if any row has no value (code -1) in a column that needs one.

    >>> check_codes(np.array([0, -1]), "customer")
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - customer[1]: is missing; every row needs one (value: None)
    """
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "is missing; every row needs one", None)]
        )


def check_times(times: np.ndarray, column: str) -> None:
    """Raise if a time is missing (NaT)."""
    if len(times) and np.isnat(times).any():
        row = int(np.flatnonzero(np.isnat(times))[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "is missing; every event needs a time", "NaT")]
        )


def check_nonnegative(values: np.ndarray, column: str) -> None:
    """Raise if a money or duration column holds a negative value (NaN is allowed)."""
    if len(values) and np.nanmin(values, initial=0.0) < 0:
        row = int(np.flatnonzero(values < 0)[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "must not be negative", float(values[row]))]
        )


def check_finite(values: np.ndarray, column: str, message: str = "must be a finite number") -> None:
    """Raise if a value is NaN or infinite (a column where nothing may be missing).

    >>> check_finite(np.array([1.0, np.inf]), "T")
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - T[1]: must be a finite number (value: inf)
    """
    row = first_row(~np.isfinite(values))
    if row is not None:
        raise ValidationError([Problem(f"{column}[{row}]", message, float(values[row]))])


def check_range(values: np.ndarray, low: float, high: float, column: str, what: str) -> None:
    """Raise if a (non-NaN) value is outside ``[low, high]``; ``what`` names the values.

    >>> check_range(np.array([3.0, 6.0]), 1, 5, "rating", "a rating")
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - rating[1]: a rating must be between 1 and 5 (value: 6.0)
    """
    with np.errstate(invalid="ignore"):
        row = first_row((values < low) | (values > high))
    if row is not None:
        raise ValidationError(
            [
                Problem(
                    f"{column}[{row}]",
                    f"{what} must be between {low:g} and {high:g}",
                    float(values[row]),
                )
            ]
        )


def as_float64(values: Any, where: str) -> npt.NDArray[np.float64]:
    """Values as float64, with an error naming ``where`` and a bad value otherwise.

    >>> as_float64([1, "x"], "summary['T']")
    Traceback (most recent call last):
    ...
    touchpoint.errors.ValidationError: 1 problem in the records:
      - summary['T']: expected numbers (value: 'x')
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        bad = next((v for v in _values(values) if not _is_number(v)), None)
        raise ValidationError([Problem(where, "expected numbers", bad)]) from None


def _values(values: Any) -> Sequence[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return v is not None
