"""The loyalty programme on a Dask cluster equals the in-memory score.

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
from touchpoint.scoring import loyalty_programme

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
