"""Appending a `Batch` to PostgreSQL: binary ``COPY`` straight into ``event`` for new ids,
else into a staging table and one ``INSERT ... ON CONFLICT (event_id) DO NOTHING``.

Inside the caller's transaction (which holds a ``SHARE`` lock on ``suppression``, so no
`forget` commits in the middle):

1. rows whose customer (or referrer) was forgotten are ``SUPPRESSED``;
2. the batch is sorted by event id (numpy); a row repeating an earlier row's event id
   is compared with that row's reference values at the end (``DUPLICATE`` if equal,
   ``CONFLICT`` otherwise);
3. the distinct values of each categorical column get their ``dim_<column>`` ids
   (`touchpoint.storage._postgres_dims`);
4. each row gets the 64-bit digest of its stored values (`row_digest`, stored with the
   row). When some of a sample of the batch's ids is stored with a digest (a batch
   sent again), the ids and digests alone go through a binary ``COPY`` into a second
   staging table, and one primary-key lookup per id finds the stored rows with the
   same digest: ``DUPLICATE``, without sending or comparing their values (the rest go
   on to step 5);
5. the first row of each remaining event id goes, in event-id order, into the temporary
   staging table through one binary ``COPY`` built from numpy arrays (no Python object
   per row); when none of a sample of those ids is stored (new data, the usual case),
   the rows go instead straight into ``event`` with one binary ``COPY`` inside a
   savepoint (bulk-written: the cheapest way into PostgreSQL); if that meets a stored
   id (or a concurrent writer's), the savepoint is rolled back and steps 5-7 run;
6. **probe**: the staged ids already stored are found with a primary-key lookup per
   staged row, and PostgreSQL compares each one's values with the stored row, returning only
   the positions and a bit mask of the columns that differ (empty mask: a
   ``DUPLICATE``; else a ``CONFLICT`` naming those columns). A sample of the batch is
   probed first; when none of it is stored (the usual case for new data) the full
   probe is skipped;
7. **insert**: the remaining staged rows go in with one ``INSERT ... SELECT ... ORDER BY
   event id ON CONFLICT (event_id) DO NOTHING`` (concurrent writers lock keys in one
   order, so they never deadlock); an id another writer committed in the meantime is
   probed and compared like step 6;
8. conflicts and suppressed rows go to quarantine (or the whole batch is rolled back),
   with one ``batch`` row for the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint._mix64 import GOLDEN, mix64
from touchpoint.errors import Problem
from touchpoint.storage._postgres_copy import array, copy_chunks
from touchpoint.storage._postgres_dims import copy_one
from touchpoint.storage.base import (
    CATEGORICAL,
    FLOATS,
    AppendResult,
    AppendStatus,
    Batch,
    Rejection,
)

if TYPE_CHECKING:
    from touchpoint.storage.postgres import PostgresStorage

__all__ = [
    "COMPARED",
    "KEYS",
    "PG_EPOCH_US",
    "STAGE",
    "append",
    "keys_ddl",
    "row_digest",
    "stage_ddl",
    "write_quarantine",
]

#: Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
PG_EPOCH_US = 946_684_800_000_000
#: The temporary staging table of a connection (rows deleted at each commit).
STAGE = "_touchpoint_stage"
#: The temporary table of a re-sent batch's ids and digests (rows deleted at each commit).
KEYS = "_touchpoint_keys"
#: Stored columns compared between a new row and the stored one (bit i of a probe's mask).
COMPARED = (*CATEGORICAL, "time", "direction", *FLOATS)
#: Staged rows probed first; when none is stored, the full probe is skipped.
SAMPLE = 512


def stage_ddl() -> str:
    """The staging table: stored values, -1 for a missing id and NaN for a missing number."""
    return (
        f'CREATE TEMP TABLE IF NOT EXISTS {STAGE} (pos integer NOT NULL, event_id text COLLATE "C" '
        "NOT NULL, "
        + ", ".join(f"{name} integer NOT NULL" for name in CATEGORICAL)
        + ", time timestamptz NOT NULL, direction smallint NOT NULL, "
        + ", ".join(f"{name} double precision NOT NULL" for name in FLOATS)
        + ", digest bigint NOT NULL) ON COMMIT DELETE ROWS"
    )


def keys_ddl() -> str:
    """The ids and digests of a batch whose ids are partly stored (`_same_as_stored`)."""
    return (
        f'CREATE TEMP TABLE IF NOT EXISTS {KEYS} (pos integer NOT NULL, event_id text COLLATE "C" '
        "NOT NULL, digest bigint NOT NULL) ON COMMIT DELETE ROWS"
    )


def row_digest(stored: dict[str, np.ndarray]) -> np.ndarray:
    """A 64-bit digest (int64) of each row's stored values (`stored_columns`), in `COMPARED` order.

    Stored with the row (schema version 2); a row sent again with the same digest is
    taken as a duplicate without comparing its values. Rows whose values differ get
    another digest except with probability 2^-64 a pair; rows with equal values always
    get the same one: -0.0 and 0.0 (equal in PostgreSQL) and every NaN (a missing
    number) hash alike. A differing digest is never trusted to mean a conflict: those
    rows are compared column by column.

    >>> cols = {name: np.array([3, 3]) for name in COMPARED}
    >>> cols["amount"] = np.array([0.0, -0.0])
    >>> a, b = row_digest(cols)  # 0.0 and -0.0: one value
    >>> bool(a == b)
    True
    >>> x, y = row_digest({**cols, "store": np.array([3, 4])})  # the second row changed
    >>> bool(x == a), bool(y == a)
    (True, False)
    """
    n = len(stored["time"])
    h = np.full(n, 0x243F6A8885A308D3, dtype=np.uint64)  # pi's digits: any fixed start
    with np.errstate(over="ignore"):
        for i, name in enumerate(COMPARED):  # a dozen columns
            values = stored[name]
            if name in FLOATS:
                values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN, no -0.0
                bits = values.astype(np.float64).view(np.uint64)
            else:
                bits = values.astype(np.int64).view(np.uint64)
            h = mix64(h ^ mix64(bits + GOLDEN * np.uint64(i + 1)))
    return h.view(np.int64)


def _stored_value(name: str, alias: str = "s") -> str:
    """SQL for the staged value of ``name`` as the event table stores it."""
    if name in CATEGORICAL:
        return f"nullif({alias}.{name}, -1)"
    if name in FLOATS:
        return f"nullif({alias}.{name}, 'NaN')"
    return f"{alias}.{name}"


#: A bit per compared column that differs between the stored row ``e`` and the staged ``s``.
_DIFF_MASK = " | ".join(
    f"((e.{name} IS DISTINCT FROM {_stored_value(name)})::integer << {i})"
    for i, name in enumerate(COMPARED)
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


def _differing(mask: int) -> list[str]:
    return [name for i, name in enumerate(COMPARED) if mask >> i & 1]


def stored_columns(
    store: PostgresStorage, con: Any, batch: Batch, rows: np.ndarray
) -> dict[str, np.ndarray]:
    """The ``rows`` of ``batch`` as stored: dimension ids (-1 missing) instead of codes."""
    out: dict[str, np.ndarray] = {}
    for name in CATEGORICAL:  # eight columns
        codes = batch.codes[name][rows]
        k = len(batch.categories[name])
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=k)) if k else codes[:0]
        lut = np.full(len(batch.categories[name]) + 1, -1, dtype=np.int64)
        if len(used):
            lut[used] = store._dims.ids(con, name, batch.categories[name][used])
        out[name] = lut[codes]  # code -1 reads the last slot, which stays -1
    out["time"] = batch.time[rows].astype(np.int64)
    out["direction"] = batch.direction[rows].astype(np.int8)
    for name in FLOATS:
        out[name] = batch.floats[name][rows].astype(np.float64)
    return out


def id_order(ids: np.ndarray) -> np.ndarray:
    """``numpy.argsort(ids, kind="stable")`` of byte-string ids, sorted by 8-byte heads first.

    Sorting 64-bit integers is faster than sorting 36-byte strings (200k UUIDs:
    0.020-0.023 against 0.049-0.056 CPU s, session 8, ``benchmarks/README.md``); the
    heads (the first 8 bytes, big-endian, so that integer order is byte order) are
    sorted, and only the rows whose head another row shares are sorted again on the
    whole id. Ids with many shared heads (``order-000001``...) are sorted whole.

    >>> ids = np.array([b"b-000000002", b"a-1", b"b-000000001", b"b-000000002"])
    >>> id_order(ids).tolist()
    [1, 2, 0, 3]
    """
    n, width = len(ids), ids.dtype.itemsize
    if width < 16 or n < 1024:
        return np.argsort(ids, kind="stable")
    head = np.ascontiguousarray(ids.view(np.uint8).reshape(n, width)[:, :8])
    heads = head.view(">u8").reshape(n).astype(np.uint64)
    order = np.argsort(heads, kind="stable")
    sorted_heads = heads[order]
    tie = sorted_heads[1:] == sorted_heads[:-1]
    if not tie.any():
        return order
    shared = np.zeros(n, dtype=bool)  # rows in a run of equal heads, in head order
    shared[1:] |= tie
    shared[:-1] |= tie
    rows = order[shared]
    if len(rows) > n // 8:
        return np.argsort(ids, kind="stable")
    # sorted on the whole id, stably: runs come in head order, each run in id order
    order[shared] = rows[np.argsort(ids[rows], kind="stable")]
    return order


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


def _stage(con: Any, ids: np.ndarray, cols: dict[str, np.ndarray], digest: np.ndarray) -> None:
    """COPY the candidate rows (sorted by id, ``pos`` = their rank) into the staging table."""
    fields = [np.arange(len(ids), dtype=">i4"), ids]
    fields += [cols[name].astype(">i4") for name in CATEGORICAL]
    fields.append((cols["time"] - PG_EPOCH_US).astype(">i8"))
    fields.append(cols["direction"].astype(">i2"))
    fields += [cols[name].astype(">f8") for name in FLOATS]
    fields.append(digest.astype(">i8"))
    _send(con, f"COPY {STAGE} FROM STDIN (FORMAT BINARY)", copy_chunks(fields, ordered=False))


def _send(con: Any, sql: str, pieces: Iterable[bytes | memoryview]) -> None:
    """One ``COPY ... FROM STDIN`` of a lazy stream of pieces (`copy_chunks`).

    Each piece is encoded only when the last one has been written, so the client never
    holds the whole batch's bytes. (psycopg's ``QueuedLibpqWriter``, sending from its own
    thread, was measured against this in session 8: 234k and 199k events/s against 187k
    and 225k, alternated; no gain shown, so not used.)
    """
    with con.cursor().copy(sql) as copy:
        for piece in pieces:  # header, a few pieces of rows, trailer
            copy.write(piece)


def _sampled(con: Any, ids: np.ndarray) -> tuple[bool, bool]:
    """Whether some of a sample of ``ids`` (sorted) is stored, and some of those with a
    digest (rows stored before schema version 2 have none): one index probe per sampled id."""
    sample = ids[:: max(1, len(ids) // SAMPLE)]
    found, digested = con.execute(
        "SELECT count(*), count(digest) FROM event WHERE event_id = ANY(%s::text[])",
        [np.char.decode(sample, "ascii").tolist()],  # event ids are ASCII codes
    ).fetchone()
    return bool(found), bool(digested)


def _copy_new(
    store: PostgresStorage,
    con: Any,
    ids: np.ndarray,
    cols: dict[str, np.ndarray],
    digest: np.ndarray,
    batch_id: int,
) -> bool:
    """Binary ``COPY`` of the rows straight into ``event``, inside a savepoint.

    PostgreSQL's ``COPY`` writes rows in bulk (several rows per heap and WAL record):
    about 2.5x less server time than ``INSERT ... SELECT ... ON CONFLICT`` from the
    staging table (``benchmarks/README.md``). It has no ``ON CONFLICT``: if any id is
    stored already (or another writer stores one first, or the two writers deadlock on
    each other's ids) it fails, the savepoint is rolled back and False returned; the
    caller then takes the staged path, which probes and compares every row. Missing
    dictionary ids (-1) and missing numbers (NaN) are sent as NULL.
    """
    errors = store._psycopg.errors
    fields = [ids]
    fields += [cols[name].astype(">i4") for name in CATEGORICAL]
    fields.append((cols["time"] - PG_EPOCH_US).astype(">i8"))
    fields.append(cols["direction"].astype(">i2"))
    fields += [cols[name].astype(">f8") for name in FLOATS]
    fields.append(np.full(len(ids), batch_id, dtype=">i8"))
    fields.append(digest.astype(">i8"))
    nulls: list[np.ndarray | None] = [None]
    nulls += [cols[name] < 0 for name in CATEGORICAL]
    nulls += [None, None]
    nulls += [np.isnan(cols[name]) for name in FLOATS]
    nulls += [None, None]
    try:
        sql = (
            f"COPY event (event_id, {', '.join(COMPARED)}, batch, digest) "
            "FROM STDIN (FORMAT BINARY)"
        )
        # a savepoint inside the append's transaction
        with con.transaction():
            _send(con, sql, copy_chunks(fields, nulls))  # in event-id order
    except (errors.UniqueViolation, errors.DeadlockDetected):
        return False
    return True


def _nested_loop(con: Any, sql: str, params: Any = None) -> list[Any]:
    """`copy_one` with hash and merge joins off: a join with the event table probes its key.

    (Either join would read the whole event table; ``SET LOCAL`` ends with the
    transaction, and is set back at once.)
    """
    con.execute("SET LOCAL enable_hashjoin = off")
    con.execute("SET LOCAL enable_mergejoin = off")
    fields = copy_one(con, sql, params)
    con.execute("SET LOCAL enable_hashjoin = on")
    con.execute("SET LOCAL enable_mergejoin = on")
    return fields


def _same_as_stored(con: Any, ids: np.ndarray, digest: np.ndarray) -> np.ndarray:
    """Positions of the rows (``ids`` sorted) stored with the same digest: duplicates.

    Only the ids and digests are sent (a binary ``COPY`` of three columns instead of
    fifteen), and the stored rows are matched on one number each: 200k stored rows sent
    again took 0.24 s against 0.38 s staged and compared column by column
    (``benchmarks/prototypes/pg_probe_forms.py``). Rows stored before schema version 2,
    or whose referrer was erased since, have no digest and are not found here.
    """
    fields = [np.arange(len(ids), dtype=">i4"), ids, digest.astype(">i8")]
    _send(con, f"COPY {KEYS} FROM STDIN (FORMAT BINARY)", copy_chunks(fields, ordered=False))
    found = _nested_loop(
        con,
        f"COPY (SELECT count(*), array_agg(s.pos) FROM {KEYS} s JOIN event e "
        "ON e.event_id = s.event_id AND e.digest = s.digest) TO STDOUT (FORMAT BINARY)",
    )
    if not int.from_bytes(bytes(found[0]), "big", signed=True):
        return np.empty(0, dtype=np.int64)
    return np.sort(array(found[1], ">i4").astype(np.int64))


def _probe(
    con: Any, *, below: int | None = None, not_batch: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Staged rows whose event id is stored: their ``pos`` and the mask of differing columns.

    A nested loop: one primary-key lookup per staged row. ``below`` probes
    the first staged rows only, ``not_batch`` leaves out the rows this batch inserted.
    """
    where, params = [], []
    if not_batch is not None:
        where.append("e.batch <> %s")
        params.append(not_batch)
    if below is not None:
        where.append("s.pos < %s")
        params.append(below)
    fields = _nested_loop(
        con,
        f"COPY (SELECT count(*), array_agg(s.pos), array_agg({_DIFF_MASK}) FROM {STAGE} s "
        "JOIN event e ON e.event_id = s.event_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + ") TO STDOUT (FORMAT BINARY)",
        params or None,
    )
    if not int.from_bytes(bytes(fields[0]), "big", signed=True):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return array(fields[1], ">i4").astype(np.int64), array(fields[2], ">i4").astype(np.int64)


def _reference(con: Any, pos: np.ndarray) -> dict[str, np.ndarray]:
    """The stored values of the staged rows at ``pos`` (sorted; in-batch repeats of stored ids)."""
    aggregates = [f"array_agg(coalesce(e.{name}, -1))" for name in CATEGORICAL]
    aggregates += ["array_agg(e.time)", "array_agg(e.direction)"]
    aggregates += [f"array_agg(coalesce(e.{name}, 'NaN'))" for name in FLOATS]
    fields = _nested_loop(
        con,
        f"COPY (SELECT array_agg(s.pos), {', '.join(aggregates)} FROM {STAGE} s "
        "JOIN event e ON e.event_id = s.event_id "
        "WHERE s.pos = ANY(%s::integer[])) TO STDOUT (FORMAT BINARY)",
        [pos.tolist()],
    )
    at = np.argsort(array(fields[0], ">i4"))  # ``pos`` is sorted: the same order
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(CATEGORICAL):
        out[name] = array(fields[1 + i], ">i4").astype(np.int64)[at]
    k = 1 + len(CATEGORICAL)
    out["time"] = (array(fields[k], ">i8") + PG_EPOCH_US)[at]
    out["direction"] = array(fields[k + 1], ">i2").astype(np.int8)[at]
    for i, name in enumerate(FLOATS):
        out[name] = array(fields[k + 2 + i], ">f8")[at]
    return out


def _insert(con: Any, batch_id: int) -> int:
    names = ", ".join(COMPARED)
    values = ", ".join(_stored_value(name) for name in COMPARED)
    con.execute("SET LOCAL work_mem = '128MB'")  # the sort by id stays in memory
    cur = con.execute(
        f"INSERT INTO event (event_id, {names}, batch, digest) "
        f"SELECT s.event_id, {values}, %s, s.digest FROM {STAGE} s ORDER BY s.pos "
        "ON CONFLICT (event_id) DO NOTHING",
        [batch_id],
    )
    return int(cur.rowcount)


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

    # sorted by event id: repeats become neighbours, and keys go in in one global order
    order = id_order(batch.event_id)
    sorted_ids = batch.event_id[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_ids[1:] != sorted_ids[:-1]
    first_of = np.empty(n, dtype=np.int64)
    first_of[order] = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    is_first = first_of == np.arange(n)
    repeat_rows = np.flatnonzero(~is_first & (status == 0))
    candidates = order[(is_first & (status == 0))[order]]  # in event-id order
    stored = stored_columns(store, con, batch, candidates)

    batch_id = con.execute(
        "INSERT INTO batch (rows, accepted, duplicate, rejected) VALUES (%s, 0, 0, 0) RETURNING id",
        [n + len(quarantine)],
    ).fetchone()[0]
    kept = np.ones(len(candidates), dtype=bool)  # candidates that end up stored now
    # positions of candidates that in-batch repeats refer to (their stored values matter)
    position = np.full(n, -1, dtype=np.int64)
    position[candidates] = np.arange(len(candidates))
    referred = np.unique(position[first_of[repeat_rows]])
    referred = referred[referred >= 0]
    reference_rows: dict[int, dict[str, Any]] = {}

    def settle(staged_at: np.ndarray, mask: np.ndarray) -> None:
        """Staged rows found stored (staged row ``i`` is candidate ``rest[i]``): duplicates
        or conflicts; the stored values of those in-batch repeats refer to are kept."""
        pos = rest[staged_at]
        kept[pos] = False
        status[candidates[pos[mask == 0]]] = AppendStatus.DUPLICATE
        for p, m in zip(pos[mask != 0].tolist(), mask[mask != 0].tolist(), strict=True):
            row = int(candidates[p])  # conflicts only
            status[row] = AppendStatus.CONFLICT
            rejections.append(_conflict(batch, row, _differing(m), "a stored event"))
        needed = np.unique(staged_at[np.isin(pos, referred)])  # staged positions, sorted
        if len(needed):
            values = _reference(con, needed)
            for j, p in enumerate(rest[needed].tolist()):  # candidates with in-batch repeats
                reference_rows[p] = {k: v[j] for k, v in values.items()}

    ids = batch.event_id[candidates]
    digest = row_digest(stored)
    rest = np.arange(len(candidates))  # the candidates not settled yet
    some, digested = _sampled(con, ids) if len(candidates) else (False, False)
    if digested:
        # some are stored (a batch sent again?): those with the same digest are duplicates
        same = _same_as_stored(con, ids, digest)
        kept[same] = False
        status[candidates[same]] = AppendStatus.DUPLICATE
        rest = np.flatnonzero(kept)
        some = bool(len(rest)) and _sampled(con, ids[rest])[0]
    fresh = bool(len(rest)) and not some
    part = {k: v[rest] for k, v in stored.items()} if len(rest) < len(candidates) else stored
    if fresh:
        # new data (the usual case): the rows straight into the event table
        staged = not _copy_new(store, con, ids[rest], part, digest[rest], batch_id)
    else:
        staged = bool(len(rest))
    if staged:  # staged row ``pos`` is candidate ``rest[pos]``
        _stage(con, ids[rest], part, digest[rest])
        pos, mask = _probe(con, below=SAMPLE) if len(rest) > SAMPLE else _probe(con)
        if len(pos) and len(rest) > SAMPLE:
            pos, mask = _probe(con)  # some are stored: probe them all
        if len(pos):
            settle(pos, mask)
            if kept.any():
                con.execute(f"DELETE FROM {STAGE} WHERE pos = ANY(%s::integer[])", [pos.tolist()])
        expected = int(kept.sum())
        if expected and _insert(con, batch_id) < expected:
            # another writer committed some of these ids since the probe
            settle(*_probe_again(con, batch_id, kept[rest]))

    if len(repeat_rows):
        _resolve_repeats(
            store,
            con,
            batch,
            repeat_rows,
            position[first_of[repeat_rows]],
            stored,
            reference_rows,
            status,
            rejections,
        )

    rejections.sort(key=lambda r: r.row)  # in the caller's row order
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


def _probe_again(con: Any, batch_id: int, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """After the insert: the still-staged rows another batch stored first."""
    pos, mask = _probe(con, not_batch=batch_id)
    mine = kept[pos]
    return pos[mine], mask[mine]


def _resolve_repeats(
    store: PostgresStorage,
    con: Any,
    batch: Batch,
    rows: np.ndarray,
    ref_index: np.ndarray,
    stored: dict[str, np.ndarray],
    reference_rows: dict[int, dict[str, Any]],
    status: np.ndarray,
    rejections: list[Rejection],
) -> None:
    """A repeated event id in one batch, compared with the event's reference values.

    The reference is the stored event if there was one, else the first row of the batch
    with that id (``ref_index`` -1: that row was not stored, so the repeat conflicts).
    """
    mine = stored_columns(store, con, batch, rows)
    has_ref = ref_index >= 0
    safe = np.where(has_ref, ref_index, 0)
    ref = {k: v[safe].copy() for k, v in stored.items()} if len(stored["time"]) else mine
    for j, p in enumerate(safe.tolist()):  # repeats of stored ids take the stored values
        if has_ref[j] and p in reference_rows:
            for k, v in reference_rows[p].items():
                ref[k][j] = v
    n = len(rows)
    same = np.ones(n, dtype=bool)
    masks = np.zeros(n, dtype=np.int64)
    for i, name in enumerate(COMPARED):  # a dozen columns
        x, y = mine[name], ref[name]
        eq = (x == y) | (np.isnan(x) & np.isnan(y)) if name in FLOATS else x == y
        masks |= (~eq).astype(np.int64) << i
        same &= eq
    same &= has_ref
    status[rows[same]] = AppendStatus.DUPLICATE
    for j in np.flatnonzero(~same).tolist():  # the conflicting repeats only
        row = int(rows[j])
        status[row] = AppendStatus.CONFLICT
        cols = _differing(int(masks[j])) if has_ref[j] else []
        rejections.append(_conflict(batch, row, cols, "another record with the same event id"))


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
