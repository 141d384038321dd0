"""The dictionary ids a SQLite storage keeps for writing stay those of the database.

A storage remembers the ids of values it wrote (`touchpoint.storage._known_ids`) so that
returning customers need no lookup. These tests make the cases where a remembered id
would be wrong: an id handed out in a transaction that rolled back, an id freed by an
erasure in another connection and given to another value, more values than are kept.
Each checks what a user reads back: every event under its own customer.
"""

from __future__ import annotations

import numpy as np
import pytest

from touchpoint.storage import sqlite as sqlite_module
from touchpoint.storage.base import Batch
from touchpoint.storage.sqlite import SqliteStorage


class _RolledBack(Exception):
    """Raised inside a write transaction to roll it back."""


def _batch(rows: list[tuple[str, str]], *, touchpoint: str = "T1") -> Batch:
    """Events (event id, customer), one a day from 2026-01-01."""
    return Batch.from_columns(
        {
            "event_id": [e for e, _ in rows],
            "customer": [c for _, c in rows],
            "touchpoint": [touchpoint] * len(rows),
            "time": np.datetime64("2026-01-01", "us")
            + np.arange(len(rows)) * np.timedelta64(86_400_000_000, "us"),
        }
    )


def _owners(store: SqliteStorage) -> dict[str, str]:
    """Event id -> customer, as a scan reads them, and as plain SQL reads them."""
    cols = store.scan()
    scanned = dict(zip(cols["event_id"].tolist(), cols["customer"].tolist(), strict=True))
    sql = dict(store._read("SELECT event_id, customer FROM interactions"))
    assert scanned == sql
    return scanned


def test_an_id_from_a_rolled_back_batch_is_not_kept(tmp_path):
    store = SqliteStorage(str(tmp_path / "shop.db"))
    assert store.append(_batch([("e1", "alice")])).committed
    # "carol" gets a new dictionary id, then the batch is refused (e1 conflicts) and
    # rolled back: the id is free again
    refused = store.append(_batch([("e2", "carol"), ("e1", "alice")], touchpoint="T9"))
    assert not refused.committed
    # "dave" now takes that id; carol must get one of her own
    assert store.append(_batch([("e3", "dave")])).committed
    assert store.append(_batch([("e4", "carol"), ("e5", "dave")])).committed
    assert _owners(store) == {"e1": "alice", "e3": "dave", "e4": "carol", "e5": "dave"}


def test_an_id_freed_by_an_erasure_elsewhere_is_not_reused_from_memory(tmp_path):
    path = str(tmp_path / "shop.db")
    writer, other = SqliteStorage(path), SqliteStorage(path)
    assert writer.append(_batch([("e1", "alice"), ("e2", "bob")])).committed
    other.forget("bob")  # bob's id (the highest) is free again
    assert other.append(_batch([("e3", "erin")])).committed  # erin may take it
    # the writer remembered bob's id; erin's and alice's events must land as theirs
    assert writer.append(_batch([("e4", "erin"), ("e5", "alice")])).committed
    assert _owners(writer) == {"e1": "alice", "e3": "erin", "e4": "erin", "e5": "alice"}
    assert _owners(other) == _owners(writer)
    # bob's rows are refused from now on, so his kept id is never used by an append;
    # read it as a write would: not erin's
    erin = other._lookup("customer", ["erin"]).tolist()
    with pytest.raises(_RolledBack), writer._write() as con:  # adds nothing for bob
        assert writer._ids(con, "customer", ["bob"]).tolist() != erin
        raise _RolledBack
    assert not len(other._lookup("customer", ["bob"]))
    writer.close()
    other.close()


@pytest.mark.parametrize("kept", [0, 3, 1 << 19])
def test_returning_customers_keep_their_ids_whatever_is_kept(tmp_path, monkeypatch, kept):
    monkeypatch.setattr(sqlite_module, "KNOWN_IDS", kept)
    store = SqliteStorage(str(tmp_path / "shop.db"))
    rng = np.random.default_rng(3)
    expected: dict[str, str] = {}
    for b in range(6):  # batches of returning and new customers
        who = [f"C{int(i)}" for i in rng.integers(0, 12 + 4 * b, 20)]
        rows = [(f"e{b}-{i}", c) for i, c in enumerate(who)]
        assert store.append(_batch(rows)).committed
        expected.update(rows)
    assert _owners(store) == expected
    assert store._known.size("customer") <= kept
    # a fresh storage, which remembers nothing, reads the same
    fresh = SqliteStorage(store.path)
    assert _owners(fresh) == expected
