"""Fits at the limits of their models, and predictions that never go NaN (issue 12, items 1-2).

- The two docstring examples that flipped with scipy's version: eight customers that
  cannot identify BG/NBD (a clear error, whatever the optimiser), five repeat buyers
  whose spends fit the Gamma-Gamma limit of equal mean spend (a warning and finite
  predictions).
- 500 customers whose 3,000 purchases are spread uniformly over a year: the old fit
  returned r = 6e6, a = 5e-6, NaN standard errors, and NaN predictions for everyone.
- Predictions on extreme but legal inputs (frequent buyers, long horizons, parameters
  next to a limit, where the hypergeometric closed form overflows) against the
  model's defining integral, computed independently by adaptive quadrature.
"""

import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special

from touchpoint.clv import BetaGeo, GammaGamma, ModifiedBetaGeo, customer_summary
from touchpoint.errors import BoundaryFitWarning, ValidationError


def fit_quietly(model, summary):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(summary)
    return model, [w for w in caught if issubclass(w.category, BoundaryFitWarning)]


def test_eight_customers_that_cannot_identify_bgnbd_get_a_clear_error():
    summary = {
        "frequency": [0, 1, 2, 0, 3, 1, 0, 5],
        "recency": [0.0, 4.0, 20.0, 0.0, 30.0, 2.0, 0.0, 35.0],
        "T": [38.0, 38.0, 30.0, 25.0, 38.0, 20.0, 10.0, 38.0],
    }
    with pytest.raises(ValidationError, match=r"do not identify the model.*a \+ b runs off"):
        BetaGeo().fit(summary)


def gamma_limit_fit(x, m):
    """The equal-mean-spend limit fitted directly: the average of x Gamma(p, nu) spends."""

    def nll(theta):
        p, nu = np.exp(theta)
        return -np.sum(
            p * x * np.log(nu * x) + (p * x - 1) * np.log(m) - nu * x * m - special.gammaln(p * x)
        )

    res = optimize.minimize(
        nll,
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000},
    )
    return np.exp(res.x), -res.fun


def test_five_repeat_buyers_fit_the_equal_spend_limit_with_a_warning():
    summary = {
        "frequency": [1, 2, 3, 1, 4, 0],
        "monetary_value": [20.0, 35.0, 18.0, 60.0, 25.0, 0.0],
    }
    gg, caught = fit_quietly(GammaGamma(), summary)
    assert len(caught) == 1
    assert gg.limit_ == ("equal mean spend",)
    assert "same mean spend" in str(caught[0].message)
    assert gg.params_["q"] == np.inf and gg.params_["v"] == np.inf
    (p, nu), ll = gamma_limit_fit(np.array([1, 2, 3, 1, 4.0]), np.array([20, 35, 18, 60, 25.0]))
    assert gg.params_["p"] == pytest.approx(p, rel=1e-6)
    assert gg.log_likelihood_ == pytest.approx(ll, rel=1e-9)
    spend = gg.expected_average_spend(summary).to_numpy()
    np.testing.assert_allclose(spend, p / nu, rtol=1e-6)  # everyone: the common mean
    assert np.isnan(gg.standard_errors_["q"]) and np.isfinite(gg.standard_errors_["p"])


def test_gammagamma_without_heterogeneity_predicts_the_common_mean_for_everyone():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 4000)
    m = rng.gamma(4.0 * x, 1 / (0.2 * x))  # every customer's spends Gamma(4, 0.2): mean 20
    gg, _ = fit_quietly(GammaGamma(), {"frequency": x, "monetary_value": m})
    # at the limit or next to it (q in the thousands): own averages barely count
    assert gg.limit_ == ("equal mean spend",) or gg.params_["q"] > 100
    spend = gg.expected_average_spend({"frequency": x, "monetary_value": m}).to_numpy()
    assert spend.mean() == pytest.approx(20.0, rel=0.01)
    assert spend.std() < 0.1 * m.std()  # shrunk almost all the way to the common mean


@pytest.fixture(scope="module")
def uniform_year():
    """500 customers, 3,000 purchases spread uniformly over a year (the issue's case)."""
    rng = np.random.default_rng(12)
    n = 3000
    data = {
        "customer": rng.integers(0, 500, n),
        "time": np.datetime64("2024-01-01") + rng.integers(0, 366, n).astype("timedelta64[D]"),
        "amount": rng.gamma(2.0, 20.0, n).round(2),
    }
    return customer_summary(data, asof="2024-12-31")


def nbd_fit(x, T):
    """The no-dropout limit (NBD) fitted directly with scipy: r, alpha, log-likelihood."""

    def nll(theta):
        r, alpha = np.exp(theta)
        return -np.sum(
            special.gammaln(r + x)
            - special.gammaln(r)
            + r * np.log(alpha)
            - (r + x) * np.log(alpha + T)
        )

    res = optimize.minimize(
        nll,
        [0.0, np.log(T.mean())],
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 20000},
    )
    return *np.exp(res.x), -res.fun


def poisson_geometric_fit(x, t, T):
    """The limit 'equal rates, one dropout chance for all', fitted directly with scipy."""

    def nll(theta):
        lam, pi = np.exp(theta[0]), special.expit(theta[1])
        alive = x * np.log(lam) + x * np.log1p(-pi) - lam * T
        dropped = np.log(pi) + (x - 1) * np.log1p(-pi) + x * np.log(lam) - lam * t
        return -np.sum(np.where(x > 0, np.logaddexp(alive, dropped), alive))

    res = optimize.minimize(
        nll,
        [np.log(x.sum() / T.sum()), -5.0],
        method="Nelder-Mead",
        options={"xatol": 1e-11, "fatol": 1e-12, "maxiter": 5000},
    )
    return -res.fun


def test_uniform_purchases_fit_a_limit_and_predict_finite_values(uniform_year):
    s = uniform_year
    bg, caught = fit_quietly(BetaGeo(), s)
    assert bg.limit_ and caught, "a limit is fitted, with a warning"
    x, t, T = (np.asarray(s[c], dtype=float) for c in ("frequency", "recency", "T"))
    r, alpha, nbd_ll = nbd_fit(x, T)
    # the fit is at least as likely as the limit models fitted directly
    assert bg.log_likelihood_ >= max(nbd_ll, poisson_geometric_fit(x, t, T)) - 1e-6
    if bg.limit_ == ("no dropout",):
        assert bg.params_["r"] == pytest.approx(r, rel=1e-4)
        assert bg.params_["alpha"] == pytest.approx(alpha, rel=1e-4)
    for values in (bg.expected_purchases(s, 13).to_numpy(), bg.probability_alive(s).to_numpy()):
        assert np.all(np.isfinite(values))
    # six purchases a year each: about 1.5 in the next 13 weeks
    assert 1.3 < bg.expected_purchases(s, 13).to_numpy().mean() < 1.6
    # no standard error for a parameter at a limit, finite ones for the others
    for name, value in bg.params_.items():
        assert np.isfinite(bg.standard_errors_[name]) == (0 < value < np.inf), name


def test_uniform_purchases_give_finite_lifetime_values(uniform_year):
    s = uniform_year
    bg, _ = fit_quietly(BetaGeo(), s)
    gg, _ = fit_quietly(GammaGamma(), s)
    clv = gg.customer_lifetime_value(bg, s, periods=12).to_numpy()
    assert np.all(np.isfinite(clv)) and np.all(clv > 0)
    mb, _ = fit_quietly(ModifiedBetaGeo(), s)
    assert np.all(np.isfinite(mb.expected_purchases(s, 13).to_numpy()))


def test_customers_still_buying_on_the_last_day_fit_the_nbd_limit():
    """Every customer bought on the last day: no sign of dropout, so a = 0 exactly."""
    rng = np.random.default_rng(5)
    n = 20_000
    T = rng.uniform(10, 52, n)
    x = np.maximum(rng.poisson(rng.gamma(0.7, 1 / 7.0, n) * T), 1)
    s = {"frequency": x, "recency": T, "T": T}
    bg, caught = fit_quietly(BetaGeo(), s)
    assert bg.limit_ == ("no dropout",) and caught
    assert "no customer ever stops buying" in str(caught[0].message)
    assert bg.params_["a"] == 0.0
    r, alpha, ll = nbd_fit(x.astype(float), T)
    assert bg.params_["r"] == pytest.approx(r, rel=1e-5)
    assert bg.params_["alpha"] == pytest.approx(alpha, rel=1e-5)
    assert bg.log_likelihood_ == pytest.approx(ll, rel=1e-10)
    np.testing.assert_array_equal(bg.probability_alive(s).to_numpy(), 1.0)
    # the NBD prediction, written directly: (r + x) h / (alpha + T)
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    np.testing.assert_allclose(
        bg.expected_purchases(s, 10.0).to_numpy(), (r + x) * 10.0 / (alpha + T), rtol=1e-12
    )
    assert np.isfinite(bg.standard_errors_["r"]) and np.isnan(bg.standard_errors_["a"])


def test_predictions_approach_the_limit_predictions_continuously():
    summary = {"frequency": [0, 2, 15], "recency": [0.0, 10.0, 30.0], "T": [40.0] * 3}
    near, limit = BetaGeo(), BetaGeo()
    near.params_ = {"r": 0.5, "alpha": 6.0, "a": 1e-9, "b": 2.0}
    limit._coords = (0.5 / 6.0, 2.0, 0.0, 0.0)  # the no-dropout limit itself
    np.testing.assert_allclose(
        near.expected_purchases(summary, 20.0).to_numpy(),
        limit.expected_purchases(summary, 20.0).to_numpy(),
        rtol=1e-7,
    )
    near.params_ = {"r": 1e9, "alpha": 1e10, "a": 0.8, "b": 2.0}
    limit._coords = (0.1, 0.0, 0.8 / 2.8, 1 / 2.8)  # equal rates
    np.testing.assert_allclose(
        near.probability_alive(summary).to_numpy(),
        limit.probability_alive(summary).to_numpy(),
        rtol=1e-7,
    )
    np.testing.assert_allclose(
        near.expected_purchases(summary, 20.0).to_numpy(),
        limit.expected_purchases(summary, 20.0).to_numpy(),
        rtol=1e-7,
    )


def expected_by_quadrature(r, alpha, a, b, x, t, T, h, modified=False):
    """E[X(T, T+h) | x, t, T] from the model's definition, by adaptive quadrature.

    P(alive) times the mean over the posterior dropout chance p ~ Beta(a, b + x (+1)) of
    g(p) = (1 - (1 + p s)^-(r + x)) / p with s = h / (alpha + T), the expected purchases
    of a customer alive at T with that p (the Gamma posterior of the rate integrated in
    closed form). For a Beta whose mass sits at p ~ 0 (small a) it is written as
    c - E[c - g(p)], c = g(0) = (r + x) s, which leaves a bounded integrand.
    """
    d = 1.0 if modified else 0.0
    bb = b + x + d
    s = h / (alpha + T)
    c = (r + x) * s
    lb = special.betaln(a, bb)

    def shortfall(p):  # c - g(p), without cancellation
        u = p * s
        y = (r + x) * np.log1p(u)
        # u - log1p(u) and exp(-y) - 1 + y, by their series where they are small
        umlog = np.where(u < 1e-3, u * u * (1 / 2 - u / 3 + u * u / 4), u - np.log1p(u))
        poly = np.where(y < 1e-3, y * y / 2 * (1 - y / 3 + y * y / 12), np.expm1(-y) + y)
        return ((r + x) * umlog + poly) / p

    def g(p):
        return -np.expm1(-(r + x) * np.log1p(p * s)) / p

    def f(p):
        value = shortfall(p) if a < 0.01 else g(p)
        return value * np.exp((a - 1) * np.log(p) + (bb - 1) * np.log1p(-p) - lb)

    m = a / (a + bb)
    sd = np.sqrt(m * (1 - m) / (a + bb + 1))
    points = [1e-8, 1e-6, 1e-4, 1e-2, 0.1, 0.5, 1 / s, *(m + k * sd for k in (-6, -2, 0, 2, 6))]
    points = sorted({q for q in points if 0 < q < 1})
    value, _ = integrate.quad(f, 0, 1, points=points, limit=1000, epsrel=1e-13, epsabs=0)
    if a < 0.01:
        value = c - value
    if x > 0 or modified:
        log_odds = (
            np.log(a)
            - np.log(b + x - 1 + d)
            + (r + x) * (np.log1p(T / alpha) - np.log1p(t / alpha))
        )
        value /= 1 + np.exp(log_odds)
    return value


EXTREME = [
    # (r, alpha, a, b): CDNOW's, next to the Poisson limit, next to "no dropout",
    # concentrated dropout chances
    (0.243, 4.414, 0.793, 2.426),
    (1e6, 1e7, 0.8, 2.4),
    (0.5, 5.0, 1e-6, 2.0),
    (0.5, 5.0, 2e4, 8e4),
]


@pytest.mark.parametrize("params", EXTREME)
@pytest.mark.parametrize("modified", [False, True])
def test_expected_purchases_stay_finite_and_match_the_integral(params, modified):
    rows = [
        (x, T * 0.9 if x else 0.0, T, h)
        for x in (0, 1, 10, 200, 1000)
        for T in (1.0, 40.0, 400.0)
        for h in (1.0, 52.0, 520.0)
    ]
    model = ModifiedBetaGeo() if modified else BetaGeo()
    model.params_ = dict(zip(("r", "alpha", "a", "b"), params, strict=True))
    x, t, T, h = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    for horizon in (1.0, 52.0, 520.0):
        sel = h == horizon
        got = model.expected_purchases(
            {"frequency": x[sel], "recency": t[sel], "T": T[sel]}, horizon
        ).to_numpy()
        assert np.all(np.isfinite(got))
        want = [
            expected_by_quadrature(*params, *row, modified=modified) for row in np.array(rows)[sel]
        ]
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-300)
