"""Per-customer scores on Dask: the events partitioned by customer, the score on each part.

`rfm` and `satisfied_but_defecting` need every event of a customer in one place and
nothing global but their inputs: the default ``asof`` (the latest event time, a max
reduction) and, for the defection test, the estimated variation of purchase rates (a
sum over customers of per-customer parts, computed first). Then `per_customer` runs the
in-memory score itself on each partition.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from touchpoint.scoring import rfm
>>> events = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1], "amount": [5.0, 3.0, 7.0],
...     "time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-09"])}), npartitions=2)
>>> rfm(events, asof="2026-01-10").compute().sort_values("customer")["monetary"].tolist()
[12.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from touchpoint.frame import register_plan
from touchpoint.scale._dask import default_asof, per_customer
from touchpoint.scoring import parts as scoring
from touchpoint.scoring import rfm, satisfied_but_defecting

__all__ = ["rfm_on_dask", "satisfied_but_defecting_on_dask"]


@register_plan(
    "rfm",
    how="per customer",
    result="lazy, one row per customer",
    note="asof defaults to the latest event time, computed first",
)
def rfm_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str,
    outcome: str,
    purchases: Collection[str] | None,
    asof: Any,
    progress: Any,
) -> Any:
    """`touchpoint.scoring.rfm` of a Dask DataFrame: a lazy Dask DataFrame (no progress)."""
    return per_customer(
        rfm,
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        asof=default_asof(data, time, asof),
    )


@register_plan(
    "satisfied_but_defecting",
    how="per customer",
    result="lazy, one row per customer",
    note='asof and rate_cv="estimate" computed first (a max, then sums over customers)',
)
def satisfied_but_defecting_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    rating: str,
    asof: Any,
    outcome: str | None,
    purchases: Collection[str] | None,
    touchpoint: str,
    blueprint: Any,
    scale: Any,
    satisfied: float | None,
    share: float,
    period: Any,
    baseline: Any,
    alpha: float,
    rate_cv: float | str,
    drop: float,
) -> Any:
    """`touchpoint.scoring.satisfied_but_defecting` of a Dask DataFrame: a lazy Dask DataFrame."""
    recent_width, base_width = scoring.defecting_windows(
        data,
        rating=rating,
        satisfied=satisfied,
        share=share,
        period=period,
        baseline=baseline,
        alpha=alpha,
        rate_cv=rate_cv,
        drop=drop,
    )
    at = default_asof(data, time, asof)
    kw = {"time": time, "amount": amount, "outcome": outcome, "purchases": purchases}
    if rate_cv == "estimate":
        parts = per_customer(
            scoring.rate_parts,
            data,
            customer=customer,
            asof=at,
            period=recent_width,
            base=base_width,
            **kw,
        )
        sums = parts[["x2", "purchases", "counted"]].sum().compute()
        cells = max(2, round(base_width / recent_width))
        rate_cv = scoring.rate_cv_of(
            float(sums["x2"]), float(sums["purchases"]), float(sums["counted"]), cells
        )
    return per_customer(
        satisfied_but_defecting,
        data,
        customer=customer,
        rating=rating,
        asof=at,
        touchpoint=touchpoint,
        blueprint=blueprint,
        scale=scale,
        satisfied=satisfied,
        share=share,
        period=period,
        baseline=baseline,
        alpha=alpha,
        rate_cv=rate_cv,
        drop=drop,
        **kw,
    )
