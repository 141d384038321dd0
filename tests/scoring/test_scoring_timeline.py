"""The per-customer running sums behind the loyalty programme and count indicators."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.scoring._timeline import (
    add_months,
    count_within,
    cumulative_at,
    cumulative_self,
    running_max_before,
    segmented_cumsum,
)

rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 50), st.integers(0, 9)), max_size=30)


@given(rows, rows, st.sampled_from([1, 2**57]))
def test_cumulative_at_matches_brute_force(src, queries, scale):
    # scale 2**57 pushes the composite keys out of int64 range: the time-rank path
    sc = np.array([r[0] for r in src], dtype=np.int64)
    st_ = np.array([r[1] for r in src], dtype=np.int64) * scale
    v = np.array([r[2] for r in src], dtype=float)
    qc = np.array([r[0] for r in queries], dtype=np.int64)
    qt = np.array([r[1] for r in queries], dtype=np.int64) * scale
    got = cumulative_at(sc, st_, v, qc, qt)
    expected = [v[(sc == c) & (st_ <= t)].sum() for c, t in zip(qc, qt, strict=True)]
    np.testing.assert_allclose(got, expected)
    best = running_max_before(sc, st_, v, qc, qt)
    for b, c, t in zip(best, qc, qt, strict=True):
        mine = v[(sc == c) & (st_ < t)]
        assert b == (mine.max() if len(mine) else -np.inf)


def test_add_months_clamps_to_month_end_and_keeps_time_of_day():
    t = np.array(["2024-01-31T08:30", "2024-02-29", "2023-03-31"], dtype="datetime64[us]")
    out = add_months(t, 1).astype("datetime64[m]").astype(str).tolist()
    assert out == ["2024-02-29T08:30", "2024-03-29T00:00", "2023-04-30T00:00"]
    assert add_months(t, -12).astype("datetime64[D]").astype(str).tolist() == [
        "2023-01-31",
        "2023-02-28",
        "2022-03-31",
    ]


@given(
    st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=40),
    st.lists(st.floats(0, 1e15, allow_nan=False), min_size=1, max_size=40),
)
def test_a_customers_running_sum_ignores_everyone_else(mine, others):
    """Huge totals of other customers must not leak rounding into a small customer's sums
    (on Dask, which customers share a partition depends on the partitioning)."""
    t_mine = np.arange(len(mine), dtype=np.int64)
    me = np.ones(len(mine), np.int64)  # customer 1: the others (customer 0) sort first
    alone = cumulative_at(me, t_mine, np.array(mine), me, t_mine)
    src_c = np.concatenate((np.zeros(len(others), np.int64), me))
    src_t = np.concatenate((np.arange(len(others), dtype=np.int64), t_mine))
    values = np.concatenate((np.array(others), np.array(mine)))
    together = cumulative_at(src_c, src_t, values, me, t_mine)
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_allclose(alone, np.cumsum(mine), rtol=1e-12)


def test_segmented_cumsum_restarts_at_each_segment():
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    starts = np.array([True, False, False, True, True, False])
    np.testing.assert_array_equal(segmented_cumsum(v, starts), [1, 3, 6, 4, 5, 11])


windows = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 50), st.integers(0, 20)), max_size=30
)


@given(rows, windows, st.sampled_from([1, 2**56]))
def test_count_within_matches_brute_force(src, queries, scale):
    # scale 2**56: customer x time keys no longer fit in int64, the time-rank path runs
    sc = np.array([r[0] for r in src], dtype=np.int64)
    st_ = np.array([r[1] for r in src], dtype=np.int64) * scale
    qc = np.array([q[0] for q in queries], dtype=np.int64)
    start = np.array([q[1] for q in queries], dtype=np.int64) * scale
    end = start + np.array([q[2] for q in queries], dtype=np.int64) * scale
    got = count_within(sc, st_, qc, start, end)
    expected = [
        int(((sc == c) & (st_ > a) & (st_ <= b)).sum())
        for c, a, b in zip(qc, start, end, strict=True)
    ]
    assert got.tolist() == expected
    # the same as the difference of two running counts (the path it replaced)
    ones = np.ones(len(sc))
    old = cumulative_at(sc, st_, ones, qc, end) - cumulative_at(sc, st_, ones, qc, start)
    assert got.tolist() == np.rint(old).astype(np.int64).tolist()


@given(rows, st.sampled_from([1, 2**57]))
def test_cumulative_self_matches_brute_force_and_the_joint_sort(src, scale):
    # the rows are their own queries (points expiring by each expiry instant); ties of
    # (customer, time) all count each other
    c = np.array([r[0] for r in src], dtype=np.int64)
    t = np.array([r[1] for r in src], dtype=np.int64) * scale
    v = np.array([r[2] for r in src], dtype=float) / 7
    got = cumulative_self(c, t, v)
    expected = [v[(c == ci) & (t <= ti)].sum() for ci, ti in zip(c, t, strict=True)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, cumulative_at(c, t, v, c, t), rtol=1e-12)
    # time-ordered rows take the sort-by-customer path: the same sums, row for row
    by_time = np.argsort(t, kind="stable")
    in_order = cumulative_self(c[by_time], t[by_time], v[by_time])
    np.testing.assert_allclose(in_order, got[by_time], rtol=1e-12)


@given(
    st.lists(st.tuples(st.booleans(), st.floats(-1e6, 1e6)), max_size=60),
    st.integers(1, 8),
)
def test_segmented_cumsum_blocks_and_threads_change_nothing(rows, block):
    """Blocks of whole segments on 1 or 3 threads give bit-equal sums, equal to a plain
    running sum restarted at each segment."""
    import pytest

    import touchpoint.scoring._timeline as impl
    from touchpoint._threads import set_threads

    starts = np.array([r[0] for r in rows], dtype=bool)
    values = np.array([r[1] for r in rows])
    whole = segmented_cumsum(values, starts)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(impl, "SEGMENT_BLOCK", block)
        with set_threads(1):
            one = segmented_cumsum(values, starts)
        with set_threads(3):
            many = segmented_cumsum(values, starts)
    assert one.tobytes() == many.tobytes() == whole.tobytes()
    expected, running = [], 0.0
    for i, (s, v) in enumerate(rows):
        running = v if (s or i == 0) else running + v
        expected.append(running)
    np.testing.assert_allclose(whole, expected, rtol=1e-9, atol=1e-6)
