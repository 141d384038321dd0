"""customer_summary against a straightforward pandas version, input kinds and bad input."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.clv import customer_summary
from touchpoint.errors import ValidationError


def reference(df: pd.DataFrame, end: str, unit_days: float) -> pd.DataFrame:
    df = df[df["time"] <= pd.Timestamp(end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)]
    df = df.assign(day=df["time"].dt.floor("D"))
    daily = (
        df.groupby(["customer", "day"], as_index=False)["amount"]
        .sum()
        .sort_values(["customer", "day"])
    )
    rows = []
    for cust, g in daily.groupby("customer"):
        first, last = g["day"].iloc[0], g["day"].iloc[-1]
        n = len(g)
        rows.append(
            {
                "customer": cust,
                "frequency": n - 1,
                "recency": (last - first).days / unit_days,
                "T": (pd.Timestamp(end) - first).days / unit_days,
                "monetary_value": g["amount"].iloc[1:].mean() if n > 1 else 0.0,
            }
        )
    return pd.DataFrame(rows)


transactions = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 60 * 24 * 40),  # minutes within 40 days: several purchases a day
        st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2)),
    ),
    min_size=1,
    max_size=40,
)


@given(rows=transactions, unit=st.sampled_from(["D", "W"]))
def test_matches_a_pandas_reference(rows, unit):
    df = pd.DataFrame(rows, columns=["customer", "minute", "amount"])
    df["time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["minute"], unit="min")
    end = "2024-02-05"
    expected = reference(df, end, {"D": 1.0, "W": 7.0}[unit])
    if expected.empty:
        with pytest.raises(ValidationError, match="asof"):
            customer_summary(df, asof=end, unit=unit)
        return
    got = customer_summary(df, asof=end, unit=unit)
    assert list(got["customer"]) == expected["customer"].tolist()
    np.testing.assert_array_equal(got["frequency"], expected["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, atol=1e-9, err_msg=col)


def test_same_result_from_pandas_polars_arrow_and_dicts():
    data = {
        "cust_id": [7, 7, 9, 7],
        "ts": pd.to_datetime(
            ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-03 00:00", "2024-01-08 00:00"]
        ),
        "paid": [10.0, 5.0, 3.0, 8.0],
    }
    kw = {
        "customer": "cust_id",
        "time": "ts",
        "amount": "paid",
        "asof": "2024-01-15",
        "unit": "D",
    }
    frames = [data, pd.DataFrame(data), pl.DataFrame(data), pa.table(data)]
    for frame in frames:
        r = customer_summary(frame, **kw)
        assert list(r["customer"]) == [7, 9]
        assert r["frequency"].tolist() == [1, 0]  # two purchases on 1 Jan are one
        assert r["recency"].tolist() == [7.0, 0.0]
        assert r["T"].tolist() == [14.0, 12.0]
        assert r["monetary_value"].tolist() == [8.0, 0.0]


def test_without_amounts_monetary_value_is_zero():
    s = customer_summary(
        {"customer": [1, 1], "time": ["2024-01-01", "2024-01-02"]}, amount=None, unit="D"
    )
    assert s["monetary_value"].tolist() == [0.0]
    assert s["T"].tolist() == [1.0]  # default end: the last purchase day


def test_purchases_after_the_end_are_ignored():
    s = customer_summary(
        {
            "customer": [1, 1, 2],
            "time": ["2024-01-01", "2024-03-01", "2024-03-02"],
            "amount": [1.0, 2.0, 3.0],
        },
        asof="2024-01-31",
        unit="D",
    )
    assert list(s["customer"]) == [1]
    assert s["frequency"].tolist() == [0]


@pytest.mark.parametrize(
    ("kwargs", "data", "match"),
    [
        ({"unit": "fortnight"}, {"customer": [1], "time": ["2024-01-01"]}, "unit"),
        ({}, {"client": [1], "time": ["2024-01-01"]}, "customer"),
        ({}, {"customer": [1], "time": ["not a date"]}, "time"),
        (
            {},
            {"customer": [1, 2], "time": ["2024-01-01", "2024-01-02"], "amount": [1.0, np.nan]},
            r"amount.*\[1\]",
        ),
        (
            {"asof": "2023-01-01"},
            {"customer": [1], "time": ["2024-01-01"]},
            "asof",
        ),
    ],
)
def test_bad_input_names_the_column(kwargs, data, match):
    with pytest.raises(ValidationError, match=match):
        customer_summary(data, **kwargs)


events = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 60 * 24 * 40),
        st.sampled_from([0.0, 12.5, 40.0]),
        st.sampled_from(["purchase", "call", "complaint", None]),
    ),
    min_size=1,
    max_size=40,
)


@given(rows=events)
def test_only_purchases_count_by_the_purchase_rule(rows):
    """An interaction log: purchases are the 'purchase' outcomes, and events without an
    outcome that carry money; calls and complaints are not purchases."""
    df = pd.DataFrame(rows, columns=["customer", "minute", "amount", "outcome"])
    df["time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["minute"], unit="min")
    end = "2024-02-05"
    bought = (df["outcome"] == "purchase") | (df["outcome"].isna() & (df["amount"] > 0))
    expected = reference(df[bought], end, 1.0)
    if expected.empty:
        with pytest.raises(ValidationError):
            customer_summary(df, asof=end, unit="D")
        return
    got = customer_summary(df, asof=end, unit="D")
    assert list(got["customer"]) == expected["customer"].tolist()
    np.testing.assert_array_equal(got["frequency"], expected["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, atol=1e-9, err_msg=col)
    # purchases=None: every event counts, as in a transaction log
    every = customer_summary(df, asof=end, unit="D", purchases=None)
    np.testing.assert_array_equal(
        every["frequency"], reference(df, end, 1.0)["frequency"].to_numpy()
    )


def test_a_named_purchase_label_and_a_missing_purchase_amount():
    ev = {
        "customer": [1, 1, 2, 2],
        "time": ["2024-01-01", "2024-01-04", "2024-01-02", "2024-01-03"],
        "result": ["order", "order", "call", "order"],
        "amount": [5.0, np.nan, np.nan, 3.0],
    }
    with pytest.raises(ValidationError, match=r"amount'\]\[1\].*missing amount"):
        customer_summary(ev, outcome="result", purchases=("order",), unit="D")
    ev["amount"][1] = 7.0
    s = customer_summary(ev, outcome="result", purchases=("order",), unit="D")
    assert s["frequency"].tolist() == [1, 0] and s["monetary_value"].tolist() == [7.0, 0.0]
    with pytest.raises(ValidationError, match="purchases"):
        customer_summary(ev, purchases="order")


def test_observation_end_is_the_old_name_of_asof_and_still_works():
    """Host code calls customer_summary(..., observation_end=...): it keeps working a release."""
    data = {"customer": [1, 1, 2], "time": ["2024-01-01", "2024-01-05", "2024-01-03"]}
    with pytest.warns(
        DeprecationWarning, match=r"observation_end=\.\.\.\) is deprecated: use asof="
    ):
        old = customer_summary(data, observation_end="2024-01-10", unit="D")
    assert old == customer_summary(data, asof="2024-01-10", unit="D")
    with pytest.raises(TypeError, match="both"):
        customer_summary(data, observation_end="2024-01-10", asof="2024-01-10")
