"""The thread count (default, environment, set_threads) and the pool helper the kernels use."""

import itertools
import multiprocessing
import os
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import _threads
from touchpoint._threads import (
    ENV,
    available_cores,
    chunk_bounds,
    empty,
    get_accel,
    get_threads,
    map_chunks,
    parallel_map,
    set_accel,
    set_threads,
)
from touchpoint.errors import ValidationError


@pytest.fixture(autouse=True)
def _default_setting(monkeypatch):
    """Each test starts from the default: no set_threads, no environment variable."""
    monkeypatch.delenv(ENV, raising=False)
    with set_threads(None):
        yield


def test_default_is_every_core_this_process_may_use():
    assert available_cores() == len(os.sched_getaffinity(0))
    assert get_threads() == available_cores()


def test_the_affinity_mask_limits_the_default(monkeypatch):
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5})
    assert available_cores() == 3
    assert get_threads() == 3


def test_environment_variable_sets_the_count_and_is_read_each_time(monkeypatch):
    monkeypatch.setenv(ENV, "3")
    assert get_threads() == 3
    monkeypatch.setenv(ENV, " 7 ")
    assert get_threads() == 7
    monkeypatch.setenv(ENV, "")
    assert get_threads() == available_cores()


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_a_bad_environment_variable_is_refused_naming_it(monkeypatch, raw):
    monkeypatch.setenv(ENV, raw)
    with pytest.raises(ValidationError) as err:
        get_threads()
    problem = err.value.problems[0]
    assert problem.path == ENV and problem.value == raw


def test_set_threads_beats_the_environment_and_none_goes_back(monkeypatch):
    monkeypatch.setenv(ENV, "5")
    set_threads(2)
    assert get_threads() == 2
    set_threads(None)
    assert get_threads() == 5


def test_the_context_manager_restores_the_previous_setting_even_on_error():
    set_threads(3)
    with set_threads(1):
        assert get_threads() == 1
        with set_threads(4):
            assert get_threads() == 4
        assert get_threads() == 1
    assert get_threads() == 3
    with pytest.raises(RuntimeError), set_threads(2):
        raise RuntimeError("boom")
    assert get_threads() == 3


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "2"])
def test_set_threads_refuses_what_is_not_a_count(bad):
    with pytest.raises(ValidationError) as err:
        set_threads(bad)
    assert err.value.problems[0].path == "threads"
    assert get_threads() == available_cores()  # unchanged


def test_parallel_map_keeps_the_order_of_the_items():
    assert parallel_map(lambda i: i * i, range(50), threads=3) == [i * i for i in range(50)]
    assert parallel_map(lambda i: i, [], threads=3) == []


def test_parallel_map_runs_calls_at_the_same_time():
    # each call waits until the other has started: passes only if they run concurrently
    barrier = threading.Barrier(2, timeout=10)
    idents = parallel_map(lambda i: (barrier.wait(), threading.get_ident())[1], range(2), threads=2)
    assert len(set(idents)) == 2
    assert threading.get_ident() in idents  # the calling thread takes part


def test_parallel_map_on_one_thread_stays_in_the_caller():
    me = threading.get_ident()
    assert set(parallel_map(lambda i: threading.get_ident(), range(8), threads=1)) == {me}
    with set_threads(1):
        assert set(parallel_map(lambda i: threading.get_ident(), range(8))) == {me}


def test_parallel_map_never_runs_more_threads_than_asked():
    with set_threads(8):
        parallel_map(lambda i: i, range(16))  # the pool now has 7 workers
    active, most, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        np.sort(np.random.default_rng(i).random(200_000))  # releases the GIL
        with lock:
            active[0] -= 1

    parallel_map(work, range(40), threads=2)
    assert most[0] <= 2


def test_the_earliest_failing_item_raises_and_later_items_do_not_start():
    started = []

    def work(i):
        started.append(i)
        if i >= 3:
            raise ValueError(f"item {i}")
        return i

    with pytest.raises(ValueError, match="item 3"):
        parallel_map(work, range(100), threads=2)
    assert len(started) < 100


def test_nested_use_runs_inline_instead_of_deadlocking():
    def outer(i):
        return sum(parallel_map(lambda j: i * j, range(4), threads=2))

    assert parallel_map(outer, range(6), threads=2) == [6 * i for i in range(6)]


@given(st.integers(0, 10_000), st.integers(1, 3_000), st.none() | st.integers(1, 64))
def test_chunk_bounds_cover_the_range_in_even_contiguous_chunks(n, min_size, parts):
    bounds = chunk_bounds(n, min_size=min_size, parts=parts)
    if n == 0:
        assert bounds == []
        return
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(b[1] == c[0] for b, c in itertools.pairwise(bounds))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1
    assert len(bounds) == 1 or min(sizes) >= min_size
    if parts is not None:
        assert len(bounds) <= parts


def test_chunks_depend_on_the_data_size_not_on_the_thread_count():
    with set_threads(1):
        one = chunk_bounds(5_000_000)
    with set_threads(16):
        many = chunk_bounds(5_000_000)
    assert one == many and len(one) > 1


def test_map_chunks_float_sums_are_bit_equal_on_one_thread_and_many():
    x = np.random.default_rng(0).lognormal(size=1_000_003)
    results = []
    for threads in (1, 2, max(3, available_cores())):
        with set_threads(threads):
            parts = map_chunks(lambda a, b: x[a:b].sum(), len(x), min_size=10_000)
        results.append(sum(parts))
    assert results[0] == results[1] == results[2]
    assert results[0] == pytest.approx(x.sum(), rel=1e-12)


@pytest.mark.parametrize("shape", [0, 5, (3, 4), _threads.PREFAULT_BYTES // 8 + 1, (1024, 257)])
@pytest.mark.parametrize("threads", [1, 2])
def test_empty_gives_the_shape_and_type_asked_for(shape, threads):
    with set_threads(threads):
        out = empty(shape, dtype=np.int64)
    assert out.shape == np.empty(shape).shape and out.dtype == np.int64
    assert out.flags.c_contiguous and out.flags.writeable
    out.fill(7)
    assert (out == 7).all()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page-fault counts from Linux")
def test_empty_maps_the_pages_before_the_threads_write_them():
    """What `empty` is for: threads filling the array take no page faults of their own."""
    import resource

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    size = 64 << 20
    with set_threads(2):
        out = empty(size, dtype=np.uint8)
        before = faults()
        out.fill(1)
        assert faults() - before < 8  # 16,384 pages of 4 KiB, or 32 of 2 MiB, unmapped
    with set_threads(1):  # one thread: nothing to gain, left to the first write
        lazy = empty(size, dtype=np.uint8)
        before = faults()
        lazy.fill(1)
        assert faults() - before >= 32


def test_the_pool_grows_when_more_threads_are_asked_for():
    assert parallel_map(lambda i: i, range(4), threads=2) == [0, 1, 2, 3]
    barrier = threading.Barrier(4, timeout=10)
    idents = parallel_map(lambda i: (barrier.wait(), threading.get_ident())[1], range(4), threads=4)
    assert len(set(idents)) == 4


def _child(queue):
    queue.put(parallel_map(lambda i: i + 1, range(6), threads=2))


def test_a_forked_child_gets_a_pool_of_its_own():
    parallel_map(lambda i: i, range(4), threads=2)  # the parent has a pool with threads
    assert _threads._pool is not None
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    result = queue.get(timeout=30)
    proc.join(timeout=30)
    assert result == [1, 2, 3, 4, 5, 6]
    assert proc.exitcode == 0


def test_the_accelerator_is_on_by_default_and_the_environment_turns_it_off(monkeypatch):
    monkeypatch.delenv("TOUCHPOINT_ACCEL", raising=False)
    assert get_accel() is True
    monkeypatch.setenv("TOUCHPOINT_ACCEL", "0")
    assert get_accel() is False
    monkeypatch.setenv("TOUCHPOINT_ACCEL", "1")
    assert get_accel() is True


def test_set_accel_beats_the_environment_restores_and_none_goes_back(monkeypatch):
    monkeypatch.setenv("TOUCHPOINT_ACCEL", "off")
    with set_accel(True):
        assert get_accel() is True
        with set_accel(False):
            assert get_accel() is False
        assert get_accel() is True
    assert get_accel() is False
    set_accel(True)
    try:
        assert get_accel() is True
    finally:
        set_accel(None)
    assert get_accel() is False


@pytest.mark.parametrize("bad", [1, "yes", 0.0])
def test_set_accel_refuses_what_is_not_a_switch(bad):
    with pytest.raises(ValidationError, match="accel"):
        set_accel(bad)
