"""Churn risk and percentile ranks against pandas references."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scoring import churn_risk, percentile_rank, satisfied_but_defecting

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


@given(history())
def test_churn_risk_matches_pandas(df):
    got = churn_risk(df, asof=ASOF).to_pandas().set_index("customer")
    ref = ref_rhythm(df, ASOF)
    for c, row in got.iterrows():
        if c not in ref.index:
            assert row["purchases"] == 0 and row["level"] == "none" and np.isnan(row["risk"])
            continue
        r = ref.loc[c]
        assert row["purchases"] == r["n"]
        np.testing.assert_allclose(row["rhythm"], r["rhythm"], equal_nan=True)
        np.testing.assert_allclose(row["recency"], r["recency"])
        overdue = r["recency"] / r["rhythm"]
        np.testing.assert_allclose(row["risk"], 1 - np.exp(-overdue), equal_nan=True)
        if np.isnan(overdue):
            assert row["level"] == "new"
        else:
            expected = (
                "active"
                if overdue <= 1
                else "slipping"
                if overdue <= 2
                else "at_risk"
                if overdue <= 3
                else "lapsed"
            )
            assert row["level"] == expected


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=30), st.booleans())
def test_percentile_rank_matches_pandas_average_rank(values, higher):
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    s = pd.Series(v if higher else -v)
    n = s.notna().sum()
    expected = (s.rank(method="average") - 1) / (n - 1) if n > 1 else s.where(s.isna(), 0.5)
    np.testing.assert_allclose(
        percentile_rank(v, higher_is_better=higher), expected, equal_nan=True
    )


# loyalty_index and satisfied_but_defecting against their references and simulations:
# test_scoring_loyalty_index.py and test_scoring_defecting.py.


def test_negative_amount_and_missing_rating_column():
    with pytest.raises(ValidationError, match=r"amount\[0\].*-1"):
        churn_risk({"customer": ["a"], "time": ["2026-01-01"], "amount": [-1.0]})
    with pytest.raises(ValidationError, match="rating"):
        satisfied_but_defecting({"customer": ["a"], "time": ["2026-01-01"], "amount": [1.0]})
