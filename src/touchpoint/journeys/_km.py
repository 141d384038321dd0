"""The Kaplan-Meier estimate of a survival curve, with Greenwood's log-log band.

Examples
--------
Five lifetimes, two of them still running (censored) at 3 and 5 days:

>>> km = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, False, True])
>>> km["time"].tolist(), km["at_risk"].tolist(), km["events"].tolist()
([2.0, 3.0, 5.0, 8.0], [5, 4, 2, 1], [1, 1, 0, 1])
>>> [round(s, 4) for s in km["survival"].tolist()]
[0.8, 0.6, 0.6, 0.0]
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, check_finite, check_nonnegative

__all__ = ["kaplan_meier"]


def _z(confidence: float) -> float:
    if not isinstance(confidence, int | float) or not 0.0 < confidence < 1.0:
        raise ValidationError([Problem("confidence", "must be between 0 and 1", confidence)])
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def kaplan_meier(durations: Any, observed: Any, *, confidence: float = 0.95) -> ScoreFrame:
    """Kaplan-Meier survival ``S(t) = P(T > t)`` with a pointwise confidence band.

    Parameters
    ----------
    durations:
        Time to the event or to censoring, one per subject (any unit; the retention
        curve uses days), non-negative.
    observed:
        True where the event happened at ``durations`` (e.g. the customer churned),
        False where the subject was still at risk then (right-censored).
    confidence:
        The band's pointwise confidence level.

    Returns
    -------
    ScoreFrame
        Keyed by ``time``: one row per distinct duration, ascending. ``at_risk``
        (subjects with duration >= time), ``events`` and ``censored`` at that time,
        ``survival`` (the product-limit estimate just after ``time``; a censoring tied
        with events counts as after them), and ``lower`` / ``upper``: Greenwood's
        variance on the log-log scale, ``S ** exp(±z se)`` with
        ``se = sqrt(sum d / (n (n - d))) / |log S|`` (Kalbfleisch and Prentice), which
        stays inside [0, 1]. Where S is 1 (no event yet) or 0 the band is S itself.

    Examples
    --------
    >>> km = kaplan_meier([1.0, 2.0, 3.0], [True, True, True])
    >>> km["survival"].round(4).tolist(), km["lower"].tolist()[-1]
    ([0.6667, 0.3333, 0.0], 0.0)
    """
    z = _z(confidence)
    d = np.asarray(durations, dtype=np.float64).reshape(-1)
    e = np.asarray(observed).reshape(-1)
    if len(e) != len(d):
        raise ValidationError(
            [Problem("observed", f"needs one value per duration ({len(d)})", len(e))]
        )
    if e.dtype.kind != "b":
        raise ValidationError([Problem("observed", "must be booleans", str(e.dtype))])
    check_finite(d, "durations")
    check_nonnegative(d, "durations")
    times, inverse = np.unique(d, return_inverse=True)
    events = np.bincount(inverse, weights=e, minlength=len(times)).astype(np.int64)
    total = np.bincount(inverse, minlength=len(times))
    at_risk = len(d) - np.r_[0, np.cumsum(total)[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - events / at_risk)
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        variance = np.cumsum(terms)  # inf from the point where everyone left has died
        log_s = np.log(survival)
        se = np.sqrt(variance) / np.abs(log_s)
        lower = survival ** np.exp(z * se)
        upper = survival ** np.exp(-z * se)
    flat = (survival >= 1.0) | (survival <= 0.0)
    lower = np.where(flat, survival, lower)
    upper = np.where(flat, survival, upper)
    return ScoreFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(np.int64),
            "events": events,
            "censored": (total - events).astype(np.int64),
            "survival": survival,
            "lower": lower,
            "upper": upper,
        },
        key="time",
    )
