"""Markov attribution on Dask: transitions counted per partition and summed equal memory.

The counts are integers and the solve is the in-memory code, so the removal effects are
compared to 1e-12 relative (they are in fact identical).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from daskdata import cut_points, partitioned
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.attribution import journeys, markov
from touchpoint.attribution.parts import add_transitions, count_transitions, solve_transitions
from touchpoint.errors import ValidationError

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)

dd = pytest.importorskip("dask.dataframe")

FLOAT = {"check_exact": False, "rtol": 1e-12, "atol": 0.0}


def touches(seed: int, n_customers: int = 30, units: str = "abcdef") -> pd.DataFrame:
    """Touches in time order (customers interleaved), some at equal times, ~40% convert."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 7, n_customers)
    customer = np.repeat(rng.permutation(n_customers) * 37 + 5, lengths)
    hour = rng.integers(0, 24 * 30, len(customer))
    hour[rng.random(len(hour)) < 0.1] = 100  # ties: kept in row order, as in memory
    order = np.argsort(hour, kind="stable")
    touchpoint = rng.choice(list(units), len(customer))
    converts = rng.random(n_customers) < 0.4
    converts[0] = True
    last = np.cumsum(lengths) - 1
    converted = np.zeros(len(customer), dtype=bool)
    converted[last[converts]] = True
    data = pd.DataFrame(
        {
            "customer": customer,
            "time": np.datetime64("2024-01-01", "us") + hour * np.timedelta64(1, "h"),
            "touchpoint": touchpoint,
            "converted": converted,
        }
    )
    return data.iloc[order].reset_index(drop=True)


def assert_same(got, want) -> None:
    got = got.reset_index(drop=True)
    want = want.to_pandas().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, **FLOAT)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_on_dask_equals_memory(client, order):
    data = touches(1, n_customers=200)
    got = markov(partitioned(data, npartitions=5), order=order)
    assert_same(got.to_pandas(), markov(data, order=order))


@given(cuts=cut_points(120), seed=st.integers(0, 40), order=st.sampled_from([1, 2]))
@settings(max_examples=15, deadline=None)
def test_markov_whatever_the_partitioning(client, cuts, seed, order):
    data = touches(seed).iloc[:120]  # a journey may be cut short: still one per customer
    if not data["converted"].any():
        data = data.assign(converted=data.index == 0)
    got = markov(partitioned(data, cuts), order=order)
    assert_same(got.to_pandas(), markov(data, order=order))


def test_integer_touchpoints_and_other_column_names(client):
    data = touches(7, n_customers=80, units="abc").rename(
        columns={"customer": "cid", "time": "ts", "touchpoint": "channel", "converted": "buy"}
    )
    data["channel"] = data["channel"].map({"a": 30, "b": 10, "c": 20})
    names = {"customer": "cid", "time": "ts", "touchpoint": "channel", "converted": "buy"}
    got = markov(partitioned(data, [0, 40, 40]), **names)
    want = markov(data, **names)
    assert got["channel"].tolist() == [10, 20, 30]
    assert_same(got.to_pandas(), want)


def test_counts_of_disjoint_journeys_add_up():
    data = touches(3, n_customers=60)
    first = data["customer"].isin(data["customer"].unique()[:25])
    units = journeys(data, until="customer").units
    for order in (1, 2, 3):
        whole = count_transitions(journeys(data, until="customer"), order=order)
        parts = []
        for half in (data[first], data[~first]):
            j = journeys(half, until="customer")
            assert list(j.units) == list(units)  # each half has every unit here
            parts.append(count_transitions(j, order=order))
        summed = add_transitions(parts)
        assert summed.converted == whole.converted
        if order == 1:
            np.testing.assert_array_equal(summed.counts, whole.counts)
        else:
            for got, want in zip(summed.counts, whole.counts, strict=True):
                np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(solve_transitions(summed), solve_transitions(whole))


def test_degenerate_inputs_fail_as_in_memory(client):
    data = touches(2)
    for bad, kw in (
        (data.assign(converted=False), {}),  # nothing converted
        (data.iloc[:0], {}),  # no touches
        (data, {"order": 0}),
        (data, {"order": 1.5}),
        (data.assign(touchpoint=[f"t{i}" for i in range(len(data))]), {"order": 12}),
    ):
        with pytest.raises(ValidationError) as memory:
            markov(bad, **kw)
        with pytest.raises(ValidationError) as dask:
            markov(partitioned(bad), **kw)
        assert str(dask.value) == str(memory.value)


def test_a_missing_column_is_named_at_the_call(client):
    ddf = partitioned(touches(2))
    with pytest.raises(ValidationError, match="'channel'"):
        markov(ddf, touchpoint="channel")
    with pytest.raises(ValidationError, match="'bought'"):
        markov(ddf, converted="bought")


@pytest.mark.parametrize("kind", ["int", "float"])
def test_markov_on_a_numeric_step_column_equals_memory_and_the_times(client, kind):
    """Issue 12, item 10: journeys logged with step numbers, on Dask as in memory."""
    data = touches(5, n_customers=150)
    hours = (data["time"] - data["time"].min()) // pd.Timedelta(hours=1)
    step = hours.astype("int64") if kind == "int" else hours / 8.0 - 30.0
    by_step = data.drop(columns="time").assign(step=step)
    for order in (1, 2):
        want = markov(data, order=order)  # the same order, as times
        assert markov(by_step, time="step", order=order) == want
        got = markov(partitioned(by_step, npartitions=4), time="step", order=order)
        assert_same(got.to_pandas(), want)
