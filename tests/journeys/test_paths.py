"""paths(): top paths to conversion and drop-out, drop-off per touchpoint, against pandas."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.journeys import paths

events = st.lists(
    st.tuples(
        st.integers(0, 8),  # customer
        st.integers(0, 20),  # step (ties keep input order)
        st.sampled_from(["ad", "call", "store", "web"]),
        st.sampled_from(["purchase", "visit", None]),
        st.sampled_from([0.0, 50.0, np.nan]),
    ),
    min_size=1,
    max_size=60,
)


def as_frame(rows):
    return pd.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "time": np.datetime64("2026-01-01", "us")
            + np.array([r[1] for r in rows]) * np.timedelta64(1, "h"),
            "touchpoint": [r[2] for r in rows],
            "outcome": [r[3] for r in rows],
            "amount": [r[4] for r in rows],
        }
    )


def reference(df, collapse, repeat):
    """Per customer in Python: events in (time, input) order, cut at purchases."""
    df = df.assign(row=np.arange(len(df))).sort_values(["customer", "time", "row"])
    bought = (df["outcome"] == "purchase") | (df["outcome"].isna() & (df["amount"] > 0))
    df = df.assign(bought=bought)
    journeys = []
    for _, mine in df.groupby("customer", sort=True):
        current = []
        for tp, b in zip(mine["touchpoint"], mine["bought"], strict=True):
            current.append(tp)
            if b:
                journeys.append((current, True))
                current = []
                if not repeat:
                    break
        if current:
            journeys.append((current, False))
    if collapse:
        journeys = [
            ([t for i, t in enumerate(p) if i == 0 or p[i - 1] != t], c) for p, c in journeys
        ]
    return [(tuple(p), c) for p, c in journeys]


def top(journeys, converted, n):
    counts = Counter(p for p, c in journeys if c == converted)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [(p, k, k / total) for p, k in ranked]


@pytest.mark.parametrize(("collapse", "repeat"), [(True, False), (False, False), (True, True)])
@given(rows=events)
def test_top_paths_and_drop_off_match_a_python_walk(collapse, repeat, rows):
    df = as_frame(rows)
    got = paths(df, collapse=collapse, repeat=repeat, top=3)
    want = reference(df, collapse, repeat)
    for frame, converted in ((got.conversion, True), (got.dropout, False)):
        expect = top(want, converted, 3)
        assert frame["path"].tolist() == [p for p, _, _ in expect]
        assert frame["journeys"].tolist() == [k for _, k, _ in expect]
        np.testing.assert_allclose(frame["share"], [s for _, _, s in expect])
        assert frame["touches"].tolist() == [len(p) for p, _, _ in expect]
    assert got.converted == sum(c for _, c in want)
    assert got.dropped == sum(not c for _, c in want)
    units = sorted(set(df["touchpoint"]))
    assert got.drop_off["touchpoint"].tolist() == units
    drops = Counter(p[-1] for p, c in want if not c)
    lasts = Counter(p[-1] for p, _ in want)
    reached = Counter(t for p, _ in want for t in set(p))
    d = got.drop_off
    assert d["dropouts"].tolist() == [drops[u] for u in units]
    assert d["last"].tolist() == [lasts[u] for u in units]
    assert d["journeys"].tolist() == [reached[u] for u in units]
    n_drop = sum(drops.values())
    np.testing.assert_allclose(d["share"], [drops[u] / n_drop if n_drop else np.nan for u in units])
    np.testing.assert_allclose(
        d["rate"], [drops[u] / reached[u] if reached[u] else np.nan for u in units]
    )


def test_a_journey_ends_at_the_first_purchase_and_later_touches_are_left_out():
    df = pd.DataFrame(
        {
            "customer": ["a"] * 4 + ["b"] * 2,
            "time": pd.to_datetime(
                ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"] * 1
                + ["2026-01-01", "2026-01-02"]
            ),
            "touchpoint": ["web", "web", "store", "call", "web", "call"],
            "outcome": [None, None, "purchase", None, None, None],
        }
    )
    p = paths(df)
    assert p.conversion["path"].tolist() == [("web", "store")]
    assert p.dropout["path"].tolist() == [("web", "call")]
    assert paths(df, collapse=False).conversion["path"].tolist() == [("web", "web", "store")]
    # with repeat=True a's touch after the purchase is a dropped-out journey of its own
    again = paths(df, repeat=True)
    assert again.dropped == 2 and again.dropout["journeys"].tolist() == [1, 1]
    assert p.drop_off.row("call") == {
        "touchpoint": "call",
        "journeys": 1,
        "last": 1,
        "dropouts": 1,
        "share": 1.0,
        "rate": 1.0,
    }


def test_bad_input_is_named():
    with pytest.raises(ValidationError, match="top"):
        paths({"customer": [1], "time": [1], "touchpoint": ["a"]}, top=0)
    with pytest.raises(ValidationError, match=r"touchpoint\[1\]"):
        paths({"customer": [1, 1], "time": [1, 2], "touchpoint": ["a", None]})
