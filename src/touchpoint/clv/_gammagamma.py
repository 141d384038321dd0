"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013).

A customer's transaction values are Gamma(p, ν) around their own mean, and ν varies
across customers as Gamma(q, γ) (``v`` here, as in `lifetimes`). Fitted on the repeat
buyers' number of repeat purchases ``x`` and average repeat spend ``m``, it predicts
each customer's expected average spend, shrinking a short history towards the
population mean ``p v / (q - 1)``; combined with a purchase model (`BetaGeo`) it gives
discounted customer lifetime value.

The model assumes spend is independent of purchase frequency; check the correlation of
``frequency`` and ``monetary_value`` among repeat buyers before relying on it.

Examples
--------
>>> summary = {"frequency": [1, 2, 3, 1, 4, 0], "monetary_value": [20.0, 35.0, 18.0, 60.0, 25.0, 0.0]}
>>> gg = GammaGamma().fit(summary)
>>> sorted(gg.params_)
['p', 'q', 'v']
>>> gg.n_customers_
5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.clv._bgnbd import BetaGeo
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._mle import dot, maximise, standard_errors
from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._detect import is_dask

__all__ = ["GammaGamma"]

_NAMES = ("p", "q", "v")
_FEATURE = "Gamma-Gamma fitting"


def _nll_grad(params: np.ndarray, xv: np.ndarray, k: np.ndarray, m: np.ndarray):
    """Total negative log-likelihood and gradient in (p, q, v).

    ``xv`` are the distinct numbers of repeat purchases, ``k`` each buyer's index into
    ``xv`` and ``m`` each buyer's average spend.
    """
    sp = require("scipy.special", extra="clv", feature=_FEATURE)
    p, q, v = params
    x = xv[k]
    nk = np.bincount(k, minlength=len(xv)).astype(np.float64)
    px = p * xv
    lxmv = np.log(x * m + v)
    lm = np.log(m)
    lx = np.log(x)
    per_x = sp.gammaln(px + q) - sp.gammaln(px) - sp.gammaln(q)
    ll = dot(nk, per_x) + len(m) * q * np.log(v) + dot(p * x - 1.0, lm) + p * dot(x, lx)
    ll -= dot(p * x + q, lxmv)
    dig = sp.digamma(px + q)
    g_p = dot(nk, xv * (dig - sp.digamma(px))) + dot(x, lm + lx - lxmv)
    g_q = dot(nk, dig - sp.digamma(q)) + len(m) * np.log(v) - lxmv.sum()
    g_v = len(m) * q / v - np.sum((p * x + q) / (x * m + v))
    return -float(ll), -np.array([g_p, g_q, g_v])


class GammaGamma:
    """Gamma-Gamma model of average transaction value.

    ``params_`` is a dict with keys ``p``, ``q``, ``v``. Only repeat buyers
    (``frequency > 0``) inform the fit; the others are ignored by `fit` and get the
    population mean from `expected_average_spend`.

    As `BetaGeo`, it takes a Dask DataFrame summary too: `fit` computes the two columns
    it needs into memory; predictions are lazy Dask Series computed per partition.

    Examples
    --------
    >>> gg = GammaGamma()
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> gg.expected_average_spend({"frequency": [0, 2], "monetary_value": [0.0, 22.35]}).round(2).tolist()
    [35.22, 24.66]
    """

    def __init__(
        self, *, frequency: str = "frequency", monetary_value: str = "monetary_value"
    ) -> None:
        self.columns = {"frequency": frequency, "monetary_value": monetary_value}

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return "GammaGamma()"
        return "GammaGamma(" + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) + ")"

    def _read(self, summary: Any) -> tuple[np.ndarray, np.ndarray]:
        cols = read_summary(summary, self.columns)
        return cols["frequency"], cols["monetary_value"]

    def fit(self, summary: Any) -> GammaGamma:
        """Estimate ``p, q, v`` by maximum likelihood on the repeat buyers; returns the model.

        Raises
        ------
        ValidationError
            No repeat buyer, all repeat buyers with the same average spend (the spread
            that ``p`` and ``q`` describe is not there), or bad summary values.
        """
        if is_dask(summary):
            from touchpoint.scale._clv import collect

            summary = collect(summary, self.columns.values(), "GammaGamma.fit on a Dask DataFrame")
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
        xv, k = np.unique(x, return_inverse=True)
        ms = m * scale

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            value, grad = _nll_grad(params, xv, k, ms)
            return value / len(m), grad * params / len(m)

        fit = maximise(objective, np.zeros(3), feature=_FEATURE)
        params = np.exp(fit.theta)
        params[2] /= scale
        nll, cov, se = standard_errors(lambda p: _nll_grad(p, xv, k, m), params)
        self.params_ = dict(zip(_NAMES, params.tolist(), strict=True))
        self.standard_errors_ = dict(zip(_NAMES, se.tolist(), strict=True))
        self.covariance_ = cov
        self.log_likelihood_ = -nll
        self.n_customers_ = len(m)
        self.iterations_ = fit.iterations
        return self

    def _params(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise ValidationError(
                [Problem("GammaGamma", "the model is not fitted: call fit first")]
            )
        p = self.params_
        return p["p"], p["q"], p["v"]

    def _spend_params(self) -> tuple[float, float, float]:
        p, q, v = self._params()
        if q <= 1:
            raise ValidationError(
                [Problem("GammaGamma.params_['q']", "the mean spend is infinite when q <= 1", q)]
            )
        return p, q, v

    def expected_average_spend(self, summary: Any) -> np.ndarray:
        """Expected average transaction value of each customer, given their history.

        ``p (v + x m) / (p x + q - 1)``: a weighted mean of the population mean and the
        customer's own average; customers without repeat purchases get the population
        mean ``p v / (q - 1)``. Needs ``q > 1``.
        """
        p, q, v = self._spend_params()
        if is_dask(summary):
            from touchpoint.scale._clv import per_partition

            return per_partition(
                self.expected_average_spend,
                summary,
                name="expected_average_spend",
                columns=self.columns.values(),
            )
        x, m = self._read(summary)
        m = np.where(x > 0, m, 0.0)
        return p * (v + x * m) / (p * x + q - 1.0)

    predict = expected_average_spend

    def customer_lifetime_value(
        self,
        transaction_model: BetaGeo,
        summary: Any,
        *,
        periods: int = 12,
        period_length: float = 4.345,
        discount_rate: float = 0.01,
    ) -> np.ndarray:
        """Discounted value of each customer's expected purchases over ``periods`` periods.

        Sum over periods i = 1..``periods`` of (expected purchases in period i) ×
        (expected average spend) / (1 + ``discount_rate``)^i, with periods of
        ``period_length`` in the summary's time unit (default: a month of 4.345 weeks;
        use 30 for days), as `lifetimes`' ``customer_lifetime_value`` does.

        Parameters
        ----------
        transaction_model:
            A fitted `BetaGeo`; ``summary`` must also carry its columns.
        discount_rate:
            Per period (e.g. 0.01 a month is about 12.7% a year).

        Examples
        --------
        >>> bg, gg = BetaGeo(), GammaGamma()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
        >>> s = {"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86],
        ...      "monetary_value": [0.0, 22.35]}
        >>> clv = gg.customer_lifetime_value(bg, s, periods=12)
        >>> bool(clv[1] > clv[0] > 0)
        True
        """
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
        if is_dask(summary):
            from touchpoint.scale._clv import per_partition

            self._spend_params()  # errors now, not when the result is computed
            transaction_model._params()
            return per_partition(
                self.customer_lifetime_value,
                summary,
                transaction_model,
                name="customer_lifetime_value",
                columns=[*self.columns.values(), *transaction_model.columns.values()],
                periods=periods,
                period_length=period_length,
                discount_rate=discount_rate,
            )
        spend = self.expected_average_spend(summary)
        total = np.zeros(len(spend))
        previous = np.zeros(len(spend))
        for i in range(1, periods + 1):  # a loop over the few periods, vectorised over customers
            cumulative = transaction_model.expected_purchases(summary, i * period_length)
            total += spend * (cumulative - previous) / (1.0 + discount_rate) ** i
            previous = cumulative
        return total
