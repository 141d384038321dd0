"""The stage funnel: how many customers reach each stage in order, and where they stop.

Examples
--------
>>> events = {"customer": ["a", "a", "b", "b", "c"],
...           "time": ["2026-01-01", "2026-01-03", "2026-01-02", "2026-01-01", "2026-01-05"],
...           "stage": ["consultation", "experience", "consultation", "experience", "consultation"]}
>>> f = funnel(events, stages=["consultation", "experience"])
>>> f["stage"].tolist(), f["customers"].tolist(), f["conversion"].tolist()
(['consultation', 'experience'], [3, 1], [nan, 0.3333333333333333])
>>> f["median_days"].tolist()
[nan, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    DAY_US,
    ScoreFrame,
    check_codes,
    check_times,
    code_time_order,
    factorize,
)
from touchpoint.journeys._periods import check_period, period_index, period_start
from touchpoint.journeys._stages import event_stages, stage_list

__all__ = ["first_reach", "funnel", "grouped_median"]

_NEVER = np.iinfo(np.int64).max  # "not reached": later than any time


def first_reach(
    cust: np.ndarray, t: np.ndarray, position: np.ndarray, n_customers: int, n_stages: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's time of reaching each stage in order, and the row that entered.

    ``cust`` (codes), ``t`` (int64 times) and ``position`` (stage positions, -1 outside)
    are the events. A customer reaches stage 0 with their first event in it, and stage
    k with their first event in it at or after the time they reached stage k - 1.
    Returns ``reach`` (``n_stages x n_customers`` int64, `_NEVER` where not reached)
    and ``entry`` (per customer, the input row of the first stage-0 event; -1 if none).

    One sort of the events by (customer, time); then per stage (a loop over the
    handful of stages) one mask and the first masked row of each customer, found where
    the customer code changes among the masked rows. No loop per customer or event.
    """
    rows = np.flatnonzero(position >= 0)
    c, tt, s = cust[rows], t[rows], position[rows]
    order = code_time_order(c, tt)  # equal times keep input order
    c, tt, s, rows = c[order], tt[order], s[order], rows[order]
    reach = np.full((n_stages, n_customers), _NEVER, dtype=np.int64)
    entry = np.full(n_customers, -1, dtype=np.int64)
    for k in range(n_stages):  # a handful of stages
        hit = s == k
        if k:
            threshold = reach[k - 1][c]
            hit &= (tt >= threshold) & (threshold != _NEVER)
        idx = np.flatnonzero(hit)
        if not len(idx):
            continue
        first = idx[np.r_[True, c[idx][1:] != c[idx][:-1]]]
        reach[k, c[first]] = tt[first]
        if k == 0:
            entry[c[first]] = rows[first]
    return reach, entry


def grouped_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """The median of ``values`` within each group 0..n_groups-1 (NaN for an empty group).

    One sort by (group, value); the middle one or two values of each group's run.

    >>> grouped_median(np.array([0, 0, 0, 2, 2]), np.array([3.0, 1.0, 2.0, 5.0, 6.0]), 3).tolist()
    [2.0, nan, 5.5]
    """
    out = np.full(n_groups, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, group))
    v = values[order]
    counts = np.bincount(group, minlength=n_groups)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


def funnel(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    stage: str = "stage",
    stages: Sequence[Any] | None = None,
    touchpoint: str = "touchpoint",
    blueprint: Any = None,
    by: str | None = None,
    period: str | None = None,
) -> ScoreFrame:
    """Customers reaching each stage in order, the conversion between stages and the time it took.

    A customer reaches ``stages[0]`` with any event in it, and ``stages[k]`` with an
    event in it at or after the time they reached ``stages[k - 1]``; the time of
    reaching a stage is that first event's time. A customer who skips a stage stops
    there: reaching a later stage does not count without the ones before it, in order.

    Parameters
    ----------
    data:
        Events: an `EventFrame`, a pandas / polars DataFrame, an Arrow table or a dict.
    customer, time:
        The columns of the customer id and the event time.
    stage:
        The column of each event's customer stage (labels such as ``"consultation"``,
        or `touchpoint.Stage` values). When the data has no such column, ``blueprint``
        gives each event's stage through its ``touchpoint`` (the touchpoint's stage).
    stages:
        The stages of the funnel, in order (labels or `Stage`). Default: the
        blueprint's customer stages, else the five customer stages (awareness,
        consultation, experience, transaction, cooperation). Events in other stages,
        or without a stage, are ignored.
    touchpoint, blueprint:
        The touchpoint column and a `touchpoint.Blueprint`, used when the data has no
        stage column; a touchpoint code the blueprint lacks is an error.
    by:
        A column to split the funnel by (``"touchpoint"``, ``"store"``, ``"channel"``...).
        Each customer counts in the group of the event with which they entered the
        funnel (their first event in ``stages[0]``) in every stage, so each group's
        rows are a funnel of its own; a missing value is a group (None) of its own.
    period:
        Split the funnel by the calendar period (``"D"``, ``"W"`` ISO week, ``"M"``,
        ``"Q"``, ``"Y"``) of the customer's entry, i.e. by entry cohort. With ``by``
        too, groups are ``by`` values x periods.

    Returns
    -------
    ScoreFrame
        Keyed by ``stage``: one row per stage in order (per group: groups in ascending
        order of ``by`` values, then of periods; groups with no customer are not shown).
        Columns: the ``by`` column (its values) and ``period`` (the first day of the
        period, ``datetime64[D]``) when asked for, ``stage``, ``customers`` (reaching it
        in order, int64), ``conversion`` (customers / customers of the previous stage;
        NaN for the first stage or when the previous stage has none), ``share``
        (customers / customers of the first stage) and ``median_days`` (median time
        from reaching the previous stage to reaching this one, in days; NaN for the
        first stage or when nobody reached it).

    Raises
    ------
    touchpoint.errors.ValidationError
        No stage column and no blueprint; a touchpoint code the blueprint lacks; a
        funnel event without a customer or time; an unknown period; ``stages`` repeating
        a stage.

    Examples
    --------
    >>> from touchpoint.templates import load
    >>> bp = load("car-dealership")
    >>> [s.value for s in bp.stages][:2]
    ['awareness', 'consultation']
    >>> codes = [tp.code for tp in bp.by_stage("awareness")[:1] + bp.by_stage("consultation")[:1]]
    >>> events = {"customer": [1, 1, 2], "time": ["2026-03-01", "2026-03-04", "2026-03-02"],
    ...           "touchpoint": [codes[0], codes[1], codes[0]]}
    >>> f = funnel(events, blueprint=bp)
    >>> f["customers"].tolist()[:3], f["conversion"].tolist()[1]
    ([2, 1, 0], 0.5)
    >>> funnel(events, blueprint=bp, by="touchpoint")["touchpoint"].tolist()[:2] == [codes[0]] * 2
    True
    """
    labels = stage_list(stages, blueprint)
    if by in ("stage", "period", "customers", "conversion", "share", "median_days"):
        raise ValidationError([Problem("by", "names a column of the result; pick another", by)])
    if period is not None:
        check_period(period)
    names: dict[str, str | None] = {"customer": customer, "time": time}
    if by is not None:
        names["by"] = by
    cols, cats, position = event_stages(
        data,
        names,
        stage=stage,
        touchpoint=touchpoint,
        blueprint=blueprint,
        stages=labels,
        categorical=("customer",),
        required=("customer", "time") + (("by",) if by is not None else ()),
    )
    inside = position >= 0
    cust, times = cols["customer"], cols["time"]
    check_codes(np.where(inside, cust, 0), customer)
    check_times(np.where(inside, times, np.datetime64(0, "us")), time)
    n_customers, k = len(cats["customer"]), len(labels)
    reach, entry = first_reach(cust, times.view(np.int64), position, n_customers, k)
    entered = np.flatnonzero(entry >= 0)

    # the group of each customer who entered: by value x period of entry
    group = np.zeros(len(entered), dtype=np.int64)
    keys: dict[str, np.ndarray] = {}
    n_groups = 1
    if by is not None:
        by_codes, by_values = factorize(np.asarray(cols["by"], dtype=object)[entry[entered]])
        if (by_codes < 0).any():  # a missing value is a group of its own, last
            by_codes = np.where(by_codes < 0, len(by_values), by_codes)
            by_values = np.concatenate((by_values, np.array([None], dtype=object)))
        group, n_groups = by_codes, len(by_values)
        keys[by] = by_values
    if period is not None:
        p = period_index(reach[0, entered].view("datetime64[us]"), period)
        p_codes, p_values = factorize(p)
        group = group * len(p_values) + p_codes
        n_groups *= len(p_values)
        keys["period"] = p_values
    cells = group[:, None] * k + np.arange(k)  # (customer, stage) -> group x stage
    got = reach[:, entered].T != _NEVER  # customers x stages
    counts = np.bincount(cells[got], minlength=n_groups * k).reshape(n_groups, k)
    delta = (reach[1:, entered].T - reach[:-1, entered].T).astype(np.float64) / DAY_US
    both = got[:, 1:]  # reaching stage k implies reaching k - 1
    median = np.full((n_groups, k), np.nan)
    median[:, 1:] = grouped_median(
        (group[:, None] * (k - 1) + np.arange(k - 1))[both], delta[both], n_groups * (k - 1)
    ).reshape(n_groups, k - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = np.full((n_groups, k), np.nan)
        conversion[:, 1:] = counts[:, 1:] / np.where(counts[:, :-1] > 0, counts[:, :-1], np.nan)
        share = counts / np.where(counts[:, :1] > 0, counts[:, :1], np.nan)
    shown = np.flatnonzero(counts[:, 0] > 0) if (by is not None or period is not None) else [0]
    shown = np.asarray(shown, dtype=np.int64)
    out: dict[str, Any] = {}
    rest = shown
    if period is not None:
        n_p = len(keys["period"])
        p_of, rest = shown % n_p, shown // n_p
    if by is not None:
        out[by] = np.repeat(keys[by][rest], k)
    if period is not None:
        out["period"] = np.repeat(period_start(keys["period"][p_of], period), k)
    out["stage"] = np.tile(np.array(labels, dtype=object), len(shown))
    out["customers"] = counts[shown].reshape(-1).astype(np.int64)
    out["conversion"] = conversion[shown].reshape(-1)
    out["share"] = share[shown].reshape(-1)
    out["median_days"] = median[shown].reshape(-1)
    return ScoreFrame(out, key="stage")
