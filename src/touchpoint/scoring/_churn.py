"""Churn: the probability that a customer has stopped buying, and churn typed by kind (流失).

`churn_risk` estimates, per customer, the probability that they have stopped buying
(a calibrated probability, from the MBG/NBD model fitted to all customers' purchase
histories; see docs/scoring/churn-risk.md) and names a level by it.

`churn_kinds` types churn by the material's kinds: natural, malicious, competitive,
negligence.

Where the data records why a customer left (a ``reason`` column on the event that
records the churn), each reason is mapped to a `touchpoint.model.ChurnKind` through a
configurable table; the customer's kind is that of their latest recorded reason.

- natural (自然流失): the customer no longer needs the product (moved, closed down...);
- malicious (恶意流失): fraud, unpaid debts, abuse;
- competitive (竞争流失): won by a competitor (price, offer);
- negligence (过失流失): lost through the company's own failings (service, complaints
  left unresolved) -- the kind touchpoint management can prevent.

Examples
--------
>>> ev = {"customer": ["a", "b", "c"], "reason": ["moved away", "competitor offer", None],
...       "time": ["2026-01-01", "2026-01-02", "2026-01-03"]}
>>> churn_kinds(ev)["kind"].tolist()
['natural', 'competitive', 'none']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

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
    purchase_columns,
    purchase_mask,
    read_coded,
)
from touchpoint.model import ChurnKind

__all__ = ["CHURN_LEVELS", "DEFAULT_REASONS", "churn_kinds", "churn_risk", "churn_summary"]

#: Churn-risk levels by the probability that the customer has stopped buying: each
#: level's (exclusive) upper bound, the last one 1.0.
CHURN_LEVELS: dict[str, float] = {
    "active": 0.2,
    "uncertain": 0.5,
    "likely_lapsed": 0.8,
    "lapsed": 1.0,
}

_MIN = np.iinfo(np.int64).min
_MAX = np.iinfo(np.int64).max
# the model's inputs, carried between the per-customer pass and the prediction
_X, _T_X, _AGE = "_repeat_days", "_first_to_last", "_first_to_asof"
#: The columns of `churn_history` that the model is fitted on (`fit_churn`).
MODEL_INPUTS = (_X, _T_X, _AGE)


def check_levels(levels: Mapping[str, float]) -> tuple[np.ndarray, list[str]]:
    names = list(levels)
    try:
        bounds = np.array([float(v) for v in levels.values()], dtype=np.float64)
    except (TypeError, ValueError):
        bounds = np.array([np.nan])
    ok = (
        len(bounds) > 0
        and np.all(np.isfinite(bounds))
        and np.all(np.diff(bounds) > 0)
        and bounds[0] > 0
        and bounds[-1] == 1.0
        and "none" not in names
    )
    if not ok:
        raise ValidationError(
            [
                Problem(
                    "levels",
                    "needs names (not 'none') with increasing upper bounds of the risk in "
                    "(0, 1], the last 1.0",
                    dict(levels),
                )
            ]
        )
    return bounds, names


def churn_history(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str | None,
    outcome: str | None,
    purchases: Collection[str] | None,
    asof: Any,
) -> ScoreFrame:
    """Per customer: the descriptive columns and the model's inputs (in days).

    Purchases (by the purchase rule) on or before ``asof``; ``asof`` None means the
    latest event in ``data``.
    """
    available = set(column_names(data))
    extra = purchase_columns(data, outcome=outcome, purchases=purchases)
    names: dict[str, str | None] = {"customer": customer, "time": time, **extra}
    if amount is not None and amount in available:
        names["amount"] = amount
    cols, cats = read_coded(
        data, names, required=("customer", "time"), categorical=("customer", *extra)
    )
    check_codes(cols["customer"], customer)
    check_times(cols["time"], time)
    if "amount" in cols:
        check_nonnegative(cols["amount"], amount or "amount")
    bought = purchase_mask(cols, cats, purchases)
    ids = cats["customer"]
    k = len(ids)
    t = cols["time"].view(np.int64)
    at = int(as_time(asof).view(np.int64)) if asof is not None else (int(t.max()) if len(t) else 0)
    use = t <= at if bought is None else bought & (t <= at)
    c, tu = cols["customer"][use], t[use]
    n = np.bincount(c, minlength=k).astype(np.int64)
    first = np.full(k, _MAX)
    last = np.full(k, _MIN)
    np.minimum.at(first, c, tu)
    np.maximum.at(last, c, tu)
    # purchase days (several purchases on one day are one, as in the CLV summary)
    day = tu // DAY_US
    lo = int(day.min()) if len(day) else 0
    span = int(day.max()) - lo + 1 if len(day) else 1
    # (int64: a caller's codes may be int16/int32, and codes x days overflow them)
    pairs = np.sort(c.astype(np.int64) * span + (day - lo))  # a sort: hashing unique is slower
    if len(pairs):
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    days = np.bincount(pairs // span, minlength=k)
    buyer = n > 0
    first_day = np.where(buyer, first // DAY_US, 0)
    last_day = np.where(buyer, last // DAY_US, 0)
    asof_day = at // DAY_US
    with np.errstate(invalid="ignore", divide="ignore"):
        recency = np.where(buyer, (at - last) / DAY_US, np.nan)
        rhythm = np.where(days >= 2, (last_day - first_day) / (days - 1), np.nan)
        overdue = recency / rhythm
    nan = np.full(k, np.nan)
    return ScoreFrame(
        {
            "customer": ids,
            "purchases": n,
            "recency": recency,
            "rhythm": rhythm,
            "overdue": overdue,
            _X: np.where(buyer, days - 1.0, nan),
            _T_X: np.where(buyer, (last_day - first_day).astype(np.float64), nan),
            _AGE: np.where(buyer, (asof_day - first_day).astype(np.float64), nan),
        }
    )


def fit_churn(x: np.ndarray, t_x: np.ndarray, age: np.ndarray, time: str) -> Any:
    """MBG/NBD fitted to the buyers' purchase days (numpy only)."""
    from touchpoint.clv import ModifiedBetaGeo

    buyer = ~np.isnan(x)
    if not (x[buyer] > 0).any():
        raise ValidationError(
            [
                Problem(
                    f"data[{time!r}]",
                    "churn risk needs some customers who bought on two or more days: "
                    "with one purchase each, having left cannot be told from buying rarely",
                    int(buyer.sum()),
                )
            ]
        )
    summary = {"frequency": x[buyer], "recency": t_x[buyer], "T": age[buyer]}
    return ModifiedBetaGeo().fit(summary)


def churn_frame(
    cols: ScoreFrame | Mapping[str, Any], model: Any, bounds: np.ndarray, names: list[str]
) -> ScoreFrame:
    """The risk and level of each customer from their summary and the fitted model."""
    x = np.asarray(cols[_X], dtype=np.float64)
    buyer = ~np.isnan(x)
    risk = np.full(len(x), np.nan)
    if buyer.any():
        alive = model.probability_alive(
            {
                "frequency": x[buyer],
                "recency": np.asarray(cols[_T_X], dtype=np.float64)[buyer],
                "T": np.asarray(cols[_AGE], dtype=np.float64)[buyer],
            }
        ).to_numpy()
        risk[buyer] = 1.0 - alive
    level = np.searchsorted(bounds, np.nan_to_num(risk), side="right")
    level = np.minimum(level, len(bounds) - 1)
    level = np.where(buyer, level, len(bounds)).astype(np.int64)
    return ScoreFrame(
        {
            "customer": np.asarray(cols["customer"]),
            "purchases": np.asarray(cols["purchases"], dtype=np.int64),
            "recency": np.asarray(cols["recency"], dtype=np.float64),
            "rhythm": np.asarray(cols["rhythm"], dtype=np.float64),
            "overdue": np.asarray(cols["overdue"], dtype=np.float64),
            "risk": risk,
            "level": level,
        },
        {"level": np.array([*names, "none"], dtype=object)},
    )


@distributed("churn_risk")
def churn_risk(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str | None = "amount",
    asof: Any = None,
    outcome: str | None = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    levels: Mapping[str, float] = CHURN_LEVELS,
) -> Any:
    """The probability that each customer has stopped buying, and a level named by it.

    The MBG/NBD model (`touchpoint.clv.ModifiedBetaGeo`: Poisson purchases at rates that
    vary across customers, a chance of leaving after every purchase, the first one
    included) is fitted by maximum likelihood to every customer's purchase days on or
    before ``asof``; ``risk`` is each customer's posterior probability of having left,
    1 - P(alive). It weighs silence against the customer's own rhythm *and* the
    population's: a long gap means more from a frequent buyer than from a rare one, and
    little from a customer with two purchases. In simulations of customers who leave at
    random times (not the model's own story) it is calibrated within a few points; see
    docs/scoring/churn-risk.md. Needs numpy only.

    Parameters
    ----------
    data:
        Events: an EventFrame, a pandas / polars DataFrame, an Arrow table, a dict of
        arrays, or a Dask DataFrame (then a lazy Dask DataFrame, see below).
    customer, time, amount:
        Column names (``amount`` is optional; with it, negative amounts are errors).
    asof:
        The date of the estimate; later events are left out. Default: the latest event.
    outcome, purchases:
        The purchase rule (`touchpoint.frame.purchase_mask`): with an ``outcome``
        column, the events whose outcome is one of ``purchases``; without one, every
        event is a purchase.
    levels:
        Level name -> upper bound (exclusive) of ``risk``, increasing, the last 1.0;
        default `CHURN_LEVELS`: ``active`` (< 0.2), ``uncertain`` (< 0.5),
        ``likely_lapsed`` (< 0.8: more likely stopped than not) and ``lapsed``.

    Returns
    -------
    ScoreFrame
        Per customer: ``purchases`` (events), ``recency`` (days since the last
        purchase), ``rhythm`` (usual days between purchase days; NaN below two),
        ``overdue`` (recency / rhythm: descriptive only), ``risk`` (probability of
        having stopped buying; NaN without purchases) and ``level`` (categorical: the
        names of ``levels``, and ``none`` without purchases).

    Warns
    -----
    BoundaryFitWarning
        The model's fit is a limit: e.g. "no dropout" when nobody seems to leave (then
        every risk is 0).

    Raises
    ------
    ValidationError
        Missing columns, bad times or amounts, bad ``levels``, or no customer who bought
        on two or more days (leaving cannot be told from buying rarely).

    Examples
    --------
    2,000 customers: first purchase in 2025, then purchases about every 30 days (the gap
    varying by customer) until they leave after an exponential time, 300 days on average
    (leaving at a random time: not the model's own story).

    >>> rng = np.random.default_rng(1)
    >>> n = 2000
    >>> first = rng.uniform(0, 300, n)                          # day of the first purchase
    >>> stay = np.minimum(rng.exponential(300, n), 365 - first)  # days they keep buying
    >>> k = rng.poisson(stay / rng.gamma(2, 15, n))             # the purchases after the first
    >>> who = np.repeat(np.arange(n), k)
    >>> day = np.concatenate([first, first[who] + rng.uniform(0, 1, k.sum()) * stay[who]])
    >>> ev = {"customer": np.concatenate([np.arange(n), who]),
    ...       "time": np.datetime64("2025-01-01") + day.astype("timedelta64[D]")}
    >>> r = churn_risk(ev, asof="2026-01-01")
    >>> r.to_pandas().head(3).round(2)
       customer  purchases  recency  rhythm  overdue  risk      level
    0         0         35     16.0    6.32     2.53  0.17     active
    1         1          1     80.0     NaN      NaN  0.38  uncertain
    2         2          3    295.0   13.50    21.85  0.98     lapsed
    >>> left = (first + stay < 365)[r["customer"]]              # the truth, known here
    >>> level = np.array(r["level"].tolist())
    >>> round(float(left[level == "lapsed"].mean()), 2), round(float(left[level == "active"].mean()), 2)
    (0.97, 0.08)

    With a Dask DataFrame as ``data`` (see `touchpoint.scale`): a lazy Dask DataFrame of
    the same columns, one row per customer, in no particular order. The per-customer
    pass runs on each customer partition; the model is fitted once, in memory, on the
    collected summary (three numbers per customer), and the risks are computed per
    partition: equal to the in-memory ones up to rounding (the fit adds its sums in
    another order). ``asof`` defaults to the latest time of all events, computed first.
    """
    bounds, names = check_levels(levels)
    cols = churn_history(
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        purchases=purchases,
        asof=asof,
    )
    model = fit_churn(cols[_X], cols[_T_X], cols[_AGE], time)
    return churn_frame(cols, model, bounds, names)


#: Words in a reason (lower case) that mark each kind; the kind names themselves count too.
DEFAULT_REASONS: dict[str, ChurnKind] = {
    "moved": ChurnKind.NATURAL,
    "relocat": ChurnKind.NATURAL,
    "no longer need": ChurnKind.NATURAL,
    "closed": ChurnKind.NATURAL,
    "deceased": ChurnKind.NATURAL,
    "fraud": ChurnKind.MALICIOUS,
    "unpaid": ChurnKind.MALICIOUS,
    "bad debt": ChurnKind.MALICIOUS,
    "abuse": ChurnKind.MALICIOUS,
    "competitor": ChurnKind.COMPETITIVE,
    "switched": ChurnKind.COMPETITIVE,
    "cheaper": ChurnKind.COMPETITIVE,
    "better offer": ChurnKind.COMPETITIVE,
    "complaint": ChurnKind.NEGLIGENCE,
    "poor service": ChurnKind.NEGLIGENCE,
    "service failure": ChurnKind.NEGLIGENCE,
    "unresolved": ChurnKind.NEGLIGENCE,
    "late delivery": ChurnKind.NEGLIGENCE,
}

_KINDS = [k.value for k in ChurnKind]


def _classify(reason: Any, table: Mapping[str, ChurnKind | str]) -> int:
    text = str(reason).strip().lower()
    for kind in _KINDS:
        if text == kind:
            return _KINDS.index(kind)
    for word, kind in table.items():
        if word.lower() in text:
            return _KINDS.index(ChurnKind(kind).value)
    return len(_KINDS)  # "other"


def churn_kinds(
    data: Any,
    *,
    customer: str = "customer",
    reason: str = "reason",
    time: str | None = "time",
    reasons: Mapping[str, ChurnKind | str] = DEFAULT_REASONS,
) -> ScoreFrame:
    """Each customer's churn kind from the reasons recorded in the data.

    A reason equal to a kind name (``"competitive"``) is that kind; otherwise the first
    entry of ``reasons`` whose text occurs in it (case-insensitive) decides; reasons
    matching nothing are ``"other"``, customers without a reason ``"none"``. The mapping
    runs once per distinct reason, not per event.

    Returns ``reason`` (the latest recorded), ``kind`` (categorical: the four kinds,
    ``other``, ``none``) and ``churned_at`` (time of that record, if ``time`` exists).
    """
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "reason": reason}
    if time is not None and time in available:
        names["time"] = time
    cols, cats = read_coded(
        data, names, required=("customer", "reason"), categorical=("customer", "reason")
    )
    check_codes(cols["customer"], customer)
    ids, reason_values = cats["customer"], cats["reason"]
    k = len(ids)
    cust, rcode = cols["customer"], cols["reason"]
    has = np.flatnonzero(rcode >= 0)
    if "time" in cols:
        has = has[np.argsort(cols["time"][has], kind="stable")]
    # latest reason per customer: the last write wins in time order
    latest = np.full(k, -1, dtype=np.int64)
    latest[cust[has]] = rcode[has]
    lut = np.array(
        [_classify(r, reasons) for r in reason_values.tolist()] + [len(_KINDS) + 1], dtype=np.int64
    )
    kind = lut[latest]
    out: dict[str, np.ndarray] = {"customer": ids, "reason": latest, "kind": kind}
    if "time" in cols:
        at = np.full(k, np.datetime64("NaT"), dtype="datetime64[us]")
        at[cust[has]] = cols["time"][has]
        out["churned_at"] = at
    return ScoreFrame(
        out, {"reason": reason_values, "kind": np.array([*_KINDS, "other", "none"], dtype=object)}
    )


def churn_summary(data: Any, *, kind: str = "kind") -> ScoreFrame:
    """Customers and share per churn kind (customers without a reason left out).

    >>> churn_summary({"kind": ["natural", "negligence", "negligence", "none"]})["customers"].tolist()
    [1, 0, 0, 2, 0]
    """
    cols, cats = read_coded(data, {"kind": kind}, required=("kind",), categorical=("kind",))
    names = [*_KINDS, "other"]
    lut = {v: i for i, v in enumerate(names)}
    to = np.array([lut.get(v, -1) for v in cats["kind"].tolist()] + [-1], dtype=np.int64)
    codes = to[cols["kind"]]
    codes = codes[codes >= 0]
    counts = np.bincount(codes, minlength=len(names)).astype(np.int64)
    total = counts.sum()
    return ScoreFrame(
        {
            "kind": np.array(names, dtype=object),
            "customers": counts,
            "share": counts / total if total else np.zeros(len(names)),
        },
        key="kind",
    )
