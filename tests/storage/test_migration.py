"""Old SQLite files (schema versions 1, 2, 3, written by the old code) migrate in place.

The fixtures and what the old code read from them are in ``data/`` (see its README):
the expected values come from the code that wrote the files, not from the code under
test. Opening a copy migrates it to the current schema; every interaction, customer,
promise, complaint, contact, outbox row, score, quarantined record, suppression entry,
meta row and batch row must read back the same, and the interactions must also read
back the same through plain SQL.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from touchpoint.errors import StorageError
from touchpoint.storage import AppendStatus, Batch, _sqlite_append, _sqlite_schema
from touchpoint.storage._documents import as_plain
from touchpoint.storage._sqlite_schema import SCHEMA_VERSION, migrate
from touchpoint.storage.sqlite import SqliteStorage

DATA = Path(__file__).parent / "data"
VERSIONS = (1, 2, 3)
OUTBOX_V2 = [
    *("key", "customer", "channel", "touchpoint", "purpose", "address", "subject", "body"),
    *("state", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at"),
]


def old_file(version: int, tmp_path: Path) -> Path:
    path = tmp_path / f"v{version}.db"
    with gzip.open(DATA / f"v{version}.db.gz", "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def expected(version: int) -> dict:
    with gzip.open(DATA / f"v{version}.expected.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def records(frame) -> list[dict]:
    """The frame's rows as the fixture script wrote them (plain values, ISO times)."""
    columns = {name: frame[name] for name in frame.column_names}
    out = []
    for i in range(len(frame)):
        row = {}
        for name, values in columns.items():
            v = values[i]
            if isinstance(v, np.datetime64):
                v = str(v.astype("datetime64[us]")) + "Z"
            elif isinstance(v, np.floating):
                v = None if np.isnan(v) else float(v)
            elif isinstance(v, np.generic):
                v = v.item()
            row[name] = v
        out.append(row)
    return out


def schema_of(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_an_old_file_is_migrated_in_place_and_every_row_survives(version, tmp_path):
    path = old_file(version, tmp_path)
    want = expected(version)
    assert schema_of(path) == version
    with SqliteStorage(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION
        # interactions: the same values, in the same order
        assert store.count() == want["count"] == len(want["interactions"])
        assert records(store.scan()) == want["interactions"]
        # everything else, as the old code read it
        assert [as_plain(c) for c in store.customers()] == want["customers"]
        assert [as_plain(p) for p in store.promises()] == want["promises"]
        # (complaints stored before Complaint.resolution read back with it empty)
        old_complaints = [{"resolution": "", **k} for k in want["complaints"]]
        assert [as_plain(k) for k in store.complaints()] == old_complaints
        assert json.loads(json.dumps(store.contacts(), default=str)) == want["contacts"]
        assert store.quarantined() == want["quarantined"]
        for name, columns in want["scores"].items():
            got = store.load_scores(name)
            assert {
                k: [None if isinstance(x, float) and x != x else x for x in v.tolist()]
                for k, v in got.items()
            } == columns
        assert [h for (h,) in store._read("SELECT hash FROM suppression ORDER BY hash")] == want[
            "suppression"
        ]
        if want["forgotten"]:
            assert store.is_suppressed(want["forgotten"])
        assert [list(r) for r in store._read("SELECT * FROM batch ORDER BY id")] == want["batches"]
        meta = dict(store._read("SELECT key, value FROM meta"))
        assert meta["salt"] == want["meta"]["salt"]  # the same salt: suppression still works
        outbox = store.outbox()
        if version == 2:  # the version 2 columns as they were, the later ones empty
            assert [{k: r[k] for k in OUTBOX_V2} for r in outbox] == want["outbox"]
            assert all(
                r[k] is None
                for r in outbox
                for k in ("rule", "on_cap", "lease_owner", "lease_until", "reason")
            )
        else:
            assert outbox == want["outbox"]
    assert schema_of(path) == SCHEMA_VERSION  # migrated in place, and it stays so


@pytest.mark.parametrize("version", VERSIONS)
def test_migrated_interactions_read_the_same_through_plain_sql(version, tmp_path):
    path = old_file(version, tmp_path)
    SqliteStorage(str(path)).close()
    want = {r["event_id"]: r for r in expected(version)["interactions"]}
    con = sqlite3.connect(path)  # plain sqlite3: no touchpoint involved in reading
    cur = con.execute("SELECT * FROM interactions")
    names = [d[0] for d in cur.description]
    got = {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
    con.close()
    assert got.keys() == want.keys()
    for event_id, row in got.items():
        old = want[event_id]
        assert {k: row[k] for k in old if k != "time"} == {
            k: v for k, v in old.items() if k != "time"
        }
        assert row["time"] == old["time"]  # ISO 8601, microseconds, Z (also before 1970)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_migrated_file_keeps_working(version, tmp_path):
    """Idempotency across the migration: the stored events are duplicates, a changed one
    conflicts, new ones land; forget works on rows written before and after."""
    path = old_file(version, tmp_path)
    interactions = expected(version)["interactions"]
    old = {k: [r[k] for r in interactions] for k in interactions[0]}
    columns = {
        k: np.array(v, dtype=object)
        if k not in ("amount", "rating", "response_time", "time")
        else np.array([np.nan if x is None else x for x in v], dtype=float)
        for k, v in old.items()
        if k != "time"
    }
    columns["time"] = np.array([t.rstrip("Z") for t in old["time"]], dtype="datetime64[us]")
    with SqliteStorage(str(path)) as store:
        again = store.append(Batch.from_columns(columns))
        assert again.committed and (again.status == AppendStatus.DUPLICATE).all()
        changed = {k: v[:5].copy() for k, v in columns.items()}
        changed["amount"][:] = 123456.0
        refused = store.append(Batch.from_columns(changed))
        assert not refused.committed and (refused.status == AppendStatus.CONFLICT).all()
        new = {k: v[:5].copy() for k, v in columns.items()}
        new["event_id"] = np.array([f"after-migration-{i}" for i in range(5)], dtype=object)
        new["customer"][:] = "C1"
        assert (store.append(Batch.from_columns(new)).status == AppendStatus.ACCEPTED).all()
        assert store.count() == len(interactions) + 5
        before = sum(1 for c in old["customer"] if c == "C1") + 5
        assert store.forget("C1")["interactions"] == before
        assert store.count() == len(interactions) + 5 - before
        assert "C1" not in set(store.scan()["customer"].tolist())
        rows = store._read("SELECT count(*) FROM interactions WHERE customer = 'C1'")
        assert rows == [(0,)]


def test_the_migration_keeps_the_pending_erasure_and_the_next_open_finishes_it(tmp_path):
    path = old_file(3, tmp_path)
    pending = [k for k in expected(3)["meta"] if k.startswith("erasure_pending:")]
    assert len(pending) == 1
    con = sqlite3.connect(path, isolation_level=None)
    assert migrate(con, str(path)) == 3
    assert [
        k for (k,) in con.execute("SELECT key FROM meta WHERE key LIKE 'erasure_pending:%'")
    ] == pending
    con.close()
    with SqliteStorage(str(path)) as store:  # the open completes the erasure on disk
        assert store.pending_erasure() is None
        assert store.is_suppressed("C7") and store.customer("C7") is None
    assert b"seven@example.com" not in path.read_bytes()


def test_a_failed_migration_leaves_the_old_file_as_it_was(tmp_path, monkeypatch):
    path = old_file(3, tmp_path)

    def fail(con):
        raise RuntimeError("disk full, say")

    version, steps = _sqlite_schema.MIGRATIONS[-1]
    at = next(i for i, s in enumerate(steps) if callable(s)) + 1  # after the rows are filled
    broken = [*_sqlite_schema.MIGRATIONS[:-1], (version, [*steps[:at], fail, *steps[at:]])]
    monkeypatch.setattr(_sqlite_schema, "MIGRATIONS", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        SqliteStorage(str(path))
    monkeypatch.undo()
    assert schema_of(path) == 3
    con = sqlite3.connect(path)
    tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "event" not in tables and "event_key" in tables and "chunk_v3" not in tables
    assert con.execute("SELECT count(*) FROM event_key").fetchone()[0] == expected(3)["count"]
    con.close()
    with SqliteStorage(str(path)) as store:  # and a later open migrates it whole
        assert store.schema_version == SCHEMA_VERSION
        assert records(store.scan()) == expected(3)["interactions"]


def test_the_migration_stores_colliding_keys_as_overflow_rows(tmp_path, monkeypatch):
    """With a key that collides all the time, every event of the old file still survives."""
    path = old_file(3, tmp_path)
    real = _sqlite_append.event_keys
    monkeypatch.setattr(_sqlite_append, "event_keys", lambda ids: real(ids) % 97)
    want = expected(3)["interactions"]
    with SqliteStorage(str(path)) as store:
        assert records(store.scan()) == want
        ids = [r["event_id"] for r in want]
        held = len(np.unique(real(np.array(ids, dtype="S")) % 97))  # keys, one event each
        (overflow,) = store._read("SELECT count(*) FROM event WHERE key IS NULL")[0]
        assert held == 97 and overflow == len(want) - held
        got = {e for (e,) in store._read("SELECT event_id FROM interactions")}
        assert got == set(ids)


def test_a_file_from_a_newer_touchpoint_is_refused(tmp_path):
    path = old_file(3, tmp_path)
    SqliteStorage(str(path)).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="newer than this touchpoint understands"):
        SqliteStorage(str(path))
