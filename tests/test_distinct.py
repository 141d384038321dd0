"""`touchpoint._distinct.distinct` is `np.unique` (values only), on every dtype it takes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint._distinct import distinct


@settings(max_examples=200)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50)
    | st.lists(st.integers(-3, 3), max_size=50),
    st.sampled_from(
        ["int64", "int8", "uint64", "bool", "datetime64[us]", "timedelta64[s]", "float64"]
    ),
)
def test_distinct_is_numpy_unique(values, dtype):
    if dtype == "uint64":
        values = [v % 2**64 for v in values]
    elif dtype == "int8":
        values = [v % 256 - 128 for v in values]
    elif dtype == "bool":
        values = [v % 2 for v in values]
    elif dtype.startswith(("datetime", "timedelta")):
        values = [v % 2**62 for v in values]
    arr = np.array(values, dtype=np.int64 if dtype != "uint64" else np.uint64).astype(dtype)
    got, want = distinct(arr), np.unique(arr)
    assert got.dtype == want.dtype
    assert got.tolist() == want.tolist()


def test_nat_counts_once_and_comes_last():
    t = np.array(["NaT", "2026-03-01", "NaT", "2026-01-01", "2026-03-01"], dtype="datetime64[s]")
    got = distinct(t)
    assert got[:2].tolist() == np.unique(t)[:2].tolist()
    assert len(got) == len(np.unique(t)) == 3 and np.isnat(got[-1])
    assert distinct(t[[0, 2]]).size == 1 and np.isnat(distinct(t[[0, 2]])[0])


def test_two_dimensional_and_list_inputs_are_flattened():
    assert distinct(np.array([[3, 1], [1, 2]])).tolist() == [1, 2, 3]
    assert distinct([]).tolist() == np.unique([]).tolist()
    assert distinct(np.array(["b", "a", "b"], dtype=object)).tolist() == ["a", "b"]
