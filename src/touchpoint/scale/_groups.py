"""Group scores on Dask: sums per partition, added up per group, finished once.

CSAT and NPS are sums per group (responses, satisfied, promoters...) turned into shares
and intervals. On Dask each partition gives its sums with the in-memory code, a
groupby adds them up (a tree reduction: no shuffle by customer is needed), and the
in-memory finishing step turns the totals into the score.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from touchpoint.scale._dask import conform, on_stand_in, require_dask, to_pandas

__all__ = ["grouped_on_dask"]


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
