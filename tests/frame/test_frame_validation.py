"""touchpoint.frame's checks: each names the column, the row and the value it refuses.

Every score states what it requires of its columns through these functions, so their
errors are the ones a user sees; the tests compare the row found with numpy's own search.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from touchpoint.errors import ValidationError
from touchpoint.frame import (
    as_float64,
    check_codes,
    check_finite,
    check_nonnegative,
    check_range,
    check_times,
    read_columns,
    require_columns,
)

FLOATS = hnp.arrays(
    np.float64,
    st.integers(0, 40),
    elements=st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf]),
)


def _problem(call):
    with pytest.raises(ValidationError) as err:
        call()
    (problem,) = err.value.problems
    return problem


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_nonnegative_names_the_first_negative_row_and_lets_nan_through(values):
    negative = np.flatnonzero(values < 0)
    if len(negative) == 0:
        check_nonnegative(values, "amount")
        return
    problem = _problem(lambda: check_nonnegative(values, "amount"))
    assert problem.path == f"amount[{negative[0]}]"
    assert problem.value == values[negative[0]]
    assert problem.message == "must not be negative"


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_finite_names_the_first_nan_or_infinite_row(values):
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad) == 0:
        check_finite(values, "T")
        return
    problem = _problem(lambda: check_finite(values, "T"))
    assert problem.path == f"T[{bad[0]}]"
    assert problem.value == pytest.approx(values[bad[0]], nan_ok=True)


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_range_ignores_nan_and_names_the_first_value_outside(values):
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((values < 1) | (values > 5))
    if len(bad) == 0:
        check_range(values, 1, 5, "rating", "a rating")
        return
    problem = _problem(lambda: check_range(values, 1, 5, "rating", "a rating"))
    assert problem.path == f"rating[{bad[0]}]"
    assert problem.message == "a rating must be between 1 and 5"


def test_codes_and_times_name_the_first_missing_row():
    assert _problem(lambda: check_codes(np.array([0, 1, -1, -1]), "customer")).path == (
        "customer[2]"
    )
    times = np.array(["2026-01-01", "NaT", "NaT"], dtype="datetime64[us]")
    problem = _problem(lambda: check_times(times, "time"))
    assert (problem.path, problem.value) == ("time[1]", "NaT")
    check_codes(np.array([], dtype=np.int64), "customer")
    check_times(np.array([], dtype="datetime64[us]"), "time")


def test_required_columns_list_every_missing_one_and_the_available_ones():
    with pytest.raises(ValidationError) as err:
        require_columns(
            ["ts", "paid"],
            {"customer": "cust", "time": "ts", "amount": None},
            ["customer", "time", "amount"],
        )
    problems = err.value.problems
    assert [p.path for p in problems] == ["cust", "amount"]
    assert problems[0].message == "no such column for 'customer' (available: 'ts', 'paid')"
    assert "name it with the keyword argument" in problems[1].message


def test_reading_a_missing_column_reports_the_same_problem():
    with pytest.raises(ValidationError) as err:
        read_columns(
            {"ts": ["2026-01-01"]},
            {"customer": "cust", "time": "ts"},
            required=["customer", "time"],
        )
    assert str(err.value.problems[0]) == str(
        _problem(lambda: require_columns(["ts"], {"customer": "cust"}, ["customer"]))
    )


def test_as_float64_names_the_first_value_that_is_no_number():
    problem = _problem(lambda: as_float64(np.array([1, "2", "x", "y"], dtype=object), "paid"))
    assert (problem.path, problem.message, problem.value) == ("paid", "expected numbers", "x")
    assert as_float64([1, "2.5"], "paid").tolist() == [1.0, 2.5]


# ------------------------------------------------------------------ ids as text (issue 13)


def _reference_reason(value, limit):
    """What `text_problems` says, written one value at a time from its docstring."""
    if value is None or value is pd.NA or value is pd.NaT:
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return 1
    if not isinstance(value, str):
        return 0
    if len(value) > limit:
        return 3
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return 2
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return 4
    return 0


_ID_VALUES = st.one_of(
    st.text(alphabet=st.characters(codec=None), max_size=12),  # surrogates and controls too
    st.text(max_size=3).map(lambda s: s + "\x00"),  # a trailing NUL
    st.text(min_size=1, max_size=3).map(lambda s: s * 7),  # near the limit below
    st.binary(max_size=4),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.just(pd.NA),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)


@given(st.lists(_ID_VALUES, max_size=30), st.integers(1, 20))
@settings(max_examples=300)
def test_text_problems_matches_a_value_by_value_reference(values, limit):
    from touchpoint.frame import text_problems

    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # element by element: a list of lists stays 1-d
        arr[i] = v
    got = text_problems(arr, limit=limit).tolist()
    assert got == [_reference_reason(v, limit) for v in values]


def test_ids_that_differ_only_by_a_trailing_nul_are_both_refused_or_kept_apart():
    """numpy's U strings drop a trailing NUL: 'C1\\x00' == 'C1' once in a U array."""
    from touchpoint.frame import text_problems

    assert np.array(["C1\x00"])[0] == "C1"  # the trap
    assert text_problems(np.array(["C1", "C1\x00"], dtype=object)).tolist() == [0, 4]
