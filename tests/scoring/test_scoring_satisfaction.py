"""CSAT and NPS against pandas group-bys and scipy's Wilson interval."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from touchpoint.errors import ValidationError
from touchpoint.scoring import csat, nps

TPS = ["MAIL", "CALL", "SHOP"]
STAGE = {"MAIL": "awareness", "CALL": "cooperation", "SHOP": "transaction"}


@st.composite
def rated(draw, top=5, low=1):
    n = draw(st.integers(0, 40))
    tp = draw(st.lists(st.sampled_from(TPS), min_size=n, max_size=n))
    store = draw(st.lists(st.sampled_from(["s1", "s2"]), min_size=n, max_size=n))
    r = draw(st.lists(st.one_of(st.none(), st.integers(low, top)), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "touchpoint": pd.Series(tp, dtype=object),
            "store": pd.Series(store, dtype=object),
            "rating": np.array([np.nan if v is None else v for v in r], dtype=float),
            "time": np.datetime64("2026-01-01", "us") + np.array(days, dtype="timedelta64[D]"),
        }
    )


@given(rated())
def test_csat_by_touchpoint_and_store_matches_pandas(df):
    got = csat(df, by=["touchpoint", "store"]).to_pandas()
    answered = df.dropna(subset=["rating"])
    ref = answered.groupby(["touchpoint", "store"])["rating"].agg(
        responses="size", satisfied=lambda s: (s >= 4).sum(), mean_rating="mean"
    )
    got = got.astype({"touchpoint": object, "store": object}).set_index(["touchpoint", "store"])
    # groups present in the data but without any rating are empty groups
    present = df.groupby(["touchpoint", "store"]).size().index
    assert set(got.index) == set(present)
    for key in present:
        row = got.loc[key]
        if key in ref.index:
            assert row["responses"] == ref.loc[key, "responses"]
            assert row["satisfied"] == ref.loc[key, "satisfied"]
            assert row["mean_rating"] == pytest.approx(ref.loc[key, "mean_rating"])
            ci = binomtest(int(row["satisfied"]), int(row["responses"])).proportion_ci(
                0.95, method="wilson"
            )
            assert row["csat_low"] == pytest.approx(ci.low, abs=1e-9)
            assert row["csat_high"] == pytest.approx(ci.high, abs=1e-9)
        else:
            assert row["responses"] == 0 and np.isnan(row["csat"])


@given(rated())
def test_csat_by_stage_through_blueprint(blueprint, df):
    got = csat(df, by="stage", blueprint=blueprint).to_pandas()
    df = df.assign(stage=df["touchpoint"].map(STAGE)).dropna(subset=["rating"])
    ref = df.groupby("stage")["rating"].apply(lambda s: (s >= 4).mean())
    got = got.astype({"stage": object}).set_index("stage")
    for stage, share in ref.items():
        assert got.loc[stage, "csat"] == pytest.approx(share)


@given(rated(top=10, low=0))
def test_nps_matches_reference_by_month(df):
    got = nps(df, period="month").to_pandas().astype({"period": object})
    scored = df.dropna(subset=["rating"]).assign(
        month=lambda d: d["time"].dt.strftime("%Y-%m"),
        s=lambda d: np.select([d["rating"] >= 9, d["rating"] <= 6], [1.0, -1.0], 0.0),
    )
    for month, s in scored.groupby("month")["s"]:
        row = got.set_index("period").loc[month]
        assert row["nps"] == pytest.approx(100 * s.mean())
        assert row["responses"] == len(s)
        half = 1.959963984540054 * 100 * s.std(ddof=0) / np.sqrt(len(s))
        assert row["nps_low"] == pytest.approx(max(-100, 100 * s.mean() - half), abs=1e-9)
        assert row["nps_high"] == pytest.approx(min(100, 100 * s.mean() + half), abs=1e-9)


def test_nps_hand_worked():
    s = nps({"rating": [10, 10, 9, 8, 7, 6, 0, np.nan]})
    assert s["responses"].tolist() == [7]
    assert s["nps"][0] == pytest.approx(100 * (3 - 2) / 7)
    assert s["passives"].tolist() == [2]


def test_out_of_scale_and_unknown_touchpoint(blueprint):
    with pytest.raises(ValidationError, match=r"rating\[1\].*7"):
        csat({"touchpoint": ["A", "B"], "rating": [5, 7]})
    with pytest.raises(ValidationError, match=r"rating\[0\].*11"):
        nps({"rating": [11]})
    with pytest.raises(ValidationError, match=r"touchpoint.*unknown touchpoint code.*'X9'"):
        csat({"touchpoint": ["SHOP", "X9"], "rating": [5, 4]}, by="stage", blueprint=blueprint)


@given(rated())
def test_periods_match_pandas_calendar(df):
    for period, ref in (
        ("week", lambda t: t.dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d")),
        ("quarter", lambda t: t.dt.to_period("Q").astype(str).str.replace("Q", "-Q")),
        ("year", lambda t: t.dt.strftime("%Y")),
        ("day", lambda t: t.dt.strftime("%Y-%m-%d")),
    ):
        got = csat(df, by=None, period=period).to_pandas()
        expected = df.assign(p=ref(df["time"])).groupby("p")["rating"].count()
        assert (
            dict(zip(got["period"].astype(str), got["responses"], strict=True))
            == expected.to_dict()
        )
