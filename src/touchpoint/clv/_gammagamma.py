"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013).

A customer's transaction values are Gamma(p, ν) around their own mean, and ν varies
across customers as Gamma(q, γ) (``v`` here, as in `lifetimes`). Fitted on the repeat
buyers' number of repeat purchases ``x`` and average repeat spend ``m``, it predicts
each customer's expected average spend, shrinking a short history towards the
population mean ``p v / (q - 1)``; combined with a purchase model (`BetaGeo`) it gives
discounted customer lifetime value.

The fit works in the coordinates ``log p``, ``log(1 + 1/q)`` and ``log(v / q)``: the
second is 0 when every customer has the same mean spend (q, v → ∞ with v/q fixed), a
legitimate limit, which the likelihood (written to be exact there) and its gradient
recognise. Then the limit is fitted, ``params_`` shows ``q`` and ``v`` as ``inf``,
``limit_`` names it and a `touchpoint.errors.BoundaryFitWarning` says so; predictions
stay finite (everyone gets the population mean).

The model assumes spend is independent of purchase frequency; check the correlation of
``frequency`` and ``monetary_value`` among repeat buyers before relying on it.

Examples
--------
Five repeat buyers whose average spends vary no more than single purchases do: the
likelihood is highest when every customer has the same mean spend.

>>> import warnings
>>> summary = {"frequency": [1, 2, 3, 1, 4, 0], "monetary_value": [20.0, 35.0, 18.0, 60.0, 25.0, 0.0]}
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     gg = GammaGamma().fit(summary)
>>> gg.limit_, gg.params_["q"], caught[0].category.__name__
(('equal mean spend',), inf, 'BoundaryFitWarning')
>>> gg.expected_average_spend(summary).to_numpy().round(2).tolist()
[27.64, 27.64, 27.64, 27.64, 27.64, 27.64]
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.clv._bgnbd import BetaGeo, _counts_of
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._keyed import Predictions, predictions
from touchpoint.clv._mle import Fit, Objective, covariance, dot, hessian, maximise, runaway
from touchpoint.errors import BoundaryFitWarning, Problem, ValidationError
from touchpoint.frame import distributed

__all__ = ["GammaGamma"]

_NAMES = ("p", "q", "v")
_FEATURE = "Gamma-Gamma fitting"
# coordinates: log p, log1p(1/q), log(v/q)
_LOWER = np.array([-30.0, 0.0, -60.0])
_UPPER = np.array([30.0, 40.0, 60.0])
_KAPPA_SERIES = 1e-3  # below this 1/q, log-gamma differences by their asymptotic series


def _special() -> Any:
    return require("scipy.special", extra="clv", feature=_FEATURE)


def _j(u: np.ndarray) -> np.ndarray:
    """``(log1p(u) - u) / u**2`` (-> -1/2 at 0), accurate for every u >= 0."""
    safe = np.where(u > 0, u, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        out = (np.log1p(safe) - safe) / (safe * safe)  # u < 1e-2 is replaced below
    small = u < 1e-2
    if small.any():
        us = u[small]
        out[small] = -0.5 + us * (
            1 / 3 + us * (-1 / 4 + us * (1 / 5 + us * (-1 / 6 + us * (1 / 7 - us / 8))))
        )
    result: np.ndarray = out
    return result


def _ell(z: np.ndarray) -> np.ndarray:
    """``log1p(z) / z`` (1 at 0)."""
    result: np.ndarray = np.divide(np.log1p(z), z, out=np.ones_like(z), where=z > 0)
    return result


def _ell_prime(z: np.ndarray) -> np.ndarray:
    """The derivative of ``log1p(z) / z`` (-> -1/2 at 0)."""
    safe = np.where(z > 0, z, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        out = (safe / (1.0 + safe) - np.log1p(safe)) / (safe * safe)  # z < 1e-2: below
    small = z < 1e-2
    if small.any():
        zs = z[small]
        out[small] = -0.5 + zs * (
            2 / 3 + zs * (-3 / 4 + zs * (4 / 5 + zs * (-5 / 6 + zs * (6 / 7 - zs * 7 / 8))))
        )
    result: np.ndarray = out
    return result


def _ratio_terms(kappa: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``R = lgamma(q + y) - lgamma(q) - y log q`` with q = 1/kappa, and dR/dy, dR/dkappa.

    R -> 0 as q -> infinity; for large q the Stirling series keeps every digit.
    """
    if kappa > _KAPPA_SERIES:
        sp = _special()
        q = 1.0 / kappa
        lq = math.log(q)
        R = sp.gammaln(q + y) - sp.gammaln(q) - y * lq
        dig = sp.digamma(q + y)
        R_y = dig - lq
        R_kappa = -(q * q) * (dig - sp.digamma(q) - y / q)
        return R, R_y, R_kappa
    u = kappa * y
    l1 = np.log1p(u)
    e = 1.0 / (1.0 + u)
    jy = _j(u)
    R = kappa * y * y * jy + (y - 0.5) * l1 - kappa * kappa * y * e / 12.0
    R -= kappa**3 / 360.0 * (e**3 - 1.0)
    R_y = l1 - kappa * e / 2.0 - kappa * kappa * e * e / 12.0 + kappa**4 * e**4 / 120.0
    R_kappa = -y * y * jy - y * e / 2.0 - kappa * y * (2.0 + u) * e * e / 12.0
    R_kappa -= kappa * kappa / 120.0 * (e**4 - 1.0)
    return R, R_y, R_kappa


def _nll_grad(
    theta: np.ndarray, xv: np.ndarray, k: np.ndarray, m: np.ndarray
) -> tuple[float, np.ndarray]:
    """Total negative log-likelihood and gradient in (log p, log1p(1/q), log(v/q)).

    ``xv`` are the distinct numbers of repeat purchases, ``k`` each buyer's index into
    ``xv`` and ``m`` each buyer's average spend.
    """
    sp = _special()
    p = math.exp(theta[0])
    kappa = math.expm1(theta[1])
    c = math.exp(theta[2])
    x = xv[k]
    nk = np.bincount(k, minlength=len(xv)).astype(np.float64)
    y = p * xv
    R, R_y, R_kappa = _ratio_terms(kappa, y)
    lm = np.log(m)
    lx = np.log(x)
    z0 = m * x / c  # spend relative to the typical customer's mean, times x
    kz = kappa * z0
    lcz = math.log(c) + np.log1p(kz)  # log(c + kappa m x)
    ell = _ell(kz)
    px = p * x
    ll = dot(nk, R - sp.gammaln(y)) + dot(px - 1.0, lm) + dot(px, lx) - dot(px, lcz)
    ll -= dot(z0, ell)
    g_p = dot(nk, xv * (R_y - sp.digamma(y))) + dot(x, lm + lx - lcz)
    g_kappa = dot(nk, R_kappa) - dot(px, z0 / (1.0 + kz)) - dot(z0 * z0, _ell_prime(kz))
    g_c = np.sum((z0 - px) / (1.0 + kz))
    grad = np.array([g_p * p, g_kappa * (1.0 + kappa), g_c])
    return -float(ll), -grad


def check_periods(periods: int, period_length: float, discount_rate: float) -> None:
    """`GammaGamma.customer_lifetime_value`'s periods and discount rate, checked."""
    if periods < 1 or period_length <= 0 or discount_rate <= -1:
        raise ValidationError(
            [
                Problem(
                    "customer_lifetime_value",
                    "periods must be >= 1, period_length > 0 and discount_rate > -1",
                    (periods, period_length, discount_rate),
                )
            ]
        )


class GammaGamma:
    """Gamma-Gamma model of average transaction value.

    ``params_`` is a dict with keys ``p``, ``q``, ``v``. Only repeat buyers
    (``frequency > 0``) inform the fit; the others are ignored by `fit` and get the
    population mean from `expected_average_spend`.

    As `BetaGeo`, it takes a Dask DataFrame summary too: `fit` computes the two columns
    it needs into memory; predictions are lazy Dask Series computed per partition.

    Attributes
    ----------
    params_: dict[str, float]
        ``p, q, v``; ``q`` and ``v`` are ``inf`` at the limit of equal mean spend (see
        ``limit_``). Can be set to finite values by hand.
    limit_: tuple[str, ...]
        ``("equal mean spend",)`` when that limit was fitted, else empty.
    standard_errors_: dict[str, float]
        NaN for a parameter at a limit.
    covariance_: numpy.ndarray
    log_likelihood_: float
    n_customers_: int

    Examples
    --------
    >>> gg = GammaGamma()
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> summary = {"frequency": [0, 2], "monetary_value": [0.0, 22.35]}
    >>> gg.expected_average_spend(summary).to_numpy().round(2).tolist()
    [35.22, 24.66]
    """

    _coords: tuple[float, float, float]
    limit_: tuple[str, ...]
    log_likelihood_: float
    covariance_: np.ndarray
    standard_errors_: dict[str, float]
    n_customers_: int
    iterations_: int

    def __init__(
        self,
        *,
        frequency: str = "frequency",
        monetary_value: str = "monetary_value",
        customer: str = "customer",
    ) -> None:
        self.columns = {"frequency": frequency, "monetary_value": monetary_value}
        #: The summary's customer column, which keys the predictions.
        self.customer = customer

    def __repr__(self) -> str:
        if not hasattr(self, "_coords"):
            return "GammaGamma()"
        return "GammaGamma(" + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) + ")"

    @property
    def params_(self) -> dict[str, float]:
        """``p, q, v``; ``q`` and ``v`` are ``inf`` at the limit of equal mean spend."""
        if not hasattr(self, "_coords"):
            raise AttributeError("params_")
        p, kappa, c = self._coords
        if kappa == 0:
            return {"p": p, "q": math.inf, "v": math.inf}
        return {"p": p, "q": 1.0 / kappa, "v": c / kappa}

    @params_.setter
    def params_(self, params: dict[str, float]) -> None:
        try:
            p, q, v = (float(params[k]) for k in _NAMES)
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                [Problem("params_", "expected a dict with numbers p, q, v", params)]
            ) from None
        if not all(math.isfinite(t) and t > 0 for t in (p, q, v)):
            raise ValidationError([Problem("params_", "p, q and v must be finite and > 0", params)])
        self._coords = (p, 1.0 / q, v / q)
        self.limit_ = ()

    def _read(self, summary: Any) -> tuple[np.ndarray, np.ndarray]:
        cols = read_summary(summary, self.columns)
        return cols["frequency"], cols["monetary_value"]

    @distributed("GammaGamma.fit", on="summary")
    def fit(self, summary: Any) -> GammaGamma:
        """Estimate ``p, q, v`` by maximum likelihood on the repeat buyers; returns the model.

        Warns
        -----
        BoundaryFitWarning
            The likelihood is highest when every customer has the same mean spend (q, v
            → ∞): that limit is fitted and ``limit_`` names it.

        Raises
        ------
        ValidationError
            No repeat buyer, all repeat buyers with the same average spend (the spread
            that ``p`` and ``q`` describe is not there), a likelihood that keeps
            increasing towards a degenerate model, or bad summary values.
        """
        x, m = self._read(summary)
        rep = x > 0
        where = f"summary[{self.columns['frequency']!r}]"
        if rep.sum() < 2:
            raise ValidationError(
                [Problem(where, "Gamma-Gamma needs at least two repeat buyers", int(rep.sum()))]
            )
        x, m = x[rep], m[rep]
        if np.ptp(m) == 0:
            raise ValidationError(
                [
                    Problem(
                        f"summary[{self.columns['monetary_value']!r}]",
                        "every repeat buyer has the same average spend; spend has no spread to model",
                        float(m[0]),
                    )
                ]
            )
        scale = 1.0 / float(np.mean(m))
        xv, k = _counts_of(x.astype(np.int64), inverse=True)
        xv = xv.astype(np.float64)
        ms = m * scale
        n = len(m)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = _nll_grad(theta, xv, k, ms)
            return value / n, grad / n

        fit = self._best_fit(objective)
        j = runaway(objective, fit, _LOWER, _UPPER, np.array([10.0, 10.0, 40.0]))
        if j is not None:
            what = ["p runs off to 0 or infinity", "q runs off to 0", "v/q runs off"][j]
            raise ValidationError(
                [
                    Problem(
                        where,
                        f"{_FEATURE}: the data do not identify the model: the likelihood "
                        f"keeps increasing as {what}",
                    )
                ]
            )
        theta = fit.theta
        p, kappa, c = math.exp(theta[0]), math.expm1(theta[1]), math.exp(theta[2])
        self._coords = (p, kappa, c / scale)
        self.limit_ = ("equal mean spend",) if fit.active[1] and theta[1] == 0 else ()
        nll, g = _nll_grad(theta, xv, k, ms)
        self.log_likelihood_ = -nll + n * math.log(scale)
        free = ~fit.active
        cov_theta = covariance(
            hessian(lambda t: _nll_grad(t, xv, k, ms), theta, g, _LOWER, _UPPER, free), free
        )
        jac = np.full((3, 3), np.nan)  # d(p, q, v) / d(coordinates)
        jac[0] = [p, 0.0, 0.0]
        if kappa > 0:
            v = c / scale / kappa
            jac[1] = [0.0, -(1.0 + kappa) / kappa**2, 0.0]
            jac[2] = [0.0, -v * (1.0 + kappa) / kappa, v]
        cov = np.full((3, 3), np.nan)
        ok = np.all(np.isfinite(jac[:, free]), axis=1)
        if ok.any():
            J = jac[np.ix_(ok, free)]
            cov[np.ix_(ok, ok)] = J @ cov_theta[np.ix_(free, free)] @ J.T
        diag = np.diag(cov)
        self.covariance_ = cov
        self.standard_errors_ = dict(
            zip(_NAMES, np.sqrt(np.where(diag > 0, diag, np.nan)).tolist(), strict=True)
        )
        self.n_customers_ = n
        self.iterations_ = fit.iterations
        if self.limit_:
            warnings.warn(
                BoundaryFitWarning(
                    f"{_FEATURE}: the likelihood is highest at a limit of the model, q, v -> "
                    f"infinity with v/q = {c / scale:.6g} (every customer has the same mean "
                    f"spend, {p * c / scale:.6g}; their averages differ no more than single "
                    "purchases do). That limit model is fitted; its predictions are finite, "
                    "and params_ shows q and v as inf"
                ),
                stacklevel=2,
            )
        return self

    @staticmethod
    def _best_fit(objective: Objective) -> Fit:
        """The maximum over the box: from a fixed start, and from the equal-spend limit."""
        start = np.array([0.0, math.log(1.5), math.log(0.5)])  # p = 1, q = 2, mean 1
        interior = maximise(objective, start, _LOWER, _UPPER, feature=_FEATURE)
        face = maximise(
            objective,
            np.array([0.0, 0.0, 0.0]),
            _LOWER,
            _UPPER,
            feature=_FEATURE,
            fixed=np.array([False, True, False]),
        )
        released = maximise(objective, face.theta, _LOWER, _UPPER, feature=_FEATURE)
        tolerance = 1e-12 * (1.0 + abs(interior.value))
        return released if released.value < interior.value - tolerance else interior

    def _params(self) -> tuple[float, float, float]:
        if not hasattr(self, "_coords"):
            raise ValidationError(
                [Problem("GammaGamma", "the model is not fitted: call fit first")]
            )
        return self._coords

    def _spend_params(self) -> tuple[float, float, float]:
        p, kappa, c = self._params()
        if kappa >= 1:
            raise ValidationError(
                [
                    Problem(
                        "GammaGamma.params_['q']",
                        "the mean spend is infinite when q <= 1",
                        1.0 / kappa,
                    )
                ]
            )
        return p, kappa, c

    @distributed("GammaGamma.expected_average_spend", on="summary")
    def expected_average_spend(self, summary: Any) -> Predictions:
        """Expected average transaction value of each customer, given their history.

        ``p (v + x m) / (p x + q - 1)``: a weighted mean of the population mean and the
        customer's own average; customers without repeat purchases get the population
        mean ``p v / (q - 1)``. Needs ``q > 1``. At the limit of equal mean spend
        everyone gets the population mean. Returns `Predictions` keyed by the summary's
        customer column (``customer=`` of the model; ``row`` positions without one),
        with ``expected_average_spend``; ``.to_numpy()`` gives the array.
        """
        return predictions(
            summary, self.customer, "expected_average_spend", self._average_spend(summary)
        )

    def _average_spend(self, summary: Any) -> np.ndarray:
        p, kappa, c = self._spend_params()
        x, m = self._read(summary)
        m = np.where(x > 0, m, 0.0)
        # p (v + x m) / (p x + q - 1), numerator and denominator times 1/q
        result: np.ndarray = p * (c + kappa * x * m) / (kappa * (p * x - 1.0) + 1.0)
        return result

    predict = expected_average_spend

    @distributed("GammaGamma.customer_lifetime_value", on="summary")
    def customer_lifetime_value(
        self,
        transaction_model: BetaGeo,
        summary: Any,
        *,
        periods: int = 12,
        period_length: float = 4.345,
        discount_rate: float = 0.01,
    ) -> Predictions:
        """Discounted value of each customer's expected purchases over ``periods`` periods.

        Sum over periods i = 1..``periods`` of (expected purchases in period i) ×
        (expected average spend) / (1 + ``discount_rate``)^i, with periods of
        ``period_length`` in the summary's time unit (default: a month of 4.345 weeks;
        use 30 for days), as `lifetimes`' ``customer_lifetime_value`` does. Returns
        `Predictions` keyed by the summary's customer column (this model's ``customer=``)
        with ``customer_lifetime_value``.

        Parameters
        ----------
        transaction_model:
            A fitted `BetaGeo` (or `ModifiedBetaGeo`); ``summary`` must also carry its
            columns.
        discount_rate:
            Per period (e.g. 0.01 a month is about 12.7% a year).

        Examples
        --------
        >>> bg, gg = BetaGeo(), GammaGamma()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
        >>> s = {"customer": ["new", "regular"], "frequency": [0, 2], "recency": [0.0, 30.43],
        ...      "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]}
        >>> clv = gg.customer_lifetime_value(bg, s, periods=12)
        >>> clv["customer"].tolist(), bool(clv.row("regular")["customer_lifetime_value"] > 0)
        (['new', 'regular'], True)
        """
        check_periods(periods, period_length, discount_rate)
        spend = self._average_spend(summary)
        total = np.zeros(len(spend))
        previous = np.zeros(len(spend))
        for i in range(1, periods + 1):  # a loop over the few periods, vectorised over customers
            cumulative = transaction_model._expected_purchases(summary, i * period_length)
            total += spend * (cumulative - previous) / (1.0 + discount_rate) ** i
            previous = cumulative
        return predictions(summary, self.customer, "customer_lifetime_value", total)
