"""SQLite specifics: real files, pragmas, schema versions, erasure down to the file bytes."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.channels.base import Delivery, Message
from touchpoint.errors import StorageError
from touchpoint.model import Customer
from touchpoint.storage import AppendStatus, Batch, open_storage
from touchpoint.storage._sqlite_schema import SCHEMA_VERSION
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.testing import make_columns


@pytest.fixture
def path(tmp_path):
    return tmp_path / "shop.db"


def test_pragmas_and_schema_version(path):
    store = open_storage(f"sqlite:///{path}?busy_timeout=1234")
    con = store._con
    assert con.isolation_level is None
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_data_survives_reopening_and_a_second_connection_sees_it(path):
    cols = make_columns(500)
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
        with SqliteStorage(str(path)) as other:  # a second connection, as another process would
            assert other.count() == 500
    with SqliteStorage(str(path)) as store:
        frame = store.scan()
        assert sorted(frame["event_id"].tolist()) == sorted(cols["event_id"].tolist())
        assert np.nansum(frame["amount"]) == pytest.approx(np.nansum(cols["amount"]))


def test_a_database_from_a_newer_version_is_refused(path):
    SqliteStorage(str(path)).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="newer than this touchpoint understands"):
        SqliteStorage(str(path))


def test_bad_urls_say_what_to_write():
    with pytest.raises(StorageError, match=r"sqlite:///relative.db"):
        open_storage("sqlite://host/x.db")
    with pytest.raises(StorageError, match="unknown option"):
        open_storage("sqlite:///x.db?fast=yes")
    with pytest.raises(
        StorageError,
        match=r"no storage plugin for mysql:// \(known: memory://, postgres://, postgresql://, sqlite://\)",
    ):
        open_storage("mysql://db/x")


def test_the_same_100k_batch_twice_stores_100k_events(path):
    cols = make_columns(100_000, customers=5000)
    with SqliteStorage(str(path)) as store:
        first = store.append(Batch.from_columns(cols))
        second = store.append(Batch.from_columns(cols))
        assert (first.status == AppendStatus.ACCEPTED).all()
        assert (second.status == AppendStatus.DUPLICATE).all()
        assert store.count() == 100_000
        assert store._con.execute("SELECT count(*) FROM event_key").fetchone()[0] == 100_000
        assert len(store.scan()) == 100_000


def _file_bytes(path):
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_forget_leaves_no_trace_in_the_file(path):
    email = "wang.fang.unique@example.com"
    cols = make_columns(3000, customers=20)
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
        store.upsert_customers(
            [
                Customer("C3", name="Wang Fang", email=email),
                Customer("C4", email="keep@example.com"),
            ]
        )
        store.log_contact(
            Message("k1", "C3", email, "Dear Wang Fang"), Delivery("k1", "smtp", "sent")
        )
        store.save_scores("value", ["C3", "C4"], {"v": np.array([1.0, 2.0])})
        store.enqueue(  # a queued contact holds the address and a personal body too
            [
                {
                    "key": "bday/C3/2026",
                    "customer": "C3",
                    "channel": "smtp",
                    "address": email,
                    "subject": "Happy birthday",
                    "body": "Dear Wang Fang",
                }
            ],
            now=0,
        )
        assert email.encode() in _file_bytes(path)
        assert store.forget("C3")["outbox"] == 1
        assert store.outbox() == []
        raw = _file_bytes(path)
        assert email.encode() not in raw and b"Wang Fang" not in raw
        assert b"keep@example.com" in raw  # other customers untouched
        assert path.with_name(path.name + "-wal").stat().st_size == 0  # WAL truncated
        later = make_columns(5, prefix="late")
        later["customer"][:] = "C3"
        result = store.append(Batch.from_columns(later))
        assert not result.committed and (result.status == AppendStatus.SUPPRESSED).all()
        assert "forgotten" in result.rejections[0].reason
    with SqliteStorage(str(path)) as store:  # reopened: still nothing about C3
        doc = json.loads(store.export("C3"))
        assert doc["customer"] is None and doc["interactions"] == [] and store.is_suppressed("C3")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), min_size=0, max_size=40),
        min_size=1,
        max_size=5,
    )
)
def test_random_batches_store_the_first_version_of_each_event(batches):
    """Invariant: every event id is stored once, with the values it first arrived with."""
    store = SqliteStorage(":memory:")
    reference: dict[str, int] = {}
    for k, rows in enumerate(batches):
        ids = [f"e{i}" for i, _ in rows]
        variant = [v for _, v in rows]
        cols = {
            "event_id": np.array(ids, dtype=object),
            "customer": np.array([f"C{v}" for v in variant], dtype=object),
            "touchpoint": np.array(["T"] * len(rows), dtype=object),
            "time": np.full(len(rows), np.datetime64("2026-01-01", "us")),
        }
        if not rows:
            continue
        result = store.append(Batch.from_columns(cols), refuse=False)
        for j, (i, v) in enumerate(rows):
            eid = f"e{i}"
            if eid not in reference:
                assert result.status[j] == AppendStatus.ACCEPTED, (k, j)
                reference[eid] = v
            elif reference[eid] == v:
                assert result.status[j] == AppendStatus.DUPLICATE
            else:
                assert result.status[j] == AppendStatus.CONFLICT
    frame = store.scan()
    got = dict(zip(frame["event_id"].tolist(), frame["customer"].tolist(), strict=True))
    assert got == {e: f"C{v}" for e, v in reference.items()}
    assert store.count() == len(reference)


def test_a_version_1_database_migrates_to_the_outbox(tmp_path):
    """A database written before the outbox existed gains it on open, data intact."""
    from touchpoint.storage import _sqlite_schema

    path = tmp_path / "v1.db"
    con = sqlite3.connect(path, isolation_level=None)
    saved = _sqlite_schema.MIGRATIONS
    try:
        _sqlite_schema.MIGRATIONS = saved[:1]
        _sqlite_schema.migrate(con, str(path))
    finally:
        _sqlite_schema.MIGRATIONS = saved
    con.execute("INSERT INTO suppression VALUES ('h', '2026-01-01')")
    assert not con.execute("SELECT name FROM sqlite_master WHERE name = 'outbox'").fetchall()
    con.close()
    store = SqliteStorage(str(path))
    try:
        assert store.enqueue([{"key": "k/C1/1", "customer": "C1", "channel": "c"}], now=5) == []
        assert [r["state"] for r in store.outbox()] == ["pending"]
        assert store._read("SELECT hash FROM suppression") == [("h",)]
        versions = [(v,) for v, _ in _sqlite_schema.MIGRATIONS]
        assert store._read("SELECT version FROM schema_version ORDER BY version") == versions
    finally:
        store.close()
