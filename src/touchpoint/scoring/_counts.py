"""Exact tests on purchase counts: binomial and beta-binomial tails, and how much rates vary.

A customer who buys at a steady rate (a Poisson process) splits ``n`` purchases between
two windows of ``r`` and ``b`` days as Binomial(n, r / (r + b)). When the rate itself
drifts from period to period (a gamma process with ``kappa`` per day: the rate over
``d`` days varies with a coefficient of variation ``1 / sqrt(kappa * d)``), the split is
beta-binomial with ``a = kappa * r`` and ``b = kappa * b``; ``kappa`` is estimated from
how unevenly customers' purchases fall into equal sub-windows (`pooled_concentration`).

Numpy only (no scipy in core scoring): log-factorials from `math.lgamma` over the
distinct counts, and for the beta-binomial's non-integer arguments a vectorised Lanczos
log-gamma and Stirling differences (`lgamma_ratio`), which stay exact as the
concentration grows and the beta-binomial becomes the binomial.

Examples
--------
>>> count_cdf([0, 2, 10], [10, 10, 10], [0.5, 0.5, 0.5]).round(6).tolist()
[0.000977, 0.054688, 1.0]
>>> count_cdf([0], [10], [0.5], [2.0]).round(6).tolist()  # Beta-binomial(10, 1, 1): uniform
[0.090909]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["count_cdf", "lgamma", "lgamma_ratio", "pooled_concentration", "zero_probability"]

# Lanczos approximation, g = 7, 9 terms (about 15 significant digits)
_G = 7.0
_LANCZOS = np.array(
    [
        0.99999999999980993,
        676.5203681218851,
        -1259.1392167224028,
        771.32342877765313,
        -176.61502916214059,
        12.507343278686905,
        -0.13857109526572012,
        9.9843695780195716e-6,
        1.5056327351493116e-7,
    ]
)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def lgamma(x: Any) -> np.ndarray:
    """log Gamma(x) for x > 0, elementwise (Lanczos; about 1e-14 relative).

    >>> import math
    >>> bool(np.allclose(lgamma([0.1, 1.0, 2.5, 1e6]), [math.lgamma(v) for v in (0.1, 1.0, 2.5, 1e6)]))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    small = x < 0.5
    z = np.where(small, x + 1.0, x) - 1.0  # Gamma(x) = Gamma(x + 1) / x below 1/2
    series = np.full(z.shape, _LANCZOS[0])
    for i in range(1, len(_LANCZOS)):  # a loop over the nine coefficients
        series = series + _LANCZOS[i] / (z + i)
    t = z + _G + 0.5
    out = _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(series)
    result: np.ndarray = np.where(small, out - np.log(np.where(small, x, 1.0)), out)
    return result


def lgamma_ratio(x: Any, m: Any) -> np.ndarray:
    """log Gamma(x + m) - log Gamma(x) for x > 0, m >= 0, without the cancellation of
    two large log-gammas: Stirling's series for x >= 10, `lgamma` below.

    >>> import math
    >>> exact = sum(math.log(1e12 + i) for i in range(3))
    >>> math.isclose(float(lgamma_ratio(1e12, 3.0)), exact, rel_tol=1e-15)
    True
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    x, m = np.broadcast_arrays(x, m)
    big = x >= 10.0
    xs = np.where(big, 1.0, x)  # keep lgamma's arguments where they are not used sane
    small = lgamma(xs + np.where(big, 0.0, m)) - lgamma(xs)
    xb = np.where(big, x, 10.0)
    y = xb + m

    def tail(v: np.ndarray) -> np.ndarray:  # Stirling's corrections, 1/(12 v) - ...
        v2 = v * v
        result: np.ndarray = (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * v2)) / v2) / v
        return result

    large = (xb - 0.5) * np.log1p(m / xb) + m * np.log(y) - m + tail(y) - tail(xb)
    return np.where(m == 0, 0.0, np.where(big, large, small))


def _distinct(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First position of each distinct row of ``keys`` (int64 arrays) and each row's group."""
    order = np.lexsort(keys[::-1])  # the first key sorts first
    fresh = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        change = np.zeros(len(order) - 1, dtype=bool)
        for key in keys:  # a loop over the few keys
            change |= np.diff(key[order]) != 0
        fresh[1:] = change
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.cumsum(fresh) - 1
    return order[fresh], back


def count_cdf(k: Any, n: Any, p: Any, concentration: Any = np.inf) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, p), or Beta-binomial when ``concentration`` is finite.

    The beta-binomial has ``a = p * concentration``, ``b = (1 - p) * concentration``
    (mean ``n p``, more spread the smaller the concentration). Exact: sums the
    probabilities of the smaller tail in log space over each distinct
    ``(k, n, p, concentration)``, so small p-values keep their relative accuracy (about
    1e-10). ``0 <= k <= n`` integers, ``p`` in [0, 1]; NaN where ``p`` is NaN.

    >>> count_cdf([3], [10], [0.25], [np.inf]).round(6).tolist()
    [0.775875]
    """
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    conc = np.asarray(concentration, dtype=np.float64)
    k, n, p, conc = np.broadcast_arrays(k, n, p, conc)
    out = np.full(k.shape, np.nan)
    ok = ~np.isnan(p) & ~np.isnan(conc)
    if not ok.any():
        return out
    kk, nn = k[ok], n[ok]
    pp = p[ok] + 0.0  # -0.0 and 0.0 alike
    cc = conc[ok] + 0.0
    # the distinct (k, n, p, concentration): one lexsort of integer keys (p's bits)
    packed = nn * (int(kk.max(initial=0)) + 1) + kk
    first_of, back = _distinct(packed, pp.view(np.int64), cc.view(np.int64))
    uk, un, up, uc = kk[first_of], nn[first_of], pp[first_of], cc[first_of]
    # below the mean the lower tail is the small one: sum it (j = 0..k) to keep its
    # relative accuracy; above, 1 - the upper tail (j = k+1..n) is at least about 1/2
    lower = uk < un * up
    start = np.where(lower, 0, uk + 1)
    terms = np.where(lower, uk + 1, un - uk)
    value = np.where(lower, 0.0, 1.0)  # an empty upper tail leaves 1
    if terms.sum():
        # log j! for j = 0..max n: a loop over the distinct counts up to the largest one
        lf = np.array([math.lgamma(j + 1.0) for j in range(int(un.max()) + 1)])
        which = np.repeat(np.arange(len(uk)), terms)
        offsets = np.cumsum(terms) - terms
        j = start[which] + (np.arange(len(which)) - offsets[which])
        nw, pw, cw = un[which], up[which], uc[which]
        logpmf = lf[nw] - lf[j] - lf[nw - j]
        binomial = np.isinf(cw)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.where(j > 0, j * np.log(pw), 0.0) + np.where(
                nw - j > 0, (nw - j) * np.log1p(-pw), 0.0
            )
            a, b = pw * cw, (1.0 - pw) * cw
            beta = ~binomial
            aw, bw = a[beta], b[beta]
            jw, mw = j[beta].astype(np.float64), (nw - j)[beta].astype(np.float64)
            # log B(j + a, n - j + b) - log B(a, b); a term vanishes where its count is 0
            part_a = lgamma_ratio(np.maximum(aw, 1e-300), jw)
            part_b = lgamma_ratio(np.maximum(bw, 1e-300), mw)
            whole = lgamma_ratio(cw[beta], nw[beta].astype(np.float64))
            # a = 0 (or b = 0) puts everything on j = 0 (or j = n)
            logb = np.where((aw <= 0) & (jw > 0), -np.inf, part_a)
            logb = logb + np.where((bw <= 0) & (mw > 0), -np.inf, part_b) - whole
        logpmf = logpmf + np.where(binomial, logp, 0.0)
        logpmf[beta] += logb
        top = np.full(len(uk), -np.inf)
        np.maximum.at(top, which, logpmf)
        finite = np.isfinite(top)
        shift = np.where(finite, top, 0.0)
        sums = np.bincount(which, weights=np.exp(logpmf - shift[which]), minlength=len(uk))
        with np.errstate(divide="ignore"):
            tail = np.where(finite, np.exp(shift + np.log(np.maximum(sums, 1e-300))), 0.0)
        value = np.where(terms > 0, np.where(lower, tail, 1.0 - tail), value)
    out[ok] = np.clip(value, 0.0, 1.0)[back]
    return out


def zero_probability(n: Any, p: Any, concentration: Any = np.inf) -> np.ndarray:
    """P(X = 0) for the distribution of `count_cdf`, in closed form (no tail to sum).

    >>> zero_probability([5, 10], [0.5, 0.5], [np.inf, 2.0]).round(6).tolist()
    [0.03125, 0.090909]
    """
    n = np.asarray(n, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    conc = np.asarray(concentration, dtype=np.float64)
    n, p, conc = np.broadcast_arrays(n, p, conc)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 0, np.exp(n * np.log1p(-p)), 1.0)  # the binomial's
        beta = np.isfinite(conc) & (n > 0) & ~np.isnan(p)
        nb, cb = n[beta], conc[beta]
        b = (1.0 - p[beta]) * cb
        term = np.exp(lgamma_ratio(np.maximum(b, 1e-300), nb) - lgamma_ratio(cb, nb))
    out[beta] = np.where(b > 0, term, 0.0)
    return np.where(np.isnan(p) | np.isnan(conc), np.nan, out)


def pooled_concentration(x2: float, purchases: float, customers: float, cells: int) -> float:
    """The beta-binomial concentration (sum of the Dirichlet parameters over ``cells``
    equal sub-windows) that explains how unevenly customers' purchases fall into them.

    ``x2``: the sum over customers of Pearson's X^2 of their counts in the ``cells``
    sub-windows against an even split; ``purchases``: the sum of their counts;
    ``customers``: how many (each with at least 2 purchases). Under a Dirichlet-multinomial
    with concentration A, E[X^2] = (cells - 1)(n + A)/(1 + A) per customer; solving the
    pooled moments gives A. ``inf`` when the counts are no more uneven than a steady
    (Poisson) rate makes them; NaN without customers; a tiny positive A when they are more
    uneven than any A explains. ``x2`` within 1e-9 (relative) of its steady-rate value
    counts as steady: the sum of X^2 terms equals it up to rounding in that case, and the
    order of summation must not flip the answer between ``inf`` and a huge finite A.

    >>> pooled_concentration(x2=20.0, purchases=100.0, customers=10, cells=3)
    inf
    >>> round(pooled_concentration(x2=40.0, purchases=100.0, customers=10, cells=3), 3)
    8.0
    """
    if customers <= 0:
        return float("nan")
    expected = (cells - 1) * customers
    if x2 <= expected * (1 + 1e-9):
        return float("inf")
    a = ((cells - 1) * purchases - x2) / (x2 - expected)
    return max(a, 1e-9)
