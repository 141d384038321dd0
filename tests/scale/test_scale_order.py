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
