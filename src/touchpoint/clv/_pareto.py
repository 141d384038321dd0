"""The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α) and dies at exponential rate
μ ~ Gamma(s, β), at any time (BG/NBD lets them leave only right after a purchase). From
each customer's ``frequency`` (repeat purchases ``x``), ``recency`` (``t_x``) and age
``T`` the model estimates ``r, alpha, s, beta`` by maximum likelihood and predicts future
purchases and the probability that a customer is still alive.

The likelihood (Fader, Hardie & Lee 2005, "A note on deriving the Pareto/NBD model and
related expressions") is the chance of the history if alive at T plus the chance of it
with death at some τ in (t_x, T]:

    L = Γ(r+x) α^r β^s / Γ(r) · [(α+T)^-(r+x) (β+T)^-s + s ∫ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ]

The integral over (t_x, T] is the hypergeometric term (``A0`` of the note, where it is
written with the Gauss function 2F1, whose usual evaluation overflows or loses its
digits for frequent buyers and for unequal α and β). Here it is the difference of two
integrals from t_x and from T to infinity, each of which, with ``u = (α + c)/(α + τ)``,
is the mean of ``(1 + ζ u)^-(s+1)`` over u ~ Beta(r + s + x, 1): a smooth, bounded
function evaluated by the Gauss rule of that Beta distribution
(`touchpoint.clv._quadrature`), with more points where it varies faster. Where that
factor would rise by a huge factor towards u = 0 (large s with β > α), the same is done
from β (``u = (β + c)/(β + τ)``, the factor ``(1 + ζ' u)^-(r+x)``); where the factor's
singularity lies within about 1/k1 past u = 1 (the rates far apart, or s running off to
infinity), a Gauss-Legendre rule in ``log(1 + t/near)`` over ``t = -k1 log u`` takes
over (`_steep_rule`). Everything is kept in logarithms, so no term overflows; the
gradient is analytic (the same rule gives the means of the parameters' derivatives).
Nothing here needs scipy.

The fit maximises the likelihood with the trust-region Newton iteration of
`touchpoint.clv._mle` in the coordinates ``log(r/α)``, ``log r``, ``log(s/β)``,
``log s`` (the mean purchase rate and the mean death rate are well determined, the
shapes less so), from a start computed from the data; large data start from a
subsample's fit. The coordinates are bounded: a fit that ends on a bound is a limit of
the model (equal purchase rates, equal death rates, nobody dies, ...) reached to within
the bound, and warns with `touchpoint.errors.BoundaryFitWarning` (``limit_`` names it);
its predictions are those of the bounded, finite parameters. The no-dropout limit (the
NBD model) is fitted first, in closed form: where the likelihood's slope in the mean
death rate is <= 0 there, no dropout is the maximum and is the fit (``limit_`` is
``("no dropout",)``, ``s`` is moot), as BG/NBD fits it. Checked against adaptive
quadrature (mpmath) on random parameters (``log r`` in [-3, 8], ``log s`` in [-3, 12],
rate ratios up to e^4 either way): relative errors of the log-odds below 3e-6, below
1e-8 in nine cases of ten; samples of ten to thirty customers fit.

Examples
--------
Customers simulated by the model's own story (true r=0.6, alpha=8, s=0.8, beta=12); the
estimates are within three standard errors of the truth:

>>> rng = np.random.default_rng(0)
>>> n = 4000
>>> T = rng.uniform(20, 60, n)
>>> lam = rng.gamma(0.6, 1 / 8, n)
>>> death = rng.exponential(1 / rng.gamma(0.8, 1 / 12, n))
>>> alive_for = np.minimum(death, T)
>>> x = rng.poisson(lam * alive_for)
>>> t_x = np.where(x > 0, alive_for * rng.beta(np.maximum(x, 1), 1), 0.0)  # last of x uniforms
>>> model = ParetoNBD().fit({"frequency": x, "recency": t_x, "T": T})
>>> truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}
>>> {k: abs(model.params_[k] - v) < 3 * model.standard_errors_[k] for k, v in truth.items()}
{'r': True, 'alpha': True, 's': True, 'beta': True}
>>> summary = {"frequency": [5, 5], "recency": [50.0, 10.0], "T": [52.0, 52.0]}
>>> alive = model.probability_alive(summary).to_numpy()
>>> bool(alive[0] > 0.9 > 0.2 > alive[1])
True
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, cast

import numpy as np

from touchpoint._distinct import distinct
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._keyed import Predictions, predictions
from touchpoint.clv._mle import Fit, Objective, covariance, dot, hessian, maximise, refine
from touchpoint.clv._quadrature import beta_nodes
from touchpoint.errors import BoundaryFitWarning, Problem, ValidationError

__all__ = ["ParetoNBD"]

_NAMES = ("r", "alpha", "s", "beta")
_FEATURE = "Pareto/NBD fitting"
_LABEL = "ParetoNBD"
# coordinates: log(r/alpha), log r, log(s/beta), log s (times scaled so that max T = 10)
_LOWER = np.array([-25.0, -9.0, -25.0, -9.0])
_UPPER = np.array([10.0, 12.0, 10.0, 12.0])
_LIMITS = {
    (0, 0): "the mean purchase rate runs off to 0",
    (0, 1): "the mean purchase rate runs off to infinity",
    (1, 0): "r runs off to 0 (purchase rates infinitely dispersed)",
    (1, 1): "equal purchase rates",
    (2, 0): "no dropout",
    (2, 1): "the death rate runs off to infinity (every customer leaves at once)",
    (3, 0): "s runs off to 0 (death rates infinitely dispersed)",
    (3, 1): "equal death rates",
}
# Gauss points over u ~ Beta(r + s + x, 1), by need (see `_node_count`)
_NODE_COUNTS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# while fitting, at most this many: each count costs an eigenproblem of its size per
# distinct purchase count and evaluation, and only extreme trial points ask for more
_FIT_NODES = 128
_WARM_START = 50_000  # as BG/NBD: large fits start from every k-th customer
# from this r + s + x on (times s + 1), the Beta(r + s + x, 1) mean is taken over
# t = -(r + s + x) log u ~ Exp(1) with a fixed Gauss-Laguerre rule: the integrand varies
# slowly in t there (its log-derivative is at most (s + 1)/(r + s + x) for beta >= alpha),
# and no Gauss-Jacobi rule (an eigenproblem) is needed per purchase count and evaluation
_LAGUERRE_FROM = 2.0
# a customer whose singularity lies within this many times 1/k1 past u = 1 gets the
# rule of `_steep_rule`, with this many points, over t ~ Exp(1) up to _STEEP_T
_STEEP_BELOW = 2.0  # (times the power, at least 1)
# from beta > alpha the integral is substituted from beta where, from alpha, its factor
# would rise more than exp(_LOG_RISE)-fold towards u = 0 (see `_Tail`)
_LOG_RISE = 20.0
_STEEP_NODES = 64
_STEEP_T = 50.0
_BLOCK = 4096  # customers per block of the quadrature (a block's arrays: 4096 x nodes)
# Gauss rules (nodes, weights) by (index of the distinct purchase count, node count)
_Rules = dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]


@functools.cache
def _laguerre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the n-point Gauss rule for Exp(1), computed once."""
    k = np.arange(1, n, dtype=np.float64)
    jac = np.diag(2.0 * np.arange(n) + 1.0) + np.diag(k, 1)
    t, vec = np.linalg.eigh(jac, UPLO="U")
    w = vec[0] ** 2
    t.flags.writeable = False
    w = w / w.sum()
    w.flags.writeable = False
    return t, w


def _node_count(zeta: np.ndarray, power: np.ndarray, top: int) -> np.ndarray:
    """Index into `_NODE_COUNTS` for the integrand ``(1 + zeta u)^-power`` on [0, 1].

    Its singularity is at ``u = -1/zeta``: at a distance ``1/zeta`` from 0 (zeta > 0) or
    ``(1 + zeta)/|zeta|`` from 1 (zeta < 0). A Gauss rule's error falls like
    ``exp(-4 n sqrt(distance))``; the exponent steepens it. The constants are checked
    against adaptive quadrature (tests/clv/test_pareto.py).
    """
    a = np.abs(zeta)
    dist = np.where(zeta >= 0, 1.0 / np.maximum(a, 1e-300), (1.0 + zeta) / np.maximum(a, 1e-300))
    need = 12.0 + 9.0 / np.sqrt(np.minimum(dist, 1e6)) + 1.5 * np.sqrt(power) * np.sqrt(a)
    return cast(np.ndarray, np.minimum(np.searchsorted(_NODE_COUNTS, need), top))


class _Tail:
    """``J(c) = ∫_c^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ`` and means of the derivatives' factors.

    Per customer: ``logJ`` and, for the gradient, the means under the density
    proportional to the integrand on (c, ∞) of ``log(1 + τ/α)``, ``α/(α+τ)``,
    ``log(1 + τ/β)`` and ``β/(β+τ)``.

    Each customer's integral is a mean over a Beta distribution after a substitution
    from α or from β (`_tail_sums`). From α, with ``u = (α+c)/(α+τ)`` the integrand is
    ``(1 + ζu)^-(s+1)`` with ``ζ = (β-α)/(α+c)``; where β > α that factor rises towards
    u = 0 by ``((β+c)/(α+c))^(s+1)``, and the Gauss weights there are tiny and known
    only to about 1e-16 of the largest: a rise past ``exp(_LOG_RISE)`` multiplies their
    rounding into the result (with large s, small samples heading for equal death
    rates stopped with "no step improves it"). Those customers are substituted from β
    instead: the factor ``(1 + ζ'u)^-(r+x)``, ``ζ' = (α-β)/(β+c)`` in (-1, 0], falls
    where the weight falls; where it falls steeply (its singularity within about 1/k1
    of u = 1) `_steep_rule` takes it.
    """

    logJ: np.ndarray
    # the gradient's means (set only with ``grad=True``)
    q1: np.ndarray
    q2: np.ndarray
    q3: np.ndarray
    q4: np.ndarray
    # each customer's row among the distinct pairs (set by `_terms`)
    inverse: np.ndarray

    def __init__(
        self,
        x: np.ndarray,
        c: np.ndarray,
        r: float,
        alpha: float,
        s: float,
        beta: float,
        x_index: np.ndarray,
        x_values: np.ndarray,
        cache: _Rules,
        *,
        grad: bool,
    ) -> None:
        k1 = r + s + x
        from_beta = np.zeros(len(x), dtype=bool)
        if beta > alpha:  # how far the factor rises from u = 1 to u = 0, from alpha
            from_beta = (s + 1.0) * np.log((beta + c) / (alpha + c)) > _LOG_RISE
        self.logJ = np.empty(len(x))
        q = np.empty((4 if grad else 0, len(x)))
        for side in (False, True):  # from alpha, then from beta
            rows = np.flatnonzero(from_beta == side)
            if not len(rows):
                continue
            base, other = (beta, alpha) if side else (alpha, beta)
            power = r + x_values if side else np.full(len(x_values), s + 1.0)
            logJ, means = _tail_sums(
                c[rows], k1[rows], base, other, power, x_index[rows], x_values, r, s, cache, grad
            )
            self.logJ[rows] = logJ
            if grad:  # means of log(1 + τ/base), base/(base+τ), then the other's
                q[:, rows] = means[[2, 3, 0, 1]] if side else means
        if grad:
            self.q1, self.q2, self.q3, self.q4 = q


def _tail_sums(
    c: np.ndarray,
    k1: np.ndarray,
    base: float,
    other: float,
    power_of_x: np.ndarray,
    x_index: np.ndarray,
    x_values: np.ndarray,
    r: float,
    s: float,
    cache: _Rules,
    grad: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``log J(c)`` and the gradient's means, substituted from the rate ``base``.

    With ``u = (base+c)/(base+τ)``: ``J = (base+c)^-k1 / k1 · E[(1 + ζu)^-p]`` over
    u ~ Beta(k1, 1), ``ζ = (other-base)/(base+c)``, ``p = power_of_x[x_index]``. The
    means (rows) are those of ``log(1 + τ/base)``, ``base/(base+τ)``,
    ``log(1 + τ/other)``, ``other/(other+τ)``.
    """
    ac = base + c
    zeta = (other - base) / ac
    one_plus_zeta = (other + c) / ac
    power = power_of_x[x_index]
    top = _NODE_COUNTS.index(_FIT_NODES) if grad else len(_NODE_COUNTS) - 1
    level = _node_count(zeta, power, top)
    shift = np.zeros(len(c))
    acc = np.zeros((5 if grad else 1, len(c)))
    # near the singularity: k1 times its distance from u = 1 (where the weight lies)
    with np.errstate(divide="ignore"):
        near = k1 * one_plus_zeta / -zeta
    steep = np.flatnonzero((zeta < 0) & (near < _STEEP_BELOW * np.maximum(power, 1.0)))
    level[steep] = -1  # (no Gauss-Jacobi or Laguerre rule for these rows)
    for lo in range(0, len(steep), _BLOCK):  # blocks of customers, to bound memory
        rows = steep[lo : lo + _BLOCK]
        u, w, neg_log = _steep_rule(near[rows], k1[rows], power[rows])
        acc[:, rows], shift[rows] = _block(
            u,
            w,
            neg_log,
            np.ones(len(rows), dtype=bool),
            zeta[rows],
            one_plus_zeta[rows],
            k1[rows],
            power[rows],
            grad,
        )
    # (the integrand's log-derivative in t grows by (base - other)/other where other < base)
    spread = max(1.0, (base - other) / other)
    for lv in distinct(level[level >= 0]):  # a loop over a few node counts
        n = _NODE_COUNTS[lv]
        sel = np.flatnonzero(level == lv)
        kv, index = np.unique(x_index[sel], return_inverse=True)
        nodes = np.empty((len(kv), n))
        weights = np.empty((len(kv), n))
        neg_log = np.empty((len(kv), n))
        # (a power below 1 is no smoother in t than 1: the rule needs k1 past 2 either way)
        smooth = r + s + x_values[kv] > _LAGUERRE_FROM * np.maximum(power_of_x[kv], 1.0) * spread
        for i, k in enumerate(kv):  # a loop over the distinct purchase counts
            a = r + s + x_values[k]
            if smooth[i]:
                # u = exp(-t/a), t ~ Exp(1): one fixed Gauss-Laguerre rule for all
                t, w = _laguerre(n)
                neg_log[i] = t / a
                nodes[i], weights[i] = np.exp(-neg_log[i]), w
                continue
            if (k, n) not in cache:
                cache[k, n] = beta_nodes(a, 1.0, n)
            nodes[i], weights[i] = cache[k, n]
            neg_log[i] = -np.log(nodes[i])
        for lo in range(0, len(sel), _BLOCK):  # blocks of customers, to bound memory
            rows = sel[lo : lo + _BLOCK]
            at = index[lo : lo + _BLOCK]
            acc[:, rows], shift[rows] = _block(
                nodes[at],
                weights[at],
                neg_log[at],
                smooth[at],
                zeta[rows],
                one_plus_zeta[rows],
                k1[rows],
                power[rows],
                grad,
            )
    e = np.maximum(acc[0], 1e-300)  # (far outside the accurate range: finite, not NaN)
    logJ = -k1 * np.log(ac) - np.log(k1) + np.log(e) + shift
    if not grad:
        return logJ, np.empty((0, len(c)))
    means = np.empty((4, len(c)))
    means[0] = np.log(ac / base) + acc[1] / e  # log(1 + τ/base) = log((base+c)/base) - log u
    means[1] = (base / ac) * acc[2] / e  # base/(base+τ) = base u / (base+c)
    means[2] = np.log(ac / other) + (acc[3] + acc[1]) / e  # log((other+τ)/other)
    means[3] = (other / ac) * acc[4] / e  # other/(other+τ) = other u / ((base+c)(1 + ζu))
    return logJ, means


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1], computed once."""
    y, w = np.polynomial.legendre.leggauss(n)
    y, w = (y + 1.0) / 2.0, w / 2.0
    y.flags.writeable = False
    w.flags.writeable = False
    return y, w


def _steep_rule(
    near: np.ndarray, k1: np.ndarray, power: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-customer nodes (u, weights, -log u) for the mean over u ~ Beta(k1, 1) of an
    integrand ``((1 + ζ) + |ζ| (1 - u))^-p`` whose singularity lies ``near / k1`` past 1.

    In ``t = -k1 log u`` (Exp(1) exactly) the integrand varies on the scale ``near``
    around t = 0 and slowly beyond, where no fixed rule in u or t has nodes enough;
    in ``y = log(1 + t / near)`` it is smooth (about ``exp(-t - (p - 1) y)``), so a
    Gauss-Legendre rule on ``y`` from 0 to where either factor has fallen by
    ``exp(-50)`` takes it.
    """
    y01, w01 = _legendre(_STEEP_NODES)
    with np.errstate(divide="ignore"):
        fall = np.where(power > 1.0, _STEEP_T / (power - 1.0), np.inf)
    span = np.minimum(np.log1p(_STEEP_T / near), fall)[:, None]
    y = span * y01
    t = near[:, None] * np.expm1(y)
    weights = span * w01 * (near[:, None] + t) * np.exp(-t)  # dt = (near + t) dy
    neg_log = t / k1[:, None]
    return np.exp(-neg_log), weights, neg_log


def _block(
    u: np.ndarray,
    w: np.ndarray,
    neg_log: np.ndarray,
    smooth: np.ndarray,
    z: np.ndarray,
    one_plus_z: np.ndarray,
    k1: np.ndarray,
    power: np.ndarray,
    grad: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The Gauss sums of one block of customers (rows: customers, columns: nodes).

    The integrand is ``(1 + z u)^-power`` (``power`` per customer); ``one_plus_z`` is
    ``1 + z`` computed without cancellation (from the rates).
    """
    zc = z[:, None]
    # log(1 + z u): for z < 0 as log((1 + z) + |z| (1 - u)), both terms positive: near
    # z = -1 and u = 1 (equal death rates, where k1 is huge and every node is within
    # 1/k1 of 1) the direct form cancels to noise
    with np.errstate(divide="ignore", invalid="ignore"):
        lz = np.where(
            zc >= 0,
            np.log1p(np.maximum(zc, 0.0) * u),
            np.log(one_plus_z[:, None] - np.minimum(zc, 0.0) * -np.expm1(-neg_log)),
        )
    # the integrand's largest value at the nodes (where log(1 + z u) is least: it is
    # monotone), factored out so that nothing underflows or overflows
    sh = -power * lz.min(axis=1)
    g = np.exp(-power[:, None] * lz - sh[:, None])
    wg = w * g
    out = np.empty((5 if grad else 1, len(z)))
    out[0] = wg.sum(axis=1)
    if grad:
        # E[g (-log u)]: -log u is singular at u = 0, where a Gauss rule converges
        # slowly; the rule gets g minus its Taylor polynomial at 0 (degree 2 where it
        # converges on [0, 1], else 1), the polynomial's part is exact:
        # E[u^m (-log u)] = k1 / (k1 + m)^2 for u ~ Beta(k1, 1); only where g(0) is
        # within a few times the nodes' largest value (beyond, g is too steep for its
        # polynomial to help), and not on the Laguerre rule (-log u = t/k1 is smooth)
        # within a few times the integrand's mean, too: where g(0) is far above the mean
        # (g falls steeply from 0 while the weight lies near 1), the polynomial's parts
        # are far larger than the result and cancel to noise (the gradient in log r and
        # log s of customers with t_x = 0 came out wrong)
        g0 = np.exp(-np.maximum(sh, -2.0))
        e0 = np.where((sh > -2.0) & (g0 <= 8.0 * out[0]) & ~smooth, g0, 0.0)
        c1 = -power * z * e0
        c2 = np.where(np.abs(z) <= 1.0, 0.5 * power * (power + 1.0) * z * z * e0, 0.0)
        taylor = e0[:, None] + u * (c1[:, None] + c2[:, None] * u)
        out[1] = e0 / k1 + c1 * k1 / (k1 + 1.0) ** 2 + c2 * k1 / (k1 + 2.0) ** 2
        out[1] += (w * (g - taylor) * neg_log).sum(axis=1)
        out[2] = (wg * u).sum(axis=1)
        out[3] = (wg * lz).sum(axis=1)
        out[4] = (wg * (u * np.exp(-lz))).sum(axis=1)
    return out, sh


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """``log(1 - exp(d))`` for d <= 0 (-inf at 0), without cancellation."""
    with np.errstate(divide="ignore"):
        return cast(
            np.ndarray, np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
        )


class _Pairs:
    """The distinct (purchase count, time) pairs of one end of the integral, per customer.

    Customer summaries in whole days repeat these pairs a lot (every customer without
    repeat purchases has t_x = 0; T takes one value per first-purchase day), and the
    integrals depend on nothing else: they are computed once per pair.
    """

    def __init__(self, x_index: np.ndarray, c: np.ndarray) -> None:
        c_values, c_index = np.unique(c, return_inverse=True)
        key = x_index.astype(np.int64) * len(c_values) + c_index
        distinct, self.inverse = np.unique(key, return_inverse=True)
        self.x_index = distinct // len(c_values)
        self.c = c_values[distinct % len(c_values)]


class _Data:
    """The summary in scaled time, with the distinct purchase counts (built once per fit)."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, scale: float) -> None:
        self.n = float(len(x))
        self.x = x
        self.t_x = t_x * scale
        self.T = T * scale
        xi = x.astype(np.int64)
        self.x_values, self.x_index = np.unique(xi, return_inverse=True)
        self.x_values = self.x_values.astype(np.float64)
        self.sum_x = float(x.sum())
        self.sum_T = float(self.T.sum())
        self.ends = (_Pairs(self.x_index, self.t_x), _Pairs(self.x_index, self.T))


def _terms(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    x_index: np.ndarray,
    x_values: np.ndarray,
    *,
    grad: bool,
    ends: tuple[_Pairs, _Pairs] | None = None,
) -> tuple[np.ndarray, np.ndarray, _Tail, _Tail]:
    """Per customer: ``log(dead part / alive part)`` of the likelihood, and the pieces.

    Returns ``(log_odds_dead, log J(T)/J(t_x), head, tail)``: the integrals from t_x
    and from T (`_Tail`, per distinct pair, with ``inverse`` to the customers).
    """
    r, alpha, s, beta = params
    if ends is None:
        ends = (_Pairs(x_index, t_x), _Pairs(x_index, T))
    cache: _Rules = {}  # Gauss rules by (distinct x, node count), shared by both ends
    head, tail = (
        _Tail(x_values[e.x_index], e.c, r, alpha, s, beta, e.x_index, x_values, cache, grad=grad)
        for e in ends
    )
    hi, ti = ends[0].inverse, ends[1].inverse
    head.inverse, tail.inverse = hi, ti
    d = np.minimum(tail.logJ[ti] - head.logJ[hi], 0.0)  # log J(T)/J(t_x); 0 when T = t_x
    log_I = head.logJ[hi] + _log1mexp(d)
    alive_log = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_odds = math.log(s) + log_I - alive_log
    return log_odds, d, head, tail


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(1 / (1 + exp(-z)))`` without overflow."""
    return cast(np.ndarray, -np.logaddexp(0.0, -z))


def _unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    m, lr, d, ls = (float(t) for t in theta)
    r, s = math.exp(lr), math.exp(ls)
    return r, math.exp(lr - m), s, math.exp(ls - d)


def _nll_grad(theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
    """Total negative log-likelihood and its gradient in the four coordinates."""
    r, alpha, s, beta = _unpack(theta)
    x, t_x, T = data.x, data.t_x, data.T
    log_odds, d, head, tail = _terms(
        (r, alpha, s, beta), x, t_x, T, data.x_index, data.x_values, grad=True, ends=data.ends
    )
    # sums over j < x of log(r + j) - log(alpha)... per distinct x, by cumulative sums
    top = int(data.x_values[-1])
    j = np.arange(top, dtype=np.float64)
    G = np.concatenate(([0.0], np.cumsum(np.log1p(j / r))))  # Σ log(1 + j/r)
    G_r = np.concatenate(([0.0], np.cumsum(1.0 / (r + j))))  # Σ 1/(r + j)
    xs = data.x_values.astype(np.int64)
    counts = np.bincount(data.x_index, minlength=len(xs)).astype(np.float64)
    # log L = Σ log(1 + j/r) + x log r - r log(1+T/α) - x log(α+T) - s log(1+T/β)
    #         + log(1 + exp(log_odds))
    ll = dot(counts, G[xs]) + data.sum_x * math.log(r)
    ll -= dot(r + x, np.log1p(T / alpha)) + data.sum_x * math.log(alpha)
    ll -= s * float(np.log1p(T / beta).sum())
    ll += float(np.logaddexp(0.0, log_odds).sum())
    # the probability of being alive and the means over the death time
    P = np.exp(_log_sigmoid(-log_odds))
    Q = 1.0 - P
    R = np.exp(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 1.0 / -np.expm1(d)  # I's means: (head - R tail) / (1 - R)
    w = np.where(np.isfinite(w), w, 0.0)

    def mean(qh: np.ndarray, qt: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, (qh[head.inverse] - R * qt[tail.inverse]) * w)

    m1 = mean(head.q1, tail.q1)
    m2 = mean(head.q2, tail.q2)
    m3 = mean(head.q3, tail.q3)
    m4 = mean(head.q4, tail.q4)
    aT = alpha / (alpha + T)
    bT = beta / (beta + T)
    # derivatives of log L in log r, log alpha, log s, log beta (where Q = 0, its means are moot)
    d_lr = r * dot(counts, G_r[xs]) - r * (dot(P, np.log1p(T / alpha)) + dot(Q, m1))
    d_la = r * data.n - (dot(P * (r + x), aT) + dot(Q * (r + x), m2))
    d_ls = Q.sum() - s * (dot(P, np.log1p(T / beta)) + dot(Q, m3))
    d_lb = s * data.n - (s * dot(P, bT) + (s + 1.0) * dot(Q, m4))
    # coordinates: m = log r - log alpha, lr = log r, dd = log s - log beta, ls = log s
    grad = np.array([-d_la, d_lr + d_la, -d_lb, d_ls + d_lb])
    return -float(ll), -grad


def _nbd_nll_grad(theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
    """The no-dropout limit (the NBD model): negative log-likelihood and gradient.

    In the first two coordinates, ``log(r/alpha)`` and ``log r``: the alive part of the
    Pareto/NBD likelihood alone, in closed form (no integral).
    """
    m, lr = float(theta[0]), float(theta[1])
    r, alpha = math.exp(lr), math.exp(lr - m)
    x, T = data.x, data.T
    top = int(data.x_values[-1])
    j = np.arange(top, dtype=np.float64)
    G = np.concatenate(([0.0], np.cumsum(np.log1p(j / r))))  # Σ log(1 + j/r)
    G_r = np.concatenate(([0.0], np.cumsum(1.0 / (r + j))))  # Σ 1/(r + j)
    xs = data.x_values.astype(np.int64)
    counts = np.bincount(data.x_index, minlength=len(xs)).astype(np.float64)
    log1p_T = np.log1p(T / alpha)
    ll = dot(counts, G[xs]) + data.sum_x * math.log(r)
    ll -= dot(r + x, log1p_T) + data.sum_x * math.log(alpha)
    d_lr = r * dot(counts, G_r[xs]) - r * float(log1p_T.sum())
    d_la = r * data.n - dot(r + x, alpha / (alpha + T))
    return -float(ll), -np.array([-d_la, d_lr + d_la])


def _dropout_score(data: _Data, r: float, alpha: float) -> float:
    """d log L / d(mean death rate) at no dropout, for the NBD's ``r, alpha``.

    To first order in the death rate the spread of death rates does not matter: the
    derivative is ``Σ [-T + E ∫_{t_x}^T exp(λ (T - τ)) dτ]`` with λ ~ Gamma(r + x,
    alpha + T) (the posterior), i.e. ``Σ [-T + (α+T) L (exp((k-1) L) - 1)/((k-1) L)]``
    with ``L = log((α+T)/(α+t_x))`` and ``k = r + x``. Positive: some dropout raises the
    likelihood, so no dropout is not its maximum.
    """
    T, t_x = data.T, data.t_x
    L = np.log((alpha + T) / (alpha + t_x))
    z = (r + data.x - 1.0) * L
    safe = np.where(z != 0, z, 1.0)
    with np.errstate(over="ignore"):
        ell = np.where(z != 0, np.expm1(safe) / safe, 1.0)
        return float(np.sum((alpha + T) * L * ell - T))


def _objective(data: _Data) -> Objective:
    return _mean(_nll_grad, data)


def _mean(total: Any, data: _Data) -> Objective:
    """The mean per customer of a total negative log-likelihood and its gradient."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = total(theta, data)
        return value / data.n, grad / data.n

    return objective


def _start(data: _Data) -> np.ndarray:
    """A start from the data: the mean purchase rate, r = s = 1, a mean lifetime of 2 T."""
    rate = max(data.sum_x, 0.5) / max(data.sum_T, 1e-12)
    return np.array([math.log(rate), 0.0, math.log(1.0 / 20.0), 0.0])


class ParetoNBD:
    """Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987).

    The interface of `BetaGeo`: fit on a customer summary (``frequency``, ``recency``,
    ``T``; see `customer_summary`), then `probability_alive`, `expected_purchases`,
    `expected_purchases_new`. ``params_`` has the keys ``r``, ``alpha`` (purchase rates
    ~ Gamma(r, alpha)), ``s``, ``beta`` (death rates ~ Gamma(s, beta)), rates per unit of
    the summary's time. Unlike BG/NBD, a customer may leave at any time, so the
    probability of being alive of one who never bought again falls with their age.

    Attributes
    ----------
    params_: dict[str, float]
        ``r, alpha, s, beta``. Can be set by hand (finite, > 0).
    population_: dict[str, float]
        ``mean_rate`` (r/alpha), ``rate_cv`` (1/sqrt(r)), ``mean_death_rate``
        (s/beta) and ``death_rate_cv`` (1/sqrt(s)).
    limit_: tuple[str, ...]
        The limits of the model the fit ran to (a coordinate on its bound), e.g.
        ``"equal purchase rates"``; empty for an interior maximum.
    standard_errors_: dict[str, float]
        From the inverse Hessian of the negative log-likelihood (delta method); NaN for
        a parameter on a bound.
    covariance_: numpy.ndarray
    log_likelihood_: float
    n_customers_: int

    Examples
    --------
    The CDNOW estimates (Fader, Hardie & Lee 2005), set by hand (the numbers are those
    of `lifetimes`' ``ParetoNBDFitter`` with the same parameters):

    >>> model = ParetoNBD()
    >>> model.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    >>> summary = {"frequency": [2, 0, 7], "recency": [30.43, 0.0, 36.14], "T": [38.86, 38.86, 38.86]}
    >>> model.probability_alive(summary).to_numpy().round(3).tolist()
    [0.869, 0.295, 0.959]
    >>> model.expected_purchases(summary, 52.0).to_numpy().round(3).tolist()
    [1.851, 0.136, 6.042]
    """

    _p: tuple[float, float, float, float]
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
        recency: str = "recency",
        T: str = "T",
        customer: str = "customer",
    ) -> None:
        self.columns = {"frequency": frequency, "recency": recency, "T": T}
        #: The summary's customer column, which keys the predictions (as `BetaGeo`).
        self.customer = customer

    def __repr__(self) -> str:
        if not hasattr(self, "_p"):
            return f"{_LABEL}()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{_LABEL}({shown})"

    # -- the parameters ----------------------------------------------------------------

    @property
    def params_(self) -> dict[str, float]:
        """The parameters ``r, alpha, s, beta`` (rates per unit of the summary's time)."""
        if not hasattr(self, "_p"):
            raise AttributeError("params_")
        return dict(zip(_NAMES, self._p, strict=True))

    @params_.setter
    def params_(self, params: dict[str, float]) -> None:
        try:
            r, alpha, s, beta = (float(params[k]) for k in _NAMES)
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                [Problem("params_", "expected a dict with numbers r, alpha, s, beta", params)]
            ) from None
        values = (r, alpha, s, beta)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValidationError(
                [Problem("params_", "r, alpha, s and beta must be finite and > 0", params)]
            )
        self._p = values
        self.limit_ = ()

    @property
    def population_(self) -> dict[str, float]:
        """The mean and spread (coefficient of variation) of purchase and death rates."""
        r, alpha, s, beta = self.params_.values()
        return {
            "mean_rate": r / alpha,
            "rate_cv": 1.0 / math.sqrt(r),
            "mean_death_rate": s / beta,
            "death_rate_cv": 1.0 / math.sqrt(s),
        }

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "_p"):
            raise ValidationError([Problem(_LABEL, "the model is not fitted: call fit first")])
        return self._p

    def _read(self, summary: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = read_summary(summary, self.columns)
        return cols["frequency"], cols["recency"], cols["T"]

    # -- fitting -----------------------------------------------------------------------

    def fit(self, summary: Any) -> ParetoNBD:
        """Estimate ``r, alpha, s, beta`` by maximum likelihood; returns the model.

        Warns
        -----
        BoundaryFitWarning
            The maximum is on a bound of the coordinates, i.e. at (next to) a limit of
            the model; ``limit_`` names it. The bounded parameters are fitted, their
            predictions finite.

        Raises
        ------
        ValidationError
            Bad summary values, or data that cannot identify the model: no customer with
            a repeat purchase, or every T = 0.
        """
        x, t_x, T = self._read(summary)
        return self._fit(x, t_x, T, None)

    def _fit(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, start: np.ndarray | None
    ) -> ParetoNBD:
        where = f"summary[{self.columns['frequency']!r}]"
        if not (x > 0).any():
            raise ValidationError(
                [
                    Problem(
                        where,
                        "no customer made a repeat purchase, so Pareto/NBD cannot tell "
                        "dropout from a low purchase rate; collect a longer history",
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
        # the no-dropout limit first (closed form, cheap): where dropout would not raise
        # its likelihood, it is the maximum, fitted as BG/NBD fits it; the full model's
        # iteration would head for that bound where its integrals lose their accuracy
        nbd = maximise(
            _mean(_nbd_nll_grad, data),
            _start(data)[:2] if start is None else start[:2],
            _LOWER[:2],
            _UPPER[:2],
            feature=_FEATURE,
        )
        r0, alpha0 = _unpack(np.r_[nbd.theta, 0.0, 0.0])[:2]
        if _dropout_score(data, r0, alpha0) <= 0:
            return self._no_dropout(data, nbd, scale)
        objective = _objective(data)
        if len(x) > 3 * _WARM_START // 2:
            step = max(4, len(x) // _WARM_START)  # every k-th customer
            sub = _Data(x[::step], t_x[::step], T[::step], scale)
            if not (sub.x_values > 0).any():
                sub = data
            first = maximise(
                _objective(sub),
                _start(sub) if start is None else start,
                _LOWER,
                _UPPER,
                feature=_FEATURE,
            )
            fit = refine(objective, first, _LOWER, _UPPER, feature=_FEATURE)
        else:
            fit = maximise(
                objective,
                _start(data) if start is None else start,
                _LOWER,
                _UPPER,
                feature=_FEATURE,
            )
        r, alpha, s, beta = _unpack(fit.theta)
        self._p = (r, alpha / scale, s, beta / scale)
        self.limit_ = tuple(
            _LIMITS[(j, int(fit.theta[j] >= _UPPER[j]))]
            for j in range(4)  # a loop over the four coordinates
            if fit.active[j]
        )
        self.log_likelihood_ = -fit.value * data.n + float(x.sum()) * math.log(scale)
        self._standard_errors(data, fit, scale)
        self.n_customers_ = len(x)
        self.iterations_ = fit.iterations
        self._warn_limit(4)  # the caller of fit
        return self

    def _no_dropout(self, data: _Data, fit: Fit, scale: float) -> ParetoNBD:
        """The no-dropout limit as the fit: the NBD's ``r, alpha``; ``s`` moot, ``s/beta`` at its bound."""
        r, alpha = _unpack(np.r_[fit.theta, 0.0, 0.0])[:2]
        # s = 1 (moot: nobody dies), s/beta = exp(-25) per scaled time unit: finite
        # parameters whose predictions are the NBD's
        beta = math.exp(-_LOWER[2])
        self._p = (r, alpha / scale, 1.0, beta / scale)
        self.limit_ = (
            "no dropout",
            *(
                _LIMITS[(j, int(fit.theta[j] >= _UPPER[j]))]
                for j in range(2)  # a loop over the two coordinates of the NBD
                if fit.active[j]
            ),
        )
        self.log_likelihood_ = -fit.value * data.n + data.sum_x * math.log(scale)

        def total(t: np.ndarray) -> tuple[float, np.ndarray]:
            return _nbd_nll_grad(t, data)

        free = ~fit.active
        cov_theta = covariance(
            hessian(total, fit.theta, fit.gradient * data.n, _LOWER[:2], _UPPER[:2], free), free
        )
        a = alpha / scale
        jac = np.array([[0.0, r], [-a, a]])  # d(r, alpha) / d(log(r/alpha), log r)
        cov = np.full((4, 4), np.nan)
        cov[:2, :2] = jac @ np.where(np.isfinite(cov_theta), cov_theta, 0.0) @ jac.T
        touched = (np.abs(jac) > 0) @ ~free
        cov[:2][touched, :] = np.nan
        cov[:, :2][:, touched] = np.nan
        diag = np.diag(cov)
        self.covariance_ = cov
        self.standard_errors_ = dict(
            zip(_NAMES, np.sqrt(np.where(diag > 0, diag, np.nan)).tolist(), strict=True)
        )
        self.n_customers_ = len(data.x)
        self.iterations_ = fit.iterations
        self._warn_limit(5)  # the caller of fit
        return self

    def _warn_limit(self, stacklevel: int) -> None:
        """Warn with `BoundaryFitWarning` if the fit is at a limit (at the user's call)."""
        if self.limit_:
            warnings.warn(
                BoundaryFitWarning(
                    f"{_FEATURE}: the likelihood is highest at the edge of the parameter "
                    f"space ({'; '.join(self.limit_)}). The parameters on that edge are "
                    "fitted and their predictions are finite; a simpler model may describe "
                    "these data as well (BetaGeo, or the limit named)"
                ),
                stacklevel=stacklevel,
            )

    def _standard_errors(self, data: _Data, fit: Fit, scale: float) -> None:
        """Covariance of ``r, alpha, s, beta`` by the delta method from the coordinates."""

        def total(t: np.ndarray) -> tuple[float, np.ndarray]:
            return _nll_grad(t, data)

        free = ~fit.active
        grad = fit.gradient * data.n
        cov_theta = covariance(hessian(total, fit.theta, grad, _LOWER, _UPPER, free), free)
        r, alpha, s, beta = self._p
        # d(r, alpha, s, beta) / d(log(r/alpha), log r, log(s/beta), log s)
        jac = np.array(
            [
                [0.0, r, 0.0, 0.0],
                [-alpha, alpha, 0.0, 0.0],
                [0.0, 0.0, 0.0, s],
                [0.0, 0.0, -beta, beta],
            ]
        )
        cov = jac @ np.where(np.isfinite(cov_theta), cov_theta, 0.0) @ jac.T
        touched = (np.abs(jac) > 0) @ ~free  # parameters that depend on a bounded coordinate
        cov[touched, :] = np.nan
        cov[:, touched] = np.nan
        diag = np.diag(cov)
        self.covariance_ = cov
        self.standard_errors_ = dict(
            zip(_NAMES, np.sqrt(np.where(diag > 0, diag, np.nan)).tolist(), strict=True)
        )

    # -- prediction --------------------------------------------------------------------

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        xi = x.astype(np.int64)
        values, index = np.unique(xi, return_inverse=True)
        log_odds, _, _, _ = _terms(
            self._params(), x, t_x, T, index, values.astype(np.float64), grad=False
        )
        return log_odds

    def probability_alive(self, summary: Any) -> Predictions:
        """Probability that each customer is still alive at the end of their history T.

        Returns `Predictions` keyed by the summary's customer column (``row`` positions
        without one), as `BetaGeo` does; ``.to_numpy()`` gives the array.

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
        >>> p = m.probability_alive({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [1.0, 52.0]})
        >>> p.to_numpy().round(3).tolist()
        [0.95, 0.233]
        """
        self._params()
        x, t_x, T = self._read(summary)
        alive = np.exp(_log_sigmoid(-self._log_odds_dead(x, t_x, T)))
        return predictions(summary, self.customer, "probability_alive", alive)

    def expected_purchases(self, summary: Any, horizon: float) -> Predictions:
        """Expected number of purchases of each customer in the next ``horizon`` time units.

        The conditional expectation E[X(T, T + horizon) | x, t_x, T] (eq. 41 of the note):
        the probability of being alive times the purchases of a customer alive at T, whose
        rate is Gamma(r + x, alpha + T) and death rate Gamma(s, beta + T) distributed.
        """
        r, alpha, s, beta = self._params()
        x, t_x, T = self._read(summary)
        h = float(horizon)
        if not (math.isfinite(h) and h >= 0):
            raise ValidationError([Problem("horizon", "must be a finite number >= 0", horizon)])
        alive = np.exp(_log_sigmoid(-self._log_odds_dead(x, t_x, T)))
        expected = alive * (r + x) / (alpha + T) * _time_alive(s, beta + T, h)
        return predictions(summary, self.customer, "expected_purchases", expected)

    predict = expected_purchases

    def expected_purchases_new(self, horizon: Any) -> Any:
        """Expected purchases of a new customer in their first ``horizon`` time units (eq. 27).

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
        >>> float(np.round(m.expected_purchases_new(39.0), 3))
        1.213
        """
        r, alpha, s, beta = self._params()
        t = np.asarray(horizon, dtype=np.float64)
        flat = np.atleast_1d(t).ravel()
        if not np.all(np.isfinite(flat) & (flat >= 0)):
            bad = flat[~(np.isfinite(flat) & (flat >= 0))][0]
            raise ValidationError([Problem("horizon", "must be finite numbers >= 0", bad)])
        out = r / alpha * _time_alive(s, np.full(len(flat), beta), flat)
        return out.reshape(t.shape) if t.ndim else out[0]


def _time_alive(s: float, b: Any, h: Any) -> np.ndarray:
    """Expected time alive in the next ``h`` of a customer with death rate ~ Gamma(s, b).

    ``b/(s-1) (1 - (b/(b+h))^(s-1))``, written so that it is exact at s = 1 and finite
    for every s > 0: ``b L (1 - exp(-(s-1) L)) / ((s-1) L)`` with ``L = log(1 + h/b)``.
    """
    b = np.asarray(b, dtype=np.float64)
    L = np.log1p(np.asarray(h, dtype=np.float64) / b)
    z = (s - 1.0) * L
    safe = np.where(z != 0, z, 1.0)
    ell = np.where(z != 0, -np.expm1(-safe) / safe, 1.0)
    return cast(np.ndarray, b * L * ell)
