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
  A customer cannot redeem more than their balance at that moment (points earned minus
  redeemed and expired by then).
- **Expiry.** With ``points_expire``, points earned at t expire at t + points_expire
  (calendar months clamp to month ends); redemptions use the oldest points first, so
  the points expired by a date are ``max(0, max over expiry instants e of
  (points expiring by e - points redeemed by e))``.
- **Tiers.** Evaluated at the start of every calendar month (00:00) from a customer's
  first event on, and at ``asof``: the qualifying amount is the spend on purchases (or
  points earned, per ``basis``) in the window ``(d - window, d]``; the tier reached is the highest whose
  threshold it meets; the downgrade rule (``never`` / ``requalify`` / ``one_step``)
  decides the tier from the one before. Every change is a dated transition.

Customers are scored a range of customer codes at a time (a loop over a handful of
ranges: every per-row array is a range's); within a range, the loop is over evaluation
dates (months: a small dimension), each step a ``bincount`` over the events of its
window, found by one sort of the times.

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
from touchpoint._threads import empty, get_threads, map_chunks, parallel_map
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
from touchpoint.scoring._reduce import Progress, group_max, group_sum, report
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
#: About this many events per range of customer codes scored at once (see
#: `loyalty_programme`): a range's per-row arrays stay near the caches. With many threads
#: the ranges are smaller, so that those in flight hold about `ROWS_IN_FLIGHT` events.
CUSTOMER_CHUNK_ROWS = 1 << 17
ROWS_IN_FLIGHT = 1 << 18
MIN_CHUNK_ROWS = 1 << 14
_MAX = np.iinfo(np.int64).max


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

    Memory: the events are scored a range of customer codes at a time (about
    `CUSTOMER_CHUNK_ROWS` rows each, as many ranges at once as there are threads), so
    the per-row working arrays are a range's, not the whole history's. Every customer's
    figures come from their own events only, added in the same order, so the result is
    the same bit for bit however the customers are split and on any number of threads.

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
        points than the customer had earned by then (naming the row, customer and values);
        the earliest such redemption when there are several.
    """
    return _programme(
        data,
        programme,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        points=points,
        redeem=redeem,
        purchases=purchases,
        asof=asof,
        progress=progress,
    )


@attrs.frozen
class _Events:
    """The columns the programme reads: all the events, or those of a range of customers."""

    customer: np.ndarray  # codes, from 0 at the range's first customer
    time: np.ndarray  # datetime64[us]
    amount: np.ndarray
    points: np.ndarray | None  # float64, or None: redemptions valued by amount
    outcome: np.ndarray | None  # outcome codes, or None: nothing is redeemed
    redeem_code: int
    bought: np.ndarray | None  # the purchase rule; None: every event is a purchase
    rows: np.ndarray | None  # positions in the input; None: the rows themselves

    def take(self, rows: np.ndarray, first_customer: int) -> _Events:
        """The events at ``rows`` (in input order), customers counted from ``first_customer``."""

        def pick(column: np.ndarray | None) -> np.ndarray | None:
            return None if column is None else column[rows]

        customer = self.customer[rows]
        customer -= first_customer
        return _Events(
            customer,
            self.time[rows],
            self.amount[rows],
            pick(self.points),
            pick(self.outcome),
            self.redeem_code,
            pick(self.bought),
            rows,
        )

    def redeems(self) -> np.ndarray:
        if self.outcome is None:
            return np.zeros(len(self.time), dtype=bool)
        result: np.ndarray = self.outcome == self.redeem_code
        return result


#: Where one redemption overdraws: its time (us), its input row and the problem to report.
_Overdraft = tuple[int, int, Problem]
#: One evaluation date's tier changes: customers (codes), tiers before and after.
_Changes = tuple[np.ndarray, np.ndarray, np.ndarray]


def _programme(
    data: Any,
    programme: LoyaltyProgramme,
    *,
    customer: str,
    time: str,
    amount: str,
    outcome: str,
    points: str,
    redeem: str,
    purchases: Collection[str] | None,
    asof: Any,
    progress: Progress,
    chunk_rows: int | None = None,
) -> LoyaltyReport:
    """`loyalty_programme` with ``chunk_rows`` events per range of customers (None: the default)."""
    events, ids, keep, at = _read_events(
        data,
        customer=customer,
        time=time,
        amount=amount,
        outcome=outcome,
        points=points,
        redeem=redeem,
        purchases=purchases,
        asof=asof,
    )
    at_us = at.astype("datetime64[us]")
    ti = events.time.view(np.int64)
    if keep is None:
        earliest = int(ti.min()) if len(ti) else None
    else:
        earliest = int(np.min(ti, where=keep, initial=_MAX)) if keep.any() else None
    k = len(ids)
    dates = _evaluation_dates(earliest, at_us)
    starts = _shift(dates, programme.window, -1)
    column = points if events.points is not None else amount
    report(progress, "points", 0.1)

    threads = get_threads()
    if chunk_rows is None:
        chunk_rows = max(MIN_CHUNK_ROWS, min(CUSTOMER_CHUNK_ROWS, ROWS_IN_FLIGHT // threads))
    ranges, order = _customer_ranges(events.customer, keep, k, chunk_rows)
    del keep
    per_customer = {
        name: np.zeros(k) for name in ("spend", "earned", "redeemed", "expired", "qualifying")
    }
    tier_now = np.zeros(k, dtype=np.int64)

    def score(bounds: tuple[int, int, int, int]) -> tuple[_Overdraft | None, list[_Changes | None]]:
        lo, hi, start, stop = bounds
        part = events if order is None else events.take(order[start:stop], lo)
        figures, tier, overdraft, changes = _score_range(
            part, programme, hi - lo, int(at_us.view(np.int64)), dates, starts, ids[lo:hi], column
        )
        for name, values in figures.items():
            per_customer[name][lo:hi] = values
        tier_now[lo:hi] = tier
        return overdraft, changes

    overdrafts: list[_Overdraft] = []
    by_date: list[list[_Changes]] = [[] for _ in dates]
    # a loop over batches of customer ranges (a handful), each range a vector step
    for b in range(0, len(ranges), threads):
        batch = ranges[b : b + threads]
        for (lo, *_), (overdraft, changes) in zip(batch, parallel_map(score, batch), strict=True):
            if overdraft is not None:
                overdrafts.append(overdraft)
            for i, change in enumerate(changes):  # a loop over evaluation dates
                if change is not None:
                    by_date[i].append((change[0] + lo, change[1], change[2]))
        report(progress, "customers", 0.1 + 0.9 * min(b + threads, len(ranges)) / len(ranges))
    if overdrafts:  # the earliest, as if every customer were checked at once
        raise ValidationError([min(overdrafts, key=lambda o: (o[0], o[1]))[2]])

    total_earned, total_used = per_customer["earned"], per_customer["redeemed"]
    balance = np.maximum(total_earned - total_used - per_customer["expired"], 0.0)
    tier_names = np.array([tier.name for tier in programme.tiers], dtype=object)
    discounts = np.array([tier.discount for tier in programme.tiers])
    balances = ScoreFrame(
        {
            "customer": ids,
            "spend": per_customer["spend"],
            "earned": total_earned,
            "redeemed": total_used,
            "expired": per_customer["expired"],
            "balance": balance,
            "balance_value": balance * programme.point_value,
            "qualifying": per_customer["qualifying"],
            "tier": tier_now,
            "discount": discounts[tier_now],
        },
        {"tier": tier_names},
    )

    trans = _transition_frame(by_date, dates, ids, tier_names)
    report(progress, "done", 1.0)
    return LoyaltyReport(balances, trans, tier_names)


def _read_events(
    data: Any,
    *,
    customer: str,
    time: str,
    amount: str,
    outcome: str,
    points: str,
    redeem: str,
    purchases: Collection[str] | None,
    asof: Any,
) -> tuple[_Events, np.ndarray, np.ndarray | None, np.datetime64]:
    """The checked columns, the customers' ids, which events are kept (None: all) and asof."""
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "time": time, "amount": amount}
    required = ["customer", "time", "amount"]
    for logical, column in (("outcome", outcome), ("points", points)):
        if column in available:
            names[logical] = column
    cols, cats = read_coded(data, names, required=required, categorical=("customer", "outcome"))
    bought = purchase_mask(cols, cats, purchases)  # None: every event is a purchase
    cust, t, amt = cols["customer"], cols["time"], cols["amount"]
    check_codes(cust, customer)
    check_times(t, time)
    check_nonnegative(amt, amount)
    pts_col = cols.get("points")
    if pts_col is not None:
        pts_col = pts_col.astype(np.float64, copy=False)
        check_nonnegative(pts_col, points)
    at = as_time(asof) if asof is not None else (t.max() if len(t) else np.datetime64(0, "us"))
    keep: np.ndarray | None = None  # None: every event is on or before asof
    if asof is not None:
        keep = t <= at
        if keep.all():
            keep = None
    redeem_code = -1
    if "outcome" in cols:
        hits = [i for i, v in enumerate(cats["outcome"].tolist()) if v == redeem]
        if hits:
            redeem_code = hits[0]
    outcomes = cols["outcome"] if redeem_code >= 0 else None
    events = _Events(cust, t, amt, pts_col, outcomes, redeem_code, bought, None)
    return events, cats["customer"], keep, at


def _transition_frame(
    by_date: list[list[_Changes]], dates: np.ndarray, ids: np.ndarray, tier_names: np.ndarray
) -> ScoreFrame:
    """The transitions, by evaluation date, then customer (ranges come in customer order)."""

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)

    tc = cat([c for day in by_date for c, _, _ in day])
    tt = cat(
        [
            np.full(len(c), d.view(np.int64))
            for d, day in zip(dates, by_date, strict=True)
            for c, _, _ in day
        ]
    )
    tf = cat([f for day in by_date for _, f, _ in day])
    tto = cat([to for day in by_date for _, _, to in day])
    return ScoreFrame(
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


def _customer_ranges(
    customers: np.ndarray, keep: np.ndarray | None, k: int, chunk_rows: int
) -> tuple[list[tuple[int, int, int, int]], np.ndarray | None]:
    """Ranges of customer codes of about ``chunk_rows`` events each, and their events.

    Returns ``(first customer, end, start, stop)`` per range, where ``order[start:stop]``
    are the range's event rows in input order; ``order`` is None (and there is one
    range) when every event is kept and they are few enough to score at once. Events
    not kept (after ``asof``) are in no range. A stable sort of a range number of 8 or
    16 bits per event (a radix sort: linear) in blocks of rows, into int32 positions
    when they fit.

    >>> ranges, order = _customer_ranges(np.array([2, 0, 1, 2, 0]), None, 3, 2)
    >>> ranges, order.tolist()
    ([(0, 1, 0, 2), (1, 2, 2, 3), (2, 3, 3, 5)], [1, 4, 2, 0, 3])
    """
    n = len(customers)
    if keep is None and n <= chunk_rows:
        return [(0, k, 0, n)], None
    chunk_rows = max(chunk_rows, -(-n // 65_000), 1)  # range numbers fit in 16 bits
    filled = np.cumsum(np.bincount(customers, minlength=k))
    ends = np.searchsorted(filled, np.arange(chunk_rows, n, chunk_rows), side="right")
    edges = np.unique(np.concatenate(([0], ends, [k]))).tolist()
    m = len(edges) - 1
    width = np.uint8 if m < 255 else np.uint16
    range_of = np.repeat(np.arange(m, dtype=width), np.diff(edges))
    number = range_of[customers]
    del range_of
    if keep is not None:
        number[~keep] = m  # after every range
    counts = np.bincount(number, minlength=m + 1)
    sizes = counts[:m]
    stops = np.cumsum(sizes)
    free = stops - sizes  # the next place of each range's rows in `order`
    order = np.empty(int(stops[-1]) if m else 0, dtype=np.int32 if n < 2**31 else np.int64)
    # a loop over blocks of rows (no full-length int64 positions), each a radix sort
    for lo in range(0, n, CHUNK):
        block = number[lo : lo + CHUNK]
        rows = np.argsort(block, kind="stable")
        ranges = block[rows]
        counts = np.bincount(ranges, minlength=m + 1)
        kept = len(rows) - int(counts[m])  # events after asof sort last: left out
        ranges, rows = ranges[:kept], rows[:kept]
        first = np.cumsum(counts) - counts  # where each range begins in the sorted block
        place = free[ranges] + (np.arange(kept) - first[ranges])
        order[place] = rows + lo
        free += counts[:m]
    bounds = zip(edges[:-1], edges[1:], (stops - sizes).tolist(), stops.tolist(), strict=True)
    # ranges without events keep the zeros every customer without events has
    return [(lo, hi, a, b) for lo, hi, a, b in bounds if b > a], order


def _score_range(
    ev: _Events,
    programme: LoyaltyProgramme,
    k: int,
    at_us: int,
    dates: np.ndarray,
    starts: np.ndarray,
    ids: np.ndarray,
    column: str,
) -> tuple[dict[str, np.ndarray], np.ndarray, _Overdraft | None, list[_Changes | None]]:
    """Points, expiry, the redemption check and tiers of ``k`` customers from their events."""
    cust, t, amt = ev.customer, ev.time, ev.amount
    is_redeem = ev.redeems()
    spend = np.where(is_redeem | np.isnan(amt), 0.0, amt)
    if ev.bought is not None:
        spend[~ev.bought] = 0.0  # only purchases earn
    # read-only from here on: at a rate of 1 the points are the spend itself
    earned = spend if programme.earn_rate == 1 else spend * programme.earn_rate
    red = np.flatnonzero(is_redeem)
    used = np.zeros(0)  # nothing redeemed: no full-length column of zeros
    total_used = np.zeros(k)
    if len(red):
        if ev.points is not None:
            used = np.where(is_redeem, np.nan_to_num(ev.points), 0.0)
        else:
            value = programme.point_value
            used = np.where(is_redeem, np.nan_to_num(amt) / value if value else 0.0, 0.0)
        total_used = group_sum(cust, used, k)
    del is_redeem
    ti = t.view(np.int64)

    total_earned = group_sum(cust, earned, k)
    expired = np.zeros(k)
    c_exp = e_exp = v_exp = None
    if programme.points_expire is not None:
        c_exp, e_exp, v_exp = _expiry(programme, cust, t, earned, red, used)
        due = e_exp <= at_us
        expired = group_max(c_exp[due], v_exp[due], k, 0.0)
        del due
    overdraft = None
    if len(red):
        overdraft = _check_redemptions(
            cust, ti, earned, used, red, c_exp, e_exp, v_exp, ids, ev.rows, column
        )
    del c_exp, e_exp, v_exp, used
    tier, qualifying, changes = _tiers(programme, cust, t, spend, earned, k, dates, starts)
    figures = {
        "spend": group_sum(cust, spend, k),
        "earned": total_earned,
        "redeemed": total_used,
        "expired": expired,
        "qualifying": qualifying,
    }
    return figures, tier, overdraft, changes


def _expiry(
    programme: LoyaltyProgramme,
    cust: np.ndarray,
    t: np.ndarray,
    earned: np.ndarray,
    red: np.ndarray,
    used: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, expiry time (us) and points expired by then of each row that earns.

    The points expired by an expiry instant are those expiring by then beyond what was
    redeemed by then (oldest points first); the customer's expired total is the largest.
    """
    earn_rows = np.flatnonzero(earned > 0)
    c_exp = cust[earn_rows]
    e_exp = empty(len(earn_rows), dtype=np.int64)

    def expiry(lo: int, hi: int) -> None:  # in chunks: calendar arithmetic's temporaries
        shifted = _shift(t[earn_rows[lo:hi]], programme.points_expire)
        e_exp[lo:hi] = shifted.view(np.int64)

    map_chunks(expiry, len(earn_rows), min_size=CHUNK)
    v_exp = cumulative_self(c_exp, e_exp, earned[earn_rows])
    if len(red):
        ti = t.view(np.int64)
        v_exp -= cumulative_at(cust[red], ti[red], used[red], c_exp, e_exp)
    return c_exp, e_exp, v_exp


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
) -> _Overdraft | None:
    """The first redemption that takes the balance below zero, or None."""
    had = cumulative_at(cust, ti, earned, cust[red], ti[red])
    spent = cumulative_self(cust[red], ti[red], used[red])
    gone = np.zeros(len(red))
    if c_exp is not None and e_exp is not None and v_exp is not None:
        gone = np.maximum(running_max_before(c_exp, e_exp, v_exp, cust[red], ti[red]), 0.0)
    left = had - spent - gone
    over = left < -_EPS * np.maximum(had, 1.0)
    if not over.any():
        return None
    first = np.flatnonzero(over)
    i = int(first[np.argmin(ti[red][first])])
    j = red[i]
    row = int(j if rows is None else rows[j])
    problem = Problem(
        f"{column}[{row}]",
        f"customer {ids[cust[j]]!r} redeems more points than the balance at that time "
        f"({spent[i]:g} redeemed in all, {had[i]:g} earned, {gone[i]:g} expired); "
        "are times out of order?",
        float(used[j]),
    )
    return int(ti[j]), row, problem


def _evaluation_dates(earliest: int | None, at: np.datetime64) -> np.ndarray:
    """Month starts from the first event (``earliest``, us) on, up to ``asof``, then ``asof``."""
    if earliest is None:
        return np.array([at], dtype="datetime64[us]")
    first_event = np.datetime64(earliest, "us")
    first = first_event.astype("datetime64[M]")
    if first.astype("datetime64[us]") < first_event:  # a first event at 00:00 on the 1st counts
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
    dates: np.ndarray,
    starts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[_Changes | None]]:
    """Tiers now, the last qualifying amounts and each evaluation date's changes."""
    basis = earned if programme.basis is QualificationBasis.POINTS else spend
    thresholds = np.array(programme.thresholds)
    if nondecreasing(t.view(np.int64)):  # time-ordered events: no sorted copies
        ts, cs, bs = t, cust, basis
    else:
        order = np.argsort(t, kind="stable")
        ts, cs, bs = t[order], cust[order], basis[order]
        del order
    first_seen = np.full(k, _MAX)
    np.minimum.at(first_seen, cust, t.view(np.int64))
    tier = np.zeros(k, dtype=np.int64)
    qualifying = np.zeros(k)  # float64, as every evaluation's
    changes: list[_Changes | None] = []
    # a loop over evaluation dates (months), each a vector step over customers
    for d, s in zip(dates, starts, strict=True):
        lo = np.searchsorted(ts, s, side="right")
        hi = np.searchsorted(ts, d, side="right")
        qualifying = group_sum(cs[lo:hi], bs[lo:hi], k)
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
        changes.append((changed, tier[changed], new[changed]) if len(changed) else None)
        tier = new
    return tier, qualifying, changes
