"""Plans that run `touchpoint.journeys` on Dask: lifetimes per customer, retention summed.

`retention`'s cohort table adds up over disjoint sets of customers: the events are
partitioned by customer, each partition's non-zero cells (cohort, offset, customers)
come from the in-memory `cohort_counts`, a groupby adds them up and `cohort_frame`
finishes the table. The lifetimes run per customer and are brought into memory (one
row per customer) for the Kaplan-Meier curve, as in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.frame import ScoreFrame, as_time, read_coded, register_plan
from touchpoint.journeys import lifetimes
from touchpoint.journeys import parts as journeys
from touchpoint.scale._dask import by_customer, default_asof, per_customer, require_dask

__all__ = ["lifetimes_on_dask", "retention_on_dask"]


@register_plan(
    "lifetimes",
    how="per customer",
    result="lazy, one row per customer",
    note="asof defaults to the latest event time, computed first",
)
def lifetimes_on_dask(
    data: Any, *, customer: str, time: str, asof: Any, inactive_after: Any
) -> Any:
    """`touchpoint.journeys.lifetimes` of a Dask DataFrame: a lazy Dask DataFrame."""
    journeys.window_us(inactive_after)  # refuse a bad window before any work
    return per_customer(
        lifetimes,
        data,
        customer=customer,
        time=time,
        asof=default_asof(data, time, asof),
        inactive_after=inactive_after,
    )


def _cells(part: Any, customer: str, time: str, period: str, at: int) -> Any:
    """One partition's non-zero cohort cells, as a pandas DataFrame."""
    import pandas as pd

    cols, _ = read_coded(
        part,
        {"customer": customer, "time": time},
        required=("customer", "time"),
        categorical=("customer",),
    )
    t = cols["time"].view(np.int64)
    keep = t <= at
    cohort, offset, n = journeys.cohort_counts(cols["customer"][keep], t[keep], period)
    return pd.DataFrame({"cohort": cohort, "offset": offset, "customers": n})


@register_plan(
    "retention",
    how="summed",
    result="computed Retention (its tables are small)",
    note=(
        "asof (a max) first; cohort cells summed over partitions by customer; lifetimes "
        "per customer, brought into memory for the Kaplan-Meier curve"
    ),
)
def retention_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    period: str,
    asof: Any,
    inactive_after: Any,
    confidence: float,
) -> Any:
    """`touchpoint.journeys.retention` of a Dask DataFrame, computed."""
    import pandas as pd

    require_dask("retention on a Dask DataFrame")
    journeys.check_period(period)
    journeys.window_us(inactive_after)
    at_value = default_asof(data, time, asof)
    at = int(as_time(at_value).view(np.int64)) if at_value is not None else 0
    meta = pd.DataFrame(
        {
            "cohort": pd.Series(dtype="int64"),
            "offset": pd.Series(dtype="int64"),
            "customers": pd.Series(dtype="int64"),
        }
    )
    cells = (
        by_customer(data, customer)
        .map_partitions(_cells, customer, time, period, at, meta=meta, align_dataframes=False)
        .groupby(["cohort", "offset"])["customers"]
        .sum()
        .compute()
        .reset_index()
    )
    table = journeys.cohort_frame(
        cells["cohort"].to_numpy(np.int64),
        cells["offset"].to_numpy(np.int64),
        cells["customers"].to_numpy(np.int64),
        at,
        period,
    )
    per = per_customer(
        lifetimes,
        data,
        customer=customer,
        time=time,
        asof=at_value,
        inactive_after=inactive_after,
    ).compute()
    per = per.sort_values("customer", kind="stable").reset_index(drop=True)
    life = ScoreFrame(
        {
            "customer": per["customer"].to_numpy(object),
            "first": per["first"].to_numpy("datetime64[us]"),
            "last": per["last"].to_numpy("datetime64[us]"),
            "days": per["days"].to_numpy(np.float64),
            "churned": per["churned"].to_numpy(bool),
        }
    )
    survival = journeys.kaplan_meier(life["days"], life["churned"], confidence=confidence)
    return journeys.Retention(table, survival, life)
