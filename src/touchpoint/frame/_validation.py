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
  and times NaT for missing.

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
from typing import Any

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
]

#: Columns by logical name, as `read_columns` returns them.
Columns = dict[str, np.ndarray]
#: ``(positions, values as given)`` of the unreadable values of each column (`read_coded`).
Unreadable = dict[str, tuple[np.ndarray, np.ndarray]]


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
            out[logical], bad = parse(values, column)
            if len(bad):
                unreadable[logical] = (bad, np.asarray(values, dtype=object)[bad])
            continue
        if frame:
            if want_codes and column in table.categories:
                out[logical] = table.columns[column]
                cats[logical] = table.categories[column]
                continue
            read = convert(table[column], kind, column)
        else:
            read = convert(raw_column(table, column), kind, column, coded=want_codes)
        if want_codes:
            if isinstance(read, tuple):
                out[logical], cats[logical] = read
            else:
                out[logical], cats[logical] = factorize(read, sort=sort)
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
