"""Dispatch through a durable outbox, checked at a real loopback webhook receiver."""

from __future__ import annotations

import datetime as dt
import itertools
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
from touchpoint.care import ContactPlan, ContactPolicy, Dispatcher, FrequencyCap, dispatch
from touchpoint.channels import Message
from touchpoint.channels.base import REASON_LIMIT, ChannelBackend, Delivery
from touchpoint.model import CareRule, FollowUp

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def make_plan(
    n: int,
    *,
    blocked: int = 0,
    deferred_to: dt.datetime | None = None,
    channel: str = "hook",
    customers: list[str] | None = None,
    rule: str = "birthday",
) -> ContactPlan:
    customers = np.array(customers or [f"C{i}" for i in range(n)], dtype=object)
    status = np.array(["send"] * n, dtype=object)
    status[:blocked] = "blocked"
    send_at = np.full(n, np.datetime64(NOW.replace(tzinfo=None), "us"))
    if deferred_to is not None:
        status[-1] = "deferred"
        send_at[-1] = np.datetime64(deferred_to.replace(tzinfo=None), "us")
    reason = np.where(status == "blocked", "no consent for marketing by webhook", "")
    return ContactPlan(
        customer=customers,
        rule=np.full(n, rule, dtype=object),
        step=np.full(n, "", dtype=object),
        key=np.array([f"{rule}/{c}/2026" for c in customers], dtype=object),
        channel=np.full(n, channel, dtype=object),
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


def consenting(n: int, *, purpose: str = "service", timezone: str = "UTC", start: int = 0):
    """Customers C<start>..C<start+n-1> who agreed to be contacted through ``hook``."""
    return [
        Customer(f"C{i}", timezone=timezone, consents=[Consent("hook", purpose)])
        for i in range(start, start + n)
    ]


def open_ws(url, receiver, *, customers: int = 60, **kw):
    ws = touchpoint.open(url)
    ws.add_channel("hook", kind="webhook", url=receiver.url, secret="s3cret", retries=0)
    ws.storage.upsert_customers(consenting(customers, **kw))
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
        # the run's clock starts at NOW and moves on by the milliseconds the run takes
        assert row["next_attempt_at"] == pytest.approx((NOW.timestamp() + 600) * 1e6, abs=2e6)
        assert d.run_once(NOW + dt.timedelta(minutes=9)).retry == 0  # not yet due
        assert d.run_once(NOW + dt.timedelta(minutes=10, seconds=2)).retry == 1
        (row,) = ws.storage.outbox()
        expected = NOW.timestamp() + 602 + 1200
        assert row["next_attempt_at"] == pytest.approx(expected * 1e6, abs=2e6)
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
    from touchpoint.care import Dispatcher
    ws = touchpoint.open(sys.argv[1])
    ws.add_channel("hook", kind="webhook", url=sys.argv[2], secret="s3cret", retries=0)
    Dispatcher(ws, claim=50).run_once(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
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
        # the dead child's claim still holds its 14 rows until the lease (5 minutes) ends
        assert Dispatcher(ws, rules=RULES).run_once(NOW).sent == 0
        later = NOW + dt.timedelta(minutes=5, seconds=30)
        assert Dispatcher(ws, rules=RULES).run_once(later).sent == 14
        assert set(r.processed) == set(plan.key)
        assert all(v == 1 for v in r.processed.values())
        assert sum(r.repeats.values()) == 1  # the in-flight contact, dropped by the key
        assert ws.storage.count() == 20
        ws.close()
    finally:
        r.close()


# --------------------------------------------------------------------------- the policy at send time


def _outbox(ws):
    return {r["key"]: r for r in ws.storage.outbox()}


def test_consent_withdrawn_after_enqueue_stops_the_queued_contact():
    """Issue 13, defect 1: a deferred marketing contact after the customer said no."""
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=2, purpose="marketing")
        morning = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
        plan = make_plan(2, deferred_to=morning)
        plan.status[:] = "deferred"
        plan.send_at[:] = np.datetime64("2026-03-02T08:00", "us")
        d = Dispatcher(ws, rules=RULES)
        assert d.enqueue(plan, marketing, now=NOW).queued == 2
        # C0 withdraws marketing consent in the evening; C1 does not (the control)
        evening = dt.datetime(2026, 3, 1, 19, 0, tzinfo=dt.UTC)
        withdrawn = Customer(
            "C0",
            consents=[
                Consent("hook", "marketing", True, NOW - dt.timedelta(days=30)),
                Consent("hook", "marketing", False, evening),
            ],
        )
        ws.storage.upsert_customers([withdrawn])
        report = d.run_once(morning)
        assert set(r.processed) == {"birthday/C1/2026"} and r.requests == 1
        assert (report.sent, report.held) == (1, 1)
        row = _outbox(ws)["birthday/C0/2026"]
        assert row["state"] == "held" and row["attempts"] == 0
        assert row["reason"] == "no marketing consent on hook at send time"
        [logged] = ws.storage.contacts(customer="C0")
        assert logged["detail"] == "held: no marketing consent on hook at send time"
        # held for good: later runs never send it
        assert d.run_once(morning + dt.timedelta(days=3)).sent == 0 and r.requests == 1
    finally:
        r.close()


def marketing(row):
    return Message(
        row["key"], row["customer"], f"{row['customer']}@example.com", "Sale!", purpose="marketing"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: Customer(c.id, consents=c.consents, do_not_contact=True), "do not contact"),
        (lambda c: Customer(c.id), "no service consent on hook at send time"),
        (
            lambda c: Customer(c.id, consents=[Consent("hook", "marketing")]),  # other purpose
            "no service consent on hook at send time",
        ),
        (None, "no customer record at send time: consent unknown"),
    ],
)
def test_every_consent_rule_is_checked_again_at_send_time(change, reason):
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=2)
        d = Dispatcher(ws, rules=RULES)
        d.enqueue(make_plan(2), message, now=NOW)
        if change is None:
            ws.storage.forget("C0")  # forget removes the row itself...
            ws.storage.upsert_customers([])
            d.enqueue(make_plan(1, customers=["C9"]), message, now=NOW)  # ...C9 was never stored
            key = "birthday/C9/2026"
        else:
            ws.storage.upsert_customers([change(ws.storage.customer("C0"))])
            key = "birthday/C0/2026"
        report = d.run_once(NOW)
        assert set(r.processed) == {"birthday/C1/2026"}
        assert (report.sent, report.held) == (1, 1)
        assert _outbox(ws)[key]["state"] == "held" and _outbox(ws)[key]["reason"] == reason
    finally:
        r.close()


def test_contacts_of_a_forgotten_customer_are_never_queued():
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=3)
        ws.forget("C1")
        report = Dispatcher(ws, rules=RULES).enqueue(make_plan(3), message, now=NOW)
        assert (report.queued, report.blocked) == (2, 1)
        assert sorted(_outbox(ws)) == ["birthday/C0/2026", "birthday/C2/2026"]
        assert ws.storage.contacts(customer="C1") == []
    finally:
        r.close()


def test_a_row_due_in_quiet_hours_waits_for_the_morning():
    """Whatever put a row at 21:30 local, it is not sent then: the send time is checked."""
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=1, timezone="Asia/Shanghai")
        d = Dispatcher(ws, rules=RULES)
        at = dt.datetime(2026, 3, 1, 13, 30, tzinfo=dt.UTC)  # 21:30 in Shanghai (UTC+8)
        d.enqueue(make_plan(1), message, now=at)
        report = d.run_once(at)
        assert r.requests == 0
        assert (report.sent, report.waiting) == (0, 1)
        row = _outbox(ws)["birthday/C0/2026"]
        morning = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
        assert row["next_attempt_at"] == int(morning.timestamp() * 1e6)
        assert row["state"] == "pending" and row["attempts"] == 0
        assert row["reason"] == (
            "quiet hours 21:00-08:00 in Asia/Shanghai: waits until 2026-03-02T00:00:00Z"
        )
        assert d.run_once(morning - dt.timedelta(minutes=1)).sent == 0
        assert d.run_once(morning).sent == 1 and r.requests == 1
    finally:
        r.close()


def test_retries_respect_quiet_hours():
    """Issue 13, defect 6: a failure at 20:58 local is not retried at 21:03."""
    r = Receiver(fail_every=1)
    try:
        ws = open_ws("memory://", r, customers=1, timezone="Asia/Shanghai")
        d = Dispatcher(ws, rules=RULES, backoff=dt.timedelta(minutes=5))
        at = dt.datetime(2026, 3, 1, 12, 58, tzinfo=dt.UTC)  # 20:58 in Shanghai
        d.enqueue(make_plan(1), message, now=at)
        assert d.run_once(at).retry == 1 and r.requests == 1
        row = _outbox(ws)["birthday/C0/2026"]
        morning = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
        assert row["next_attempt_at"] == int(morning.timestamp() * 1e6)
        assert d.run_once(at + dt.timedelta(minutes=5)).retry == 0 and r.requests == 1
        assert d.run_once(morning).retry == 1 and r.requests == 2
    finally:
        r.close()


@pytest.mark.parametrize(("on_cap", "sent", "held"), [("defer", 3, 0), ("drop", 1, 2)])
def test_frequency_caps_hold_at_send_time(on_cap, sent, held):
    """Three rules due at once for one customer, one contact a day allowed."""
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=1)
        rules = [
            CareRule(
                code, code, touchpoint="T", anchor="birthday", channels=["hook"], on_cap=on_cap
            )
            for code in ("a", "b", "c")
        ]
        policy = ContactPolicy(quiet_hours=None, caps=[FrequencyCap(1, "1 day")])
        d = Dispatcher(ws, rules=rules, policy=policy)
        for code in ("a", "b", "c"):
            d.enqueue(make_plan(1, rule=code), message, now=NOW)
        now = NOW
        for _ in range(8):  # every 12 hours for 4 days
            d.run_once(now)
            now += dt.timedelta(hours=12)
        rows = ws.storage.outbox()
        assert Counter(row["state"] for row in rows) == Counter(
            {"sent": sent, **({"held": held} if held else {})}
        )
        times = sorted(row["sent_at"] for row in rows if row["state"] == "sent")
        day = 86_400 * 1_000_000
        assert all(b - a >= day for a, b in itertools.pairwise(times))
        assert len(r.processed) == sent
        if held:
            assert {row["reason"] for row in rows if row["state"] == "held"} == {
                "over the cap of 1 per 1 day"
            }
    finally:
        r.close()


# --------------------------------------------------------------------------- unsendable rows


def test_a_row_naming_an_unconfigured_channel_is_dead_lettered_and_the_rest_go_out():
    """Issue 13, defect 4: one bad row used to make every run_once raise."""
    r = Receiver()
    try:
        ws = open_ws("memory://", r, customers=3)
        ws.storage.upsert_customers(
            [Customer("C1", consents=[Consent("hook", "service"), Consent("fax", "service")])]
        )
        d = Dispatcher(ws, rules=RULES)
        plan = make_plan(3)
        plan.channel[1] = "fax"
        d.enqueue(plan, message, now=NOW)
        report = d.run_once(NOW)
        assert (report.sent, report.dead) == (2, 1)
        assert set(r.processed) == {"birthday/C0/2026", "birthday/C2/2026"}
        [dead] = d.dead_letters()
        assert dead["key"] == "birthday/C1/2026"
        assert dead["last_error"].startswith("cannot send through channel 'fax': no channel kind")
        assert d.run_once(NOW + dt.timedelta(hours=1)) == type(report)(0, 0, 0)
    finally:
        r.close()


# --------------------------------------------------------------------------- hanging channels


class Hanging(ChannelBackend):
    """A channel plugin whose first call hangs until released (as a stuck socket would)."""

    name = "slow"

    def __init__(self):
        self.release = threading.Event()
        self.calls = 0
        self.finished = threading.Event()

    def send(self, message):
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
            self.finished.set()
        return Delivery.sent(message, self.name)


def test_a_hanging_channel_is_cut_off_retried_and_named():
    """Issue 13, defect 10: a hanging plugin used to block run_once for good."""
    ws = touchpoint.open("memory://")
    ws.storage.upsert_customers(
        [Customer(f"C{i}", consents=[Consent("slow", "service")]) for i in range(2)]
    )
    slow = Hanging()
    ws.add_channel("slow", slow)
    d = Dispatcher(ws, rules=RULES, timeout=0.3, backoff=dt.timedelta(minutes=1))
    d.enqueue(make_plan(2, channel="slow"), message, now=NOW)
    began = time.monotonic()
    report = d.run_once(NOW)
    assert time.monotonic() - began < 5
    assert (report.sent, report.retry) == (1, 1)
    [line] = report.timeouts
    assert line == "channel 'slow' (Hanging) did not answer within 0.3 s (key birthday/C0/2026)"
    row = _outbox(ws)["birthday/C0/2026"]
    assert row["state"] == "retry" and "did not answer within 0.3 s" in row["last_error"]
    # the hung call completes late: it changes nothing that was recorded
    slow.release.set()
    assert slow.finished.wait(5)
    time.sleep(0.05)
    assert _outbox(ws)["birthday/C0/2026"]["state"] == "retry"
    assert ws.storage.count() == 1  # only C1's contact is recorded as an interaction
    # the retry goes out once
    assert d.run_once(NOW + dt.timedelta(minutes=2)).sent == 1
    assert _outbox(ws)["birthday/C0/2026"]["state"] == "sent" and slow.calls == 3


def test_a_hanging_webhook_receiver_gets_the_contact_effectively_once():
    r = Receiver(hang_rate=1.0, hang=1.0)  # every request hangs 1 s, then is processed
    try:
        ws = open_ws("memory://", r, customers=1)
        d = Dispatcher(ws, rules=RULES, timeout=0.2, backoff=dt.timedelta(minutes=1))
        d.enqueue(make_plan(1), message, now=NOW)
        assert d.run_once(NOW).retry == 1
        time.sleep(1.2)  # the receiver processes the abandoned request
        assert r.processed == Counter({"birthday/C0/2026": 1})
        assert d.run_once(NOW + dt.timedelta(minutes=2)).retry == 1  # hangs again
        time.sleep(1.2)
        assert r.processed == Counter({"birthday/C0/2026": 1})
        assert r.repeats == Counter({"birthday/C0/2026": 1})  # dropped by the key
    finally:
        r.close()


# --------------------------------------------------------------------------- masked reasons


class Leaky(ChannelBackend):
    """A channel whose errors quote the address and a credential, as real SDKs do."""

    name = "leaky"

    def __init__(self, mode):
        self.mode = mode

    def send(self, message):
        text = (
            f"550 mailbox <{message.address}> unavailable for {message.customer}; "
            "request https://api:hunter2@mail.example.net/send?token=sk_live_51HxYzAbCdEf0123456789 "
            f"from +86 138 0013 8000 {'x' * 5000}"
        )
        if self.mode == "raise":
            raise RuntimeError(text)
        return Delivery.failed(message, self.name, text, retryable=False)


@pytest.mark.parametrize("mode", ["raise", "return"])
def test_stored_reasons_are_masked_and_bounded(mode):
    """Issue 13, defect 11: the exception text used to land in the contact log verbatim."""
    ws = touchpoint.open("memory://")
    ws.storage.upsert_customers([Customer("C0", consents=[Consent("leaky", "service")])])
    ws.add_channel("leaky", Leaky(mode))
    d = Dispatcher(ws, rules=RULES, max_attempts=1)
    d.enqueue(make_plan(1, channel="leaky"), message, now=NOW)
    assert d.run_once(NOW).dead == 1
    [logged] = ws.storage.contacts()
    stored = [logged["detail"], _outbox(ws)["birthday/C0/2026"]["last_error"]]
    for text in stored:
        assert "C0@example.com" not in text and "hunter2" not in text
        assert "sk_live_51HxYzAbCdEf0123456789" not in text and "0013 8000" not in text
        assert len(text) <= REASON_LIMIT
        assert "550 mailbox <C***@e***.com> unavailable" in text  # still says what happened
