"""Per-customer frequency, recency, age and average spend from transactions.

The conventions of the CLV literature (Fader, Hardie & Lee 2005) and of the `lifetimes`
package's ``summary_data_from_transaction_data``:

- purchases on the same calendar day are merged into one (their amounts summed);
- ``frequency``: the number of *repeat* purchase days (all purchase days but the first);
- ``recency``: time from the first to the last purchase day (0 when ``frequency`` is 0);
- ``T``: time from the first purchase day to the end of the observation period;
- ``monetary_value``: the average amount of the repeat purchase days (0 when there are none).

Only purchases count, by the library's purchase rule (`touchpoint.frame.purchase_mask`):
with an ``outcome`` column, the events whose outcome is one of ``purchases`` (and events
without an outcome that carry an amount > 0); without one, every row, as in a plain
transaction log (the CDNOW data, `lifetimes`).

Times are measured in whole days and then expressed in ``unit`` as a float (a week is
exactly 7 days), so ``unit="W"`` gives the weeks of the papers (CDNOW's ``T = 38.86``).
`lifetimes` with ``freq="W"`` instead counts calendar-week periods (whole numbers);
with ``freq="D"`` it agrees with ``unit="D"`` exactly.

Examples
--------
>>> data = {"customer": ["a", "a", "a", "b"],
...         "time": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"],
...         "amount": [10.0, 5.0, 20.0, 7.0]}
>>> s = customer_summary(data, asof="2024-01-29")
>>> s["frequency"].tolist(), s["recency"].tolist(), s["T"].tolist()
([1, 0], [2.0, 0.0], [4.0, 3.0])
>>> s["monetary_value"].tolist()
[20.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.clv._keyed import Summary
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    as_day,
    as_float64,
    distributed,
    factorize,
    purchase_columns,
    purchase_mask,
    read_coded,
)

__all__ = ["UNITS", "customer_summary", "partition_summary"]

#: Length of each supported time unit in days.
UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Y": 365.25}


@renamed(observation_end="asof")
@distributed("customer_summary")
def customer_summary(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    asof: Any = None,
    unit: str = "W",
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
) -> Any:
    """Frequency, recency, age ``T`` and average repeat spend per customer.

    Parameters
    ----------
    data:
        Transactions or events: an EventFrame, a pandas or polars DataFrame, an Arrow
        table or a dict of arrays, one row per event. Or a Dask DataFrame (see Returns).
    customer, time, amount:
        Column names. ``amount`` may be missing from ``data`` (or None): then
        ``monetary_value`` is 0 for everyone.
    asof:
        The date the summary is taken at: the end of the observation period (a date);
        purchases after it are ignored. Default: the day of the last purchase in
        ``data``. (``observation_end=`` is the old name of this argument; it works until
        the next release, with a `DeprecationWarning`.)
    outcome, purchases:
        The purchase rule (see `touchpoint.frame.purchase_mask`): with an ``outcome``
        column, only events whose outcome is one of ``purchases`` (and events without
        an outcome but with an amount > 0) are purchases; without that column, or with
        ``purchases=None``, every row is.
    unit:
        Time unit of ``recency`` and ``T``: ``"D"`` days, ``"W"`` weeks (7 days),
        ``"M"`` months (365.25/12 days) or ``"Y"`` years (365.25 days).

    Returns
    -------
    A `ScoreFrame` keyed by ``customer`` (the original ids, in ascending id order,
    whatever the input calls its customer column, as every per-customer result is) with
    ``frequency`` (int64), ``recency``, ``T`` and ``monetary_value`` (float64). Until
    the next release the ids can also be read under the input's name of the column
    (``s["cust_id"]``), with a `DeprecationWarning`; 0.1 keyed the result by that name.
    With a Dask DataFrame as ``data``: a lazy Dask DataFrame of the same columns, one
    row per customer in no particular order. The default ``asof`` is then
    computed first (a reduction over the time column); the purchases are shuffled by
    customer and each partition is summarised by this same function, so the numbers
    equal the in-memory ones (``monetary_value`` up to the order in which the amounts
    of one day are added). Bad values are reported when the result is computed.

    Customers without any purchase have no row.

    Raises
    ------
    ValidationError
        Unknown unit, missing columns, times that are not dates, missing customer ids,
        NaN amounts of purchases, or no purchase on or before ``asof``.

    Examples
    --------
    >>> s = customer_summary({"customer": [1, 1], "time": ["2024-01-01", "2024-01-03"]},
    ...                      unit="D", asof="2024-01-11")
    >>> s["frequency"].tolist(), s["recency"].tolist(), s["T"].tolist()
    ([1], [2.0], [10.0])

    Events with an outcome: only the purchases count.

    >>> ev = {"customer": [1, 1, 1, 2], "outcome": ["purchase", "call", "purchase", "call"],
    ...       "time": ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"],
    ...       "amount": [10.0, None, 30.0, None]}
    >>> s = customer_summary(ev, unit="D", asof="2024-01-11")
    >>> s["customer"].tolist(), s["frequency"].tolist(), s["monetary_value"].tolist()
    ([1], [1], [30.0])
    """
    check_unit(unit)
    return _summary(data, customer, time, amount, asof, unit, outcome, purchases, allow_empty=False)


def check_unit(unit: str) -> None:
    """A `ValidationError` unless ``unit`` is one of `UNITS`."""
    if unit not in UNITS:
        raise ValidationError([Problem("unit", f"expected one of {sorted(UNITS)}", unit)])


def partition_summary(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    asof: Any,
    unit: str = "W",
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
) -> Any:
    """`customer_summary` of one partition of customers, with a given ``asof``.

    The same computation, except that a partition without purchases on or before
    ``asof`` gives no rows instead of an error (the whole data has some: the
    caller checks that once).

    >>> partition_summary({"customer": [1], "time": ["2024-02-01"]},
    ...                   asof="2024-01-31")["customer"].tolist()
    []
    """
    return _summary(data, customer, time, amount, asof, unit, outcome, purchases, allow_empty=True)


def _summary(
    data: Any,
    customer: str,
    time: str,
    amount: str | None,
    asof: Any,
    unit: str,
    outcome: str | None,
    purchases: Collection[str] | None,
    *,
    allow_empty: bool,
) -> Any:
    extra = purchase_columns(data, outcome=outcome, purchases=purchases)
    cols, cats = read_coded(
        data,
        {"customer": customer, "time": time, "amount": amount, **extra},
        required=("customer", "time"),
        categorical=tuple(extra),
    )
    days = cols["time"].astype("datetime64[D]")
    if np.isnat(days).any():
        raise ValidationError([Problem(f"data[{time!r}]", "missing time", "NaT")])
    cust = cols["customer"]
    amounts = (
        as_float64(cols["amount"], f"data[{amount!r}]")
        if "amount" in cols
        else np.zeros(len(days), dtype=np.float64)
    )
    bought = purchase_mask(cols, cats, purchases)
    if bought is not None:
        # the rows' places in the input, for errors that name them
        rows = np.flatnonzero(bought)
        days, cust, amounts = days[bought], cust[bought], amounts[bought]
    else:
        rows = None
    if np.isnan(amounts).any():
        row = int(np.flatnonzero(np.isnan(amounts))[0])
        row = row if rows is None else int(rows[row])
        raise ValidationError([Problem(f"data[{amount!r}][{row}]", "missing amount", "NaN")])
    if asof is None:
        if len(days) == 0:
            raise ValidationError([Problem("data", "no transactions")])
        end = days.max()
    else:
        end = as_day(asof, name="asof")
        keep = days <= end
        if not keep.all():
            days, cust, amounts = days[keep], cust[keep], amounts[keep]
            rows = np.flatnonzero(keep) if rows is None else rows[keep]
        if len(days) == 0 and not allow_empty:
            raise ValidationError([Problem("asof", "no transaction on or before it", str(end))])
    codes, ids = factorize(cust)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        row = row if rows is None else int(rows[row])
        raise ValidationError([Problem(f"data[{customer!r}][{row}]", "missing customer id")])
    if len(days) == 0:  # only with allow_empty
        none = np.zeros(0, dtype=np.float64)
        columns = {"recency": none, "T": none, "monetary_value": none}
        return Summary(
            {"customer": ids, "frequency": np.zeros(0, np.int64), **columns}, old_key=customer
        )
    day_num = days.astype(np.int64)
    # days count from this partition's first day: an offset only, every time below is a
    # difference of whole days (exact in float64), so the numbers do not depend on it
    lo = day_num.min()
    span = int(day_num.max() - lo) + 1
    key = codes.astype(np.int64) * span + (day_num - lo)  # (codes may be int16/int32)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.empty(len(sk), dtype=bool)
    new[0] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    day_amount = np.bincount(group, weights=amounts[order])
    gkey = sk[new]
    gcust = gkey // span
    gday = (gkey % span).astype(np.float64)
    n = len(ids)
    first_of_cust = np.empty(len(gcust), dtype=bool)
    first_of_cust[0] = True
    np.not_equal(gcust[1:], gcust[:-1], out=first_of_cust[1:])
    n_days = np.bincount(gcust, minlength=n)
    first = gday[first_of_cust]
    last_idx = np.r_[np.flatnonzero(first_of_cust)[1:] - 1, len(gcust) - 1]
    last = gday[last_idx]
    frequency = (n_days - 1).astype(np.int64)
    repeat_total = np.bincount(gcust, weights=np.where(first_of_cust, 0.0, day_amount), minlength=n)
    monetary = np.divide(
        repeat_total, frequency, out=np.zeros(n, dtype=np.float64), where=frequency > 0
    )
    scale = UNITS[unit]
    end_num = float(end.astype(np.int64) - lo)
    return Summary(
        {
            "customer": ids,
            "frequency": frequency,
            "recency": (last - first) / scale,
            "T": (end_num - first) / scale,
            "monetary_value": monetary,
        },
        old_key=customer,
    )
