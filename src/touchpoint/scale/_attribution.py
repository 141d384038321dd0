"""Markov attribution on a Dask DataFrame: transitions counted per partition, then summed.

The chain's transition counts are additive over disjoint sets of journeys, so the
touches are shuffled by customer (each journey then lies in one partition), each
partition's journeys are built and counted by the in-memory code (`journeys`,
`count_transitions`), and the integer counts are added in a tree of reductions and
solved once, in memory, by the code that solves the in-memory counts (`markov_on_dask`). Only
the counts (a matrix over the touchpoints at first order, the distinct transitions
between states at higher orders) travel; no process collects the journeys.

The step column (``time=``) may be any orderable column, as in memory (times, or
integer or float step numbers): each partition orders its customers' touches itself.

Codes must mean the same touchpoint in every partition: the distinct touchpoint values
are collected first (a reduction over one column) and every partition codes its touches
into them, in the order the in-memory `journeys` gives them (ascending).

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> from touchpoint.attribution import markov
>>> touches = dd.from_pandas(pd.DataFrame({"customer": [1, 1, 2, 3, 3],
...     "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01",
...                             "2024-01-02"]),
...     "touchpoint": ["ad", "store", "ad", "email", "store"],
...     "converted": [False, True, False, False, True]}), npartitions=2)
>>> markov(touches)["removal_effect"].round(3).tolist()
[0.5, 0.5, 1.0]
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from touchpoint.attribution import journeys
from touchpoint.attribution import parts as attribution
from touchpoint.attribution.parts import Transitions
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import read_coded, register_plan
from touchpoint.scale._dask import by_customer, check_column, require_dask

__all__ = ["global_units", "markov_on_dask", "transitions_on_dask"]

_FAN_IN = 8  # partial counts added per reduction task


def global_units(data: Any, touchpoint: str) -> np.ndarray:
    """The distinct touchpoint values of a Dask DataFrame, coded as `journeys` codes them.

    Missing values are left out (the partition that holds one reports it, as in memory).
    """
    distinct = data[[touchpoint]].drop_duplicates().compute()
    _, cats = read_coded(
        distinct,
        {"touchpoint": touchpoint},
        required=("touchpoint",),
        categorical=("touchpoint",),
    )
    units = cats["touchpoint"]
    return attribution.sorted_units(np.arange(len(units)), units)[1]


def _count_partition(
    part: Any, units: np.ndarray, names: dict[str, Any], order: int
) -> Transitions:
    """The transitions of one partition's journeys, coded into the global ``units``."""
    if len(part) == 0:
        return attribution.empty_transitions(units, order)
    j = journeys(part, **names, until="customer", with_times=False)
    lookup = {u: i for i, u in enumerate(units.tolist())}
    # a loop over the partition's distinct touchpoints, few
    to_global = np.fromiter((lookup[u] for u in j.units.tolist()), np.int64, len(j.units))
    return attribution.count_transitions(
        attrs.evolve(j, units=units, codes=to_global[j.codes]), order=order
    )


def _add(*parts: Transitions) -> Transitions:
    return attribution.add_transitions(parts)


def transitions_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    touchpoint: str,
    converted: str | None,
    order: int,
) -> Transitions:
    """The summed transition counts of the journeys of a Dask DataFrame of touches."""
    require_dask("markov on a Dask DataFrame")
    import dask

    for column, role in (
        (customer, "customer"),
        (time, "time"),
        (touchpoint, "touchpoint"),
        (converted, "converted"),
    ):
        if column is not None:  # converted=None: nobody converts, as in memory
            check_column(data, column, role)
    units = global_units(data, touchpoint)
    if len(units) == 0:
        raise ValidationError([Problem("data", "no touches")])
    attribution.check_state_bits(len(units), order)
    names: dict[str, Any] = {
        "customer": customer,
        "time": time,
        "touchpoint": touchpoint,
        "converted": converted,
    }
    count = dask.delayed(_count_partition, pure=True)
    partial = [
        count(part, units, names, order) for part in by_customer(data, customer).to_delayed()
    ]
    add = dask.delayed(_add, pure=True)
    while len(partial) > 1:  # a tree of sums, _FAN_IN at a time
        partial = [add(*partial[i : i + _FAN_IN]) for i in range(0, len(partial), _FAN_IN)]
    (total,) = dask.compute(partial[0])
    result: Transitions = total
    return result


@register_plan(
    "markov",
    how="summed",
    result="computed: one row per touchpoint",
    note="transition counts per partition of customers, added up, solved once in memory",
)
def markov_on_dask(
    data: Any, *, customer: str, time: str, touchpoint: str, converted: str, order: int
) -> Any:
    """`touchpoint.attribution.markov` of a Dask DataFrame of touches (computed: it is small)."""
    attribution.check_order(order)
    counts = transitions_on_dask(
        data,
        customer=customer,
        time=time,
        touchpoint=touchpoint,
        converted=converted,
        order=int(order),
    )
    return attribution.markov_frame(counts, touchpoint)
