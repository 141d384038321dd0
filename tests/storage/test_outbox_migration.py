"""A version 2 outbox (before leases) migrates to version 3 with its rows intact and claimable."""

import sqlite3

from touchpoint.storage import _sqlite_schema
from touchpoint.storage.sqlite import SqliteStorage


def test_a_version_2_outbox_gains_leases_with_its_rows_intact(tmp_path):
    path = tmp_path / "v2.db"
    con = sqlite3.connect(path, isolation_level=None)
    saved = _sqlite_schema.MIGRATIONS
    try:
        _sqlite_schema.MIGRATIONS = [m for m in saved if m[0] <= 2]
        _sqlite_schema.migrate(con, str(path))
    finally:
        _sqlite_schema.MIGRATIONS = saved
    con.execute(
        "INSERT INTO outbox (key, customer, channel, purpose, state, attempts, next_attempt_at, "
        "created_at, last_error) VALUES ('b/C1/2026', 'C1', 'hook', 'service', 'retry', 2, 100, "
        "5, 'HTTP 500'), ('b/C2/2026', 'C2', 'hook', 'service', 'sent', 1, 100, 5, NULL)"
    )
    con.close()
    store = SqliteStorage(str(path))
    try:
        rows = {r["key"]: r for r in store.outbox()}
        assert (rows["b/C1/2026"]["state"], rows["b/C1/2026"]["attempts"]) == ("retry", 2)
        assert rows["b/C1/2026"]["last_error"] == "HTTP 500"
        assert rows["b/C1/2026"]["lease_owner"] is None and rows["b/C2/2026"]["state"] == "sent"
        [claimed] = store.claim_outbox("A", now=150, lease_until=900)
        assert claimed["key"] == "b/C1/2026" and claimed["lease_owner"] == "A"
        assert store.outbox_sent("b/C1/2026", at=160, owner="A")
        assert store.outbox("sent", customer="C1")[0]["attempts"] == 3
    finally:
        store.close()
