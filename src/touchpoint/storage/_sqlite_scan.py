"""Scanning SQLite's scan cache (``chunk`` blocks) into an `EventFrame`.

Each block is read through an incremental blob handle (``Connection.blobopen``), one
column at a time, and decoded straight into the frame's columns, allocated once for
all blocks: dictionary ids become category codes through a lookup table, event ids
are widened from ASCII bytes to text. No block is held whole in memory, and an
unfiltered scan copies no column twice (a filtered one takes each block's kept rows
first and copies the filled prefix out at the end); the fresh memory of a first
unfiltered scan is about the frame itself (its cost,
and the dictionaries read once per process, are what a first scan spends: see
``benchmarks/README.md``).

Examples
--------
>>> import tempfile, os, numpy as np
>>> from touchpoint.storage.base import Batch
>>> from touchpoint.storage.sqlite import SqliteStorage
>>> store = SqliteStorage(os.path.join(tempfile.mkdtemp(), "shop.db"))
>>> _ = store.append(Batch.from_columns({"event_id": ["e1", "e2"], "customer": ["C1", "C2"],
...     "touchpoint": ["T1", "T2"], "time": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")}))
>>> frame = scan(store, customers=["C2"])
>>> frame["event_id"].tolist(), frame["customer"].tolist()
(['e2'], ['C2'])
>>> store.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint.frame import STANDARD, micros
from touchpoint.storage._pack import (
    LENGTH_SIZE,
    ascii_text,
    code_table,
    header_length,
    parse_header,
)
from touchpoint.storage.base import CATEGORICAL, DIRECTIONS, FLOATS

if TYPE_CHECKING:
    from touchpoint.storage.sqlite import SqliteStorage

__all__ = ["block_columns", "scan"]


def block_columns(
    con: sqlite3.Connection, chunk_id: int, names: Iterable[str]
) -> dict[str, np.ndarray]:
    """The columns ``names`` of scan-cache block ``chunk_id``, each read on its own.

    The block's layout is `touchpoint.storage._pack`'s (a JSON header, then each
    column's bytes); only the header and the wanted columns are read from the blob.
    """
    wanted = set(names)
    out: dict[str, np.ndarray] = {}
    with con.blobopen("chunk", "data", chunk_id, readonly=True) as blob:
        hlen = header_length(blob.read(LENGTH_SIZE))
        base = LENGTH_SIZE + hlen
        for name, dtype, length, offset in parse_header(blob.read(hlen)):
            if name in wanted:
                blob.seek(base + offset)
                out[name] = np.frombuffer(blob.read(length * dtype.itemsize), dtype=dtype)
    return out


def scan(
    store: SqliteStorage,
    *,
    start: Any = None,
    end: Any = None,
    customers: Iterable[str] | None = None,
    touchpoints: Iterable[str] | None = None,
) -> Any:
    from touchpoint.frame import EventFrame

    lo, hi = (None if v is None else micros(v) for v in (start, end))
    sql, params = "SELECT id, n FROM chunk WHERE n > 0", []
    if lo is not None:
        sql += " AND tmax >= ?"
        params.append(lo)
    if hi is not None:
        sql += " AND tmin < ?"
        params.append(hi)
    numeric = ("time", "direction", *FLOATS)
    names = (*CATEGORICAL, *numeric)
    with store._snapshot() as con:  # the blocks and the dictionaries of one state
        blocks = con.execute(sql + " ORDER BY id", params).fetchall()
        dicts = {name: store._categories(name) for name in CATEGORICAL}
        wanted_ids = {
            name: store._lookup(name, wanted)
            for name, wanted in (("customer", customers), ("touchpoint", touchpoints))
            if wanted is not None
        }
        luts = {name: code_table(dicts[name][0]) for name in CATEGORICAL}
        total = sum(n for _, n in blocks)
        # allocated for every row of the blocks; a filter fills a prefix (untouched
        # pages of np.empty take no memory) and the prefix is copied out at the end
        dtypes = {"time": "datetime64[us]"} | dict.fromkeys(FLOATS, np.float64)
        columns = {name: np.empty(total, dtype=dtypes.get(name, np.int64)) for name in names}
        event_ids: list[np.ndarray] = []
        filled = 0
        for chunk_id, _ in blocks:  # a loop over blocks (200k rows each for large batches)
            block = block_columns(con, chunk_id, ("event_id", *names))
            keep = None
            if lo is not None or hi is not None:
                t = block["time"]
                keep = np.ones(len(t), dtype=bool)
                if lo is not None:
                    keep &= t >= lo
                if hi is not None:
                    keep &= t < hi
            for name, wanted_id in wanted_ids.items():
                hit = np.isin(block[name], wanted_id)
                keep = hit if keep is None else keep & hit
            if keep is not None:
                block = {k: v[keep] for k, v in block.items()}
            m = len(block["time"])
            part = slice(filled, filled + m)
            for name in CATEGORICAL:
                np.take(luts[name], block[name], out=columns[name][part])
            columns["time"][part] = block["time"].view("datetime64[us]")
            for name in ("direction", *FLOATS):
                columns[name][part] = block[name]
            event_ids.append(block["event_id"])
            filled += m
    if filled < total:
        columns = {k: v[:filled].copy() for k, v in columns.items()}
    width = max((e.dtype.itemsize for e in event_ids), default=1)
    columns["event_id"] = np.empty(filled, dtype=f"<U{width}")
    at = 0
    for piece in event_ids:  # widened block by block into the text column
        ascii_text(piece, out=columns["event_id"][at : at + len(piece)])
        at += len(piece)
    categories: dict[str, np.ndarray] = {name: dicts[name][1] for name in CATEGORICAL}
    categories["direction"] = DIRECTIONS.copy()
    return EventFrame({k: columns[k] for k in STANDARD}, categories)
