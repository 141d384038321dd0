"""Events from a Parquet dataset, in memory (pyarrow) or as a Dask DataFrame.

`read_parquet` reads one Parquet file or a directory of them, partitioned the Hive way
(``month=2026-01/part-0.parquet``) or not, and hands the events over with the column
conventions of every other input (`touchpoint.frame`): columns renamed to their
standard names (``customer="cust_id"``), times as ``datetime64[us]`` naive UTC,
amounts, ratings and response times as float64 with NaN for missing. In memory the
result is an `EventFrame` (customer and other categorical columns coded once); with
``dask=True`` it is a lazy Dask DataFrame of the same columns, ready for the scores
(`touchpoint.scale`), read partition by partition, so the dataset may be larger than
memory.

Only the columns asked for are read, and filters are pushed down to the files: a
filter on a partition column skips whole directories, one on a stored column skips row
groups by their statistics. Partition columns come back as categorical columns (coded
in an `EventFrame`, ``category`` in Dask). pyarrow (extra ``dataframes`` or ``dask``) and
Dask (extra ``dask``) are imported only when this runs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    FLOAT_NAMES,
    STANDARD,
    TIME_NAMES,
    EventFrame,
    naive_utc,
    naive_utc_series,
)

__all__ = ["read_parquet"]

_OPS = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "in", "not in"})


def read_parquet(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[Any] | None = None,
    dask: bool = False,
    **names: str | None,
) -> Any:
    """Read events from a Parquet file or a (Hive-partitioned) directory of Parquet files.

    Parameters
    ----------
    path:
        A ``.parquet`` file, or a directory of them; subdirectories named
        ``key=value`` (``month=2026-01``) add a column ``key``. Files whose names start
        with ``_`` or ``.`` are skipped.
    columns:
        The columns to read, by their names in the result (standard names such as
        ``"customer"``, or a column's own name in the files). Default: every column.
    filters:
        Rows to keep, as pyarrow and Dask take them: a list of ``(column, op, value)``
        tuples that must all hold, or a list of such lists of which one must hold; ``op``
        is one of ``=``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``
        (for the last two, ``value`` is a list). Columns are named as in the result;
        values for times may be dates, datetimes, ``datetime64`` or ISO text (naive
        means UTC). Filters on partition columns skip whole directories.
    dask:
        False: read into memory and return an `EventFrame`. True: return a lazy Dask
        DataFrame read partition by partition (needs the ``dask`` extra).
    **names:
        Standard name -> column in the files (``customer="cust_id", time="ts"``), as for
        `EventFrame.from_data`; standard columns stored under their own name need none
        (None: as if not given).

    Returns
    -------
    EventFrame or dask.dataframe.DataFrame
        The events. Columns: the standard ones first (in `touchpoint.frame.STANDARD`
        order), then the others as stored, partition columns last; times
        ``datetime64[us]`` naive UTC, amounts and other float columns float64, on both
        paths. The `EventFrame` codes customer ids and the other categorical columns;
        the Dask DataFrame keeps their stored types (partition columns: ``category``).

    Raises
    ------
    touchpoint.errors.ValidationError
        No such file or directory; a named column, a column in ``columns`` or in
        ``filters`` missing (the message lists the available ones); a malformed filter.
    touchpoint.errors.MissingExtraError
        pyarrow, or for ``dask=True`` Dask, is not installed.

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from pathlib import Path
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from touchpoint.scoring import rfm
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for month, rows in {"2026-01": ([1, 2], [5.0, 3.0]), "2026-02": ([1], [7.0])}.items():
    ...     ts = pa.array([dt.datetime(2026, int(month[-2:]), 9)] * len(rows[0]))
    ...     Path(tmp.name, f"month={month}").mkdir()
    ...     pq.write_table(pa.table({"cust_id": rows[0], "ts": ts, "paid": rows[1]}),
    ...                    Path(tmp.name, f"month={month}", "part-0.parquet"))
    >>> events = read_parquet(tmp.name, customer="cust_id", time="ts", amount="paid")
    >>> events.column_names, events["month"].tolist()
    (['customer', 'time', 'amount', 'month'], ['2026-01', '2026-01', '2026-02'])
    >>> rfm(events, asof="2026-03-01")["monetary"].tolist()
    [12.0, 3.0]
    >>> few = read_parquet(tmp.name, columns=["customer", "amount"],
    ...                    filters=[("month", ">=", "2026-02")], customer="cust_id", amount="paid")
    >>> few["customer"].tolist(), few["amount"].tolist()
    ([1], [7.0])
    >>> tmp.cleanup()
    """
    feature = "read_parquet" + (" with dask=True" if dask else "")
    extra = "dask" if dask else "dataframes"
    ds = require("pyarrow.dataset", extra=extra, feature=feature)
    source = _check_path(path)
    dataset = _dataset(ds, source)
    schema = dataset.schema
    partition_columns = _partition_columns(dataset)
    given = {logical: column for logical, column in names.items() if column is not None}
    plan = _plan(list(schema.names), partition_columns, columns, given)
    dnf = _filters(filters, plan.logical_to_file, schema)
    if dask:
        return _read_dask(source, plan, dnf, feature)
    return _read_memory(ds, dataset, plan, dnf, partition_columns)


# --------------------------------------------------------------------------- the plan


class _Plan:
    """Which file columns to read, in which order, under which logical names."""

    __slots__ = ("logical_to_file", "read")

    def __init__(self, read: list[tuple[str, str]], logical_to_file: dict[str, str]) -> None:
        self.read = read  # (file column, logical name), in result order
        self.logical_to_file = logical_to_file

    @property
    def file_columns(self) -> list[str]:
        return [f for f, _ in self.read]

    @property
    def rename(self) -> dict[str, str]:
        return {f: logical for f, logical in self.read if f != logical}


def _available(names: Sequence[str]) -> str:
    return ", ".join(map(repr, names)) or "none"


def _plan(
    stored: list[str],
    partition_columns: list[str],
    columns: Sequence[str] | str | None,
    names: Mapping[str, Any],
) -> _Plan:
    problems: list[Problem] = []
    for logical, column in names.items():
        if not isinstance(column, str):
            problems.append(Problem(logical, "must name a column (a string)", column))
        elif column not in stored:
            problems.append(
                Problem(
                    column,
                    f"no such column for {logical!r} (available: {_available(stored)})",
                    column,
                )
            )
    if problems:
        raise ValidationError(problems)
    # logical name -> file column: the names given, standard columns under their own
    # name, every other column under its own name unless a name given took it over
    renamed = set(names.values())
    mapping: dict[str, str] = dict(names)
    for column in stored:
        if column not in renamed and column not in mapping:
            mapping[column] = column
    standard = [n for n in STANDARD if n in mapping]
    partitions = [n for n in mapping if mapping[n] in partition_columns and n not in standard]
    order = standard + [n for n in mapping if n not in standard and n not in partitions]
    order += partitions
    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        back = {file: logical for logical, file in mapping.items()}
        wanted: list[str] = []
        for i, name in enumerate(columns):
            found: str | None = name if name in mapping else back.get(name)
            if found is None:
                problems.append(
                    Problem(
                        f"columns[{i}]",
                        f"no such column (available: {_available(order)})",
                        name,
                    )
                )
            elif found not in wanted:
                wanted.append(found)
        if problems:
            raise ValidationError(problems)
        order = [n for n in order if n in wanted]
    return _Plan([(mapping[n], n) for n in order], mapping)


# --------------------------------------------------------------------------- path, filters


def _check_path(path: Any) -> str:
    if not isinstance(path, str | os.PathLike):
        raise ValidationError(
            [Problem("path", "must be a file or directory path", type(path).__name__)]
        )
    source = os.fspath(path)
    if "://" not in source and not Path(source).exists():
        raise ValidationError([Problem("path", "no such file or directory", source)])
    return source


def _dataset(ds: Any, source: str) -> Any:
    partitioning = ds.HivePartitioning.discover(infer_dictionary=True)
    try:
        return ds.dataset(source, format="parquet", partitioning=partitioning)
    except (OSError, ValueError) as exc:  # not Parquet, unreadable, mixed schemas
        raise ValidationError([Problem("path", f"cannot read as Parquet: {exc}", source)]) from None


def _partition_columns(dataset: Any) -> list[str]:
    partitioning = getattr(dataset, "partitioning", None)
    schema = getattr(partitioning, "schema", None)
    return list(schema.names) if schema is not None else []


def _filters(
    filters: Sequence[Any] | None, logical_to_file: Mapping[str, str], schema: Any
) -> list[list[tuple[str, str, Any]]] | None:
    """Filters in disjunctive normal form, on file column names, time values normalised."""
    if filters is None:
        return None
    if not isinstance(filters, list | tuple) or not filters:
        raise ValidationError(
            [Problem("filters", "must be a non-empty list of (column, op, value)", filters)]
        )
    nested = all(isinstance(f, list) for f in filters)
    groups = list(filters) if nested else [list(filters)]
    problems: list[Problem] = []
    out: list[list[tuple[str, str, Any]]] = []
    for g, group in enumerate(groups):
        clause: list[tuple[str, str, Any]] = []
        for i, item in enumerate(group):
            where = f"filters[{g}][{i}]" if nested else f"filters[{i}]"
            if not isinstance(item, tuple | list) or len(item) != 3:
                problems.append(Problem(where, "must be a (column, op, value) tuple", item))
                continue
            name, op, value = item
            column = logical_to_file.get(name)
            if column is None:
                shown = _available(list(logical_to_file))
                problems.append(Problem(where, f"no such column (available: {shown})", name))
                continue
            if op not in _OPS:
                problems.append(
                    Problem(where, f"unknown operator (one of {', '.join(sorted(_OPS))})", op)
                )
                continue
            if op in ("in", "not in") and not isinstance(value, list | tuple | set | frozenset):
                problems.append(Problem(where, f"{op!r} takes a list of values", value))
                continue
            field = schema.field(column)
            if name in TIME_NAMES or _is_timestamp(field.type):
                try:
                    value = _time_value(value, field.type, op)
                except (TypeError, ValueError):
                    problems.append(Problem(where, "cannot read as a time", value))
                    continue
            clause.append((column, op, value))
        out.append(clause)
    if problems:
        raise ValidationError(problems)
    return out


def _is_timestamp(typ: Any) -> bool:
    return str(typ).startswith("timestamp")


def _time_value(value: Any, typ: Any, op: str) -> Any:
    if op in ("in", "not in"):
        return [_time_value(v, typ, "=") for v in value]
    if not _is_timestamp(typ):
        return value
    when = np.datetime64(naive_utc(value), "us")
    if np.isnat(when):
        raise ValueError("NaT")
    out = when.astype(dt.datetime)
    return out.replace(tzinfo=dt.UTC) if getattr(typ, "tz", None) else out


# --------------------------------------------------------------------------- in memory


def _read_memory(
    ds: Any, dataset: Any, plan: _Plan, dnf: Any, partition_columns: list[str]
) -> EventFrame:
    pq = require("pyarrow.parquet", extra="dataframes", feature="read_parquet")
    expression = pq.filters_to_expression(dnf) if dnf is not None else None
    table = dataset.to_table(columns=plan.file_columns, filter=expression)
    table = table.rename_columns([logical for _, logical in plan.read])
    # partition columns (dictionary-coded by discovery) stay coded: one int per row
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for file, logical in plan.read:
        if file in partition_columns and logical not in STANDARD:
            coded[logical] = _dictionary_codes(table.column(logical))
            table = table.drop_columns([logical])
    frame = EventFrame.from_data(table)
    if not coded:
        return frame
    columns = dict(frame.columns)
    categories = dict(frame.categories)
    for logical, (codes, values) in coded.items():
        columns[logical], categories[logical] = codes, values
    order = [logical for _, logical in plan.read]
    return EventFrame({n: columns[n] for n in order}, categories)


def _dictionary_codes(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """Codes and values of a dictionary-encoded Arrow column (one dictionary for all chunks)."""
    pa = require("pyarrow", extra="dataframes", feature="read_parquet")
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    values = column.chunk(0).dictionary.to_numpy(zero_copy_only=False)
    indices = pa.chunked_array([c.indices for c in column.chunks], type=column.type.index_type)
    codes = indices.cast(pa.int64()).fill_null(-1).to_numpy()
    if values.dtype.kind in "US":
        values = values.astype(object)
    return codes, values


# --------------------------------------------------------------------------- with Dask


def _read_dask(source: str, plan: _Plan, dnf: Any, feature: str) -> Any:
    from touchpoint.scale._dask import require_dask

    dd = require_dask(feature)
    frame = dd.read_parquet(source, columns=plan.file_columns, filters=dnf)
    rename = plan.rename
    kinds = {
        logical: ("time" if logical in TIME_NAMES else "float")
        for _, logical in plan.read
        if logical in TIME_NAMES or logical in FLOAT_NAMES
    }
    meta = _standard_columns(frame._meta, rename, kinds)
    return frame.map_partitions(_standard_columns, rename, kinds, meta=meta)


def _standard_columns(part: Any, rename: dict[str, str], kinds: dict[str, str]) -> Any:
    """One pandas partition with logical names, times naive UTC ``[us]``, floats float64."""
    pd = require("pandas", extra="dask", feature="read_parquet with dask=True")
    part = part.rename(columns=rename) if rename else part
    changed = {}
    for name, kind in kinds.items():
        col = original = part[name]
        if kind == "time":
            if getattr(col.dtype, "tz", None) is not None:
                col = naive_utc_series(col)
            elif col.dtype.kind != "M":
                col = naive_utc_series(pd.to_datetime(col, utc=True, format="ISO8601"))
            if col.dtype != "datetime64[us]":
                col = col.astype("datetime64[us]")
        elif col.dtype != np.float64:
            col = pd.Series(col.to_numpy(dtype=np.float64, na_value=np.nan), index=col.index)
        if col is not original:
            changed[name] = col
    return part.assign(**changed) if changed else part
