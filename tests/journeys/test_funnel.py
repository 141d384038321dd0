"""funnel(): ordered first reach per stage, against a plain pandas reference."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import EventFrame, Stage
from touchpoint.errors import ValidationError
from touchpoint.journeys import funnel
from touchpoint.templates import load

STAGES = ["awareness", "consultation", "experience", "transaction", "cooperation"]
DAY = np.timedelta64(1, "D")
BASE = np.datetime64("2026-01-01T00:00", "us")

events = st.lists(
    st.tuples(
        st.integers(0, 6),  # customer
        st.integers(0, 60),  # hour offset (ties happen)
        st.sampled_from([*STAGES, "other", None]),
        st.sampled_from(["s1", "s2", "s3"]),  # store
    ),
    min_size=1,
    max_size=50,
)


def as_frame(rows):
    return pd.DataFrame(
        {
            "customer": [f"c{r[0]}" for r in rows],
            "time": [BASE + np.timedelta64(r[1] * 11, "h") for r in rows],
            "stage": [r[2] for r in rows],
            "store": [r[3] for r in rows],
        }
    )


def reference(df, stages, by=None):
    """Per customer (a Python loop): walk the stages, first event at or after the last reach."""
    df = df.reset_index(drop=True).assign(row=lambda d: np.arange(len(d)))
    df = df.sort_values(["customer", "time", "row"], kind="stable")
    reach, group = {}, {}
    for cust, mine in df.groupby("customer", sort=False):
        times, last = [], None
        for k, s in enumerate(stages):
            hit = mine[(mine["stage"] == s) & ((mine["time"] >= last) if k else True)]
            if hit.empty:
                break
            last = hit["time"].iloc[0]
            times.append(last)
            if k == 0 and by is not None:
                group[cust] = hit[by].iloc[0]
        if times:
            reach[cust] = times
    keys = sorted(set(group.values())) if by is not None else [None]
    rows = []
    for g in keys:
        members = [c for c in reach if by is None or group[c] == g]
        counts = [sum(len(reach[c]) > k for c in members) for k in range(len(stages))]
        for k, s in enumerate(stages):
            deltas = [
                (reach[c][k] - reach[c][k - 1]) / pd.Timedelta(days=1)
                for c in members
                if k and len(reach[c]) > k
            ]
            rows.append(
                {
                    "group": g,
                    "stage": s,
                    "customers": counts[k],
                    "conversion": counts[k] / counts[k - 1] if k and counts[k - 1] else np.nan,
                    "share": counts[k] / counts[0] if counts[0] else np.nan,
                    "median_days": float(np.median(deltas)) if deltas else np.nan,
                }
            )
    columns = ["group", "stage", "customers", "conversion", "share", "median_days"]
    return pd.DataFrame(rows, columns=columns)


def check(got, want, by=None):
    g = got.to_pandas()
    assert g["stage"].tolist() == want["stage"].tolist()
    if by is not None:
        assert g[by].tolist() == want["group"].tolist()
    assert g["customers"].tolist() == want["customers"].tolist()
    for col in ("conversion", "share", "median_days"):
        np.testing.assert_allclose(
            g[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, atol=1e-9
        )


@given(events)
def test_funnel_matches_a_pandas_walk_over_each_customer(rows):
    df = as_frame(rows)
    check(funnel(df), reference(df, STAGES))


@given(events, st.permutations(STAGES).map(lambda s: s[:3]))
def test_a_custom_stage_list_ignores_the_other_stages(rows, stages):
    df = as_frame(rows)
    check(funnel(df, stages=stages), reference(df, stages))


@given(events)
def test_by_store_puts_each_customer_in_the_store_of_their_entry_event(rows):
    df = as_frame(rows)
    want = reference(df, STAGES, by="store")
    got = funnel(df, by="store")
    check(got, want, by="store")
    # each group's first-stage customers add up to the whole funnel's
    assert (
        got.to_pandas().query("stage == 'awareness'")["customers"].sum()
        == (funnel(df)["customers"][0])
    )


def test_stage_order_is_required_a_later_stage_before_an_earlier_one_does_not_count():
    df = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "b"],
            "time": pd.to_datetime(["2026-01-05", "2026-01-01", "2026-01-09", "2026-01-01"]),
            "stage": ["consultation", "experience", "experience", "experience"],
        }
    )
    f = funnel(df, stages=["consultation", "experience"])
    # a reaches experience on the 9th (the 1st is before consultation); b never consults
    assert f["customers"].tolist() == [1, 1]
    assert f["median_days"].tolist()[1] == 4.0


def test_an_event_at_the_same_time_as_the_previous_reach_counts():
    t = pd.Timestamp("2026-02-01 10:00")
    df = pd.DataFrame({"customer": [1, 1], "time": [t, t], "stage": ["experience", "consultation"]})
    f = funnel(df, stages=["consultation", "experience"])
    assert f["customers"].tolist() == [1, 1]
    assert f["median_days"].tolist()[1] == 0.0


def test_period_groups_by_the_month_of_entry_and_combines_with_by():
    df = pd.DataFrame(
        {
            "customer": ["a", "a", "b", "c"],
            "time": pd.to_datetime(
                ["2026-01-31 23:00", "2026-02-03 00:00", "2026-02-01 00:00", "2026-02-02 00:00"]
            ),
            "stage": ["awareness", "consultation", "awareness", "awareness"],
            "store": ["x", "x", "x", "y"],
        }
    )
    f = funnel(df, stages=["awareness", "consultation"], period="M").to_pandas()
    assert f["period"].astype(str).tolist() == ["2026-01-01"] * 2 + ["2026-02-01"] * 2
    assert f["customers"].tolist() == [1, 1, 2, 0]
    g = funnel(df, stages=["awareness", "consultation"], by="store", period="M").to_pandas()
    assert list(zip(g["store"], g["period"].astype(str), g["customers"], strict=True)) == [
        ("x", "2026-01-01", 1),
        ("x", "2026-01-01", 1),
        ("x", "2026-02-01", 1),
        ("x", "2026-02-01", 0),
        ("y", "2026-02-01", 1),
        ("y", "2026-02-01", 0),
    ]


def test_a_blueprint_maps_touchpoints_to_stages_when_there_is_no_stage_column():
    bp = load("car-dealership")
    by_stage = {s: [tp.code for tp in bp.by_stage(s)] for s in bp.stages}
    codes = [by_stage[Stage.AWARENESS][0], by_stage[Stage.CONSULTATION][0]]
    data = {
        "customer": [1, 1, 2, 2],
        "time": ["2026-03-01", "2026-03-04", "2026-03-02", "2026-03-01"],
        "touchpoint": [codes[0], codes[1], codes[0], codes[1]],
    }
    with_stage = dict(data, stage=["awareness", "consultation", "awareness", "consultation"])
    got = funnel(data, blueprint=bp)
    assert got["stage"].tolist() == [s.value for s in bp.stages]
    assert got == funnel(with_stage, stages=bp.stages)
    assert got["customers"].tolist()[:2] == [2, 1]


def test_unknown_touchpoint_and_missing_stage_source_are_named():
    bp = load("car-dealership")
    with pytest.raises(ValidationError, match=r"touchpoint\[1\].*unknown touchpoint code"):
        funnel(
            {
                "customer": [1, 1],
                "time": ["2026-01-01", "2026-01-02"],
                "touchpoint": [bp.touchpoints[0].code, "NOPE"],
            },
            blueprint=bp,
        )
    with pytest.raises(ValidationError, match="stage"):
        funnel({"customer": [1], "time": ["2026-01-01"], "touchpoint": ["x"]})
    with pytest.raises(ValidationError, match=r"stages\[1\].*twice"):
        funnel(
            {"customer": [1], "time": ["2026-01-01"], "stage": ["awareness"]},
            stages=["awareness", "awareness"],
        )
    with pytest.raises(ValidationError, match=r"time\[1\]"):
        funnel({"customer": [1, 2], "time": ["2026-01-01", None], "stage": ["awareness"] * 2})
    with pytest.raises(ValidationError, match="period"):
        funnel(
            {"customer": [1], "time": ["2026-01-01"], "stage": ["awareness"]}, period="fortnight"
        )


def test_input_kinds_agree():
    rows = [(0, 1, "awareness", "s1"), (0, 5, "consultation", "s2"), (1, 2, "awareness", "s1")]
    df = as_frame(rows)
    want = funnel(df)
    assert funnel(pl.from_pandas(df)) == want
    assert funnel({c: df[c].tolist() for c in df}) == want
    assert funnel(EventFrame.from_data(df, stage="stage", store="store")) == want
