"""Appending a `Batch` to PostgreSQL and scanning it back, as columns, through binary ``COPY``.

Append, inside the caller's transaction (which holds a ``SHARE`` lock on
``suppression``, so no `forget` can commit in the middle):

1. rows whose customer (or referrer) was forgotten are ``SUPPRESSED``;
2. the batch is sorted by event id (numpy); a row repeating an earlier row's event id
   is compared with it later (``DUPLICATE`` if equal, ``CONFLICT`` otherwise);
3. the distinct values of each categorical column get their ``dim_<column>`` ids: one
   ``INSERT ... ON CONFLICT DO NOTHING`` and one join per column, values in sorted order;
4. the first row of each event id goes, sorted by id, into a temporary staging table
   through one binary ``COPY`` built from numpy arrays;
5. one query copies back (binary ``COPY``, one row of arrays) the stored rows of the
   staged ids that exist already: equal values are a ``DUPLICATE``, different ones a
   ``CONFLICT`` naming the columns that differ;
6. the other staged rows go in with one ``INSERT ... SELECT ... ON CONFLICT (event_id)
   DO NOTHING`` in event-id order (so concurrent writers lock keys in one order and
   never deadlock); an id another writer committed in the meantime is looked up and
   compared like step 5;
7. conflicts and suppressed rows go to quarantine (or the whole batch is rolled back),
   with one ``batch`` row for the audit trail.

Every step is numpy over columns or one SQL statement over the batch; Python touches
each *distinct* categorical value, never each row.

A scan reads the table block by block (``ctid`` ranges of `SCAN_PAGES` pages) in one
``REPEATABLE READ`` transaction: one binary ``COPY`` row per block, whose fields are
``array_agg`` aggregates of the block's integer and float columns and the block's event
ids concatenated with their lengths; numpy reads each as one strided view.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint.errors import Problem
from touchpoint.frame._frame import STANDARD
from touchpoint.storage._postgres_copy import array, copy_rows, read_copy_row, texts
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
    from touchpoint.storage.postgres import PostgresStorage

__all__ = ["SCAN_PAGES", "STAGE", "append", "scan"]

#: Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
PG_EPOCH_US = 946_684_800_000_000
#: Table pages read per scanned block (about 60 interactions a page).
SCAN_PAGES = 2048
#: The temporary staging table of a connection (rows deleted at each commit).
STAGE = "_touchpoint_stage"
_STAGE_DDL = (
    f'CREATE TEMP TABLE IF NOT EXISTS {STAGE} (pos integer NOT NULL, event_id text COLLATE "C" NOT NULL, '
    + ", ".join(f"{name} integer NOT NULL" for name in CATEGORICAL)
    + ", time timestamptz NOT NULL, direction smallint NOT NULL, "
    + ", ".join(f"{name} double precision NOT NULL" for name in FLOATS)
    + ") ON COMMIT DELETE ROWS"
)
#: Stored columns compared between a new row and the stored one (event ids are equal).
COMPARED = (*CATEGORICAL, "time", "direction", *FLOATS)


def stage_ddl() -> str:
    return _STAGE_DDL


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _aggregates(alias: str) -> str:
    """``array_agg`` of every compared column of ``alias``, NULLs replaced (-1, NaN)."""
    parts = [f"array_agg(coalesce({alias}.{name}, -1))" for name in CATEGORICAL]
    parts.append(f"array_agg({alias}.time)")
    parts.append(f"array_agg({alias}.direction)")
    parts += [f"array_agg(coalesce({alias}.{name}, 'NaN'))" for name in FLOATS]
    return ", ".join(parts)


def _columns_of(fields: Sequence[Any], start: int) -> dict[str, np.ndarray]:
    """Decode the `_aggregates` fields beginning at ``start`` into native numpy columns."""
    out: dict[str, np.ndarray] = {}
    i = start
    for name in CATEGORICAL:
        out[name] = array(fields[i], ">i4").astype(np.int64)
        i += 1
    # timestamptz: microseconds since 2000-01-01 UTC
    out["time"] = array(fields[i], ">i8") + PG_EPOCH_US
    out["direction"] = array(fields[i + 1], ">i2").astype(np.int8)
    i += 2
    for name in FLOATS:
        out[name] = array(fields[i], ">f8")
        i += 1
    return out


def _equal(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[list[str]]]:
    """Row-wise equality of two column dicts, and the differing columns of each unequal row."""
    n = len(a["time"])
    same = np.ones(n, dtype=bool)
    diff_cols = []
    for name in COMPARED:  # a dozen columns
        x, y = a[name], b[name]
        eq = (x == y) | (np.isnan(x) & np.isnan(y)) if name in FLOATS else x == y
        diff_cols.append(~eq)
        same &= eq
    differing = [
        [COMPARED[j] for j in range(len(COMPARED)) if diff_cols[j][i]]
        for i in np.flatnonzero(~same)  # only the rows that differ
    ]
    return same, differing


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


def _dim_ids(con: Any, column: str, values: list[str]) -> np.ndarray:
    """Dimension ids of ``values`` in ``dim_<column>``, adding the new ones (in sorted order)."""
    out = np.empty(len(values), dtype=np.int64)
    if not values:
        return out
    con.execute(
        f"INSERT INTO dim_{column} (value) SELECT v FROM unnest(%s::text[]) AS u(v) "
        f'ORDER BY v COLLATE "C" ON CONFLICT (value) DO NOTHING',
        [values],
    )
    rows = con.execute(
        f"SELECT u.ord, d.id FROM unnest(%s::text[]) WITH ORDINALITY AS u(value, ord) "
        f"JOIN dim_{column} d ON d.value = u.value",
        [values],
    ).fetchall()
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    out[pairs[:, 0] - 1] = pairs[:, 1]
    return out


def _stored_columns(con: Any, batch: Batch, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The ``rows`` of ``batch`` as stored: dimension ids (-1 missing) instead of codes."""
    out: dict[str, np.ndarray] = {}
    for name in CATEGORICAL:  # eight columns
        codes = batch.codes[name][rows]
        used = np.unique(codes[codes >= 0])
        lut = np.full(len(batch.categories[name]) + 1, -1, dtype=np.int64)
        if len(used):
            lut[used] = _dim_ids(con, name, [str(v) for v in batch.categories[name][used]])
        out[name] = lut[codes]  # code -1 reads the last slot, which stays -1
    out["time"] = batch.time[rows].astype(np.int64)
    out["direction"] = batch.direction[rows].astype(np.int8)
    for name in FLOATS:
        out[name] = batch.floats[name][rows].astype(np.float64)
    return out


def _suppressed_rows(store: PostgresStorage, con: Any, batch: Batch) -> dict[int, str]:
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
            for i in np.flatnonzero(hit):  # the suppressed rows only
                found.setdefault(int(i), name)
    return found


def _stage(con: Any, ids: np.ndarray, cols: dict[str, np.ndarray]) -> None:
    """COPY the candidate rows (sorted by id, ``pos`` = their rank) into the staging table."""
    n = len(ids)
    fields = [np.arange(n, dtype=">i4"), ids]
    fields += [cols[name].astype(">i4") for name in CATEGORICAL]
    fields.append((cols["time"] - PG_EPOCH_US).astype(">i8"))
    fields.append(cols["direction"].astype(">i2"))
    fields += [cols[name].astype(">f8") for name in FLOATS]
    with con.cursor().copy(f"COPY {STAGE} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(copy_rows(fields))


def _existing(
    con: Any, batch_id: int, *, only_others: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Staged rows whose event id is stored: their ``pos`` and stored columns."""
    other = "AND e.batch <> %s" if only_others else ""
    sql = (
        f"COPY (SELECT count(*), array_agg(s.pos), {_aggregates('e')} "
        f"FROM {STAGE} s JOIN event e ON e.event_id = s.event_id {other}) TO STDOUT (FORMAT BINARY)"
    )
    params = [batch_id] if only_others else []
    with con.cursor().copy(sql, params) as copy:
        chunks = [bytes(c) for c in copy]
    fields = read_copy_row(b"".join(chunks))
    count = int.from_bytes(bytes(fields[0]), "big", signed=True) if fields[0] is not None else 0
    if not count:
        return np.empty(0, dtype=np.int64), {}
    return array(fields[1], ">i4").astype(np.int64), _columns_of(fields, 2)


def append(
    store: PostgresStorage,
    con: Any,
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

    # sort by event id: repeats become neighbours, keys are inserted in one global order
    order = np.argsort(batch.event_id, kind="stable")
    sorted_ids = batch.event_id[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_ids[1:] != sorted_ids[:-1]
    group = np.cumsum(starts) - 1
    first_of = np.empty(n, dtype=np.int64)
    first_of[order] = order[np.flatnonzero(starts)][group]
    is_first = first_of == np.arange(n)
    repeat_rows = np.flatnonzero(~is_first & (status == 0))
    # candidates in event-id order (``order`` restricted to first rows not suppressed)
    candidates = order[(is_first & (status == 0))[order]]
    stored = _stored_columns(con, batch, candidates)

    batch_id = con.execute(
        "INSERT INTO batch (rows, accepted, duplicate, rejected) VALUES (%s, 0, 0, 0) RETURNING id",
        [n + len(quarantine)],
    ).fetchone()[0]
    accepted = np.ones(len(candidates), dtype=bool)
    reference = {k: v.copy() for k, v in stored.items()}
    if len(candidates):
        _stage(con, batch.event_id[candidates], stored)
        pos, theirs = _existing(con, batch_id, only_others=False)
        if len(pos):
            _compare(batch, candidates, stored, pos, theirs, status, rejections, reference)
            accepted[pos] = False
            if len(pos) < len(candidates):
                con.execute(f"DELETE FROM {STAGE} WHERE pos = ANY(%s)", [pos.tolist()])
        expected = int(accepted.sum())
        if expected:
            inserted = _insert(con, batch_id)
            if inserted < expected:  # another writer committed some of these ids meanwhile
                pos, theirs = _existing(con, batch_id, only_others=True)
                _compare(batch, candidates, stored, pos, theirs, status, rejections, reference)
                accepted[pos] = False

    if len(repeat_rows):
        position = np.full(n, -1, dtype=np.int64)
        position[candidates] = np.arange(len(candidates))
        _resolve_repeats(
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

    counts = np.bincount(status, minlength=4)
    con.execute(
        "UPDATE batch SET accepted = %s, duplicate = %s, rejected = %s WHERE id = %s",
        [int(counts[0]), int(counts[1]), int(counts[2] + counts[3]) + len(quarantine), batch_id],
    )
    write_quarantine(store, con, batch_id, [*quarantine, *rejections])
    return AppendResult(
        status, committed=True, batch_id=int(batch_id), rejections=tuple(rejections)
    )


def _insert(con: Any, batch_id: int) -> int:
    names = ", ".join(CATEGORICAL)
    values = ", ".join(f"nullif({name}, -1)" for name in CATEGORICAL)
    floats = ", ".join(f"nullif({name}, 'NaN')" for name in FLOATS)
    cur = con.execute(
        f"INSERT INTO event (event_id, {names}, time, direction, {', '.join(FLOATS)}, batch) "
        f"SELECT event_id, {values}, time, direction, {floats}, %s FROM {STAGE} ORDER BY pos "
        "ON CONFLICT (event_id) DO NOTHING",
        [batch_id],
    )
    return int(cur.rowcount)


def _compare(
    batch: Batch,
    candidates: np.ndarray,
    stored: dict[str, np.ndarray],
    pos: np.ndarray,
    theirs: dict[str, np.ndarray],
    status: np.ndarray,
    rejections: list[Rejection],
    reference: dict[str, np.ndarray],
) -> None:
    """Candidates at ``pos`` whose id is stored: duplicates if equal, else conflicts."""
    if not len(pos):
        return
    ours = {k: v[pos] for k, v in stored.items()}
    same, differing = _equal(ours, theirs)
    for k in COMPARED:
        reference[k][pos] = theirs[k]
    status[candidates[pos[same]]] = AppendStatus.DUPLICATE
    for row, diff in zip(candidates[pos[~same]], differing, strict=True):  # conflicts only
        status[row] = AppendStatus.CONFLICT
        rejections.append(_conflict(batch, int(row), diff, "a stored event"))


def _resolve_repeats(
    con: Any,
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
    mine = _stored_columns(con, batch, rows)
    has_ref = ref_index >= 0
    if len(reference["time"]):
        ref = {k: v[np.where(has_ref, ref_index, 0)] for k, v in reference.items()}
    else:
        ref = mine
    equal, differing = _equal(mine, ref)
    diffs = dict(zip(np.flatnonzero(~equal).tolist(), differing, strict=True))
    same = equal & has_ref
    status[rows[same]] = AppendStatus.DUPLICATE
    for j in np.flatnonzero(~same):  # the conflicting repeats only
        row = int(rows[j])
        status[row] = AppendStatus.CONFLICT
        rejections.append(
            _conflict(
                batch,
                row,
                diffs.get(int(j), []) if has_ref[j] else [],
                "another record with the same event id",
            )
        )


# ---------------------------------------------------------------------- quarantine


def write_quarantine(
    store: PostgresStorage, con: Any, batch_id: int, rejections: list[Rejection]
) -> None:
    """Keep rejected records with their reasons; never a forgotten customer's values."""
    if not rejections:
        return
    hashes = store._suppressed_hashes(con)
    rows = []
    for r in rejections:  # rejected records only
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
    with con.cursor() as cur:
        cur.executemany(
            "INSERT INTO quarantine (batch, row, event_id, customer, reasons, record) "
            "VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)",
            rows,
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------- scan


def to_us(value: Any) -> int | None:
    """Microseconds since the Unix epoch of a datetime, numpy datetime or ISO string (UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return int((np.datetime64(value, "us") - np.datetime64(0, "us")).astype(np.int64))


def scan(
    store: PostgresStorage,
    *,
    start: Any = None,
    end: Any = None,
    customers: Iterable[str] | None = None,
    touchpoints: Iterable[str] | None = None,
) -> Any:
    from touchpoint.frame import EventFrame

    lo, hi = to_us(start), to_us(end)
    where, params = [], []
    if lo is not None:
        where.append("time >= %s")
        params.append(_timestamp(lo))
    if hi is not None:
        where.append("time < %s")
        params.append(_timestamp(hi))
    with store._snapshot() as con:
        for name, wanted in (("customer", customers), ("touchpoint", touchpoints)):
            if wanted is not None:
                values = [str(v) for v in wanted]
                ids = [
                    r[0]
                    for r in con.execute(
                        f"SELECT id FROM dim_{name} WHERE value = ANY(%s::text[])", [values]
                    ).fetchall()
                ]
                where.append(f"{name} = ANY(%s::integer[])")
                params.append(ids)
        pages = con.execute(
            "SELECT (pg_relation_size('event') / current_setting('block_size')::bigint)::bigint"
        ).fetchone()[0]
        blocks = _read_blocks(con, int(pages), " AND ".join(where), params)
        cols = _concat(blocks)
        columns: dict[str, np.ndarray] = {"event_id": cols["event_id"].astype("U")}
        categories: dict[str, np.ndarray] = {}
        for name in CATEGORICAL:  # eight dimension tables
            ids = cols[name]
            used = np.flatnonzero(np.bincount(ids + 1)[1:]) if len(ids) else np.empty(0, np.int64)
            rows = (
                con.execute(
                    f"SELECT id, value FROM dim_{name} WHERE id = ANY(%s::integer[]) ORDER BY id",
                    [used.tolist()],
                ).fetchall()
                if len(used)
                else []
            )
            dim_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            values = np.empty(len(rows), dtype=object)
            values[:] = [r[1] for r in rows]
            lut = np.full(int(ids.max()) + 2 if len(ids) else 1, -1, dtype=np.int64)
            lut[dim_ids] = np.arange(len(dim_ids))
            columns[name] = lut[ids]
            categories[name] = values
    columns["time"] = cols["time"].view("datetime64[us]")
    columns["direction"] = cols["direction"].astype(np.int64)
    categories["direction"] = DIRECTIONS.copy()
    for name in FLOATS:
        columns[name] = cols[name]
    return EventFrame({k: columns[k] for k in STANDARD}, categories)


def _timestamp(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)


def _read_blocks(
    con: Any, pages: int, where: str, params: list[Any]
) -> list[dict[str, np.ndarray]]:
    """The interactions of every block of ``SCAN_PAGES`` pages, as numpy columns."""
    sql = (
        f"COPY (SELECT count(*), string_agg(textsend(e.event_id), ''::bytea), "
        f"array_agg(octet_length(e.event_id)), {_aggregates('e')} FROM event e "
        "WHERE e.ctid >= %s::tid AND e.ctid < %s::tid"
        + (f" AND {where}" if where else "")
        + ") TO STDOUT (FORMAT BINARY)"
    )
    last = "(4294967295,0)"
    out = []
    for first in range(0, max(pages, 1), SCAN_PAGES):  # one query per block of pages
        stop = f"({first + SCAN_PAGES},0)" if first + SCAN_PAGES < pages else last
        with con.cursor().copy(sql, [f"({first},0)", stop, *params]) as copy:
            data = b"".join(bytes(c) for c in copy)
        fields = read_copy_row(data)
        count = int.from_bytes(bytes(fields[0]), "big", signed=True)
        if not count:
            continue
        lengths = array(fields[2], ">i4")
        cols = {"event_id": texts(fields[1], lengths)}
        cols.update(_columns_of(fields, 3))
        out.append(cols)
    return out


def _concat(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not blocks:
        cols: dict[str, np.ndarray] = {name: np.empty(0, dtype=np.int64) for name in CATEGORICAL}
        cols["event_id"] = np.empty(0, dtype="S1")
        cols["time"] = np.empty(0, dtype=np.int64)
        cols["direction"] = np.empty(0, dtype=np.int8)
        cols.update({f: np.empty(0, dtype=np.float64) for f in FLOATS})
        return cols
    if len(blocks) == 1:
        return blocks[0]
    return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
