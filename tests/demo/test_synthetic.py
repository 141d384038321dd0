"""The synthetic base is deterministic and shaped like a company's data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint import Stage, templates
from touchpoint.demo import synthetic_base


@pytest.fixture(scope="module", params=templates.names())
def base(request):
    return synthetic_base(templates.load(request.param), customers=500, seed=7)


def test_same_seed_same_data():
    bp = templates.load("b2b-marketing")
    a, b = synthetic_base(bp, customers=300, seed=3), synthetic_base(bp, customers=300, seed=3)
    assert a.events == b.events
    for k in a.customers:
        assert np.array_equal(
            a.customers[k], b.customers[k], equal_nan=a.customers[k].dtype.kind in "fM"
        ), k
    assert synthetic_base(bp, customers=300, seed=4).events != a.events


def test_events_are_in_time_order_within_the_period(base):
    times = base.events["time"]
    assert (np.diff(times) >= np.timedelta64(0)).all()
    assert times.max() <= np.datetime64("2026-11-24")
    assert len(np.unique(base.events["event_id"])) == len(base.events)


def test_customer_journeys_never_go_back_a_stage(base):
    e = base.events
    # Leave out audits (mystery shoppers) and the touchpoints follow-up calls are made at.
    followed = {
        c
        for tp, i in base.blueprint.indicators()
        for c in (i.counts or (tp.code,))
        if i.kind.value == "count"
    }
    real = e.codes("customer") < len(base.customers["customer"])
    main = real & ~np.isin(e["touchpoint"], list(followed))
    # The win-back experiment's customers buy again in its quarter: a return to the
    # transaction stage after their journey, by design (their events from then on).
    w = base.story["winback"]
    again = np.isin(e["customer"], w["customers"]) & (e["time"] >= np.datetime64(w["start"], "us"))
    # and the rule's contacts (at a touchpoint of the last stage) came after their journey
    contact = np.isin(e["customer"], w["customers"]) & (e["touchpoint"] == w["touchpoint"])
    main &= ~again & ~contact
    rank = {tp.code: tp.stage.rank for tp in base.blueprint.touchpoints}
    stages = np.array([rank[c] for c in e["touchpoint"][main]])
    who = e.codes("customer")[main]
    order = np.lexsort((e["time"][main].astype(np.int64), who))
    who, stages = who[order], stages[order]
    same = who[1:] == who[:-1]
    assert same.any()
    assert (stages[1:][same] >= stages[:-1][same]).all()


def test_purchases_only_at_purchase_touchpoints_with_positive_amounts(base):
    e = base.events
    bought = e["outcome"] == "purchase"
    assert bought.any()
    assert (e["amount"][bought] > 0).all() and np.isnan(e["amount"][~bought]).all()
    stages = {tp.code: tp.stage for tp in base.blueprint.touchpoints}
    bought_stages = {stages[c] for c in np.unique(e["touchpoint"][bought])}
    assert bought_stages <= {Stage.TRANSACTION, max(base.blueprint.stages)}
    # The customers table's first purchase date is the first purchase event's day.
    first = {}
    for c, t in zip(e["customer"][bought], e["time"][bought], strict=True):
        first.setdefault(c, t)
    cust = base.customers
    for i in range(0, len(cust["customer"]), 37):
        want = first.get(cust["customer"][i])
        got = cust["purchase"][i]
        assert (np.isnat(got) and want is None) or got == want.astype("datetime64[D]")


def test_audits_follow_the_checklist_and_complaints_time_order(base):
    e = base.events
    audit = e.codes("indicator") >= 0
    checklist = {
        (tp.code, i.code) for tp, i in base.blueprint.indicators() if i.kind.value == "checklist"
    }
    assert {
        (t, i) for t, i in zip(e["touchpoint"][audit], e["indicator"][audit], strict=True)
    } <= checklist
    assert set(np.unique(e["outcome"][audit])) <= {"pass", "fail"}
    k = base.complaints
    answered = ~np.isnat(k["first_response_at"])
    assert (k["first_response_at"][answered] >= k["opened_at"][answered]).all()
    resolved = ~np.isnat(k["resolved_at"])
    assert (k["resolved_at"][resolved] >= k["first_response_at"][resolved]).all()


def test_referrers_are_earlier_customers(base):
    cust = base.customers
    referred = np.flatnonzero(cust["referrer"] != None)  # noqa: E711 - elementwise
    position = {c: i for i, c in enumerate(cust["customer"])}
    assert all(position[cust["referrer"][i]] < i for i in referred)


def test_categories_are_distinct_so_the_events_convert_to_pandas(base) -> None:
    for name, cats in base.events.categories.items():
        assert len(set(cats.tolist())) == len(cats), name
    df = base.events.to_pandas()
    assert len(df) == len(base.events)
    assert df["indicator"].dropna().isin([i.code for _, i in base.blueprint.indicators()]).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(10**17), 10**17), min_size=0, max_size=50))
def test_month_of_year_equals_numpys_calendar(micros) -> None:
    from touchpoint.demo._synthetic import _month_of_year

    t = np.array(micros, dtype=np.int64).view("datetime64[us]")
    expected = t.astype("datetime64[M]").astype(np.int64) % 12
    assert _month_of_year(t).tolist() == expected.tolist()
