"""journeys(): order, cuts at conversions, look-back windows, unit maps, input kinds."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.attribution import journeys
from touchpoint.errors import ValidationError

touches = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 10_000), st.sampled_from("abcd"), st.booleans()),
    min_size=1,
    max_size=60,
    unique_by=lambda r: (r[0], r[1]),  # one touch per customer and time: a total order
)


def reference(rows, until):
    """Plain Python: sort each customer's touches, cut after conversions."""
    out = []
    for cust in sorted({r[0] for r in rows}):
        mine = sorted((r for r in rows if r[0] == cust), key=lambda r: r[1])
        if until == "customer":
            out.append((tuple(r[2] for r in mine), any(r[3] for r in mine)))
            continue
        current = []
        for r in mine:
            current.append(r[2])
            if r[3]:
                out.append((tuple(current), True))
                current = []
        if current:
            out.append((tuple(current), False))
    return out


def as_data(rows, time_sorted=False):
    rows = sorted(rows, key=lambda r: r[1]) if time_sorted else rows
    return {
        "customer": np.array([r[0] for r in rows]),
        "time": np.datetime64("2024-01-01", "us")
        + np.array([r[1] for r in rows]) * np.timedelta64(1, "m"),
        "touchpoint": np.array([r[2] for r in rows], dtype=object),
        "converted": np.array([r[3] for r in rows]),
    }


@given(rows=touches, until=st.sampled_from(["conversion", "customer"]), time_sorted=st.booleans())
def test_matches_a_plain_python_reference(rows, until, time_sorted):
    j = journeys(as_data(rows, time_sorted), until=until)
    expected = reference(rows, until)
    assert j.paths() == [p for p, _ in expected]
    assert j.converted.tolist() == [c for _, c in expected]
    assert j.n_journeys == len(expected)
    paths, conv, nulls = j.aggregate()
    for path, c, nl in zip(paths, conv, nulls, strict=True):
        assert c == sum(1 for p, cc in expected if p == path and cc)
        assert nl == sum(1 for p, cc in expected if p == path and not cc)


def test_many_customers_take_the_radix_sort_path():
    rng = np.random.default_rng(0)
    n = 200_000
    cust = rng.integers(0, 70_000, n)  # codes need two 16-bit passes
    t = np.sort(rng.integers(0, 10**9, n))  # time-sorted, as events are logged
    unit = rng.integers(0, 4, n)
    j = journeys(
        {
            "customer": cust,
            "time": t.astype("datetime64[s]"),
            "touchpoint": unit,
            "converted": np.zeros(n, bool),
        },
        until="conversion",
    )
    df = pd.DataFrame({"c": cust, "t": t, "u": unit}).sort_values(["c", "t"], kind="stable")
    np.testing.assert_array_equal(j.units[j.codes], df["u"].to_numpy())
    np.testing.assert_array_equal(j.customers, np.unique(cust))


def test_window_keeps_touches_within_the_look_back(to_rows):
    data = to_rows([["ad", "email", "store", "store"]], [True])  # days 0..3
    assert journeys(data, window=1.5, until="conversion").paths() == [("store", "store")]
    assert journeys(data, window=np.timedelta64(2, "D"), until="conversion").paths() == [
        ("email", "store", "store")
    ]
    with pytest.raises(ValidationError, match="window"):
        journeys(data, window=-1, until="conversion")


def test_unit_map_coarsens_touchpoints(to_rows):
    data = to_rows([["A102", "B201", "A108"]], [True])
    j = journeys(
        data, unit_map={"A102": "store", "A108": "store", "B201": "phone"}, until="conversion"
    )
    assert j.paths() == [("store", "phone", "store")]
    assert j.units.tolist() == ["phone", "store"]
    with pytest.raises(ValidationError, match="A108"):
        journeys(data, unit_map={"A102": "store", "B201": "phone"}, until="conversion")


def test_pandas_and_polars_give_the_same_journeys(to_rows):
    data = to_rows([["ad", "store"], ["email"]], [True, False], shuffle_seed=1)
    data["time"] = data["time"].astype("datetime64[ns]")
    expected = journeys(data, until="conversion").paths()
    assert journeys(pd.DataFrame(data), until="conversion").paths() == expected
    assert (
        journeys(pl.DataFrame({k: list(v) for k, v in data.items()}), until="conversion").paths()
        == expected
    )


def test_missing_columns_and_values_are_named():
    with pytest.raises(ValidationError, match="touchpoint"):
        journeys({"customer": [1], "time": ["2024-01-01"], "converted": [True]}, until="conversion")
    with pytest.raises(ValidationError, match=r"time'\]\[1\]"):
        journeys(
            {
                "customer": [1, 1],
                "time": np.array(["2024-01-01", "NaT"], dtype="datetime64[us]"),
                "touchpoint": ["a", "b"],
                "converted": [False, True],
            },
            until="conversion",
        )
