"""Complaint statistics against a straightforward pandas reference."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import ValidationError
from touchpoint.care import complaint_stats

NOW = pd.Timestamp("2026-06-01")


def reference(df: pd.DataFrame, purchases: pd.DataFrame) -> dict:
    """Per type and overall, row by row in pandas: slow and plain."""
    out = {}
    last_buy = purchases.groupby("customer")["time"].max().to_dict()
    for group in ["all", *sorted(df["type"].unique())]:
        g = df if group == "all" else df[df["type"] == group]
        answered = g["first_response_at"].notna()
        resolved = g["resolved_at"].notna()
        resp_h = (g["first_response_at"] - g["opened_at"]).dt.total_seconds() / 3600
        res_h = (g["resolved_at"] - g["opened_at"]).dt.total_seconds() / 3600
        within = answered & (resp_h <= 24)
        observed = answered | ((NOW - g["opened_at"]).dt.total_seconds() > 24 * 3600)
        mark = g["resolved_at"].where(resolved, g["opened_at"])
        last = [last_buy.get(c) for c in g["customer"]]
        back = pd.Series(
            [b is not None and b > m for b, m in zip(last, mark, strict=True)], index=g.index
        )
        quick = resolved & (res_h <= 72)
        slow = resolved & ~quick

        def share(a, b):
            return a.sum() / b.sum() if b.sum() else math.nan

        out[group] = {
            "complaints": len(g),
            "answered": int(answered.sum()),
            "resolved": int(resolved.sum()),
            "resolution_rate": share(resolved, pd.Series(True, index=g.index)),
            "response_within_limit": share(within & observed, observed),
            "response_p50_hours": resp_h[answered].quantile(0.5) if answered.any() else math.nan,
            "resolution_p90_hours": res_h[resolved].quantile(0.9) if resolved.any() else math.nan,
            "came_back_quick": share(quick & back, quick),
            "came_back_slow": share(slow & back, slow),
            "came_back_unresolved": share(~resolved & back, ~resolved),
        }
    return out


hours = st.one_of(st.none(), st.integers(0, 24 * 20))


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(["service", "price", "delivery"]),
            st.integers(0, 24 * 60),
            hours,
            hours,
        ),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 24 * 90)), max_size=20),
)
def test_matches_pandas_reference(rows, buys):
    base = pd.Timestamp("2026-03-01")
    df = pd.DataFrame(
        {
            "customer": [f"C{c}" for c, *_ in rows],
            "type": [t for _, t, *_ in rows],
            "opened_at": [base + pd.Timedelta(hours=o) for _, _, o, _, _ in rows],
        }
    )
    # Response first, resolution at or after it (or alone); never before opening.
    df["first_response_at"] = [
        base + pd.Timedelta(hours=o + r) if r is not None else pd.NaT for _, _, o, r, _ in rows
    ]
    df["resolved_at"] = [
        base + pd.Timedelta(hours=o + (r or 0) + s) if s is not None else pd.NaT
        for _, _, o, r, s in rows
    ]
    purchases = pd.DataFrame(
        {
            "customer": pd.Series([f"C{c}" for c, _ in buys], dtype=object),
            "time": pd.Series(
                [base + pd.Timedelta(hours=h) for _, h in buys], dtype="datetime64[us]"
            ),
        }
    )
    got = complaint_stats(df, purchases=purchases, asof=NOW.to_datetime64(), percentiles=(50, 90))
    want = reference(df, purchases)
    assert got["type"].tolist() == list(want)
    for i, group in enumerate(want):
        for name, value in want[group].items():
            actual = got[name][i]
            assert (math.isnan(value) and math.isnan(actual)) or actual == pytest.approx(value), (
                group,
                name,
            )


def test_answer_before_opening_names_the_row():
    with pytest.raises(
        ValidationError, match=r"first_response_at\[1\]: is before the complaint was opened"
    ):
        complaint_stats(
            {
                "customer": ["a", "b"],
                "opened_at": np.array(
                    ["2026-03-01T09:00", "2026-03-01T09:00"], dtype="datetime64[us]"
                ),
                "first_response_at": np.array(
                    ["2026-03-01T10:00", "2026-03-01T08:00"], dtype="datetime64[us]"
                ),
                "resolved_at": np.array(["NaT", "NaT"], dtype="datetime64[us]"),
            }
        )
