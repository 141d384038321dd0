"""Any orderable step column orders journeys (issue 12, item 10).

Journeys are often logged with a step number instead of a time. The reference for
every check is the same data with the steps turned into times by an order-preserving
(and, for time decay, linear) map: the results must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.attribution import MODELS, heuristic, journeys, markov, shapley
from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame

BASE = np.datetime64("2024-01-01", "us")
QUARTER_SECOND = np.timedelta64(250_000, "us")

#: One row per touch: (customer, step in quarters, unit, converted); steps repeat (ties)
#: and may be negative.
touch_rows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(-40, 40), st.sampled_from("abcde"), st.booleans()),
    min_size=1,
    max_size=60,
)


def _frames(rows, kind):
    """The rows with the step as an int, as a float, and as the time the step maps to."""
    quarters = np.array([r[1] for r in rows], dtype=np.int64)
    base = {
        "customer": np.array([r[0] for r in rows]),
        "touchpoint": np.array([r[2] for r in rows], dtype=object),
        "converted": np.array([r[3] for r in rows]),
    }
    if not base["converted"].any():
        base["converted"][-1] = True
    step = quarters if kind == "int" else quarters / 4.0
    times = BASE + quarters * QUARTER_SECOND  # one step = 1 s for floats, 0.25 s for ints
    return {**base, "time": step}, {**base, "time": times}


@settings(max_examples=60, deadline=None)
@given(rows=touch_rows, kind=st.sampled_from(["int", "float"]), order=st.sampled_from([1, 2]))
def test_numeric_steps_give_what_the_same_order_in_times_gives(rows, kind, order):
    by_step, by_time = _frames(rows, kind)
    assert (
        journeys(by_step, until="conversion").paths()
        == journeys(by_time, until="conversion").paths()
    )
    assert markov(by_step, order=order) == markov(by_time, order=order)
    assert shapley(by_step) == shapley(by_time)
    for model in MODELS:
        if model == "time_decay":
            step = 4 if kind == "int" else 1  # the steps of one second
            got = heuristic(by_step, model=model, half_life=3 * step)
            want = heuristic(by_time, model=model, half_life=np.timedelta64(3, "s"))
            np.testing.assert_allclose(got["conversions"], want["conversions"], rtol=1e-12)
        else:
            assert heuristic(by_step, model=model) == heuristic(by_time, model=model), model


def test_the_issue_example_markov_on_an_integer_step():
    data = {
        "customer": [1, 1, 2, 3, 3],
        "step": [1, 2, 1, 1, 2],
        "touchpoint": ["ad", "store", "ad", "email", "store"],
        "converted": [False, True, False, False, True],
    }
    got = markov(data, time="step")
    # hand-worked (see the markov docstring): ad and email 0.5 each, store 1.0
    assert got["touchpoint"].tolist() == ["ad", "email", "store"]
    assert got["removal_effect"].round(12).tolist() == [0.5, 0.5, 1.0]


def test_ties_keep_input_order():
    rows = {
        "customer": [1, 1, 1, 2, 2],
        "step": [2, 1, 1, 5, 5],
        "touchpoint": ["c", "a", "b", "y", "x"],
        "converted": [True, False, False, False, True],
    }
    assert journeys(rows, time="step", until="customer").paths() == [("a", "b", "c"), ("y", "x")]
    flipped = {k: [v[0], v[2], v[1], v[4], v[3]] for k, v in rows.items()}
    assert journeys(flipped, time="step", until="customer").paths() == [
        ("b", "a", "c"),
        ("x", "y"),
    ]


def test_text_that_reads_as_times_stays_times():
    # lexicographically 09T23:30 comes first; in time it is 10T01:30 UTC, the later one
    data = {
        "customer": [1, 1],
        "time": ["2024-01-09T23:30-02:00", "2024-01-10T00:00"],
        "touchpoint": ["late", "early"],
        "converted": [True, False],
    }
    assert journeys(data, until="customer").paths() == [("early", "late")]
    assert journeys(data, until="customer").times.dtype == np.dtype("datetime64[us]")


@pytest.mark.parametrize("kind", ["pandas", "pandas nullable", "polars", "arrow", "list", "frame"])
def test_integer_steps_from_every_table(kind):
    data = {
        "customer": ["a", "a", "b", "a"],
        "seq": [3, 1, 1, 2],
        "touchpoint": ["store", "ad", "ad", "email"],
        "converted": [True, False, False, False],
    }
    table = {
        "pandas": lambda: pd.DataFrame(data),
        "pandas nullable": lambda: pd.DataFrame(data).astype({"seq": "Int64"}),
        "polars": lambda: pl.DataFrame(data),
        "arrow": lambda: pa.table(data),
        "list": lambda: data,
        "frame": lambda: EventFrame.from_data(pd.DataFrame(data)),
    }[kind]()
    j = journeys(table, time="seq", until="conversion")
    assert j.paths() == [("ad", "email", "store"), ("ad",)]
    assert j.times.tolist() == [1, 2, 3, 1]


def test_python_numbers_with_a_gap_are_steps_and_a_gap_is_named():
    data = {
        "customer": [1, 1],
        "step": [2, None],
        "touchpoint": ["a", "b"],
        "converted": [False, True],
    }
    with pytest.raises(ValidationError, match=r"'step'\]\[1\]: missing time or step"):
        journeys(data, time="step", until="conversion")
    data["step"] = [2, 1.5]
    assert journeys(data, time="step", until="customer").paths() == [("b", "a")]


def test_a_look_back_window_and_a_half_life_in_steps():
    data = {
        "customer": [1, 1, 1, 1],
        "step": [1, 2, 3, 4],
        "touchpoint": ["ad", "email", "store", "store"],
        "converted": [False, False, False, True],
    }
    assert journeys(data, time="step", until="conversion", window=1).paths() == [("store", "store")]
    with pytest.raises(ValidationError, match="number of steps"):
        journeys(data, time="step", until="conversion", window=np.timedelta64(1, "D"))
    w = heuristic(data, time="step", model="time_decay", half_life=1)["conversions"]
    # weights 1/8, 1/4, 1/2, 1 over the four touches, normalised: store gets 12/15
    assert w.round(12).tolist() == [round(1 / 15, 12), round(2 / 15, 12), round(12 / 15, 12)]
    with pytest.raises(ValidationError, match="half-life is a number of steps"):
        heuristic(data, time="step", model="time_decay", half_life=np.timedelta64(1, "D"))


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ([True, False], "times or numbers"),
        (["first", "second"], r"'step'\]\[0\]: a step must be a time"),
        ([1.0, float("nan")], r"'step'\]\[1\]: missing time or step"),
    ],
)
def test_columns_that_do_not_order_are_named(steps, match):
    data = {"customer": [1, 1], "step": steps, "touchpoint": ["a", "b"], "converted": [0, 1]}
    with pytest.raises(ValidationError, match=match):
        markov(data, time="step")
