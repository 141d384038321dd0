"""Appending a `Batch` to SQLite (schema version 4).

Interactions live twice, written in one transaction: as rows in ``event`` (the table of
record, what plain SQL reads through the ``interactions`` view) and as column blocks in
``chunk`` (the scan cache: a scan reads blocks straight into numpy). Why both, and the
figures behind the choice, are in ``benchmarks/README.md``.

Append, inside the caller's write transaction:

1. rows whose customer (or referrer) was forgotten are ``SUPPRESSED``;
2. a row repeating an earlier row's event id in the same batch is a ``DUPLICATE`` if
   its values are equal, a ``CONFLICT`` otherwise;
3. the distinct values of each categorical column are mapped to dictionary ids once;
4. the other rows go into ``event`` sorted by their 64-bit key
   (`touchpoint.storage._sqlite_keys`), with ``INSERT ... ON CONFLICT (key) DO
   NOTHING``: the key index is written in one sweep. When fewer rows went in than were
   offered, one query finds the row holding each missing key; its full event id (from
   the scan cache) tells a stored event (then the values are compared: equal is a
   ``DUPLICATE``, different a ``CONFLICT``) from a collision of two ids on one key (the
   newcomer is then stored as an overflow row without a key);
5. the accepted rows are appended to the scan cache as one column block (merged into
   the last block while that stays small); conflicts and suppressed rows go to
   quarantine (or the whole batch is refused), with one ``batch`` row for the audit trail.

Every step works on numpy arrays; the per-row Python work is the parameters sqlite3
binds for the row insert, 256 rows to a statement (`ROWS_PER_INSERT`). Scans are in
`touchpoint.storage._sqlite_scan`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from touchpoint.errors import Problem, StorageError
from touchpoint.storage._pack import ascii_text, pack, unpack
from touchpoint.storage._sqlite_keys import event_keys
from touchpoint.storage.base import (
    CATEGORICAL,
    FLOATS,
    AppendResult,
    AppendStatus,
    Batch,
    Rejection,
)

if TYPE_CHECKING:
    from touchpoint.storage.sqlite import SqliteStorage

__all__ = ["append", "cached_rows", "insert_rows", "migrate_blocks"]

CHUNK_ROWS = 4096
#: The columns of an interaction as stored, in order (the columns of ``event`` after
#: ``id`` and ``key``; categorical ones as dictionary ids, -1 for missing).
STORED = ("event_id", *CATEGORICAL, "time", "direction", *FLOATS)
#: The columns of a scan-cache block: the row's id in ``event``, then `STORED`.
CACHED = ("id", *STORED)


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
    """The ``rows`` of ``batch`` as they are stored: dictionary ids instead of codes.

    ``rows`` are distinct and ascending; when they are every row, the batch's own
    columns are used without a copy.
    """
    every = len(rows) == len(batch)

    def take(column: np.ndarray) -> np.ndarray:
        return column if every else column[rows]

    out: dict[str, np.ndarray] = {"event_id": take(batch.event_id)}
    for name in CATEGORICAL:
        codes = take(batch.codes[name])
        k = len(batch.categories[name])
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=k))  # O(n), no sort
        lut = np.full(k + 1, -1, dtype=np.int64)
        if len(used):
            lut[used] = store._ids(con, name, batch.categories[name][used].tolist())
        out[name] = lut[codes].astype(np.int32)  # code -1 reads the last slot, which stays -1
    out["time"] = take(batch.time)
    out["direction"] = take(batch.direction)
    for name in FLOATS:
        out[name] = take(batch.floats[name])
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


# --------------------------------------------------------------------------- rows


def _next_id(con: sqlite3.Connection) -> int:
    """The first unused row id: above every row and every block of the cache."""
    (top,) = con.execute(
        "SELECT max(coalesce((SELECT max(id) FROM event), 0), "
        "coalesce((SELECT max(last_id) FROM chunk), 0))"
    ).fetchone()
    return int(top) + 1


#: Rows per ``INSERT ... VALUES (...), (...), ...`` statement: one statement for many
#: rows saves ``executemany``'s per-statement work (reset, step, the GIL handed back and
#: forth), 1.8x on the whole insert (``benchmarks/prototypes/sqlite_insert_paths.py``).
ROWS_PER_INSERT = 256


def _insert(
    con: sqlite3.Connection,
    cols: dict[str, np.ndarray],
    rows: np.ndarray,
    ids: np.ndarray,
    keys: np.ndarray | None,
) -> None:
    """Insert ``cols[rows]`` into ``event`` with ``ids`` (and ``keys``), many rows a statement.

    Only the columns with a value in some row are named (the others are NULL by
    default); NaN binds as NULL; dictionary id -1 becomes NULL through ``NULLIF(?,
    -1)``, in the columns missing some value only (SQLite calls a function per value;
    binding ``None`` instead costs more, through sqlite3's adaptation of non-basic
    types: ``benchmarks/prototypes/sqlite_null_ids.py``); the event ids bind as
    ``str`` (ASCII codes), which SQLite stores as they come. With
    ``keys`` the insert skips rows whose key is taken; without, the rows are overflow
    rows (no key). The parameters of `ROWS_PER_INSERT` rows go in one flat list, row
    after row (built by slice assignment, a loop over columns only), 64 statements'
    worth at a time.
    """
    m = len(rows)
    if not m:
        return
    names, marks = ["id"], ["?"]
    arrays: list[np.ndarray] = [ids]
    if keys is not None:
        names.append("key")
        marks.append("?")
        arrays.append(keys)
    names.append("event_id")
    marks.append("?")
    arrays.append(cols["event_id"][rows])
    for name in STORED[1:]:
        column = cols[name][rows]
        mark = "?"
        if name in CATEGORICAL:
            missing = column < 0
            if missing.all():
                continue
            if missing.any():
                mark = "NULLIF(?, -1)"
        elif name in FLOATS and np.isnan(column).all():
            continue
        names.append(name)
        marks.append(mark)
        arrays.append(column)
    width = len(arrays)
    row = f"({', '.join(marks)})"
    head = f"INSERT INTO event ({', '.join(names)}) VALUES "
    tail = " ON CONFLICT (key) DO NOTHING" if keys is not None else ""
    # an SQLite built with a lower limit on parameters (999 before 3.32) gets fewer rows
    per = max(1, min(ROWS_PER_INSERT, con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    statement = head + ", ".join([row] * per) + tail
    part = per * 64  # rows whose Python values exist at once: the lists stay small
    for start in range(0, m, part):  # a loop over parts of many statements
        n = min(part, m - start)
        flat: list[Any] = [None] * (n * width)
        for j, values in enumerate(arrays):  # a loop over columns
            values = values[start : start + n]
            flat[j::width] = (ascii_text(values) if values.dtype.kind == "S" else values).tolist()
        full, step = n // per, per * width
        if full:
            con.executemany(statement, (flat[i * step : (i + 1) * step] for i in range(full)))
        if n > full * per:
            con.execute(head + ", ".join([row] * (n - full * per)) + tail, flat[full * step :])


def insert_rows(
    con: sqlite3.Connection, cols: dict[str, np.ndarray], keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Store the rows whose event id is not stored yet; the others are left alone.

    ``cols`` are stored columns (`STORED`) of rows with distinct event ids. Returns
    ``(ids, held, values)``: each row's id in ``event`` (new, or the stored event's),
    whether its event id was stored already (then nothing was written for it), and
    the stored values of those rows (`STORED` columns, in the order of
    ``numpy.flatnonzero(held)``), read from the scan cache. ``keys`` are the rows'
    `event_keys` if the caller has them already.
    """
    m = len(cols["time"])
    ids = np.full(m, -1, dtype=np.int64)
    held = np.zeros(m, dtype=bool)
    if m == 0:
        return ids, held, _empty_columns()
    if keys is None:
        keys = event_keys(cols["event_id"])
    todo = np.ones(m, dtype=bool)
    # event ids stored as overflow rows: their key was taken when they came (rare)
    overflow = con.execute("SELECT id, event_id FROM event WHERE key IS NULL").fetchall()
    if overflow:
        known = {e.encode("ascii"): i for i, e in overflow}  # the few overflow rows
        for j in np.flatnonzero(np.isin(cols["event_id"], np.array(list(known), dtype="S"))):
            ids[j], held[j], todo[j] = known[bytes(cols["event_id"][j])], True, False

    order = np.flatnonzero(todo)
    order = order[np.argsort(keys[order], kind="stable")]  # one sweep through the index
    base = _next_id(con)
    taken, holder_of = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    step = max(1, len(order) // _SAMPLE)
    if len(order) and _holders(con, keys[order[::step]], None)[0].size:
        # some keys are stored (a batch sent again?): look them all up before inserting,
        # so that the stored ones cost an index probe, not an attempted insert
        pos, holder_of = _holders(con, keys[order], None)
        taken = order[pos]
        order = np.delete(order, pos)
    new = base + np.arange(len(order), dtype=np.int64)
    before = con.total_changes
    _insert(con, cols, order, new, keys[order])
    ids[order] = new
    if con.total_changes - before < len(order):
        # the rows that did not go in: their key is held by another row
        pos, holders = _holders(con, keys[order], base)
        taken = np.concatenate([taken, order[pos]])
        holder_of = np.concatenate([holder_of, holders])
    ids[taken] = holder_of

    # the stored rows involved: events found as overflow rows, and the key holders
    # from before this batch (a holder from this batch has another event id: the
    # rows' ids are distinct)
    earlier = taken[holder_of < base]
    overflowed = np.flatnonzero(held)
    look = np.concatenate([overflowed, earlier])
    stored = cached_rows(con, ids[look])
    same_id = stored["event_id"][len(overflowed) :] == cols["event_id"][earlier]
    held[earlier[same_id]] = True
    collided = taken[~held[taken]]
    if len(collided):
        # two event ids, one key: the newcomer is stored without a key (overflow row)
        extra = _next_id(con) + np.arange(len(collided), dtype=np.int64)
        _insert(con, cols, collided, extra, None)
        ids[collided] = extra
    # the stored values of the held rows, in the order of flatnonzero(held)
    keep = np.concatenate([np.ones(len(overflowed), dtype=bool), same_id])
    by_row = np.argsort(look[keep], kind="stable")
    values = {k: v[keep][by_row] for k, v in stored.items()}
    return ids, held, values


#: Keys looked up before a batch is inserted, to tell whether it was stored already.
_SAMPLE = 64


def _holders(
    con: sqlite3.Connection, keys: np.ndarray, base: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``keys``, id of the row holding the key) for the keys held in ``event``.

    With ``base``, the rows just inserted for these keys (ids ``base + position``) are
    left out: what remains are the keys another row held.
    """
    sql = "SELECT j.key, e.id FROM json_each(?) AS j JOIN event AS e ON e.key = j.value"
    params: tuple[Any, ...] = (json.dumps(keys.tolist()),)
    if base is not None:
        sql += " WHERE e.id != ? + j.key"
        params += (base,)
    pairs = np.array(con.execute(sql, params).fetchall(), dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _empty_columns() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"event_id": np.empty(0, dtype="S1")}
    for name in CATEGORICAL:
        out[name] = np.empty(0, dtype=np.int32)
    out["time"] = np.empty(0, dtype=np.int64)
    out["direction"] = np.empty(0, dtype=np.int8)
    for name in FLOATS:
        out[name] = np.empty(0, dtype=np.float64)
    return out


def cached_rows(con: sqlite3.Connection, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The stored values (`STORED` columns) of the rows with these ``event`` ids, in order.

    Read from the scan cache: the blocks whose id range holds them, one pass per block.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return _empty_columns()
    ranges = np.array(
        con.execute(
            "SELECT id, first_id, last_id FROM chunk WHERE n > 0 ORDER BY first_id"
        ).fetchall(),
        dtype=np.int64,
    ).reshape(-1, 3)
    which = np.searchsorted(ranges[:, 1], ids, side="right") - 1
    parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    for block in np.unique(which):  # a loop over blocks
        sel = np.flatnonzero(which == block)
        cols, pos = None, np.empty(0, dtype=np.int64)
        if block >= 0 and (ids[sel] <= ranges[block, 2]).all():
            first, last = ranges[block, 1], ranges[block, 2]
            (blob,) = con.execute(
                "SELECT data FROM chunk WHERE id = ?", (int(ranges[block, 0]),)
            ).fetchone()
            cols = unpack(blob)
            # position of each id in the block: a table over the block's id range
            at = np.full(last - first + 1, -1, dtype=np.int64)
            at[cols["id"] - first] = np.arange(len(cols["id"]))
            pos = at[ids[sel] - first]
        if cols is None or (pos < 0).any():
            raise StorageError(
                "the scan cache (table chunk) does not hold every row of table event: "
                "the event table was changed by something other than touchpoint"
            )
        parts.append((sel, {k: cols[k][pos] for k in STORED}))
    out = {k: np.concatenate([p[1][k] for p in parts]) for k in STORED}
    order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")
    return {k: v[order] for k, v in out.items()}


# --------------------------------------------------------------------------- append


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
    keys = event_keys(batch.event_id)
    first_of = _first_of(keys, batch.event_id)
    repeat_rows = np.flatnonzero((first_of != np.arange(n)) & (status == 0))
    candidates = np.flatnonzero((status == 0) & (first_of == np.arange(n)))
    stored = _stored_columns(store, con, batch, candidates)

    ids, held, theirs = insert_rows(con, stored, keys[candidates])
    accepted = ~held
    reference = stored
    if held.any():
        old = np.flatnonzero(held)
        ours = {k: v[old] for k, v in stored.items()}
        same, differing = _equal(ours, theirs)
        status[candidates[old[same]]] = AppendStatus.DUPLICATE
        for row, diff in zip(candidates[old[~same]], differing, strict=True):
            status[row] = AppendStatus.CONFLICT
            rejections.append(_conflict(batch, int(row), diff, "a stored event"))
        reference = {k: v.copy() for k, v in stored.items()}
        for k in STORED[1:]:
            reference[k][old] = theirs[k]

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

    cached = {"id": ids, **stored}
    if not accepted.all():  # duplicates, conflicts or suppressed rows are not cached
        cached = {k: v[accepted] for k, v in cached.items()}
    _write_block(con, cached)
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


def _first_of(keys: np.ndarray, event_ids: np.ndarray) -> np.ndarray:
    """For each row, the first row of the batch with the same event id.

    Grouped by the 64-bit keys (integers sort fast); if two different ids share a key
    (checked on the full ids), grouped by the ids themselves.
    """
    if not len(keys):
        return np.empty(0, dtype=np.int64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    first_of = first[inverse]
    again = np.flatnonzero(first_of != np.arange(len(keys)))  # rows sharing a key: few
    if (event_ids[first_of[again]] != event_ids[again]).any():
        _, first, inverse = np.unique(event_ids, return_index=True, return_inverse=True)
        first_of = first[inverse]
    return first_of


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
    known = np.flatnonzero(ref_index >= 0)
    same = np.zeros(len(rows), dtype=bool)
    differing: list[list[str]] = [[] for _ in range(len(rows))]
    if len(known):
        ref = {k: v[ref_index[known]] for k, v in reference.items()}
        equal, diffs = _equal({k: v[known] for k, v in mine.items()}, ref)
        same[known] = equal
        for i, diff in zip(known[~equal], diffs, strict=True):
            differing[i] = diff
    status[rows[same]] = AppendStatus.DUPLICATE
    for i in np.flatnonzero(~same):  # the conflicting rows (few)
        status[rows[i]] = AppendStatus.CONFLICT
        rejections.append(
            _conflict(batch, int(rows[i]), differing[i], "another record with the same event id")
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


def _write_block(con: sqlite3.Connection, cols: dict[str, np.ndarray]) -> None:
    """Append rows (`CACHED` columns) to the scan cache: to the last block while it stays small."""
    if not len(cols["id"]):
        return
    tail = con.execute("SELECT id, n FROM chunk ORDER BY id DESC LIMIT 1").fetchone()
    if tail is not None and tail[1] > 0 and tail[1] + len(cols["id"]) <= CHUNK_ROWS:
        (blob,) = con.execute("SELECT data FROM chunk WHERE id = ?", (tail[0],)).fetchone()
        old = unpack(blob)
        cols = {k: np.concatenate([old[k], cols[k]]) for k in CACHED}
        con.execute("DELETE FROM chunk WHERE id = ?", (tail[0],))
    write_block(con, cols)


def write_block(con: sqlite3.Connection, cols: dict[str, np.ndarray], chunk_id: Any = None) -> None:
    """Write one scan-cache block (`CACHED` columns) as a new ``chunk`` row (or as ``chunk_id``)."""
    con.execute(
        "INSERT INTO chunk (id, n, tmin, tmax, first_id, last_id, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            chunk_id,
            len(cols["id"]),
            int(cols["time"].min()),
            int(cols["time"].max()),
            int(cols["id"].min()),
            int(cols["id"].max()),
            pack({k: cols[k] for k in CACHED}),
        ),
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


# --------------------------------------------------------------------------- migration


def migrate_blocks(con: sqlite3.Connection) -> None:
    """Schema version 4: rows in ``event`` for every event of the version 1-3 blocks.

    Each block of the old ``chunk`` table (renamed ``chunk_v3``) is read, its events
    inserted into ``event`` (through `insert_rows`, so a key collision becomes an
    overflow row) and the block written to the new ``chunk`` table with the rows' ids,
    under its own chunk id. Runs inside the migration's transaction.
    """
    blocks = [i for (i,) in con.execute("SELECT id FROM chunk_v3 ORDER BY id")]
    for chunk_id in blocks:  # a loop over blocks, one in memory at a time
        (blob,) = con.execute("SELECT data FROM chunk_v3 WHERE id = ?", (chunk_id,)).fetchone()
        cols = {k: np.array(v) for k, v in unpack(blob).items()}
        if not len(cols["time"]):
            continue
        ids, held, _ = insert_rows(con, cols)
        if held.any():  # cannot be: version 1-3 keys made event ids unique
            raise StorageError(
                f"migration to schema version 4: block {chunk_id} repeats stored event ids"
            )
        write_block(con, {"id": ids, **cols}, chunk_id)
