"""The SQLite schema, its version and its migrations.

The database records its schema version in ``schema_version``; opening a database runs
the migrations it has not had yet, in place and in one transaction. A database written by
a newer `touchpoint` (a higher version) is refused rather than misread.

Layout (version 1):

- ``dict_<column>``: the distinct values of each categorical column (customer,
  touchpoint, channel, outcome, staff, store, referrer, indicator) with integer ids.
- ``chunk``: interactions in column blocks (see `touchpoint.storage._pack`); each
  holds up to a few thousand to a million rows with their time range, so a scan reads
  integers and floats straight into numpy and skips chunks outside the time range.
- ``event_key``: every stored event id with its chunk and position; the primary key makes
  appends idempotent (``INSERT ... ON CONFLICT(event_id) DO NOTHING``).
- ``document``: customers (with consent), promises and complaints as JSON.
- ``contact``: the contact log, including messages queued by the outbox channel.
- ``score``: saved score sets; ``quarantine``: rejected records with their reasons;
  ``batch``: one row per append; ``suppression``: salted hashes of forgotten customers;
  ``meta``: the salt.

Version 2 adds the dispatch ``outbox``; version 3 its leases and policy holds.

Version 4 makes interactions readable by plain SQL and appends fast with random ids:

- ``event``: one row per interaction, the table of record. ``id`` is the row's number,
  ``key`` a 64-bit hash of ``event_id`` (`touchpoint.storage._sqlite_keys`) with a
  unique index (NULL for the rare event whose key another event id holds: an overflow
  row, found by a partial unique index on its full id); categorical columns hold the
  ids of their ``dict_<column>`` value, ``time`` microseconds since 1970-01-01 UTC,
  ``direction`` 0 inbound / 1 outbound.
- ``interactions``: a view of ``event`` with the values themselves (customer ids,
  touchpoint codes, ...), the time as ISO 8601 text (``time``) and as microseconds
  (``time_us``): what the ``sqlite3`` shell, datasette or a BI tool reads.
- ``chunk``: now the scan cache, written in the same transaction as ``event``: the same
  rows in column blocks, with their ``id``, and the range of ids each block holds
  (``first_id``, ``last_id``, before ``data``). ``event_key`` is gone (``event.key``
  replaces it).

The version 4 migration fills ``event`` from the column blocks of an older file and
rewrites the blocks with their ids, in the same transaction as every other step.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable

from touchpoint.errors import StorageError
from touchpoint.storage.base import CATEGORICAL

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

log = logging.getLogger("touchpoint.storage")

_V1 = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    *[
        f"CREATE TABLE dict_{name} (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)"
        for name in CATEGORICAL
    ],
    """CREATE TABLE chunk (
        id INTEGER PRIMARY KEY, n INTEGER NOT NULL, tmin INTEGER NOT NULL,
        tmax INTEGER NOT NULL, data BLOB NOT NULL)""",
    """CREATE TABLE event_key (
        event_id TEXT PRIMARY KEY, chunk INTEGER NOT NULL, pos INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE document (
        kind TEXT NOT NULL, id TEXT NOT NULL, customer TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (kind, id))""",
    "CREATE INDEX document_customer ON document (customer)",
    """CREATE TABLE contact (
        contact_id TEXT PRIMARY KEY, customer TEXT NOT NULL, channel TEXT NOT NULL,
        touchpoint TEXT, address TEXT, subject TEXT, body TEXT, status TEXT NOT NULL,
        detail TEXT, retryable INTEGER NOT NULL, attempts INTEGER NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX contact_customer ON contact (customer)",
    "CREATE TABLE score (name TEXT PRIMARY KEY, saved_at TEXT NOT NULL, data BLOB NOT NULL)",
    """CREATE TABLE batch (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, rows INTEGER NOT NULL,
        accepted INTEGER NOT NULL, duplicate INTEGER NOT NULL, rejected INTEGER NOT NULL)""",
    """CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, row INTEGER NOT NULL,
        event_id TEXT, customer TEXT, reasons TEXT NOT NULL, record TEXT)""",
    "CREATE INDEX quarantine_customer ON quarantine (customer)",
    "CREATE TABLE suppression (hash TEXT PRIMARY KEY, at TEXT NOT NULL)",
]

#: Version 2: the durable dispatch outbox (`touchpoint.care.dispatch`), one row per
#: idempotency key with its state (pending, sent, retry, dead), attempts and next attempt.
_V2 = [
    """CREATE TABLE outbox (
        key TEXT PRIMARY KEY, customer TEXT NOT NULL, channel TEXT NOT NULL,
        touchpoint TEXT, purpose TEXT NOT NULL, address TEXT, subject TEXT, body TEXT,
        state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,
        last_error TEXT, created_at INTEGER NOT NULL, sent_at INTEGER)""",
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
]

#: Version 3: outbox leases and policy holds (`touchpoint.care.dispatch`). A dispatcher
#: claims a row by writing its ``lease_owner`` and ``lease_until`` in the transaction that
#: selects it; ``reason`` says why the send-time policy held or moved a row; ``rule`` and
#: ``on_cap`` carry the care rule's cap choice to send time; state ``held`` is a row the
#: policy closed (never sent).
_V3 = [
    "ALTER TABLE outbox ADD COLUMN rule TEXT",
    "ALTER TABLE outbox ADD COLUMN on_cap TEXT",
    "ALTER TABLE outbox ADD COLUMN lease_owner TEXT",
    "ALTER TABLE outbox ADD COLUMN lease_until INTEGER",
    "ALTER TABLE outbox ADD COLUMN reason TEXT",
    "CREATE INDEX outbox_customer ON outbox (customer, state)",
]


def _time_text(column: str) -> str:
    """SQL for ISO 8601 text (microseconds, ``Z``) of a column of microseconds since 1970."""
    seconds = f"({column} / 1000000 - ({column} % 1000000 < 0))"  # floor, also before 1970
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', {seconds}, 'unixepoch') "
        f"|| printf('.%06dZ', ({column} % 1000000 + 1000000) % 1000000)"
    )


def _value(name: str) -> str:
    """SQL for the value of dictionary column ``name`` of the ``event`` row ``e``.

    A scalar subquery rather than a join: evaluated only when the column is read, so
    ``select count(*) from interactions`` counts rows without a lookup per row.
    """
    return f"(SELECT value FROM dict_{name} WHERE id = e.{name})"


#: The ``interactions`` view: one row per interaction with its values, for plain SQL.
INTERACTIONS_VIEW = (
    "CREATE VIEW interactions AS SELECT e.event_id AS event_id, "
    f"{_value('customer')} AS customer, {_time_text('e.time')} AS time, "
    f"{_value('touchpoint')} AS touchpoint, {_value('channel')} AS channel, "
    "CASE e.direction WHEN 1 THEN 'outbound' ELSE 'inbound' END AS direction, "
    f"{_value('outcome')} AS outcome, e.amount AS amount, e.rating AS rating, "
    f"e.response_time AS response_time, {_value('staff')} AS staff, "
    f"{_value('store')} AS store, {_value('referrer')} AS referrer, "
    f"{_value('indicator')} AS indicator, e.time AS time_us FROM event AS e"
)

#: Version 4: interactions as rows (``event``, the ``interactions`` view), the 64-bit
#: key index that makes appends with random ids fast, and ``chunk`` as the scan cache.
_V4: list[str | Callable[[sqlite3.Connection], None]] = [
    """CREATE TABLE event (
        id INTEGER PRIMARY KEY, key INTEGER, event_id TEXT NOT NULL,
        """
    + ", ".join(f"{name} INTEGER REFERENCES dict_{name} (id)" for name in CATEGORICAL)
    + """,
        time INTEGER NOT NULL, direction INTEGER NOT NULL,
        amount REAL, rating REAL, response_time REAL)""",
    "CREATE UNIQUE INDEX event_by_key ON event (key)",
    "CREATE UNIQUE INDEX event_overflow ON event (event_id) WHERE key IS NULL",
    # the block's id range before its data: reading a column after a large blob walks
    # the blob's overflow pages
    "ALTER TABLE chunk RENAME TO chunk_v3",
    """CREATE TABLE chunk (
        id INTEGER PRIMARY KEY, n INTEGER NOT NULL, tmin INTEGER NOT NULL,
        tmax INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,
        data BLOB NOT NULL)""",
    lambda con: _rows_from_blocks(con),
    "DROP TABLE chunk_v3",
    "DROP TABLE event_key",
    INTERACTIONS_VIEW,
]


def _rows_from_blocks(con: sqlite3.Connection) -> None:
    """Version 4: fill ``event`` from the version 1-3 column blocks; give the blocks ids."""
    from touchpoint.storage._sqlite_append import migrate_blocks

    migrate_blocks(con)


#: (version, steps) in order: SQL statements, or functions of the connection for what
#: SQL alone cannot do. Append new versions, never edit old ones.
MIGRATIONS: list[tuple[int, list[str | Callable[[sqlite3.Connection], None]]]] = [
    (1, list(_V1)),
    (2, list(_V2)),
    (3, list(_V3)),
    (4, _V4),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _version_read(con: sqlite3.Connection, where: str) -> int | None:
    """The schema version of the file, read without a write lock (None: no schema yet)."""
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise StorageError(f"{where}: could not read the schema version ({exc})") from None
    return int(row[0] or 0)


def migrate(con: sqlite3.Connection, where: str) -> int:
    """Bring the database up to `SCHEMA_VERSION` in one transaction; returns the version found.

    Every missing version is applied in order inside one ``BEGIN IMMEDIATE`` transaction:
    a failure (or a crash) at any step leaves the file as it was. A file already at
    `SCHEMA_VERSION` is only read: opening it takes no write lock, so opening never waits
    for (or fails on) another process's write.
    """
    latest = MIGRATIONS[-1][0]
    if _version_read(con, where) == latest:
        return latest
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StorageError(
            f"{where}: could not take the write lock to create or migrate the schema ({exc}); "
            "another process held it past the busy timeout; nothing was changed"
        ) from None
    try:
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        found = row[0] or 0
        if found > latest:
            raise StorageError(
                f"{where} has schema version {found}, newer than this touchpoint understands "
                f"({latest}): upgrade touchpoint"
            )
        for version, steps in MIGRATIONS:
            if version <= found:
                continue
            if found:
                log.info("%s: migrating the schema from version %d to %d", where, found, version)
            for step in steps:
                if callable(step):
                    step(con)
                else:
                    con.execute(step)
            if version == 1:
                con.execute("INSERT INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
            con.execute("INSERT INTO schema_version VALUES (?)", (version,))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return found
