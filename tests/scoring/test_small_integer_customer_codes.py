"""Scores given customer codes in a small integer type (int16, int32) by a coded frame.

A `touchpoint.frame.ScoreFrame` keeps the codes it is given; several scores combined a
customer code with a day or period number (``code * span + day``) in the codes' own
type, which overflowed: `churn_risk` raised "'list' argument must have no negative
elements" on 30,000 customers over 1,000 days in int16. Each result must equal the one
from int64 codes.
"""

import warnings

import numpy as np
import pytest

from touchpoint.clv import customer_summary
from touchpoint.frame import ScoreFrame
from touchpoint.journeys import retention
from touchpoint.scoring import churn_risk


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(4)
    k, n = 30_000, 120_000
    codes = rng.integers(0, k, n)
    days = rng.integers(0, 1_000, n).astype("timedelta64[D]")
    time = (np.datetime64("2024-01-01") + days).astype("datetime64[us]")
    ids = np.array([f"C{i:05d}" for i in range(k)], dtype=object)
    return codes, time, rng.uniform(1, 100, n), ids


def frames(events, dtype):
    codes, time, amount, ids = events
    return ScoreFrame(
        {"customer": codes.astype(dtype), "time": time, "amount": amount}, {"customer": ids}
    )


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize(
    "score",
    [
        lambda d: churn_risk(d, asof="2026-10-01"),
        lambda d: customer_summary(d, asof="2026-10-01"),
        lambda d: retention(d, period="M", asof="2026-10-01").table,
    ],
    ids=["churn_risk", "customer_summary", "retention"],
)
def test_small_integer_codes_give_the_int64_result(events, dtype, score):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (churn_risk's fit on random data warns of a limit)
        want = score(frames(events, np.int64))
        got = score(frames(events, dtype))
    assert list(got.columns) == list(want.columns)
    for name in want.columns:
        a, b = np.asarray(got[name]), np.asarray(want[name])
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b)
        else:
            assert a.tolist() == b.tolist(), name
