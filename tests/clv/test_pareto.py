"""Pareto/NBD: the likelihood's integral, its gradient, the fit and the predictions.

Independent references: scipy's adaptive quadrature of the death-time integral (the
hypergeometric term), the likelihood written out term by term, finite differences, a
population simulated by the model's own story with known parameters, and the closed
forms the predictions must reduce to at their limits.
"""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import gammaln

from touchpoint.clv import ParetoNBD, _pareto, holdout_check
from touchpoint.errors import ValidationError

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def cdnow():
    d = np.genfromtxt(
        DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    return {"frequency": d["x"], "recency": d["t_x"], "T": d["T"]}


def reference_integral(params, x, t_x, T):
    """log ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ by adaptive quadrature."""
    r, alpha, s, beta = params

    def log_f(tau):
        return -(r + x) * math.log(alpha + tau) - (s + 1) * math.log(beta + tau)

    f0 = log_f(t_x)
    width = 1.0 / ((r + x) / (alpha + t_x) + (s + 1) / (beta + t_x))
    points = [t_x + width * k for k in (1, 10, 100) if t_x + width * k < T] or None
    value, _ = quad(
        lambda tau: math.exp(log_f(tau) - f0),
        t_x,
        T,
        epsabs=0,
        epsrel=1e-13,
        limit=500,
        points=points,
    )
    return f0 + math.log(value)


def reference_log_likelihood(params, x, t_x, T):
    """One customer's log-likelihood, term by term (Fader, Hardie & Lee 2005, eq. 18)."""
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    alive = -(r + x) * math.log(alpha + T) - s * math.log(beta + T)
    if t_x >= T:
        return head + alive
    dead = math.log(s) + reference_integral(params, x, t_x, T)
    return head + np.logaddexp(alive, dead)


def simulate(n, seed, *, r=0.6, alpha=8.0, s=0.8, beta=12.0, horizon=39.0):
    """Customers observed for 10 to 52 weeks, then a holdout of ``horizon`` weeks."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(10, 52, n)
    lam = rng.gamma(r, 1 / alpha, n)
    death = rng.exponential(1 / rng.gamma(s, 1 / beta, n)) if s else np.full(n, np.inf)
    alive = np.minimum(death, T)
    x = rng.poisson(lam * alive)
    t_x = np.where(x > 0, alive * rng.beta(np.maximum(x, 1), 1), 0.0)  # last of x uniforms
    holdout = rng.poisson(lam * np.clip(death - T, 0, horizon))
    return {"frequency": x, "recency": t_x, "T": T}, holdout


PARAMS = [
    (0.553, 10.578, 0.606, 11.669),  # CDNOW
    (0.2, 1.0, 2.0, 200.0),  # beta >> alpha
    (5.0, 100.0, 0.1, 0.5),  # beta << alpha
    (0.5, 500.0, 0.5, 0.05),  # alpha / beta = 1e4
    (50.0, 50.0, 0.3, 1.0),  # nearly equal rates
    (0.05, 2.0, 0.05, 2.0),  # very dispersed
    (1000.0, 1e4, 1000.0, 1e4),  # next to equal rates and equal death rates
    (0.5, 10.0, 5.0, 500.0),
    # where small-sample fits used to stop ("no step improves it"): the integrand from
    # alpha rises by a huge factor towards u = 0 (large s, beta >> alpha), or its
    # singularity lies within 1/k1 of u = 1 (alpha >> beta, or s runs off to infinity)
    (12.7, 12.5, 187.0, 511.0),
    (26.76, 211.8, 370.4, 1354.5),
    (1.1, 3.1, 38.8, 3130.0),
    (8.06, 7.5, 0.134, 0.0016),
]


@pytest.mark.parametrize("params", PARAMS)
def test_integral_matches_adaptive_quadrature(params):
    rows = [
        (x, t, T)
        for x in (0, 1, 5, 40, 400)
        for t, T in ((0.0, 1.0), (0.0, 400.0), (1.0, 20.5), (20.0, 20.5), (20.0, 39.0))
        if (x == 0) == (t == 0)
    ]
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    values, index = np.unique(x, return_inverse=True)
    log_odds, _, _, _ = _pareto._terms(params, x, t_x, T, index, values, grad=False)
    r, alpha, s, beta = params
    for i, (xi, ti, Ti) in enumerate(rows):
        alive = -(r + xi) * math.log(alpha + Ti) - s * math.log(beta + Ti)
        want = math.log(s) + reference_integral(params, xi, ti, Ti) - alive
        assert log_odds[i] == pytest.approx(want, abs=1e-6 if alpha / beta > 1e3 else 1e-9)


@pytest.mark.parametrize(("n", "seed"), [(10, 0), (10, 3), (20, 1), (30, 1)])
def test_small_samples_fit_and_beat_the_truth(n, seed):
    """Ten to thirty customers (seeds where the fit used to stop with "no step improves
    it"): the fit completes, possibly on a limit of the model, and its likelihood is at
    least that of the true parameters, computed term by term by adaptive quadrature."""
    rng = np.random.default_rng(seed)
    truth = (0.6, 8.0, 0.8, 12.0)
    T = rng.uniform(20, 60, n)
    lam = rng.gamma(truth[0], 1 / truth[1], n)
    death = rng.exponential(1 / rng.gamma(truth[2], 1 / truth[3], n))
    alive = np.minimum(death, T)
    x = rng.poisson(lam * alive)
    t_x = np.where(x > 0, alive * rng.beta(np.maximum(x, 1), 1), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a limit of the model warns
        model = ParetoNBD().fit({"frequency": x, "recency": t_x, "T": T})
    at_truth = sum(reference_log_likelihood(truth, *row) for row in zip(x, t_x, T, strict=True))
    assert np.isfinite(model.log_likelihood_)
    assert model.log_likelihood_ >= at_truth - 1e-6 * abs(at_truth)


def test_no_underflow_or_nan_far_outside_the_accurate_range():
    """Huge s with beta >> alpha: the Gauss rule is no longer accurate there (see the
    module), but the numbers stay finite and probabilities in [0, 1]."""
    m = ParetoNBD()
    m.params_ = {"r": 0.5, "alpha": 10.0, "s": 3000.0, "beta": 3e4}
    summary = {"frequency": [0, 5, 400], "recency": [0.0, 20.0, 30.0], "T": [40.0, 40.0, 400.0]}
    p = m.probability_alive(summary).to_numpy()
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.all(np.isfinite(m.expected_purchases(summary, 52.0).to_numpy()))


def test_log_likelihood_matches_the_formula_term_by_term(cdnow):
    params = (0.5, 9.0, 0.7, 13.0)
    n = 400
    x, t_x, T = (np.asarray(cdnow[c][:n]) for c in ("frequency", "recency", "T"))
    data = _pareto._Data(x, t_x, T, 1.0)
    r, alpha, s, beta = params
    theta = np.array([math.log(r / alpha), math.log(r), math.log(s / beta), math.log(s)])
    ours = -_pareto._nll_grad(theta, data)[0]
    want = sum(reference_log_likelihood(params, *row) for row in zip(x, t_x, T, strict=True))
    assert ours == pytest.approx(want, rel=1e-11)


@pytest.mark.parametrize(
    "theta", [[-2.9, -0.5, -2.9, -0.4], [-1.0, 2.0, -4.0, -2.0], [-4.0, -2.0, -1.0, 3.0]]
)
def test_gradient_matches_finite_differences(cdnow, theta):
    d = _pareto._Data(cdnow["frequency"], cdnow["recency"], cdnow["T"], 10 / 38.86)
    theta = np.array(theta)
    _, grad = _pareto._nll_grad(theta, d)
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-5
        up = _pareto._nll_grad(theta + step, d)[0]
        down = _pareto._nll_grad(theta - step, d)[0]
        assert grad[j] == pytest.approx((up - down) / 2e-5, rel=1e-6, abs=1e-4)


def test_fit_does_not_depend_on_the_start(cdnow):
    x, t_x, T = (np.asarray(cdnow[c], dtype=float) for c in ("frequency", "recency", "T"))
    fits = [ParetoNBD()._fit(x, t_x, T, None)]
    # starts with the mean purchase rate 1.7x higher and lower, r 5x and s 3x apart,
    # the mean death rate 2.7x higher and 2.7x lower (coordinates as in _pareto)
    for start in ([-1.5, 1.0, -2.0, -1.0], [-2.5, -1.0, -4.0, 0.5]):
        fits.append(ParetoNBD()._fit(x, t_x, T, np.array(start)))
    for other in fits[1:]:
        for name, value in fits[0].params_.items():
            assert other.params_[name] == pytest.approx(value, rel=1e-6)
        assert other.log_likelihood_ == pytest.approx(fits[0].log_likelihood_, rel=1e-12)


def test_simulated_population_is_recovered_and_its_holdout_predicted():
    """Known truth: the estimates lie within three standard errors, and the predicted
    holdout purchases match the simulated ones in total and per calibration frequency,
    within the noise of the holdout counts (z-scores against the residuals' spread).

    Over seeds 10-19 (not run here): 90% of the estimates within 2 standard errors,
    100% within 3; |z| of the total at most 3.2, of a group mean at most 4.2 (the
    holdout counts are heavy-tailed: a few frequent buyers carry much of the total)."""
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}
    summary, holdout = simulate(4000, seed=11, **truth)
    model = ParetoNBD().fit(summary)
    assert model.limit_ == ()
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3 * model.standard_errors_[name], name
    table = {
        "customer": np.arange(len(holdout)),
        "frequency_cal": summary["frequency"],
        "recency_cal": summary["recency"],
        "T_cal": summary["T"],
        "frequency_holdout": holdout,
        "duration_holdout": np.full(len(holdout), 39.0),
    }
    check = holdout_check(model, table, max_frequency=5)
    predicted, actual = check.customers["predicted"], check.customers["actual"]
    residual = actual - predicted
    z_total = (check.predicted_total - check.actual_total) / np.sqrt(np.sum(residual**2))
    assert abs(z_total) < 4
    assert check.predicted_total == pytest.approx(check.actual_total, rel=0.15)
    group = np.minimum(summary["frequency"], 5)
    g = check.groups
    assert len(g) == 6
    for i, f in enumerate(g["frequency_cal"]):  # a handful of frequency groups
        sel = group == f
        spread = np.sqrt(np.mean(residual[sel] ** 2) / sel.sum())
        assert abs(g["predicted"][i] - g["actual"][i]) < 5 * spread, f


def test_next_to_no_dropout_predictions_are_the_nbd_s():
    """A death rate next to 0 (the no-dropout limit): everyone alive, and the expected
    purchases those of the NBD model, (r + x) / (alpha + T) per time unit."""
    summary, _ = simulate(500, seed=3, s=0.0)  # nobody ever dies
    m = ParetoNBD()
    m.params_ = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 1e9}
    alive = m.probability_alive(summary).to_numpy()
    assert np.all(np.isfinite(alive)) and alive.min() > 1 - 1e-6
    x, T = summary["frequency"], summary["T"]
    nbd = (0.6 + x) / (8.0 + T) * 20.0
    np.testing.assert_allclose(m.expected_purchases(summary, 20.0).to_numpy(), nbd, rtol=1e-6)


def test_expected_purchases_are_continuous_at_s_equal_one():
    summary = {"frequency": [0, 3], "recency": [0.0, 20.0], "T": [30.0, 30.0]}
    out = []
    for s in (1 - 1e-9, 1.0, 1 + 1e-9):
        m = ParetoNBD()
        m.params_ = {"r": 0.5, "alpha": 10.0, "s": s, "beta": 12.0}
        out.append(m.expected_purchases(summary, 52.0).to_numpy())
        out.append(np.atleast_1d(m.expected_purchases_new(52.0)))
    for a, b in zip(out[::2], out[2::2], strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-7)
    assert np.all(np.isfinite(np.concatenate(out)))


def test_expected_purchases_new_is_the_integral_of_the_population_rate():
    """E[purchases in (0, t)] = ∫ E[λ] P(alive at τ) dτ = ∫ r/α (β/(β+τ))^s dτ."""
    m = ParetoNBD()
    for params in (
        {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
        {"r": 2, "alpha": 3, "s": 4, "beta": 5},
    ):
        m.params_ = params
        r, alpha, s, beta = params.values()
        for t in (0.5, 39.0, 500.0):
            want, _ = quad(
                lambda tau, r=r, a=alpha, s=s, b=beta: r / a * (b / (b + tau)) ** s,
                0,
                t,
                epsrel=1e-12,
            )
            assert float(m.expected_purchases_new(t)) == pytest.approx(want, rel=1e-9)


def test_predictions_for_a_customer_alive_by_construction():
    """A purchase at the very end (t_x = T): alive with probability 1, and the expected
    purchases are the posterior rate times the expected time alive."""
    m = ParetoNBD()
    m.params_ = {"r": 0.5, "alpha": 10.0, "s": 0.7, "beta": 12.0}
    summary = {"frequency": [4.0], "recency": [30.0], "T": [30.0]}
    assert m.probability_alive(summary).to_numpy()[0] == 1.0
    rate = (0.5 + 4) / (10 + 30)
    alive_time, _ = quad(lambda tau: ((12 + 30) / (12 + 30 + tau)) ** 0.7, 0, 26.0, epsrel=1e-12)
    assert m.expected_purchases(summary, 26.0).to_numpy()[0] == pytest.approx(
        rate * alive_time, rel=1e-9
    )


def test_bad_use_gets_the_library_error():
    m = ParetoNBD()
    assert repr(m) == "ParetoNBD()"
    with pytest.raises(ValidationError, match="not fitted"):
        m.probability_alive({"frequency": [1], "recency": [1.0], "T": [2.0]}).to_numpy()
    with pytest.raises(ValidationError, match="r, alpha, s and beta"):
        m.params_ = {"r": 1.0, "alpha": 1.0, "s": -1.0, "beta": 1.0}
    m.params_ = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}
    assert repr(m) == "ParetoNBD(r=1, alpha=1, s=1, beta=1)"
    with pytest.raises(ValidationError, match="horizon"):
        m.expected_purchases({"frequency": [1], "recency": [1.0], "T": [2.0]}, -1.0).to_numpy()
    with pytest.raises(ValidationError, match="recency"):
        m.probability_alive({"frequency": [1], "recency": [3.0], "T": [2.0]}).to_numpy()
    with pytest.raises(ValidationError, match="repeat purchase"):
        ParetoNBD().fit({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 3.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        custom = ParetoNBD(frequency="x", recency="t_x", T="age")
        custom.params_ = m.params_
        assert custom.probability_alive(
            {"x": [0], "t_x": [0.0], "age": [1.0]}
        ).to_numpy().shape == (1,)
