"""BG/NBD on large, skewed summaries: the fast path reaches the same maximum as the plain one.

Large fits start from a subsample, carry the Hessian by secant updates, compute the
log-gamma terms once per distinct time and sum the repeat buyers in chunks on threads.
None of that may change the answer: these tests fit a skewed event log's summary (times
in whole days, customers acquired all through two years, lognormal activity) both ways.
"""

import numpy as np
import pytest

from touchpoint._threads import available_cores, set_threads
from touchpoint.clv import BetaGeo, _bgnbd, customer_summary


def skewed_summary(n_customers: int, seed: int) -> dict[str, np.ndarray]:
    """The day-resolution summary of a skewed two-year event log (about 6 events each)."""
    rng = np.random.default_rng(seed)
    weight = rng.lognormal(0.0, 1.2, n_customers)
    counts = rng.multinomial(5 * n_customers, weight / weight.sum()) + 1
    customer = np.repeat(np.arange(n_customers), counts)
    acquired = rng.integers(0, 730, n_customers)
    day = acquired[customer] + (rng.random(len(customer)) * (730 - acquired[customer])).astype(
        np.int64
    )
    s = customer_summary(
        {"customer": customer, "time": np.datetime64("2023-01-01") + day.astype("timedelta64[D]")},
        asof="2024-12-31",
    )
    return {c: np.asarray(s[c], dtype=np.float64) / 7.0 for c in ("recency", "T")} | {
        "frequency": np.asarray(s["frequency"], dtype=np.float64)
    }


@pytest.fixture(scope="module")
def large():
    return skewed_summary(120_000, seed=5)


def test_large_fit_equals_the_plain_fit_of_every_customer(large, monkeypatch):
    """Subsample start + secant Hessian + per-time tables + chunks against a plain
    trust-region Newton over every customer with per-row arithmetic."""
    with monkeypatch.context() as m:
        m.setattr(_bgnbd, "_CHUNK", 10_000)  # several chunks on this size
        fast = BetaGeo().fit(large)
    assert fast.iterations_ > 0
    with monkeypatch.context() as m:
        m.setattr(_bgnbd, "_WARM_START", 10**9)  # no subsample: maximise over all
        m.setattr(_bgnbd, "_table", lambda times, x: None)  # per-row log-gamma terms
        plain = BetaGeo().fit(large)
    assert fast.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-12)
    # the same maximum: the likelihood agrees to 1e-12, and the parameters to a
    # ten-thousandth of their standard errors (a flat direction, here b, is pinned no
    # closer by either path's stopping rule: 1e-6 relative held on one CPU, not another)
    for name in ("r", "alpha", "a", "b"):
        gap = abs(fast.params_[name] - plain.params_[name])
        assert gap <= 1e-4 * plain.standard_errors_[name], name
        assert fast.standard_errors_[name] == pytest.approx(
            plain.standard_errors_[name], rel=1e-4
        ), name


def test_thread_count_does_not_change_the_fit(large, monkeypatch):
    """Chunks are fixed by the data size and summed in order: 1 thread and all cores
    give bit-equal parameters, standard errors and log-likelihood."""
    monkeypatch.setattr(_bgnbd, "_CHUNK", 10_000)
    with set_threads(1):
        one = BetaGeo().fit(large)
    with set_threads(max(2, available_cores())):
        every = BetaGeo().fit(large)
    assert one.params_ == every.params_
    assert one.standard_errors_ == every.standard_errors_
    assert one.log_likelihood_ == every.log_likelihood_


def test_per_time_tables_agree_with_per_row_terms():
    """The likelihood and gradient from distinct-time tables equal the per-row ones to
    rounding, at a point inside the box and next to each limit."""
    s = skewed_summary(20_000, seed=2)
    x, t_x, T = s["frequency"], s["recency"], s["T"]
    scale = 10.0 / T.max()
    tabled = _bgnbd._Data(x, t_x, T, scale, False)
    assert tabled.T_table is not None and tabled.t_table is not None
    plain = _bgnbd._Data(x, t_x, T, scale, False)
    plain.T_table = plain.t_table = None
    plain.triples = None
    for theta in (
        np.array([0.3, 0.8, 0.2, 0.5]),
        np.array([0.3, 0.8, 1e-9, 0.5]),  # next to no dropout
        np.array([-0.5, 2.0, 0.5, 1e-9]),  # next to equal dropout chances
    ):
        v1, g1 = _bgnbd._nll_grad(theta, tabled)
        v2, g2 = _bgnbd._nll_grad(theta, plain)
        assert v1 == pytest.approx(v2, rel=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-9 * np.abs(g2).max())


def test_continuous_times_take_the_per_row_path():
    """Times with (almost) all values distinct build no table: no sort is wasted."""
    rng = np.random.default_rng(0)
    T = rng.uniform(1, 52, 5_000)
    x = rng.integers(1, 5, 5_000).astype(float)
    d = _bgnbd._Data(x, T * rng.random(5_000), T, 0.2, False)
    assert d.T_table is None and d.t_table is None


LIFETIMES_FIT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from lifetimes import BetaGeoFitter
d = np.load(sys.argv[1])
f = BetaGeoFitter(penalizer_coef=0.0).fit(d["frequency"], d["recency"], d["T"])
print(json.dumps({k: float(v) for k, v in f.params_.items()}))
"""


@pytest.mark.slow
def test_skewed_shape_parameters_match_lifetimes(run_lifetimes, tmp_path):
    """The issue's realistic shape (skewed activity, acquisition all through the period,
    days): the same maximum as lifetimes, to the tolerance of the CDNOW comparison."""
    s = skewed_summary(30_000, seed=1)
    np.savez(tmp_path / "summary.npz", **s)
    theirs = run_lifetimes(LIFETIMES_FIT, str(tmp_path / "summary.npz"))
    ours = BetaGeo().fit(s)
    assert not ours.limit_
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(theirs[name], rel=1e-4), name


def test_repeat_buyers_alike_are_summed_once_with_their_counts():
    """Times in whole weeks: many repeat buyers share (x, t_x, T). Summing each triple
    once, weighted by its count, gives the per-row likelihood and gradient."""
    s = skewed_summary(20_000, seed=4)
    x, t_x, T = s["frequency"], np.floor(s["recency"]), np.floor(s["T"]) + 1.0
    compressed = _bgnbd._Data(x, t_x, T, 0.1, False)
    assert compressed.triples is not None
    assert len(compressed.triples[0]) < len(compressed.x1) // 2
    assert compressed.triples[3].sum() == len(compressed.x1)
    plain = _bgnbd._Data(x, t_x, T, 0.1, False)
    plain.T_table = plain.t_table = None
    plain.triples = None
    for theta in (np.array([0.3, 0.8, 0.2, 0.5]), np.array([-1.0, 1.5, 0.05, 2.0])):
        v1, g1 = _bgnbd._nll_grad(theta, compressed)
        v2, g2 = _bgnbd._nll_grad(theta, plain)
        assert v1 == pytest.approx(v2, rel=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-9 * np.abs(g2).max())
