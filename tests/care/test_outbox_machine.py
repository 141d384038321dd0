"""A hypothesis state machine over the dispatch outbox.

Two dispatchers (owners ``A`` and ``B``) share one workspace. Steps: enqueue a contact,
claim rows, deliver or fail a claimed row (each owner works through its own claims, which
may have gone stale), let leases expire, let time pass, withdraw a customer's consent,
forget a customer. After every step the invariants a customer relies on are checked:
no contact delivered twice, none delivered after its customer withdrew or was forgotten,
nothing left of a forgotten customer, final states final, every row's fields consistent
with its state, and what the channel received agrees with what the outbox says.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.care import ContactPlan, ContactPolicy, Dispatcher
from touchpoint.channels import Message
from touchpoint.channels.base import ChannelBackend, Delivery

CUSTOMERS = ["C0", "C1", "C2", "C3"]
OWNERS = ["A", "B"]
LEASE = dt.timedelta(minutes=5)
T0 = int(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC).timestamp() * 1_000_000)
FINAL = {"sent", "dead", "held"}


class Recording(ChannelBackend):
    """A channel that succeeds or fails as told and remembers every delivery."""

    name = "rec"

    def __init__(self, machine: OutboxMachine) -> None:
        self.machine = machine
        self.fail = False

    def send(self, message: Message) -> Delivery:
        if self.fail:
            return Delivery.failed(message, self.name, "HTTP 503", retryable=True)
        self.machine.delivered.append(
            (message.contact_id, message.customer, message.customer in self.machine.stopped)
        )
        return Delivery.sent(message, self.name)


def _plan(customer: str, key: str) -> ContactPlan:
    one = np.array
    return ContactPlan(
        customer=one([customer], dtype=object),
        rule=one(["r"], dtype=object),
        step=one([""], dtype=object),
        key=one([key], dtype=object),
        channel=one(["rec"], dtype=object),
        status=one(["send"], dtype=object),
        send_at=np.array([T0], dtype="int64").astype("datetime64[us]"),
        reason=one([""], dtype=object),
    )


def _message(row):
    return Message(row["key"], row["customer"], f"{row['customer']}@example.com", "Hello")


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ws = touchpoint.open("memory://")
        self.ws.storage.upsert_customers(
            [Customer(c, consents=[Consent("rec", "service")]) for c in CUSTOMERS]
        )
        self.channel = Recording(self)
        self.ws.add_channel("rec", self.channel)
        self.t = T0
        self.dispatchers = {
            o: Dispatcher(
                self.ws,
                owner=o,
                policy=ContactPolicy(quiet_hours=None),
                lease=LEASE,
                timeout=5,
                max_attempts=3,
                backoff=dt.timedelta(minutes=1),
            )
            for o in OWNERS
        }
        self.claimed: dict[str, list[dict]] = {o: [] for o in OWNERS}
        self.delivered: list[tuple[str, str, bool]] = []  # key, customer, after a stop?
        self.stopped: set[str] = set()  # withdrawn or forgotten
        self.forgotten: set[str] = set()
        self.finals: dict[str, str] = {}
        self.leases: dict[str, tuple[str, int]] = {}  # the model's view: key -> (owner, until)
        self.n = 0

    # ------------------------------------------------------------------ steps

    @rule(customer=st.sampled_from(CUSTOMERS))
    def enqueue(self, customer):
        self.n += 1
        report = self.dispatchers["A"].enqueue(
            _plan(customer, f"r/{customer}/{self.n}"), _message, now=self.t
        )
        assert (report.queued, report.blocked) == ((0, 1) if customer in self.forgotten else (1, 0))

    @rule(owner=st.sampled_from(OWNERS), limit=st.integers(1, 4))
    def claim(self, owner, limit):
        rows = self.ws.storage.claim_outbox(
            owner, now=self.t, lease_until=self.t + int(LEASE.total_seconds() * 1e6), limit=limit
        )
        for r in rows:
            assert r["lease_owner"] == owner and r["state"] in ("pending", "retry")
            # nobody (this owner included) held a running lease on it
            held_by = self.leases.get(r["key"])
            assert held_by is None or held_by[1] <= self.t, (r["key"], held_by, self.t)
            self.leases[r["key"]] = (owner, r["lease_until"])
        self.claimed[owner] += rows

    def _process(self, owner: str, fail: bool) -> None:
        row = self.claimed[owner].pop(0)
        self.channel.fail = fail
        timeouts: list[str] = []
        outcome = self.dispatchers[owner]._handle(row, lambda: self.t, timeouts)
        assert outcome in ("sent", "retry", "dead", "held", "waiting", "lost")
        assert not timeouts
        if outcome == "lost":  # a stale claim: the row was another owner's, or finished
            assert self.leases.get(row["key"], (None,))[0] != owner or row["key"] in self.finals
        else:
            assert self.leases.pop(row["key"])[0] == owner

    @precondition(lambda self: self.claimed["A"])
    @rule()
    def deliver_a(self):
        self._process("A", fail=False)

    @precondition(lambda self: self.claimed["B"])
    @rule()
    def deliver_b(self):
        self._process("B", fail=False)

    @precondition(lambda self: self.claimed["A"] or self.claimed["B"])
    @rule(owner=st.sampled_from(OWNERS))
    def fail(self, owner):
        if self.claimed[owner]:
            self._process(owner, fail=True)

    @rule()
    def expire(self):
        self.t += int(LEASE.total_seconds() * 1e6) + 1

    @rule(minutes=st.integers(0, 10))
    def tick(self, minutes):
        self.t += minutes * 60_000_000

    @rule(customer=st.sampled_from(CUSTOMERS))
    def withdraw_consent(self, customer):
        if customer in self.forgotten:
            return
        self.ws.storage.upsert_customers(
            [Customer(customer, consents=[Consent("rec", "service", granted=False)])]
        )
        self.stopped.add(customer)

    @rule(customer=st.sampled_from(CUSTOMERS))
    def forget(self, customer):
        self.ws.forget(customer)
        for key in [k for k in self.leases if k.split("/")[1] == customer]:
            del self.leases[key]
        self.stopped.add(customer)
        self.forgotten.add(customer)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_delivered_twice(self):
        keys = [k for k, _, _ in self.delivered]
        assert len(keys) == len(set(keys)), keys

    @invariant()
    def nothing_delivered_after_a_withdrawal_or_forget(self):
        assert not [d for d in self.delivered if d[2]]

    @invariant()
    def nothing_left_of_a_forgotten_customer(self):
        for c in self.forgotten:
            assert self.ws.storage.outbox(customer=c) == []
            assert self.ws.storage.contacts(customer=c) == []

    @invariant()
    def rows_agree_with_their_state_and_the_channel(self):
        delivered = {k for k, _, _ in self.delivered}
        for r in self.ws.storage.outbox():
            key, state = r["key"], r["state"]
            assert state in FINAL | {"pending", "retry"}
            if state in FINAL:
                assert r["lease_owner"] is None and r["lease_until"] is None
                assert self.finals.setdefault(key, state) == state  # final stays final
            else:
                assert key not in self.finals
                assert (r["lease_owner"] is None) == (r["lease_until"] is None)
                assert r["lease_owner"] in (None, *OWNERS)
            assert (state == "sent") == (key in delivered)
            if state == "sent":
                assert r["sent_at"] is not None and r["attempts"] >= 1
            if state == "held":
                assert r["reason"] and r["attempts"] < 3
            if state == "dead":
                assert r["last_error"] == "HTTP 503" and r["attempts"] == 3
            if state == "retry":
                assert r["last_error"] == "HTTP 503" and 1 <= r["attempts"] < 3
            if r["customer"] in self.stopped and key not in delivered:
                assert state != "sent"


OutboxMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestOutbox = OutboxMachine.TestCase
