"""Customer journeys: each customer's touches in order, one journey each or cut at conversions.

A `Journeys` value holds all journeys as flat columns (the touches of journey ``j`` are
``units[codes[starts[j]:starts[j + 1]]]``), built from an event frame without a Python
loop per customer or journey: one sort by (customer, step) (see `group_by_customer`),
then boundaries found with vectorised comparisons.

The step column (``time=``) orders each customer's touches. Any orderable column will
do: times (``datetime64``, datetimes, and text that reads as ISO times, which stays
times), or numbers (a step or sequence number, integer or float). Touches at the same
step keep the order they have in the input.

Examples
--------
>>> data = {"customer": [1, 1, 1, 2, 2],
...         "time": ["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-01", "2024-01-05"],
...         "touchpoint": ["ad", "store", "email", "ad", "ad"],
...         "converted": [False, True, False, False, False]}
>>> j = journeys(data, until="customer")
>>> j.paths()
[('ad', 'email', 'store'), ('ad', 'ad')]
>>> j.converted.tolist()
[True, False]
>>> journeys({"customer": [1, 1, 1], "time": [3, 1, 2], "touchpoint": ["store", "ad", "email"],
...           "converted": [True, False, False]}, until="customer").paths()
[('ad', 'email', 'store')]
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import factorize, parse_numbers, parse_times, read_coded

__all__ = ["Journeys", "group_by_customer", "journeys", "order_key", "steps"]

_US = np.dtype("datetime64[us]")
_SIGNLESS = np.int64(0x7FFF_FFFF_FFFF_FFFF)


@attrs.frozen(eq=False)
class Journeys:
    """Journeys as flat columns.

    Attributes
    ----------
    units:
        The distinct touchpoints (or channels, stages, lines), in code order.
    codes:
        Code of each touch into ``units``, journeys one after the other, each in time order.
    times:
        Step of each touch, aligned with ``codes``: its time (``datetime64[us]``) or its
        number (int64 or float64) when the journeys were ordered by a numeric step
        column; None when built with ``with_times=False``.
    starts:
        Offsets of the journeys into ``codes``: ``len(starts) == n_journeys + 1``.
    converted:
        Whether each journey ended in a conversion.
    customers:
        The customer id of each journey.
    """

    units: np.ndarray
    codes: np.ndarray
    times: np.ndarray | None
    starts: np.ndarray
    converted: np.ndarray
    customers: np.ndarray

    @property
    def n_journeys(self) -> int:
        return len(self.starts) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def journey_of_touch(self) -> np.ndarray:
        """The journey index of each touch."""
        return np.repeat(np.arange(self.n_journeys), self.lengths)

    def first_touch(self) -> np.ndarray:
        """Index of each journey's first touch."""
        return self.starts[:-1]

    def last_touch(self) -> np.ndarray:
        """Index of each journey's last touch."""
        return self.starts[1:] - 1

    def paths(self, limit: int | None = None) -> list[tuple[Any, ...]]:
        """Journeys as tuples of units (a Python loop: for display and tests, not hot paths)."""
        n = self.n_journeys if limit is None else min(limit, self.n_journeys)
        labels = self.units[self.codes[: self.starts[n]]].tolist()
        return [tuple(labels[self.starts[j] : self.starts[j + 1]]) for j in range(n)]

    def aggregate(self) -> tuple[list[tuple[Any, ...]], np.ndarray, np.ndarray]:
        """Distinct paths with their numbers of conversions and of non-conversions.

        The grouping is vectorised; only the distinct paths are turned into tuples.
        """
        lengths = self.lengths
        width = int(lengths.max()) if len(lengths) else 0
        grid = np.full((self.n_journeys, width), -1, dtype=np.int64)
        col = np.arange(len(self.codes)) - np.repeat(self.starts[:-1], lengths)
        grid[self.journey_of_touch, col] = self.codes
        uniq, inverse = np.unique(grid, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        conv = np.bincount(inverse, weights=self.converted, minlength=len(uniq))
        total = np.bincount(inverse, minlength=len(uniq))
        labels = self.units.tolist()
        paths = [tuple(labels[c] for c in row if c >= 0) for row in uniq.tolist()]
        return paths, conv.astype(np.int64), (total - conv).astype(np.int64)


def _bits(top: int) -> int:
    return max(int(top).bit_length(), 1)


def steps(values: np.ndarray, column: str) -> np.ndarray:
    """A step column as an orderable array: ``datetime64[us]``, int64 or float64.

    Times stay times (text is read as ISO times); integers and floats are steps as they
    are; a column of Python numbers (with None for missing) is read as numbers.

    >>> steps(np.array([3, 1]), "step").dtype, steps(np.array(["2024-01-02"]), "t").dtype
    (dtype('int64'), dtype('<M8[us]'))
    """
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "M":
        return arr.astype(_US, copy=False)
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if len(arr) and int(arr.max()) > np.iinfo(np.int64).max:
            raise ValidationError(
                [Problem(f"data[{column!r}]", "steps must fit in int64", int(arr.max()))]
            )
        return arr.astype(np.int64)
    if kind == "f":
        return arr.astype(np.float64, copy=False)
    if kind in "USTO":
        times, bad = parse_times(arr, column)
        if len(bad) and kind == "O":
            numbers, not_numbers = parse_numbers(arr, column)
            if not len(not_numbers):
                return numbers  # Python numbers (None for missing): numeric steps
        if len(bad):
            row = int(bad[0])
            raise ValidationError(
                [
                    Problem(
                        f"data[{column!r}][{row}]",
                        "a step must be a time (datetime, ISO text) or a number",
                        arr[row].item() if isinstance(arr[row], np.generic) else arr[row],
                    )
                ]
            )
        return times
    raise ValidationError(
        [
            Problem(
                f"data[{column!r}]",
                "the step column must hold times or numbers (int or float)",
                str(arr.dtype),
            )
        ]
    )


def order_key(t: np.ndarray) -> np.ndarray:
    """An int64 key that sorts like the steps ``t`` (datetime64, int64 or float64).

    Times and integers are their own key; a float's bits are flipped so that the
    integer order is the float order (negative numbers included; -0.0 equals 0.0).

    >>> order_key(np.array([-2.5, -0.0, 0.0, 1e-300, -1e300])).argsort(kind="stable").tolist()
    [4, 0, 1, 2, 3]
    """
    if t.dtype.kind == "f":
        bits = (t + 0.0).view(np.int64)  # + 0.0 turns -0.0 into 0.0
        return np.where(bits < 0, bits ^ _SIGNLESS, bits)
    return t.view(np.int64)


def group_by_customer(
    cust: np.ndarray, unit: np.ndarray, conv: np.ndarray, t: np.ndarray, *, with_times: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The touches sorted by (customer, step), stable for equal steps.

    ``t`` holds the steps (see `steps`). Touches already in step order (as events are
    logged) are sorted by one ``np.sort`` of packed 64-bit keys
    ``customer | row | unit | converted`` (unique, so an unstable sort keeps step order
    and the columns come back by unpacking, without gathers); other inputs are first
    put in step order with a stable argsort.
    """
    n = len(cust)
    tv = order_key(t)
    if n < 2:
        return cust, unit, conv, t if with_times else None
    same = cust[1:] == cust[:-1]
    if np.all(cust[1:] >= cust[:-1]) and np.all(tv[1:][same] >= tv[:-1][same]):
        return cust, unit, conv, t if with_times else None
    if not np.all(tv[1:] >= tv[:-1]):
        first = np.argsort(tv, kind="stable")
        cust, unit, conv, t = cust[first], unit[first], conv[first], t[first]
    cb, ib, ub = _bits(cust.max()), _bits(n - 1), _bits(unit.max())
    if cb + ib + ub + 1 <= 63:
        key = cust.astype(np.int64) << (ib + ub + 1)
        key |= np.arange(n, dtype=np.int64) << (ub + 1)
        key |= unit.astype(np.int64) << 1
        key |= conv
        key.sort()
        out_unit = (key >> 1) & ((1 << ub) - 1)
        out_conv = (key & 1).astype(bool)
        rows = (key >> (ub + 1)) & ((1 << ib) - 1) if with_times else None
        out_cust = key >> (ib + ub + 1)
    else:  # pragma: no cover - more than 2^(63 - rows - units) customers
        rows = np.argsort(cust, kind="stable")
        out_cust, out_unit, out_conv = cust[rows], unit[rows], conv[rows]
    return out_cust, out_unit, out_conv, t[rows] if with_times else None


def journeys(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    touchpoint: str = "touchpoint",
    converted: str | None = "converted",
    until: str | None = None,
    window: Any = None,
    unit_map: dict[Any, Any] | None = None,
    with_times: bool = True,
) -> Journeys:
    """Build journeys from one row per touch.

    Parameters
    ----------
    data:
        An EventFrame, a pandas / polars DataFrame, an Arrow table or a dict of arrays.
    customer, time, touchpoint, converted:
        Column names. ``time`` orders each customer's touches: times, or any numeric
        step (a sequence number, int or float); touches at the same step keep their
        input order. ``touchpoint`` is the unit of the journey: a touchpoint code, or a
        channel, stage or line column. ``converted`` is true on the touch at which the
        customer converted (e.g. the purchase); None when nobody converts.
    until:
        ``"customer"``: one journey per customer, converted when any of its touches
        converted (the convention of `markov`, `heuristic` and `shapley`).
        ``"conversion"``: a conversion ends a journey and the customer's next touch
        starts a new one. Left out, it is ``"conversion"`` in this release, with a
        `FutureWarning`: from the next release the default is ``"customer"``, as
        everywhere else; pass ``until`` to choose.
    window:
        Keep only touches within this time before the journey's last touch (a
        ``numpy.timedelta64``, or a number of days), e.g. a 30-day look-back window.
        With a numeric step column, a number of steps.
    unit_map:
        Map touchpoint codes to a coarser unit (e.g. ``{code: stage}``); codes missing
        from the map are an error.
    with_times:
        Keep the time of each touch (``Journeys.times``); False saves a gather when
        only the order matters (as for `markov`).

    Examples
    --------
    >>> data = {"customer": ["a", "a", "a"], "time": ["2024-01-01", "2024-01-02", "2024-01-03"],
    ...         "touchpoint": ["A102", "B201", "A102"], "converted": [False, True, False]}
    >>> journeys(data, until="conversion").paths()
    [('A102', 'B201'), ('A102',)]
    >>> journeys(data, until="customer").paths()
    [('A102', 'B201', 'A102')]
    >>> journeys(data, until="conversion", unit_map={"A102": "store", "B201": "phone"}).paths()
    [('store', 'phone'), ('store',)]
    """
    if isinstance(data, Journeys):
        return data
    if until is None:
        warnings.warn(
            "journeys() without until= cuts journeys at conversions (until='conversion'); "
            "from the next release the default is until='customer', as in markov, "
            "heuristic and shapley: pass until= to choose",
            FutureWarning,
            stacklevel=2,
        )
        until = "conversion"
    if until not in ("conversion", "customer"):
        raise ValidationError([Problem("until", "expected 'conversion' or 'customer'", until)])
    cols, cats = read_coded(
        data,
        {"customer": customer, "step": time, "touchpoint": touchpoint, "converted": converted},
        required=("customer", "step", "touchpoint") + (("converted",) if converted else ()),
        categorical=("customer", "touchpoint"),
    )
    if len(cols["step"]) == 0:
        raise ValidationError([Problem("data", "no touches")])
    t = steps(cols["step"], time)
    missing = np.isnat(t) if t.dtype.kind == "M" else np.isnan(t) if t.dtype.kind == "f" else None
    if missing is not None and missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValidationError(
            [Problem(f"data[{time!r}][{row}]", "missing time or step", str(t[row]))]
        )
    cust_codes, cust_ids = cols["customer"], cats["customer"]
    unit_codes, units = cols["touchpoint"], cats["touchpoint"]
    for name, codes in ((customer, cust_codes), (touchpoint, unit_codes)):
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0])
            raise ValidationError([Problem(f"data[{name!r}][{row}]", "missing value")])
    if unit_map is not None:
        unit_codes, units = _apply_map(unit_codes, units, unit_map, touchpoint)
    unit_codes, units = sorted_units(unit_codes, units)
    conv = (
        np.asarray(cols["converted"]).astype(bool, copy=False)
        if "converted" in cols
        else np.zeros(len(t), dtype=bool)
    )
    cust_codes, unit_codes, conv, t_sorted = group_by_customer(
        cust_codes, unit_codes, conv, t, with_times=with_times or window is not None
    )
    n = len(t)
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(cust_codes[1:], cust_codes[:-1], out=start[1:])
    if until == "conversion":
        start[1:] |= conv[:-1]
    starts = np.flatnonzero(np.r_[start, True])
    if until == "conversion":
        journey_conv = conv[starts[1:] - 1]
    else:
        journey_conv = np.logical_or.reduceat(conv, starts[:-1]) if n else conv[:0]
    if window is not None:
        assert t_sorted is not None  # kept: the window needs the times
        keep = _in_window(t_sorted, starts, window)
        if not keep.all():
            lengths = np.add.reduceat(keep.astype(np.int64), starts[:-1])
            cust_codes, unit_codes = cust_codes[keep], unit_codes[keep]
            t_sorted = t_sorted[keep]
            starts = np.r_[0, np.cumsum(lengths)]
    return Journeys(
        units=units,
        codes=unit_codes,
        times=t_sorted if with_times else None,
        starts=starts,
        converted=journey_conv,
        customers=cust_ids[cust_codes[starts[:-1]]],
    )


def _in_window(t: np.ndarray, starts: np.ndarray, window: Any) -> np.ndarray:
    width: Any
    if t.dtype.kind != "M":  # numeric steps: a window of steps
        if isinstance(window, bool | np.timedelta64) or not isinstance(
            window, int | float | np.number
        ):
            raise ValidationError(
                [
                    Problem(
                        "window",
                        "with a numeric step column the window is a number of steps",
                        str(window),
                    )
                ]
            )
        width = window
    elif isinstance(window, int | float):
        width = np.timedelta64(round(window * 86_400_000_000), "us")
    else:
        width = np.timedelta64(window).astype("timedelta64[us]")
    if width < width * 0:
        raise ValidationError([Problem("window", "must not be negative", str(window))])
    last = t[starts[1:] - 1]
    end = np.repeat(last, np.diff(starts))
    result: np.ndarray = t >= end - width
    return result


def sorted_units(codes: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Units in ascending order (results are keyed by them), recoding only if needed."""
    try:
        order = np.argsort(units, kind="stable")
    except TypeError:  # values that do not compare (mixed types): keep the order given
        return codes, units
    if np.all(order == np.arange(len(units))):
        return codes, units
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], units[order]


def _apply_map(
    codes: np.ndarray, units: np.ndarray, unit_map: dict[Any, Any], column: str
) -> tuple[np.ndarray, np.ndarray]:
    labels = units.tolist()
    missing = [u for u in labels if u not in unit_map]
    if missing:
        raise ValidationError(
            [Problem(f"data[{column!r}]", "value missing from unit_map", missing[0])]
        )
    mapped = np.asarray([unit_map[u] for u in labels], dtype=object)  # one per distinct unit
    new_codes, new_units = factorize(mapped)
    return new_codes[codes], new_units
