"""Holdouts in the care engine: planned, never sent, recorded as held; lift finds real effects.

The simulation: customers lapse, a care rule fires for all of them, the engine holds a
share out; a contacted customer comes back with probability ``base + effect``, a held-out
one with ``base``. `touchpoint.experiments.lift` on the outcome must find a real effect
and stay quiet (at about its nominal 5%) on a rule that does nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.care import ContactPolicy, Dispatcher, plan_contacts, triggered
from touchpoint.channels import Message
from touchpoint.errors import ValidationError
from touchpoint.experiments import holdout, lift
from touchpoint.model import CareRule

NOW = dt.datetime(2026, 3, 31, 10, tzinfo=dt.UTC)


def _lapsed(n, *, prefix="C"):
    """n customers whose last purchase was on 1 January: 89 days without one on 31 March."""
    ids = np.array([f"{prefix}{i:05d}" for i in range(n)], dtype=object)  # in plan order
    events = {"customer": ids, "time": np.full(n, np.datetime64("2026-01-01T12:00", "us"))}
    customers = {"customer": ids, "timezone": np.full(n, "UTC", dtype=object)}
    consents = {
        "customer": ids,
        "channel": np.full(n, "sms", dtype=object),
        "purpose": np.full(n, "service", dtype=object),
        "granted": np.ones(n, bool),
    }
    return ids, events, customers, consents


def _rule(**kw):
    return CareRule(
        "lapsed",
        "Lapsed 89 days",
        touchpoint="CARE",
        channels=["sms"],
        trigger={"kind": "no_purchase", "days": 89},
        **kw,
    )


def test_held_out_contacts_are_planned_recorded_as_held_and_never_sent(tmp_path):
    ids, events, customers, consents = _lapsed(120)
    rule = _rule(holdout=0.1, holdout_salt="lapsed-2026")
    policy = ContactPolicy(quiet_hours=None, holdout=0.2, holdout_salt="care-2026")
    due = triggered([rule], events, asof="2026-03-31")
    plan = plan_contacts(
        due, [rule], customers=customers, consents=consents, now=NOW, policy=policy
    )
    expected = holdout(ids, share=0.2, salt="care-2026") | holdout(
        ids, share=0.1, salt="lapsed-2026"
    )
    held = plan.status == "held"
    assert (held == expected).all() and 0.15 < held.mean() < 0.45
    assert set(plan.reason[held]) == {"holdout"} and set(plan.status[~held]) == {"send"}
    assert (plan.channel[held] == "sms").all()  # planned like the others

    ws = touchpoint.open(f"sqlite:///{tmp_path / 'h.db'}")
    ws.add_channel("sms", kind="outbox")
    ws.storage.upsert_customers([Customer(c, consents=[Consent("sms")]) for c in ids])
    d = Dispatcher(ws, rules=[rule], policy=ContactPolicy(quiet_hours=None), batch=10_000)

    def message(row):
        return Message(row["key"], row["customer"], "+8613800000000", "We miss you")

    report = d.enqueue(plan, message, now=NOW)
    assert (report.queued, report.held) == (int((~held).sum()), int(held.sum()))
    assert d.run_once(NOW).sent == int((~held).sum())
    rows = {r["customer"]: r for r in ws.storage.outbox()}
    assert len(rows) == len(ids)
    recorded = np.array([rows[c]["state"] == "held" for c in ids])
    assert (recorded == expected).all()
    assert {rows[c]["reason"] for c in ids[expected]} == {"holdout"}
    assert {rows[c]["sent_at"] for c in ids[expected]} == {None}
    # planning and queueing again changes nothing: the same keys, already there
    again = d.enqueue(plan, message, now=NOW)
    assert (again.queued, again.held, again.duplicate) == (0, 0, len(ids))
    assert d.run_once(NOW).sent == 0
    ws.close()


def test_a_global_holdout_needs_a_salt():
    with pytest.raises(ValidationError) as info:
        ContactPolicy(holdout=0.1)
    assert info.value.problems[0].path == "holdout_salt"


def _simulate(n, effect, *, seed, salt):
    """Run the engine with a 50% holdout, then draw who comes back; the lift over 90 days."""
    ids, events, customers, consents = _lapsed(n)
    rule = _rule(holdout=0.5, holdout_salt=salt)
    due = triggered([rule], events, asof="2026-03-31")
    plan = plan_contacts(
        due,
        [rule],
        customers=customers,
        consents=consents,
        now=NOW,
        policy=ContactPolicy(quiet_hours=None),
    )
    assert plan.customer.tolist() == ids.tolist()
    held = plan.status == "held"
    rng = np.random.default_rng(seed)
    back = rng.random(n) < np.where(held, 0.2, 0.2 + effect)
    when = np.datetime64("2026-04-01T12:00", "us") + rng.integers(0, 89, n).astype("timedelta64[D]")
    later = {"customer": ids[back], "time": when[back]}
    return lift(later, customers=ids, held_out=held, start="2026-04-01", end="2026-06-30")


def test_lift_finds_the_effect_of_a_rule_that_works():
    result = _simulate(4000, 0.10, seed=7, salt="works-2026")
    assert result.significant and result.p_value < 1e-6
    assert result.lower < 0.10 < result.upper
    assert 1800 < result.holdout < 2200


def test_lift_stays_quiet_on_a_rule_that_does_nothing():
    runs = 200
    flagged = sum(
        _simulate(400, 0.0, seed=seed, salt=f"null-{seed}").p_value < 0.05 for seed in range(runs)
    )
    # nominal 5%: 10 of 200 expected; the binomial 99.9% range is about 2 to 22
    assert 2 <= flagged <= 22, flagged
