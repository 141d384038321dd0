"""Group scores on Dask: sums per partition, added up per group, finished once.

CSAT, NPS and the pyramid summary are sums per group (responses, satisfied, promoters,
customers per tier...) turned into shares and intervals. On Dask each partition gives its sums with the in-memory code, a
groupby adds them up (a tree reduction: no shuffle by customer is needed), and the
in-memory finishing step turns the totals into the score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from touchpoint.frame import register_plan
from touchpoint.scale._dask import conform, on_stand_in, require_dask, to_pandas
from touchpoint.scoring import parts as scoring

__all__ = ["csat_on_dask", "grouped_on_dask", "nps_on_dask", "pyramid_summary_on_dask"]


_FIRST = "__first_seen"  # where a group first appears: partition, then row


def _sums_of(part: Any, sums: Callable[[Any], Any], meta: Any, partition_info: Any = None) -> Any:
    if len(part) == 0:
        return meta
    out = conform(to_pandas(sums(part)), meta)
    number = partition_info["number"] if partition_info else 0
    return out.assign(**{_FIRST: np.arange(len(out), dtype=np.int64) + (number << 32)})


def _finished(totals: Any, finish: Callable[[Any], Any]) -> Any:
    totals = totals.sort_values(_FIRST, kind="stable").drop(columns=_FIRST)
    return to_pandas(finish(totals.reset_index(drop=True)))


def grouped_on_dask(
    data: Any, sums: Callable[[Any], Any], finish: Callable[[Any], Any], labels: list[str]
) -> Any:
    """A lazy Dask DataFrame: ``finish`` of the per-group totals of ``sums`` over partitions.

    ``sums(table)`` gives a table of the group columns ``labels`` and additive columns;
    ``finish(table)`` turns such a table (summed) into the score. Groups come in the
    order they first appear (by partition, then row), as they do in one table.
    """
    require_dask("group scores on a Dask DataFrame")
    meta = on_stand_in(lambda part: to_pandas(sums(part)), data).iloc[:0]
    with_first = meta.assign(**{_FIRST: np.zeros(0, dtype=np.int64)})
    partials = data.map_partitions(_sums_of, sums, meta, meta=with_first)
    added = {c: "sum" for c in meta.columns if c not in labels}
    totals = (
        partials.groupby(labels, dropna=False, sort=False)
        .agg({**added, _FIRST: "min"}, split_out=1)
        .reset_index()
        .astype({c: meta.dtypes[c] for c in labels})
    )
    return totals.map_partitions(_finished, finish, meta=_finished(with_first, finish))


@register_plan(
    "csat",
    how="summed",
    result="lazy, one row per group",
    note="groups in the order they first appear",
)
def csat_on_dask(
    data: Any,
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
    satisfied: float,
    scale: tuple[float, float],
    confidence: float,
) -> Any:
    """`touchpoint.scoring.csat` of a Dask DataFrame, as a lazy Dask DataFrame."""
    steps = scoring.csat_steps(
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
        satisfied=satisfied,
        scale=scale,
        confidence=confidence,
    )
    return grouped_on_dask(data, steps.sums, steps.finish, steps.labels)


@register_plan(
    "nps",
    how="summed",
    result="lazy, one row per group",
    note="the interval from the counts added up",
)
def nps_on_dask(
    data: Any,
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
    confidence: float,
) -> Any:
    """`touchpoint.scoring.nps` of a Dask DataFrame, as a lazy Dask DataFrame."""
    steps = scoring.nps_steps(
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
        confidence=confidence,
    )
    return grouped_on_dask(data, steps.sums, steps.finish, steps.labels)


@register_plan(
    "pyramid_summary",
    how="summed",
    result="lazy, one row per tier",
    note="of the output of pyramid on Dask",
)
def pyramid_summary_on_dask(data: Any, *, tier: str, value: str) -> Any:
    """`touchpoint.scoring.pyramid_summary` of a Dask DataFrame, as a lazy Dask DataFrame."""
    sums = partial(scoring.tier_sums, tier=tier, value=value)
    return grouped_on_dask(data, sums, scoring.tier_shares, ["tier"])
