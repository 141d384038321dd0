"""Checking a purchase model on a holdout period: split the transactions, predict, compare.

`calibration_and_holdout` splits a transaction log at ``calibration_end``: the customer
summary of the calibration period (`customer_summary` as of ``calibration_end``:
``frequency_cal``, ``recency_cal``, ``T_cal``, ``monetary_value_cal``) and what the same
customers did in the holdout period after it (``frequency_holdout``: purchase days,
``monetary_value_holdout``: average spend of a purchase day, ``duration_holdout``: its
length). Customers are those with a purchase on or before ``calibration_end``; the
conventions are `customer_summary`'s (and `lifetimes`' ``calibration_and_holdout_data``
with ``freq="D"``, which it equals; see the function for the one difference).

`holdout_check` fits nothing: given a model fitted on the calibration columns, it
predicts each customer's holdout purchases and sets them against the actual ones, per
customer, per calibration frequency (the groups of `lifetimes`'
``plot_calibration_purchases_vs_holdout_purchases``, with the frequent buyers pooled
in one last group) and overall, so that models can be chosen by their holdout fit.

Examples
--------
>>> data = {"customer": [1, 1, 1, 2, 2, 3],
...         "time": ["2024-01-01", "2024-01-15", "2024-03-01",
...                  "2024-01-10", "2024-01-10", "2024-02-20"],
...         "amount": [10.0, 20.0, 30.0, 5.0, 7.0, 9.0]}
>>> t = calibration_and_holdout(data, calibration_end="2024-01-31",
...                             observation_end="2024-03-31", unit="D")
>>> t["customer"].tolist(), t["frequency_cal"].tolist(), t["frequency_holdout"].tolist()
([1, 2], [1, 0], [1, 0])
>>> t["T_cal"].tolist(), t["duration_holdout"].tolist()
([30.0, 21.0], [60.0, 60.0])
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs
import numpy as np

from touchpoint.clv._summary import UNITS, check_unit, customer_summary
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    ScoreFrame,
    as_day,
    as_float64,
    factorize,
    purchase_columns,
    purchase_mask,
    read_coded,
    read_columns,
)

__all__ = ["HoldoutCheck", "calibration_and_holdout", "holdout_check"]


def calibration_and_holdout(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    calibration_end: Any,
    observation_end: Any = None,
    asof: Any = None,
    unit: str = "W",
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
) -> ScoreFrame:
    """The calibration summary and the holdout purchases of each customer.

    Parameters
    ----------
    data:
        Transactions or events, one row per event (an EventFrame, a pandas or polars
        DataFrame, an Arrow table or a dict of arrays).
    customer, time, amount:
        Column names; ``amount`` may be missing (or None): the monetary columns are 0.
    calibration_end:
        The last day of the calibration period (a date, inclusive).
    observation_end, asof:
        The last day of the holdout period (inclusive; ``asof`` is another name for it,
        as the library's reference dates are called; give one of them). Default: the
        day of the last purchase in ``data``. Must be after ``calibration_end``.
    unit:
        Time unit of ``recency_cal``, ``T_cal`` and ``duration_holdout``: ``"D"``,
        ``"W"`` (7 days), ``"M"`` (365.25/12 days) or ``"Y"`` (365.25 days), as in
        `customer_summary`.
    outcome, purchases:
        The purchase rule (`touchpoint.frame.purchase_mask`), as in `customer_summary`.

    Returns
    -------
    ScoreFrame
        Keyed by ``customer`` (ascending ids), one row per customer with a purchase on or
        before ``calibration_end``: ``frequency_cal`` (int64), ``recency_cal``,
        ``T_cal``, ``monetary_value_cal`` (`customer_summary` as of ``calibration_end``),
        ``frequency_holdout`` (int64: the days with a purchase after
        ``calibration_end``, up to ``observation_end``), ``monetary_value_holdout`` (the
        average amount of those days, 0 without any) and ``duration_holdout`` (the
        holdout period's length, the same for everyone).

    Notes
    -----
    Purchases on one day are one purchase, their amounts summed, in both periods. This
    is where the table differs from `lifetimes`' ``calibration_and_holdout_data``,
    whose ``monetary_value_holdout`` averages the holdout *rows*, while its
    ``frequency_holdout`` counts days and its calibration spend averages days; every
    other column, and this one on data with one row per customer and day, are equal.

    Raises
    ------
    ValidationError
        Bad columns or dates (as `customer_summary`), no purchase on or before
        ``calibration_end``, an ``observation_end`` not after ``calibration_end``, or
        both ``observation_end`` and ``asof``.

    Examples
    --------
    >>> data = {"customer": ["a", "a", "b", "a", "a"],
    ...         "time": ["2024-01-01", "2024-01-08", "2024-01-03", "2024-02-05", "2024-02-05"],
    ...         "amount": [10.0, 20.0, 5.0, 8.0, 4.0]}
    >>> t = calibration_and_holdout(data, calibration_end="2024-01-14", asof="2024-02-11")
    >>> t["frequency_holdout"].tolist(), t["monetary_value_holdout"].tolist()
    ([1, 0], [12.0, 0.0])
    >>> t["duration_holdout"].tolist()
    [4.0, 4.0]
    """
    check_unit(unit)
    if asof is not None:
        if observation_end is not None:
            raise ValidationError(
                [Problem("asof", "give observation_end or asof, not both", str(asof))]
            )
        observation_end = asof
    cal_end = as_day(calibration_end, name="calibration_end")
    try:
        cal = customer_summary(
            data,
            customer=customer,
            time=time,
            amount=amount,
            asof=cal_end,
            unit=unit,
            outcome=outcome,
            purchases=purchases,
        )
    except ValidationError as exc:  # its reference date is this function's calibration_end
        raise ValidationError(
            [
                attrs.evolve(p, path="calibration_end") if p.path == "asof" else p
                for p in exc.problems
            ]
        ) from None
    # the purchases again, for the holdout period (customer_summary has checked them)
    extra = purchase_columns(data, outcome=outcome, purchases=purchases)
    cols, cats = read_coded(
        data,
        {"customer": customer, "time": time, "amount": amount, **extra},
        required=("customer", "time"),
        categorical=tuple(extra),
    )
    days = cols["time"].astype("datetime64[D]")
    cust = cols["customer"]
    amounts = (
        as_float64(cols["amount"], f"data[{amount!r}]")
        if "amount" in cols
        else np.zeros(len(days), dtype=np.float64)
    )
    bought = purchase_mask(cols, cats, purchases)
    if bought is not None:
        days, cust, amounts = days[bought], cust[bought], amounts[bought]
    if observation_end is None:
        end = days.max()
        name = "observation_end"
    else:
        name = "asof" if asof is not None else "observation_end"
        end = as_day(observation_end, name=name)
    if end <= cal_end:
        raise ValidationError(
            [
                Problem(
                    name,
                    f"must be after calibration_end ({cal_end}): the holdout period is "
                    "empty" + ("" if observation_end is not None else " (no purchase after it)"),
                    str(end),
                )
            ]
        )
    hold = (days > cal_end) & (days <= end)
    ids = cal["customer"]
    n = len(ids)
    # each holdout purchase's row in the calibration table (-1: not a calibration customer)
    codes, _ = factorize(np.concatenate([np.asarray(ids, dtype=object), cust[hold].astype(object)]))
    place = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    place[codes[:n]] = np.arange(n)
    row = place[codes[n:]]
    keep = row >= 0
    row = row[keep]
    hdays = days[hold][keep].astype(np.int64)
    hamounts = amounts[hold][keep]
    frequency = np.zeros(n, dtype=np.int64)
    spend = np.zeros(n, dtype=np.float64)
    if len(row):
        lo = hdays.min()
        span = int(hdays.max() - lo) + 1
        key = row * span + (hdays - lo)
        distinct, inverse = np.unique(key, return_inverse=True)
        day_rows = distinct // span
        frequency = np.bincount(day_rows, minlength=n).astype(np.int64)
        day_amount = np.bincount(inverse, weights=hamounts, minlength=len(distinct))
        total = np.bincount(day_rows, weights=day_amount, minlength=n)
        spend = np.divide(total, frequency, out=spend, where=frequency > 0)
    duration = float((end - cal_end).astype(np.int64)) / UNITS[unit]
    return ScoreFrame(
        {
            "customer": ids,  # keyed by customer whatever the input calls it, as customer_summary
            "frequency_cal": cal["frequency"],
            "recency_cal": cal["recency"],
            "T_cal": cal["T"],
            "monetary_value_cal": cal["monetary_value"],
            "frequency_holdout": frequency,
            "monetary_value_holdout": spend,
            "duration_holdout": np.full(n, duration),
        },
        key="customer",
    )


@attrs.frozen
class HoldoutCheck:
    """Predicted against actual holdout purchases (see `holdout_check`).

    Attributes
    ----------
    customers: ScoreFrame
        Per customer: ``frequency_cal``, ``actual`` (holdout purchases) and
        ``predicted`` (the model's expected holdout purchases).
    groups: ScoreFrame
        Keyed by ``frequency_cal`` (0, 1, ..., ``max_frequency``; the last group holds
        every customer with ``max_frequency`` or more calibration purchases; empty
        groups have no row): ``customers`` (how many), ``actual`` and ``predicted``
        (their mean holdout purchases).
    horizon: float
        The holdout period's length the predictions are for.
    actual_total, predicted_total: float
        Holdout purchases of all customers, actual and predicted.
    mean_absolute_error, root_mean_squared_error: float
        Of the per-customer predictions.
    group_mean_absolute_error: float
        Mean over customers of the absolute error of their group's mean prediction (how
        far the predicted curve is from the actual one, weighted by customers).
    """

    customers: ScoreFrame
    groups: ScoreFrame
    horizon: float
    actual_total: float
    predicted_total: float
    mean_absolute_error: float
    root_mean_squared_error: float
    group_mean_absolute_error: float


def holdout_check(
    model: Any,
    table: Any,
    *,
    customer: str = "customer",
    max_frequency: int = 7,
    horizon: float | None = None,
) -> HoldoutCheck:
    """Predicted against actual holdout purchases, per customer, per frequency and overall.

    Parameters
    ----------
    model:
        A purchase model fitted on the calibration period (`BetaGeo`,
        `ModifiedBetaGeo`, `ParetoNBD`: anything with ``columns`` and
        ``expected_purchases(summary, horizon)``).
    table:
        The output of `calibration_and_holdout` (or any table with its columns
        ``frequency_cal``, ``recency_cal``, ``T_cal``, ``frequency_holdout``,
        ``duration_holdout`` and the ``customer`` key, e.g. lifetimes'
        ``calibration_and_holdout_data`` with the index as a column).
    customer:
        The key column of ``table``; a ScoreFrame's own key is used when it has one.
    max_frequency:
        Calibration frequencies from this one up are pooled in the last group (lifetimes
        plots the first 7 groups).
    horizon:
        The holdout length to predict for; default ``duration_holdout``.

    Returns
    -------
    HoldoutCheck

    Examples
    --------
    >>> from touchpoint.clv import BetaGeo
    >>> model = BetaGeo()
    >>> model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> table = {"customer": [1, 2, 3], "frequency_cal": [0, 2, 9],
    ...          "recency_cal": [0.0, 30.0, 36.0], "T_cal": [38.0, 38.0, 38.0],
    ...          "frequency_holdout": [0, 1, 4], "duration_holdout": [39.0, 39.0, 39.0]}
    >>> check = holdout_check(model, table, max_frequency=2)
    >>> check.groups["frequency_cal"].tolist(), check.groups["actual"].tolist()
    ([0, 2], [0.0, 2.5])
    >>> check.customers["predicted"].round(2).tolist()   # as lifetimes' BetaGeoFitter
    [0.2, 1.25, 5.98]
    """
    if not isinstance(max_frequency, int | np.integer) or max_frequency < 1:
        raise ValidationError(
            [Problem("max_frequency", "must be a whole number >= 1", max_frequency)]
        )
    key = getattr(table, "key", customer) if isinstance(table, ScoreFrame) else customer
    names = {
        "customer": key,
        "frequency_cal": "frequency_cal",
        "recency_cal": "recency_cal",
        "T_cal": "T_cal",
        "frequency_holdout": "frequency_holdout",
        "duration_holdout": "duration_holdout",
    }
    cols = read_columns(table, names, required=tuple(names))
    actual = as_float64(cols["frequency_holdout"], "table['frequency_holdout']")
    duration = as_float64(cols["duration_holdout"], "table['duration_holdout']")
    if horizon is None:
        if len(duration) == 0:
            raise ValidationError([Problem("table", "no customers")])
        if not np.all(duration == duration[0]):
            row = int(np.flatnonzero(duration != duration[0])[0])
            raise ValidationError(
                [
                    Problem(
                        f"table['duration_holdout'][{row}]",
                        f"holdout lengths differ ({duration[0]} in row 0): give horizon",
                        duration[row].item(),
                    )
                ]
            )
        horizon = float(duration[0])
    bad = ~np.isfinite(actual) | (actual < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            [
                Problem(
                    f"table['frequency_holdout'][{row}]",
                    "must be a number >= 0",
                    actual[row].item(),
                )
            ]
        )
    summary = {
        model.columns["frequency"]: cols["frequency_cal"],
        model.columns["recency"]: cols["recency_cal"],
        model.columns["T"]: cols["T_cal"],
    }
    expected = model.expected_purchases(summary, horizon)
    to_numpy = getattr(expected, "to_numpy", None)  # Predictions, or a plugin model's array
    predicted = np.asarray(to_numpy() if to_numpy else expected, dtype=np.float64)
    x = as_float64(cols["frequency_cal"], "table['frequency_cal']")
    group = np.minimum(x, max_frequency).astype(np.int64)
    count = np.bincount(group, minlength=max_frequency + 1)
    present = np.flatnonzero(count)
    sum_actual = np.bincount(group, weights=actual, minlength=max_frequency + 1)
    sum_pred = np.bincount(group, weights=predicted, minlength=max_frequency + 1)
    mean_actual = sum_actual[present] / count[present]
    mean_pred = sum_pred[present] / count[present]
    groups = ScoreFrame(
        {
            "frequency_cal": present.astype(np.int64),
            "customers": count[present].astype(np.int64),
            "actual": mean_actual,
            "predicted": mean_pred,
        },
        key="frequency_cal",
    )
    error = predicted - actual
    return HoldoutCheck(
        customers=ScoreFrame(
            {
                key: cols["customer"],
                "frequency_cal": cols["frequency_cal"],
                "actual": actual,
                "predicted": predicted,
            },
            key=key,
        ),
        groups=groups,
        horizon=float(horizon),
        actual_total=float(actual.sum()),
        predicted_total=float(predicted.sum()),
        mean_absolute_error=float(np.mean(np.abs(error))),
        root_mean_squared_error=float(np.sqrt(np.mean(error * error))),
        group_mean_absolute_error=float(
            np.sum(count[present] * np.abs(mean_pred - mean_actual)) / len(actual)
        ),
    )
