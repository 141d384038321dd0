"""Satisfaction: CSAT per touchpoint or stage, and the Net Promoter Score, with intervals.

- `csat`: share of ratings at or above "satisfied" (4 of 5 by default) per group, with a
  Wilson score interval, and the mean rating.
- `nps`: promoters (9-10) minus detractors (0-6) out of 100 on a 0-10 scale, with a
  score interval (`nps_interval`) that keeps its coverage for small groups and high
  scores.

Groups are columns of the data (``touchpoint``, ``channel``, ``store``, ``staff``...),
``period`` (calendar periods of ``time``), or ``stage`` / ``line`` / ``enterprise_stage`` /
``category`` derived from each event's touchpoint through a blueprint.

Examples
--------
>>> s = csat({"touchpoint": ["A", "A", "B"], "rating": [5, 2, 4]})
>>> s["touchpoint"].tolist(), s["csat"].tolist()
(['A', 'B'], [0.5, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, check_range, column_names, distributed, read_coded
from touchpoint.scoring._groups import DERIVED, Groups, from_blueprint, period_codes

__all__ = ["csat", "nps", "nps_interval", "wilson_interval"]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValidationError([Problem("confidence", "must be between 0 and 1", confidence)])
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(
    successes: Any, n: Any, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (NaN where n = 0).

    >>> lo, hi = wilson_interval(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.4902, 0.9433)
    """
    z = _z(confidence)
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _grouped(
    data: Any,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
) -> tuple[np.ndarray, Groups, list[str]]:
    keys = [by] if isinstance(by, str) else list(by or ())

    available = set(column_names(data))
    derived = [k for k in keys if k in DERIVED and k not in available]
    names: dict[str, str | None] = {"rating": rating}
    for k in keys:
        if k not in derived:
            names[k] = k
    if derived:
        names["__tp"] = touchpoint
    if period is not None:
        names["__time"] = time
    categorical = [k for k in names if k not in ("rating", "__time")]
    cols, cats = read_coded(data, names, required=list(names), categorical=categorical)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for k in keys:
        if k in derived:
            parts.append(from_blueprint(cols["__tp"], cats["__tp"], blueprint, k, touchpoint))
        else:
            parts.append((cols[k], cats[k]))
    labels = list(keys)
    if period is not None:
        parts.append(period_codes(cols["__time"], period))
        labels.append("period")
    ratings = cols["rating"].astype(np.float64, copy=False)
    return ratings, Groups.of(parts, len(ratings)), labels


def _frame(groups: Groups, labels: list[str], columns: dict[str, np.ndarray]) -> ScoreFrame:
    out: dict[str, np.ndarray] = {}
    if labels:
        for i, name in enumerate(labels):
            out[name] = groups.labels(i)
    else:
        labels = ["group"]
        out["group"] = np.array(["all"], dtype=object)
    out.update(columns)
    return ScoreFrame(out, key=labels[0])


class GroupScore(NamedTuple):
    """A score made of per-group sums: ``finish(sums(data))``, grouped by ``labels``.

    The sums of disjoint parts of the data add up, so on Dask the partitions' sums are
    added per group between the two steps.
    """

    sums: Callable[[Any], ScoreFrame]
    finish: Callable[[Any], ScoreFrame]
    labels: list[str]


@distributed("csat")
def csat(
    data: Any,
    *,
    by: str | Sequence[str] | None = "touchpoint",
    rating: str = "rating",
    touchpoint: str = "touchpoint",
    time: str = "time",
    period: str | None = None,
    blueprint: Any = None,
    satisfied: float = 4,
    scale: tuple[float, float] = (1, 5),
    confidence: float = 0.95,
) -> ScoreFrame:
    """Customer satisfaction (CSAT) per group: the share of ratings that are "satisfied".

    Each event with a rating is one response (missing ratings, NaN, are not responses);
    it is satisfied when ``rating >= satisfied``. Per group:

    - ``responses``: number of ratings; ``satisfied``: how many are satisfied;
    - ``csat``: satisfied / responses (NaN with no responses);
    - ``csat_low``, ``csat_high``: the Wilson score interval at ``confidence``;
    - ``mean_rating``.

    Parameters
    ----------
    by:
        A column or several (``"touchpoint"``, ``["store", "staff"]``), or ``stage``,
        ``line``, ``enterprise_stage``, ``category`` taken from ``blueprint`` through each
        event's ``touchpoint``; None for one overall row.
    period:
        Also group by ``day``, ``week``, ``month``, ``quarter`` or ``year`` of ``time``.
    scale:
        The lowest and highest allowed rating; ratings outside raise an error.

    Examples
    --------
    >>> s = csat({"touchpoint": ["A"] * 10, "rating": [5] * 8 + [1, float("nan")]})
    >>> int(s["responses"][0]), float(s["csat"][0])
    (9, 0.8888888888888888)
    """
    steps = csat_steps(
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
        satisfied=satisfied,
        scale=scale,
        confidence=confidence,
    )
    return steps.finish(steps.sums(data))


def csat_steps(
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
    satisfied: float,
    scale: tuple[float, float],
    confidence: float,
) -> GroupScore:
    """`csat` as per-group sums and a finishing step (see `GroupScore`)."""
    sums = partial(
        _csat_sums,
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
        satisfied=satisfied,
        scale=scale,
    )
    finish = partial(_finish, _csat_finish, confidence=confidence)
    return GroupScore(sums, finish, _labels(by, period))


def _csat_sums(
    data: Any,
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
    satisfied: float,
    scale: tuple[float, float],
) -> ScoreFrame:
    """Per group: responses, satisfied responses and the sum of ratings."""
    ratings, groups, labels = _grouped(data, by, rating, touchpoint, time, period, blueprint)
    answered = ~np.isnan(ratings)
    check_range(np.where(answered, ratings, scale[0]), scale[0], scale[1], rating, "a rating")
    k = groups.size
    g = groups.codes
    sums = {
        "responses": np.bincount(g, weights=answered, minlength=k).astype(np.int64),
        "satisfied": np.bincount(g, weights=answered & (ratings >= satisfied), minlength=k).astype(
            np.int64
        ),
        "rating_sum": np.bincount(g, weights=np.where(answered, ratings, 0.0), minlength=k),
    }
    return _frame(groups, labels, sums)


#: Sums that only feed a score's columns and are not shown themselves.
_HIDDEN_SUMS = frozenset({"rating_sum"})


def _finish(finish: Any, sums: Any, *, confidence: float) -> ScoreFrame:
    """The score from a table of per-group sums: the group columns, then ``finish``'s."""

    names = column_names(sums)
    columns = finish(sums, confidence)
    out = {
        name: np.asarray(sums[name])
        for name in names
        if name not in columns and name not in _HIDDEN_SUMS
    }
    out.update(columns)
    return ScoreFrame(out, key=names[0])


def _csat_finish(sums: Any, confidence: float) -> dict[str, np.ndarray]:
    """CSAT's columns from the per-group sums (in memory, or added up over partitions)."""
    responses = np.asarray(sums["responses"], dtype=np.int64)
    happy = np.asarray(sums["satisfied"], dtype=np.int64)
    lo, hi = wilson_interval(happy, responses, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = happy / responses
        mean = np.asarray(sums["rating_sum"], dtype=np.float64) / responses
    return {
        "responses": responses,
        "satisfied": happy,
        "csat": share,
        "csat_low": lo,
        "csat_high": hi,
        "mean_rating": mean,
    }


@distributed("nps")
def nps(
    data: Any,
    *,
    by: str | Sequence[str] | None = None,
    rating: str = "rating",
    touchpoint: str = "touchpoint",
    time: str = "time",
    period: str | None = None,
    blueprint: Any = None,
    confidence: float = 0.95,
) -> ScoreFrame:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), on a 0-10 scale.

    Each event with a rating (0-10; missing ratings are not responses) is one answer to
    "how likely are you to recommend us". Per group: ``responses``, ``promoters``,
    ``passives``, ``detractors``, ``nps`` (-100..100) and its interval ``nps_low``,
    ``nps_high`` at ``confidence``: the score interval of `nps_interval`, which covers
    the true NPS about as often as it says even for a handful of answers and scores
    near 100 (the common case per store or staff member), and is never of zero width.
    It is a function of the three counts alone, so on Dask it is computed once from
    the counts added up over partitions. ``by`` and ``period`` as in `csat`; with
    ``by=None`` one overall row keyed ``group = "all"``.

    Examples
    --------
    >>> s = nps({"rating": [10, 9, 8, 3, 10]})
    >>> float(s["nps"][0]), int(s["promoters"][0]), int(s["detractors"][0])
    (40.0, 3, 1)
    >>> round(float(s["nps_low"][0]), 1), round(float(s["nps_high"][0]), 1)
    (-34.9, 82.6)
    """
    steps = nps_steps(
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
        confidence=confidence,
    )
    return steps.finish(steps.sums(data))


def nps_steps(
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
    confidence: float,
) -> GroupScore:
    """`nps` as per-group sums and a finishing step (see `GroupScore`)."""
    sums = partial(
        _nps_sums,
        by=by,
        rating=rating,
        touchpoint=touchpoint,
        time=time,
        period=period,
        blueprint=blueprint,
    )
    finish = partial(_finish, _nps_finish, confidence=confidence)
    return GroupScore(sums, finish, _labels(by, period))


def _nps_sums(
    data: Any,
    *,
    by: str | Sequence[str] | None,
    rating: str,
    touchpoint: str,
    time: str,
    period: str | None,
    blueprint: Any,
) -> ScoreFrame:
    """Per group: responses, promoters and detractors."""
    ratings, groups, labels = _grouped(data, by, rating, touchpoint, time, period, blueprint)
    answered = ~np.isnan(ratings)
    check_range(np.where(answered, ratings, 0), 0, 10, rating, "a rating")
    k = groups.size
    g = groups.codes
    sums = {
        "responses": np.bincount(g, weights=answered, minlength=k).astype(np.int64),
        "promoters": np.bincount(g, weights=answered & (ratings >= 9), minlength=k).astype(
            np.int64
        ),
        "detractors": np.bincount(g, weights=answered & (ratings <= 6), minlength=k).astype(
            np.int64
        ),
    }
    return _frame(groups, labels, sums)


def _nps_finish(sums: Any, confidence: float) -> dict[str, np.ndarray]:
    """NPS's columns from the per-group counts (in memory, or added up over partitions)."""
    n = np.asarray(sums["responses"], dtype=np.int64)
    pro = np.asarray(sums["promoters"], dtype=np.int64)
    det = np.asarray(sums["detractors"], dtype=np.int64)
    low, high = nps_interval(pro, det, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 100.0 * (pro - det) / n
    return {
        "responses": n,
        "promoters": pro,
        "passives": n - pro - det,
        "detractors": det,
        "nps": score,
        "nps_low": low,
        "nps_high": high,
    }


#: Bisection steps for the interval's ends: each halves a bracket that starts at most 2
#: wide, so 64 steps take it below the spacing of doubles near any end (a fixed count,
#: the same arithmetic on every machine, rather than a tolerance).
_STEPS = 64


def nps_interval(
    promoters: Any, detractors: Any, n: Any, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Score interval for the Net Promoter Score, on its -100..100 scale (NaN where n = 0).

    Each answer is a promoter, a passive or a detractor (a trinomial with shares p, q,
    d) and NPS = 100 (p - d). The interval holds every value ``theta`` of p - d that a
    score test does not reject at ``confidence``:
    ``n (p_hat - d_hat - theta)^2 <= z^2 V(theta)``, where ``V(theta) = theta + 2 d~ -
    theta^2`` is the variance of one answer's +1 / 0 / -1 at the shares that are most
    likely given the counts *and* ``p - d = theta`` (``d~`` solves a quadratic in closed
    form). This is Tango's (1998) score interval for a difference of paired proportions,
    which has the same trinomial form; Rocks (2016, *The American Statistician* 70)
    found it and adjusted Wald intervals the best of the usual NPS intervals, and of
    the two it keeps its coverage better for few answers (see the docs' figures).

    Unlike the plain Wald interval ``nps +- z * sd / sqrt(n)`` it never has zero width
    (10 promoters out of 10 give 44.5..100, not 100..100), it is not centred on the
    score (it leans towards 0 near the ends), it stays within -100..100, and its
    coverage stays close to the nominal level for small groups and extreme scores. The
    ends are found by bisection, vectorised over the groups.

    >>> lo, hi = nps_interval([10, 5], [0, 2], [10, 10])
    >>> lo.round(1).tolist(), hi.round(1).tolist()
    ([44.5, -21.7], [100.0, 67.5])
    """
    z = _z(confidence)
    pro = np.asarray(promoters, dtype=np.float64)
    det = np.asarray(detractors, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    pro, det, n = np.broadcast_arrays(pro, det, n)
    bad = (pro < 0) | (det < 0) | (pro + det > n)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        found = (float(pro.ravel()[i]), float(det.ravel()[i]), float(n.ravel()[i]))
        raise ValidationError(
            [
                Problem(
                    f"promoters/detractors/n[{i}]",
                    "counts must be >= 0 with promoters + detractors <= n",
                    found,
                )
            ]
        )
    empty = n <= 0
    nn = np.where(empty, 1.0, n)
    est = np.where(empty, 0.0, (pro - det) / nn)

    def outside(theta: np.ndarray) -> np.ndarray:
        """Whether the score test rejects ``theta`` (True: outside the interval)."""
        # the share of detractors most likely given the counts and p - d = theta: the
        # larger root of 2n d^2 - B d - C = 0 (the likelihood's derivative), in range
        b = pro * (1 - theta) - 2 * (nn - pro - det) * theta + det * (1 - 3 * theta)
        c = det * theta * (1 - theta)
        d = (b + np.sqrt(np.maximum(b * b + 8 * nn * c, 0.0))) / (4 * nn)
        d = np.clip(d, np.maximum(0.0, -theta), (1 - theta) / 2)
        var = np.maximum(theta + 2 * d - theta * theta, 0.0)
        result: np.ndarray = nn * (est - theta) ** 2 > z * z * var
        return result

    low = _bisect(outside, np.full(est.shape, -1.0), est)
    high = _bisect(outside, np.full(est.shape, 1.0), est)
    low = np.where(empty, np.nan, 100.0 * low)
    high = np.where(empty, np.nan, 100.0 * high)
    return low, high


def _bisect(outside: Any, end: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The last accepted value between ``inside`` (accepted) and ``end`` (-1 or 1).

    ``end`` itself when the test accepts it; otherwise the inside end of a bracket
    halved `_STEPS` times (the accepted values form one interval around the estimate).
    """
    at_end = ~outside(end)
    out = end.copy()
    for _ in range(_STEPS):  # a fixed number of halvings, vectorised over the groups
        mid = (out + inside) / 2
        rejected = outside(mid)
        out = np.where(rejected, mid, out)
        inside = np.where(rejected, inside, mid)
    return np.where(at_end, end, inside)


def _labels(by: str | Sequence[str] | None, period: str | None) -> list[str]:
    """The group columns of the result (``group`` for one overall row)."""
    labels = [by] if isinstance(by, str) else list(by or ())
    if period is not None:
        labels.append("period")
    return labels or ["group"]
