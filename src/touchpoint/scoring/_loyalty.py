"""Loyalty beyond satisfaction: a loyalty index, and the customers who are satisfied but
defecting (满意不等于忠诚). Churn risk is `touchpoint.scoring.churn.churn_risk`.

- `loyalty_index`: the material's four measures (repeat purchases, trust in the service,
  price sensitivity, time taken to choose) through what event data shows of them, as a
  relative index (percentile ranks among the customers) and an absolute one (fixed
  transforms, comparable across stores and periods).
- `satisfied_but_defecting`: customers satisfied on their ratings' own scales whose
  purchase rate falls by an exact test that allows for count noise and for rates that
  drift (the material: about 40% of satisfied customers still defect).

Both count purchases by the shared rule (`touchpoint.frame.purchase_mask`: ``outcome``
labels, else money, else every event).

Examples
--------
>>> ev = {"customer": ["a", "a", "b"], "time": ["2026-01-01", "2026-01-11", "2026-01-05"],
...       "amount": [5.0, 5.0, 5.0]}
>>> loyalty_index(ev)["repeat"].tolist()
[1, 0]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    DAY_US,
    PURCHASE_OUTCOMES,
    ScoreFrame,
    as_time,
    check_codes,
    check_nonnegative,
    check_times,
    column_names,
    distributed,
    factorize,
    purchase_columns,
    purchase_mask,
    read_coded,
)
from touchpoint.scoring._counts import count_cdf, pooled_concentration, zero_probability
from touchpoint.scoring._ratings import check_share, is_number, read_ratings
from touchpoint.scoring._referral import _map_ids, first_referrer

__all__ = ["loyalty_index", "percentile_rank", "satisfied_but_defecting"]

_TIE_DECIMALS = 10  # measures are ranked as equal when they agree to this many decimals

_MIN = np.iinfo(np.int64).min
_MAX = np.iinfo(np.int64).max


def percentile_rank(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Each value's place among the others, 0 (worst) .. 1 (best); ties share the mid-rank.

    ``(average rank - 1) / (n - 1)`` over the non-NaN values; 0.5 when there is only one;
    NaN stays NaN. Values equal to 10 decimals are ties: a mean summed in another order
    differs in its last bit, and that must not put one value above another.

    >>> percentile_rank(np.array([1.0, 5.0, 5.0, 9.0, np.nan])).tolist()
    [0.0, 0.5, 0.5, 1.0, nan]
    """
    v = np.round(np.asarray(values, dtype=np.float64), _TIE_DECIMALS)
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


def _events(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    outcome: str | None,
    purchases: Collection[str] | None,
    extra: Mapping[str, str | None],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Columns, categories and the purchase mask by the shared rule (`purchase_mask`).

    ``extra`` maps logical names to optional columns, read when the data has them.
    """
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "time": time}
    if amount is not None and amount in available:
        names["amount"] = amount
    names.update(purchase_columns(data, outcome=outcome, purchases=purchases))
    for k, v in extra.items():
        if v is not None and v in available:
            names[k] = v
    cols, cats = read_coded(
        data,
        names,
        required=("customer", "time"),
        categorical=("customer", "outcome", "referrer", "touchpoint"),
    )
    check_codes(cols["customer"], customer)
    check_times(cols["time"], time)
    if "amount" in cols:
        check_nonnegative(cols["amount"], amount or "amount")
    mask = purchase_mask(cols, cats, purchases)
    bought = np.ones(len(cols["time"]), dtype=bool) if mask is None else mask
    return cols, cats, bought


def _asof_us(t: np.ndarray, asof: Any) -> int:
    """``asof`` in microseconds; by default the latest event (0 without events)."""
    if asof is not None:
        return int(as_time(asof).view(np.int64))
    return int(t.max()) if len(t) else 0


def _days(period: Any, name: str) -> float:
    """A positive duration (``"90 days"``, a `datetime.timedelta`, or a number of days)."""
    from touchpoint.model import parse_timedelta

    if isinstance(period, bool):
        days = float("nan")
    elif isinstance(period, np.timedelta64):  # before numbers: it is a numpy integer
        days = float(period / np.timedelta64(1, "us")) / DAY_US if not np.isnat(period) else -1.0
    elif is_number(period):
        days = float(period)
    else:
        try:
            days = parse_timedelta(period).total_seconds() / 86400
        except (TypeError, ValueError):  # a BlueprintError is a ValueError
            days = float("nan")
    if not np.isfinite(days) or days <= 0:
        raise ValidationError(
            [
                Problem(
                    name,
                    "must be a positive duration such as '90 days' or a number of days",
                    period,
                )
            ]
        )
    return days


# --------------------------------------------------------------------------- loyalty index

#: Default weights of the loyalty index's measures (see `loyalty_index`). The material's
#: four measures count equally; referrals (word of mouth) are reported but left out.
DEFAULT_WEIGHTS: dict[str, float] = {
    "repeat": 1.0,
    "trust": 1.0,
    "price": 1.0,
    "choose": 1.0,
    "recommend": 0.0,
}

#: For the absolute index: the value of each open-ended measure that scores 0.5 (repeat
#: purchases, days to choose, customers referred). See `loyalty_index`.
DEFAULT_MIDPOINTS: dict[str, float] = {"repeat": 2.0, "choose": 7.0, "recommend": 1.0}


def _check_weights(weights: Mapping[str, float], midpoints: Mapping[str, float]) -> None:
    problems = []
    for key, value in weights.items():  # a loop over a handful of measures
        if key not in DEFAULT_WEIGHTS:
            problems.append(
                Problem(
                    f"weights[{key!r}]", f"unknown measure; one of {', '.join(DEFAULT_WEIGHTS)}"
                )
            )
        elif not is_number(value) or not np.isfinite(value) or value < 0:
            problems.append(Problem(f"weights[{key!r}]", "must be a number >= 0", value))
    if not problems and not any(float(v) > 0 for v in weights.values()):
        problems.append(
            Problem("weights", "needs at least one measure with weight > 0", dict(weights))
        )
    for key, value in midpoints.items():
        if key not in DEFAULT_MIDPOINTS:
            problems.append(
                Problem(
                    f"midpoints[{key!r}]", f"unknown measure; one of {', '.join(DEFAULT_MIDPOINTS)}"
                )
            )
        elif not is_number(value) or not np.isfinite(value) or value <= 0:
            problems.append(Problem(f"midpoints[{key!r}]", "must be a number > 0", value))
    if problems:
        raise ValidationError(problems)


def _promo_flags(values: np.ndarray, column: str) -> np.ndarray:
    """1.0 on promotion, 0.0 not, NaN unknown: from booleans, discounts (> 0) or labels."""
    if values.dtype.kind == "b":
        return values.astype(np.float64)
    if values.dtype.kind in "iuf":
        v = values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(v), np.nan, (v > 0).astype(np.float64))
    codes, uniques = factorize(np.asarray(values, dtype=object))
    lut = np.empty(len(uniques) + 1)
    lut[-1] = np.nan  # code -1: missing
    words = {"true": 1.0, "yes": 1.0, "y": 1.0, "1": 1.0, "false": 0.0, "no": 0.0, "n": 0.0}
    words |= {"0": 0.0, "": np.nan}
    for i, u in enumerate(uniques.tolist()):  # a loop over the distinct values
        if u is None or (isinstance(u, float) and np.isnan(u)):
            lut[i] = np.nan
        elif isinstance(u, bool | int | float | np.bool_ | np.integer | np.floating):
            lut[i] = float(u > 0)
        elif isinstance(u, str) and u.strip().lower() in words:
            lut[i] = words[u.strip().lower()]
        else:
            row = int(np.flatnonzero(codes == i)[0])
            raise ValidationError(
                [
                    Problem(
                        f"{column}[{row}]",
                        "must say whether the purchase was on promotion: true/false, a "
                        "discount (> 0 on promotion) or empty for unknown",
                        u,
                    )
                ]
            )
    result: np.ndarray = lut[codes]
    return result


def _service_touchpoints(
    service: Collection[str] | None, blueprint: Any, codes: np.ndarray
) -> np.ndarray | None:
    """Which touchpoint categories count as service (None: every rating counts)."""
    if service is None and blueprint is None:
        return None
    if service is None:
        from touchpoint.model import Line

        # a loop over the distinct touchpoints, not rows
        chosen = {
            c
            for c in codes.tolist()
            if isinstance(c, str)
            and c in blueprint
            and blueprint.touchpoint(c).line is Line.SERVICE
        }
    else:
        if isinstance(service, str):
            raise ValidationError(
                [Problem("service", "must be a collection of touchpoint codes", service)]
            )
        chosen = set(service)
    return np.array([c in chosen for c in codes.tolist()] + [False], dtype=bool)


def loyalty_index(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    referrer: str | None = "referrer",
    promo: str | None = "promo",
    rating: str | None = "rating",
    touchpoint: str | None = "touchpoint",
    blueprint: Any = None,
    scale: Any = None,
    service: Collection[str] | None = None,
    asof: Any = None,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    midpoints: Mapping[str, float] = DEFAULT_MIDPOINTS,
) -> ScoreFrame:
    """Loyalty from the material's four measures, where the data has them: relative and absolute.

    The material (忠诚度的评估) measures loyalty by repeat purchases, trust in the
    company's service (信任度), sensitivity to price and the time taken to choose. Event
    data shows each only through a proxy, per customer, from events on or before
    ``asof`` (default: the latest event):

    - ``repeat``: purchases after the first (buying again). Grows with tenure: compare
      customers over windows of equal length.
    - ``trust``: the customer's ratings of service touchpoints, each rescaled to 0..1 on
      its own scale and averaged -- satisfaction with the service as a stand-in for trust
      in it. Service touchpoints are ``service`` (touchpoint codes) or, with a
      ``blueprint``, its service line (服务线); with neither, every rating counts (then
      it is satisfaction with whatever was rated). NaN without such ratings; left out
      without a ``rating`` column. Scales as in `satisfied_but_defecting`.
    - ``promo_share`` (measure ``price``): the share of purchases made on promotion, of
      those whose ``promo`` flag is known (true/false, or a discount > 0) -- buying on
      promotion as a stand-in for price sensitivity; lower is more loyal. NaN without
      such purchases; left out without a ``promo`` column.
    - ``days_to_choose`` (measure ``choose``): days from the customer's first recorded
      contact to their first purchase -- shorter means choosing the company readily. It is
      known only when a contact (a non-purchase event) is recorded *before* the first
      purchase; otherwise NaN (unknown, not 0): a customer whose enquiries were not
      recorded does not get the best time to choose, and is scored on the measures that
      are known. It counts from the first *recorded* contact, so it also depends on what
      a store records. With a plain transaction log (every event a purchase) it is
      unknown for everyone.
    - ``referred`` (measure ``recommend``): customers who name this one as their
      ``referrer`` (see `touchpoint.scoring.referral`). Word of mouth (口碑), part of what
      a loyal customer does but not one of the material's four measures: reported, with
      weight 0 by default. Left out without a ``referrer`` column.

    Purchases follow the shared rule (`touchpoint.frame.purchase_mask`): events whose
    ``outcome`` is one of ``purchases``, or that carry an ``amount`` > 0 with no outcome;
    every event without an ``outcome`` column; ``purchases=None``: every event.

    Two indexes, 0..100, both the weighted mean of the measures known for the customer
    (unknown measures are skipped; ``measures`` says how many were used):

    - ``loyalty_index`` (**relative**): each measure as a `percentile_rank` among these
      customers (``{measure}_rank``, 0 worst .. 1 best; measures equal to 10 decimals
      tie). It says where a customer stands
      in this population; it is not comparable across stores or periods (every
      population averages about 50).
    - ``loyalty_absolute`` (**absolute**): each measure through a fixed transform onto
      0..1 (``{measure}_absolute``): ``repeat / (repeat + m)``, ``trust`` as it is,
      ``1 - promo_share``, ``m / (m + days_to_choose)``, ``referred / (referred + m)``,
      with ``m`` from ``midpoints`` (the value that scores 0.5: 2 repeat purchases, 7
      days, 1 referral by default). A customer's score depends on their own events only,
      so it is comparable across stores and periods (of equal length) scored with the
      same midpoints.

    Parameters
    ----------
    weights:
        Measure name (``repeat``, ``trust``, ``price``, ``choose``, ``recommend``) ->
        weight >= 0; measures not named weigh 0. Default `DEFAULT_WEIGHTS`.
    midpoints:
        Overrides of `DEFAULT_MIDPOINTS` (``repeat``, ``choose``, ``recommend``): set them
        for the business (a car is chosen over weeks, a hotel room in minutes).
    blueprint, scale, service, touchpoint:
        Where ratings' scales come from and which touchpoints are service ones.

    Raises
    ------
    touchpoint.errors.ValidationError
        A missing customer or time, a negative amount, a rating outside its scale, an
        unreadable promotion flag (naming the column, the row and the value), or unknown
        measures / bad weights or midpoints.

    Examples
    --------
    ``a`` called two days before buying; ``b`` and ``c`` have no contact on record before
    their first purchase, so their time to choose is unknown:

    >>> ev = {"customer": ["a", "a", "a", "b", "b", "c"],
    ...       "outcome": ["call", "purchase", "purchase", "purchase", "purchase", "purchase"],
    ...       "time": ["2026-01-01", "2026-01-03", "2026-02-01", "2026-01-05", "2026-03-01",
    ...                "2026-01-06"]}
    >>> li = loyalty_index(ev)
    >>> li["repeat"].tolist(), li["days_to_choose"].tolist(), li["measures"].tolist()
    ([1, 1, 0], [2.0, nan, nan], [2, 1, 1])
    >>> li["loyalty_index"].tolist(), li["loyalty_absolute"].round(1).tolist()
    ([62.5, 75.0, 0.0], [55.6, 33.3, 0.0])
    """
    weights = dict(weights)
    mids = {**DEFAULT_MIDPOINTS, **dict(midpoints)}
    _check_weights(weights, dict(midpoints))
    cols, cats, bought = _events(
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        extra={"referrer": referrer, "promo": promo, "rating": rating, "touchpoint": touchpoint},
    )
    ids = cats["customer"]
    k = len(ids)
    t = cols["time"].view(np.int64)
    at = _asof_us(t, asof)
    inside = t <= at
    c = cols["customer"]
    buys = bought & inside
    n = np.bincount(c[buys], minlength=k)
    repeat = np.maximum(n - 1, 0)
    out: dict[str, np.ndarray] = {"customer": ids, "repeat": repeat.astype(np.int64)}
    # name -> (raw values, higher is better, absolute 0..1 values)
    measures: dict[str, tuple[np.ndarray, bool, np.ndarray]] = {
        "repeat": (repeat.astype(np.float64), True, repeat / (repeat + mids["repeat"]))
    }
    if "rating" in cols:
        read = read_ratings(
            cols,
            cats,
            rating=rating or "rating",
            touchpoint=touchpoint or "touchpoint",
            blueprint=blueprint,
            scale=scale,
            satisfied=None,
        )
        use = read.answered & inside
        lut = _service_touchpoints(service, blueprint, cats.get("touchpoint", np.array([])))
        if lut is not None:
            if "touchpoint" not in cols:
                raise ValidationError(
                    [
                        Problem(
                            str(touchpoint),
                            "picking the ratings of service touchpoints needs the touchpoint "
                            "column",
                            touchpoint,
                        )
                    ]
                )
            use &= lut[cols["touchpoint"]]
        with np.errstate(invalid="ignore", divide="ignore"):
            trust = np.bincount(c[use], weights=read.level[use], minlength=k) / np.bincount(
                c[use], minlength=k
            )
        out["trust"] = trust
        measures["trust"] = (trust, True, trust)
    if "promo" in cols:
        flag = _promo_flags(cols["promo"], promo or "promo")
        known = buys & ~np.isnan(flag)
        on_promo = np.bincount(c[known], weights=flag[known], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = on_promo / np.bincount(c[known], minlength=k)
        out["promo_share"] = share
        measures["price"] = (share, False, 1.0 - share)
    # time to choose: from the first contact recorded before the first purchase
    first_buy = np.full(k, _MAX)
    np.minimum.at(first_buy, c[buys], t[buys])
    contact = inside & ~bought & (t < first_buy[c])
    first_contact = np.full(k, _MAX)
    np.minimum.at(first_contact, c[contact], t[contact])
    known = (first_buy < _MAX) & (first_contact < _MAX)
    choose = np.where(known, (first_buy - first_contact) / DAY_US, np.nan)
    out["days_to_choose"] = choose
    measures["choose"] = (choose, False, mids["choose"] / (mids["choose"] + choose))
    if "referrer" in cols:
        referred = _referred_counts(
            c[inside], t[inside], cols["referrer"][inside], cats["referrer"], ids
        )
        out["referred"] = referred
        measures["recommend"] = (
            referred.astype(np.float64),
            True,
            referred / (referred + mids["recommend"]),
        )
    rel_total = np.zeros(k)
    abs_total = np.zeros(k)
    wsum = np.zeros(k)
    used = np.zeros(k, dtype=np.int64)
    for name, (values, higher, absolute) in measures.items():  # a loop over five measures
        rank = percentile_rank(values, higher_is_better=higher)
        out[f"{name}_rank"] = rank
        out[f"{name}_absolute"] = absolute
        w = float(weights.get(name, 0.0))
        if w > 0:
            ok = ~np.isnan(values)
            rel_total += np.where(ok, rank * w, 0.0)
            abs_total += np.where(ok, absolute * w, 0.0)
            wsum += np.where(ok, w, 0.0)
            used += ok
    out["measures"] = used
    with np.errstate(invalid="ignore", divide="ignore"):
        out["loyalty_index"] = 100.0 * rel_total / wsum
        out["loyalty_absolute"] = 100.0 * abs_total / wsum
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
    # an EventFrame whose referrers share the customers' categories needs no mapping
    where = np.arange(k) if ref_cats is ids else _map_ids(ref_cats, ids)
    target = where[parent[parent >= 0]]
    return np.bincount(target[target >= 0], minlength=k).astype(np.int64)


# --------------------------------------------------------------------------- satisfied but defecting


@attrs.frozen
class _Windows:
    """Per customer: purchases and days observed in the recent window and the baseline,
    and how unevenly the baseline purchases fall into its sub-windows."""

    recent: np.ndarray
    previous: np.ndarray
    recent_days: np.ndarray
    previous_days: np.ndarray
    x2: np.ndarray  # Pearson X^2 over the sub-windows (customers counted only, else 0)
    counted: np.ndarray  # observed over the whole baseline, with >= 2 purchases there
    cells: int  # sub-windows of the baseline


def _windows(
    c: np.ndarray, t: np.ndarray, buys: np.ndarray, k: int, at: int, period: float, base: float
) -> _Windows:
    cb, tb = c[buys], t[buys]
    first = np.full(k, _MAX)
    np.minimum.at(first, cb, tb)
    split = at - round(period * DAY_US)
    begin = split - round(base * DAY_US)
    start_recent = np.maximum(first, split)
    start_base = np.maximum(first, begin)
    first_b = first[cb]  # each purchase's customer's first purchase: one gather
    recent = np.bincount(cb[(tb > first_b) & (tb > split)], minlength=k).astype(np.int64)
    in_base = (tb > first_b) & (tb > begin) & (tb <= split)
    previous = np.bincount(cb[in_base], minlength=k).astype(np.int64)
    has = first < _MAX
    recent_days = np.where(has, (at - start_recent) / DAY_US, np.nan)
    previous_days = np.where(has, np.maximum(split - start_base, 0) / DAY_US, np.nan)
    # the baseline cut into sub-windows about one period long, for customers seen
    # throughout it: (begin + i w, begin + (i + 1) w], like the windows themselves
    cells = max(2, round(base / period))
    whole = has & (first <= begin)
    use = in_base & (first_b <= begin)
    width = (split - begin) / cells
    cell = np.clip(np.ceil((tb[use] - begin) / width).astype(np.int64) - 1, 0, cells - 1)
    # X^2 = cells / n * sum of squared sub-window counts - n, from the counts per
    # (customer, sub-window): a dense table unless it would outgrow the purchases
    pair = cb[use] * cells + cell
    squares: np.ndarray
    if k * cells <= 4 * len(pair) + 1_000_000:
        per_pair = np.bincount(pair, minlength=k * cells).astype(np.float64)
        squares = (per_pair.reshape(k, cells) ** 2).sum(axis=1)
    else:
        pairs, pair_counts = np.unique(pair, return_counts=True)
        squares = np.bincount(
            pairs // cells, weights=pair_counts.astype(np.float64) ** 2, minlength=k
        )
    counted = whole & (previous >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        x2 = np.where(counted, cells * squares / previous - previous, 0.0)
    return _Windows(recent, previous, recent_days, previous_days, x2, counted, cells)


def rate_cv_of(x2: float, purchases: float, customers: float, cells: int) -> float:
    """The coefficient of variation of a rate over one sub-window (about one period) that
    explains the customers' baseline counts; NaN when nobody was seen long enough."""
    concentration = pooled_concentration(x2, purchases, customers, cells)
    if np.isnan(concentration):
        return float("nan")
    # each sub-window gets concentration / cells; its rate varies by 1 / sqrt(that)
    return 0.0 if np.isinf(concentration) else float(np.sqrt(cells / concentration))


def defecting_windows(
    data: Any,
    *,
    rating: str | None,
    satisfied: float | None,
    share: float,
    period: Any,
    baseline: Any,
    alpha: float,
    rate_cv: float | str,
    drop: float,
) -> tuple[float, float]:
    """`satisfied_but_defecting`'s parameters checked: the windows' lengths in days.

    Also checks that ``data`` (in memory or on Dask) has the rating column.
    """
    recent_width = _days(period, "period")
    base_width = 3 * recent_width if baseline is None else _days(baseline, "baseline")
    if not is_number(alpha) or not 0.0 < float(alpha) < 1.0:
        raise ValidationError([Problem("alpha", "must be between 0 and 1 (e.g. 0.05)", alpha)])
    if rate_cv != "estimate" and (
        not is_number(rate_cv) or not (np.isnan(float(rate_cv)) or 0 <= float(rate_cv) < np.inf)
    ):
        raise ValidationError(
            [Problem("rate_cv", "must be 'estimate' or a number >= 0 (0: a steady rate)", rate_cv)]
        )
    check_share(drop, "drop", allow_none=False)
    check_share(share, "share", allow_none=False)
    check_share(
        satisfied,
        "satisfied",
        allow_none=True,
        hint=" of the rating scale (0.75: 4 of 1-5); leave it out for the top two boxes",
    )
    if rating is None or rating not in column_names(data):
        raise ValidationError([Problem(str(rating), "this score needs the rating column", rating)])
    return recent_width, base_width


def rate_parts(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    outcome: str | None,
    purchases: Collection[str] | None,
    asof: Any,
    period: float,
    base: float,
) -> ScoreFrame:
    """Each customer's part of the rate-variation estimate (for Dask: summed after)."""
    cols, cats, bought = _events(
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        extra={},
    )
    t = cols["time"].view(np.int64)
    at = _asof_us(t, asof)
    w = _windows(cols["customer"], t, bought & (t <= at), len(cats["customer"]), at, period, base)
    return ScoreFrame(
        {
            "customer": cats["customer"],
            "x2": w.x2,
            "purchases": np.where(w.counted, w.previous, 0),
            "counted": w.counted.astype(np.int64),
        }
    )


@distributed("satisfied_but_defecting")
def satisfied_but_defecting(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    rating: str = "rating",
    asof: Any = None,
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    touchpoint: str = "touchpoint",
    blueprint: Any = None,
    scale: Any = None,
    satisfied: float | None = None,
    share: float = 0.5,
    period: Any = "90 days",
    baseline: Any = None,
    alpha: float = 0.05,
    rate_cv: float | str = "estimate",
    drop: float = 0.0,
) -> ScoreFrame:
    """Customers who say they are satisfied while their buying falls (满意不等于忠诚).

    **Satisfied.** Each rating (events on or before ``asof``) is read on its own scale:
    ``scale`` for every rating (a top such as 5 or 10, or ``(lowest, highest)``), or a
    mapping touchpoint code -> scale; otherwise the scale of the touchpoint's rating
    indicator in ``blueprint`` (`touchpoint.model.ControlIndicator.scale`); otherwise
    1-5. A top alone starts at 0 when it is 10 or more (0-10, 0-100) and at 1 below
    (1-5, 1-7). A rating outside its scale is an error. An answer is satisfied in the top
    two boxes of its scale (4-5 of 1-5; 9-10 of 0-10, the NPS promoters: a 5 of 10 is
    not), the top box of scales of fewer than five points, the top tenth of scales wider
    than 0-10; or, with ``satisfied`` (0..1), at or above that share of the scale (0.75:
    4 of 1-5). A customer is satisfied when at least ``share`` of their ratings are.

    **Falling.** Purchases (the shared rule, `touchpoint.frame.purchase_mask`: events
    whose ``outcome`` is one of ``purchases``, or with an ``amount`` > 0 and no outcome;
    every event without an ``outcome`` column) are counted in the last ``period`` before
    ``asof`` (``recent``) and in the ``baseline`` before that (``previous``; default 3
    periods). A customer whose first purchase falls inside these windows is observed from
    it: the windows start there and the first purchase itself is not counted. If the
    customer kept buying at a steady rate (a Poisson process), then given
    ``n = recent + previous``, ``recent`` is Binomial(n, r / (r + b)) with r and b the two
    windows' lengths in days (``recent_days``, ``previous_days``). Real rates also drift
    from one period to the next; with ``rate_cv`` (the coefficient of variation of a
    steady customer's rate over one period, as a gamma process) the split is
    beta-binomial instead, wider. By default ``rate_cv`` is estimated from how unevenly
    the baseline purchases of customers seen throughout it fall into its periods (0 when
    no more unevenly than a constant rate gives; NaN, and the binomial, when nobody was
    seen long enough); ``rate_cv=0`` is the plain Poisson test. ``p_value`` is the exact
    one-sided probability of so few recent purchases, P(X <= recent); the customer is
    ``falling`` when ``p_value <= alpha`` (and the observed ``rate_ratio`` is at most
    ``1 - drop``).

    So among steady customers at most ``alpha`` are flagged, each customer tested on
    their own (a per-customer false-flag rate, not a rate over the whole list; the test
    is exact given ``rate_cv``, and conservative because counts are discrete). A test on
    few purchases cannot see a fall: with the default windows and steady rates, a
    customer who stops buying is flagged surely (> 99%) from about 8 expected purchases
    per period, and one who halves their rate in 4 cases of 5 from about 30 (see the
    docs for the measured power). ``testable`` says whether even a complete stop would
    be flagged given the baseline purchases. Customers without purchases in the
    baseline cannot be tested (``p_value`` NaN when it is empty, 1 when it holds no
    purchase); long-lapsed customers are `churn_risk`'s business.

    Returns, per customer: ``ratings``, ``satisfied_share``, ``rating_level`` (the mean
    rating rescaled to 0..1 on each rating's scale), ``recent``, ``previous``,
    ``recent_days``, ``previous_days``, ``expected_recent`` (at the baseline rate),
    ``rate_ratio`` (recent rate / baseline rate), ``rate_cv`` (the one used, the same for
    everyone), ``p_value``, ``testable``, ``satisfied``, ``falling`` and
    ``satisfied_but_defecting``.

    Parameters
    ----------
    period, baseline:
        Lengths of the recent window and of the baseline before it: ``"90 days"``, a
        `datetime.timedelta` or a number of days (``baseline`` default: 3 periods).
    alpha:
        Significance level: the largest share of steady customers flagged.
    rate_cv:
        ``"estimate"``, or how much a steady customer's rate varies over one period
        (0: a constant rate).
    drop:
        Also require an observed fall of at least this share (0: any significant fall).

    Raises
    ------
    touchpoint.errors.ValidationError
        Without a rating column; a rating outside its scale (naming the row, the value,
        the scale and the touchpoint); bad times, customers or amounts; bad parameters.

    Examples
    --------
    A customer who bought every week for 9 months, then once in the last 3, and rated
    5 of 5:

    >>> days = [*range(0, 270, 7), 300]
    >>> ev = {"customer": ["a"] * len(days), "rating": [5.0] * len(days),
    ...       "time": [np.datetime64("2026-01-01") + d for d in days]}
    >>> r = satisfied_but_defecting(ev, asof="2026-12-27")
    >>> r["recent"].tolist(), r["previous"].tolist(), r["satisfied_but_defecting"].tolist()
    ([1], [38], [True])

    A 0-10 answer of 5 is not satisfied:

    >>> r = satisfied_but_defecting(ev | {"rating": [5.0] * len(days)}, scale=10, asof="2026-12-27")
    >>> r["satisfied"].tolist(), r["falling"].tolist()
    ([False], [True])

    With a Dask DataFrame as ``data`` (see `touchpoint.scale`): a lazy Dask DataFrame of
    the same columns, one row per customer, in no particular order; ``asof`` defaults to
    the latest time of all events, and an estimated ``rate_cv`` is computed first.
    """
    recent_width, base_width = defecting_windows(
        data,
        rating=rating,
        satisfied=satisfied,
        share=share,
        period=period,
        baseline=baseline,
        alpha=alpha,
        rate_cv=rate_cv,
        drop=drop,
    )
    cols, cats, bought = _events(
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        extra={"rating": rating, "touchpoint": touchpoint},
    )
    ids = cats["customer"]
    k = len(ids)
    t = cols["time"].view(np.int64)
    at = _asof_us(t, asof)
    c = cols["customer"]
    inside = t <= at

    read = read_ratings(
        cols,
        cats,
        rating=rating,
        touchpoint=touchpoint,
        blueprint=blueprint,
        scale=scale,
        satisfied=satisfied,
    )
    rated = read.answered & inside
    cr = c[rated]
    ratings = np.bincount(cr, minlength=k).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        happy_share = np.bincount(cr, weights=read.satisfied[rated], minlength=k) / ratings
        level = np.bincount(cr, weights=read.level[rated], minlength=k) / ratings
    happy = ratings > 0
    happy &= happy_share >= float(share)

    w = _windows(c, t, bought & inside, k, at, recent_width, base_width)
    if rate_cv == "estimate":
        rate_cv = rate_cv_of(
            float(w.x2.sum()), float(w.previous[w.counted].sum()), float(w.counted.sum()), w.cells
        )
    cv = float(rate_cv)
    # the rate over d days varies by 1 / sqrt(kappa d): kappa per day from the cv per period
    kappa = np.inf if np.isnan(cv) or cv == 0 else 1.0 / (cv * cv * recent_width)
    recent, previous = w.recent, w.previous
    n = recent + previous
    windows = ~np.isnan(w.previous_days) & (w.previous_days > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = np.where(windows, w.recent_days / (w.recent_days + w.previous_days), np.nan)
        expected = np.where(windows, previous * w.recent_days / w.previous_days, np.nan)
        ratio = np.where(windows, (recent / w.recent_days) / (previous / w.previous_days), np.nan)
        concentration = kappa * (w.recent_days + w.previous_days)
    p_value = count_cdf(recent, n, p0, concentration)
    stop = zero_probability(previous, p0, concentration)  # if nothing came recently
    with np.errstate(invalid="ignore"):
        testable = windows & (stop <= alpha)
        falling = (p_value <= alpha) & (ratio <= 1.0 - float(drop))
    return ScoreFrame(
        {
            "customer": ids,
            "ratings": ratings,
            "satisfied_share": happy_share,
            "rating_level": level,
            "recent": recent,
            "previous": previous,
            "recent_days": w.recent_days,
            "previous_days": w.previous_days,
            "expected_recent": expected,
            "rate_ratio": ratio,
            "rate_cv": np.full(k, cv),
            "p_value": p_value,
            "testable": testable,
            "satisfied": happy,
            "falling": falling,
            "satisfied_but_defecting": happy & falling,
        }
    )
