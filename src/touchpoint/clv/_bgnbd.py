"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they
drop out with probability p ~ Beta(a, b). From each customer's ``frequency`` (repeat
purchases ``x``), ``recency`` (``t_x``) and age ``T`` the model estimates the four
parameters by maximum likelihood and predicts future purchases and the probability that
a customer is still alive.

The log-likelihood is evaluated in a few vectorised passes: the terms that depend on
``x`` alone are summed over the distinct values of ``x`` (weighted by their counts),
customers without repeat purchases are grouped by ``T``, and only repeat buyers need
per-customer arithmetic. The gradient is analytic.

Examples
--------
Customers simulated by the model's own story (true r=0.5, alpha=4, a=1, b=3):

>>> rng = np.random.default_rng(0)
>>> n = 5000
>>> T = rng.uniform(10, 52, n)
>>> k = rng.poisson(rng.gamma(0.5, 1 / 4, n) * T)   # purchases had they stayed
>>> x = np.minimum(k, rng.geometric(rng.beta(1.0, 3.0, n)))
>>> t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
>>> summary = {"frequency": x, "recency": t_x, "T": T}
>>> model = BetaGeo().fit(summary)
>>> {k: round(v, 1) for k, v in model.params_.items()}
{'r': 0.5, 'alpha': 4.0, 'a': 1.0, 'b': 3.1}
>>> alive = model.probability_alive(summary)
>>> bool(alive[x == 0].min() == 1.0), bool(alive[x > 0].min() < 0.5)
(True, True)

Eight customers cannot tell apart four parameters; the fit says so:

>>> BetaGeo().fit({"frequency": [0, 1, 2, 0, 3, 1, 0, 5],
...                "recency": [0.0, 4.0, 20.0, 0.0, 30.0, 2.0, 0.0, 35.0],
...                "T": [38.0, 38.0, 30.0, 25.0, 38.0, 20.0, 10.0, 38.0]})
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in the records:
  - summary: BG/NBD fitting: a parameter ran off to 0 or infinity; ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._mle import dot, maximise, maximise_large, standard_errors
from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._detect import is_dask

__all__ = ["BetaGeo"]

_NAMES = ("r", "alpha", "a", "b")
_FEATURE = "BG/NBD fitting"
_WARM_START = 50_000  # customers in the subsample that gives large fits their start


def _special() -> Any:
    return require("scipy.special", extra="clv", feature=_FEATURE)


class _Data:
    """The summary regrouped for fast likelihood evaluation (built once per fit)."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, scale: float) -> None:
        self.n = float(len(x))
        xi = x.astype(np.int64)
        self.x_values, self.x_counts = np.unique(xi, return_counts=True)
        self.x_values = self.x_values.astype(np.float64)
        self.x_counts = self.x_counts.astype(np.float64)
        zero = xi == 0
        self.T0, self.c0 = np.unique(T[zero] * scale, return_counts=True)
        self.c0 = self.c0.astype(np.float64)
        rep = ~zero
        self.x1 = x[rep]
        self.t1 = t_x[rep] * scale
        self.T1 = T[rep] * scale
        self.k1_values, self.k1 = np.unique(xi[rep], return_inverse=True)
        self.k1_values = self.k1_values.astype(np.float64)


def _nll_grad(params: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Total negative log-likelihood and its gradient in (r, alpha, a, b)."""
    sp = _special()
    gammaln, psi = sp.gammaln, sp.digamma
    r, alpha, a, b = params
    xv, nk = d.x_values, d.x_counts
    # Terms in x alone, summed over the distinct values of x.
    per_x = (
        gammaln(r + xv)
        - gammaln(r)
        + gammaln(a + b)
        + gammaln(b + xv)
        - gammaln(b)
        - gammaln(a + b + xv)
    )
    ll = dot(nk, per_x) + d.n * r * np.log(alpha)
    g_r = dot(nk, psi(r + xv) - psi(r)) + d.n * np.log(alpha)
    g_alpha = d.n * r / alpha
    g_a = dot(nk, psi(a + b) - psi(a + b + xv))
    g_b = dot(nk, psi(a + b) + psi(b + xv) - psi(b) - psi(a + b + xv))
    # Customers without repeat purchases, grouped by T.
    aT0 = alpha + d.T0
    l0 = np.log(aT0)
    c0_l0 = dot(d.c0, l0)
    ll -= r * c0_l0
    g_r -= c0_l0
    g_alpha -= r * dot(d.c0, 1.0 / aT0)
    # Repeat buyers: log(exp(A3) + exp(A4)) with A3 = -rho log(alpha + T),
    # A4 = log(a) - log(b + x - 1) - rho log(alpha + t_x).
    if len(d.x1):
        rho = d.x1 + r
        aT = alpha + d.T1
        at = alpha + d.t1
        LT = np.log(aT)
        diff = LT - np.log(at)  # >= 0: t_x <= T
        cx = np.log(a) - np.log(b + d.k1_values - 1.0)
        dd = rho * diff
        dd += cx[d.k1]  # > -100 within the optimiser's bounds, so exp(-dd) is finite
        em = np.exp(-dd)
        soft = np.log1p(em)  # log(1 + exp(dd)) = dd + log1p(exp(-dd))
        w = 1.0 / (1.0 + em)  # the weight of the "dropped out at t_x" term
        ll += dd.sum() + soft.sum() - dot(rho, LT)
        g_r += dot(w, diff) - LT.sum()
        np.reciprocal(aT, out=aT)
        np.reciprocal(at, out=at)
        at -= aT  # 1/(alpha + t_x) - 1/(alpha + T)
        rho_w = rho * w
        g_alpha += -dot(rho, aT) - dot(rho_w, at)
        wk = np.bincount(d.k1, weights=w, minlength=len(d.k1_values))
        g_a += wk.sum() / a
        g_b -= dot(wk, 1.0 / (b + d.k1_values - 1.0))
    grad = np.array([g_r, g_alpha, g_a, g_b])
    return -float(ll), -grad


def _objective(d: _Data):
    """Mean negative log-likelihood and gradient in log-parameters (for the optimiser)."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, grad = _nll_grad(params, d)
        return value / d.n, grad * params / d.n

    return objective


class BetaGeo:
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005).

    Fit on a customer summary (see `customer_summary`); the fitted ``params_`` are a
    dict with keys ``r``, ``alpha``, ``a``, ``b`` (``alpha`` in the summary's time unit).

    The summary may be a Dask DataFrame (e.g. `customer_summary` of a Dask DataFrame):
    `fit` computes the three columns it needs into memory (a few numbers per customer)
    and fits as in memory, so a summary holding the same rows in the same order gives
    the same parameters; in another row order they agree to the optimiser's tolerance
    (about 1e-7 relative), not to the last bit. Predictions on a Dask summary are lazy
    Dask Series computed partition by partition with the in-memory code.

    Attributes
    ----------
    params_: dict[str, float]
    standard_errors_: dict[str, float]
        From the inverse Hessian of the negative log-likelihood.
    covariance_: numpy.ndarray
    log_likelihood_: float
    n_customers_: int

    Examples
    --------
    >>> summary = {"frequency": [2, 0, 1, 0], "recency": [30.4, 0.0, 1.7, 0.0],
    ...            "T": [38.9, 38.9, 38.9, 38.9]}
    >>> model = BetaGeo().fit(summary)
    >>> model.expected_purchases(summary, 10.0).shape
    (4,)
    """

    def __init__(
        self, *, frequency: str = "frequency", recency: str = "recency", T: str = "T"
    ) -> None:
        self.columns = {"frequency": frequency, "recency": recency, "T": T}

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return "BetaGeo()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"BetaGeo({shown})"

    def _read(self, summary: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = read_summary(summary, self.columns)
        return cols["frequency"], cols["recency"], cols["T"]

    def fit(self, summary: Any) -> BetaGeo:
        """Estimate ``r, alpha, a, b`` by maximum likelihood; returns the model.

        Raises
        ------
        ValidationError
            Bad summary values, or data that cannot identify the model: no customer with
            a repeat purchase (dropout cannot be told apart from a low purchase rate),
            or every customer a repeat buyer with recency equal to T.
        """
        if is_dask(summary):
            from touchpoint.scale._clv import collect

            summary = collect(summary, self.columns.values(), "BetaGeo.fit on a Dask DataFrame")
        x, t_x, T = self._read(summary)
        if not (x > 0).any():
            raise ValidationError(
                [
                    Problem(
                        f"summary[{self.columns['frequency']!r}]",
                        "no customer made a repeat purchase, so BG/NBD cannot tell dropout "
                        "from a low purchase rate; collect a longer history",
                        0,
                    )
                ]
            )
        if not (T > 0).any():
            raise ValidationError(
                [Problem(f"summary[{self.columns['T']!r}]", "every customer has T = 0", 0.0)]
            )
        scale = 10.0 / float(T.max())
        data = _Data(x, t_x, T, scale)
        if len(x) > 2 * _WARM_START:
            step = len(x) // _WARM_START  # every k-th customer
            sub = _Data(x[::step], t_x[::step], T[::step], scale)
            if not (sub.x_values > 0).any():
                sub = data
            fit = maximise_large(_objective(data), _objective(sub), np.zeros(4), feature=_FEATURE)
        else:
            fit = maximise(_objective(data), np.zeros(4), feature=_FEATURE)
        params = np.exp(fit.theta)
        params[1] /= scale
        offset = float(x.sum()) * np.log(scale)

        def value_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
            # times were scaled by `scale`: nll(raw) = nll(scaled, alpha * scale) - sum(x) log(scale)
            value, grad = _nll_grad(np.array([p[0], p[1] * scale, p[2], p[3]]), data)
            grad[1] *= scale
            return value - offset, grad

        nll, cov, se = standard_errors(value_grad, params)
        self.params_ = dict(zip(_NAMES, params.tolist(), strict=True))
        self.standard_errors_ = dict(zip(_NAMES, se.tolist(), strict=True))
        self.covariance_ = cov
        self.log_likelihood_ = -nll
        self.n_customers_ = len(x)
        self.iterations_ = fit.iterations
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise ValidationError([Problem("BetaGeo", "the model is not fitted: call fit first")])
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def probability_alive(self, summary: Any) -> np.ndarray:
        """Probability that each customer is still active at the end of their history T.

        Examples
        --------
        >>> m = BetaGeo()
        >>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> m.probability_alive({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]}).round(3).tolist()
        [1.0, 0.727]
        """
        r, alpha, a, b = self._params()
        if is_dask(summary):
            return self._per_partition(self.probability_alive, summary, "probability_alive")
        x, t_x, T = self._read(summary)
        return 1.0 / (1.0 + self._odds_dead(x, t_x, T, r, alpha, a, b))

    def _per_partition(self, predict: Any, summary: Any, name: str, **kwargs: Any) -> Any:
        """``predict`` on each partition of a Dask summary: a lazy Dask Series."""
        from touchpoint.scale._clv import per_partition

        return per_partition(predict, summary, name=name, columns=self.columns.values(), **kwargs)

    @staticmethod
    def _odds_dead(x, t_x, T, r, alpha, a, b) -> np.ndarray:
        rep = x > 0
        out = np.zeros(len(x))
        xr = x[rep]
        out[rep] = (
            a
            / (b + xr - 1.0)
            * np.exp((r + xr) * (np.log(alpha + T[rep]) - np.log(alpha + t_x[rep])))
        )
        return out

    def expected_purchases(self, summary: Any, horizon: float) -> np.ndarray:
        """Expected number of purchases of each customer in the next ``horizon`` time units.

        The conditional expectation E[X(T, T + horizon) | x, t_x, T] of the paper (eq. 10).
        """
        r, alpha, a, b = self._params()
        if is_dask(summary):
            return self._per_partition(
                self.expected_purchases, summary, "expected_purchases", horizon=horizon
            )
        x, t_x, T = self._read(summary)
        sp = require("scipy.special", extra="clv", feature="BG/NBD prediction")
        h = float(horizon)
        z = h / (alpha + T + h)
        hyp = sp.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        num = (
            (a + b + x - 1.0)
            / (a - 1.0)
            * (1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + h))) * hyp)
        )
        return num / (1.0 + self._odds_dead(x, t_x, T, r, alpha, a, b))

    predict = expected_purchases

    def expected_purchases_new(self, horizon: Any) -> np.ndarray:
        """Expected purchases of a new customer in their first ``horizon`` time units (eq. 9).

        Examples
        --------
        >>> m = BetaGeo()
        >>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> float(np.round(m.expected_purchases_new(39.0), 3))
        1.197
        """
        r, alpha, a, b = self._params()
        sp = require("scipy.special", extra="clv", feature="BG/NBD prediction")
        t = np.asarray(horizon, dtype=np.float64)
        hyp = sp.hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        return (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)) ** r * hyp)
