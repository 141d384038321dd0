"""Behaviour triggers against small pandas references, keys, re-entry and bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.care import agenda, triggered
from touchpoint.errors import BlueprintError, ValidationError
from touchpoint.model import CareRule, Complaint, FollowUp
from touchpoint.schema import blueprint_from_dict


def rule(code="r", **trigger):
    return CareRule(code, "Rule", touchpoint="CARE", channels=["sms"], trigger=trigger)


def _pairs(due):
    return sorted(zip(due.customer.tolist(), due.anchor.astype(str).tolist(), strict=True))


def _random_events(seed, n=400, customers=25):
    rng = np.random.default_rng(seed)
    day0 = np.datetime64("2025-01-01", "D")
    return pd.DataFrame(
        {
            "customer": rng.choice([f"C{i}" for i in range(customers)], n),
            "time": (day0 + rng.integers(0, 500, n).astype("timedelta64[D]")).astype(
                "datetime64[us]"
            )
            + rng.integers(0, 86_400, n).astype("timedelta64[s]"),
            "outcome": rng.choice(["purchase", "call", None], n, p=[0.5, 0.3, 0.2]),
            "amount": np.where(rng.random(n) < 0.5, rng.uniform(1, 50, n), 0.0),
            "rating": np.where(rng.random(n) < 0.4, rng.integers(1, 6, n), np.nan),
            "touchpoint": rng.choice(["SURVEY", "STORE"], n),
        }
    )


def _purchases(events):
    """The shared purchase rule, written out: an outcome 'purchase', or none and an amount."""
    return events[(events.outcome == "purchase") | (events.outcome.isna() & (events.amount > 0))]


ASOF = "2026-05-01"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("days", [1, 30, 90])
def test_no_purchase_fires_on_every_lapse_day(seed, days):
    events = _random_events(seed)
    due = triggered([rule(kind="no_purchase", days=days)], events, asof=ASOF, since="2000-01-01")
    bought = _purchases(events).assign(day=lambda f: f.time.dt.floor("D"))
    expected = []
    for who, group in bought.groupby("customer"):
        days_ = sorted(set(group.day))
        for p, nxt in zip(days_, [*days_[1:], None], strict=True):
            lapse = p + pd.Timedelta(days=days)
            if (nxt is None or nxt > lapse) and lapse <= pd.Timestamp(ASOF):
                expected.append((who, str(lapse.date())))
    # re-entry 'never' (the default): each customer's first lapse only
    first = {}
    for who, day in sorted(expected):
        first.setdefault(who, day)
    assert _pairs(due) == sorted(first.items())
    always = CareRule(
        "r",
        "Rule",
        touchpoint="CARE",
        channels=["sms"],
        trigger={"kind": "no_purchase", "days": days},
        reentry="always",
    )
    assert _pairs(triggered([always], events, asof=ASOF, since="2000-01-01")) == sorted(expected)


@pytest.mark.parametrize("seed", range(3))
def test_first_purchase_and_rating_against_pandas(seed):
    events = _random_events(seed)
    due = triggered([rule(kind="first_purchase", days=7)], events, asof=ASOF, since="2000-01-01")
    first = _purchases(events).groupby("customer").time.min().dt.floor("D") + pd.Timedelta(days=7)
    first = first[first <= pd.Timestamp(ASOF)]
    assert _pairs(due) == sorted((c, str(d.date())) for c, d in first.items())

    low = rule(kind="rating", at_or_below=2, touchpoint="SURVEY")
    low = CareRule(
        "low", "Low", touchpoint="CARE", channels=["sms"], trigger=low.trigger, reentry="always"
    )
    due = triggered([low], events, asof=ASOF, since="2000-01-01")
    hit = events[
        (events.rating <= 2)
        & (events.touchpoint == "SURVEY")
        & (events.time < pd.Timestamp(ASOF) + pd.Timedelta(days=1))
    ]
    expected = sorted({(c, str(t.date())) for c, t in zip(hit.customer, hit.time, strict=True)})
    assert _pairs(due) == expected


def test_complaints_opened_and_resolved_from_complaint_records():
    utc = dt.UTC
    complaints = [
        Complaint(
            "K1",
            "A",
            opened_at=dt.datetime(2026, 3, 1, 9, tzinfo=utc),
            cause="late",
            resolved_at=dt.datetime(2026, 3, 4, 15, tzinfo=utc),
        ),
        Complaint("K2", "B", opened_at=dt.datetime(2026, 3, 2, 23, tzinfo=utc)),
    ]
    opened = triggered(
        [rule("o", kind="complaint_opened")],
        asof="2026-03-05",
        since="2026-03-01",
        complaints=complaints,
    )
    assert opened.key.tolist() == ["o/A/2026-03-01", "o/B/2026-03-02"]
    # the material's "find the reason": the complaint that fired the rule
    assert opened.context.tolist() == ["complaint: other: late", "complaint: other"]
    resolved = triggered(
        [rule("s", kind="complaint_resolved")],
        asof="2026-03-05",
        since="2026-03-01",
        complaints=complaints,
    )
    assert resolved.key.tolist() == ["s/A/2026-03-04"]


def test_tier_changes_and_breaches_from_tables():
    changes = {
        "customer": ["A", "B", "C"],
        "time": ["2026-03-01", "2026-03-02", "2026-03-02"],
        "tier": ["gold", "silver", "gold"],
    }
    due = triggered(
        [rule("up", kind="tier_change", tiers=["gold"])],
        asof="2026-03-03",
        since="2026-03-01",
        tier_changes=changes,
    )
    assert due.key.tolist() == ["up/A/2026-03-01", "up/C/2026-03-02"]
    breaches = {
        "customer": ["A", "B"],
        "time": ["2026-03-01T10:00", "2026-03-01T11:00"],
        "indicator": ["callback", "greet"],
    }
    due = triggered(
        [rule("b", kind="breach", indicator="greet")], asof="2026-03-01", breaches=breaches
    )
    assert due.key.tolist() == ["b/B/2026-03-01"]


def test_reentry_waits_from_the_last_entry():
    # lapses (10 days without a purchase) on 11 Jan, 1 Feb, 15 Feb, 20 Mar
    events = {
        "customer": ["A"] * 4,
        "time": ["2026-01-01", "2026-01-22", "2026-02-05", "2026-03-10"],
    }
    kw = dict(asof="2026-04-01", since="2026-01-01")
    waits = {
        "never": ["2026-01-11"],
        "always": ["2026-01-11", "2026-02-01", "2026-02-15", "2026-03-20"],
        "30 days": ["2026-01-11", "2026-02-15", "2026-03-20"],
    }
    for reentry, days in waits.items():
        r = CareRule(
            "r",
            "R",
            touchpoint="T",
            channels=["sms"],
            reentry=reentry,
            trigger={"kind": "no_purchase", "days": 10},
        )
        assert triggered([r], events, **kw).anchor.astype(str).tolist() == days, reentry


def test_follow_ups_of_a_firing_are_due_after_its_contact_and_date_rules_ignore_triggers():
    r = CareRule(
        "r",
        "R",
        touchpoint="T",
        channels=["sms"],
        offset="2 days",
        trigger={"kind": "rating", "at_or_below": 1},
        follow_ups=[FollowUp("call", "Call", offset="3 days")],
    )
    events = {"customer": ["A"], "time": ["2026-03-01T12:00"], "rating": [1]}
    due = triggered([r], events, asof="2026-03-10", since="2026-03-01")
    assert list(zip(due.key.tolist(), due.due.astype(str).tolist(), strict=True)) == [
        ("r/A/2026-03-01", "2026-03-03"),
        ("r/A/2026-03-01/call", "2026-03-06"),
    ]
    dates = {"customer": ["A"], "birthday": ["1990-03-01"]}
    assert len(agenda([r], dates, asof="2026-03-01")) == 0


events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D"]),
        st.integers(0, 120),
        st.sampled_from(["purchase", "call"]),
        st.sampled_from([1.0, 3.0, 5.0]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows=events_strategy, days=st.integers(1, 40), seed=st.integers(0, 1000))
def test_keys_are_stable_unique_and_independent_of_row_order(rows, days, seed):
    day0 = np.datetime64("2026-01-01", "D")
    events = pd.DataFrame(rows, columns=["customer", "day", "outcome", "rating"])
    events["time"] = (day0 + events.pop("day").to_numpy().astype("timedelta64[D]")).astype(
        "datetime64[us]"
    )
    rules = [
        CareRule(
            "lapse",
            "L",
            touchpoint="T",
            channels=["sms"],
            reentry="always",
            trigger={"kind": "no_purchase", "days": days},
        ),
        CareRule(
            "low",
            "Low",
            touchpoint="T",
            channels=["sms"],
            reentry="always",
            trigger={"kind": "rating", "at_or_below": 3},
        ),
    ]
    kw = dict(asof="2026-06-30", since="2026-01-01")
    a = triggered(rules, events, **kw)
    shuffled = events.sample(frac=1, random_state=seed).reset_index(drop=True)
    b = triggered(rules, shuffled, **kw)
    assert a.key.tolist() == b.key.tolist()
    # one firing per rule, customer and trigger day: keys never repeat
    assert len(set(a.key.tolist())) == len(a)
    triples = list(zip(a.rule.tolist(), a.customer.tolist(), a.anchor.tolist(), strict=True))
    assert len(set(triples)) == len(triples)
    # a window is a slice of the whole: the same keys, split across two runs
    first = triggered(rules, events, asof="2026-03-15", since="2026-01-01")
    second = triggered(rules, events, asof="2026-06-30", since="2026-03-16")
    assert sorted(first.key.tolist() + second.key.tolist()) == sorted(a.key.tolist())


def _blueprint(rule_record):
    return {
        "name": "mini",
        "stages": ["awareness"],
        "touchpoints": [
            {
                "code": "AD",
                "name": "Ad",
                "category": "communication",
                "stage": "awareness",
                "line": "promotion",
                "channels": ["sms"],
            }
        ],
        "care_rules": [rule_record],
    }


@pytest.mark.parametrize(
    ("record", "path", "message", "value"),
    [
        ({"trigger": {"kind": "no_purchase", "days": 0}}, "trigger.days", ">= 1", 0),
        (
            {"trigger": {"kind": "rating", "at_or_below": 2, "days": 3}},
            "trigger.days",
            "applies to no_purchase",
            3,
        ),
        (
            {"trigger": {"kind": "breach", "indicator": "bad code"}},
            "trigger.indicator",
            "code",
            "bad code",
        ),
        (
            {"trigger": {"kind": "no_purchase", "days": 9}, "reentry": "soon"},
            "reentry",
            "'never', 'always'",
            "soon",
        ),
        (
            {"trigger": {"kind": "no_purchase", "days": 9}, "holdout": 0.2},
            "holdout_salt",
            "salt",
            None,
        ),
        (
            {"trigger": {"kind": "no_purchase", "days": 9}, "anchor": "birthday"},
            "anchor",
            "trigger date",
            "birthday",
        ),
        ({"anchor": "birthday", "exit_on": ["purchased"]}, "exit_on", "trigger", ["purchased"]),
    ],
)
def test_bad_reactive_rules_name_the_rule_the_field_and_the_value(record, path, message, value):
    raw = {"code": "wb", "name": "Win back", "touchpoint": "AD", "channels": ["sms"], **record}
    with pytest.raises(BlueprintError) as info:
        blueprint_from_dict(_blueprint(raw))
    [problem] = info.value.problems
    assert problem.path == f"care_rules[0].{path}"
    assert "care rule 'wb'" in problem.message and message in problem.message
    if value is not None:
        assert problem.value == value


def test_unknown_kinds_and_happenings_are_refused_by_the_file_format():
    raw = {
        "code": "wb",
        "name": "W",
        "touchpoint": "AD",
        "channels": ["sms"],
        "trigger": {"kind": "moon_phase"},
        "exit_on": ["moved"],
    }
    with pytest.raises(BlueprintError) as info:
        blueprint_from_dict(_blueprint(raw))
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["care_rules[0].exit_on[0]", "care_rules[0].trigger.kind"]
    values = {p.path: p.value for p in info.value.problems}
    assert values["care_rules[0].trigger.kind"] == "moon_phase"


def test_a_restricted_trigger_rule_fires_for_its_tiers_only():
    gold = CareRule(
        "g",
        "Gold only",
        touchpoint="T",
        channels=["sms"],
        tiers=["gold"],
        trigger={"kind": "rating", "at_or_below": 2},
    )
    events = {"customer": ["A", "B", "C"], "time": ["2026-03-01"] * 3, "rating": [1, 1, 5]}
    people = {"customer": ["A", "B", "C"], "tier": ["gold", "silver", "gold"]}
    due = triggered([gold], events, asof="2026-03-01", customers=people)
    assert due.key.tolist() == ["g/A/2026-03-01"]
    with pytest.raises(ValidationError) as info:
        triggered([gold], events, asof="2026-03-01")
    assert info.value.problems[0].path == "customers" and "'g'" in info.value.problems[0].message
