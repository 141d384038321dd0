"""Validating interactions from host applications: column-wise with numpy, errors per failing row.

`validate_columns` takes a batch as columns (a pandas or polars DataFrame, an Arrow table
or a dict of arrays), checks every value with vectorised numpy (distinct values of
categorical columns are checked once each), and returns the valid rows as a storage
`Batch` plus one `Rejection` per invalid row naming the row, the field and the value.
Only failing rows are rendered as Python objects. `validate_records` does the same for
a list of dicts or `touchpoint.Interaction` objects.

Rules (those of `touchpoint.Interaction`): ``event_id`` and ``touchpoint`` are codes
(letters, digits, ``-``, ``_``, ``.``, ``/``; no spaces), ``customer`` a non-empty id,
``time`` a time (ISO text, datetimes or dates; naive is UTC), ``direction``
``inbound`` (default) or ``outbound``, ``amount`` and ``response_time`` finite and >= 0
when given, ``rating`` finite when given. With a blueprint, the touchpoint must be one of
its codes, the channel one it knows, and a rating within the rating scale of the
touchpoint's indicators (see `touchpoint.model.rating_range`; touchpoints that state no scale take any
finite rating). Every id (the event id, the customer, the touchpoint, the channel...) is
text (or a number, read as its text) of at most `touchpoint.frame.MAX_ID_LENGTH` (256)
characters, without control characters or lone surrogates; anything else (bytes, a
dict, ``"C1\\x00"``, 20,000 characters) is its row's problem, found before any
fixed-width string array is built (see "Bad input at ingest" in docs/operations.md).

A value that cannot be read as its field's type (a time of ``"not a date"``, an amount
of ``"lots"``) is that row's problem, as a bad value is: the row is rejected naming the
field and the value as given, and the other rows are checked as usual. A batch without
one of the `REQUIRED` columns is refused as a whole with a `ValidationError` naming each
missing column and listing the ones it has.

Examples
--------
>>> import numpy as np
>>> batch, rejected = validate_columns({
...     "event_id": ["e1", "e 2", "e3"], "customer": ["C1", "C2", "C3"],
...     "touchpoint": ["T1", "T1", "T1"], "time": ["2026-01-01", "2026-01-02", "2026-01-03"],
...     "amount": [10.0, 5.0, -1.0]})
>>> len(batch), [str(p) for r in rejected for p in r.problems]
(1, ["records[1].event_id: must be a code of letters, digits, '-', '_', '.' or '/' (no spaces) (value: 'e 2')", 'records[2].amount: must be a finite number >= 0 (value: -1.0)'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import attrs
import numpy as np

from touchpoint._privacy import mask_value
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import MAX_ID_LENGTH, STANDARD, short_value, text_message, text_problems
from touchpoint.model import rating_range
from touchpoint.storage.base import CATEGORICAL, DIRECTIONS, FLOATS, Batch, Rejection

__all__ = [
    "FIELDS",
    "REQUIRED",
    "rating_scales",
    "validate_columns",
    "validate_records",
]

#: The interaction fields a batch may carry: the standard event columns.
FIELDS = STANDARD
#: Fields every interaction must have.
REQUIRED = ("event_id", "customer", "touchpoint", "time")

_EPOCH = np.datetime64(0, "us")
_NONE = np.array(None, dtype=object)  # compared with element-wise, as None
_FLOAT_MAX = int(np.finfo(np.float64).max)
_CODE_MSG = "must be a code of letters, digits, '-', '_', '.' or '/' (no spaces)"
_ALNUM = np.zeros(128, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
    _ALNUM[ord(_c)] = True
_CODE_CHARS = _ALNUM.copy()
for _c in "-_./":
    _CODE_CHARS[ord(_c)] = True


def _as_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values as a ``<U`` array ('' for missing: None or NaN) and the missing mask."""
    if values.dtype.kind == "U":
        return values, np.zeros(len(values), dtype=bool)
    if values.dtype != object:
        return values.astype(str), np.zeros(len(values), dtype=bool)
    # element-wise in C: None == None, and NaN is the one value unequal to itself
    null = np.asarray(np.equal(values, _NONE), dtype=np.bool_) | np.asarray(
        np.not_equal(values, values), dtype=np.bool_
    )
    if not len(values):
        return np.zeros(0, dtype="<U1"), null
    text = (np.where(null, "", values) if null.any() else values).astype(str)
    return text, null


def bad_codes(values: np.ndarray) -> np.ndarray:
    """Which values are not codes (vectorised over the characters).

    >>> bad_codes(np.array(["A102", "a b", "", "x/y.z", "-x", "é", None], dtype=object)).tolist()
    [False, True, True, False, True, True, True]
    """
    return _code_check(np.asarray(values, dtype=object))[0]


def _code_check(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bad mask, values as text) for an object array."""
    text, null = _as_text(values)
    n = len(text)
    if n == 0:
        return np.zeros(0, dtype=bool), text
    width = max(text.dtype.itemsize // 4, 1)
    cp = (
        np.ascontiguousarray(text).view(np.uint32).reshape(n, width)
        if text.dtype.itemsize
        else np.zeros((n, 1), np.uint32)
    )
    ascii_ok = cp < 128
    clipped = np.where(ascii_ok, cp, 0)
    chars_ok = ((cp == 0) | (ascii_ok & _CODE_CHARS[clipped])).all(axis=1)
    first_ok = _ALNUM[clipped[:, 0]] & ascii_ok[:, 0]
    return null | ~(chars_ok & first_ok), text


@attrs.define
class _Checks:
    """Per-row problems, found column by column."""

    n: int
    problems: dict[int, list[Problem]] = attrs.field(factory=dict)

    def flag(self, mask: np.ndarray, field: str, message: str, values: Any) -> None:
        for i in np.flatnonzero(mask):  # only the offending rows, rendered for the report
            value = values[i] if values is not None else None
            self.problems.setdefault(int(i), []).append(
                Problem(f"records[{i}].{field}", message, _shown(field, value))
            )

    def flag_values(
        self, rows: np.ndarray, field: str, message: str | Sequence[str], values: Any
    ) -> None:
        """Flag ``rows`` (positions) whose values, as given, are ``values``.

        ``message`` is one for all, or one per row.
        """
        messages = [message] * len(rows) if isinstance(message, str) else message
        for i, value, said in zip(rows.tolist(), values, messages, strict=True):
            self.problems.setdefault(int(i), []).append(
                Problem(f"records[{i}].{field}", said, _shown(field, value))
            )

    @property
    def bad(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[list(self.problems)] = True
        return mask


def _shown(field: str, value: Any) -> Any:
    """A value as a problem shows it: a plain Python value, masked if personal, cut if long."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.datetime64 | dt.datetime):
        value = str(value)
    return mask_value(field, short_value(value))


def _storable(value: Any) -> Any:
    """A value as quarantine keeps it: text with a lone surrogate escaped (``\\ud800``),
    which no UTF-8 store (SQLite's TEXT, JSON files) can hold; bytes as their repr."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value))
    return value


def _names(data: Any, names: Mapping[str, str] | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """Field -> column to read, and the fields that must be there.

    The `REQUIRED` fields are always asked for (a batch without one of them is refused
    as a whole, naming each missing column), and so is every field ``names`` maps.
    """
    from touchpoint.frame import column_names

    unknown = set(names or {}) - set(FIELDS)
    if unknown:
        raise ValidationError(
            [
                Problem(
                    "names",
                    f"unknown interaction field(s); fields are {', '.join(FIELDS)}",
                    sorted(unknown),
                )
            ]
        )
    present = set(column_names(data))
    out = {f: f for f in FIELDS if f in present or f in REQUIRED}
    out.update(names or {})
    return out, (*REQUIRED, *(f for f in names or {} if f not in REQUIRED))


def validate_columns(
    data: Any, *, names: Mapping[str, str] | None = None, blueprint: Any = None
) -> tuple[Batch, list[Rejection]]:
    """Check a batch given as columns; return the valid rows and the rejected ones.

    Parameters
    ----------
    data:
        A pandas or polars DataFrame, an Arrow table or a dict of arrays, with the
        `FIELDS` as columns (``names`` maps a field to another column name).
    blueprint:
        If given, touchpoints must be in it and channels known to it.

    Raises
    ------
    touchpoint.errors.ValidationError
        For problems of the whole batch: a required column missing (each one named, with
        the columns the batch has), a column ``names`` maps that is not there, columns of
        different lengths, a time column of numbers.
    """
    return _validate(data, names, blueprint, fast=True)


def _flag_categories(
    checks: _Checks, name: str, c: np.ndarray, values: np.ndarray, bad: np.ndarray, message: str
) -> None:
    """Flag the rows of column ``name`` (codes ``c``) whose category is ``bad``.

    The categories are checked first; the rows are looked at only when one is bad
    (the usual clean batch costs no pass over its rows).
    """
    if not bad.any():
        return
    safe = np.where(c >= 0, c, 0)  # a row's category, any for a missing value
    checks.flag((c >= 0) & bad[safe], name, message, values[safe])


def _validate(
    data: Any, names: Mapping[str, str] | None, blueprint: Any, *, fast: bool
) -> tuple[Batch, list[Rejection]]:
    """`validate_columns`; ``fast``: try `_clean_event_ids` and `_clean_directions` first."""
    from touchpoint.frame import read_coded

    data = _used_categories_only(data)
    columns, required = _names(data, names)
    unreadable: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # columns that pass their checks as a whole are read once here, and not again below:
    # event ids that are all clean codes (kept as bytes), directions all spelled right
    early: dict[str, np.ndarray] = {}
    early_cats: dict[str, np.ndarray] = {}
    clean_ids = None
    if fast:
        clean = _clean_event_ids(data, columns)
        if clean is not None:
            early["event_id"], clean_ids = clean
        if "direction" in columns:
            direction = _clean_directions(data, columns)
            if direction is not None:
                early["direction"] = direction
                early_cats["direction"] = DIRECTIONS
    cols, cats = read_coded(
        data,
        {k: v for k, v in columns.items() if k not in early},
        required=[r for r in required if r not in early],
        categorical=(*CATEGORICAL, "direction"),
        sort=False,
        unreadable=unreadable,
    )
    if early:
        if len({len(v) for v in (*early.values(), *cols.values())}) > 1:
            # columns of different lengths: read all of them again for the batch's error
            return _validate(data, names, blueprint, fast=False)
        cols = {k: early[k] if k in early else cols[k] for k in columns if k in early or k in cols}
        cats = {**cats, **early_cats}
    n = len(cols["event_id"])
    checks = _Checks(n)
    # values that could not be read as their type: that row's problem, not the batch's
    given: dict[str, dict[int, Any]] = {}
    skip: dict[str, np.ndarray] = {}  # rows whose value is reported already, per field
    for name, (rows, values) in unreadable.items():
        checks.flag_values(rows, name, _unreadable_messages(name, values), values)
        given[name] = dict(zip(rows.tolist(), values.tolist(), strict=True))
        skip[name] = np.zeros(n, dtype=bool)
        skip[name][rows] = True
    none = np.zeros(n, dtype=bool)

    if clean_ids is None:
        event_id = np.asarray(cols["event_id"], dtype=object)
        bad_id, id_text = _code_check(event_id)
        checks.flag(bad_id & ~skip.get("event_id", none), "event_id", _CODE_MSG, event_id)

    categories: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    for name in CATEGORICAL:
        if name not in cols:
            codes[name] = np.full(n, -1, dtype=np.int64)
            categories[name] = np.empty(0, dtype=object)
            continue
        c, values = cols[name], np.asarray(cats[name], dtype=object)
        text, null = _as_text(values)
        if name in ("touchpoint", "channel"):
            bad_value = bad_codes(values)
            message = _CODE_MSG
        else:
            bad_value = null | (np.char.str_len(np.char.strip(text)) == 0) if len(text) else null
            message = "must be a non-empty id"
        if name in ("customer", "touchpoint"):
            checks.flag((c < 0) & ~skip.get(name, none), name, "is required", None)
        if blueprint is not None and name in ("touchpoint", "channel") and len(values):
            known = (
                {tp.code for tp in blueprint} if name == "touchpoint" else blueprint.channel_names
            )
            unknown = ~np.isin(text, np.array(sorted(known), dtype=str)) & ~bad_value
            message_unknown = f"is not a {name} of blueprint {blueprint.name!r}"
            _flag_categories(checks, name, c, values, unknown, message_unknown)
        if len(values):
            _flag_categories(checks, name, c, values, bad_value, message)
        codes[name] = c
        categories[name] = np.array(text, dtype=object)

    time = cols["time"]
    missing_time = np.isnat(time)
    if "time" in unreadable:
        missing_time[unreadable["time"][0]] = False
    checks.flag(missing_time, "time", "is required", None)

    if "direction" in cols:
        d, dvals = cols["direction"], np.asarray(cats["direction"], dtype=object)
        dtext, _ = _as_text(dvals)
        ok = np.isin(dtext, ["inbound", "outbound"])
        safe = np.where(d >= 0, d, 0)
        checks.flag(
            (d >= 0) & ~ok[safe] if len(dvals) else np.zeros(n, bool),
            "direction",
            "must be 'inbound' or 'outbound'",
            dvals[safe] if len(dvals) else None,
        )
        direction = (
            (d >= 0) & (dtext[safe] == "outbound") if len(dvals) else np.zeros(n, bool)
        ).astype(np.int8)
    else:
        direction = np.zeros(n, dtype=np.int8)

    floats: dict[str, np.ndarray] = {}
    for name in FLOATS:
        v = cols.get(name)
        if v is None:
            floats[name] = np.full(n, np.nan)
            continue
        v = np.asarray(v, dtype=np.float64)
        present = ~np.isnan(v)
        if name == "rating":
            checks.flag(present & ~np.isfinite(v), name, "must be a finite number", v)
            if blueprint is not None and n:
                _check_scales(checks, v, codes["touchpoint"], categories["touchpoint"], blueprint)
        else:
            checks.flag(
                present & ~(np.isfinite(v) & (v >= 0)), name, "must be a finite number >= 0", v
            )
        floats[name] = v

    bad = checks.bad
    good = np.flatnonzero(~bad)
    every = len(good) == n  # the usual case: no gather by the good rows

    def kept(column: np.ndarray, *, made_here: bool = False) -> np.ndarray:
        """The good rows of ``column``, in an array of the batch's own: a column read
        as given may be the caller's array (floats) or a frame's codes, and is copied."""
        if not every:
            return column[good]
        return column if made_here else column.copy()

    us = np.where(np.isnat(time), _EPOCH, time).astype("datetime64[us]")
    batch = Batch(
        (
            kept(clean_ids, made_here=True)
            if clean_ids is not None
            else kept(id_text, made_here=True).astype("S")  # codes are ASCII
            if n
            else np.empty(0, dtype="S1")
        ),
        {k: kept(v) for k, v in codes.items()},
        categories,
        kept((us - _EPOCH).astype(np.int64), made_here=True),
        kept(direction, made_here=True),
        {k: kept(v) for k, v in floats.items()},
        good.astype(np.int64),
    )
    rejections = [
        _rejection(i, checks.problems[i], _raw_record(i, cols, cats, given))
        for i in sorted(checks.problems)
    ]
    return batch, rejections


_CODE_BYTES = bytes(c for c in range(128) if _CODE_CHARS[c])
_FIRST_BYTE_OK = np.zeros(256, dtype=bool)
_FIRST_BYTE_OK[:128] = _ALNUM


def _used_categories_only(data: Any) -> Any:
    """An `EventFrame` whose categories hold only the values its rows use; other data as is.

    A slice of a large frame keeps the whole frame's categories (a million customers for
    a batch that names a few hundred thousand of them): checking and storing only the
    used ones gives the same rows, codes mapped to the same values and the same problems,
    for a fraction of the work. Found with `numpy.bincount` over the codes.

    >>> from touchpoint.frame import EventFrame
    >>> f = EventFrame({"customer": np.array([2, 2, -1]), "time": np.zeros(3, "M8[us]")},
    ...                {"customer": np.array(["a", "b", "c"], dtype=object)})
    >>> _used_categories_only(f)["customer"].tolist()
    ['c', 'c', None]
    """
    from touchpoint.frame import EventFrame

    if not isinstance(data, EventFrame) or not len(data):
        return data
    columns, categories = dict(data.columns), dict(data.categories)
    for name, values in data.categories.items():
        codes = columns[name]
        used = np.bincount(codes[codes >= 0], minlength=len(values)) > 0
        if used.all():
            continue
        keep = np.flatnonzero(used)
        lut = np.full(len(values) + 1, -1, dtype=np.int64)  # code -1 reads the last slot
        lut[keep] = np.arange(len(keep))
        columns[name], categories[name] = lut[codes], values[keep]
    return EventFrame(columns, categories)


def _clean_directions(data: Any, columns: Mapping[str, str]) -> np.ndarray | None:
    """The direction column as codes into `DIRECTIONS` if every value is one of them.

    Two comparisons in C instead of factorising the column; anything else (a missing
    value, a misspelling, a column that cannot be read) returns None and the column takes
    the general checks.
    """
    from touchpoint.frame import read_columns

    try:
        values = read_columns(data, {"direction": columns["direction"]})["direction"]
        if not isinstance(values, np.ndarray) or values.dtype != object:
            return None
        outbound = np.asarray(np.equal(values, "outbound"), dtype=bool)
        if not (outbound | np.asarray(np.equal(values, "inbound"), dtype=bool)).all():
            return None
    except Exception:  # the general checks report it, as before
        return None
    return outbound.astype(np.int64)


def _clean_event_ids(data: Any, columns: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The event ids as read and as fixed-width bytes if every one is a valid code, else None.

    The fast path of the event-id checks: a column of text only (``str``), all ASCII,
    without NUL (numpy's bytes would drop a trailing one), each at most `MAX_ID_LENGTH`
    characters, starting with a letter or digit and made of code characters only. Such a
    column has no problem for `text_problems` nor for the code check: every row is good
    and the bytes are what the storage keeps. The checks run on the ids joined into one
    text (``str.join`` refuses anything that is not text; ``bytes.translate`` deletes the
    code characters, and what is left is not one), with no Python work per id. A column
    of non-negative integers (numpy's ``int``/``uint``) is clean too: its text is digits.
    Anything else (None, a number among text, a negative integer, a space, non-ASCII
    text, a column that is not there or not readable) returns None and the column takes
    the general checks, which name each bad value as before.
    """
    from touchpoint.frame import read_columns

    try:
        ids = read_columns(data, {"event_id": columns["event_id"]})["event_id"]
    except Exception:  # the general checks report it, as before
        return None
    if not isinstance(ids, np.ndarray) or not len(ids):
        return None
    if ids.dtype.kind in "iu":  # integers: their text is digits, a code unless negative
        if ids.dtype.kind == "i" and ids.min() < 0:
            return None
        return ids, ids.astype("S")
    if ids.dtype != object:
        return None
    listed = ids.tolist()
    try:
        joined = "".join(listed)
    except TypeError:  # a value that is not text
        return None
    if max(map(len, listed)) > MAX_ID_LENGTH:  # before any fixed-width array is built
        return None
    if not joined.isascii() or "\x00" in joined:
        return None
    if joined.encode("ascii").translate(None, _CODE_BYTES):
        return None  # a character that is not a code character
    raw = ids.astype("S")
    width = raw.dtype.itemsize
    if not _FIRST_BYTE_OK[raw.view(np.uint8)[::width]].all():
        return None  # empty, or not starting with a letter or digit
    return ids, raw


def _unreadable_messages(name: str, values: np.ndarray) -> list[str]:
    """What the problem says about each value of ``name`` that could not be read."""
    if name == "time":
        return ["must be a time"] * len(values)
    if name in FLOATS:
        return [
            "must be a finite number (too large for a float)"
            if isinstance(v, int) and not isinstance(v, bool)
            else "must be a number"
            for v in values.tolist()  # only the unreadable values
        ]
    reasons = text_problems(values)
    return [
        text_message(r, v, MAX_ID_LENGTH) if r else "must be an id (text or a number)"
        for r, v in zip(reasons.tolist(), values.tolist(), strict=True)
    ]


def rating_scales(blueprint: Any) -> dict[str, tuple[float, float]]:
    """Touchpoint code -> (lowest, highest) rating it accepts, from its rating indicators.

    A touchpoint with several rating indicators accepts ratings on any of their scales
    (from the lowest bottom to the highest top); a touchpoint whose indicators state no
    rating scale is not in the result (its ratings are only checked to be finite).
    """
    out: dict[str, tuple[float, float]] = {}
    for tp in blueprint:  # a loop over the blueprint's touchpoints (hundreds at most)
        ranges = [
            rating_range(ind.scale)
            for ind in tp.indicators
            if ind.kind == "rating" and ind.scale is not None
        ]
        if ranges:
            out[tp.code] = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    return out


def _check_scales(
    checks: _Checks,
    rating: np.ndarray,
    tp_codes: np.ndarray,
    tp_values: np.ndarray,
    blueprint: Any,
) -> None:
    """Flag ratings outside the rating scale of their touchpoint (vectorised per touchpoint)."""
    scales = rating_scales(blueprint)
    if not scales or not len(tp_values):
        return
    # per distinct touchpoint of the batch, its scale (no bounds when it states none)
    lo = np.array([scales.get(str(v), (-np.inf, np.inf))[0] for v in tp_values])
    hi = np.array([scales.get(str(v), (-np.inf, np.inf))[1] for v in tp_values])
    known = tp_codes >= 0
    at = np.where(known, tp_codes, 0)
    with np.errstate(invalid="ignore"):
        outside = known & np.isfinite(rating) & ((rating < lo[at]) | (rating > hi[at]))
    for i in np.flatnonzero(outside):  # only the offending rows, rendered for the report
        code = tp_values[at[i]]
        checks.problems.setdefault(int(i), []).append(
            Problem(
                f"records[{i}].rating",
                f"must be between {lo[at[i]]:g} and {hi[at[i]]:g}, the rating scale of "
                f"touchpoint {code!r}",
                float(rating[i]),
            )
        )


def _rejection(row: int, problems: Iterable[Problem], record: Mapping[str, Any]) -> Rejection:
    """A rejected row, its problems and its values as given (for quarantine)."""
    # Rejection converts ``problems`` with ``tuple``, a converter type checkers cannot
    # follow, and keeps the record as given
    return Rejection(row, cast(Any, tuple(problems)), cast(Any, record))


def _raw_record(
    i: int,
    cols: Mapping[str, np.ndarray],
    cats: Mapping[str, np.ndarray],
    given: Mapping[str, Mapping[int, Any]],
) -> dict[str, Any]:
    """Row ``i`` as given (decoded), for quarantine."""
    out: dict[str, Any] = {}
    for name, values in cols.items():
        if name in cats:
            code = int(values[i])
            value = None if code < 0 else cats[name][code]
        else:
            value = values[i]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and value != value:
            value = None
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        out[name] = value
    if isinstance(cols.get("time"), np.ndarray) and cols["time"].dtype.kind == "M":
        t = cols["time"][i]
        out["time"] = None if np.isnat(t) else str(t) + "Z"
    for name, as_given in given.items():  # the value that could not be read, as given
        if i in as_given:
            value = as_given[i]
            out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return {k: _storable(v) for k, v in out.items()}


def validate_records(
    records: Iterable[Mapping[str, Any] | Any], *, blueprint: Any = None
) -> tuple[Batch, list[Rejection]]:
    """Check interactions given one by one (dicts or `touchpoint.Interaction` objects).

    The records are turned into columns (one pass over the records), then checked like
    `validate_columns`. A record with a field that is not an interaction field is rejected.

    >>> batch, rejected = validate_records([
    ...     {"event_id": "e1", "customer": "C1", "touchpoint": "T1", "time": "2026-01-01"},
    ...     {"event_id": "e2", "customer": "C1", "touchpoint": "T1", "time": "2026-01-01", "colour": "red"}])
    >>> len(batch), str(rejected[0].problems[0])
    (1, "records[1].colour: is not an interaction field (value: 'red')")
    """
    rows = [_as_mapping(r) for r in records]
    extra: dict[int, list[Problem]] = {}
    allowed = frozenset(FIELDS)
    # a field that is not an interaction field: set operations in C find the rows
    for i in [i for i, row in enumerate(rows) if not allowed.issuperset(row)]:
        row = rows[i]
        for key in row:
            if key not in allowed:
                extra.setdefault(i, []).append(
                    Problem(
                        f"records[{i}].{key}",
                        "is not an interaction field",
                        mask_value(key, row[key]),
                    )
                )
    data: dict[str, np.ndarray] = {}
    for f in FIELDS:  # a loop over the interaction fields (fourteen), each a column
        values = [row.get(f) for row in rows]
        if f not in REQUIRED and values.count(None) == len(values):
            continue
        if f in FLOATS:
            floats, kept = _record_floats(f, values, extra)
            if kept or f in REQUIRED:  # not a column of refused values only
                data[f] = floats
        else:  # each value as given, even a list (numpy would make a 2-d array)
            data[f] = np.fromiter(values, dtype=object, count=len(values))
    batch, rejections = validate_columns(data, blueprint=blueprint)
    if extra:
        by_row = {r.row: r for r in rejections}
        for i, problems in extra.items():
            old = by_row.get(i)
            by_row[i] = _rejection(i, [*problems, *(old.problems if old else ())], rows[i])
        keep = ~np.isin(batch.row, list(extra))
        batch = batch.take(keep)
        rejections = [by_row[i] for i in sorted(by_row)]
    return batch, rejections


def _record_floats(
    field: str, values: list[Any], extra: dict[int, list[Problem]]
) -> tuple[np.ndarray, bool]:
    """A float field of records as float64 (NaN for None), and whether a value was kept.

    A value that is no number is its row's problem (in ``extra``) and missing.
    """
    if set(map(type, values)) <= {float, type(None)}:  # the usual case: numpy converts
        return np.array(values, dtype=np.float64), values.count(None) < len(values)
    out = np.full(len(values), np.nan)
    kept = False
    for i, value in enumerate(values):  # a column with other types: value by value
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            extra.setdefault(i, []).append(
                Problem(f"records[{i}].{field}", "must be a number", _shown(field, value))
            )
        elif isinstance(value, int) and abs(value) > _FLOAT_MAX:
            extra.setdefault(i, []).append(
                Problem(
                    f"records[{i}].{field}",
                    "must be a finite number (too large for a float)",
                    _shown(field, value),
                )
            )
        else:
            out[i] = float(value)
            kept = True
    return out, kept


def _as_mapping(record: Any) -> Mapping[str, Any]:
    if isinstance(record, Mapping):
        return record
    if attrs.has(type(record)):
        out = attrs.asdict(record, recurse=False)
        direction = out.get("direction")
        out["direction"] = getattr(direction, "value", direction)
        return out
    raise ValidationError(
        [
            Problem(
                "records",
                "each record must be a dict or a touchpoint.Interaction",
                type(record).__name__,
            )
        ]
    )
