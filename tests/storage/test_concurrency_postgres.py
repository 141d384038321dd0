"""Four writer processes and four dispatcher processes on one PostgreSQL database.

The writers append overlapping batches (the same events, sent by several writers at
once, racing on the same primary keys) and enqueue overlapping contact plans; the
dispatchers claim and send the outbox through a real webhook receiver on loopback
while the writers still work. Nothing may be lost, nothing doubled, nothing sent twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from touchpoint import Consent, Customer
from touchpoint.storage import open_storage

pytestmark = pytest.mark.slow

WRITERS, DISPATCHERS, BATCHES, ROWS = 4, 4, 5, 400

COMMON = textwrap.dedent(
    """
    import datetime as dt, json, os, sys, time, uuid
    import numpy as np
    import touchpoint
    from touchpoint.care import ContactPlan, ContactPolicy
    from touchpoint.care import Dispatcher
    from touchpoint.channels import Message

    NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    CUSTOMERS = [f"C{i}" for i in range(40)]
    KEYS = [f"r{r}/{c}/2026" for r in range(5) for c in CUSTOMERS]

    def pool():
        rng = np.random.default_rng(0)
        n = 3000
        return {
            "event_id": np.array([str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)], dtype=object),
            "customer": np.array(CUSTOMERS, dtype=object)[rng.integers(0, 40, n)],
            "touchpoint": np.array(["T1", "T2", "T3"], dtype=object)[rng.integers(0, 3, n)],
            "time": np.datetime64("2026-01-01", "us") + rng.integers(0, 50 * 86_400_000_000, n).astype("timedelta64[us]"),
            "amount": np.round(rng.gamma(2.0, 100.0, n), 2),
        }

    def message(row):
        return Message(row["key"], row["customer"], f"{row['customer']}@example.com", "Hello",
                       touchpoint="RE-BDAY")
    """
)

WRITER = COMMON + textwrap.dedent(
    """
    url, w = sys.argv[1], int(sys.argv[2])
    ws = touchpoint.open(url)
    data = pool()
    rng = np.random.default_rng(100 + w)
    order = rng.permutation(len(KEYS))
    accepted, duplicates, sent, queued = [], 0, 0, 0
    for b in range(int(sys.argv[3])):
        take = rng.choice(len(data["event_id"]), int(sys.argv[4]), replace=False)
        report = ws.record_batch({k: v[take] for k, v in data.items()})
        assert report.committed, report
        accepted += data["event_id"][take][report.accepted_rows].tolist()
        duplicates += report.duplicates
        sent += len(take)
        keys = [KEYS[i] for i in order[b::int(sys.argv[3])]]
        plan = ContactPlan(
            customer=np.array([k.split("/")[1] for k in keys], dtype=object),
            rule=np.array([k.split("/")[0] for k in keys], dtype=object),
            step=np.full(len(keys), "", dtype=object),
            key=np.array(keys, dtype=object),
            channel=np.full(len(keys), "hook", dtype=object),
            status=np.full(len(keys), "send", dtype=object),
            send_at=np.full(len(keys), np.datetime64("2026-03-02T12:00", "us")),
            reason=np.full(len(keys), "", dtype=object),
        )
        queued += Dispatcher(ws).enqueue(plan, message, now=NOW).queued
    ws.close()
    print(json.dumps({"accepted": accepted, "duplicates": duplicates, "sent": sent, "queued": queued}))
    """
)

DISPATCHER = COMMON + textwrap.dedent(
    """
    url, receiver, flag = sys.argv[1], sys.argv[2], sys.argv[3]
    ws = touchpoint.open(url)
    ws.add_channel("hook", kind="webhook", url=receiver, secret="s3cret", retries=0)
    d = Dispatcher(ws, policy=ContactPolicy(quiet_hours=None), claim=3, timeout=10)
    sent = lost = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        report = d.run_once(NOW)
        sent, lost = sent + report.sent, lost + report.lost
        if report.sent == 0:
            live = [r for r in ws.storage.outbox() if r["state"] in ("pending", "retry")]
            if os.path.exists(flag) and not live:
                break
            time.sleep(0.05)
    ws.close()
    print(json.dumps({"sent": sent, "lost": lost}))
    """
)


class Receiver:
    """A webhook receiver on loopback that counts every request per ``Idempotency-Key``."""

    def __init__(self) -> None:
        self.arrivals: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrivals[self.headers["Idempotency-Key"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _python(code: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def test_four_writers_and_four_dispatchers_lose_double_and_resend_nothing(postgres_url):
    setup = open_storage(postgres_url)
    setup.upsert_customers(
        [Customer(f"C{i}", consents=[Consent("hook", "service")]) for i in range(40)]
    )
    setup.close()
    receiver = Receiver()
    flag = os.path.join(tempfile.mkdtemp(), "writers-done")
    try:
        dispatchers = [
            _python(DISPATCHER, postgres_url, receiver.url, flag) for _ in range(DISPATCHERS)
        ]
        writers = [
            _python(WRITER, postgres_url, str(w), str(BATCHES), str(ROWS)) for w in range(WRITERS)
        ]
        wrote = [_result(p) for p in writers]
        open(flag, "w").close()
        sent = [_result(p) for p in dispatchers]
    finally:
        receiver.close()

    # the reference: the ids the writers sent, from the same generator the writers used
    ns: dict = {}
    exec(compile("import numpy as np, uuid\n" + _pool_source(), "pool", "exec"), ns)
    pool = ns["pool"]()
    offered = set()
    for w in range(WRITERS):  # replay each writer's choices
        rng = np.random.default_rng(100 + w)
        rng.permutation(200)
        for _ in range(BATCHES):
            offered.update(pool["event_id"][rng.choice(3000, ROWS, replace=False)].tolist())

    accepted = Counter(e for w in wrote for e in w["accepted"])
    assert set(accepted) == offered  # nothing lost
    assert max(accepted.values()) == 1  # nothing stored twice
    assert sum(w["duplicates"] for w in wrote) == WRITERS * BATCHES * ROWS - len(offered)
    keys = {f"r{r}/C{c}/2026" for r in range(5) for c in range(40)}
    assert sum(w["queued"] for w in wrote) == len(keys)  # each key queued by one writer

    assert set(receiver.arrivals) == keys and set(receiver.arrivals.values()) == {1}
    assert sum(s["sent"] for s in sent) == len(keys) and sum(s["lost"] for s in sent) == 0

    store = open_storage(postgres_url)
    try:
        rows = store.outbox()
        assert {r["key"] for r in rows} == keys
        assert {(r["state"], r["attempts"]) for r in rows} == {("sent", 1)}
        frame = store.scan()
        ids = frame["event_id"].tolist()
        assert len(ids) == len(set(ids)) == len(offered) + len(keys)
        stored = dict(zip(ids, frame["amount"].tolist(), strict=True))
        want = dict(zip(pool["event_id"].tolist(), pool["amount"].tolist(), strict=True))
        assert all(stored[e] == want[e] for e in offered)  # the values sent, unchanged
        assert set(ids) - offered == keys  # each sent contact recorded once as an interaction
    finally:
        store.close()


def _pool_source() -> str:
    start = COMMON.index("CUSTOMERS")
    end = COMMON.index("def message")
    return COMMON[start:end]
