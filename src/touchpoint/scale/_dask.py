"""Per-customer scores on a Dask DataFrame: partition by customer, then the same function.

A per-customer score needs every event of a customer in one place. `by_customer`
shuffles the events so that it is so (a hash partitioning on the customer column,
disk-backed with ``distributed``), and `per_customer` runs the in-memory score on each
pandas partition with ``map_partitions``: there is no second implementation of a score.
Global inputs a score would otherwise take from its data (the default ``asof``, the
latest event time) are computed first as reductions (`max_time`).

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

from collections.abc import Callable
from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.errors import ValidationError
from touchpoint.frame import require_columns

__all__ = [
    "by_customer",
    "check_column",
    "conform",
    "default_asof",
    "max_time",
    "on_stand_in",
    "own_customers",
    "per_customer",
    "require_dask",
    "to_pandas",
]


def require_dask(feature: str) -> Any:
    """``dask.dataframe``, or `MissingExtraError` naming the ``dask`` extra."""
    require("distributed", extra="dask", feature=feature)
    return require("dask.dataframe", extra="dask", feature=feature)


def check_column(data: Any, column: str, role: str) -> None:
    """Raise unless the Dask DataFrame ``data`` has ``column`` (for ``role``)."""
    require_columns([str(c) for c in data.columns], {role: column}, [role])


def by_customer(data: Any, customer: str = "customer", *, npartitions: int | None = None) -> Any:
    """The events of ``data`` hash-partitioned so that each customer is in one partition.

    Parameters
    ----------
    data:
        A Dask DataFrame of events.
    customer:
        The customer id column.
    npartitions:
        Partitions of the result (default: as many as ``data`` has).

    Returns
    -------
    dask.dataframe.DataFrame
        The same rows, lazily shuffled. With a ``distributed`` client the shuffle is
        peer-to-peer and spills to disk, so it runs on data larger than the workers'
        memory. Persist the result to run several scores on one shuffle.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> ev = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1, 2]}), npartitions=2)
    >>> parts = by_customer(ev).to_delayed()
    >>> sorted(len(set(p.compute()["customer"])) for p in parts)
    [1, 1]
    """
    require_dask("by_customer")
    check_column(data, customer, "customer")
    return data.shuffle(on=customer, npartitions=npartitions or data.npartitions)


def max_time(data: Any, column: str) -> np.datetime64 | None:
    """The latest time in a Dask column as ``datetime64[us]`` (None if there is none)."""
    check_column(data, column, "time")
    latest = data[column].max().compute()
    if latest is None or latest != latest:  # NaT or no rows
        return None
    return np.datetime64(latest, "us")


def default_asof(data: Any, time: str, asof: Any) -> Any:
    """``asof`` as given, or the latest event time of ``data`` (the in-memory default)."""
    return asof if asof is not None else max_time(data, time)


def to_pandas(result: Any) -> Any:
    """A score's result (a `ScoreFrame` or a pandas DataFrame) as a pandas DataFrame."""
    return result.to_pandas() if hasattr(result, "to_pandas") else result


def on_stand_in(run: Callable[[Any], Any], data: Any, customer: str | None = None) -> Any:
    """``run`` on Dask's one-row stand-in for ``data``, to learn the result's columns.

    The stand-in holds made-up values (its second row holds missing ones, so only the
    first is used); if ``run`` refuses them (a time of "foo", an unknown touchpoint) it
    runs on the empty frame instead, which also raises the in-memory error for a missing
    column. With ``customer``, a categorical customer column keeps its own customers.
    """
    stand_in = data._meta_nonempty.iloc[:1]
    if customer is not None:
        stand_in = own_customers(stand_in, customer)
    try:
        return run(stand_in)
    except ValidationError:
        return run(data._meta)


def _meta_of(score: Callable[..., Any], data: Any, kwargs: dict[str, Any]) -> Any:
    """The result's empty pandas frame, from the score on Dask's stand-in partition."""
    sample = on_stand_in(lambda part: to_pandas(score(part, **kwargs)), data, kwargs["customer"])
    sample = sample.iloc[:0]
    # an empty id column (from the empty frame) comes back as object; with string ids,
    # give it the type pandas gives the partitions' non-empty ones
    import pandas as pd  # present with Dask's dataframe

    if isinstance(data._meta[kwargs["customer"]].dtype, pd.StringDtype):
        text = pd.DataFrame({"id": np.array(["id"], dtype=object)})["id"].dtype
        for key in {kwargs["customer"], "customer"} & set(sample.columns):
            if sample[key].dtype == object:
                sample[key] = sample[key].astype(text)
    return sample


def conform(out: Any, meta: Any) -> Any:
    """The partition's result with the columns and dtypes of ``meta``."""
    out = out[list(meta.columns)]
    wrong = {c: meta.dtypes[c] for c in meta.columns if out.dtypes[c] != meta.dtypes[c]}
    if wrong:
        out = out.astype(wrong)
    return out


def own_customers(part: Any, customer: str) -> Any:
    """The partition with a categorical customer column cut down to its own customers.

    Every partition of a categorical column carries all the categories; a score would
    give each partition a row for every one of them, so customers without events would
    appear once per partition. They are left out instead (see `per_customer`).
    """
    col = part[customer]
    if getattr(col.dtype, "name", "") == "category":
        part = part.assign(**{customer: col.cat.remove_unused_categories()})
    return part


def _score_partition(
    part: Any, score: Callable[..., Any], kwargs: dict[str, Any], meta: Any
) -> Any:
    if len(part) == 0:
        return meta
    part = own_customers(part, kwargs["customer"])
    return conform(to_pandas(score(part, **kwargs)), meta)


def per_customer(score: Callable[..., Any], data: Any, *, customer: str, **kwargs: Any) -> Any:
    """Run ``score(partition, customer=customer, **kwargs)`` on ``data`` partitioned by customer.

    Returns a lazy Dask DataFrame with one row per customer (index: per partition, not
    meaningful); empty partitions give no rows. ``score`` must be a per-customer score
    whose other inputs are fixed (pass ``asof`` and the like explicitly).

    One difference from memory: with a pandas categorical customer column, categories
    that have no event at all get no row (in memory they get an empty one).
    """
    require_dask(getattr(score, "__name__", "scoring") + " on a Dask DataFrame")
    check_column(data, customer, "customer")
    kwargs = {"customer": customer, **kwargs}
    meta = _meta_of(score, data, kwargs)
    return by_customer(data, customer).map_partitions(
        _score_partition, score, kwargs, meta, meta=meta, align_dataframes=False
    )
