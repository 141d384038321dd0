"""Indicator compliance on a Dask cluster equals the in-memory report.

The summary is a reduction of the partitions' summaries and must equal the in-memory
one (counts exactly); the breaches, with ``row`` the position in the whole input, must
be the in-memory breaches. The data is a synthetic base of a template that has every
kind of indicator, including count indicators over per-customer windows.
"""

from __future__ import annotations

import pandas as pd
import pytest
from daskdata import cut_points, partitioned
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint import templates
from touchpoint.demo import synthetic_base
from touchpoint.errors import ValidationError
from touchpoint.model import IndicatorKind
from touchpoint.scoring import compliance

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)

CLUSTER = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def hotel_events(customers: int, seed: int) -> pd.DataFrame:
    """The budget hotel's synthetic events as plain columns, in time order."""
    ev = synthetic_base(templates.load("budget-hotel"), customers=customers, seed=seed).events
    return pd.DataFrame({name: ev[name] for name in ev.columns})


@pytest.fixture(scope="module")
def blueprint():
    bp = templates.load("budget-hotel")
    assert {ind.kind for _, ind in bp.indicators()} == set(IndicatorKind)
    return bp


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return hotel_events(300, seed=3)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return hotel_events(30, seed=4)


def check(ddf, df, blueprint, **kw):
    got = compliance(ddf, blueprint, **kw)
    want = compliance(df, blueprint, **kw)
    labels = [kw["by"]] if isinstance(kw.get("by"), str) else list(kw.get("by", ()))
    labels += ["period"] if kw.get("period") else []
    summary, want_summary = got.summary.to_pandas(), want.summary.to_pandas()
    if labels:  # in memory, groups come in order of first appearance; on Dask, sorted
        key = ["touchpoint", "indicator", *labels]
        summary = summary.sort_values(key, ignore_index=True)
        want_summary = want_summary.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(summary, want_summary, check_exact=False, rtol=1e-12)
    for name in ("events", "cases", "met", "breaches"):
        assert (summary[name].to_numpy() == want_summary[name].to_numpy()).all(), name
    breaches = got.breaches.compute()
    want_breaches = want.breaches.to_pandas()
    want_breaches["customer"] = want_breaches["customer"].astype(
        want_breaches["customer"].cat.categories.dtype
    )
    key = ["row", "touchpoint", "indicator"]
    pd.testing.assert_frame_equal(
        breaches.sort_values(key, ignore_index=True),
        want_breaches.sort_values(key, ignore_index=True),
        check_dtype=len(want_breaches) > 0,  # in memory, no customer ids at all are object
    )
    return got, want


def test_compliance_equals_in_memory(client, events, blueprint):
    got, want = check(partitioned(events, npartitions=5), events, blueprint)
    # without groups the summary is in blueprint order, as in memory
    assert got.summary["indicator"].tolist() == want.summary["indicator"].tolist()
    assert (want.summary["breaches"] > 0).any()
    kinds = set(want.summary["kind"][want.summary["cases"] > 0])
    assert kinds == {k.value for k in IndicatorKind}


def test_compliance_by_store_and_month(client, events, blueprint):
    check(partitioned(events, npartitions=4), events, blueprint, by="store", period="month")
    check(partitioned(events, npartitions=3), events, blueprint, by=["store", "staff"])


def test_count_indicators_judged_at_a_given_asof(client, events, blueprint):
    check(partitioned(events, npartitions=3), events, blueprint, asof="2025-01-01")


@CLUSTER
@given(data=st.data())
def test_compliance_whatever_the_partitions(client, small, blueprint, data):
    cuts = data.draw(cut_points(len(small)))
    check(partitioned(small, cuts), small, blueprint, by="store")


def test_no_events_at_all(client, small, blueprint):
    empty = small.iloc[:0]
    check(partitioned(empty, [0, 0]), empty, blueprint)


def test_missing_column_and_unknown_code(client, small, blueprint):
    with pytest.raises(ValidationError, match="resp"):
        compliance(partitioned(small), blueprint, response_time="resp")
    with pytest.raises(ValidationError, match="branch"):
        compliance(partitioned(small), blueprint, by="branch")
    bad = small.copy()
    row = len(bad) // 2 + 3
    bad.loc[row, "touchpoint"] = "NOPE"
    with pytest.raises(ValidationError, match=r"unknown touchpoint code.*'NOPE'"):
        compliance(partitioned(bad, npartitions=4), blueprint)
    bad.loc[row, "touchpoint"] = None
    with pytest.raises(ValidationError, match=rf"touchpoint\[{row}\].*missing"):
        compliance(partitioned(bad, npartitions=4), blueprint)
    got = compliance(partitioned(bad, npartitions=4), blueprint, strict=False)
    want = compliance(bad, blueprint, strict=False)
    pd.testing.assert_frame_equal(got.summary.to_pandas(), want.summary.to_pandas())
