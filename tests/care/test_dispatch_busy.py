"""A busy SQLite file while a contact goes out: it is recorded as sent once, never resent.

Another connection takes the file's write lock at the moment the webhook receiver
processes the contact, and keeps it for longer than the dispatcher's ``busy_timeout``.
Before the dispatcher waited for the store after a delivery, marking the row sent failed
with "database is locked", the row stayed claimed, and once its lease ran out a second
dispatcher sent the contact again.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from loopback import Receiver  # tests/care/loopback.py (tests/care is on sys.path)

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.care import ContactPolicy, Dispatcher
from touchpoint.errors import StorageBusyError, StorageError

HOLD = 1.5  # seconds the other connection keeps the lock: 30 times the busy_timeout


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _hold_lock_from_now(path: Path, seconds: float) -> threading.Thread:
    """Take the write lock in another connection now, release it ``seconds`` later."""
    taken = threading.Event()

    def hold() -> None:
        con = sqlite3.connect(path, isolation_level=None, timeout=30)
        con.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    taken.wait(10)
    return thread


def test_a_write_that_cannot_get_the_lock_says_busy_and_writes_nothing(tmp_path) -> None:
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}?busy_timeout=50"
    with touchpoint.open(url) as ws:
        holder = _hold_lock_from_now(path, HOLD)
        with pytest.raises(StorageBusyError, match="database is locked") as caught:
            ws.storage.upsert_customers([Customer("C1")])
        assert isinstance(caught.value, StorageError)  # callers catching StorageError still do
        assert str(caught.value).startswith(url)
        holder.join()
        assert ws.storage.customers() == []
        ws.storage.upsert_customers([Customer("C1")])  # the same call again, once free
        assert [c.id for c in ws.storage.customers()] == ["C1"]


def test_a_contact_delivered_while_the_file_is_busy_is_marked_sent_once(tmp_path) -> None:
    path = tmp_path / "shop.db"
    url = f"sqlite:///{path}?busy_timeout=50"
    holders: list[threading.Thread] = []
    receiver = Receiver(on_process=lambda key: holders.append(_hold_lock_from_now(path, HOLD)))
    try:
        ws = touchpoint.open(url)
        ws.storage.upsert_customers([Customer("C1", consents=[Consent("hook", "service")])])
        # an interaction recorded first, so the dispatcher's own recording is quick (the
        # first call of a process imports what validation needs, longer than HOLD under load)
        ws.record_batch(
            [{"event_id": "e0", "customer": "C0", "touchpoint": "T-VISIT", "time": "2026-01-01"}]
        )
        ws.storage.enqueue(
            [
                {
                    "key": "visit/C1/2026-06-15",
                    "customer": "C1",
                    "channel": "hook",
                    "touchpoint": "T-VISIT",
                    "purpose": "service",
                    "address": "c1@example.com",
                    "subject": "Your visit",
                    "body": "Hello",
                }
            ],
            now=0,
        )
        ws.add_channel("hook", kind="webhook", url=receiver.url, secret="s3cret", retries=0)
        dispatcher = Dispatcher(
            ws, policy=ContactPolicy(quiet_hours=None), timeout=10, lease=dt.timedelta(seconds=60)
        )
        report = dispatcher.run_once(dt.datetime.now(dt.UTC))
        for holder in holders:
            holder.join()
        assert len(holders) == 1  # the lock was really taken during the delivery
        assert (report.sent, report.lost) == (1, 0)
        assert [r["state"] for r in ws.storage.outbox()] == ["sent"]
        # a second dispatcher, after the lease would have ended, finds nothing to send
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        again = Dispatcher(ws, policy=ContactPolicy(quiet_hours=None)).run_once(later)
        assert again.sent == 0
        assert sum(receiver.processed.values()) == 1 and not receiver.repeats
        interactions = ws.interactions()
        mine = interactions["customer"].astype(str) == "C1"
        assert interactions["event_id"][mine].astype(str).tolist() == ["visit/C1/2026-06-15"]
        assert np.all(interactions["direction"][mine].astype(str) == "outbound")
        ws.close()
    finally:
        receiver.close()
