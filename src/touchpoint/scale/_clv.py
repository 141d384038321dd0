"""Customer lifetime value on Dask: summaries per partition, fits in memory, predictions back.

- `summary_on_dask`: `customer_summary` of a Dask DataFrame of purchases. The default end
  of the observation period (the last purchase day of all the data) is a reduction
  computed first; then the purchases are shuffled by customer and every partition is
  summarised by the in-memory code (`touchpoint.clv.parts.partition_summary`).
- `collect`: the few summary columns a model's ``fit`` needs, computed into memory (a
  summary of tens of millions of customers fits in memory even when their purchases do
  not); the model is then fitted exactly as in memory (`fit_on_dask`,
  `gamma_gamma_fit_on_dask`).
- `per_partition`: a model's prediction written back per partition with
  ``map_partitions``: a lazy Dask Series aligned with the summary's rows
  (`probability_alive_on_dask` and the other predictions).
- `churn_risk_on_dask`: `touchpoint.scoring.churn_risk` the same way: the per-customer
  pass on each customer partition, one fit on the collected summary columns, the risks
  per partition.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from touchpoint.clv import customer_summary
>>> purchases = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1],
...     "time": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-15"]),
...     "amount": [5.0, 3.0, 7.0]}), npartitions=2)
>>> s = customer_summary(purchases, unit="D").compute().sort_values("customer")
>>> s["frequency"].tolist(), s["T"].tolist()
([1, 0], [14.0, 12.0])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from touchpoint.clv import BetaGeo, GammaGamma
from touchpoint.clv import parts as clv
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    as_day,
    purchase_columns,
    purchase_mask,
    read_coded,
    register_plan,
)
from touchpoint.scale._dask import (
    check_column,
    conform,
    default_asof,
    max_time,
    per_customer,
    require_dask,
)
from touchpoint.scoring import parts as scoring

__all__ = [
    "churn_risk_on_dask",
    "collect",
    "customer_lifetime_value_on_dask",
    "end_day",
    "expected_average_spend_on_dask",
    "expected_purchases_on_dask",
    "fit_on_dask",
    "gamma_gamma_fit_on_dask",
    "per_partition",
    "probability_alive_on_dask",
    "purchases_of",
    "summary_on_dask",
]


def _purchase_rows(part: Any, kw: dict[str, Any]) -> Any:
    """The rows of one pandas partition that are purchases, by the library's rule."""
    import pandas as pd

    extra = purchase_columns(part, outcome=kw["outcome"], purchases=kw["purchases"])
    names = {"amount": kw["amount"], **extra}
    available = set(part.columns)
    cols, cats = read_coded(
        part, {k: v for k, v in names.items() if v in available}, categorical=tuple(extra)
    )
    mask = purchase_mask(cols, cats, kw["purchases"])
    if mask is None:
        mask = np.ones(len(part), dtype=bool)
    return pd.Series(mask, index=part.index)


def purchases_of(data: Any, *, amount: str | None, outcome: str | None, purchases: Any) -> Any:
    """The purchase rows of a Dask DataFrame of events (all of them without an outcome column)."""
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in data.columns}  # the names only
    if not purchase_columns(columns, outcome=outcome, purchases=purchases):
        return data
    kw = {"amount": amount, "outcome": outcome, "purchases": purchases}
    meta = pd.Series(np.zeros(0, dtype=bool), index=data._meta.index)
    return data[data.map_partitions(_purchase_rows, kw, meta=meta)]


def end_day(data: Any, time: str, end: Any) -> np.datetime64:
    """The day the observation period ends, checked against the data as in memory.

    ``end`` given: that day, provided some purchase falls on or before it (the earliest
    time is a reduction). ``end`` None: the day of the last purchase (a reduction).
    ``data`` holds the purchases only (see `purchases_of`).
    """
    if end is None:
        latest = max_time(data, time)
        if latest is None:
            raise ValidationError([Problem("data", "no transactions")])
        result: np.datetime64 = latest.astype("datetime64[D]")
        return result
    day = as_day(end, name="asof")
    earliest = data[time].min().compute()
    if earliest is None or earliest != earliest or _day(earliest, time) > day:
        raise ValidationError([Problem("asof", "no transaction on or before it", str(day))])
    return day


def _day(value: Any, time: str) -> np.datetime64:
    return as_day(value, name=f"data[{time!r}]")


@register_plan(
    "customer_summary",
    how="per customer",
    result="lazy, one row per customer",
    note="the default end of observation (the last purchase day) computed first",
)
def summary_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    asof: Any,
    unit: str,
    outcome: str | None = "outcome",
    purchases: Any = PURCHASE_OUTCOMES,
) -> Any:
    """`customer_summary` of a Dask DataFrame: a lazy Dask DataFrame, one row per customer."""
    clv.check_unit(unit)
    require_dask("customer_summary on a Dask DataFrame")
    check_column(data, customer, "customer")
    check_column(data, time, "time")
    bought = purchases_of(data, amount=amount, outcome=outcome, purchases=purchases)
    end = end_day(bought, time, asof)
    return per_customer(
        clv.partition_summary,
        data,
        customer=customer,
        time=time,
        amount=amount,
        asof=end,
        unit=unit,
        outcome=outcome,
        purchases=purchases,
    )


def collect(summary: Any, columns: Iterable[str], feature: str) -> Any:
    """The named columns of a Dask summary, computed into a pandas DataFrame.

    Partitions keep their order, so the rows come in the order of the summary.
    """
    require_dask(feature)
    names = list(dict.fromkeys(columns))
    for name in names:
        check_column(summary, name, "summary")
    return summary[names].compute()


def _predict(
    part: Any,
    predict: Callable[..., Any],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    import pandas as pd

    if len(part) == 0:
        return pd.Series(np.zeros(0), index=part.index, name=name)
    values = np.asarray(predict(*args, summary=part, **kwargs).to_numpy(), dtype=np.float64)
    return pd.Series(values, index=part.index, name=name)


def per_partition(
    predict: Callable[..., Any],
    summary: Any,
    *args: Any,
    name: str,
    columns: Iterable[str],
    **kwargs: Any,
) -> Any:
    """``predict(*args, summary=partition, **kwargs)`` on each partition of a Dask summary.

    ``predict`` is the in-memory prediction (a bound method of a fitted model); the
    result is a lazy float64 Dask Series called ``name``, with the summary's index and
    partitions, so it can be assigned back to the summary. Empty partitions give no
    rows; bad summary values are reported when the result is computed.
    """
    require_dask(f"{name} on a Dask DataFrame")
    import pandas as pd

    for column in dict.fromkeys(columns):
        check_column(summary, column, "summary")
    meta = pd.Series(np.zeros(0), index=summary._meta.index, name=name)
    return summary.map_partitions(_predict, predict, name, args, kwargs, meta=meta)


@register_plan(
    "BetaGeo.fit",
    how="collected",
    result="the fitted model",
    note="also ModifiedBetaGeo.fit; the same parameters as in memory for the same row order",
)
def fit_on_dask(model: BetaGeo, summary: Any) -> BetaGeo:
    """A purchase model (`BetaGeo`, `ModifiedBetaGeo`) fitted to a Dask summary."""
    name = type(model).__name__
    result: BetaGeo = model.fit(
        collect(summary, model.columns.values(), f"{name}.fit on a Dask DataFrame")
    )
    return result


@register_plan(
    "GammaGamma.fit",
    how="collected",
    result="the fitted model",
    note="two columns of the repeat buyers",
)
def gamma_gamma_fit_on_dask(model: GammaGamma, summary: Any) -> GammaGamma:
    """`GammaGamma` fitted to a Dask summary."""
    return model.fit(collect(summary, model.columns.values(), "GammaGamma.fit on a Dask DataFrame"))


@register_plan(
    "BetaGeo.probability_alive",
    how="per partition",
    result="a lazy Dask Series aligned with the summary",
    note="also ModifiedBetaGeo",
)
def probability_alive_on_dask(model: BetaGeo, summary: Any) -> Any:
    """`BetaGeo.probability_alive` of a Dask summary: a lazy Dask Series."""
    clv.check_fitted(model)
    return per_partition(
        model.probability_alive, summary, name="probability_alive", columns=model.columns.values()
    )


@register_plan(
    "BetaGeo.expected_purchases",
    how="per partition",
    result="a lazy Dask Series aligned with the summary",
    note="also ModifiedBetaGeo, and predict",
)
def expected_purchases_on_dask(model: BetaGeo, summary: Any, horizon: float) -> Any:
    """`BetaGeo.expected_purchases` of a Dask summary: a lazy Dask Series."""
    clv.check_fitted(model)
    return per_partition(
        model.expected_purchases,
        summary,
        name="expected_purchases",
        columns=model.columns.values(),
        horizon=horizon,
    )


@register_plan(
    "GammaGamma.expected_average_spend",
    how="per partition",
    result="a lazy Dask Series aligned with the summary",
    note="also predict",
)
def expected_average_spend_on_dask(model: GammaGamma, summary: Any) -> Any:
    """`GammaGamma.expected_average_spend` of a Dask summary: a lazy Dask Series."""
    clv.check_fitted(model)
    return per_partition(
        model.expected_average_spend,
        summary,
        name="expected_average_spend",
        columns=model.columns.values(),
    )


@register_plan(
    "GammaGamma.customer_lifetime_value",
    how="per partition",
    result="a lazy Dask Series aligned with the summary",
    note="both models' errors raised before any work",
)
def customer_lifetime_value_on_dask(
    model: GammaGamma,
    transaction_model: BetaGeo,
    summary: Any,
    *,
    periods: int,
    period_length: float,
    discount_rate: float,
) -> Any:
    """`GammaGamma.customer_lifetime_value` of a Dask summary: a lazy Dask Series."""
    clv.check_periods(periods, period_length, discount_rate)
    clv.check_fitted(model)  # errors now, not when the result is computed
    clv.check_fitted(transaction_model)
    return per_partition(
        model.customer_lifetime_value,
        summary,
        transaction_model,
        name="customer_lifetime_value",
        columns=[*model.columns.values(), *transaction_model.columns.values()],
        periods=periods,
        period_length=period_length,
        discount_rate=discount_rate,
    )


def _churn_partition(part: Any, model: Any, bounds: Any, names: list[str], meta: Any) -> Any:
    if len(part) == 0:
        return meta
    cols = {c: part[c].to_numpy() for c in part.columns}
    out = scoring.churn_frame(cols, model, bounds, names).to_pandas()
    out.index = part.index
    return conform(out, meta)


@register_plan(
    "churn_risk",
    how="per customer",
    result="lazy, one row per customer",
    note="asof computed first; the model fitted once in memory on three columns per customer",
)
def churn_risk_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    asof: Any,
    outcome: str | None,
    purchases: Any,
    levels: Any,
) -> Any:
    """`touchpoint.scoring.churn_risk` of a Dask DataFrame of events: a lazy Dask DataFrame.

    The per-customer pass (`touchpoint.scoring.parts.churn_history`) runs on each customer
    partition and is persisted; its three model columns are collected and the MBG/NBD
    model fitted once in memory, by the in-memory code; the risks and levels are then
    computed per partition, again by the in-memory code.
    """
    bounds, names = scoring.check_levels(levels)
    require_dask("churn_risk on a Dask DataFrame")
    check_column(data, customer, "customer")
    check_column(data, time, "time")
    at = default_asof(data, time, asof)
    parts = per_customer(
        scoring.churn_history,
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        asof=at,
    ).persist()
    inputs = parts[list(scoring.MODEL_INPUTS)].compute()
    x, t_x, age = (inputs[c].to_numpy() for c in scoring.MODEL_INPUTS)
    model = scoring.fit_churn(x, t_x, age, time)
    empty = {c: parts._meta[c].to_numpy() for c in parts._meta.columns}
    meta = scoring.churn_frame(empty, model, bounds, names).to_pandas()
    meta.index = parts._meta.index
    if meta["customer"].dtype != parts._meta["customer"].dtype:
        meta["customer"] = meta["customer"].astype(parts._meta["customer"].dtype)
    return parts.map_partitions(_churn_partition, model, bounds, names, meta, meta=meta)
