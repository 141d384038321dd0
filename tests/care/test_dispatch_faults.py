"""Dispatch from several real processes on one SQLite file, against a real loopback receiver.

Issue 13: two ``run_once`` loops on one workspace delivered 565 messages for 300 contacts.
Here the dispatchers are separate Python processes (``subprocess``), the channel is the
built-in webhook channel posting to a ``http.server`` receiver in this process that counts
every request by its ``Idempotency-Key``, and the faults are real: HTTP 500s, requests
that hang past the dispatchers' timeout, ``SIGKILL`` of random dispatchers, and consent
withdrawn while they run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter

import numpy as np
import pytest
from loopback import Receiver

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.care import ContactPlan, Dispatcher
from touchpoint.channels import Message

pytestmark = pytest.mark.slow  # dispatcher processes killed and restarted

DISPATCHER = textwrap.dedent(
    """
    import datetime as dt, json, sys, time
    from collections import Counter
    import touchpoint
    from touchpoint.care import ContactPolicy
    from touchpoint.care import Dispatcher

    url, hook, opts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    ws = touchpoint.open(url)
    ws.add_channel("hook", kind="webhook", url=hook, secret="s3cret", retries=0, timeout=10)
    d = Dispatcher(
        ws,
        max_attempts=opts["max_attempts"],
        backoff=dt.timedelta(milliseconds=opts["backoff_ms"]),
        max_backoff=dt.timedelta(milliseconds=opts["max_backoff_ms"]),
        policy=ContactPolicy(quiet_hours=None),
        timeout=opts["timeout"],
        lease=dt.timedelta(seconds=opts["lease"]),
        claim=opts["claim"],
        batch=opts["batch"],
    )
    deadline = time.monotonic() + opts["max_seconds"]
    while time.monotonic() < deadline:
        report = d.run_once(dt.datetime.now(dt.UTC))
        if report != type(report)(0, 0, 0):  # one line per run, so a SIGKILL loses at most one
            counts = {n: getattr(report, n) for n in ("sent", "retry", "dead", "held", "lost")}
            print(json.dumps({**counts, "timeouts": len(report.timeouts)}), flush=True)
        if not (ws.storage.outbox("pending") or ws.storage.outbox("retry")):
            break
        if report == type(report)(0, 0, 0):
            time.sleep(0.02)
    print(json.dumps({"finished": 1}), flush=True)
    """
)


def _totals(outputs: list[bytes]) -> Counter:
    """The dispatchers' reports added up, the killed ones' included (up to their last line)."""
    totals: Counter = Counter()
    for out in outputs:
        for line in out.decode().splitlines():
            totals.update(json.loads(line))
    return totals


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _plan(customers: list[str], channels: list[str]) -> ContactPlan:
    n = len(customers)
    return ContactPlan(
        customer=np.array(customers, dtype=object),
        rule=np.full(n, "offer", dtype=object),
        step=np.full(n, "", dtype=object),
        key=np.array([f"offer/{c}/2026" for c in customers], dtype=object),
        channel=np.array(channels, dtype=object),
        status=np.full(n, "send", dtype=object),
        send_at=np.full(n, np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "us")),
        reason=np.full(n, "", dtype=object),
    )


def _message(row):
    return Message(
        row["key"],
        row["customer"],
        f"{row['customer']}@example.com",
        "Spring offer",
        purpose="marketing",
    )


def _workspace(path, n: int, channels: list[str]):
    """A SQLite workspace with ``n`` consenting customers and one due contact each."""
    ws = touchpoint.open(f"sqlite:///{path}")
    ws.storage.upsert_customers(
        [
            Customer(f"C{i}", consents=[Consent("hook", "marketing"), Consent("fax", "marketing")])
            for i in range(n)
        ]
    )
    customers = [f"C{i}" for i in range(n)]
    report = Dispatcher(ws).enqueue(
        _plan(customers, channels), _message, now=dt.datetime.now(dt.UTC)
    )
    assert report.queued == n
    return ws


def _start(url: str, hook: str, **opts) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DISPATCHER, url, hook, json.dumps(opts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


#: Settings of the dispatchers under faults: a short timeout (the receiver's hangs last
#: 1 s) and a short lease, so killed dispatchers' rows come back within the test.
OPTS = {
    "max_attempts": 200,
    "backoff_ms": 20,
    "max_backoff_ms": 200,
    "timeout": 0.3,
    "lease": 2.0,
    "claim": 1,
    "batch": 1,
    "max_seconds": 150,
}


def test_two_dispatcher_processes_deliver_each_contact_once(tmp_path):
    """Issue 13, defect 2: the reproduction, 300 contacts and two processes on one file."""
    receiver = Receiver()
    try:
        path = tmp_path / "two.db"
        n = 300
        ws = _workspace(path, n, ["hook"] * n)
        # no faults here: a generous timeout, so a busy machine causes no retries
        opts = {**OPTS, "timeout": 10.0, "lease": 60.0, "claim": 5, "batch": 50}
        procs = [_start(f"sqlite:///{path}", receiver.url, **opts) for _ in range(2)]
        reports = []
        for p in procs:
            out, err = p.communicate(timeout=150)
            assert p.returncode == 0, err.decode()
            reports.append(_totals([out]))
        # counted at the receiver: every contact arrived, each exactly once
        assert receiver.requests == n
        assert set(receiver.arrivals) == {f"offer/C{i}/2026" for i in range(n)}
        assert all(len(times) == 1 for times in receiver.arrivals.values())
        assert sum(r["sent"] for r in reports) == n
        assert Counter(r["state"] for r in ws.storage.outbox()) == Counter({"sent": n})
        assert all(r["sent"] > 0 for r in reports), reports  # both really worked
        ws.close()
    finally:
        receiver.close()


def test_dispatch_under_faults_delivers_once_or_accounts_for_every_contact(tmp_path):
    """Four dispatcher processes; 50% HTTP 500, 5% hangs, SIGKILLs, consent withdrawn.

    At the end every contact is delivered exactly once, dead-lettered with a reason, or
    held by the policy with a reason; none is processed twice by the receiver, none is
    sent to a customer after their withdrawal was committed.
    """
    rng = random.Random(13)
    n, n_fax, n_poison = 240, 12, 12
    channels = ["fax"] * n_fax + ["hook"] * (n - n_fax)  # C0..C11 name an unconfigured channel
    poison = frozenset(f"offer/C{i}/2026" for i in range(n_fax, n_fax + n_poison))  # HTTP 400
    good = [f"C{i}" for i in range(n_fax + n_poison, n)]
    withdrawn = rng.sample(good, len(good) // 10)
    receiver = Receiver(fail_rate=0.5, hang_rate=0.05, hang=1.0, poison=poison, seed=13)
    path = tmp_path / "faults.db"
    url = f"sqlite:///{path}"
    ws = _workspace(path, n, channels)
    procs = [_start(url, receiver.url, **OPTS) for _ in range(4)]
    began = time.monotonic()
    kills: list[int] = []
    snapshots: dict[str, tuple[float, dict]] = {}

    def withdraw() -> None:
        """Withdraw consent for a tenth of the customers at random moments over about 6 s."""
        for who in withdrawn:
            time.sleep(rng.uniform(0, 2 * 6.0 / len(withdrawn)))
            ws.storage.upsert_customers(
                [Customer(who, consents=[Consent("hook", "marketing", granted=False)])]
            )
            [row] = ws.storage.outbox(customer=who)  # read after the commit
            snapshots[who] = (time.monotonic(), row)

    withdrawer = threading.Thread(target=withdraw)
    withdrawer.start()
    try:
        # once they are at work, SIGKILL a random dispatcher every 0.3-0.7 s (six times),
        # starting a new one each time
        time.sleep(1.0)
        while len(kills) < 6 and any(p.poll() is None for p in procs):
            time.sleep(rng.uniform(0.3, 0.7))
            alive = [p for p in procs if p.poll() is None]
            if not alive:
                break
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills.append(victim.pid)
            procs.append(_start(url, receiver.url, **OPTS))
        withdrawer.join(30)
        outputs = []
        for p in procs:
            out, err = p.communicate(timeout=200)
            assert p.returncode in (0, -signal.SIGKILL), err.decode()
            outputs.append(out)
        elapsed = time.monotonic() - began
        totals = _totals(outputs)
        assert totals["finished"] == len(procs) - len(kills)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        receiver.close()

    rows = {r["key"]: r for r in ws.storage.outbox()}
    keys = set(rows)
    states = Counter(r["state"] for r in rows.values())
    sent = {k for k, r in rows.items() if r["state"] == "sent"}
    dead = {k for k, r in rows.items() if r["state"] == "dead"}
    held = {k for k, r in rows.items() if r["state"] == "held"}
    processed = set(receiver.processed)

    # every contact ends in exactly one final state
    assert sent | dead | held == keys and len(keys) == n
    assert not (states.keys() - {"sent", "dead", "held"})
    # dead letters: exactly the unconfigured channel and the poison rows, each with its reason
    fax = {f"offer/C{i}/2026" for i in range(n_fax)}
    assert dead == fax | poison
    assert all(rows[k]["last_error"].startswith("cannot send through channel 'fax'") for k in fax)
    assert all(rows[k]["last_error"] == "HTTP 400" for k in poison)
    # held: only withdrawn customers, each with the reason
    withdrawn_keys = {f"offer/{c}/2026" for c in withdrawn}
    assert held <= withdrawn_keys
    assert all(rows[k]["reason"] == "no marketing consent on hook at send time" for k in held)
    # delivered: every sent row reached the receiver, and the receiver processed each key once
    assert sent <= processed and all(v == 1 for v in receiver.processed.values())
    # none to a withdrawn customer: a row that was not in flight when the withdrawal was
    # committed (not sent, no live lease) is never sent, and nothing for it arrives later
    in_flight = 0
    for who, (after, row) in snapshots.items():
        key = f"offer/{who}/2026"
        leased = row["lease_owner"] is not None
        if row["state"] == "sent":
            assert key in sent
            continue
        if leased:
            in_flight += 1
            late = [t for t in receiver.arrivals.get(key, []) if t > after]
            assert len(late) <= 1  # the one call already under way, if any
            continue
        assert key in held, (who, row)
        assert all(t <= after for t in receiver.arrivals.get(key, []))
    assert processed <= sent | {k for k in withdrawn_keys if k in held}
    # none twice: a key reaching the receiver again is explained by a fault: a call under
    # way when its dispatcher was killed, a call cut off by the timeout (the hangs, and any
    # call a busy machine slowed past 0.3 s), or a lease that ran out while a stalled
    # dispatcher held it; the receiver dropped each repeat by its key
    repeats = sum(receiver.repeats.values())
    assert repeats <= len(kills) + totals["timeouts"] + totals["lost"]
    assert totals["timeouts"] >= 1
    assert len(sent) - len(kills) <= totals["sent"] <= len(sent)  # a kill may beat a print
    # the faults really happened
    assert len(kills) == 6 and receiver.hung > 0 and receiver.requests > 1.5 * len(sent)
    assert len(held) > 0
    figures = {
        "contacts": n,
        "sent": len(sent),
        "dead": len(dead),
        "held": len(held),
        "withdrawn": len(withdrawn),
        "withdrawn_in_flight": in_flight,
        "requests": receiver.requests,
        "hung_requests": receiver.hung,
        "repeats_dropped_by_key": repeats,
        "sigkills": len(kills),
        "seconds": round(elapsed, 1),
        "timeouts_reported": totals["timeouts"],
        "lost_leases": totals["lost"],
    }
    print(
        "dispatch under faults:", json.dumps(figures)
    )  # no timed assert: timeouts are counted above
