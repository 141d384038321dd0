"""Satisfied-but-defecting and the loyalty programme on a Dask cluster equal the
in-memory scores (churn risk: test_scale_clv.py).

The same pandas events are scored in memory and as a Dask DataFrame on a real
two-process LocalCluster, cut into partitions in chosen places (empty ones, customers
spread over several); counts, dates and tiers must be equal, float sums within 1e-12.
"""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest
from daskdata import cut_points, partitioned, same_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint import templates
from touchpoint.demo import synthetic_base
from touchpoint.errors import ValidationError
from touchpoint.scoring import loyalty_programme, satisfied_but_defecting

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)

CLUSTER = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FLOAT = {"check_exact": False, "rtol": 1e-12}


def hotel_events(customers: int, seed: int) -> pd.DataFrame:
    """The budget hotel's synthetic events as plain columns, in time order, plus
    redemptions: a day after every third purchase, half its points are spent."""
    ev = synthetic_base(templates.load("budget-hotel"), customers=customers, seed=seed).events
    df = pd.DataFrame({name: ev[name] for name in ev.columns})
    df["points"] = np.nan
    bought = df[df["outcome"] == "purchase"].iloc[::3]
    spent = bought.assign(
        time=bought["time"] + pd.Timedelta(days=1),
        outcome="redeem",
        points=bought["amount"] * 0.5,
        amount=np.nan,
        event_id=bought["event_id"] + 1_000_000,
    )
    out = pd.concat([df, spent], ignore_index=True)
    return out.sort_values("time", kind="stable", ignore_index=True)


@pytest.fixture(scope="module")
def programme():
    return templates.load("budget-hotel").loyalty


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return hotel_events(300, seed=5)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return hotel_events(40, seed=6)


def in_memory(df, programme, **kw):
    r = loyalty_programme(df, programme, **kw)
    trans = r.transitions.to_pandas()
    trans["customer"] = trans["customer"].astype(trans["customer"].cat.categories.dtype)
    return r, r.balances.to_pandas(), trans


def check_programme(ddf, df, programme, **kw):
    r = loyalty_programme(ddf, programme, **kw)
    balances, transitions = dask.compute(r.balances, r.transitions)
    want, want_balances, want_transitions = in_memory(df, programme, **kw)
    same_rows(balances, want_balances, **FLOAT)
    key = ["customer", "time"]
    pd.testing.assert_frame_equal(
        transitions.sort_values(key, ignore_index=True),
        want_transitions.sort_values(key, ignore_index=True),
    )
    assert list(r.tier_names) == list(want.tier_names)
    return r, want


def bursty_buyers(customers: int, seed: int) -> pd.DataFrame:
    """Purchases whose rate varies from month to month (gamma, cv 0.5) for 15 months, and
    one 1-5 rating per customer: data on which satisfied_but_defecting estimates a rate_cv."""
    rng = np.random.default_rng(seed)
    end = np.datetime64("2026-06-30", "us")
    day = np.timedelta64(86_400_000_000, "us")
    rate = rng.uniform(2, 12, customers) / 30  # purchases a day
    wobble = rng.gamma(4.0, 0.25, (customers, 15))  # month by month
    counts = rng.poisson(rate[:, None] * wobble * 30)
    who = np.repeat(np.repeat(np.arange(customers), 15), counts.ravel())
    month = np.repeat(np.tile(np.arange(15), customers), counts.ravel())
    at = end - (15 - month) * 30 * day + (rng.random(len(who)) * 30 * day).astype(np.int64)
    ids = np.array([f"C{i:04d}" for i in range(customers)], dtype=object)
    df = pd.DataFrame(
        {
            "customer": np.r_[ids[who], ids],
            "time": np.r_[at, np.full(customers, end)],
            "outcome": ["purchase"] * len(who) + ["survey"] * customers,
            "rating": np.r_[np.full(len(who), np.nan), rng.integers(1, 6, customers)],
        }
    )
    return df.sort_values("time", kind="stable", ignore_index=True)


@pytest.fixture(scope="module")
def bursty() -> pd.DataFrame:
    return bursty_buyers(120, seed=8)


def test_satisfied_but_defecting_equals_in_memory(client, events, bursty):
    want = satisfied_but_defecting(bursty).to_pandas()
    assert 0.1 < want["rate_cv"][0] < 0.5  # estimated, the same for everyone
    got = satisfied_but_defecting(partitioned(bursty, npartitions=4)).compute()
    same_rows(got, want, **FLOAT)
    hotel = templates.load("budget-hotel")  # its rating indicators give each rating's scale
    kw = {"blueprint": hotel, "period": "60 days", "alpha": 0.1, "rate_cv": 0.2}
    got = satisfied_but_defecting(partitioned(events, npartitions=3), **kw).compute()
    want = satisfied_but_defecting(events, **kw).to_pandas()
    assert want["previous"].sum() > 0 and want["ratings"].sum() > 0
    same_rows(got, want, **FLOAT)


@settings(CLUSTER, max_examples=4)
@given(data=st.data())
def test_satisfied_but_defecting_whatever_the_partitions(client, bursty, data):
    cuts = data.draw(cut_points(len(bursty)))
    got = satisfied_but_defecting(partitioned(bursty, cuts), period="60 days").compute()
    same_rows(got, satisfied_but_defecting(bursty, period="60 days").to_pandas(), **FLOAT)


def test_satisfied_but_defecting_names_bad_input(client, small):
    with pytest.raises(ValidationError, match="stars"):
        satisfied_but_defecting(partitioned(small), rating="stars")
    bad = small.copy()
    row = int(np.flatnonzero(bad["rating"].notna())[-1])
    bad.loc[row, "rating"] = 7.0
    lazy = satisfied_but_defecting(partitioned(bad, npartitions=3))  # raises when computed
    with pytest.raises(ValidationError, match=r"rating\[\d+\].*outside.*1-5"):
        lazy.compute()


def test_programme_equals_in_memory(client, events, programme):
    assert (events["outcome"] == "redeem").any()
    r, want = check_programme(partitioned(events, npartitions=4), events, programme)
    for when in ("2024-06-01", "2026-01-01"):
        got = r.tier_at(when).compute()
        same_rows(got, want.tier_at(when).to_pandas())
    # an earlier asof leaves later events out, in every partition alike
    check_programme(partitioned(events, npartitions=3), events, programme, asof="2025-03-15")


@CLUSTER
@given(data=st.data())
def test_programme_whatever_the_partitions(client, small, programme, data):
    cuts = data.draw(cut_points(len(small)))
    check_programme(partitioned(small, cuts), small, programme)


def test_missing_columns_are_named(client, small, programme):
    ddf = partitioned(small)
    with pytest.raises(ValidationError, match="paid"):
        loyalty_programme(ddf, programme, amount="paid")


def test_a_bad_row_is_named_by_its_place_in_the_input(client, small, programme):
    bad = small.copy()
    row = len(bad) - 7
    bad.loc[row, "amount"] = -5.0
    with pytest.raises(ValidationError, match=rf"amount\[{row}\].*must not be negative"):
        loyalty_programme(bad, programme)
    lazy = loyalty_programme(partitioned(bad, npartitions=4), programme)  # raises when computed
    with pytest.raises(ValidationError, match=rf"amount\[{row}\].*must not be negative"):
        dask.compute(lazy.balances, lazy.transitions)
