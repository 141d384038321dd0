"""Scanning PostgreSQL interactions into an `EventFrame` through binary ``COPY``.

One read-only ``REPEATABLE READ`` transaction (one snapshot) reads the event table block
by block: ``ctid`` ranges of `SCAN_PAGES` pages, each one binary ``COPY`` row whose
fields aggregate the block's interactions: ``array_agg`` of every integer, time and
float column (missing ids as -1, missing numbers as NaN, so no array has a NULL element)
and the block's event ids concatenated, with their lengths. Numpy reads each array as
one strided view and writes it, byte-swapped, into the output column; no Python object
is made per interaction. The categories are then read from the dimension tables (the
ids the rows use), in the same snapshot.

Rows come in storage order: block by block, and within a block in the table's physical
order (the order of insertion until an erasure frees space that later rows reuse).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint.frame import STANDARD, micros
from touchpoint.storage._pack import code_table
from touchpoint.storage._postgres_append import PG_EPOCH_US
from touchpoint.storage._postgres_copy import read_copy_row, texts
from touchpoint.storage._postgres_dims import categories
from touchpoint.storage.base import CATEGORICAL, DIRECTIONS, FLOATS

if TYPE_CHECKING:
    from touchpoint.storage.postgres import PostgresStorage

__all__ = ["SCAN_PAGES", "scan"]

#: Table pages read per block (about 60 interactions a page).
SCAN_PAGES = 4096
#: (column, wire type, output type) of the fixed-width fields after the event ids.
_FIELDS = (
    *[(name, ">i4", np.int64) for name in CATEGORICAL],
    ("time", ">i8", np.int64),
    ("direction", ">i2", np.int64),
    *[(name, ">f8", np.float64) for name in FLOATS],
)
_AGGREGATES = ", ".join(
    [f"array_agg(coalesce({name}, -1))" for name in CATEGORICAL]
    + ["array_agg(time)", "array_agg(direction)"]
    + [f"array_agg(coalesce({name}, 'NaN'))" for name in FLOATS]
)


def _timestamp(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)


def _elements(blob: Any, wire: str) -> np.ndarray:
    """The elements of a binary one-dimensional array without NULLs, as a big-endian view."""
    header = np.frombuffer(blob, dtype=">i4", count=3)
    if header[0] == 0:
        return np.empty(0, dtype=wire)
    count = int(np.frombuffer(blob, dtype=">i4", count=1, offset=12)[0])
    items = np.frombuffer(
        blob, dtype=np.dtype([("len", ">i4"), ("val", wire)]), count=count, offset=20
    )
    return items["val"]


def scan(
    store: PostgresStorage,
    *,
    start: Any = None,
    end: Any = None,
    customers: Iterable[str] | None = None,
    touchpoints: Iterable[str] | None = None,
) -> Any:
    from touchpoint.frame import EventFrame

    lo, hi = (None if v is None else micros(v) for v in (start, end))
    where: list[str] = []
    params: list[Any] = []
    if lo is not None:
        where.append("time >= %s")
        params.append(_timestamp(lo))
    if hi is not None:
        where.append("time < %s")
        params.append(_timestamp(hi))
    filtered = bool(where)
    with store._snapshot() as con:
        for name, wanted in (("customer", customers), ("touchpoint", touchpoints)):
            if wanted is not None:
                values = [str(v) for v in wanted]  # the ids asked for
                ids = [
                    r[0]
                    for r in con.execute(
                        f"SELECT id FROM dim_{name} WHERE value = ANY(%s::text[])", [values]
                    ).fetchall()
                ]
                where.append(f"{name} = ANY(%s::integer[])")
                params.append(ids)
                filtered = True
        pages = int(
            con.execute(
                "SELECT pg_relation_size('event') / current_setting('block_size')::bigint"
            ).fetchone()[0]
        )
        blocks = _read_blocks(con, pages, " AND ".join(where), params)
        cols = _assemble(blocks)
        columns: dict[str, np.ndarray] = {"event_id": cols["event_id"].astype("U")}
        cats: dict[str, np.ndarray] = {}
        for name in CATEGORICAL:  # eight dimension tables
            codes = cols[name]
            used = None
            if filtered and len(codes):
                used = np.flatnonzero(np.bincount(codes + 1)[1:])
            ids, values = (
                categories(con, name, used)
                if len(codes)
                else (np.empty(0, np.int64), np.empty(0, object))
            )
            lut = code_table(ids, top=int(codes.max()) if len(codes) else 0)
            columns[name] = lut[codes]  # -1 (missing) reads the last slot, which stays -1
            cats[name] = values
    columns["time"] = cols["time"].view("datetime64[us]")
    columns["direction"] = cols["direction"]
    cats["direction"] = DIRECTIONS.copy()
    for name in FLOATS:
        columns[name] = cols[name]
    return EventFrame({k: columns[k] for k in STANDARD}, cats)


def _read_blocks(
    con: Any, pages: int, where: str, params: list[Any]
) -> list[dict[str, np.ndarray]]:
    """The columns of every non-empty block of `SCAN_PAGES` pages, in table order.

    Each block is decoded as soon as it arrives (its wire bytes are dropped then): event
    ids as fixed-width bytes, ids as int32, times as int64 microseconds since 2000.
    """
    sql = (
        "COPY (SELECT count(*), string_agg(textsend(event_id), ''::bytea), "
        f"array_agg(octet_length(event_id)), {_AGGREGATES} FROM event "
        "WHERE ctid >= %s::tid AND ctid < %s::tid"
        + (f" AND {where}" if where else "")
        + ") TO STDOUT (FORMAT BINARY)"
    )
    out = []
    for first in range(0, max(pages, 1), SCAN_PAGES):  # one query per block of pages
        # the last block is open-ended: rows of pages added since the size was read
        # are not in this snapshot anyway, but nothing is left out if they were
        stop = f"({first + SCAN_PAGES},0)" if first + SCAN_PAGES < pages else "(4294967294,0)"
        with con.cursor().copy(sql, [f"({first},0)", stop, *params]) as copy:
            data = b"".join(bytes(c) for c in copy)
        fields = read_copy_row(data)
        if not int.from_bytes(bytes(fields[0]), "big", signed=True):
            continue
        block = {"event_id": texts(fields[1], _elements(fields[2], ">i4"))}
        for i, (name, wire, kind) in enumerate(_FIELDS):  # a dozen columns
            block[name] = _elements(fields[3 + i], wire).astype(np.int32 if wire == ">i4" else kind)
        out.append(block)
        del data, fields
    return out


def _assemble(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One column per field over all blocks, joined one column at a time (to bound memory)."""
    cols: dict[str, np.ndarray] = {}
    if not blocks:
        cols = {name: np.empty(0, dtype=kind) for name, _, kind in _FIELDS}
        cols["event_id"] = np.empty(0, dtype="S1")
        return cols
    width = max(b["event_id"].dtype.itemsize for b in blocks)
    for name in ("event_id", *(f[0] for f in _FIELDS)):  # a dozen columns
        parts = [b.pop(name) for b in blocks]
        if name == "event_id":
            parts = [p.astype(f"S{width}") for p in parts]
        cols[name] = np.concatenate(parts).astype(
            np.int64 if name in CATEGORICAL else parts[0].dtype, copy=False
        )
        del parts
    cols["time"] += PG_EPOCH_US  # PostgreSQL counts microseconds from 2000-01-01
    return cols
