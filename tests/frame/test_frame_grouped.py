"""group_stats: count, sum and maximum per code equal np.bincount / np.maximum.at's,
whatever the row order, the chunking and the thread count."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint._threads import available_cores, set_threads
from touchpoint.frame import _grouped
from touchpoint.frame._grouped import group_stats, minimum, nondecreasing

NONE = np.iinfo(np.int64).min


def _reference(codes, weights, values, k, empty):
    counts = np.bincount(codes, minlength=k)
    sums = np.bincount(codes, weights=weights, minlength=k).astype(np.float64)
    maxima = np.full(k, empty, dtype=np.int64)
    np.maximum.at(maxima, codes, values)
    return counts, sums, maxima


def _assert_matches(got, ref, *, exact_sums):
    counts, sums, maxima = got
    assert counts.dtype == np.int64 and sums.dtype == np.float64 and maxima.dtype == np.int64
    np.testing.assert_array_equal(counts, ref[0])
    np.testing.assert_array_equal(maxima, ref[2])
    if exact_sums:
        np.testing.assert_array_equal(sums, ref[1])
    else:
        np.testing.assert_allclose(sums, ref[1], rtol=1e-12, atol=0)


@st.composite
def events(draw):
    """Random codes (some codes without rows, sometimes one code, sometimes all rows in
    one narrow code range), times in one of three orders, amounts."""
    k = draw(st.integers(1, 300))
    n = draw(st.integers(0, 600))
    span = draw(st.sampled_from(["all", "one", "narrow"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if span == "one":
        codes = np.full(n, rng.integers(0, k), dtype=np.int64)
    elif span == "narrow":
        lo = int(rng.integers(0, k))
        codes = rng.integers(lo, min(k, lo + 3), size=n)
    else:
        codes = rng.integers(0, k, size=n)
    values = rng.integers(-(10**15), 10**15, size=n)
    if draw(st.booleans()):  # a few repeated times
        values = values // 10**14 * 10**14
    order = draw(st.sampled_from(["time", "shuffled", "customer"]))
    if order == "time":
        values = np.sort(values)
    elif order == "customer":
        codes = np.sort(codes)
    weights = rng.gamma(2.0, 50.0, size=n) if draw(st.booleans()) else None
    return codes, weights, values, k


@settings(max_examples=300, deadline=None)
@given(events(), st.sampled_from([1 << 30, 7, 64]), st.sampled_from([1, 2, 4]))
def test_matches_bincount_and_maximum_at(ev, chunk_rows, threads):
    codes, weights, values, k = ev
    ref = _reference(codes, weights, values, k, NONE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped, "_CHUNK_ROWS", chunk_rows)  # small chunks: several partials
        mp.setattr(_grouped, "_ROWS_PER_CODE", 0)
        with set_threads(threads):
            got = group_stats(codes, weights, values, k, NONE)
        # one chunk adds each code's weights in row order, as np.bincount does: bit-equal
        one_chunk = _grouped._parts(len(codes), k) == 1
    _assert_matches(got, ref, exact_sums=one_chunk)


@settings(max_examples=100, deadline=None)
@given(events())
def test_thread_count_changes_nothing(ev):
    """Chunks depend on the data size only: 1 thread and many give the same bits."""
    codes, weights, values, k = ev
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped, "_CHUNK_ROWS", 16)
        mp.setattr(_grouped, "_ROWS_PER_CODE", 0)
        with set_threads(1):
            one = group_stats(codes, weights, values, k, NONE)
        with set_threads(max(4, available_cores())):
            many = group_stats(codes, weights, values, k, NONE)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=150, deadline=None)
@given(events(), st.sampled_from([1, 2, 4]))
def test_statistics_as_separate_tasks_match_bincount_and_maximum_at_bit_for_bit(ev, threads):
    """One row chunk with its counts, sums and maxima as separate thread tasks (what
    inputs of 1M+ rows with few rows per code take): np.bincount's and np.maximum.at's
    results exactly, sums included, on any thread count."""
    codes, weights, values, k = ev
    ref = _reference(codes, weights, values, k, NONE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped, "_SPLIT_ROWS", 0)
        assert _grouped._parts(len(codes), k) == 1
        with set_threads(threads):
            got = group_stats(codes, weights, values, k, NONE)
    _assert_matches(got, ref, exact_sums=True)


def test_large_input_with_few_rows_per_code_splits_by_statistic_exactly():
    """2M time-ordered rows over 1M codes (one chunk: too few rows per code for partial
    arrays) run as three tasks; 1 thread and several give np.bincount's bits."""
    rng = np.random.default_rng(11)
    n, k = 2_000_000, 1_000_000
    codes = rng.integers(0, k, size=n)
    values = np.sort(rng.integers(0, 10**15, size=n))
    weights = rng.gamma(2.0, 50.0, size=n)
    assert _grouped._parts(n, k) == 1 and n >= _grouped._SPLIT_ROWS
    ref = _reference(codes, weights, values, k, NONE)
    with set_threads(1):
        one = group_stats(codes, weights, values, k, NONE)
    with set_threads(max(2, available_cores())):
        many = group_stats(codes, weights, values, k, NONE)
    _assert_matches(one, ref, exact_sums=True)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


def test_large_time_ordered_input_takes_the_assignment_path_and_is_exact(monkeypatch):
    """3M rows in time order over 60k codes (three chunks, the last-row assignment):
    the maximum per code is np.maximum.at's. This is the check that fails in CI if a
    numpy release stops writing repeated fancy-assignment indices in order."""
    rng = np.random.default_rng(7)
    monkeypatch.setattr(_grouped, "_CHUNK_ROWS", 1 << 20)
    n, k = 3_000_000, 60_000
    codes = rng.integers(0, k, size=n)
    values = np.sort(rng.integers(0, 10**15, size=n))
    weights = rng.gamma(2.0, 50.0, size=n)
    assert nondecreasing(values) and _grouped._assignment_keeps_last()
    assert _grouped._parts(n, k) > 1
    ref = _reference(codes, weights, values, k, NONE)
    with set_threads(1):
        one = group_stats(codes, weights, values, k, NONE)
    with set_threads(max(2, available_cores())):
        many = group_stats(codes, weights, values, k, NONE)
    _assert_matches(one, ref, exact_sums=False)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


def test_falls_back_to_maximum_at_if_numpy_wrote_in_another_order(monkeypatch):
    monkeypatch.setattr(_grouped, "_LAST_WINS", [False])
    codes = np.array([1, 0, 1, 1])
    values = np.array([1, 2, 3, 4])
    counts, sums, maxima = group_stats(codes, None, values, 3, -1)
    assert counts.tolist() == [1, 3, 0] and maxima.tolist() == [2, 4, -1]
    assert sums.tolist() == [1.0, 3.0, 0.0]


@given(st.lists(st.integers(-5, 5), max_size=50))
def test_nondecreasing_and_minimum(xs):
    a = np.array(xs, dtype=np.int64)
    assert nondecreasing(a) == all(x <= y for x, y in itertools.pairwise(xs))
    if xs:
        assert minimum(a) == min(xs)


def test_chunked_checks_cross_chunk_boundaries():
    """A decrease exactly at a chunk boundary, and a NaN in a late chunk, are seen."""
    a = np.arange(3 << 20, dtype=np.int64)
    a[1 << 20] = -1  # right after the first chunk's last pair
    with set_threads(2):
        assert not nondecreasing(a)
        f = np.ones(3 << 21)
        f[-1] = np.nan
        assert np.isnan(minimum(f))
        f[-1] = -2.0
        assert minimum(f) == -2.0


@given(st.lists(st.integers(0, 6), max_size=40), st.booleans())
def test_first_rows_match_minimum_at(codes, probe_fails):
    from touchpoint.frame._grouped import first_rows

    c = np.array(codes, dtype=np.int64)
    ref = np.full(8, len(c), dtype=np.int64)
    np.minimum.at(ref, c, np.arange(len(c)))
    with pytest.MonkeyPatch.context() as mp:
        if probe_fails:
            mp.setattr(_grouped, "_LAST_WINS", [False])
        np.testing.assert_array_equal(first_rows(c, 8), ref)


@settings(max_examples=200, deadline=None)
@given(
    codes=st.lists(st.integers(0, 6), max_size=60),
    times=st.lists(st.integers(-3, 3), max_size=60),
    ordered=st.booleans(),
    code_dtype=st.sampled_from([np.int8, np.int32, np.int64]),
)
def test_code_time_order_is_lexsorts_permutation(codes, times, ordered, code_dtype):
    """Rows by (code, time), ties in input order: np.lexsort's result exactly, whether the
    times are in order (the packed-key path) or not (a stable sort by time first)."""
    n = min(len(codes), len(times))
    c = np.array(codes[:n], dtype=code_dtype)
    t = np.array(times[:n], dtype=np.int64)
    if ordered:
        t = np.sort(t)
    np.testing.assert_array_equal(_grouped.code_time_order(c, t), np.lexsort((t, c)))


def test_code_time_order_reads_datetimes_and_large_inputs():
    rng = np.random.default_rng(5)
    c = rng.integers(0, 1_000, 200_000)
    t = np.sort(rng.integers(0, 10**6, 200_000)).astype("datetime64[us]")
    np.testing.assert_array_equal(_grouped.code_time_order(c, t), np.lexsort((t, c)))
    shuffled = rng.permutation(t)
    np.testing.assert_array_equal(_grouped.code_time_order(c, shuffled), np.lexsort((shuffled, c)))
