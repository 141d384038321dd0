"""Flows: follow-ups depend on the previous step's outcome, exits, branches, review steps.

The blocked-letter case runs end to end: a real SQLite workspace, a real SMTP server on
loopback (aiosmtpd, as the channel tests use it), the outbox and the contact log.
"""

from __future__ import annotations

import datetime as dt
import socket

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from hypothesis import given, settings
from hypothesis import strategies as st

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.care import (
    ContactPolicy,
    Dispatcher,
    happenings,
    plan_contacts,
    step_outcomes,
    triggered,
)
from touchpoint.channels import Message
from touchpoint.channels.smtp import SmtpChannel
from touchpoint.model import CareRule, FollowUp

NO_QUIET = ContactPolicy(quiet_hours=None)


class Inbox:
    """aiosmtpd handler keeping accepted messages; refuses recipients at bounce.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@bounce.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


#: A complaint opens the flow: a letter by mail the same day, a call a day later
#: announcing it, a second call three days later.
LETTER = CareRule(
    "letter",
    "Letter after a complaint",
    touchpoint="CARE",
    channels=["mail"],
    purpose="marketing",
    trigger={"kind": "rating", "at_or_below": 2},
    follow_ups=[
        FollowUp("announce", "Call announcing the letter", offset="1 day", channel="phone"),
        FollowUp("second", "Second call", offset="3 days", channel="phone"),
    ],
)


def _message(people):
    def message(row):
        address = people.get(row["customer"], "")
        return Message(row["key"], row["customer"], address, "We are sorry", purpose="marketing")

    return message


def test_a_blocked_or_failed_letter_is_not_announced_by_a_call(smtp, tmp_path):
    port, inbox = smtp
    ws = touchpoint.open(f"sqlite:///{tmp_path / 'care.db'}")
    ws.add_channel(
        "mail",
        SmtpChannel(
            host="127.0.0.1",
            port=port,
            security="none",
            sender="s@shop.example",
            unsubscribe_url="https://shop.example/unsubscribe",
        ),
    )
    ws.add_channel("phone", kind="outbox")
    granted = [Consent("mail", "marketing"), Consent("phone", "marketing")]
    people = {
        "C-OK": "ok@shop.example",  # consents, a real address: letter sent, call planned
        "C-NO": "no@shop.example",  # no marketing consent on mail: letter blocked
        "C-BOUNCE": "x@bounce.example",  # the server refuses the address: letter failed
    }
    ws.storage.upsert_customers(
        [
            Customer("C-OK", consents=granted),
            Customer("C-NO", consents=[Consent("phone", "marketing")]),
            Customer("C-BOUNCE", consents=granted),
        ]
    )
    customers = {"customer": list(people), "timezone": ["UTC"] * 3}
    consents = {
        "customer": ["C-OK", "C-OK", "C-NO", "C-BOUNCE", "C-BOUNCE"],
        "channel": ["mail", "phone", "phone", "mail", "phone"],
        "purpose": ["marketing"] * 5,
        "granted": [True] * 5,
    }
    ratings = {
        "customer": list(people),
        "time": ["2026-03-02T09:00"] * 3,
        "rating": [1.0, 2.0, 1.0],
    }
    d = Dispatcher(ws, rules=[LETTER], policy=NO_QUIET, max_attempts=1)

    # Day 1: the letters.
    day1 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    due = triggered([LETTER], ratings, asof="2026-03-02")
    assert due.key.tolist() == [f"letter/{c}/2026-03-02" for c in sorted(people)]
    plan = plan_contacts(
        due, [LETTER], customers=customers, consents=consents, now=day1, policy=NO_QUIET
    )
    d.enqueue(plan, _message(people), now=day1)
    report = d.run_once(day1)
    assert (report.sent, report.dead) == (1, 1)
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["ok@shop.example"]]

    # Day 2: the announcing calls read what became of the letters from the storage.
    day2 = dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)
    due = triggered([LETTER], ratings, asof="2026-03-03")
    plan = plan_contacts(
        due,
        [LETTER],
        customers=customers,
        consents=consents,
        now=day2,
        policy=NO_QUIET,
        outcomes=step_outcomes(ws.storage),
    )
    rows = {c: (s, r) for c, s, r in zip(plan.customer, plan.status, plan.reason, strict=True)}
    assert rows["C-OK"] == ("send", "")
    assert rows["C-NO"] == (
        "blocked",
        "previous step 'letter' was blocked: no marketing consent on mail",
    )
    status, reason = rows["C-BOUNCE"]
    assert status == "blocked"
    assert reason.startswith("previous step 'letter' was not delivered: ")
    assert "550" in reason  # the server's refusal, as the outbox recorded it
    d.enqueue(plan, _message(people), now=day2)
    assert d.run_once(day2).sent == 1
    calls = [r["customer"] for r in ws.storage.outbox() if r["channel"] == "phone"]
    assert calls == ["C-OK"]

    # Day 5: the second call depends on the first call (blocked for two of them).
    day5 = dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC)
    due = triggered([LETTER], ratings, asof="2026-03-05")
    plan = plan_contacts(
        due,
        [LETTER],
        customers=customers,
        consents=consents,
        now=day5,
        policy=NO_QUIET,
        outcomes=step_outcomes(ws.storage),
    )
    rows = {c: (s, r) for c, s, r in zip(plan.customer, plan.status, plan.reason, strict=True)}
    assert rows["C-OK"] == ("send", "")
    assert rows["C-NO"][0] == rows["C-BOUNCE"][0] == "blocked"
    assert rows["C-NO"][1].startswith("previous step 'announce' was blocked: previous step")
    ws.close()


def test_steps_planned_in_one_run_see_each_other():
    """A letter blocked in the same plan blocks its call without any storage."""
    due = triggered(
        [LETTER],
        {"customer": ["A"], "time": ["2026-03-01"], "rating": [1]},
        asof="2026-03-04",
        since="2026-03-01",
    )
    plan = plan_contacts(
        due,
        [LETTER],
        customers={"customer": ["A"], "timezone": ["UTC"]},
        consents={
            "customer": ["A"],
            "channel": ["phone"],
            "purpose": ["marketing"],
            "granted": [True],
        },
        now=dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC),
        policy=NO_QUIET,
    )
    assert plan.step.tolist() == ["", "announce", "second"]
    assert plan.status.tolist() == ["blocked"] * 3
    assert plan.reason.tolist() == [
        "no marketing consent on mail",
        "previous step 'letter' was blocked: no marketing consent on mail",
        "previous step 'announce' was blocked: previous step 'letter' was blocked: "
        "no marketing consent on mail",
    ]


CONSENTING = {
    "customer": ["A", "B", "C"],
    "channel": ["sms"] * 3,
    "purpose": ["service"] * 3,
    "granted": [True] * 3,
}
PEOPLE = {"customer": ["A", "B", "C"], "timezone": ["UTC"] * 3}


def _plan(rule, events, *, asof, complaints=None, since="2026-01-01"):
    now = dt.datetime.fromisoformat(asof).replace(hour=10, tzinfo=dt.UTC)
    due = triggered([rule], events, asof=asof, since=since, complaints=complaints)
    plan = plan_contacts(
        due,
        [rule],
        customers=PEOPLE,
        consents=CONSENTING,
        now=now,
        policy=NO_QUIET,
        happenings=happenings(events, complaints=complaints),
    )
    return {
        (c, s): (st, r)
        for c, s, st, r in zip(plan.customer, plan.step, plan.status, plan.reason, strict=True)
    }


def test_exit_on_purchase_stops_the_flow_and_unless_skips_one_step():
    rule = CareRule(
        "lapsed",
        "Lapsed customers",
        touchpoint="CARE",
        channels=["sms"],
        trigger={"kind": "no_purchase", "days": 30},
        exit_on=["purchased"],
        follow_ups=[
            FollowUp("nudge", "Nudge", offset="7 days", channel="sms", unless=["replied"]),
            FollowUp("last", "Last try", offset="14 days", channel="sms"),
        ],
    )
    # All three last bought on 1 January: they lapse on 31 January.
    # A buys again on 3 February (exits); B replies on 5 February (skips the nudge).
    events = {
        "customer": ["A", "B", "C", "A", "B"],
        "time": ["2026-01-01", "2026-01-01", "2026-01-01", "2026-02-03", "2026-02-05"],
        "outcome": ["purchase", "purchase", "purchase", "purchase", "message"],
        "direction": ["inbound"] * 5,
    }
    first = _plan(rule, events, asof="2026-01-31", since="2026-01-31")
    assert first == {(c, ""): ("send", "") for c in "ABC"}
    plan = _plan(rule, events, asof="2026-02-14")
    # planned again after the purchase, even A's first contact would not go out
    assert plan[("A", "")] == ("blocked", "exited: the customer purchased on 2026-02-03")
    assert plan[("A", "nudge")] == ("blocked", "exited: the customer purchased on 2026-02-03")
    assert plan[("A", "last")] == ("blocked", "exited: the customer purchased on 2026-02-03")
    assert plan[("B", "nudge")] == ("blocked", "skipped: the customer replied since step 'lapsed'")
    # the step after a skipped one is not sent either: the flow reads its previous step
    assert plan[("B", "last")][0] == "blocked"
    assert plan[("C", "nudge")] == ("send", "") and plan[("C", "last")] == ("send", "")


def test_a_review_step_records_who_came_back_and_sends_nothing(tmp_path):
    rule = CareRule(
        "wb",
        "Win back",
        touchpoint="CARE",
        channels=["sms"],
        flow="win-back",
    )
    assert [f.code for f in rule.follow_ups] == ["remind", "review"]
    events = {
        "customer": ["A", "B", "A"],
        "time": ["2025-06-01", "2025-06-01", "2026-01-10"],
        "outcome": ["purchase"] * 3,
    }
    # both lapse on 28 November 2025 (180 days); A comes back on 10 January; review +60 days
    plan = _plan(rule, events, asof="2026-01-27")
    assert plan[("A", "review")] == ("check", "came back: purchased on 2026-01-10")
    assert plan[("B", "review")] == ("check", "did not come back")
    ws = touchpoint.open(f"sqlite:///{tmp_path / 'r.db'}")
    ws.storage.upsert_customers([Customer("A"), Customer("B")])
    due = triggered([rule], events, asof="2026-01-27")
    full = plan_contacts(
        due,
        [rule],
        customers=PEOPLE,
        consents=CONSENTING,
        now=dt.datetime(2026, 1, 27, 10, tzinfo=dt.UTC),
        happenings=happenings(events),
    )
    report = Dispatcher(ws, rules=[rule]).enqueue(full, _message({}), now="2026-01-27T10:00Z")
    assert report.checked == 2 and report.queued == 0
    logged = {c["customer"]: (c["channel"], c["detail"]) for c in ws.storage.contacts()}
    assert logged == {
        "A": ("review", "review: came back: purchased on 2026-01-10"),
        "B": ("review", "review: did not come back"),
    }
    assert ws.storage.outbox() == []
    ws.close()


def test_recomputing_a_plan_gives_the_same_keys_and_decisions():
    rule = LETTER
    events = {
        "customer": np.array(["A", "B", "C"] * 20),
        "time": np.array(["2026-03-01T10:00"] * 60, dtype="datetime64[us]")
        + np.arange(60).astype("timedelta64[D]"),
        "rating": np.tile([1.0, 3.0, 2.0], 20),
    }
    kw = dict(asof="2026-04-20", since="2026-03-01")
    a, b = triggered([rule], events, **kw), triggered([rule], events, **kw)
    assert a.key.tolist() == b.key.tolist() and len(set(a.key.tolist())) == len(a)


THREE_STEPS = CareRule(
    "flow",
    "Three steps",
    touchpoint="CARE",
    channels=["mail"],
    purpose="marketing",
    trigger={"kind": "rating", "at_or_below": 2},
    follow_ups=[
        FollowUp("a", "Call", offset="1 day", channel="phone"),
        FollowUp("b", "Text", offset="2 days", channel="sms"),
    ],
)


@settings(max_examples=80, deadline=None)
@given(
    grants=st.lists(
        st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_no_step_goes_out_after_a_step_that_did_not(grants):
    """Whatever the consents: a step is sent only if the step before it is sent too."""
    ids = [f"C{i:02d}" for i in range(len(grants))]
    channels = ["mail", "phone", "sms"]
    rows = [
        (c, ch)
        for c, g in zip(ids, grants, strict=True)
        for ch, ok in zip(channels, g[:3], strict=True)
        if ok
    ]
    consents = {
        "customer": [c for c, _ in rows],
        "channel": [ch for _, ch in rows],
        "purpose": ["marketing"] * len(rows),
        "granted": [True] * len(rows),
    }
    dnc = [g[3] and not g[0] for g in grants]
    events = {"customer": ids, "time": ["2026-03-01"] * len(ids), "rating": [1] * len(ids)}
    due = triggered([THREE_STEPS], events, asof="2026-03-03", since="2026-03-01")
    plan = plan_contacts(
        due,
        [THREE_STEPS],
        customers={"customer": ids, "timezone": ["UTC"] * len(ids), "do_not_contact": dnc},
        consents=consents,
        now=dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC),
        policy=NO_QUIET,
    )
    status = {(c, s): st_ for c, s, st_ in zip(plan.customer, plan.step, plan.status, strict=True)}
    for c, g, no in zip(ids, grants, dnc, strict=True):
        steps = [status[(c, s)] for s in ("", "a", "b")]
        sent = [x == "send" for x in steps]
        assert sent == [sent[0], sent[0] and sent[1], sent[0] and sent[1] and sent[2]]
        # and each step is sent exactly when it and all before it have consent
        expected = [not no and all(g[: k + 1]) for k in range(3)]
        assert sent == expected
