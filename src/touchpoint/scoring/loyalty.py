"""Loyalty beyond satisfaction: a loyalty index, and the customers who are satisfied but
defecting (满意不等于忠诚). Churn risk moved to `touchpoint.scoring.churn`.

- `loyalty_index`: the material's measures (repeat purchases, recommendations, price
  sensitivity, time taken to choose) scored 0..1 against the other customers and
  averaged, x100, using those the data has.
- `satisfied_but_defecting`: customers whose ratings are high while their purchase rhythm
  falls (the material: about 40% of satisfied customers still defect).

A purchase is an event with an amount > 0 when the data has an ``amount`` column, and
any event otherwise.

Examples
--------
>>> ev = {"customer": ["a", "a", "b"], "time": ["2026-01-01", "2026-01-11", "2026-01-05"],
...       "amount": [5.0, 5.0, 5.0]}
>>> loyalty_index(ev)["repeat"].tolist()
[1, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, read_coded
from touchpoint.frame._input import column_names
from touchpoint.scoring._columns import DAY_US, as_time, check_codes, check_nonnegative, check_times
from touchpoint.scoring.churn import churn_risk
from touchpoint.scoring.referral import _map_ids, first_referrer

__all__ = ["churn_risk", "loyalty_index", "percentile_rank", "satisfied_but_defecting"]

_MIN = np.iinfo(np.int64).min
_MAX = np.iinfo(np.int64).max


def percentile_rank(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Each value's place among the others, 0 (worst) .. 1 (best); ties share the mid-rank.

    ``(average rank - 1) / (n - 1)`` over the non-NaN values; 0.5 when there is only one;
    NaN stays NaN.

    >>> percentile_rank(np.array([1.0, 5.0, 5.0, 9.0, np.nan])).tolist()
    [0.0, 0.5, 0.5, 1.0, nan]
    """
    v = np.asarray(values, dtype=np.float64)
    if not higher_is_better:
        v = -v
    valid = ~np.isnan(v)
    out = np.full(len(v), np.nan)
    n = int(valid.sum())
    if n == 0:
        return out
    if n == 1:
        out[valid] = 0.5
        return out
    x = v[valid]
    s = np.sort(x)
    below = np.searchsorted(s, x, side="left")
    equal = np.searchsorted(s, x, side="right") - below
    out[valid] = (below + (equal - 1) / 2.0) / (n - 1)
    return out


def _purchases(
    data: Any,
    customer: str,
    time: str,
    amount: str | None,
    extra: Mapping[str, str | None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    names: dict[str, str | None] = {"customer": customer, "time": time}
    available = set(column_names(data))
    if amount is not None and amount in available:
        names["amount"] = amount
    for k, v in (extra or {}).items():
        if v is not None and v in available:
            names[k] = v
    cols, cats = read_coded(
        data, names, required=("customer", "time"), categorical=("customer", "referrer")
    )
    check_codes(cols["customer"], customer)
    check_times(cols["time"], time)
    if "amount" in cols:
        check_nonnegative(cols["amount"], amount or "amount")
        bought = cols["amount"] > 0
    else:
        bought = np.ones(len(cols["time"]), dtype=bool)
    return cols, cats, bought


def _asof(t: np.ndarray, asof: Any) -> int:
    if asof is not None:
        return int(as_time(asof).view(np.int64))
    return int(t.max()) if len(t) else 0


#: Default weights of the loyalty index's measures.
DEFAULT_WEIGHTS: dict[str, float] = {"repeat": 1.0, "recommend": 1.0, "price": 1.0, "choose": 1.0}


def loyalty_index(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    referrer: str | None = "referrer",
    promo: str | None = "promo",
    asof: Any = None,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> ScoreFrame:
    """A 0..100 loyalty index from the material's measures, where the data has them.

    Measures per customer (events on or before ``asof``):

    - ``repeat``: purchases after the first (buying again);
    - ``recommend``: customers this one referred (``referrer`` column of the referred
      customers' events; left out if absent);
    - ``price``: share of purchases made on promotion (``promo`` column: true/false or a
      discount > 0; left out if absent) -- lower means less price-sensitive;
    - ``choose``: days from the first contact to the first purchase -- shorter means
      choosing the company readily (NaN without a purchase).

    Each measure becomes a `percentile_rank` among customers (0..1, the better end
    high); the index is the weighted mean of the available ranks x100 (NaN measures are
    skipped for that customer). ``weights`` maps measure names to weights.

    Examples
    --------
    >>> ev = {"customer": ["a", "a", "a", "b", "c"], "amount": [0, 10, 10, 10, 0],
    ...       "time": ["2026-01-01", "2026-01-02", "2026-02-01", "2026-01-05", "2026-01-06"],
    ...       "referrer": [None, None, None, "a", "a"]}
    >>> li = loyalty_index(ev)
    >>> li["customer"].tolist(), li["referred"].tolist(), li["loyalty_index"].round(1).tolist()
    (['a', 'b', 'c'], [2, 0, 0], [66.7, 50.0, 25.0])
    """
    cols, cats, bought = _purchases(
        data, customer, time, amount, {"referrer": referrer, "promo": promo}
    )
    ids = cats["customer"]
    k = len(ids)
    t = cols["time"].view(np.int64)
    at = _asof(t, asof)
    inside = t <= at
    c = cols["customer"]
    buys = bought & inside
    n = np.bincount(c[buys], minlength=k)
    repeat = np.maximum(n - 1, 0).astype(np.float64)
    measures: dict[str, tuple[np.ndarray, bool]] = {"repeat": (repeat, True)}
    out: dict[str, np.ndarray] = {"customer": ids, "repeat": repeat.astype(np.int64)}
    if "referrer" in cols:
        referred = _referred_counts(
            c[inside], t[inside], cols["referrer"][inside], cats["referrer"], ids
        )
        measures["recommend"] = (referred.astype(np.float64), True)
        out["referred"] = referred
    if "promo" in cols:
        p = cols["promo"]
        p = (
            p.astype(np.float64)
            if p.dtype != object
            else p.astype(bool).astype(np.float64)  # None -> False
        )
        on_promo = np.bincount(c[buys], weights=(np.nan_to_num(p[buys]) > 0), minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n > 0, on_promo / n, np.nan)
        measures["price"] = (share, False)
        out["promo_share"] = share
    first_contact = np.full(k, _MAX)
    np.minimum.at(first_contact, c[inside], t[inside])
    first_buy = np.full(k, _MAX)
    np.minimum.at(first_buy, c[buys], t[buys])
    choose = np.where(first_buy < _MAX, (first_buy - first_contact) / DAY_US, np.nan)
    measures["choose"] = (choose, False)
    out["days_to_choose"] = choose
    total = np.zeros(k)
    wsum = np.zeros(k)
    for name, (values, higher) in measures.items():  # a loop over four measures
        w = float(weights.get(name, 0.0))
        rank = percentile_rank(values, higher_is_better=higher)
        out[f"{name}_score"] = rank
        if w > 0:
            ok = ~np.isnan(rank)
            total += np.where(ok, rank * w, 0.0)
            wsum += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["loyalty_index"] = 100.0 * total / wsum
    return ScoreFrame(out)


def _referred_counts(
    cust: np.ndarray,
    times: np.ndarray,
    ref_codes: np.ndarray,
    ref_cats: np.ndarray,
    ids: np.ndarray,
) -> np.ndarray:
    """For each customer, how many customers name them as referrer (see `referral`)."""
    k = len(ids)
    parent = first_referrer(cust, times, ref_codes, k)
    target = _map_ids(ref_cats, ids)[parent[parent >= 0]]
    return np.bincount(target[target >= 0], minlength=k).astype(np.int64)


def satisfied_but_defecting(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    rating: str = "rating",
    asof: Any = None,
    satisfied: float = 4.0,
    period: str | int = "90 days",
    drop: float = 0.5,
    overdue: float = 2.0,
) -> ScoreFrame:
    """Flag customers who are satisfied but whose purchase rhythm is falling.

    ``satisfied``: mean rating >= ``satisfied``. ``falling``: purchases in the last
    ``period`` before ``asof`` are at most ``(1 - drop)`` times those in the period
    before it (and there were some), or more than ``overdue`` usual gaps have passed
    since the last purchase (see `churn_risk`). The flag is both.

    Returns ``mean_rating``, ``recent``, ``previous``, ``overdue``, ``satisfied``,
    ``falling`` and ``satisfied_but_defecting`` per customer.

    Examples
    --------
    >>> ev = {"customer": ["a"] * 5, "rating": [5, 5, 5, 5, 5], "amount": [9.0] * 5,
    ...       "time": ["2026-01-01", "2026-01-20", "2026-02-10", "2026-03-01", "2026-05-01"]}
    >>> r = satisfied_but_defecting(ev, asof="2026-06-30", period="90 days")
    >>> r["recent"].tolist(), r["previous"].tolist(), r["satisfied_but_defecting"].tolist()
    ([1], [3], [True])
    """
    from touchpoint.model.duration import parse_timedelta

    days = (
        float(period)
        if isinstance(period, int | float)
        else parse_timedelta(period).total_seconds() / 86400
    )
    if days <= 0:
        raise ValidationError([Problem("period", "must be a positive duration", period)])
    cols, cats, bought = _purchases(data, customer, time, amount, {"rating": rating})
    ids = cats["customer"]
    k = len(ids)
    t = cols["time"].view(np.int64)
    at = _asof(t, asof)
    c = cols["customer"]
    width = int(days * DAY_US)
    recent_mask = bought & (t > at - width) & (t <= at)
    prev_mask = bought & (t > at - 2 * width) & (t <= at - width)
    recent = np.bincount(c[recent_mask], minlength=k).astype(np.int64)
    previous = np.bincount(c[prev_mask], minlength=k).astype(np.int64)
    if "rating" in cols:
        r = cols["rating"]
        ok = ~np.isnan(r) & (t <= at)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rating = np.bincount(c[ok], weights=r[ok], minlength=k) / np.bincount(
                c[ok], minlength=k
            )
    else:
        raise ValidationError([Problem(rating, "this score needs the rating column", rating)])
    risk = churn_risk(
        data, customer=customer, time=time, amount=amount, asof=np.datetime64(at, "us")
    )
    late = risk["overdue"]
    happy = mean_rating >= satisfied
    falling = ((previous > 0) & (recent <= (1.0 - drop) * previous)) | (late > overdue)
    return ScoreFrame(
        {
            "customer": ids,
            "mean_rating": mean_rating,
            "recent": recent,
            "previous": previous,
            "overdue": late,
            "satisfied": happy,
            "falling": falling,
            "satisfied_but_defecting": happy & falling,
        }
    )
