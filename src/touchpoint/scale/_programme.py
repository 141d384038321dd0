"""The loyalty programme on Dask: the in-memory programme per partition of customers.

The events are numbered in input order (`positioned`), partitioned by customer and put
back in input order in each partition, where `touchpoint.scoring.loyalty_programme`
runs with ``asof`` defaulting to the latest time of all events (computed first);
nothing else is global. `tier_at_on_dask` replays each partition's transitions.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from touchpoint.frame import as_time, register_plan
from touchpoint.model import LoyaltyProgramme
from touchpoint.scale._dask import conform, require_dask
from touchpoint.scale._reports import frame_of, meta_of, partition_results, positioned
from touchpoint.scoring import LoyaltyReport, loyalty_programme

__all__ = ["loyalty_programme_on_dask", "tier_at_on_dask"]


@register_plan(
    "loyalty_programme",
    how="per customer",
    result="a LoyaltyReport: balances and transitions lazy",
    note="events numbered, partitioned by customer, put back in input order; asof computed first",
)
def loyalty_programme_on_dask(
    data: Any,
    programme: LoyaltyProgramme,
    *,
    customer: str,
    time: str,
    amount: str,
    outcome: str,
    points: str,
    redeem: str,
    purchases: Collection[str] | None,
    asof: Any,
    progress: Any,
) -> LoyaltyReport:
    """`touchpoint.scoring.loyalty_programme` on a Dask DataFrame (see its Returns section)."""
    kwargs: dict[str, Any] = {
        "customer": customer,
        "time": time,
        "amount": amount,
        "outcome": outcome,
        "points": points,
        "redeem": redeem,
        "purchases": purchases,
        "asof": asof,
    }
    names = np.array([tier.name for tier in programme.tiers], dtype=object)
    # the stand-in only gives the tables' columns and dtypes: any asof will do for it
    probe = {**kwargs, "asof": kwargs["asof"] if kwargs["asof"] is not None else "2000-01-01"}
    sample = meta_of(lambda ev, rows: _partition(ev, rows, programme, probe, None), data)
    metas = (sample[0].iloc[:0], sample[1].iloc[:0])
    numbered, latest = positioned(data, kwargs["time"] if kwargs["asof"] is None else None)
    if kwargs["asof"] is None:
        kwargs = {**kwargs, "asof": latest}
    results = partition_results(
        numbered, kwargs["customer"], _partition, metas, programme, kwargs, metas
    )
    return LoyaltyReport(frame_of(results, 0, metas[0]), frame_of(results, 1, metas[1]), names)


def _partition(
    events: Any,
    rows: np.ndarray,
    programme: LoyaltyProgramme,
    kwargs: dict[str, Any],
    metas: tuple[Any, Any] | None,
) -> tuple[Any, Any]:
    """`loyalty_programme` on one partition: balances and transitions as pandas."""
    report = loyalty_programme(events, programme, **kwargs)
    balances = report.balances.to_pandas()
    transitions = report.transitions.to_pandas()
    codes = report.transitions.columns["customer"]
    transitions["customer"] = balances["customer"].array.take(codes)
    if metas is None:
        return balances, transitions
    return conform(balances, metas[0]), conform(transitions, metas[1])


@register_plan(
    "LoyaltyReport.tier_at",
    how="per partition",
    result="lazy, one row per customer",
    note="of a report computed on Dask: each partition's balances and transitions replayed",
)
def tier_at_on_dask(report: LoyaltyReport, asof: Any) -> Any:
    """`LoyaltyReport.tier_at` on Dask: balances and transitions come from the same
    partitions (every customer in one), so each pair of partitions is replayed alone."""
    import pandas as pd

    when = as_time(asof, name="asof")
    dd = require_dask("tier_at on a Dask DataFrame")
    meta = pd.DataFrame(
        {
            "customer": report.balances._meta["customer"],
            "tier": pd.Categorical.from_codes([], categories=pd.Index(report.tier_names)),
        }
    )
    return dd.map_partitions(
        _tier_at_partition,
        report.balances,
        report.transitions,
        when,
        report.tier_names,
        meta=meta,
        align_dataframes=False,
    )


def _tier_at_partition(balances: Any, transitions: Any, when: Any, names: np.ndarray) -> Any:
    import pandas as pd

    tier = np.zeros(len(balances), dtype=np.int64)
    done = transitions[transitions["time"] <= when]
    # transitions are in time order, so the last one per customer wins
    last = done.drop_duplicates("customer", keep="last")
    at = pd.Index(balances["customer"]).get_indexer(last["customer"])
    tier[at] = last["to_tier"].cat.codes.to_numpy()
    return pd.DataFrame(
        {
            "customer": balances["customer"].array,
            "tier": pd.Categorical.from_codes(tier, categories=pd.Index(names)),
        }
    )
