"""Dispatch through a durable outbox, checked at a real loopback webhook receiver."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import touchpoint
from touchpoint.care import ContactPlan
from touchpoint.care.dispatch import Dispatcher, dispatch
from touchpoint.model.care import CareRule, FollowUp
from touchpoint.plugins.channels import Message

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class Receiver:
    """A webhook receiver that dedupes on ``Idempotency-Key``.

    ``fail_every``: every n-th request answers HTTP 500 before processing anything.
    ``kill_after``: after processing that many keys, SIGKILL the process ``victim``.
    """

    def __init__(self, *, fail_every: int = 0, kill_after: int = 0) -> None:
        self.processed: Counter[str] = Counter()
        self.repeats: Counter[str] = Counter()
        self.requests = 0
        self.victim: int | None = None
        self.killed = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                assert json.loads(body)["contact_id"] == key
                with receiver.lock:
                    receiver.requests += 1
                    if fail_every and receiver.requests % fail_every == 0:
                        code = 500
                    elif receiver.processed[key]:
                        receiver.repeats[key] += 1
                        code = 200
                    else:
                        receiver.processed[key] += 1
                        code = 200
                        if kill_after and sum(receiver.processed.values()) == kill_after:
                            os.kill(receiver.victim, signal.SIGKILL)
                            receiver.killed.set()
                self.send_response(code)
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


def make_plan(n: int, *, blocked: int = 0, deferred_to: dt.datetime | None = None) -> ContactPlan:
    customers = np.array([f"C{i}" for i in range(n)], dtype=object)
    status = np.array(["send"] * n, dtype=object)
    status[:blocked] = "blocked"
    send_at = np.full(n, np.datetime64(NOW.replace(tzinfo=None), "us"))
    if deferred_to is not None:
        status[-1] = "deferred"
        send_at[-1] = np.datetime64(deferred_to.replace(tzinfo=None), "us")
    reason = np.where(status == "blocked", "no consent for marketing by webhook", "")
    return ContactPlan(
        customer=customers,
        rule=np.full(n, "birthday", dtype=object),
        step=np.full(n, "", dtype=object),
        key=np.array([f"birthday/{c}/2026" for c in customers], dtype=object),
        channel=np.full(n, "hook", dtype=object),
        status=status,
        send_at=send_at,
        reason=reason.astype(object),
    )


def message(row):
    return Message(row["key"], row["customer"], f"{row['customer']}@example.com", "Happy birthday")


RULES = (
    CareRule(
        "birthday",
        "Birthday greetings",
        touchpoint="RE-BDAY",
        anchor="birthday",
        channels=("hook",),
    ),
)


def open_ws(url, receiver):
    ws = touchpoint.open(url)
    ws.add_channel("hook", kind="webhook", url=receiver.url, secret="s3cret", retries=0)
    return ws


@pytest.fixture
def flaky():
    r = Receiver(fail_every=2)
    yield r
    r.close()


def test_half_failing_channel_delivers_or_dead_letters_every_contact(flaky, tmp_path):
    ws = open_ws(f"sqlite:///{tmp_path / 'd.db'}", flaky)
    plan = make_plan(40)
    d = Dispatcher(ws, rules=RULES, max_attempts=3, backoff=dt.timedelta(minutes=1))
    assert d.enqueue(plan, message, now=NOW).queued == 40
    now = NOW
    for _ in range(10):
        d.run_once(now)
        now += dt.timedelta(hours=1)
    keys = set(plan.key)
    dead = {r["key"] for r in d.dead_letters()}
    delivered = set(flaky.processed)
    assert delivered | dead == keys  # none lost
    assert not delivered & dead
    assert all(v == 1 for v in flaky.processed.values())  # none processed twice
    assert flaky.requests > len(keys)  # the failures really happened and were retried
    # by hand: every other request fails, so rounds of 40, 20, 10 requests deliver 20, 10, 5;
    # the 5 that failed a third time are dead letters
    assert (len(delivered), len(dead), flaky.requests) == (35, 5, 70)
    states = Counter(r["state"] for r in ws.storage.outbox())
    assert states == Counter({"sent": len(delivered), "dead": len(dead)})
    for r in d.dead_letters():
        assert r["attempts"] == 3 and r["last_error"] == "HTTP 500"
    # every sent contact is an outbound interaction the scores see, keyed by the idempotency key
    events = ws.interactions()
    assert ws.storage.count() == len(delivered)
    assert set(np.asarray(events["event_id"]).astype(str)) == delivered
    assert set(np.asarray(events["direction"]).astype(str)) == {"outbound"}
    assert set(np.asarray(events["touchpoint"]).astype(str)) == {"RE-BDAY"}
    assert set(np.asarray(events["channel"]).astype(str)) == {"hook"}


def test_backoff_is_stored_and_doubles(tmp_path):
    r = Receiver(fail_every=1)  # always fails
    try:
        ws = open_ws("memory://", r)
        d = Dispatcher(ws, max_attempts=3, backoff=dt.timedelta(minutes=10))
        d.enqueue(make_plan(1), message, now=NOW)
        assert d.run_once(NOW).retry == 1
        (row,) = ws.storage.outbox()
        assert row["next_attempt_at"] == int((NOW.timestamp() + 600) * 1e6)
        assert d.run_once(NOW + dt.timedelta(minutes=9)).retry == 0  # not yet due
        assert d.run_once(NOW + dt.timedelta(minutes=10)).retry == 1
        (row,) = ws.storage.outbox()
        assert row["next_attempt_at"] == int((NOW.timestamp() + 600 + 1200) * 1e6)
        assert d.run_once(NOW + dt.timedelta(hours=1)).dead == 1
        assert r.requests == 3 and not r.processed
    finally:
        r.close()


def test_same_plan_twice_sends_nothing_twice():
    r = Receiver()
    try:
        ws = open_ws("memory://", r)
        later = NOW + dt.timedelta(days=1)
        plan = make_plan(6, blocked=2, deferred_to=later)
        first = dispatch(ws, plan, now=NOW, messages=message, rules=RULES)
        second = dispatch(ws, plan, now=NOW, messages=message, rules=RULES)
        assert (first.sent, second.sent) == (3, 0)
        assert dispatch(ws, plan, now=later, messages=message, rules=RULES).sent == 1
        assert dispatch(ws, plan, now=later, messages=message, rules=RULES).sent == 0
        assert sorted(r.processed) == sorted(plan.key[2:]) and r.requests == 4
        blocked = [c for c in ws.storage.contacts() if c["detail"].startswith("blocked")]
        assert {c["customer"] for c in blocked} == {"C0", "C1"}
        assert all("no consent" in c["detail"] for c in blocked)
    finally:
        r.close()


def test_follow_up_touchpoint_is_recorded():
    rule = CareRule(
        "letter",
        "Letter and calls",
        touchpoint="LETTER",
        anchor="purchase",
        channels=("hook",),
        follow_ups=(
            FollowUp("announce", "Announce the letter", offset="3 days", touchpoint="CALL"),
        ),
    )
    r = Receiver()
    try:
        ws = open_ws("memory://", r)
        plan = make_plan(2)
        plan = ContactPlan(
            **{
                **plan.columns(),
                "rule": np.full(2, "letter", dtype=object),
                "step": np.array(["", "announce"], dtype=object),
                "key": np.array(["letter/C0/1", "letter/C0/1/announce"], dtype=object),
            }
        )
        dispatch(ws, plan, now=NOW, messages=message, rules=[rule])
        events = ws.interactions()
        got = dict(
            zip(
                np.asarray(events["event_id"]).astype(str),
                np.asarray(events["touchpoint"]).astype(str),
                strict=True,
            )
        )
        assert got == {"letter/C0/1": "LETTER", "letter/C0/1/announce": "CALL"}
    finally:
        r.close()


CHILD = textwrap.dedent(
    """
    import sys, datetime as dt
    import touchpoint
    from touchpoint.care.dispatch import Dispatcher
    ws = touchpoint.open(sys.argv[1])
    ws.add_channel("hook", kind="webhook", url=sys.argv[2], secret="s3cret", retries=0)
    Dispatcher(ws).run_once(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    print("finished", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_sigkill_mid_dispatch_then_resume_sends_each_contact_once(tmp_path):
    r = Receiver(kill_after=7)
    try:
        url = f"sqlite:///{tmp_path / 'k.db'}"
        plan = make_plan(20)
        ws = open_ws(url, r)
        Dispatcher(ws, rules=RULES).enqueue(plan, message, now=NOW)
        ws.close()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, url, r.url], stdout=subprocess.PIPE)
        r.victim = proc.pid
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL and b"finished" not in out
        assert r.killed.is_set() and sum(r.processed.values()) == 7
        ws = open_ws(url, r)
        states = Counter(row["state"] for row in ws.storage.outbox())
        assert states["sent"] == 6  # the 7th was processed but the kill came before marking
        assert Dispatcher(ws, rules=RULES).run_once(NOW).sent == 14
        assert set(r.processed) == set(plan.key)
        assert all(v == 1 for v in r.processed.values())
        assert sum(r.repeats.values()) == 1  # the in-flight contact, dropped by the key
        assert ws.storage.count() == 20
        ws.close()
    finally:
        r.close()
