"""The SQLite schema, its version and its migrations.

The database records its schema version in ``schema_version``; opening a database runs
the migrations it has not had yet, each in its own transaction. A database written by a
newer `touchpoint` (a higher version) is refused rather than misread.

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
"""

from __future__ import annotations

import secrets
import sqlite3

from touchpoint.errors import StorageError
from touchpoint.storage.base import CATEGORICAL

__all__ = ["SCHEMA_VERSION", "migrate"]

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

#: (version, statements) in order; append new versions, never edit old ones.
MIGRATIONS: list[tuple[int, list[str]]] = [(1, _V1), (2, _V2), (3, _V3)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(con: sqlite3.Connection, where: str) -> int:
    """Bring the database up to `SCHEMA_VERSION`; returns the version found before."""
    con.execute("BEGIN IMMEDIATE")
    try:
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        found = row[0] or 0
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"{where} has schema version {found}, newer than this touchpoint understands "
                f"({SCHEMA_VERSION}): upgrade touchpoint"
            )
        for version, statements in MIGRATIONS:
            if version <= found:
                continue
            for sql in statements:
                con.execute(sql)
            if version == 1:
                con.execute("INSERT INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
            con.execute("INSERT INTO schema_version VALUES (?)", (version,))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return found
