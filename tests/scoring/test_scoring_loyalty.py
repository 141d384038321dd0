"""Loyalty index and satisfied-but-defecting against pandas references."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scoring import loyalty_index, percentile_rank, satisfied_but_defecting

T0 = pd.Timestamp("2026-01-01")
ASOF = pd.Timestamp("2026-12-31")


@st.composite
def history(draw, with_rating=False):
    n = draw(st.integers(1, 40))

    def col(s):
        return draw(st.lists(s, min_size=n, max_size=n))

    df = pd.DataFrame(
        {
            "customer": pd.Series(col(st.sampled_from(["a", "b", "c", "d"])), dtype=object),
            "time": T0 + pd.to_timedelta(col(st.integers(0, 400)), unit="D"),
            "amount": np.array(col(st.sampled_from([0.0, 0.0, 10.0, 25.0, np.nan])), dtype=float),
            "referrer": pd.Series(col(st.sampled_from([None, None, "a", "b", "x"])), dtype=object),
            "promo": col(st.booleans()),
        }
    )
    if with_rating:
        df["rating"] = np.array(col(st.sampled_from([np.nan, 2.0, 4.0, 5.0])), dtype=float)
    return df


def ref_rhythm(df, asof):
    buys = df[(df["amount"] > 0) & (df["time"] <= asof)]
    g = buys.groupby("customer")["time"]
    out = pd.DataFrame({"n": g.size(), "first": g.min(), "last": g.max()})
    out["rhythm"] = (out["last"] - out["first"]).dt.total_seconds() / 86400 / (out["n"] - 1)
    out.loc[(out["n"] < 2) | (out["rhythm"] <= 0), "rhythm"] = np.nan
    out["recency"] = (asof - out["last"]).dt.total_seconds() / 86400
    return out


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=30), st.booleans())
def test_percentile_rank_matches_pandas_average_rank(values, higher):
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    s = pd.Series(v if higher else -v)
    n = s.notna().sum()
    expected = (s.rank(method="average") - 1) / (n - 1) if n > 1 else s.where(s.isna(), 0.5)
    np.testing.assert_allclose(
        percentile_rank(v, higher_is_better=higher), expected, equal_nan=True
    )


@given(history())
def test_loyalty_index_matches_pandas(df):
    got = loyalty_index(df, asof=ASOF).to_pandas().set_index("customer")
    d = df[df["time"] <= ASOF]
    customers = sorted(df["customer"].unique())
    buys = d[d["amount"] > 0]
    n = buys.groupby("customer").size().reindex(customers, fill_value=0)
    repeat = (n - 1).clip(lower=0)
    first_ref = (
        d.dropna(subset=["referrer"])
        .sort_values("time", kind="stable")
        .groupby("customer")["referrer"]
        .first()
    )
    referred = first_ref.value_counts().reindex(customers, fill_value=0)
    promo = buys.groupby("customer")["promo"].mean().reindex(customers)
    choose = (
        (
            buys.groupby("customer")["time"].min() - d.groupby("customer")["time"].min()
        ).dt.total_seconds()
        / 86400
    ).reindex(customers)

    def prank(s, higher=True):
        s = s.astype(float) if higher else -s.astype(float)
        k = s.notna().sum()
        return (s.rank(method="average") - 1) / (k - 1) if k > 1 else s.where(s.isna(), 0.5)

    parts = pd.DataFrame(
        {
            "repeat": prank(repeat),
            "recommend": prank(referred),
            "price": prank(promo, False),
            "choose": prank(choose, False),
        }
    )
    expected = 100 * parts.mean(axis=1, skipna=True)
    np.testing.assert_array_equal(got.loc[customers, "repeat"], repeat)
    np.testing.assert_array_equal(got.loc[customers, "referred"], referred)
    np.testing.assert_allclose(got.loc[customers, "loyalty_index"], expected, rtol=1e-12)


def test_loyalty_index_without_optional_columns_uses_what_there_is():
    ev = {
        "customer": ["a", "a", "b"],
        "time": ["2026-01-01", "2026-02-01", "2026-01-01"],
        "amount": [1.0, 2.0, 3.0],
    }
    li = loyalty_index(ev)
    assert "referred" not in li and "promo_share" not in li
    # a: repeat best (1.0), choose tie (0.5) -> 75; b: 0 and 0.5 -> 25
    assert li["loyalty_index"].tolist() == [75.0, 25.0]


@given(history(with_rating=True))
def test_satisfied_but_defecting_matches_reference(df):
    got = satisfied_but_defecting(df, asof=ASOF, period="90 days").to_pandas().set_index("customer")
    d = df[df["time"] <= ASOF]
    buys = d[d["amount"] > 0]
    recent = buys[buys["time"] > ASOF - pd.Timedelta(days=90)].groupby("customer").size()
    prev = buys[
        (buys["time"] > ASOF - pd.Timedelta(days=180))
        & (buys["time"] <= ASOF - pd.Timedelta(days=90))
    ]
    prev = prev.groupby("customer").size()
    rhythm = ref_rhythm(df, ASOF)
    mean_rating = d.dropna(subset=["rating"]).groupby("customer")["rating"].mean()
    for c, row in got.iterrows():
        r, p = recent.get(c, 0), prev.get(c, 0)
        late = rhythm["recency"].get(c, np.nan) / rhythm["rhythm"].get(c, np.nan)
        falling = (p > 0 and r <= 0.5 * p) or (late > 2)
        happy = mean_rating.get(c, np.nan) >= 4
        assert (row["recent"], row["previous"]) == (r, p)
        assert row["falling"] == falling and row["satisfied"] == happy
        assert row["satisfied_but_defecting"] == (happy and falling)


def test_negative_amount_and_missing_rating_column():
    with pytest.raises(ValidationError, match="rating"):
        satisfied_but_defecting({"customer": ["a"], "time": ["2026-01-01"], "amount": [1.0]})
