"""Referral metrics against a recursive Python reference, and churn kinds."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scoring import churn_kinds, churn_summary, referral


@st.composite
def forests(draw):
    n = draw(st.integers(1, 25))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    names = [f"c{i:02d}" for i in range(n)]
    perm = draw(st.permutations(range(n)))
    rows = []
    for i in perm:  # rows in any order; a customer may have several events
        for _ in range(draw(st.integers(1, 2))):
            rows.append(
                (
                    names[i],
                    None if parents[i] is None else names[parents[i]],
                    draw(st.sampled_from([0.0, 5.0, 12.5, np.nan])),
                )
            )
    return rows


def reference(rows):
    parent = {c: p for c, p, _ in rows}
    for c, p, _ in rows:
        parent[c] = parent[c] or p
    revenue = {}
    for c, _, a in rows:
        revenue[c] = revenue.get(c, 0.0) + (0.0 if np.isnan(a) else a)
    children = {}
    for c, p in parent.items():
        if p is not None:
            children.setdefault(p, []).append(c)

    def down(c):
        kids = children.get(c, [])
        net = sum(1 + down(k)[0] for k in kids)
        rev = sum(revenue[k] + down(k)[1] for k in kids)
        h = max((1 + down(k)[2] for k in kids), default=0)
        return net, rev, h

    def gen(c):
        return 0 if parent[c] is None else 1 + gen(parent[c])

    return {
        c: (
            parent[c],
            gen(c),
            len(children.get(c, [])),
            sum(revenue[k] for k in children.get(c, [])),
            *down(c),
            revenue[c],
        )
        for c in parent
    }


@given(forests())
def test_referral_matches_recursive_reference(rows):
    data = {
        "customer": [r[0] for r in rows],
        "referrer": [r[1] for r in rows],
        "amount": [r[2] for r in rows],
    }
    got = referral(data, time=None)
    ref = reference(rows)
    assert sorted(got["customer"].tolist()) == sorted(ref)
    cols = [
        "referrer",
        "generation",
        "referred",
        "referred_revenue",
        "network",
        "network_revenue",
        "height",
        "revenue",
    ]
    for i, c in enumerate(got["customer"].tolist()):
        values = tuple(got[k][i] for k in cols)
        assert values[0] == ref[c][0]
        assert values[1:] == pytest.approx(ref[c][1:])


def test_referrer_without_events_and_earliest_referrer_wins():
    data = {
        "customer": ["b", "b", "c"],
        "referrer": ["z", "a", "b"],
        "amount": [1.0, 2.0, 4.0],
        "time": ["2026-02-01", "2026-01-01", "2026-03-01"],
    }
    r = referral(data).to_pandas().astype({"customer": object}).set_index("customer")
    assert r.loc["b", "referrer"] == "a"  # the earliest event naming a referrer
    assert (
        r.loc["a", "network"] == 2
        and r.loc["a", "network_revenue"] == 7.0
        and r.loc["a", "height"] == 2
    )
    assert r.loc["z", "referred"] == 0


def test_cycles_and_self_referral_raise():
    with pytest.raises(ValidationError, match="cycle"):
        referral({"customer": ["a", "b"], "referrer": ["b", "a"]})
    with pytest.raises(ValidationError, match=r"referrer.*themselves.*'a'"):
        referral({"customer": ["a"], "referrer": ["a"]})


def test_churn_kinds_latest_reason_and_mapping():
    ev = pd.DataFrame(
        {
            "customer": ["a", "a", "b", "c", "d", "e"],
            "reason": ["Competitor offer", "Complaint unresolved", "FRAUD", "natural", "??", None],
            "time": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01"]
            ),
        }
    )
    k = churn_kinds(ev)
    assert k["kind"].tolist() == ["negligence", "malicious", "natural", "other", "none"]
    assert k["reason"].tolist()[0] == "Complaint unresolved"
    assert k["churned_at"][0] == np.datetime64("2026-02-01")
    custom = churn_kinds(ev, reasons={"??": "competitive"})
    assert custom["kind"].tolist()[3] == "competitive"
    s = churn_summary(k)
    assert dict(zip(s["kind"], s["customers"], strict=True)) == {
        "natural": 1,
        "malicious": 1,
        "competitive": 0,
        "negligence": 1,
        "other": 1,
    }
    assert s["share"].sum() == pytest.approx(1.0)
