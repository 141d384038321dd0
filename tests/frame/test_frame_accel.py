"""The compiled accelerator (``accel`` extra, numba) gives numpy's results, bit for bit.

The kernels run from `_accel.MIN_ROWS` values; `every_size()` lowers that to 0 so
hypothesis' small examples take them. Each result is compared with the same call with
the accelerator off (the numpy and pandas paths, themselves checked against pandas and
numpy in test_frame_codes.py) and with pandas' factorize directly.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from touchpoint import set_accel
from touchpoint._threads import set_threads
from touchpoint.frame import _accel, factorize
from touchpoint.scoring import rfm

LOW, HIGH = -(2**63), 2**63 - 1


@st.composite
def integer_ids(draw):
    """Raw integer ids: a pool (13-digit, negative, at the int64 floor and ceiling, wide
    random), drawn with a skew (a few ids make most rows) or uniformly."""
    pool = draw(
        st.lists(
            st.one_of(
                st.integers(10**12, 10**13),
                st.integers(-(10**13), -(10**12)),
                st.integers(LOW, LOW + 3),
                st.integers(HIGH - 3, HIGH),
                st.integers(LOW, HIGH),
            ),
            min_size=1,
            max_size=40,
            unique=True,
        )
    )
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):  # skewed: Zipf-like weights
        weights = 1.0 / np.arange(1, len(pool) + 1) ** 1.5
        picks = rng.choice(len(pool), size=n, p=weights / weights.sum())
    else:
        picks = rng.integers(0, len(pool), size=n)
    return np.array(pool, dtype=np.int64)[picks]


@contextlib.contextmanager
def every_size():
    """Within the block, inputs of any size use the kernels."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_accel, "MIN_ROWS", 0)
        yield


def _both(values, sort, threads):
    """factorize with the accelerator forced on, then with it off."""
    with set_threads(threads):
        with every_size(), set_accel(True):
            fast = factorize(values, sort=sort)
        with set_accel(False):
            slow = factorize(values, sort=sort)
    return fast, slow


def test_numba_is_installed_with_the_test_extra():
    assert _accel.available()


@settings(max_examples=150, deadline=None)
@given(integer_ids(), st.sampled_from([True, False, None]), st.sampled_from([1, 2, 3]))
@example(np.array([LOW, HIGH, 0, -1, LOW, HIGH]), None, 2)
@example(np.array([HIGH]), True, 1)  # one customer
@example(np.array([], dtype=np.int64), None, 2)  # no rows
def test_factorize_wide_integers_equals_the_numpy_path(values, sort, threads):
    (codes, uniques), (want_codes, want_uniques) = _both(values, sort, threads)
    assert codes.dtype == want_codes.dtype == np.int64
    assert uniques.dtype == want_uniques.dtype
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(uniques[codes], values)
    if sort is False:  # first appearance, as pandas' hash table gives it
        pd_codes, pd_uniques = pd.factorize(values, sort=False)
        np.testing.assert_array_equal(codes, pd_codes)
        np.testing.assert_array_equal(uniques, pd_uniques)


@settings(max_examples=40, deadline=None)
@given(integer_ids(), st.sampled_from([True, False, None]))
def test_the_thread_count_changes_no_code(values, sort):
    # blocks of 16 rows, so that several threads really split the kernels' row passes
    with every_size(), set_accel(True), pytest.MonkeyPatch.context() as patch:
        patch.setattr(_accel, "_BLOCK_ROWS", 16)
        with set_threads(1):
            one = factorize(values, sort=sort)
        with set_threads(4):
            many = factorize(values, sort=sort)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


def test_many_blocks_and_partitions_on_a_larger_input(monkeypatch):
    """Rows cut into several blocks, keys spread over all 256 partitions, tables grown;
    the kernels are the ones that ran (a broken dispatch would compare numpy with itself)."""
    monkeypatch.setattr(_accel, "_BLOCK_ROWS", 1000)
    calls = []
    kernel = _accel.factorize_int64

    def counted(*args, **kwargs):
        calls.append(kwargs.get("ascending"))
        return kernel(*args, **kwargs)

    monkeypatch.setattr(_accel, "factorize_int64", counted)
    rng = np.random.default_rng(7)
    pool = rng.integers(LOW, HIGH, size=20_000, dtype=np.int64)
    values = pool[rng.zipf(1.3, size=50_000) % len(pool)]
    for sort in (True, False, None):
        (codes, uniques), (want_codes, want_uniques) = _both(values, sort, 2)
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(uniques, want_uniques)
    assert len(calls) == 3 and True in calls and False in calls  # every sort, only when on


def test_unsigned_and_narrow_integers_keep_their_type_and_order():
    values = np.array([2**64 - 1, 5, 2**63, 5, 2**64 - 1], dtype=np.uint64)
    for sort in (True, False, None):
        (codes, uniques), (want_codes, want_uniques) = _both(values, sort, 2)
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(uniques, want_uniques)
        assert uniques.dtype == np.uint64
    narrow = np.array([-(2**31), 2**31 - 1, 0, 2**31 - 1], dtype=np.int32)
    (codes, uniques), (want_codes, want_uniques) = _both(narrow, None, 2)
    np.testing.assert_array_equal(codes, want_codes)
    assert uniques.dtype == want_uniques.dtype == np.int32


ASOF = np.datetime64("2026-04-01", "us")


@settings(max_examples=60, deadline=None)
@given(integer_ids(), st.integers(0, 2**32 - 1), st.booleans())
def test_rfm_from_raw_integer_ids_is_the_same_frame_with_and_without(ids, seed, ordered):
    rng = np.random.default_rng(seed)
    n = len(ids)
    minutes = np.sort(rng.integers(0, 60 * 24 * 120, size=n))
    if not ordered:
        minutes = rng.permutation(minutes)
    times = np.datetime64("2026-01-01", "us") + minutes.astype("timedelta64[m]")
    amounts = rng.gamma(2.0, 40.0, size=n)
    amounts[rng.random(n) < 0.1] = np.nan
    for data in (
        {"customer": ids, "time": times, "amount": amounts},
        pa.table({"customer": ids, "time": times, "amount": amounts}),
    ):
        with set_accel(False):
            want = rfm(data, asof=ASOF).to_pandas()
        with every_size(), set_accel(True):  # whatever TOUCHPOINT_ACCEL says
            for threads in (1, 2):
                with set_threads(threads):
                    got = rfm(data, asof=ASOF).to_pandas()
                pd.testing.assert_frame_equal(got, want, check_exact=True)  # incl. row order


def test_below_the_threshold_or_switched_off_the_kernels_do_not_run(monkeypatch):
    monkeypatch.delenv("TOUCHPOINT_ACCEL", raising=False)
    assert not _accel.wanted(_accel.MIN_ROWS - 1)
    assert _accel.wanted(_accel.MIN_ROWS)
    monkeypatch.setenv("TOUCHPOINT_ACCEL", "0")
    assert not _accel.wanted(_accel.MIN_ROWS)
    with set_accel(True):  # the function beats the environment
        assert _accel.wanted(_accel.MIN_ROWS)


def test_small_inputs_never_import_numba():
    code = (
        "import sys, numpy as np\n"
        "from touchpoint.frame import factorize\n"
        "from touchpoint.scoring import rfm\n"
        "ids = np.array([10**12, -(2**63), 2**63 - 1] * 1000)\n"
        "factorize(ids, sort=None)\n"
        "rfm({'customer': ids, 'time': np.arange(len(ids)).astype('datetime64[s]'),"
        " 'amount': np.ones(len(ids))})\n"
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("raw", ["0", "false", "No", " off "])
def test_the_environment_turns_it_off(monkeypatch, raw):
    monkeypatch.setenv("TOUCHPOINT_ACCEL", raw)
    with every_size():
        assert not _accel.wanted(10)
