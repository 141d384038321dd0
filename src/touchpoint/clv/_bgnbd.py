"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they
drop out with probability p ~ Beta(a, b). From each customer's ``frequency`` (repeat
purchases ``x``), ``recency`` (``t_x``) and age ``T`` the model estimates the four
parameters by maximum likelihood and predicts future purchases and the probability that
a customer is still alive.

The fit works in coordinates where every limit of the model is a finite point:

- ``log(r / α)``, the log of the mean purchase rate;
- ``log(1 + 1/r)``: 0 means every customer buys at the same rate (r, α → ∞ with r/α
  fixed: Poisson purchases);
- ``-log(1 - a/(a + b))``: 0 means nobody drops out (a → 0: the NBD model);
- ``log(1 + 1/(a + b))``: 0 means every customer has the same dropout probability
  (a, b → ∞ with a/(a + b) fixed).

The likelihood is written so that it is exact at those points (sums of ``log1p`` over
the purchase counts instead of differences of log-gamma functions), and a trust-region
Newton iteration (`touchpoint.clv._mle`) finds its maximum over the box they bound,
from a fixed start and from the best no-dropout model, keeping the better. When the
maximum is on a face of the box, the limit model is the answer: its parameters and
predictions are finite, `params_` shows the classic parameters that ran off as ``inf``
or ``0.0``, ``limit_`` names the limit and a `touchpoint.errors.BoundaryFitWarning`
says so. The outcome is a property of the likelihood, not of an optimiser's path.

The log-likelihood is evaluated in a few vectorised passes: the terms that depend on
``x`` alone are summed over the distinct values of ``x`` (weighted by their counts),
customers without repeat purchases are grouped by ``T``, and only repeat buyers need
per-customer arithmetic. When ``T`` and ``t_x`` take few distinct values (times in
days), their log-gamma terms are computed once per value and gathered; the repeat
buyers are summed in chunks fixed by their number, on the thread pool of
`touchpoint._threads`, and the chunks' sums added in order, so the thread count never
changes a result. The gradient is analytic. Large fits start from a subsample's fit and
finish on all the customers with Newton steps, or with secant (BFGS) updates of the
Hessian where the subsample's bounds differ from the full data's. Nothing in fitting or
prediction needs scipy.

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
>>> alive = model.probability_alive(summary).to_numpy()
>>> bool(alive[x == 0].min() == 1.0), bool(alive[x > 0].min() < 0.5)
(True, True)

Customers who all keep buying at one Poisson rate (0.1 a week): the likelihood is
highest with nobody dropping out and equal rates, so that limit, a Poisson model, is
the fit, with a warning that says so:

>>> import warnings
>>> rng = np.random.default_rng(1)
>>> T = rng.uniform(20, 52, 200)
>>> x = rng.poisson(0.1 * T)
>>> t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     poisson = BetaGeo().fit({"frequency": x, "recency": t_x, "T": T})
>>> poisson.limit_, caught[0].category.__name__
(('no dropout', 'equal purchase rates'), 'BoundaryFitWarning')
>>> poisson.params_
{'r': inf, 'alpha': inf, 'a': 0.0, 'b': inf}
>>> round(poisson.population_["mean_rate"], 3)
0.101

Eight customers cannot tell apart four parameters; the fit says so:

>>> BetaGeo().fit({"frequency": [0, 1, 2, 0, 3, 1, 0, 5],
...                "recency": [0.0, 4.0, 20.0, 0.0, 30.0, 2.0, 0.0, 35.0],
...                "T": [38.0, 38.0, 30.0, 25.0, 38.0, 20.0, 10.0, 38.0]})
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in the records:
  - summary['frequency']: BG/NBD fitting: the data do not identify the model: ...
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from touchpoint._distinct import distinct
from touchpoint._threads import map_chunks
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._keyed import Predictions, predictions
from touchpoint.clv._mle import (
    Fit,
    Objective,
    covariance,
    dot,
    hessian,
    maximise,
    refine,
    runaway,
)
from touchpoint.clv._quadrature import beta_nodes
from touchpoint.errors import BoundaryFitWarning, Problem, ValidationError
from touchpoint.frame import distributed

__all__ = ["BetaGeo"]

_NAMES = ("r", "alpha", "a", "b")
# the subsample that gives large fits their start: a quarter of the customers, at most
# this many (fits of more than 3 x this many start from one)
_WARM_START = 50_000
# Gauss points over the dropout probability in expected purchases, by need
_NODE_COUNTS = (40, 64, 96, 128, 192, 256, 384, 512, 768)
_PHI_SMALL = 1e-2  # below this 1/r, derivatives in r by their series (see `_h`)
_CHUNK = 1 << 17  # repeat buyers per chunk of the likelihood's sums (threads: `_threads`)

# coordinates: log mean rate, log1p(1/r), -log(1 - a/(a+b)), log1p(1/(a+b))
_LOWER = np.array([-60.0, 0.0, 0.0, 0.0])
_UPPER = np.array([60.0, 40.0, 40.0, 40.0])
_START = np.array([0.0, math.log(2.0), -math.log(0.75), math.log(1.3)])
# beyond these, check whether the likelihood is as high at infinity (see `runaway`)
_FAR = np.array([30.0, 10.0, 10.0, 10.0])
_FACES = {
    1: "equal purchase rates",
    2: "no dropout",
    3: "equal dropout probabilities",
}
_RUNAWAY = {
    0: "the mean purchase rate runs off to 0 or infinity",
    1: "r runs off to 0 (purchase rates infinitely dispersed)",
    2: "the dropout probability runs off to 1 (every customer leaves at once)",
    3: "a + b runs off to 0 (every customer either never or always drops out)",
}


class _Data:
    """The summary regrouped for fast likelihood evaluation (built once per fit).

    ``modified`` selects the MBG/NBD variant, where a customer may also drop out right
    after their first purchase.
    """

    def __init__(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, scale: float, modified: bool
    ) -> None:
        self.n = float(len(x))
        self.modified = modified
        self.delta = 1 if modified else 0
        xi = x.astype(np.int64)
        xv, counts = _counts_of(xi)
        self.x_values = xv.astype(np.float64)
        self.x_counts = counts.astype(np.float64)
        self.x_int = xv
        self.sum_x = float(x.sum())
        self.sum_T = float(T.sum()) * scale
        zero = xi == 0
        self.T0, c0 = _distinct(T[zero] * scale)
        self.c0 = c0.astype(np.float64)
        rep = ~zero
        self.x1 = x[rep]
        self.t1 = t_x[rep] * scale
        self.T1 = T[rep] * scale
        # times recorded in days (or any coarse unit) take few distinct values: the
        # log-gamma terms are then computed once per value and gathered (see `_table`)
        self.T_table = _table(self.T1, self.x1)
        self.t_table = _table(self.t1, self.x1)
        # index of each repeat buyer's x among x_values
        lookup = np.zeros(int(xv[-1]) + 1, dtype=np.intp)
        lookup[xv] = np.arange(len(xv))
        self.k1 = lookup[xi[rep]]
        # with both tables, repeat buyers alike in (x, t_x, T) are summed once, weighted
        self.triples = _triples(self.k1, len(xv), self.T_table, self.t_table)
        self.top = int(xv[-1]) + self.delta + 1  # table length for sums over j < x (+ delta)


class _Table:
    """The distinct values of a time column, each row's index among them, and sums per value."""

    def __init__(self, values: np.ndarray, index: np.ndarray, x: np.ndarray) -> None:
        self.values = values
        self.index = index
        self.count = np.bincount(index, minlength=len(values)).astype(np.float64)
        self.x = np.bincount(index, weights=x, minlength=len(values))


def _table(times: np.ndarray, x: np.ndarray) -> _Table | None:
    """A `_Table` of ``times`` if they take at most a quarter as many values as rows, else None.

    A strided sample of 4,096 rows decides first, so continuous times cost no sort.
    """
    n = len(times)
    if n < 64:
        return None
    sample = times[:: max(1, n // 4096)]
    if len(np.unique(sample)) > len(sample) // 4:
        return None
    values, index = np.unique(times, return_inverse=True)
    if len(values) > n // 4:
        return None
    return _Table(values, index.astype(np.intp, copy=False).reshape(-1), x)


def _triples(
    k: np.ndarray, n_x: int, tT: _Table | None, tt: _Table | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The distinct (x, T, t_x) of the repeat buyers as table indices, with their counts.

    ``(k, T index, t_x index, count)``, or None without both tables, when the key would
    not fit in 63 bits, or when fewer than a quarter of the rows repeat a triple.
    """
    if tT is None or tt is None:
        return None
    nT, nt = len(tT.values), len(tt.values)
    if float(n_x) * nT * nt >= 2.0**62:
        return None
    key = k * (nT * nt) + tT.index * nt + tt.index
    keys, counts = np.unique(key, return_counts=True)
    if len(keys) > 3 * len(key) // 4:
        return None
    it = keys % nt
    rest = keys // nt
    return rest // nT, rest % nT, it, counts.astype(np.float64)


def _counts_of(values: np.ndarray, *, inverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distinct whole numbers >= 0 and their counts (or each value's index among them).

    By counting, not by ``np.unique``: numpy 2's hashing unique takes seconds on millions.
    """
    counts = np.bincount(values)
    distinct = np.flatnonzero(counts)
    if not inverse:
        return distinct, counts[distinct]
    index = np.zeros(len(counts), dtype=np.int64)
    index[distinct] = np.arange(len(distinct))
    return distinct, index[values]


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (sorted) and their counts, by one sort."""
    if len(values) == 0:
        return values.copy(), np.zeros(0, dtype=np.int64)
    s = np.sort(values)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return s[starts], np.diff(np.r_[starts, len(s)])


def _unpack(theta: np.ndarray) -> tuple[float, float, float, float, float]:
    m, v, rho, w = (float(t) for t in theta)
    return math.exp(m), math.expm1(v), -math.expm1(-rho), math.exp(-rho), math.expm1(w)


def _h(z: np.ndarray, L1: np.ndarray) -> np.ndarray:
    """``(z / (1 + z) - log1p(z)) / z**2`` (-> -1/2 at 0), accurate for every z >= 0."""
    safe = np.where(z > 0, z, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        out = (safe / (1.0 + safe) - L1) / (safe * safe)  # z < 1e-2 is replaced below
    small = z < 1e-2
    if small.any():
        zs = z[small]
        # series: sum over k >= 2 of (-1)^(k+1) (k-1)/k z^(k-2)
        out[small] = -0.5 + zs * (
            2 / 3 + zs * (-3 / 4 + zs * (4 / 5 + zs * (-5 / 6 + zs * (6 / 7 - zs * 7 / 8))))
        )
    result: np.ndarray = out
    return result


def _time_terms(
    x: Any, tau: np.ndarray, mu: float, phi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``H = (x + 1/phi) log(1 + phi mu tau)`` and its derivatives in the first two coordinates.

    ``exp(-H)`` is the Gamma-mixed probability of no purchase in ``tau`` more time units
    given ``x`` so far, up to terms without ``tau``; at ``phi = 0`` it is ``mu tau``.
    Returns ``H``, ``dH/dm`` and ``dH/dv`` as the pieces ``(L1, Q, mt/(1+z), A, B)`` with
    ``H = x L1 + Q``, ``dH/dm = (1 + x phi) mt/(1+z)`` and ``dH/dv = x A + B``.
    """
    mt = mu * tau
    if phi > 0:
        z = phi * mt
        L1 = np.log1p(z)
        inv = 1.0 / (1.0 + z)
        # Q = log1p(z) / phi = mt log1p(z) / z, by its series where z is tiny: a
        # subnormal phi (or z) keeps too few digits for the quotient to mean anything
        safe = np.where(z > 1e-4, z, 1.0)
        ratio = np.where(z > 1e-4, L1 / safe, 1.0 - z * (0.5 - z * (1 / 3 - z * 0.25)))
        Q = mt * ratio
    else:
        z = np.zeros_like(mt)
        L1 = z
        inv = np.ones_like(mt)
        Q = mt
    mti = mt * inv
    A = (1.0 + phi) * mti
    # B = (1 + phi) mt^2 h(z); near equal rates by h's series, without the cancellation
    B = (mti - Q) * ((1.0 + phi) / phi) if phi >= _PHI_SMALL else (1.0 + phi) * mt * mt * _h(z, L1)
    return L1, Q, mti, A, B


def _gamma_terms(
    tau: np.ndarray, mu: float, phi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log1p(z)``, ``log1p(z) / phi`` and ``mu tau / (1 + z)`` with z = phi mu tau, phi > 0."""
    z = (phi * mu) * tau
    L1 = np.log1p(z)
    z += 1.0
    mti = np.divide(mu * tau, z, out=z)
    return L1, L1 / phi, mti


def _dropout(pi: float, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Terms of ``log(1 + pi e^q)``: its value, ``w = pi e^q / (1 + pi e^q)`` and ``w / pi``."""
    u = np.exp(-q)
    np.maximum(u, 1e-300, out=u)
    w_over_pi = u + pi
    np.divide(1.0, w_over_pi, out=w_over_pi)
    w = pi * w_over_pi
    if pi > 0:
        # log(1 + pi e^q) = -log(u / (u + pi)): numpy's log is twice as fast as its
        # log1p; where the term is tiny it is off by a few 1e-16 (absolute), and only
        # the likelihood's value uses it, not its gradient
        u *= w_over_pi
        soft = np.log(u, out=u)
        np.negative(soft, out=soft)
        huge = q > 690.0  # e^-q underflowed: log(1 + pi e^q) = q + log(pi), to rounding
        if huge.any():
            soft[huge] = q[huge] + math.log(pi)
    else:
        soft = np.zeros_like(q)
    return soft, w, w_over_pi


def _nll_grad(theta: np.ndarray, d: _Data) -> tuple[float, np.ndarray]:
    """Total negative log-likelihood and its gradient in the four coordinates."""
    mu, phi, pi, pibar, psi = _unpack(theta)
    xv, nk = d.x_values, d.x_counts
    # sums over j < n of the Beta and Gamma ratios, for every n up to the largest x
    j = np.arange(d.top - 1, dtype=np.float64)
    aj = pibar + j * psi
    jpsi1 = 1.0 + j * psi
    D = np.concatenate(([0.0], np.cumsum(np.log1p(-pi / jpsi1))))
    D_rho = np.concatenate(([0.0], np.cumsum(-pibar / aj)))
    D_w = np.concatenate(([0.0], np.cumsum((1.0 + psi) * j * pi / (aj * jpsi1))))
    G = np.concatenate(([0.0], np.cumsum(np.log1p(j * phi))))
    G_v = np.concatenate(([0.0], np.cumsum((1.0 + phi) * j / (1.0 + j * phi))))
    alive = d.x_int + d.delta  # dropout chances survived by a customer still alive
    ll = dot(nk, D[alive] + G[d.x_int]) + d.sum_x * math.log(mu)
    g_m = d.sum_x
    g_v = dot(nk, G_v[d.x_int])
    g_rho = dot(nk, D_rho[alive])
    g_w = dot(nk, D_w[alive])
    # customers without repeat purchases, grouped by T: -H(0, T)
    _, Q0, m0, _, B0 = _time_terms(0, d.T0, mu, phi)
    ll -= dot(d.c0, Q0)
    g_m -= dot(d.c0, m0)
    g_v -= dot(d.c0, B0)
    if d.modified and len(d.T0):
        # ... who may have dropped out right after their first purchase
        soft, w, w_pi = _dropout(pi, Q0 - math.log(pibar))
        ll += dot(d.c0, soft)
        g_m += dot(d.c0, w * m0)
        g_v += dot(d.c0, w * B0)
        g_rho += dot(d.c0, pibar * w_pi + w)
    # repeat buyers: alive at T, or dropped out right after the purchase at t_x
    if len(d.x1):
        x1 = d.x1
        jv = np.maximum(xv - 1.0 + d.delta, 0.0)  # chances survived before the last purchase
        ajv = pibar + jv * psi
        if phi >= _PHI_SMALL:
            # H = x L1 + Q, dH/dm = (1 + x phi) mti, dH/dv = (1 + phi) (x mti + (mti - Q) / phi)
            tT, tt = d.T_table, d.t_table
            if tT is not None:  # once per distinct T, then gathered
                L1Tv, QTv, mTv = _gamma_terms(tT.values, mu, phi)
                x_mT, sum_QT, sum_mT = dot(tT.x, mTv), dot(tT.count, QTv), dot(tT.count, mTv)
                ll -= dot(tT.x, L1Tv) + sum_QT
            else:
                L1T, QT, mT = _gamma_terms(d.T1, mu, phi)
                x_mT, sum_QT, sum_mT = dot(x1, mT), QT.sum(), mT.sum()
                ll -= dot(x1, L1T) + sum_QT
            g_m -= sum_mT + phi * x_mT
            g_v -= (1.0 + phi) * (x_mT + (sum_mT - sum_QT) / phi)
            if tt is not None:
                L1tv, _, mtv = _gamma_terms(tt.values, mu, phi)
            else:
                L1t, _, mt = _gamma_terms(d.t1, mu, phi)
            log_ajv = np.log(ajv)

            def chunk(lo: int, hi: int) -> tuple[float, float, float, float, float, np.ndarray]:
                """Sums over the repeat buyers ``lo:hi`` (the terms that mix x, t_x and T)."""
                if triples is not None:  # distinct (x, T, t_x), weighted by their counts
                    ks, iT, it, cs = (a[lo:hi] for a in triples)
                    xs = xv[ks]
                    dL, dm = L1Tv[iT], mTv[iT]
                    dL -= L1tv[it]
                    dm -= mtv[it]
                else:
                    cs = None
                    xs, ks = x1[lo:hi], d.k1[lo:hi]
                    if tT is not None:
                        dL = L1Tv[tT.index[lo:hi]]
                        dm = mTv[tT.index[lo:hi]]
                    else:
                        dL, dm = L1T[lo:hi].copy(), mT[lo:hi].copy()
                    if tt is not None:
                        dL -= L1tv[tt.index[lo:hi]]
                        dm -= mtv[tt.index[lo:hi]]
                    else:
                        dL -= L1t[lo:hi]
                        dm -= mt[lo:hi]
                # H(T) - H(t_x) = (x + 1/phi) (log1p(phi mu T) - log1p(phi mu t_x))
                q = xs + 1.0 / phi
                q *= dL
                q -= log_ajv[ks]
                soft, w, w_pi = _dropout(pi, q)
                if cs is not None:
                    w *= cs
                w_dm = dot(w, dm)
                return (
                    float(soft.sum()) if cs is None else dot(cs, soft),
                    w_dm,
                    dot(w * xs, dm),
                    dot(w, dL),
                    float(w_pi.sum()) if cs is None else dot(cs, w_pi),
                    np.bincount(ks, weights=w, minlength=len(xv)),
                )

            # chunks fixed by the data size, summed in their order: any thread count
            # gives the same sums (a loop over a few chunks)
            triples = d.triples
            rows = len(x1) if triples is None else len(triples[0])
            parts = map_chunks(chunk, rows, min_size=_CHUNK)
            ll += math.fsum(p[0] for p in parts)
            w_dm = math.fsum(p[1] for p in parts)
            wx_dm = math.fsum(p[2] for p in parts)
            w_dL = math.fsum(p[3] for p in parts)
            w_pi_sum = math.fsum(p[4] for p in parts)
            wk = parts[0][5]
            for p in parts[1:]:
                wk += p[5]
            g_m += w_dm + phi * wx_dm
            g_v += (1.0 + phi) * (wx_dm + (w_dm - w_dL / phi) / phi)
        else:  # next to equal rates: the series of the derivative in 1/r
            L1T, QT, mT, AT, BT = _time_terms(x1, d.T1, mu, phi)
            L1t, Qt, mt, At, Bt = _time_terms(x1, d.t1, mu, phi)
            ll -= dot(x1, L1T) + QT.sum()
            g_m -= mT.sum() + phi * dot(x1, mT)
            g_v -= dot(x1, AT) + BT.sum()
            L1T -= L1t
            QT -= Qt
            q = L1T
            q *= x1
            q += QT
            q -= np.log(ajv)[d.k1]
            soft, w, w_pi = _dropout(pi, q)
            ll += soft.sum()
            mT -= mt
            g_m += dot(w, mT) + phi * dot(w * x1, mT)
            AT -= At
            BT -= Bt
            g_v += dot(w * x1, AT) + dot(w, BT)
            wk = np.bincount(d.k1, weights=w, minlength=len(xv))
            w_pi_sum = float(w_pi.sum())
        g_rho += pibar * w_pi_sum + dot(wk, pibar / ajv)
        g_w -= dot(wk, (1.0 + psi) * jv / ajv)
    grad = np.array([g_m, g_v, g_rho, g_w])
    return -float(ll), -grad


def _objective(d: _Data) -> Objective:
    """Mean negative log-likelihood and gradient (for the optimiser)."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _nll_grad(theta, d)
        return value / d.n, grad / d.n

    return objective


def _best_fit(d: _Data, feature: str) -> Fit:
    """The maximum over the box, compared with the best model without dropout.

    First the no-dropout limit (the NBD model, two coordinates) from a fixed start; then
    the full model from there with a fixed dropout start. If the no-dropout optimum is
    itself a maximum of the full model (its gradient points out of the box), the two
    are compared by likelihood, the limit winning only if strictly better.
    """
    objective = _objective(d)
    start = _START.copy()
    start[0] = math.log(max(d.sum_x, 0.5) / d.sum_T)
    face = np.array([False, False, True, True])
    nbd = maximise(
        objective,
        np.array([start[0], start[1], 0.0, 0.0]),
        _LOWER,
        _UPPER,
        feature=feature,
        fixed=face,
    )
    start[:2] = nbd.theta[:2]
    full = maximise(objective, start, _LOWER, _UPPER, feature=feature)
    if nbd.gradient[2] < 0:  # dropout would raise the likelihood: not a maximum
        return full
    limit = maximise(objective, nbd.theta, _LOWER, _UPPER, feature=feature)
    tolerance = 1e-12 * (1.0 + abs(full.value))
    return limit if limit.value < full.value - tolerance else full


def _check_runaway(objective: Objective, fit: Fit, feature: str, where: str) -> None:
    j = runaway(objective, fit, _LOWER, _UPPER, _FAR)
    if j is not None:
        raise ValidationError(
            [
                Problem(
                    where,
                    f"{feature}: the data do not identify the model: the likelihood keeps "
                    f"increasing as {_RUNAWAY[j]}",
                )
            ]
        )


class _BetaGeoModel:
    """Fitting and prediction shared by BG/NBD and MBG/NBD (the ``_modified`` flag)."""

    _modified: ClassVar[bool] = False
    _coords: tuple[float, float, float, float]
    limit_: tuple[str, ...]
    log_likelihood_: float
    covariance_: np.ndarray
    standard_errors_: dict[str, float]
    n_customers_: int
    iterations_: int
    _feature: ClassVar[str] = "BG/NBD fitting"
    _label: ClassVar[str] = "BetaGeo"

    def __init__(
        self,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        customer: str = "customer",
    ) -> None:
        self.columns = {"frequency": frequency, "recency": recency, "T": T}
        #: The summary's customer column, which keys the predictions.
        self.customer = customer

    def __repr__(self) -> str:
        if not hasattr(self, "_coords"):
            return f"{self._label}()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{self._label}({shown})"

    # -- the parameters ----------------------------------------------------------------

    @property
    def params_(self) -> dict[str, float]:
        """The classic parameters ``r, alpha, a, b``; ``inf`` / ``0.0`` where a limit was fitted."""
        mu, phi, pi, psi = self._fitted()
        r = math.inf if phi == 0 else 1.0 / phi
        alpha = math.inf if phi == 0 else 1.0 / (phi * mu)
        if pi == 0:
            a, b = 0.0, math.inf
        elif psi == 0:
            a, b = math.inf, math.inf
        else:
            a, b = pi / psi, (1.0 - pi) / psi
        return {"r": r, "alpha": alpha, "a": a, "b": b}

    @params_.setter
    def params_(self, params: dict[str, float]) -> None:
        try:
            r, alpha, a, b = (float(params[k]) for k in _NAMES)
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                [Problem("params_", "expected a dict with numbers r, alpha, a, b", params)]
            ) from None
        if not all(math.isfinite(v) and v > 0 for v in (r, alpha, a, b)):
            raise ValidationError(
                [Problem("params_", "r, alpha, a and b must be finite and > 0", params)]
            )
        self._coords = (r / alpha, 1.0 / r, a / (a + b), 1.0 / (a + b))
        self.limit_ = ()

    @property
    def population_(self) -> dict[str, float]:
        """The fitted population in finite terms, limits included.

        ``mean_rate`` (r/alpha, purchases per time unit while alive), ``rate_cv``
        (1/sqrt(r), the spread of the customers' rates; 0: all equal),
        ``mean_dropout`` (a/(a+b), the mean chance of leaving after a purchase; 0:
        nobody leaves) and ``dropout_dispersion`` (1/(a+b); 0: the same chance for all).
        """
        mu, phi, pi, psi = self._fitted()
        return {
            "mean_rate": mu,
            "rate_cv": math.sqrt(phi),
            "mean_dropout": pi,
            "dropout_dispersion": psi,
        }

    def _fitted(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "_coords"):
            raise AttributeError("params_")
        return self._coords

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "_coords"):
            raise ValidationError([Problem(self._label, "the model is not fitted: call fit first")])
        return self._coords

    def _read(self, summary: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = read_summary(summary, self.columns)
        return cols["frequency"], cols["recency"], cols["T"]

    # -- fitting -----------------------------------------------------------------------

    @distributed("BetaGeo.fit", on="summary")
    def fit(self, summary: Any) -> Any:
        """Estimate ``r, alpha, a, b`` by maximum likelihood; returns the model.

        Warns
        -----
        BoundaryFitWarning
            The likelihood is highest at a limit of the model (nobody drops out, equal
            purchase rates, equal dropout probabilities): that limit is fitted, and
            ``limit_`` names it.

        Raises
        ------
        ValidationError
            Bad summary values, or data that cannot identify the model: no customer with
            a repeat purchase (dropout cannot be told apart from a low purchase rate),
            every T = 0, or a likelihood that keeps increasing towards a degenerate
            model (the error says which).
        """
        x, t_x, T = self._read(summary)
        where = f"summary[{self.columns['frequency']!r}]"
        if not (x > 0).any():
            raise ValidationError(
                [
                    Problem(
                        where,
                        f"no customer made a repeat purchase, so {self._feature.split()[0]} "
                        "cannot tell dropout from a low purchase rate; collect a longer history",
                        0,
                    )
                ]
            )
        if not (T > 0).any():
            raise ValidationError(
                [Problem(f"summary[{self.columns['T']!r}]", "every customer has T = 0", 0.0)]
            )
        scale = 10.0 / float(T.max())
        data = _Data(x, t_x, T, scale, self._modified)
        if len(x) > 3 * _WARM_START // 2:
            step = max(4, len(x) // _WARM_START)  # every k-th customer
            sub = _Data(x[::step], t_x[::step], T[::step], scale, self._modified)
            if not (sub.x_values > 0).any():
                sub = data
            fit = refine(
                _objective(data),
                _best_fit(sub, self._feature),
                _LOWER,
                _UPPER,
                feature=self._feature,
                secant=True,
            )
        else:
            fit = _best_fit(data, self._feature)
        _check_runaway(_objective(data), fit, self._feature, where)
        theta = fit.theta.copy()
        active = fit.active.copy()
        if active[2]:  # nobody drops out: the spread of dropout chances is moot
            theta[3] = 0.0
            active[3] = True
        mu, phi, pi, _, psi = _unpack(theta)
        self._coords = (mu * scale, phi, pi, psi)
        self.limit_ = tuple(
            _FACES[j]
            for j in (2, 1, 3)
            if active[j] and theta[j] == 0.0 and not (j == 3 and active[2])
        )
        # the fit's mean value and gradient, as totals (w moved only where it is moot)
        nll_scaled, grad = fit.value * data.n, fit.gradient * data.n
        self.log_likelihood_ = -nll_scaled + float(x.sum()) * math.log(scale)
        self._standard_errors(data, theta, grad, active, scale)
        self.n_customers_ = len(x)
        self.iterations_ = fit.iterations
        if self.limit_:
            self._warn(where)
        return self

    def _standard_errors(
        self, data: _Data, theta: np.ndarray, g: np.ndarray, active: np.ndarray, scale: float
    ) -> None:
        """Covariance of the classic parameters by the delta method from the coordinates."""

        def total(t: np.ndarray) -> tuple[float, np.ndarray]:
            return _nll_grad(t, data)

        free = ~active
        cov_theta = covariance(hessian(total, theta, g, _LOWER, _UPPER, free), free)
        mu, phi, pi, pibar, psi = _unpack(theta)
        mu *= scale
        jac = np.full((4, 4), np.nan)  # d(r, alpha, a, b) / d(coordinates)
        if phi > 0:
            alpha = 1.0 / (phi * mu)
            jac[0] = [0.0, -(1.0 + phi) / phi**2, 0.0, 0.0]
            jac[1] = [-alpha, -alpha * (1.0 + phi) / phi, 0.0, 0.0]
        if pi > 0 and psi > 0:
            a, b = pi / psi, pibar / psi
            jac[2] = [0.0, 0.0, pibar / psi, -a * (1.0 + psi) / psi]
            jac[3] = [0.0, 0.0, -pibar / psi, -b * (1.0 + psi) / psi]
        used = free & np.any(np.isfinite(jac), axis=0)
        cov = np.full((4, 4), np.nan)
        ok = np.all(np.isfinite(jac[:, used]), axis=1)
        if used.any() and ok.any():
            J = jac[np.ix_(ok, used)]
            cov[np.ix_(ok, ok)] = J @ cov_theta[np.ix_(used, used)] @ J.T
        diag = np.diag(cov)
        se = np.sqrt(np.where(diag > 0, diag, np.nan))
        self.covariance_ = cov
        self.standard_errors_ = dict(zip(_NAMES, se.tolist(), strict=True))

    def _warn(self, where: str) -> None:
        mu, _, pi, _ = self._coords
        said = {
            "no dropout": "a -> 0 (no customer ever stops buying: the NBD model)",
            "equal purchase rates": (
                f"r, alpha -> infinity with r/alpha = {mu:.6g} per time unit "
                "(every customer buys at the same Poisson rate)"
            ),
            "equal dropout probabilities": (
                f"a, b -> infinity with a/(a+b) = {pi:.6g} "
                "(every customer has the same chance of leaving after a purchase)"
            ),
        }
        limits = "; ".join(said[name] for name in self.limit_)
        warnings.warn(
            BoundaryFitWarning(
                f"{self._feature}: the likelihood is highest at a limit of the model, "
                f"{limits}. That limit model is fitted; its predictions are finite, and "
                "params_ shows the parameters that ran off as inf or 0"
            ),
            stacklevel=3,
        )

    # -- prediction --------------------------------------------------------------------

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log P(dropped out) / P(alive) at T, per customer (-inf when it cannot be)."""
        mu, phi, pi, psi = self._params()
        pibar = 1.0 - pi
        out = np.full(len(x), -np.inf)
        can = x >= 0 if self._modified else x > 0
        if pi == 0 or not can.any():
            return out
        xs = x[can]
        L1T, QT, _, _, _ = _time_terms(xs, T[can], mu, phi)
        L1t, Qt, _, _, _ = _time_terms(xs, t_x[can], mu, phi)
        jv = xs - 1.0 + (1.0 if self._modified else 0.0)
        out[can] = math.log(pi) - np.log(pibar + jv * psi) + xs * (L1T - L1t) + (QT - Qt)
        return out

    @distributed("BetaGeo.probability_alive", on="summary")
    def probability_alive(self, summary: Any) -> Predictions:
        """Probability that each customer is still active at the end of their history T.

        Returns `Predictions` (a `ScoreFrame`) keyed by the summary's customer column
        (``customer=`` of the model; ``row`` positions without one), with
        ``probability_alive``; ``.to_numpy()`` gives the array. On a Dask summary, a
        lazy Dask Series aligned with the summary's rows.

        Examples
        --------
        >>> m = BetaGeo()
        >>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> s = {"customer": ["a", "b"], "frequency": [0, 2], "recency": [0.0, 30.43],
        ...      "T": [38.86, 38.86]}
        >>> p = m.probability_alive(s)
        >>> p["customer"].tolist(), p.to_numpy().round(3).tolist()
        (['a', 'b'], [1.0, 0.727])
        """
        return predictions(
            summary, self.customer, "probability_alive", self._probability_alive(summary)
        )

    def _probability_alive(self, summary: Any) -> np.ndarray:
        self._params()
        x, t_x, T = self._read(summary)
        return _sigmoid_neg(self._log_odds_dead(x, t_x, T))

    def _expected_if_alive(
        self, x: np.ndarray, T: np.ndarray, horizon: float | np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T + horizon)] of a customer alive at T with history x.

        The posterior rate is Gamma(r + x, alpha + T) and the posterior dropout chance
        Beta(a, b + x) (BG) or Beta(a, b + x + 1) (MBG); a customer with rate λ and
        dropout chance p buys (1 - exp(-λ p h)) / p times in h on average. The mean over
        λ is closed; the one over p is a Gauss rule for the Beta (one per distinct x).
        """
        mu, phi, pi, psi = self._params()
        h = np.asarray(horizon, dtype=np.float64)
        denom = 1.0 + phi * mu * T
        nbd = (1.0 + x * phi) * mu * h / denom  # expected purchases without dropout
        if pi == 0:
            return nbd
        s = np.broadcast_to(phi * mu * h / denom, nbd.shape)  # h / (alpha + T)

        def mean_over_p(p: Any, s: Any = s, nbd: Any = nbd) -> np.ndarray:
            ps = p * s
            ell = np.divide(np.log1p(ps), ps, out=np.ones_like(ps), where=ps > 0)
            result: np.ndarray = -np.expm1(-nbd * p * ell) / p
            return result

        if psi == 0:
            return mean_over_p(np.full(len(x), pi))
        extra = 1.0 if self._modified else 0.0
        a = pi / psi
        out = np.zeros(len(x))
        # the integrand varies on a scale of 1/max(s, nbd) near p = 0: more points there
        # (checked against adaptive quadrature to 1e-9 for s up to 2000)
        need = 24.0 + 4.0 * np.sqrt(np.maximum(s, nbd))
        level = np.minimum(np.searchsorted(_NODE_COUNTS, need), len(_NODE_COUNTS) - 1)
        for lv in distinct(level):  # a loop over a few node counts
            n = _NODE_COUNTS[lv]
            sel = np.flatnonzero(level == lv)
            values, index = _counts_of(x[sel].astype(np.int64), inverse=True)
            nodes = np.empty((len(values), n))
            weights = np.empty((len(values), n))
            for i, xv in enumerate(values):  # a loop over the distinct purchase counts
                nodes[i], weights[i] = beta_nodes(a, (1.0 - pi) / psi + xv + extra, n)
            ps, nb = s[sel], nbd[sel]
            acc = np.zeros(len(sel))
            for k in range(n):  # a loop over the quadrature points, vectorised over customers
                p = nodes[index, k]
                acc += weights[index, k] * mean_over_p(p, ps, nb)
            out[sel] = acc
        return out

    @distributed("BetaGeo.expected_purchases", on="summary")
    def expected_purchases(self, summary: Any, horizon: float) -> Predictions:
        """Expected number of purchases of each customer in the next ``horizon`` time units.

        The conditional expectation E[X(T, T + horizon) | x, t_x, T] of the paper (eq. 10),
        evaluated without the hypergeometric function (see `_expected_if_alive`), so it
        stays finite and accurate for frequent buyers, long horizons and limit models.
        Returns `Predictions` keyed by customer, as `probability_alive` does, with
        ``expected_purchases``.
        """
        return predictions(
            summary,
            self.customer,
            "expected_purchases",
            self._expected_purchases(summary, horizon),
        )

    def _expected_purchases(self, summary: Any, horizon: float) -> np.ndarray:
        self._params()
        x, t_x, T = self._read(summary)
        _check_horizon(horizon)
        alive = _sigmoid_neg(self._log_odds_dead(x, t_x, T))
        result: np.ndarray = alive * self._expected_if_alive(x, T, horizon)
        return result

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
        _, _, pi, _ = self._params()
        t = np.asarray(horizon, dtype=np.float64)
        flat = np.atleast_1d(t).ravel()
        if not np.all(np.isfinite(flat) & (flat >= 0)):
            bad = flat[~(np.isfinite(flat) & (flat >= 0))][0]
            raise ValidationError([Problem("horizon", "must be finite numbers >= 0", bad)])
        # a new customer: no repeat purchase, T = 0; under MBG/NBD they may have left
        # right after the first purchase
        zero = np.zeros(len(flat))
        survive = (1.0 - pi) if self._modified else 1.0
        out = survive * self._expected_if_alive(zero, zero, flat)
        return out.reshape(t.shape) if t.ndim else out[0]


def _check_horizon(horizon: Any) -> None:
    h = float(horizon)
    if not (math.isfinite(h) and h >= 0):
        raise ValidationError([Problem("horizon", "must be a finite number >= 0", horizon)])


def _sigmoid_neg(log_odds: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(log_odds))`` without overflow."""
    e = np.exp(-np.abs(log_odds))
    result: np.ndarray = np.where(log_odds > 0, e / (1.0 + e), 1.0 / (1.0 + e))
    return result


class BetaGeo(_BetaGeoModel):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005).

    Fit on a customer summary (see `customer_summary`); the fitted ``params_`` are a
    dict with keys ``r``, ``alpha``, ``a``, ``b`` (``alpha`` in the summary's time unit).
    Customers without repeat purchases are alive with probability 1 under BG/NBD (a
    customer can only leave after a repeat purchase); `ModifiedBetaGeo` lets them leave
    after the first purchase too.

    The summary may be a Dask DataFrame (e.g. `customer_summary` of a Dask DataFrame):
    `fit` computes the three columns it needs into memory (a few numbers per customer)
    and fits as in memory, so a summary holding the same rows in the same order gives
    the same parameters; in another row order they agree to rounding (the fit stops
    where the gradient vanishes, then takes one more Newton step). Predictions on a Dask
    summary are lazy Dask Series computed partition by partition with the in-memory code.

    Attributes
    ----------
    params_: dict[str, float]
        ``r, alpha, a, b``; at a limit of the model (see ``limit_``) the parameters
        that ran off are ``inf`` or ``0.0``. Can be set to finite values by hand.
    population_: dict[str, float]
        The same population in finite terms (mean rate, its spread, mean dropout chance
        and its spread), limits included.
    limit_: tuple[str, ...]
        The limits fitted: ``"no dropout"``, ``"equal purchase rates"``, ``"equal
        dropout probabilities"``; empty for an interior maximum.
    standard_errors_: dict[str, float]
        From the inverse Hessian of the negative log-likelihood; NaN for a parameter
        at a limit.
    covariance_: numpy.ndarray
    log_likelihood_: float
    n_customers_: int

    Examples
    --------
    The CDNOW estimates (Fader, Hardie & Lee 2005), set by hand:

    >>> model = BetaGeo()
    >>> model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> summary = {"frequency": [2, 0, 7], "recency": [30.4, 0.0, 36.1], "T": [38.9, 38.9, 38.9]}
    >>> model.expected_purchases(summary, 10.0).to_numpy().round(3).tolist()
    [0.356, 0.054, 1.354]
    >>> model.probability_alive(summary).to_numpy().round(3).tolist()
    [0.726, 1.0, 0.868]
    """

    _modified = False
    _feature = "BG/NBD fitting"
    _label = "BetaGeo"
