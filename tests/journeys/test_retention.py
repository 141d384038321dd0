"""retention(): the cohort table against pandas periods; lifetimes and their censoring."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.journeys import kaplan_meier, retention

BASE = np.datetime64("2025-11-20T00:00", "us")

events = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 400)),  # customer, day offset
    min_size=1,
    max_size=60,
)


def as_frame(rows):
    return pd.DataFrame(
        {
            "customer": [f"c{r[0]}" for r in rows],
            "time": [BASE + np.timedelta64(r[1] * 26, "h") for r in rows],
        }
    )


def reference_table(df, period, asof):
    """Cohort table with pandas periods (W = weeks ending Sunday, i.e. starting Monday)."""
    df = df[df["time"] <= asof]
    p = pd.PeriodIndex(df["time"], freq=period).asi8
    df = df.assign(p=p)
    cohort = df.groupby("customer")["p"].min()
    df = df.assign(cohort=df["customer"].map(cohort))
    active = df.drop_duplicates(["customer", "p"])
    counts = active.groupby(["cohort", "p"]).size()
    last = pd.PeriodIndex([asof], freq=period).asi8[0]
    rows = []
    for c in sorted(cohort.unique()):
        size = counts.get((c, c), 0)
        for k in range(last - c + 1):
            n = counts.get((c, c + k), 0)
            start = pd.Period(ordinal=c, freq=period).start_time
            rows.append((start.date().isoformat(), k, n, n / size))
    return rows


@pytest.mark.parametrize("period", ["D", "W", "M", "Q", "Y"])
@given(rows=events)
def test_cohort_table_matches_pandas_periods(period, rows):
    df = as_frame(rows)
    got = retention(df, period=period).table
    want = reference_table(df, {"Y": "Y"}.get(period, period), df["time"].max())
    assert (
        list(
            zip(
                got["cohort"].astype(str).tolist(),
                got["offset"].tolist(),
                got["customers"].tolist(),
                got["share"].tolist(),
                strict=True,
            )
        )
        == want
    )


@given(rows=events, cut=st.integers(0, 400), window=st.integers(0, 200))
def test_lifetimes_and_censoring_match_pandas(rows, cut, window):
    df = as_frame(rows)
    asof = BASE + np.timedelta64(cut * 26, "h")
    if (df["time"] > asof).all():
        asof = df["time"].min()
    r = retention(df, asof=asof, inactive_after=window)
    kept = df[df["time"] <= asof]
    g = kept.groupby("customer", sort=False)["time"].agg(["min", "max"])
    lt = r.lifetimes.to_pandas().set_index("customer").loc[g.index]
    assert (lt["first"] == g["min"]).all() and (lt["last"] == g["max"]).all()
    days = (g["max"] - g["min"]) / pd.Timedelta(days=1)
    np.testing.assert_allclose(lt["days"], days)
    assert lt["churned"].tolist() == ((asof - g["max"]) > pd.Timedelta(days=window)).tolist()
    km = kaplan_meier(r.lifetimes["days"], r.lifetimes["churned"])
    assert r.survival == km


def test_a_hand_computed_table_with_an_asof_before_the_last_event():
    df = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "b", "b", "c"],
            "time": pd.to_datetime(
                ["2026-01-10", "2026-01-20", "2026-03-02", "2026-02-01", "2026-05-01", "2026-02-14"]
            ),
        }
    )
    r = retention(df, period="M", asof="2026-03-31")
    t = r.table
    assert t["cohort"].astype(str).tolist() == ["2026-01-01"] * 3 + ["2026-02-01"] * 2
    assert t["offset"].tolist() == [0, 1, 2, 0, 1]
    assert t["customers"].tolist() == [1, 0, 1, 2, 0]
    assert t["share"].tolist() == [1.0, 0.0, 1.0, 1.0, 0.0]
    # b's May event is after asof: b is seen once, on Feb 1, 58 days before asof
    lt = r.lifetimes
    assert lt["churned"].tolist() == [False, False, False]  # all within 90 days
    assert lt["days"].tolist() == [51.0, 0.0, 0.0]


def test_bad_arguments_are_named():
    df = {"customer": [1], "time": ["2026-01-01"]}
    with pytest.raises(ValidationError, match="period"):
        retention(df, period="month")
    with pytest.raises(ValidationError, match="inactive_after"):
        retention(df, inactive_after=-1)
    with pytest.raises(ValidationError, match=r"customer\[1\]"):
        retention({"customer": [1, None], "time": ["2026-01-01", "2026-01-02"]})
