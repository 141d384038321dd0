"""Scanning SQLite's scan cache (``chunk`` blocks) into an `EventFrame`.

Each block is read through an incremental blob handle (``Connection.blobopen``), one
column at a time, and decoded straight into the frame's columns, allocated once for
all blocks: dictionary ids become category codes through a lookup table, event ids
are widened from ASCII bytes to text. No block is held whole in memory, and an
unfiltered scan copies no column twice. A filtered one reads a block's filter columns
(time, customer or touchpoint ids) first, through the same blob handle, reads nothing
more of a block it keeps no row of, writes the kept rows into the columns' prefix and
copies the filled prefix out at the end. The fresh memory of a first unfiltered scan
is about the frame itself (its cost, and the dictionaries read once per process, are
what a first scan spends: see ``benchmarks/README.md``).

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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

__all__ = ["open_block", "scan"]


class _Block:
    """An open scan-cache block whose columns are read on demand (`open_block`)."""

    def __init__(self, blob: Any) -> None:
        self._blob = blob
        hlen = header_length(blob.read(LENGTH_SIZE))
        self._base = LENGTH_SIZE + hlen
        self._layout = {
            name: (dtype, length, offset)
            for name, dtype, length, offset in parse_header(blob.read(hlen))
        }

    def read(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """The columns ``names`` (those the block has), each read on its own."""
        out: dict[str, np.ndarray] = {}
        for name in names:  # a dozen columns at most
            if name in self._layout:
                dtype, length, offset = self._layout[name]
                self._blob.seek(self._base + offset)
                out[name] = np.frombuffer(self._blob.read(length * dtype.itemsize), dtype=dtype)
        return out


@contextmanager
def open_block(con: sqlite3.Connection, chunk_id: int) -> Iterator[_Block]:
    """Scan-cache block ``chunk_id`` through one blob handle, read column by column.

    The block's layout is `touchpoint.storage._pack`'s (a JSON header, then each
    column's bytes); only the header and the columns asked for are read. One handle
    serves every read of the block (a scan that opened a second one per block was
    slower: ``benchmarks/prototypes/sqlite_filtered_scan.py``).
    """
    with con.blobopen("chunk", "data", chunk_id, readonly=True) as blob:
        yield _Block(blob)


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
        filtered = lo is not None or hi is not None or bool(wanted_ids)
        total = sum(n for _, n in blocks)
        # allocated for every row of the blocks; a filter fills a prefix (untouched
        # pages of np.empty take no memory) and the prefix is copied out at the end
        dtypes = {"time": "datetime64[us]"} | dict.fromkeys(FLOATS, np.float64)
        columns = {name: np.empty(total, dtype=dtypes.get(name, np.int64)) for name in names}
        event_ids: list[np.ndarray] = []
        filled = 0
        for chunk_id, n in blocks:  # a loop over blocks (200k rows each for large batches)
            with open_block(con, chunk_id) as reader:
                block, keep, m = {}, None, n
                if filtered:  # the filter's columns first
                    block = reader.read(("time", *wanted_ids))
                    keep = _kept(block, lo, hi, wanted_ids)
                    m = int(np.count_nonzero(keep))
                    if m == 0:
                        continue  # nothing kept: the block's other columns are not read
                    if m == len(keep):
                        keep = None  # every row kept
                block |= reader.read(name for name in ("event_id", *names) if name not in block)
            part = slice(filled, filled + m)
            for name in CATEGORICAL:  # dictionary ids (of the kept rows) to codes
                ids = block[name] if keep is None else block[name][keep]
                np.take(luts[name], ids, out=columns[name][part])
            for name in numeric:  # copied once: all rows, or the kept ones
                out = columns[name][part]
                values = block[name].view(out.dtype) if name == "time" else block[name]
                if keep is None:
                    out[:] = values
                elif values.dtype == out.dtype:
                    np.compress(keep, values, out=out)
                else:  # a narrower stored type (direction): widened as it is copied
                    out[:] = values[keep]
            event_ids.append(block["event_id"] if keep is None else block["event_id"][keep])
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


def _kept(
    block: dict[str, np.ndarray],
    lo: int | None,
    hi: int | None,
    wanted_ids: dict[str, np.ndarray],
) -> np.ndarray:
    """The rows of a block inside ``[lo, hi)`` whose customer and touchpoint are wanted."""
    t = block["time"]
    keep = np.ones(len(t), dtype=bool)
    if lo is not None:
        keep &= t >= lo
    if hi is not None:
        keep &= t < hi
    for name, wanted_id in wanted_ids.items():  # customer, touchpoint
        keep &= np.isin(block[name], wanted_id)
    return keep
