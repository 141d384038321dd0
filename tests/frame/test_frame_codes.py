"""factorize: dense codes that round-trip to the values, sorted or in first-appearance order."""

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.frame import factorize


def _check(values, codes, uniques, *, ordered):
    values = list(values)
    assert len(codes) == len(values)
    present = [v for v in values if v is not None]
    assert sorted(set(present)) == sorted(uniques.tolist())
    for v, c in zip(values, codes.tolist(), strict=True):
        if v is None:
            assert c == -1
        else:
            assert uniques[c] == v
    if ordered:
        assert uniques.tolist() == sorted(set(present))
    else:
        first = list(dict.fromkeys(present))
        assert uniques.tolist() == first


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40), st.booleans())
def test_strings_object_array(values, sort):
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    codes, uniques = factorize(arr, sort=sort)
    assert codes.dtype == np.int64
    _check(values, codes, uniques, ordered=sort)


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40), st.booleans())
def test_strings_arrow(values, sort):
    codes, uniques = factorize(pa.array(values, type=pa.string()), sort=sort)
    _check(values, codes, uniques, ordered=sort)


@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=40) | st.lists(st.integers(-5, 5), max_size=40),
    st.booleans(),
)
def test_integers_small_and_wide_ranges(values, sort):
    codes, uniques = factorize(np.array(values, dtype=np.int64), sort=sort)
    _check(values, codes, uniques, ordered=sort)


def test_floats_nan_and_times_nat_are_missing():
    codes, uniques = factorize(np.array([2.5, np.nan, 1.0, 2.5]))
    assert codes.tolist() == [1, -1, 0, 1]
    assert uniques.tolist() == [1.0, 2.5]
    t = np.array(["2026-01-02", "NaT", "2026-01-01"], dtype="datetime64[us]")
    codes, uniques = factorize(t)
    assert codes.tolist() == [1, -1, 0]


def test_unsigned_and_bool():
    assert factorize(np.array([3, 1, 3], dtype=np.uint8))[0].tolist() == [1, 0, 1]
    assert factorize(np.array([True, False, True]))[0].tolist() == [1, 0, 1]


def test_sort_none_takes_the_cheaper_order():
    assert factorize(np.array([30, 10, 30]), sort=None)[1].tolist() == [10, 30]
    assert factorize(np.array(["b", "a", "b"], dtype=object), sort=None)[1].tolist() == ["b", "a"]
    assert factorize(pa.array(["b", "a", None]), sort=None)[0].tolist() == [0, 1, -1]
