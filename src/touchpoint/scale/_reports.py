"""Reports of several tables on a Dask DataFrame: row positions, one score per partition.

`touchpoint.scale._dask.per_customer` covers a score with one table out. A score that
returns a report of several tables (`compliance`: summary and breaches;
`loyalty_programme`: balances and transitions), or that names input rows in its result
or its errors, needs a little more, and this module gives it, still running the
in-memory score itself on each partition:

- `positioned`: each event's position in the whole input (partition lengths, then
  offsets) in a column `ROW`, and the latest event time, in one pass over the data;
- `partition_results`: the events partitioned by customer, each partition put back in
  input order (so every customer's events are in the order the in-memory score sees
  them) and scored; row positions in errors are mapped back to input positions;
- `frame_of`: one table of those per-partition results as a lazy Dask DataFrame.

Examples
--------
>>> import pandas as pd, dask.dataframe as dd
>>> ev = dd.from_pandas(pd.DataFrame({"customer": [1, 2, 1]}), npartitions=2)
>>> rows, _ = positioned(ev)
>>> rows.compute()[ROW].tolist()
[0, 1, 2]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import ValidationError
from touchpoint.scale._dask import (
    by_customer,
    check_column,
    on_stand_in,
    own_customers,
    require_dask,
)

__all__ = [
    "ROW",
    "frame_of",
    "meta_of",
    "partition_results",
    "plain",
    "positioned",
    "relocated",
]

#: The column holding each event's position in the whole input.
ROW = "__touchpoint_row__"

_AT = re.compile(r"^(.*)\[(\d+)\]$")


def positioned(data: Any, time: str | None = None) -> tuple[Any, np.datetime64 | None]:
    """``data`` with a `ROW` column (position in the input), and the latest ``time``.

    One eager pass computes the partition lengths (and the maximum of ``time`` when
    given); the numbering itself is lazy. The latest time is ``datetime64[us]``, or
    None without any time.
    """
    require_dask("row positions")
    import dask

    todo = [data.map_partitions(len)]
    if time is not None:
        check_column(data, time, "time")
        todo.append(data[time].max())
    got = dask.compute(*todo)
    lengths = np.asarray(got[0], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    meta = data._meta.assign(**{ROW: np.empty(0, dtype=np.int64)})
    numbered = data.map_partitions(_number, offsets, partition_info=True, meta=meta)
    latest = None
    if time is not None and got[1] is not None and got[1] == got[1]:  # not NaT
        latest = np.datetime64(got[1], "us")
    return numbered, latest


def _number(part: Any, offsets: np.ndarray, partition_info: dict[str, Any] | None = None) -> Any:
    start = int(offsets[partition_info["number"]]) if partition_info else 0
    return part.assign(**{ROW: np.arange(start, start + len(part), dtype=np.int64)})


def relocated(error: ValidationError, rows: np.ndarray) -> ValidationError:
    """``error`` with row positions in its paths (``amount[3]``) mapped through ``rows``."""
    problems = []
    for p in error.problems:
        m = _AT.match(p.path)
        if m is not None and int(m.group(2)) < len(rows):
            p = attrs.evolve(p, path=f"{m.group(1)}[{int(rows[int(m.group(2))])}]")
        problems.append(p)
    return type(error)(problems, source=error.source)


def meta_of(run: Callable[[Any, np.ndarray], tuple[Any, ...]], data: Any) -> tuple[Any, ...]:
    """``run``'s results on Dask's one-row stand-in for ``data`` (not emptied).

    If the stand-in is refused (its made-up values break a rule), ``run`` on the empty
    frame: that raises the in-memory error for a missing column, naming it. Take
    ``.iloc[:0]`` of a result for the meta of its table.
    """
    result: tuple[Any, ...] = on_stand_in(
        lambda part: run(part, np.zeros(len(part), dtype=np.int64)), data
    )
    return result


def partition_results(
    numbered: Any,
    customer: str,
    run: Callable[..., tuple[Any, ...]],
    empty: tuple[Any, ...],
    *args: Any,
) -> list[tuple[Any, ...]]:
    """``run(events, rows, *args)`` on each partition of ``numbered`` by customer (lazy).

    ``numbered`` comes from `positioned`. Each partition's events are sorted back into
    input order and given to ``run`` without the `ROW` column (a categorical customer
    column keeps only its own customers); ``rows`` holds their input positions. An empty partition gives ``empty``. Returns one tuple of Delayed
    results per partition.
    """
    import dask

    parts = by_customer(numbered, customer).to_delayed()
    call = dask.delayed(_on_partition, nout=len(empty), pure=True)
    return [call(p, customer, run, empty, *args) for p in parts]


def _on_partition(
    part: Any, customer: str, run: Callable[..., Any], empty: tuple[Any, ...], *args: Any
) -> Any:
    if len(part) == 0:
        return empty
    # a categorical customer column keeps only the partition's own customers
    part = own_customers(part.sort_values(ROW, kind="stable"), customer)
    rows = part[ROW].to_numpy(dtype=np.int64)
    events = part.drop(columns=ROW).reset_index(drop=True)
    try:
        return run(events, rows, *args)
    except ValidationError as e:
        raise relocated(e, rows) from None


def frame_of(results: list[tuple[Any, ...]], i: int, meta: Any) -> Any:
    """Table ``i`` of every partition's results as one lazy Dask DataFrame."""
    dd = require_dask("reports on a Dask DataFrame")
    return dd.from_delayed([r[i] for r in results], meta=meta, verify_meta=False)


def plain(column: Any) -> Any:
    """A categorical pandas column as its values (dtype of its categories when it can)."""
    if not hasattr(column, "cat"):
        return column
    try:
        return column.astype(column.cat.categories.dtype)
    except (TypeError, ValueError):  # missing values in integer categories
        return column.astype(object)
