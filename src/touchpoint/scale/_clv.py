"""Customer lifetime value on Dask: summaries per partition, fits in memory, predictions back.

- `summary_on_dask`: `customer_summary` of a Dask DataFrame of purchases. The default end
  of the observation period (the last purchase day of all the data) is a reduction
  computed first; then the purchases are shuffled by customer and every partition is
  summarised by the in-memory code (`touchpoint.clv._summary.partition_summary`).
- `collect`: the few summary columns a model's ``fit`` needs, computed into memory (a
  summary of tens of millions of customers fits in memory even when their purchases do
  not); the model is then fitted exactly as in memory.
- `per_partition`: a model's prediction written back per partition with
  ``map_partitions``: a lazy Dask Series aligned with the summary's rows.

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

from touchpoint.clv._columns import times
from touchpoint.clv._summary import partition_summary
from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._dask import check_column, max_time, per_customer, require_dask

__all__ = ["collect", "end_day", "per_partition", "summary_on_dask"]


def end_day(data: Any, time: str, end: Any) -> np.datetime64:
    """The day the observation period ends, checked against the data as in memory.

    ``end`` given: that day, provided some purchase falls on or before it (the earliest
    time is a reduction). ``end`` None: the day of the last purchase (a reduction).
    """
    if end is None:
        latest = max_time(data, time)
        if latest is None:
            raise ValidationError([Problem("data", "no transactions")])
        return latest.astype("datetime64[D]")
    day = times(np.asarray([end]), "observation_end").astype("datetime64[D]")[0]
    earliest = data[time].min().compute()
    if earliest is None or earliest != earliest or _day(earliest, time) > day:
        raise ValidationError(
            [Problem("observation_end", "no transaction on or before it", str(day))]
        )
    return day


def _day(value: Any, time: str) -> np.datetime64:
    return times(np.asarray([value]), f"data[{time!r}]").astype("datetime64[D]")[0]


def summary_on_dask(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    observation_end: Any,
    unit: str,
) -> Any:
    """`customer_summary` of a Dask DataFrame: a lazy Dask DataFrame, one row per customer."""
    require_dask("customer_summary on a Dask DataFrame")
    check_column(data, customer, "customer")
    check_column(data, time, "time")
    end = end_day(data, time, observation_end)
    return per_customer(
        partition_summary,
        data,
        customer=customer,
        time=time,
        amount=amount,
        observation_end=end,
        unit=unit,
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


def _predict(part: Any, predict: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> Any:
    import pandas as pd

    if len(part) == 0:
        return pd.Series(np.zeros(0), index=part.index, name=name)
    values = np.asarray(predict(*args, summary=part, **kwargs), dtype=np.float64)
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
