"""Power and sample size of a treated-versus-holdout comparison.

Examples
--------
How many customers must a programme reach, with a 10% holdout, to detect a rise of
repurchase from 20% to 23% with 80% power at the 5% level?

>>> n = sample_size(0.03, baseline=0.20, share=0.1)
>>> n.holdout, n.treated, n.total
(1660, 14940, 16600)
>>> round(power(0.03, baseline=0.20, treated=n.treated, holdout=n.holdout), 3)
0.8
"""

from __future__ import annotations

import math
from statistics import NormalDist

import attrs

from touchpoint.errors import Problem, ValidationError

__all__ = ["SampleSize", "power", "sample_size"]

_N = NormalDist()


@attrs.frozen
class SampleSize:
    """Customers needed: ``treated`` + ``holdout`` = ``total``."""

    treated: int
    holdout: int
    total: int


def _check(effect: float, baseline: float | None, sd: float | None, alpha: float) -> None:
    problems: list[Problem] = []
    if not isinstance(effect, int | float) or not math.isfinite(effect) or effect == 0:
        problems.append(Problem("effect", "must be a non-zero number", effect))
    if (baseline is None) == (sd is None):
        problems.append(
            Problem(
                "baseline",
                "give baseline= (the holdout's rate: proportions) or sd= (the outcome's "
                "standard deviation: means), not both",
                (baseline, sd),
            )
        )
    elif baseline is not None:
        if not 0.0 < baseline < 1.0:
            problems.append(Problem("baseline", "must be a rate between 0 and 1", baseline))
        elif isinstance(effect, int | float) and not 0.0 < baseline + effect < 1.0:
            problems.append(
                Problem("effect", "baseline + effect must be a rate between 0 and 1", effect)
            )
    elif sd is not None and not (math.isfinite(sd) and sd > 0):
        problems.append(Problem("sd", "must be a positive number", sd))
    if not 0.0 < alpha < 1.0:
        problems.append(Problem("alpha", "must be between 0 and 1", alpha))
    if problems:
        raise ValidationError(problems)


def _terms(
    effect: float, baseline: float | None, sd: float | None, k: float
) -> tuple[float, float]:
    """Per holdout customer: the null and the alternative standard deviation of the
    difference, with ``k`` treated customers per holdout customer."""
    if sd is not None:
        s = sd * math.sqrt(1.0 / k + 1.0)
        return s, s
    p0 = float(baseline)  # type: ignore[arg-type]
    p1 = p0 + effect
    pooled = (k * p1 + p0) / (1.0 + k)
    null = math.sqrt(pooled * (1.0 - pooled) * (1.0 / k + 1.0))
    alt = math.sqrt(p1 * (1.0 - p1) / k + p0 * (1.0 - p0))
    return null, alt


def power(
    effect: float,
    *,
    treated: int,
    holdout: int,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
) -> float:
    """The probability that a two-sided test at level ``alpha`` detects ``effect``.

    Parameters
    ----------
    effect:
        The true difference treated minus holdout: of rates (with ``baseline``, the
        holdout's rate; e.g. 0.03 for 20% -> 23%) or of means (with ``sd``, the
        outcome's standard deviation in each group).
    treated, holdout:
        The numbers of customers in each group.
    alpha:
        The test's level (1 - the interval's confidence).

    Returns
    -------
    float
        The normal-approximation power: for rates, the two-proportion test with the
        pooled variance under no effect and the unpooled one under the effect
        (Fleiss); for means, the z-approximation of Welch's test (slightly optimistic
        for groups of a few dozen). The far tail is left out (negligible).

    Examples
    --------
    >>> round(power(5.0, sd=40.0, treated=9000, holdout=1000), 3)
    0.963
    """
    _check(effect, baseline, sd, alpha)
    if treated < 1 or holdout < 1:
        raise ValidationError(
            [Problem("holdout", "needs at least one customer in each group", (treated, holdout))]
        )
    k = treated / holdout
    null, alt = _terms(effect, baseline, sd, k)
    z = _N.inv_cdf(1.0 - alpha / 2.0)
    root = math.sqrt(holdout)
    return _N.cdf((abs(effect) * root - z * null) / alt)


def sample_size(
    effect: float,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    share: float = 0.1,
) -> SampleSize:
    """The customers needed to detect ``effect`` with ``power``, a ``share`` held out.

    Parameters
    ----------
    effect:
        The smallest difference treated minus holdout worth detecting: of rates (give
        ``baseline``, the holdout's expected rate) or of means (give ``sd``, the
        outcome's standard deviation, e.g. of revenue per customer).
    alpha:
        The two-sided test's level.
    power:
        The probability of detecting ``effect`` when it is there.
    share:
        The share held out (as `holdout`'s ``share``): a small holdout needs more
        customers in all for the same power.

    Returns
    -------
    SampleSize
        ``holdout`` (rounded up), ``treated`` (``holdout * (1 - share) / share``,
        rounded up) and their ``total``; `power` of those numbers is at least
        ``power``.

    Examples
    --------
    >>> sample_size(5.0, sd=40.0, share=0.5)   # equal groups: 2 (z_a + z_b)^2 sd^2 / d^2 = 1004.7
    SampleSize(treated=1005, holdout=1005, total=2010)
    """
    _check(effect, baseline, sd, alpha)
    if not 0.0 < power < 1.0:
        raise ValidationError([Problem("power", "must be between 0 and 1", power)])
    if not 0.0 < share < 1.0:
        raise ValidationError([Problem("share", "must be between 0 and 1", share)])
    k = (1.0 - share) / share
    null, alt = _terms(effect, baseline, sd, k)
    za, zb = _N.inv_cdf(1.0 - alpha / 2.0), _N.inv_cdf(power)
    n0 = ((za * null + zb * alt) / abs(effect)) ** 2
    holdout = math.ceil(n0 - 1e-9)
    treated = math.ceil(holdout * k - 1e-9)
    return SampleSize(treated=treated, holdout=holdout, total=treated + holdout)
