"""Appending a `Batch` to SQLite and scanning it back, as columns.

Append, inside the caller's write transaction:

1. rows whose customer (or referrer) was forgotten are ``SUPPRESSED``;
2. a row repeating an earlier row's event id in the same batch is a ``DUPLICATE`` if
   its values are equal, a ``CONFLICT`` otherwise;
3. the distinct values of each categorical column are mapped to dictionary ids once;
4. the event ids go into ``event_key`` with ``INSERT ... ON CONFLICT(event_id) DO
   NOTHING``; when fewer rows went in than were offered, the stored rows of the others
   are compared column by column: equal is a ``DUPLICATE``, different a ``CONFLICT``;
5. the accepted rows are written as one column block (merged into the last block while
   that stays small); conflicts and suppressed rows go to quarantine (or the whole batch
   is refused), with one ``batch`` row for the audit trail.

Every step works on numpy arrays; the only per-row Python work is building the
parameter tuples sqlite3 needs for the event-id insert.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint.errors import Problem
from touchpoint.frame import STANDARD
from touchpoint.storage._pack import pack, unpack
from touchpoint.storage.base import (
    CATEGORICAL,
    DIRECTIONS,
    FLOATS,
    AppendResult,
    AppendStatus,
    Batch,
    Rejection,
)

if TYPE_CHECKING:
    from touchpoint.storage.sqlite import SqliteStorage

__all__ = ["append", "scan"]

CHUNK_ROWS = 4096
#: The columns of a stored block, in order.
STORED = ("event_id", *CATEGORICAL, "time", "direction", *FLOATS)
_EPOCH = np.datetime64(0, "us")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _equal(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[list[str]]]:
    """Row-wise equality of two stored-column dicts, and the differing columns of each row."""
    n = len(a["time"])
    same = np.ones(n, dtype=bool)
    diff_cols = []
    names = [k for k in STORED[1:] if k in a]
    for name in names:
        x, y = a[name], b[name]
        eq = (x == y) | (np.isnan(x) & np.isnan(y)) if name in FLOATS else x == y
        diff_cols.append(~eq)
        same &= eq
    differing = [
        [names[j] for j in range(len(names)) if diff_cols[j][i]] for i in np.flatnonzero(~same)
    ]
    return same, differing


def _stored_columns(
    store: SqliteStorage, con: sqlite3.Connection, batch: Batch, rows: np.ndarray
) -> dict[str, np.ndarray]:
    """The ``rows`` of ``batch`` as they are stored: dictionary ids instead of codes."""
    out: dict[str, np.ndarray] = {"event_id": batch.event_id[rows]}
    for name in CATEGORICAL:
        codes = batch.codes[name][rows]
        used = np.unique(codes[codes >= 0])
        lut = np.full(len(batch.categories[name]) + 1, -1, dtype=np.int64)
        if len(used):
            lut[used] = store._ids(con, name, batch.categories[name][used].tolist())
        out[name] = lut[codes].astype(np.int32)  # code -1 reads the last slot, which stays -1
    out["time"] = batch.time[rows]
    out["direction"] = batch.direction[rows]
    for name in FLOATS:
        out[name] = batch.floats[name][rows]
    return out


def _suppressed_rows(store: SqliteStorage, con: sqlite3.Connection, batch: Batch) -> dict[int, str]:
    """Rows whose customer or referrer was forgotten -> which of the two."""
    hashes = store._suppressed_hashes(con)
    found: dict[int, str] = {}
    if not hashes:
        return found
    for name in ("customer", "referrer"):
        cats = batch.categories[name]
        if not len(cats):
            continue
        bad = np.array([store._hash(str(v)) in hashes for v in cats], dtype=bool)  # per distinct id
        if bad.any():
            codes = batch.codes[name]
            hit = (codes >= 0) & bad[np.where(codes >= 0, codes, 0)]
            for i in np.flatnonzero(hit):
                found.setdefault(int(i), name)
    return found


def _load_rows(
    con: sqlite3.Connection, where: dict[int, np.ndarray]
) -> dict[int, dict[str, np.ndarray]]:
    out = {}
    for chunk_id in where:
        (blob,) = con.execute("SELECT data FROM chunk WHERE id = ?", (chunk_id,)).fetchone()
        out[chunk_id] = unpack(blob)
    return out


def append(
    store: SqliteStorage,
    con: sqlite3.Connection,
    batch: Batch,
    *,
    refuse: bool,
    quarantine: Sequence[Rejection],
) -> AppendResult:
    n = len(batch)
    status = np.zeros(n, dtype=np.int8)
    rejections: list[Rejection] = []

    for i, name in _suppressed_rows(store, con, batch).items():
        status[i] = AppendStatus.SUPPRESSED
        rejections.append(
            Rejection(
                int(batch.row[i]),
                [
                    Problem(
                        f"records[{batch.row[i]}].{name}",
                        "this customer was forgotten; their data may not be stored again",
                    )
                ],
            )
        )

    # repeats inside the batch: compared with the first row of the same event id later
    _, first, inverse = np.unique(batch.event_id, return_index=True, return_inverse=True)
    first_of = first[inverse]
    repeat_rows = np.flatnonzero((first_of != np.arange(n)) & (status == 0))
    candidates = np.flatnonzero((status == 0) & (first_of == np.arange(n)))
    stored = _stored_columns(store, con, batch, candidates)

    # insert the event keys; the ones that did not go in are stored already
    tail = con.execute("SELECT id, n FROM chunk ORDER BY id DESC LIMIT 1").fetchone()
    if tail is not None and tail[1] + len(candidates) <= CHUNK_ROWS and tail[1] > 0:
        chunk_id, base = int(tail[0]), int(tail[1])
    else:
        chunk_id, base = (
            int(
                con.execute(
                    "INSERT INTO chunk (n, tmin, tmax, data) VALUES (0, 0, 0, x'')"
                ).lastrowid
            ),
            0,
        )
    ids_text = batch.event_id[candidates].astype("U").tolist()
    before = con.total_changes
    con.executemany(
        "INSERT INTO event_key (event_id, chunk, pos) VALUES (?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
        zip(ids_text, repeat(chunk_id), range(base, base + len(candidates)), strict=False),
    )
    accepted = np.ones(len(candidates), dtype=bool)
    reference = stored
    if con.total_changes - before < len(candidates):
        accepted, reference = _resolve_existing(
            con, batch, candidates, stored, ids_text, chunk_id, base, status, rejections
        )
        kept = np.flatnonzero(accepted)
        if len(kept) and len(kept) < len(candidates):
            con.executemany(
                "UPDATE event_key SET pos = ? WHERE event_id = ?",
                zip(range(base, base + len(kept)), [ids_text[i] for i in kept], strict=True),
            )

    if len(repeat_rows):
        position = np.full(n, -1, dtype=np.int64)
        position[candidates] = np.arange(len(candidates))
        _resolve_repeats(
            store,
            con,
            batch,
            repeat_rows,
            position[first_of[repeat_rows]],
            reference,
            status,
            rejections,
        )

    rejected_here = (status == AppendStatus.CONFLICT) | (status == AppendStatus.SUPPRESSED)
    if refuse and (rejected_here.any() or quarantine):
        return AppendResult(status, committed=False, rejections=tuple(rejections))

    _write_block(con, chunk_id, base, {k: v[accepted] for k, v in stored.items()})
    counts = np.bincount(status, minlength=4)
    batch_id = con.execute(
        "INSERT INTO batch (at, rows, accepted, duplicate, rejected) VALUES (?, ?, ?, ?, ?)",
        (
            _now(),
            n + len(quarantine),
            int(counts[0]),
            int(counts[1]),
            int(counts[2] + counts[3]) + len(quarantine),
        ),
    ).lastrowid
    _quarantine(store, con, batch_id, [*quarantine, *rejections])
    return AppendResult(status, committed=True, batch_id=batch_id, rejections=tuple(rejections))


def _resolve_repeats(
    store: SqliteStorage,
    con: sqlite3.Connection,
    batch: Batch,
    rows: np.ndarray,
    ref_index: np.ndarray,
    reference: dict[str, np.ndarray],
    status: np.ndarray,
    rejections: list[Rejection],
) -> None:
    """A repeated event id in one batch, compared with the event's reference values.

    The reference is the stored event if there was one, else the first row of the batch
    with that id (``ref_index`` -1: that row was not stored, so the repeat conflicts).
    """
    mine = _stored_columns(store, con, batch, rows)
    has_ref = ref_index >= 0
    ref = {k: v[np.where(has_ref, ref_index, 0)] for k, v in reference.items()}
    if not len(reference["time"]):
        ref = mine
    same, differing = _equal(mine, ref)
    same &= has_ref
    status[rows[same]] = AppendStatus.DUPLICATE
    for row, diff, known in zip(rows[~same], differing, has_ref[~same], strict=True):
        status[row] = AppendStatus.CONFLICT
        rejections.append(
            _conflict(
                batch, int(row), diff if known else [], "another record with the same event id"
            )
        )


def _conflict(batch: Batch, row: int, cols: list[str], against: str) -> Rejection:
    shown = ", ".join(cols) or "values"
    return Rejection(
        int(batch.row[row]),
        [
            Problem(
                f"records[{batch.row[row]}].event_id",
                f"conflicts with {against} with the same event id (differs in: {shown}); stored events are never overwritten",
                batch.value("event_id", row),
            )
        ],
        batch.record(row),
    )


def _resolve_existing(
    con: sqlite3.Connection,
    batch: Batch,
    candidates: np.ndarray,
    stored: dict[str, np.ndarray],
    ids_text: list[str],
    chunk_id: int,
    base: int,
    status: np.ndarray,
    rejections: list[Rejection],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which candidates went in; the others are compared with what is stored.

    Also returns the reference values of each candidate's event id: the stored ones for
    events that were there already, the candidate's own otherwise.
    """
    where_chunk = np.full(len(candidates), -1, dtype=np.int64)
    where_pos = np.full(len(candidates), -1, dtype=np.int64)
    index = {eid: i for i, eid in enumerate(ids_text)}
    for i in range(0, len(ids_text), 500):
        part = ids_text[i : i + 500]
        marks = ",".join("?" * len(part))
        for eid, c, p in con.execute(
            f"SELECT event_id, chunk, pos FROM event_key WHERE event_id IN ({marks})", part
        ):
            j = index[eid]
            where_chunk[j], where_pos[j] = c, p
    provisional = base + np.arange(len(candidates))
    mine = (where_chunk == chunk_id) & (where_pos == provisional)
    old = np.flatnonzero(~mine)
    blocks = _load_rows(con, {int(c): None for c in np.unique(where_chunk[old])})  # type: ignore[dict-item]
    reference = {k: v.copy() for k, v in stored.items()}
    for c, cols in blocks.items():
        sel = old[where_chunk[old] == c]
        theirs = {k: cols[k][where_pos[sel]] for k in STORED}
        for k in STORED:
            if k != "event_id":
                reference[k][sel] = theirs[k]
        ours = {k: v[sel] for k, v in stored.items()}
        same, differing = _equal(ours, theirs)
        status[candidates[sel[same]]] = AppendStatus.DUPLICATE
        for row, diff in zip(candidates[sel[~same]], differing, strict=True):
            status[row] = AppendStatus.CONFLICT
            rejections.append(_conflict(batch, int(row), diff, "a stored event"))
    return mine, reference


def _write_block(
    con: sqlite3.Connection, chunk_id: int, base: int, cols: dict[str, np.ndarray]
) -> None:
    if base:
        (blob,) = con.execute("SELECT data FROM chunk WHERE id = ?", (chunk_id,)).fetchone()
        old = unpack(blob)
        cols = {k: np.concatenate([old[k], cols[k]]) for k in STORED}
    n = len(cols["time"])
    if n == 0:
        con.execute("DELETE FROM chunk WHERE id = ? AND n = 0", (chunk_id,))
        return
    con.execute(
        "UPDATE chunk SET n = ?, tmin = ?, tmax = ?, data = ? WHERE id = ?",
        (n, int(cols["time"].min()), int(cols["time"].max()), pack(cols), chunk_id),
    )


def _quarantine(
    store: SqliteStorage, con: sqlite3.Connection, batch_id: int, rejections: list[Rejection]
) -> None:
    """Keep rejected records with their reasons; never a forgotten customer's values."""
    hashes = store._suppressed_hashes(con)
    rows = []
    for r in rejections:
        record = r.record
        if record is not None and hashes:
            ids = (record.get("customer"), record.get("referrer"))
            if any(isinstance(v, str) and store._hash(v) in hashes for v in ids):
                record = None
        keep_values = record is not None or r.record is None
        reasons = [
            {
                "path": p.path,
                "message": p.message,
                **({"value": p.value} if p.has_value and keep_values else {}),
            }
            for p in r.problems
        ]
        rows.append(
            (
                batch_id,
                r.row,
                None if record is None else _text(record.get("event_id")),
                None if record is None else _text(record.get("customer")),
                json.dumps(reasons, default=str),
                None if record is None else json.dumps(record, default=str),
            )
        )
    con.executemany(
        "INSERT INTO quarantine (batch, row, event_id, customer, reasons, record) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _to_us(value: Any, label: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return int((np.datetime64(value, "us") - _EPOCH).astype(np.int64))


def scan(
    store: SqliteStorage,
    *,
    start: Any = None,
    end: Any = None,
    customers: Iterable[str] | None = None,
    touchpoints: Iterable[str] | None = None,
) -> Any:
    from touchpoint.frame import EventFrame

    lo, hi = _to_us(start, "start"), _to_us(end, "end")
    sql, params = "SELECT data FROM chunk WHERE n > 0", []
    if lo is not None:
        sql += " AND tmax >= ?"
        params.append(lo)
    if hi is not None:
        sql += " AND tmin < ?"
        params.append(hi)
    blocks = [unpack(b) for (b,) in store._read(sql + " ORDER BY id", params)]
    if blocks:
        cols = {k: np.concatenate([b[k] for b in blocks]) for k in STORED}
    else:
        cols = {k: np.empty(0, dtype=np.int64) for k in STORED}
        cols["event_id"] = np.empty(0, dtype="S1")
        cols.update({f: np.empty(0, dtype=np.float64) for f in FLOATS})
    keep = None
    if lo is not None or hi is not None:
        t = cols["time"]
        keep = np.ones(len(t), dtype=bool)
        if lo is not None:
            keep &= t >= lo
        if hi is not None:
            keep &= t < hi
    for name, wanted in (("customer", customers), ("touchpoint", touchpoints)):
        if wanted is not None:
            hit = np.isin(cols[name], store._lookup(name, wanted))
            keep = hit if keep is None else keep & hit
    if keep is not None:
        cols = {k: v[keep] for k, v in cols.items()}

    columns: dict[str, np.ndarray] = {"event_id": cols["event_id"].astype("U")}
    categories: dict[str, np.ndarray] = {}
    for name in CATEGORICAL:
        ids, values = store._categories(name)
        lut = np.full(int(ids.max()) + 2 if len(ids) else 1, -1, dtype=np.int64)
        lut[ids] = np.arange(len(ids))
        columns[name] = lut[cols[name]]
        categories[name] = values
    columns["time"] = (cols["time"] + 0).view("datetime64[us]")
    columns["direction"] = cols["direction"].astype(np.int64)
    categories["direction"] = DIRECTIONS.copy()
    for name in FLOATS:
        columns[name] = cols[name]
    return EventFrame({k: columns[k] for k in STANDARD}, categories)
