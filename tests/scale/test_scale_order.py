"""Exact distributed order statistics: the same values as sorting everything in one place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from daskdata import cut_points, partitioned
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scale import order_statistics
from touchpoint.scale._order import counted_order_statistics, many_order_statistics

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    v=st.lists(
        st.one_of(st.integers(-3, 3).map(float), st.floats(-1e9, 1e9, allow_nan=False)),
        min_size=1,
        max_size=300,
    ),
    probes=st.integers(2, 20),
    data=st.data(),
)
def test_equal_to_a_full_sort(client, v, probes, data):
    arr = np.array(v)
    series = partitioned(pd.DataFrame({"v": arr}), data.draw(cut_points(len(arr))))["v"]
    positions = sorted(set(data.draw(st.lists(st.integers(0, len(arr) - 1), min_size=1))))
    got = order_statistics(series, positions, probes=probes)
    np.testing.assert_array_equal(got, np.sort(arr)[positions])


def test_many_ties_and_a_skewed_range(client):
    rng = np.random.default_rng(5)
    arr = np.concatenate([np.zeros(20_000), rng.lognormal(0, 4, 30_000), np.full(5_000, 7.5)])
    rng.shuffle(arr)
    series = partitioned(pd.DataFrame({"v": arr}), npartitions=6)["v"]
    positions = np.unique(rng.integers(0, len(arr), 50))
    np.testing.assert_array_equal(
        order_statistics(series, positions, probes=64), np.sort(arr)[positions]
    )


def test_a_position_past_the_end_is_an_error(client):
    series = partitioned(pd.DataFrame({"v": [1.0, 2.0]}))["v"]
    with pytest.raises(ValidationError, match=r"0\.\.1"):
        order_statistics(series, [2])


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    v=st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([7, 2**63 + 1]), min_size=1),
    data=st.data(),
)
def test_64_bit_integers_keep_every_bit_and_the_counts_around_them(client, v, data):
    """Id hashes are uint64: ranked as such, not as floats (which hold 53 bits)."""
    arr = np.array(v, dtype=np.uint64)
    series = partitioned(pd.DataFrame({"h": arr}), data.draw(cut_points(len(arr))))["h"]
    positions = sorted(set(data.draw(st.lists(st.integers(0, len(arr) - 1), min_size=1))))
    got = counted_order_statistics(series, positions, probes=data.draw(st.integers(2, 9)))
    want = np.sort(arr)[positions]
    assert got.values.dtype == np.uint64 and got.values.tolist() == want.tolist()
    assert got.n == len(arr)
    assert got.less.tolist() == [int((arr < x).sum()) for x in want]
    assert got.equal.tolist() == [int((arr == x).sum()) for x in want]


def test_several_series_share_the_passes(client):
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"a": rng.integers(0, 5, 3000) * 1.0, "b": rng.lognormal(0, 3, 3000)})
    ddf = partitioned(df, npartitions=5)
    asked = [(ddf["a"], [0, 1500, 2999]), (ddf["b"], lambda n: [n // 2]), (ddf["a"], [])]
    got = many_order_statistics(asked, probes=16)
    for (column, _), want_at, c in zip(
        [("a", None), ("b", None), ("a", None)], [[0, 1500, 2999], [1500], []], got, strict=True
    ):
        values = np.sort(df[column].to_numpy())
        np.testing.assert_array_equal(c.values, values[want_at])
        assert c.n == 3000
        assert c.equal.tolist() == [int((values == x).sum()) for x in values[want_at]]
