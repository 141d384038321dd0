"""The effect of a care rule or programme: treated customers against the holdout.

Examples
--------
>>> bought = [1] * 30 + [0] * 70 + [1] * 20 + [0] * 80   # 30% of treated, 20% of holdout
>>> held = [False] * 100 + [True] * 100
>>> e = effect(bought, held, kind="proportion")
>>> round(e.estimate, 2), e.treated, e.holdout
(0.1, 100, 100)
>>> e.lower < 0.1 < e.upper
True
"""

from __future__ import annotations

import math
from collections.abc import Collection
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.experiments._student import t_quantile, t_sf
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    as_time,
    check_codes,
    check_times,
    factorize,
    purchase_columns,
    purchase_mask,
    read_coded,
)
from touchpoint.scoring.parts import wilson_interval

__all__ = ["KINDS", "METRICS", "Lift", "effect", "lift"]

#: The outcomes `lift` measures, and the kind of comparison each is.
METRICS = {"repurchase": "proportion", "retention": "proportion", "revenue": "mean"}
#: The kinds of per-customer outcome `effect` compares.
KINDS = ("proportion", "mean")


@attrs.frozen
class Lift:
    """The difference treated minus holdout of a per-customer outcome.

    Attributes
    ----------
    metric:
        What was compared (``"repurchase"``, ``"revenue"``, ``"retention"``, or the
        ``kind`` for `effect`).
    estimate, lower, upper:
        Treated mean minus holdout mean (a difference of rates for proportions), and
        its confidence interval.
    p_value:
        Two-sided p-value of "no difference".
    confidence:
        The interval's confidence level.
    treated, holdout:
        The numbers of customers in each group.
    treated_mean, holdout_mean:
        The outcome's mean (rate) in each group.
    relative:
        ``estimate / holdout_mean`` (NaN when the holdout mean is 0).
    method:
        The interval: ``"newcombe"`` (proportions) or ``"welch"`` (means).
    """

    metric: str
    estimate: float
    lower: float
    upper: float
    p_value: float
    confidence: float
    treated: int
    holdout: int
    treated_mean: float
    holdout_mean: float
    relative: float
    method: str

    @property
    def significant(self) -> bool:
        """True when the confidence interval excludes 0: the effect is detected."""
        return bool(self.lower > 0.0 or self.upper < 0.0)


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValidationError([Problem("confidence", "must be between 0 and 1", confidence)])
    if not 0.0 < confidence < 1.0:
        raise ValidationError([Problem("confidence", "must be between 0 and 1", confidence)])
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _groups(values: Any, held_out: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    h = np.asarray(held_out).reshape(-1)
    if h.dtype.kind != "b":
        raise ValidationError([Problem("held_out", "must be booleans", str(h.dtype))])
    if len(h) != len(v):
        raise ValidationError(
            [Problem("held_out", f"needs one value per customer ({len(v)})", len(h))]
        )
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        row = int(bad[0])
        raise ValidationError([Problem(f"values[{row}]", "must be a finite number", v[row])])
    return v[~h], v[h]


def _proportions(treated: np.ndarray, control: np.ndarray, confidence: float, metric: str) -> Lift:
    bad = np.flatnonzero((treated != 0) & (treated != 1))
    if len(bad) or ((control != 0) & (control != 1)).any():
        raise ValidationError(
            [Problem("values", "a proportion needs 0/1 (or boolean) outcomes", metric)]
        )
    _z(confidence)  # checks it
    x1, n1, x0, n0 = float(treated.sum()), len(treated), float(control.sum()), len(control)
    p1, p0 = x1 / n1, x0 / n0
    (l1,), (u1,) = wilson_interval(np.array([x1]), np.array([n1]), confidence)
    (l0,), (u0,) = wilson_interval(np.array([x0]), np.array([n0]), confidence)
    d = p1 - p0
    # Newcombe's hybrid score interval (his method 10) from the two Wilson intervals
    lower = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0))
    p_value = 1.0 if se == 0.0 else 2.0 * (1.0 - NormalDist().cdf(abs(d) / se))
    return Lift(
        metric=metric,
        estimate=d,
        lower=lower,
        upper=upper,
        p_value=p_value,
        confidence=confidence,
        treated=n1,
        holdout=n0,
        treated_mean=p1,
        holdout_mean=p0,
        relative=d / p0 if p0 else math.nan,
        method="newcombe",
    )


def _means(treated: np.ndarray, control: np.ndarray, confidence: float, metric: str) -> Lift:
    _z(confidence)
    n1, n0 = len(treated), len(control)
    if n1 < 2 or n0 < 2:
        raise ValidationError(
            [Problem("held_out", "a difference of means needs 2 customers in each group", (n1, n0))]
        )
    m1, m0 = float(treated.mean()), float(control.mean())
    v1, v0 = float(treated.var(ddof=1)) / n1, float(control.var(ddof=1)) / n0
    d = m1 - m0
    se = math.sqrt(v1 + v0)
    if se == 0.0:
        lower = upper = d
        p_value = 1.0 if d == 0.0 else 0.0
    else:
        # Welch-Satterthwaite degrees of freedom
        df = (v1 + v0) ** 2 / (v1 * v1 / (n1 - 1) + v0 * v0 / (n0 - 1))
        q = t_quantile(0.5 + confidence / 2.0, df)
        lower, upper = d - q * se, d + q * se
        p_value = min(1.0, 2.0 * t_sf(abs(d) / se, df))
    return Lift(
        metric=metric,
        estimate=d,
        lower=lower,
        upper=upper,
        p_value=p_value,
        confidence=confidence,
        treated=n1,
        holdout=n0,
        treated_mean=m1,
        holdout_mean=m0,
        relative=d / m0 if m0 else math.nan,
        method="welch",
    )


def effect(
    values: Any, held_out: Any, *, kind: str = "proportion", confidence: float = 0.95
) -> Lift:
    """Treated minus holdout of one outcome per customer, with its confidence interval.

    Parameters
    ----------
    values:
        One outcome per customer: 0/1 (or booleans) for ``kind="proportion"``, numbers
        for ``kind="mean"``.
    held_out:
        Booleans aligned with ``values``: True for the holdout (e.g. `holdout`'s mask).
    kind:
        ``"proportion"``: a difference of rates, with Newcombe's hybrid score interval
        (his method 10, built from the two Wilson intervals; good coverage down to
        small groups and rates near 0 or 1) and the pooled two-proportion z-test's
        p-value. ``"mean"``: a difference of means, with Welch's t interval and test
        (unequal variances, Welch-Satterthwaite degrees of freedom).
    confidence:
        The interval's confidence level.

    Returns
    -------
    Lift

    Notes
    -----
    Welch's interval relies on the central limit theorem for each group's mean. For
    heavy-tailed outcomes (revenue with a few very large spenders) its coverage falls
    below nominal when a group is small; with a holdout of thousands of customers it
    is close to nominal (see the tests' simulation with log-normal spend). Capping
    extreme values before comparing (and saying so) is the usual remedy.

    Examples
    --------
    >>> spend = [12.0, 0.0, 30.0, 8.0, 0.0, 5.0, 0.0, 9.0]
    >>> e = effect(spend, [False] * 4 + [True] * 4, kind="mean")
    >>> e.estimate, e.method, e.lower < e.estimate < e.upper
    (9.0, 'welch', True)
    """
    if kind not in KINDS:
        raise ValidationError([Problem("kind", f"must be one of {KINDS}", kind)])
    treated, control = _groups(values, held_out)
    if not len(treated) or not len(control):
        raise ValidationError(
            [Problem("held_out", "needs customers in both groups", (len(treated), len(control)))]
        )
    if kind == "proportion":
        return _proportions(treated, control, confidence, kind)
    return _means(treated, control, confidence, kind)


def _population(customers: Any, event_ids: np.ndarray) -> tuple[int, np.ndarray]:
    """How many customers there are, and each distinct event id's position among them (-1)."""
    pop = customers.to_numpy() if hasattr(customers, "to_numpy") else customers
    pop = np.asarray(pop, dtype=object).reshape(-1)
    codes, _ = factorize(np.concatenate((pop, np.asarray(event_ids, dtype=object))), sort=False)
    n = len(pop)
    own = codes[:n]
    if n and own.min() < 0:
        row = int(np.flatnonzero(own < 0)[0])
        raise ValidationError([Problem(f"customers[{row}]", "is missing; every id needs one")])
    if n and int(own.max()) + 1 != n:  # first-appearance codes: n distinct ids are 0..n-1
        order = np.arange(n)
        first = np.full(n, n, dtype=np.int64)
        np.minimum.at(first, own, order)
        row = int(np.flatnonzero(first[own] != order)[0])  # the first repeat
        raise ValidationError([Problem(f"customers[{row}]", "appears twice", pop[row])])
    table = np.full(int(codes.max()) + 2 if len(codes) else 1, -1, dtype=np.int64)
    table[own] = np.arange(n)
    return n, table[codes[n:]]


def lift(
    data: Any,
    *,
    customers: Any,
    held_out: Any,
    start: Any,
    end: Any,
    metric: str = "repurchase",
    customer: str = "customer",
    time: str = "time",
    amount: str = "amount",
    outcome: str = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    confidence: float = 0.95,
) -> Lift:
    """The effect of a care rule or programme over a window: treated against holdout.

    Parameters
    ----------
    data:
        Events (purchases, visits, calls...): an `EventFrame`, a pandas / polars
        DataFrame, an Arrow table or a dict.
    customers, held_out:
        The customers of the experiment (every one assigned, with or without events;
        ids as in the ``customer`` column, each once) and a boolean mask aligned with
        them, True for the holdout: typically
        ``held_out=holdout(customers, share=0.1, salt=...)``. Events of other customers
        are ignored.
    start, end:
        The window ``[start, end)`` the outcome is measured over (dates, datetimes,
        ISO text), e.g. the 90 days after the rule fired.
    metric:
        ``"repurchase"``: the share of customers with a purchase in the window (by the
        library's purchase rule, `touchpoint.frame.purchase_mask`); ``"revenue"``: the
        mean purchase amount per customer in the window (customers without purchases
        count 0; missing amounts add 0); ``"retention"``: the share of customers with
        any event in the window.
    customer, time, amount, outcome, purchases:
        Column names and purchase labels, as the scores take them.
    confidence:
        The interval's confidence level.

    Returns
    -------
    Lift
        Treated minus holdout: a difference of rates (Newcombe interval) for
        repurchase and retention, of means (Welch interval) for revenue; see `effect`.

    Raises
    ------
    touchpoint.errors.ValidationError
        A customer listed twice or missing, a mask of another length, an unknown
        metric, a window whose end is not after its start, an event without a
        customer or time, a negative amount.

    Examples
    --------
    >>> events = {"customer": ["a", "b", "c", "a"],
    ...           "time": ["2026-02-03", "2026-02-10", "2026-01-05", "2026-03-20"],
    ...           "amount": [40.0, 25.0, 10.0, 99.0]}
    >>> ids = ["a", "b", "c", "d"]
    >>> r = lift(events, customers=ids, held_out=[False, False, True, True],
    ...          start="2026-02-01", end="2026-03-01", metric="revenue")
    >>> r.treated_mean, r.holdout_mean, r.estimate
    (32.5, 0.0, 32.5)
    >>> lift(events, customers=ids, held_out=[False, False, True, True],
    ...      start="2026-02-01", end="2026-03-01").treated_mean
    1.0
    """
    if metric not in METRICS:
        raise ValidationError([Problem("metric", f"must be one of {tuple(METRICS)}", metric)])
    lo, hi = as_time(start, name="start"), as_time(end, name="end")
    if not hi > lo:
        raise ValidationError([Problem("end", "must be after start", str(end))])
    mask = np.asarray(held_out).reshape(-1)
    if mask.dtype.kind != "b":
        raise ValidationError([Problem("held_out", "must be booleans", str(mask.dtype))])
    names: dict[str, str | None] = {"customer": customer, "time": time}
    if metric != "retention":
        names.update(purchase_columns(data, outcome=outcome, purchases=purchases))
        names["amount"] = amount
    required = ("customer", "time") + (("amount",) if metric == "revenue" else ())
    cols, cats = read_coded(data, names, required=required, categorical=("customer", "outcome"))
    codes, times = cols["customer"], cols["time"]
    n, where = _population(customers, cats["customer"])
    if len(mask) != n:
        raise ValidationError(
            [Problem("held_out", f"needs one value per customer ({n})", len(mask))]
        )
    member = np.concatenate((where, [-1]))[codes]  # code -1 reads the trailing -1
    keep = member >= 0
    check_codes(np.where(keep, codes, 0), customer)
    check_times(np.where(keep, times, np.datetime64(0, "us")), time)
    keep &= (times >= lo) & (times < hi)
    if metric != "retention":
        bought = purchase_mask(cols, cats, purchases)
        if bought is not None:
            keep &= bought
    rows = np.flatnonzero(keep)
    who = member[rows]
    if metric == "revenue":
        spent = cols["amount"][rows]
        negative = np.flatnonzero(spent < 0)
        if len(negative):
            row = int(rows[negative[0]])
            raise ValidationError(
                [Problem(f"{amount}[{row}]", "must not be negative", float(spent[negative[0]]))]
            )
        values = np.bincount(who, weights=np.nan_to_num(spent, nan=0.0), minlength=n)
        treated, control = values[~mask], values[mask]
        _check_both(treated, control)
        return _means(treated, control, confidence, metric)
    values = (np.bincount(who, minlength=n) > 0).astype(np.float64)
    treated, control = values[~mask], values[mask]
    _check_both(treated, control)
    return _proportions(treated, control, confidence, metric)


def _check_both(treated: np.ndarray, control: np.ndarray) -> None:
    if not len(treated) or not len(control):
        raise ValidationError(
            [Problem("held_out", "needs customers in both groups", (len(treated), len(control)))]
        )
