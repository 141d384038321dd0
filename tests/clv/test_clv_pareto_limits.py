"""Pareto/NBD at the no-dropout limit, and its gradient where the integrand is steep.

References are independent: the NBD model's likelihood maximised by scipy, adaptive
quadrature (scipy's ``quad``) for the likelihood, and the known truth of simulations.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import gammaln

from touchpoint.clv import ParetoNBD
from touchpoint.clv._pareto import _Data, _dropout_score, _nll_grad, _unpack
from touchpoint.errors import BoundaryFitWarning


def still_buying(n, seed):
    """Customers who all bought again just before the end of their history."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 60, n)
    return {
        "frequency": rng.integers(1, 10, n).astype(float),
        "recency": T - rng.uniform(0, 0.5, n),
        "T": T,
    }


def nbd_population(n, seed, r=0.6, alpha=8.0):
    """The NBD model's story: Gamma(r, alpha) purchase rates, nobody ever leaves."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 60, n)
    x = rng.poisson(rng.gamma(r, 1 / alpha, n) * T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return {"frequency": x.astype(float), "recency": t_x, "T": T}


def nbd_fit(d):
    """r, alpha of the NBD model by scipy (the likelihood written from its definition)."""
    x, T = d["frequency"], d["T"]

    def nll(p):
        r, alpha = np.exp(p)
        return -np.sum(
            gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
        )

    res = minimize(
        nll,
        np.log([1.0, 10.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    return np.exp(res.x), -res.fun


def fit_warned(d):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ParetoNBD().fit(d)
    return model, [w for w in caught if issubclass(w.category, BoundaryFitWarning)]


def test_everyone_still_buying_fits_the_no_dropout_limit():
    d = still_buying(400, 2)
    model, warned = fit_warned(d)
    assert model.limit_ == ("no dropout",) and len(warned) == 1
    assert "no dropout" in str(warned[0].message)
    (r, alpha), ll = nbd_fit(d)
    assert model.params_["r"] == pytest.approx(r, rel=1e-4)
    assert model.params_["alpha"] == pytest.approx(alpha, rel=1e-4)
    assert model.log_likelihood_ == pytest.approx(ll, abs=1e-6 * abs(ll))
    assert model.population_["mean_death_rate"] < 1e-9
    assert math.isnan(model.standard_errors_["s"]) and math.isnan(model.standard_errors_["beta"])
    assert np.isfinite(model.standard_errors_["r"]) and np.isfinite(model.standard_errors_["alpha"])
    # the NBD's predictions: alive for sure, (r + x)/(alpha + T) purchases per unit of time
    alive = model.probability_alive(d).to_numpy()
    expected = model.expected_purchases(d, 10.0).to_numpy()
    assert np.all(alive > 1 - 1e-6)
    want = (r + d["frequency"]) / (alpha + d["T"]) * 10.0
    np.testing.assert_allclose(expected, want, rtol=1e-4)


def test_a_population_without_dropout_is_recovered():
    """Simulated by the NBD's story (r=0.6, alpha=8): no dropout found, r and alpha recovered."""
    model, _ = fit_warned(nbd_population(3000, 0))
    assert "no dropout" in model.limit_ or model.population_["mean_death_rate"] < 1e-3
    for name, truth in (("r", 0.6), ("alpha", 8.0)):
        se = model.standard_errors_[name]
        assert abs(model.params_[name] - truth) < 4 * se, (name, model.params_[name], se)


def test_dropout_is_still_found_where_customers_left():
    """CDNOW-like customers who stopped buying: the score says dropout helps; no limit."""
    rng = np.random.default_rng(1)
    n = 600
    T = rng.uniform(20, 60, n)
    alive_for = np.minimum(rng.exponential(1 / rng.gamma(0.8, 1 / 12, n)), T)
    x = rng.poisson(rng.gamma(0.6, 1 / 8, n) * alive_for).astype(float)
    t_x = np.where(x > 0, alive_for * rng.beta(np.maximum(x, 1), 1), 0.0)
    data = _Data(x, t_x, T, 10.0 / T.max())
    assert _dropout_score(data, 0.6, 8.0 * 10.0 / T.max()) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 25), seed=st.integers(0, 10_000), gap=st.floats(0.0, 0.5))
def test_small_samples_without_dropout_converge_to_the_named_limit(n, seed, gap):
    """Everyone bought again within ``gap`` % of the end of their history."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 60, n)
    d = {
        "frequency": rng.integers(1, 6, n).astype(float),
        "recency": T * (1 - gap / 100 * rng.random(n)),
        "T": T,
    }
    model, warned = fit_warned(d)
    assert model.limit_[0] == "no dropout" and len(warned) == 1
    assert np.isfinite(list(model.params_.values())).all()
    alive = model.probability_alive(d).to_numpy()
    expected = model.expected_purchases(d, 5.0).to_numpy()
    assert np.isfinite(alive).all() and np.isfinite(expected).all()
    assert ((alive >= 0) & (alive <= 1)).all() and (expected >= 0).all()


def test_dropout_score_is_the_slope_of_the_likelihood_at_no_dropout():
    """Against adaptive quadrature of the likelihood with a small homogeneous death rate."""
    d = nbd_population(40, 3)
    x, t_x, T = d["frequency"], d["recency"], d["T"]
    r, alpha, mu = 0.7, 9.0, 1e-7
    slope = 0.0
    for xi, ti, Ti in zip(x, t_x, T, strict=True):  # the reference, customer by customer
        k = r + xi
        alive = (alpha + Ti) ** -k
        dead, _ = quad(lambda t, k=k: (alpha + t) ** -k * math.exp(-mu * t), ti, Ti, epsrel=1e-12)
        slope += (math.log(alive * math.exp(-mu * Ti) + mu * dead) - math.log(alive)) / mu
    assert _dropout_score(_Data(x, t_x, T, 1.0), r, alpha) == pytest.approx(slope, rel=1e-4)


def reference_nll(theta, x, t_x, T):
    """One customer's negative log-likelihood by adaptive quadrature (Fader et al. 2005)."""
    r, alpha, s, beta = _unpack(theta)

    def log_f(tau):
        return -(r + x) * math.log(alpha + tau) - (s + 1) * math.log(beta + tau)

    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    alive = -(r + x) * math.log(alpha + T) - s * math.log(beta + T)
    f0 = log_f(t_x)
    width = 1.0 / ((r + x) / (alpha + t_x) + (s + 1) / (beta + t_x))
    points = [t_x + width * k for k in (1, 10, 100) if t_x + width * k < T] or None
    value, _ = quad(
        lambda tau: math.exp(log_f(tau) - f0), t_x, T, epsrel=1e-13, limit=500, points=points
    )
    return -(head + np.logaddexp(alive, math.log(s) + f0 + math.log(value)))


@pytest.mark.parametrize("t_x", [0.0, 0.19])
def test_the_gradient_is_right_where_the_integrand_falls_steeply_from_zero(t_x):
    """A point a small sample's fit passed through: s about 9, beta 23 times alpha.

    The gradient in log r and log s of customers with t_x near 0 used to come out wrong
    (the Taylor correction of the -log u means cancelled to noise), and the fit then
    stopped with "no step improves it, yet its gradient is not zero".
    """
    theta = np.array([-0.125, -0.4117, -0.6055, 2.233])
    x, T = np.array([0.0 if t_x == 0 else 1.0]), np.array([6.08])
    data = _Data(x, np.array([t_x]), T, 1.0)
    _, grad = _nll_grad(theta, data)
    for j in range(4):  # a loop over the four coordinates
        e = np.zeros(4)
        e[j] = 1e-5
        fd = (
            reference_nll(theta + e, x[0], t_x, T[0]) - reference_nll(theta - e, x[0], t_x, T[0])
        ) / 2e-5
        assert grad[j] == pytest.approx(fd, abs=1e-6), j
