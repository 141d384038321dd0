"""Four writer and four dispatcher processes on one SQLite file: nothing lost or doubled.

The writers are separate Python processes recording batches of interactions with random
UUID event ids (each batch sent twice, and a share of the events sent by two writers)
and queueing contacts in the outbox (a share of the keys queued by two writers). The
dispatchers are separate processes running `touchpoint.care.dispatch.Dispatcher`
against a real webhook receiver on loopback (``tests/care/loopback.py``), which counts
every request by its ``Idempotency-Key``; each sent contact also records an outbound
interaction. Meanwhile the test takes SQLite's write lock itself now and then, for
longer than one writer's ``busy_timeout``: that writer must get a clear error, lose
nothing, and store its batch when it tries again. A dispatcher whose claim meets a busy
file gets `StorageBusyError` (nothing claimed) and tries again, as a daemon would; once
a contact went out, the dispatcher waits for the file to record it (see
``tests/care/test_dispatch_busy.py``).

At the end: every event stored once with its values (through the scan and through plain
SQL), every contact sent once and received once, one outbound interaction per contact.
The figures are printed (``pytest -s``) and recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import touchpoint
from touchpoint import Consent, Customer

sys.path.insert(0, str(Path(__file__).parents[1] / "care"))
from loopback import Receiver  # tests/care/loopback.py

pytestmark = pytest.mark.slow  # eight processes on one file

WRITERS, DISPATCHERS = 4, 4
BATCHES, ROWS = 12, 2_000  # per writer
CUSTOMERS = 160
CONTACTS = 120  # per writer, of which a quarter shared with the next writer

WRITER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import touchpoint
    from touchpoint.errors import StorageError

    url, data, me, contacts = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    ws = touchpoint.open(url)
    with np.load(data, allow_pickle=True) as f:
        cols = {k: f[k] for k in f.files}
    n = len(cols["event_id"])
    locked, messages, stored, waited = 0, set(), 0, 0.0
    started = time.monotonic()

    def retrying(step):
        global locked, waited
        while True:
            t = time.monotonic()
            try:
                return step()
            except StorageError as exc:  # the lock was not free within busy_timeout
                locked += 1
                waited += time.monotonic() - t
                messages.add(str(exc))
                time.sleep(0.05)

    per = n // BATCHES
    for k in range(BATCHES):
        part = {c: v[k * per : (k + 1) * per] for c, v in cols.items()}
        for _ in range(2):  # every batch sent twice, as a retrying client would
            report = retrying(lambda: ws.record_batch(part))
            stored += report.accepted
        rows = contacts[k::BATCHES]
        retrying(lambda: ws.storage.enqueue(rows, now=int(time.time() * 1e6)))
    print(json.dumps({
        "writer": me, "stored": stored, "locked": locked, "waited": waited,
        "messages": sorted(messages), "seconds": time.monotonic() - started,
    }))
    """
).replace("BATCHES", str(BATCHES))

DISPATCHER = textwrap.dedent(
    """
    import datetime as dt, json, os, sys, time
    from collections import Counter
    import touchpoint
    from touchpoint.care import ContactPolicy
    from touchpoint.care import Dispatcher
    from touchpoint.errors import StorageBusyError

    url, hook, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    ws = touchpoint.open(url)
    ws.add_channel("hook", kind="webhook", url=hook, secret="s3cret", retries=0, timeout=20)
    d = Dispatcher(ws, policy=ContactPolicy(quiet_hours=None), timeout=20,
                   lease=dt.timedelta(seconds=60), claim=5, batch=20)
    totals, started = Counter(), time.monotonic()
    while True:
        writers_done = os.path.exists(stop)  # read before looking for work
        try:
            report = d.run_once(dt.datetime.now(dt.UTC))
        except StorageBusyError:  # the claim did not get the lock in time: nothing claimed
            totals["busy"] += 1
            time.sleep(0.05)
            continue
        totals.update({n: getattr(report, n) for n in ("sent", "retry", "dead", "held", "lost")})
        if writers_done and not (ws.storage.outbox("pending") or ws.storage.outbox("retry")):
            break
        if not report.sent:
            time.sleep(0.02)
    print(json.dumps({**totals, "seconds": time.monotonic() - started}))
    """
)


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _uuid4s(rng: np.random.Generator, n: int) -> np.ndarray:
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[
        rng.integers(0, 16, (n, 32), dtype=np.uint8)
    ]
    digits[:, 12] = ord("4")
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = digits
    return out.view("S36").reshape(n).astype(object).astype(str).astype(object)


def _events(tmp_path: Path) -> tuple[list[Path], dict[str, np.ndarray]]:
    """Each writer's events (a share also in the next writer's), and the reference."""
    rng = np.random.default_rng(16)
    n = WRITERS * BATCHES * ROWS
    ids = _uuid4s(rng, n)
    amount = np.round(rng.gamma(2.0, 150.0, n), 2)
    amount[rng.random(n) < 0.4] = np.nan
    base = {
        "event_id": ids,
        "customer": np.array([f"C{i}" for i in rng.integers(0, CUSTOMERS, n)], dtype=object),
        "touchpoint": np.array(["T-BUY", "T-VISIT", "T-CALL"], dtype=object)[rng.integers(0, 3, n)],
        "time": np.datetime64("2026-01-01", "us")
        + rng.integers(0, 300 * 86_400_000_000, n).astype("timedelta64[us]"),
        "amount": amount,
        "channel": np.array(["store", "phone", None], dtype=object)[rng.integers(0, 3, n)],
    }
    paths, per = [], BATCHES * ROWS
    for w in range(WRITERS):
        own = np.arange(w * per, (w + 1) * per)
        # a tenth of each batch: events of the next writer's batches, with the same values
        theirs = ((w + 1) % WRITERS) * per + rng.choice(per, per // 10, replace=False)
        take = np.concatenate([own, theirs])
        rng.shuffle(take)
        path = tmp_path / f"writer{w}.npz"
        np.savez(path, **{k: v[take] for k, v in base.items()})
        paths.append(path)
    reference = {k: v for k, v in base.items() if k != "channel"}  # by event id, below
    return paths, reference


def _contacts() -> list[list[dict]]:
    """Each writer's contacts; a quarter of them also queued by the next writer."""

    def row(i: int) -> dict:
        return {
            "key": f"offer/C{i % CUSTOMERS}/{i}",
            "customer": f"C{i % CUSTOMERS}",
            "channel": "hook",
            "touchpoint": "T-OFFER",
            "purpose": "marketing",
            "address": f"c{i}@example.com",
            "subject": "Spring offer",
            "body": "Hello",
        }

    own = [[row(w * CONTACTS + i) for i in range(CONTACTS)] for w in range(WRITERS)]
    return [own[w] + own[(w + 1) % WRITERS][: CONTACTS // 4] for w in range(WRITERS)]


def _hold_the_lock(path: Path, seconds: float) -> None:
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("BEGIN IMMEDIATE")  # every other writer now waits, up to its busy_timeout
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def test_four_writers_and_four_dispatchers_on_one_file(tmp_path):
    path = tmp_path / "shop.db"
    url = f"sqlite:///{path}"
    ws = touchpoint.open(url)
    ws.storage.upsert_customers(
        [Customer(f"C{i}", consents=[Consent("hook", "marketing")]) for i in range(CUSTOMERS)]
    )
    data, reference = _events(tmp_path)
    contacts = _contacts()
    keys = {r["key"] for rows in contacts for r in rows}
    stop = tmp_path / "writers-done"
    receiver = Receiver()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    began = time.monotonic()
    procs = []
    try:
        dispatchers = [
            subprocess.Popen(
                [sys.executable, "-c", DISPATCHER, url, receiver.url, str(stop)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            for _ in range(DISPATCHERS)
        ]
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WRITER,
                    # writer 0 is impatient: 50 ms, less than the test holds the lock
                    url + ("?busy_timeout=50" if w == 0 else ""),
                    str(data[w]),
                    str(w),
                    json.dumps(contacts[w]),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            for w in range(WRITERS)
        ]
        procs = dispatchers + writers
        holds = 0
        while any(p.poll() is None for p in writers):
            time.sleep(1.0)
            _hold_the_lock(path, 0.25)  # five times what the impatient writer waits
            holds += 1
        writer_reports = []
        for p in writers:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
            writer_reports.append(json.loads(out))
        writers_seconds = time.monotonic() - began
        stop.touch()
        dispatcher_reports = []
        for p in dispatchers:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
            dispatcher_reports.append(json.loads(out))
        elapsed = time.monotonic() - began
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        receiver.close()

    # the impatient writer met the held lock, was told so clearly, and lost nothing
    impatient = writer_reports[0]
    assert holds >= 3 and impatient["locked"] >= 1
    for message in impatient["messages"]:  # names the file, says what happened
        assert message.startswith(f"{url}?busy_timeout=50: ") and "database is locked" in message
        assert "cannot start a write transaction" in message or "nothing changed" in message

    # events: each stored once, with its values; nothing lost, nothing doubled
    sent_keys = set(receiver.processed)
    frame = ws.storage.scan()
    event_id = frame["event_id"].astype(object)
    assert len(set(event_id.tolist())) == len(event_id)  # none twice
    inbound = ~np.isin(event_id, list(keys))
    got = {k: frame[k][inbound] for k in reference}
    got["event_id"] = event_id[inbound]
    mine, want = np.argsort(got["event_id"]), np.argsort(reference["event_id"])
    for name, values in reference.items():  # every event, with its values
        a, b = got[name][mine], values[want]
        if name == "amount":
            assert np.array_equal(a, b, equal_nan=True)
        else:
            assert (a == b).all(), name
    n_events = len(reference["event_id"])
    assert sum(r["stored"] for r in writer_reports) == n_events  # each accepted once
    con = sqlite3.connect(path)  # the same through plain SQL
    assert con.execute(
        "SELECT count(*), count(DISTINCT event_id) FROM interactions"
    ).fetchone() == (
        n_events + len(keys),
        n_events + len(keys),
    )
    con.close()

    # contacts: each queued once, sent once, received once, one outbound event each
    rows = ws.storage.outbox()
    assert len(rows) == len(keys) and {r["key"] for r in rows} == keys
    assert Counter(r["state"] for r in rows) == Counter({"sent": len(keys)})
    assert sent_keys == keys and set(receiver.processed.values()) == {1}
    assert sum(receiver.repeats.values()) == 0 and receiver.requests == len(keys)
    assert sum(r["sent"] for r in dispatcher_reports) == len(keys)
    assert sum(1 for r in dispatcher_reports if r["sent"]) >= 2  # they shared the work
    outbound = frame["direction"] == "outbound"
    assert sorted(frame["event_id"][outbound].tolist()) == sorted(keys)
    ws.close()

    rows_sent = 2 * sum(len(np.load(p)["time"]) for p in data)  # every batch twice
    figures = {
        "events_sent": rows_sent,
        "events_stored": n_events,
        "writer_seconds": round(writers_seconds, 1),
        "events_per_second_all_writers": round(rows_sent / writers_seconds),
        "contacts": len(keys),
        "contacts_per_second_4_dispatchers": round(len(keys) / elapsed, 1),
        "lock_holds": holds,
        "impatient_writer_lock_errors": impatient["locked"],
        "seconds": round(elapsed, 1),
        "load_average": Path("/proc/loadavg").read_text().split()[0],
    }
    print("sqlite concurrency:", json.dumps(figures))  # figures for the docs; no timed assert
