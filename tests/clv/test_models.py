"""BG/NBD and Gamma-Gamma: gradients, recovery of simulated parameters, degenerate input."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.clv import BetaGeo, GammaGamma, _bgnbd, _gammagamma, customer_summary
from touchpoint.errors import ValidationError

DATA = Path(__file__).resolve().parent / "data"
CDNOW = np.genfromtxt(
    DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
)


def simulate_bgnbd(n, r, alpha, a, b, T, seed):
    """BG/NBD customers by the model's story: Poisson purchases, geometric dropout."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    k = rng.poisson(lam * T)  # purchases in (0, T] had the customer stayed alive
    n_alive = rng.geometric(p)  # the repeat purchase after which the customer drops out
    x = np.minimum(k, n_alive)
    # the x-th of k uniform arrival times in (0, T] is T * Beta(x, k - x + 1)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
    return {"frequency": x.astype(float), "recency": t_x, "T": T}


@given(r=st.floats(0.1, 3), alpha=st.floats(0.5, 20), a=st.floats(0.2, 3), b=st.floats(0.5, 5))
@settings(max_examples=25)
def test_bgnbd_gradient_is_the_derivative_of_the_likelihood(r, alpha, a, b):
    data = _bgnbd._Data(CDNOW["x"], CDNOW["t_x"], CDNOW["T"], 1.0)
    params = np.array([r, alpha, a, b])
    _, grad = _bgnbd._nll_grad(params, data)
    for j in range(4):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        numeric = (_bgnbd._nll_grad(up, data)[0] - _bgnbd._nll_grad(down, data)[0]) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_bgnbd_likelihood_matches_the_paper_formula_customer_by_customer():
    from scipy.special import betaln, gammaln

    r, alpha, a, b = 0.3, 5.0, 0.9, 2.0
    x, t, T = CDNOW["x"], CDNOW["t_x"], CDNOW["T"]
    # FHL (2005) eq. 6, written directly
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = np.exp(betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + T))
    dead = np.where(
        x > 0,
        np.exp(betaln(a + 1, b + x - 1) - betaln(a, b) + common - (r + x) * np.log(alpha + t)),
        0.0,
    )
    expected = np.log(alive + dead).sum()
    got = -_bgnbd._nll_grad(np.array([r, alpha, a, b]), _bgnbd._Data(x, t, T, 1.0))[0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_gammagamma_gradient_is_the_derivative_of_the_likelihood():
    rep = CDNOW["x"] > 0
    xv, k = np.unique(CDNOW["x"][rep], return_inverse=True)
    m = CDNOW["zbar"][rep]
    params = np.array([4.0, 2.5, 20.0])
    _, grad = _gammagamma._nll_grad(params, xv, k, m)
    for j in range(3):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        numeric = (
            _gammagamma._nll_grad(up, xv, k, m)[0] - _gammagamma._nll_grad(down, xv, k, m)[0]
        ) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=1e-5)


def test_bgnbd_recovers_simulated_parameters_within_their_standard_errors():
    rng = np.random.default_rng(1)
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    s = simulate_bgnbd(30_000, T=rng.uniform(20, 52, 30_000), seed=2, **truth)
    bg = BetaGeo().fit(s)
    for name, value in truth.items():
        assert abs(bg.params_[name] - value) < 4 * bg.standard_errors_[name], name


def test_expected_purchases_of_a_new_customer_match_simulation():
    params = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    bg = BetaGeo()
    bg.params_ = params
    s = simulate_bgnbd(400_000, T=30.0, seed=3, **params)
    mean, se = s["frequency"].mean(), s["frequency"].std() / np.sqrt(400_000)
    assert abs(float(bg.expected_purchases_new(30.0)) - mean) < 4 * se


def test_gammagamma_recovers_simulated_parameters():
    rng = np.random.default_rng(4)
    p, q, v = 5.0, 3.0, 20.0
    n = 20_000
    nu = rng.gamma(q, 1.0 / v, n)
    x = rng.integers(1, 8, n)
    m = rng.gamma(p * x, 1.0 / (nu * x))  # the mean of x Gamma(p, nu) spends
    gg = GammaGamma().fit({"frequency": x, "monetary_value": m})
    for name, value in {"p": p, "q": q, "v": v}.items():
        assert abs(gg.params_[name] - value) < 4 * gg.standard_errors_[name], name


def test_probability_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    bg = BetaGeo().fit({"frequency": CDNOW["x"], "recency": CDNOW["t_x"], "T": CDNOW["T"]})
    p = bg.probability_alive(
        {"frequency": [0, 3, 3, 3], "recency": [0.0, 35.0, 20.0, 5.0], "T": [38.0] * 4}
    )
    assert p[0] == 1.0
    assert 1.0 > p[1] > p[2] > p[3] > 0.0


def test_all_customers_with_one_purchase_cannot_be_fitted():
    s = customer_summary(
        {"customer": [1, 2, 3], "time": ["2024-01-01", "2024-01-05", "2024-02-01"]}
    )
    with pytest.raises(ValidationError, match="no customer made a repeat purchase"):
        BetaGeo().fit(s)
    with pytest.raises(ValidationError, match="at least two repeat buyers"):
        GammaGamma().fit(s)


def test_gammagamma_needs_spread_in_spend():
    with pytest.raises(ValidationError, match="same average spend"):
        GammaGamma().fit({"frequency": [1, 2, 3], "monetary_value": [10.0, 10.0, 10.0]})


@pytest.mark.parametrize(
    ("summary", "match"),
    [
        (
            {"frequency": [1, -1], "recency": [1.0, 0.0], "T": [5.0, 5.0]},
            r"frequency'\]\[1\].*whole number",
        ),
        ({"frequency": [1.5], "recency": [1.0], "T": [5.0]}, "whole number"),
        ({"frequency": [1], "recency": [9.0], "T": [5.0]}, r"recency'\]\[0\].*after the end"),
        ({"frequency": [1], "recency": [np.nan], "T": [5.0]}, "finite"),
        ({"frequency": [1], "recency": [1.0]}, "'T'"),
    ],
)
def test_bad_summaries_name_the_column_and_row(summary, match):
    with pytest.raises(ValidationError, match=match):
        BetaGeo().fit(summary)


def test_prediction_before_fitting_is_an_error():
    with pytest.raises(ValidationError, match="not fitted"):
        BetaGeo().probability_alive({"frequency": [0], "recency": [0.0], "T": [1.0]})
    with pytest.raises(ValidationError, match="not fitted"):
        GammaGamma().expected_average_spend({"frequency": [0], "monetary_value": [0.0]})


def test_repeat_buyer_with_zero_spend_is_rejected():
    with pytest.raises(ValidationError, match=r"monetary_value'\]\[1\]"):
        GammaGamma().fit({"frequency": [1, 2, 1], "monetary_value": [3.0, 0.0, 5.0]})


def test_large_fits_refined_from_a_subsample_reach_the_same_maximum(monkeypatch):
    s = simulate_bgnbd(
        40_000, 0.4, 5.0, 0.7, 3.0, T=np.random.default_rng(6).uniform(10, 52, 40_000), seed=7
    )
    plain = BetaGeo().fit(s)
    monkeypatch.setattr(_bgnbd, "_WARM_START", 2_000)  # the subsample path
    refined = BetaGeo().fit(s)
    for name in ("r", "alpha", "a", "b"):
        assert refined.params_[name] == pytest.approx(plain.params_[name], rel=1e-6)
        assert refined.standard_errors_[name] == pytest.approx(
            plain.standard_errors_[name], rel=1e-4
        )
    assert refined.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-12)
