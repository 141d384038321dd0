"""Erasure down to the bytes of every file of the database, with other connections at work.

`forget` must leave none of the customer's personal values, nor their id, in the main
file, the ``-wal``, the ``-shm`` or a journal, also when other connections (threads and
processes) are reading and writing. When a reader holds its snapshot past the wait
allowed, `forget` fails loudly and the erasure stays pending until it is finished.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from touchpoint.channels.base import Delivery, Message
from touchpoint.model import Complaint, Customer, Promise
from touchpoint.storage import Batch
from touchpoint.storage.sqlite import ErasureIncomplete, SqliteStorage
from touchpoint.testing import make_columns

SRC = str(Path(__file__).parents[2] / "src")

# The customer to forget: an id that is no substring of another value, and personal values.
GONE = "CUST-ERASE-7731"
NAME, NAME_ZH = "Wang Fangming", "王芳明"
EMAIL, PHONE = "wang.fangming.erase@example.com", "+86 138 7731 4409"
KEPT_EMAIL = "kept.customer@example.com"


def _forms(value: str) -> list[bytes]:
    """Every encoding the database could hold ``value`` in (text, JSON escapes, UTF-16/32)."""
    return [
        value.encode("utf-8"),
        json.dumps(value)[1:-1].encode("ascii"),
        value.encode("utf-16-le"),
        value.encode("utf-32-le"),
    ]


def database_files(path: Path) -> list[Path]:
    """The main file and every file beside it that SQLite keeps for it."""
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))


def traces(path: Path, values=(GONE, NAME, NAME_ZH, EMAIL, PHONE)) -> dict[str, list[str]]:
    """File name -> the values found in its raw bytes (in any of their encodings)."""
    found = {}
    for file in database_files(path):
        data = file.read_bytes()
        hits = [v for v in values if any(form in data for form in _forms(v))]
        if hits:
            found[file.name] = hits
    return found


def fill(store: SqliteStorage, prefix: str = "e") -> None:
    """The customer to forget everywhere storage keeps data, and others who name them."""
    cols = make_columns(2000, customers=12, prefix=prefix, seed=7)
    cols["customer"][:60] = GONE
    cols["event_id"][:60] = [f"{GONE}-visit-{i}" for i in range(60)]  # ids holding the id
    cols["referrer"][:] = None
    cols["referrer"][100:140] = GONE  # others' interactions name them as referrer
    store.append(Batch.from_columns(cols))
    store.upsert_customers(
        [
            Customer(GONE, name=f"{NAME} {NAME_ZH}", email=EMAIL, phone=PHONE),
            Customer("C1", email=KEPT_EMAIL, referrer=GONE),  # another customer's record
        ]
    )
    day = dt.datetime(2026, 3, 1)
    store.add_promises([Promise("P-gone", GONE, f"call {NAME}", made_at=day, due=day)])
    store.add_complaints([Complaint("K-gone", GONE, opened_at=day, type="service")])
    store.log_contact(
        Message("k-gone", GONE, EMAIL, f"Dear {NAME}", subject=NAME_ZH),
        Delivery("k-gone", "smtp", "sent"),
    )
    store.enqueue(
        [
            {
                "key": f"bday/{GONE}/2026",
                "customer": GONE,
                "channel": "smtp",
                "address": EMAIL,
                "subject": "Happy birthday",
                "body": f"Dear {NAME}",
            }
        ],
        now=0,
    )
    store.save_scores("value", [GONE, "C1"], {"v": np.array([1.0, 2.0])})
    # quarantine: conflicting copies of their event and of another customer's event that
    # names them as referrer
    other = 500
    bad = {k: v[[0, other]].copy() for k, v in cols.items()}
    bad["amount"][:] = [123456.0, 654321.0]
    bad["referrer"][:] = [None, GONE]
    store.append(Batch.from_columns(bad), refuse=False)
    stored = store.scan()
    assert (stored["referrer"] == GONE).sum() == 40
    quarantined = store.quarantined()
    assert [q["record"]["customer"] for q in quarantined] == [GONE, cols["customer"][other]]
    assert quarantined[1]["record"]["referrer"] == GONE
    before = traces(store_path(store))  # what is to be erased is in the files before
    assert set().union(*before.values()) == {GONE, NAME, NAME_ZH, EMAIL, PHONE}


def store_path(store: SqliteStorage) -> Path:
    return Path(store.path)


def check_erased(store: SqliteStorage) -> None:
    """What the API shows after `forget`: nothing of theirs, their id blanked in others' data."""
    assert len(store.scan(customers=[GONE])) == 0
    assert GONE not in set(store.scan()["referrer"].tolist())
    assert store.customer(GONE) is None and store.customer("C1").referrer is None
    assert store.customer("C1").email == KEPT_EMAIL
    assert GONE not in json.dumps(store.quarantined())
    assert store.is_suppressed(GONE)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "shop.db"


def test_forget_waits_for_a_reader_then_leaves_nothing_in_any_file(path):
    """Defect 3: a reader holding a transaction kept the erased pages in the -wal."""
    store = SqliteStorage(str(path))
    fill(store)
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM document").fetchone()[0] >= 2  # a snapshot
    held = 0.6
    timer = threading.Timer(held, reader.execute, ["COMMIT"])
    start = time.monotonic()
    timer.start()
    removed = store.forget(GONE, wait=10)
    took = time.monotonic() - start
    timer.join()
    assert took >= held * 0.9  # it waited for the reader instead of leaving the -wal as it was
    assert removed["interactions"] == 60 and removed["referrals"] == 40
    assert removed["referred_customers"] == 1 and removed["quarantine_scrubbed"] == 1
    assert traces(path) == {}, "personal values left in the database files"
    assert store.pending_erasure() is None
    check_erased(store)
    raw = b"".join(f.read_bytes() for f in database_files(path))
    assert KEPT_EMAIL.encode() in raw  # the others' data is still there
    reader.close()
    store.close()


def test_a_reader_past_the_wait_is_a_loud_failure_then_finish_erases(path):
    store = SqliteStorage(str(path))
    fill(store)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM chunk").fetchone()
    start = time.monotonic()
    with pytest.raises(ErasureIncomplete) as caught:
        store.forget(GONE, wait=0.5)
    took = time.monotonic() - start
    assert 0.5 <= took < 3.0  # bounded
    err = caught.value
    text = str(err)
    assert "shop.db-wal" in text and "still holds" in text and "finish_erasure()" in text
    assert str(path) + "-wal" in err.remaining
    assert err.customer == GONE and err.removed["interactions"] == 60
    assert EMAIL not in text and NAME not in text
    # the tables are erased already; the files are not, and the record says so
    check_erased(store)
    assert traces(path), "the test needs the reader to have held the old pages"
    assert store.pending_erasure()["forgets"] == 1
    with pytest.raises(ErasureIncomplete):  # still reading: finishing fails loudly too
        store.finish_erasure(wait=0.2)
    reader.execute("COMMIT")
    assert store.finish_erasure(wait=5) is True
    assert traces(path) == {}
    assert store.pending_erasure() is None and store.finish_erasure() is False
    reader.close()
    store.close()


CRASHING_FORGET = textwrap.dedent(
    """
    import os, signal, sys
    from touchpoint.storage.sqlite import ErasureIncomplete, SqliteStorage
    store = SqliteStorage(sys.argv[1])
    try:
        store.forget(sys.argv[2], wait=0.3)
    except ErasureIncomplete:
        print("incomplete", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no cleanup: as kill -9 would
    """
)


@pytest.mark.slow  # a process killed with SIGKILL
def test_the_pending_erasure_survives_kill_9_and_the_next_open_finishes_it(path):
    with SqliteStorage(str(path)) as store:
        fill(store)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM chunk").fetchone()
    out = subprocess.run(
        [sys.executable, "-c", CRASHING_FORGET, str(path), GONE],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    )
    assert out.returncode == -signal.SIGKILL and out.stdout.strip() == "incomplete", out.stderr
    assert traces(path)  # the reader still holds the old snapshot
    reader.execute("COMMIT")  # the reader ends but stays connected: SQLite will not clean up
    assert traces(path)
    with SqliteStorage(str(path)) as store:  # the next open completes the erasure
        assert traces(path) == {}
        assert store.pending_erasure() is None
        check_erased(store)
    reader.close()


def test_forget_in_rollback_journal_mode_leaves_no_journal_behind(tmp_path):
    path = tmp_path / "share.db"
    with SqliteStorage(str(path), journal="delete") as store:
        fill(store)
        store.forget(GONE)
        assert traces(path) == {}
        assert [p.name for p in database_files(path)] == ["share.db"]
        assert store.pending_erasure() is None


# --------------------------------------------------------------------------- the fault test

READER = textwrap.dedent(
    """
    import os, random, sqlite3, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    random.seed(int(sys.argv[3]))
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    reads = 0
    while not os.path.exists(stop):
        con.execute("BEGIN")
        con.execute("SELECT sum(length(data)) FROM chunk").fetchone()
        con.execute("SELECT count(*), max(body) FROM document").fetchone()
        time.sleep(random.uniform(0.0, 0.05))  # hold the snapshot a while
        con.execute("COMMIT")
        reads += 1
        time.sleep(random.uniform(0.0, 0.01))
    print(reads)
    """
)

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from touchpoint.model import Customer
    from touchpoint.storage import AppendStatus, Batch
    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.testing import make_columns
    path, stop, gone = sys.argv[1], sys.argv[2], sys.argv[3]
    store = SqliteStorage(path)
    batches = suppressed = 0
    while not os.path.exists(stop):
        cols = make_columns(200, prefix=f"w{batches}-", seed=batches, customers=5)
        cols["customer"] = cols["customer"] + "-w"  # other customers only...
        cols["referrer"][:] = None
        cols["referrer"][:3] = gone  # ...some referred by the customer being forgotten
        result = store.append(Batch.from_columns(cols), refuse=False)
        suppressed += int((result.status == AppendStatus.SUPPRESSED).sum())
        store.upsert_customers([Customer(f"W{batches}", email=f"w{batches}@example.com")])
        batches += 1
        time.sleep(0.02)  # a steady writer, not a flood: the machine is shared
    print(batches, suppressed)
    store.close()
    """
)


@pytest.mark.slow  # writer processes at work during forget
def test_erasure_under_concurrency_leaves_nothing_in_any_file(path):
    """Fault test: `forget` while 3 reader processes and a writer process are active."""
    with SqliteStorage(str(path)) as store:
        fill(store)
    stop = path.parent / "stop"
    env = {**os.environ, "PYTHONPATH": SRC}

    def spawn(script, *args):
        return subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(stop), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    workers = [spawn(READER, seed) for seed in range(3)] + [spawn(WRITER, GONE)]
    try:
        store = SqliteStorage(str(path))
        before = store.count()
        deadline = time.monotonic() + 30
        while store.count() <= before + 400:  # the writer is at work
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.05)
        start = time.monotonic()
        removed = store.forget(GONE, wait=20)
        took = time.monotonic() - start
        assert removed["interactions"] == 60 and removed["referrals"] >= 40
        # searched while every other connection is still open and working
        assert traces(path) == {}, "personal values left in the database files"
        time.sleep(0.3)  # more reads and writes after the erasure
        assert traces(path) == {}
        check_erased(store)
    finally:
        stop.touch()
        outputs = [w.communicate(timeout=60) for w in workers]
    for w, (_, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err
    reads = [int(out) for out, _ in outputs[:3]]
    batches, suppressed = map(int, outputs[3][0].split())
    assert min(reads) > 5 and batches > 3
    assert suppressed > 0  # the writer's rows naming the forgotten referrer were refused
    assert traces(path) == {}
    assert GONE not in json.dumps(store.quarantined())
    later = store.scan()
    assert GONE not in set(later["referrer"].tolist())
    store.close()
    print(f"forget took {took:.2f} s with 3 readers and a writer; {batches} batches, {reads} reads")


def test_the_wait_is_a_url_option(tmp_path):
    from touchpoint.errors import StorageError
    from touchpoint.storage import open_storage

    with open_storage(f"sqlite:///{tmp_path / 'a.db'}?erase_wait=0.25") as store:
        assert store.erase_wait == 0.25
    with open_storage(f"sqlite:///{tmp_path / 'b.db'}") as store:
        assert store.erase_wait == 10.0
    with pytest.raises(StorageError, match="erase_wait"):
        open_storage(f"sqlite:///{tmp_path / 'c.db'}?erase_wait=-1")
    with pytest.raises(StorageError, match="not a number"):
        open_storage(f"sqlite:///{tmp_path / 'd.db'}?erase_wait=soon")


def test_the_workspace_forwards_the_wait_and_finishes_pending_erasures(path):
    from touchpoint.workspace import open_workspace

    ws = open_workspace(f"sqlite:///{path}")
    fill(ws.storage)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM chunk").fetchone()
    with pytest.raises(ErasureIncomplete, match=r"Workspace\.finish_erasure\(\)"):
        ws.forget(GONE, wait=0.2)
    reader.execute("COMMIT")
    assert ws.finish_erasure(wait=5) is True and ws.finish_erasure() is False
    assert traces(path) == {}
    reader.close()
    ws.close()
    with open_workspace("memory://") as mem:  # nothing is ever pending in memory
        assert mem.forget("C1")["interactions"] == 0 and mem.finish_erasure() is False


def test_a_forget_that_cannot_commit_changes_nothing_and_leaves_the_storage_usable(tmp_path):
    """With a rollback journal a reader blocks the commit: a clear error, nothing half done."""
    from touchpoint.errors import StorageError

    path = tmp_path / "share.db"
    store = SqliteStorage(str(path), journal="delete", busy_timeout=200)
    fill(store)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM document").fetchone()
    with pytest.raises(StorageError, match="rolled back, nothing changed"):
        store.forget(GONE)
    assert store.customer(GONE) is not None and not store.is_suppressed(GONE)
    reader.execute("COMMIT")
    store.forget(GONE)  # the connection is not stuck in the failed transaction
    assert traces(path) == {}
    reader.close()
    store.close()
