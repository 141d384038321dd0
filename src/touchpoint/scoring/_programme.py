"""The loyalty programme over the event history: points, balances, tiers and transitions.

Rules (with `touchpoint.model.LoyaltyProgramme`):

- **Earning.** Every purchase with a positive amount earns ``earn_rate x amount``
  points; missing amounts (NaN) earn nothing. Which events are purchases is the
  library's one rule (`touchpoint.frame.purchase_mask`): with an ``outcome`` column,
  the events whose outcome is one of ``purchases`` (default ``("purchase",)``) and
  those without an outcome that carry an amount; without one, every event. So a
  deposit, a service call or a refund logged with an amount earns nothing unless its
  outcome is listed; ``purchases=None`` lets every event with an amount earn.
- **Redeeming.** Events whose ``outcome`` is ``"redeem"`` spend points: the ``points``
  column if the data has one, else ``amount / point_value`` (the cash value redeemed).
  A customer cannot redeem more than they had earned by then (checked against points
  earned minus redeemed; expiry is not part of that check).
- **Expiry.** With ``points_expire``, points earned at t expire at t + points_expire
  (calendar months clamp to month ends); redemptions use the oldest points first, so
  the points expired by a date are ``max(0, max over expiry instants e of
  (points expiring by e - points redeemed by e))``.
- **Tiers.** Evaluated at the start of every calendar month (00:00) from a customer's
  first event on, and at ``asof``: the qualifying amount is the spend on purchases (or
  points earned, per ``basis``) in the window ``(d - window, d]``; the tier reached is the highest whose
  threshold it meets; the downgrade rule (``never`` / ``requalify`` / ``one_step``)
  decides the tier from the one before. Every change is a dated transition.

The loop is over evaluation dates (months: a small dimension); each step is a
``bincount`` over the events of its window, found by one sort of the times.

Examples
--------
>>> from touchpoint.model import LoyaltyProgramme, LoyaltyTier
>>> prog = LoyaltyProgramme(tiers=[LoyaltyTier("member", 0), LoyaltyTier("gold", 100)],
...                         earn_rate=1.0, point_value=0.5)
>>> events = {"customer": ["a", "a", "b"], "amount": [80.0, 30.0, 10.0], "outcome": [None, None, None],
...           "time": ["2026-01-05", "2026-02-10", "2026-01-20"]}
>>> r = loyalty_programme(events, prog, asof="2026-03-01")
>>> r.balances["tier"].tolist(), r.balances["balance"].tolist()
(['gold', 'member'], [110.0, 10.0])
>>> r.transitions["to_tier"].tolist(), r.transitions["time"].astype("datetime64[D]").tolist()
(['gold'], [datetime.date(2026, 3, 1)])
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs
import numpy as np

from touchpoint._deprecation import renamed
from touchpoint._threads import map_chunks
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    ScoreFrame,
    as_time,
    check_codes,
    check_nonnegative,
    check_times,
    column_names,
    distributed,
    nondecreasing,
    purchase_mask,
    read_coded,
)
from touchpoint.model import DowngradeRule, LoyaltyProgramme, QualificationBasis
from touchpoint.scoring._reduce import Progress, report
from touchpoint.scoring._timeline import (
    add_months,
    cumulative_at,
    cumulative_self,
    running_max_before,
)

__all__ = ["LoyaltyReport", "loyalty_programme"]

_EPS = 1e-9
#: Rows per chunk of the expiry dates (calendar arithmetic keeps a few temporaries each).
CHUNK = 1 << 20


def _shift(times: np.ndarray, offset: Any, sign: int = 1) -> np.ndarray:
    if offset.months:
        return add_months(times, sign * offset.months)
    result: np.ndarray = times + np.timedelta64(sign * offset.days, "D").astype("timedelta64[us]")
    return result


@attrs.frozen
class LoyaltyReport:
    """What `loyalty_programme` returns.

    Attributes
    ----------
    balances:
        Per customer at ``asof``: ``spend``, ``earned``, ``redeemed``, ``expired``,
        ``balance`` (points), ``balance_value`` (currency), ``qualifying`` (window spend or
        points), ``tier`` (categorical) and ``discount``.
    transitions:
        One row per tier change: ``customer``, ``time`` (the evaluation instant),
        ``from_tier``, ``to_tier`` and ``change`` (``upgrade`` / ``downgrade``).
    tier_names:
        The programme's tiers, lowest first.

    With a Dask DataFrame as data, ``balances`` and ``transitions`` are lazy Dask
    DataFrames (see `loyalty_programme`).
    """

    balances: Any
    transitions: Any
    tier_names: np.ndarray

    @renamed(when="asof")
    @distributed("LoyaltyReport.tier_at", on="self.balances")
    def tier_at(self, asof: Any) -> Any:
        """Every customer's tier at a date, replayed from the transitions.

        The first tier before any transition; the ``to_tier`` of the last transition
        at or before ``asof`` otherwise. A lazy Dask DataFrame of ``customer`` and
        ``tier`` for a report computed on Dask. (``when=`` is the old name of ``asof``;
        it works until the next release, with a `DeprecationWarning`.)
        """
        t = int(as_time(asof, name="asof").view(np.int64))
        ids = self.balances["customer"]
        k = len(ids)
        tier = np.zeros(k, dtype=np.int64)
        cust = self.transitions.columns["customer"]
        times = self.transitions.columns["time"].view(np.int64)
        keep = times <= t
        # transitions are in time order, so the last write per customer wins
        tier[cust[keep]] = self.transitions.columns["to_tier"][keep]
        return ScoreFrame({"customer": ids, "tier": tier}, {"tier": self.tier_names})


@distributed("loyalty_programme")
def loyalty_programme(
    data: Any,
    programme: LoyaltyProgramme,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str = "amount",
    outcome: str = "outcome",
    points: str = "points",
    redeem: str = "redeem",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    asof: Any = None,
    progress: Progress = None,
) -> LoyaltyReport:
    """Points earned, redeemed and expired, balances, tiers and tier transitions.

    See the module docs for the rules. ``outcome`` and ``points`` may be absent (no
    redemptions, every event a purchase; redemptions valued by amount). Only purchases
    earn points and count as spend: the events whose ``outcome`` is one of
    ``purchases``, and those without an outcome that carry an amount (the library's
    purchase rule, `touchpoint.frame.purchase_mask`); ``purchases=None`` lets every
    event with an amount earn, as a plain transaction log does. Events after ``asof``
    (default: the latest event of any kind) are ignored.

    Returns
    -------
    LoyaltyReport
        With a Dask DataFrame as ``data`` (see `touchpoint.scale`), ``balances`` and
        ``transitions`` are lazy Dask DataFrames, as every per-customer score on Dask
        is: both are a row (or rows) per customer, as large as the customer base, so
        they stay distributed until asked for. Compute them together
        (``dask.compute(r.balances, r.transitions)``) to score each partition once. The
        events are numbered in input order, partitioned by customer and put back in
        that order, then this function runs on each partition with ``asof`` defaulting
        to the latest time of all events (computed first); nothing else is global (the
        monthly evaluation calendar matters from each customer's own first event on).
        Rows come in no particular order; ``transitions["customer"]`` holds the ids
        themselves, as ``balances["customer"]`` does, not a categorical. A failing check
        names the row by its position in the whole input. ``progress`` is not reported.

    Raises
    ------
    touchpoint.errors.ValidationError
        Missing customer or time, negative amounts or points, a redemption of more
        points than the customer had earned by then (naming the row, customer and values).
    """
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "time": time, "amount": amount}
    required = ["customer", "time", "amount"]
    for logical, column in (("outcome", outcome), ("points", points)):
        if column in available:
            names[logical] = column
    cols, cats = read_coded(data, names, required=required, categorical=("customer", "outcome"))
    bought = purchase_mask(cols, cats, purchases)  # None: every event is a purchase
    cust, ids = cols["customer"], cats["customer"]
    t = cols["time"]
    amt = cols["amount"]
    check_codes(cust, customer)
    check_times(t, time)
    check_nonnegative(amt, amount)
    pts_col = cols.get("points")
    if pts_col is not None:
        pts_col = pts_col.astype(np.float64)
        check_nonnegative(pts_col, points)
    at = as_time(asof) if asof is not None else (t.max() if len(t) else np.datetime64(0, "us"))
    keep = t <= at
    if not keep.all():
        cust, t, amt = cust[keep], t[keep], amt[keep]
        pts_col = pts_col[keep] if pts_col is not None else None
        rows: np.ndarray | None = np.flatnonzero(keep)
    else:
        rows = None  # every event is kept: positions are the rows themselves
    is_redeem = np.zeros(len(t), dtype=bool)
    if "outcome" in cols:
        hits = [i for i, v in enumerate(cats["outcome"].tolist()) if v == redeem]
        if hits:
            out = cols["outcome"]
            is_redeem = (out if rows is None else out[rows]) == hits[0]
    k = len(ids)
    spend = np.where(is_redeem | np.isnan(amt), 0.0, amt)
    if bought is not None:
        spend[~(bought if rows is None else bought[rows])] = 0.0  # only purchases earn
    # read-only from here on: at a rate of 1 the points are the spend itself
    earned = spend if programme.earn_rate == 1 else spend * programme.earn_rate
    red = np.flatnonzero(is_redeem)
    used = np.zeros(0)  # nothing redeemed: no full-length column of zeros
    total_used = np.zeros(k)
    if len(red):
        if pts_col is not None:
            used = np.where(is_redeem, np.nan_to_num(pts_col), 0.0)
        else:
            value = programme.point_value
            used = np.where(is_redeem, np.nan_to_num(amt) / value if value else 0.0, 0.0)
        total_used = np.bincount(cust, weights=used, minlength=k).astype(np.float64)
    ti = t.view(np.int64)
    report(progress, "points", 0.1)

    # float64 even without events (np.bincount of nothing is int64)
    total_earned = np.bincount(cust, weights=earned, minlength=k).astype(np.float64)
    expired = np.zeros(k)
    earn_rows = np.flatnonzero(earned > 0)
    c_exp = e_exp = v_exp = None
    if programme.points_expire is not None and len(earn_rows):
        c_exp = cust[earn_rows]
        e_exp = np.empty(len(earn_rows), dtype=np.int64)

        def expiry(lo: int, hi: int) -> None:  # in chunks: calendar arithmetic's temporaries
            assert e_exp is not None
            shifted = _shift(t[earn_rows[lo:hi]], programme.points_expire)
            e_exp[lo:hi] = shifted.view(np.int64)

        map_chunks(expiry, len(earn_rows), min_size=CHUNK)
        # points gone by each expiry instant beyond what was redeemed by then (FIFO)
        v_exp = cumulative_self(c_exp, e_exp, earned[earn_rows])
        if len(red):
            v_exp -= cumulative_at(cust[red], ti[red], used[red], c_exp, e_exp)
        due = e_exp <= at.astype("datetime64[us]").view(np.int64)
        np.maximum.at(expired, c_exp[due], v_exp[due])
    if len(red):
        _check_redemptions(
            cust,
            ti,
            earned,
            used,
            red,
            c_exp,
            e_exp,
            v_exp,
            ids,
            rows,
            points if pts_col is not None else amount,
        )
    balance = np.maximum(total_earned - total_used - expired, 0.0)
    report(progress, "tiers", 0.4)

    tier_now, qualifying, transitions = _tiers(programme, cust, t, spend, earned, k, at, progress)
    tier_names = np.array([tier.name for tier in programme.tiers], dtype=object)
    discounts = np.array([tier.discount for tier in programme.tiers])
    balances = ScoreFrame(
        {
            "customer": ids,
            "spend": np.bincount(cust, weights=spend, minlength=k).astype(np.float64),
            "earned": total_earned,
            "redeemed": total_used,
            "expired": expired,
            "balance": balance,
            "balance_value": balance * programme.point_value,
            "qualifying": qualifying,
            "tier": tier_now,
            "discount": discounts[tier_now],
        },
        {"tier": tier_names},
    )
    tc, tt, tf, tto = transitions
    trans = ScoreFrame(
        {
            "customer": tc,
            "time": tt.view("datetime64[us]"),
            "from_tier": tf,
            "to_tier": tto,
            "change": (tto < tf).astype(np.int64),
        },
        {
            "customer": ids,
            "from_tier": tier_names,
            "to_tier": tier_names,
            "change": np.array(["upgrade", "downgrade"], dtype=object),
        },
        key="customer",
    )
    report(progress, "done", 1.0)
    return LoyaltyReport(balances, trans, tier_names)


def _check_redemptions(
    cust: np.ndarray,
    ti: np.ndarray,
    earned: np.ndarray,
    used: np.ndarray,
    red: np.ndarray,
    c_exp: np.ndarray | None,
    e_exp: np.ndarray | None,
    v_exp: np.ndarray | None,
    ids: np.ndarray,
    rows: np.ndarray | None,
    column: str,
) -> None:
    """Raise at the first redemption that takes the balance below zero."""
    had = cumulative_at(cust, ti, earned, cust[red], ti[red])
    spent = cumulative_at(cust[red], ti[red], used[red], cust[red], ti[red])
    gone = np.zeros(len(red))
    if c_exp is not None and e_exp is not None and v_exp is not None:
        gone = np.maximum(running_max_before(c_exp, e_exp, v_exp, cust[red], ti[red]), 0.0)
    left = had - spent - gone
    over = left < -_EPS * np.maximum(had, 1.0)
    if over.any():
        first = np.flatnonzero(over)
        i = int(first[np.argmin(ti[red][first])])
        j = red[i]
        raise ValidationError(
            [
                Problem(
                    f"{column}[{int(j if rows is None else rows[j])}]",
                    f"customer {ids[cust[j]]!r} redeems more points than the balance at that time "
                    f"({spent[i]:g} redeemed in all, {had[i]:g} earned, {gone[i]:g} expired); "
                    "are times out of order?",
                    float(used[j]),
                )
            ]
        )


def _evaluation_dates(t: np.ndarray, at: np.datetime64) -> np.ndarray:
    """Month starts from the first event on, up to ``asof``, then ``asof`` itself."""
    if not len(t):
        return np.array([at], dtype="datetime64[us]")
    earliest = t.min()
    first = earliest.astype("datetime64[M]")
    if first.astype("datetime64[us]") < earliest:  # a first event at 00:00 on the 1st counts
        first += np.timedelta64(1, "M")
    last = at.astype("datetime64[M]")
    months = np.arange(first, last + np.timedelta64(1, "M"), dtype="datetime64[M]").astype(
        "datetime64[us]"
    )
    months = months[months < at]
    return np.concatenate((months, np.array([at], dtype="datetime64[us]")))


def _tiers(
    programme: LoyaltyProgramme,
    cust: np.ndarray,
    t: np.ndarray,
    spend: np.ndarray,
    earned: np.ndarray,
    k: int,
    at: np.datetime64,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    basis = earned if programme.basis is QualificationBasis.POINTS else spend
    thresholds = np.array(programme.thresholds)
    if nondecreasing(t.view(np.int64)):  # time-ordered events: no sorted copies
        ts, cs, bs = t, cust, basis
    else:
        order = np.argsort(t, kind="stable")
        ts, cs, bs = t[order], cust[order], basis[order]
        del order
    dates = _evaluation_dates(t, at.astype("datetime64[us]"))
    starts = _shift(dates, programme.window, -1)
    first_seen = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, cust, t.view(np.int64))
    tier = np.zeros(k, dtype=np.int64)
    qualifying = np.zeros(k)  # float64, as every evaluation's
    out_c, out_t, out_f, out_to = [], [], [], []
    # a loop over evaluation dates (months), each a vector step over customers
    for i, (d, s) in enumerate(zip(dates, starts, strict=True)):
        report(progress, "tiers", 0.4 + 0.6 * i / len(dates))
        lo = np.searchsorted(ts, s, side="right")
        hi = np.searchsorted(ts, d, side="right")
        qualifying = np.bincount(cs[lo:hi], weights=bs[lo:hi], minlength=k).astype(np.float64)
        reached = (
            np.searchsorted(
                thresholds, qualifying + _EPS * np.maximum(qualifying, 1.0), side="right"
            )
            - 1
        )
        reached = np.maximum(reached, 0)
        if programme.downgrade is DowngradeRule.NEVER:
            new = np.maximum(tier, reached)
        elif programme.downgrade is DowngradeRule.ONE_STEP:
            new = np.maximum(reached, tier - 1)
        else:
            new = reached
        new = np.where(first_seen <= d.view(np.int64), new, 0)
        changed = np.flatnonzero(new != tier)
        if len(changed):
            out_c.append(changed)
            out_t.append(np.full(len(changed), d.view(np.int64)))
            out_f.append(tier[changed])
            out_to.append(new[changed])
        tier = new

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)

    return tier, qualifying, (cat(out_c), cat(out_t), cat(out_f), cat(out_to))
