"""A realistic synthetic customer base for any blueprint, from a fixed seed.

Used by ``touchpoint demo``, the benchmarks and notebooks that want data shaped like a
company's: customers with contact details (fake, on ``example.com``), time zones, dates
and consent; interactions that move through the blueprint's stages over time, purchases
at transaction touchpoints, ratings and response times whose quality varies by store,
mystery-shopper audit records for checklist indicators, follow-up calls for count
indicators, referrals, complaints and promises.

The data tells a story a manager can find (`SyntheticBase.story` holds the truth): one
store slips from a month five months before the end; touchpoints' ratings differ by more
than a star; the base grows and buys more in the peak season; satisfaction dips for
three months after a change; customers drop out along the stages and leave after an
exponential lifetime; open promises are days late; and a win-back care rule, with a
holdout assigned by `touchpoint.experiments.holdout`, has a true effect on repurchase
(`WINBACK_EFFECT`) that `touchpoint.experiments.lift` recovers.

Everything is generated with numpy over whole columns, and the events come back as an
`EventFrame` whose id columns are integer codes into their categories, so no Python
string is built per event. The same seed gives the same data.

Examples
--------
>>> from touchpoint import templates
>>> base = synthetic_base(templates.load("car-dealership"), customers=200, seed=1)
>>> len(base.customers["customer"]), base.customers["customer"][0]
(200, 'C000001')
>>> amounts = base.events["amount"]
>>> bool((amounts[~np.isnan(amounts)] > 0).all()), bool((np.diff(base.events["time"]) >= 0).all())
(True, True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from touchpoint.frame import EventFrame
from touchpoint.model import Blueprint, ControlIndicator, IndicatorKind, Stage, Touchpoint

__all__ = ["SyntheticBase", "synthetic_base"]

_ZONES = np.array(
    ["Asia/Shanghai"] * 3 + ["Asia/Hong_Kong", "Europe/London", "America/New_York"], dtype=object
)
_US = "datetime64[us]"
_DAY_US = 86_400_000_000
_HOUR = np.timedelta64(3_600_000_000, "us")
_OUTCOMES = np.array(["purchase", "pass", "fail"], dtype=object)
#: The chance a customer who reached a stage goes on to the next (awareness ->
#: consultation -> experience -> transaction -> cooperation): where the funnel leaks.
CONTINUE = (0.75, 0.6, 0.5, 0.7, 0.7, 0.7)
#: The win-back care rule the demo adds: a contact this many days after the last purchase.
WINBACK_DAYS = 120
#: Its holdout: share and salt of `touchpoint.experiments.holdout`.
WINBACK_SHARE, WINBACK_SALT = 0.2, "demo:win-back"
#: Its true effect: repurchase within the measured quarter, holdout and treated.
WINBACK_BASELINE, WINBACK_EFFECT = 0.15, 0.10
PURCHASE, PASS, FAIL = 0, 1, 2


@attrs.frozen(eq=False)
class SyntheticBase:
    """The generated tables: ``events`` as an `EventFrame`, the others as dicts of columns."""

    blueprint: Blueprint
    customers: dict[str, np.ndarray]
    consents: dict[str, np.ndarray]
    events: EventFrame
    complaints: dict[str, np.ndarray]
    promises: dict[str, np.ndarray]
    #: What was planted in the data for a manager to find, and the truth behind it (see
    #: `synthetic_base`): ``slip_store``, ``slip_from``, ``dip_from``, ``dip_to``,
    #: ``winback`` (the care-rule experiment: ``rule``, ``days``, ``salt``, ``share``,
    #: ``customers``, ``held_out``, ``start``, ``end``, ``baseline``, ``effect``).
    story: dict[str, Any] = attrs.field(factory=dict)


_NONE = np.array(None, dtype=object)  # None as an array, for element-wise use
#: The integer type of each coded column of the events (a million customers make ~14
#: million events: int64 everywhere would be 1.6 GB, these make it about 0.9).
_NARROW = {
    "customer": np.int32,
    "touchpoint": np.int16,
    "channel": np.int16,
    "direction": np.int8,
    "outcome": np.int8,
    "staff": np.int32,
    "store": np.int16,
    "referrer": np.int32,
    "indicator": np.int16,
}


def _ids(prefix: str, numbers: np.ndarray, width: int = 6) -> np.ndarray:
    """``prefix`` + zero-padded numbers, as an object array (for the distinct ids only)."""
    text = np.strings.zfill(numbers.astype(str).astype(np.dtypes.StringDType()), width)
    return np.strings.add(prefix, text).astype(object)


def _after(start: np.ndarray, end: np.datetime64, rng: np.random.Generator) -> np.ndarray:
    """A random moment between each ``start`` and ``end``."""
    span = (end - start).astype(np.int64)
    result: np.ndarray = start + (span * rng.random(len(start))).astype(np.int64).astype(
        "timedelta64[us]"
    )
    return result


def _month_of_year(time: np.ndarray) -> np.ndarray:
    """The month of each time, 0-11: looked up by day (a few thousand distinct days)
    instead of a calendar conversion per value.

    >>> t = np.array(["2025-12-31T23:59", "2026-01-01T00:00", "1969-12-31T12:00"], _US)
    >>> _month_of_year(t).tolist()
    [11, 0, 11]
    """
    day = time.view(np.int64) // _DAY_US  # floor, as numpy's conversion to days
    if not len(day):
        return np.zeros(0, dtype=np.int64)
    first = int(day.min())
    span = np.arange(first, int(day.max()) + 1).astype("datetime64[D]")
    of_day: np.ndarray = span.astype("datetime64[M]").astype(np.int64) % 12
    return of_day[day - first]


def synthetic_base(
    blueprint: Blueprint,
    *,
    customers: int = 10_000,
    seed: int = 0,
    end: dt.date = dt.date(2026, 11, 23),
    years: float = 3.0,
    stores: int = 20,
    staff_per_store: int = 6,
    events_per_customer: float = 12.0,
    progress: Callable[[str], None] | None = None,
) -> SyntheticBase:
    """Generate customers, consents, events, complaints and promises for ``blueprint``.

    Parameters
    ----------
    blueprint:
        Whose touchpoints, channels and indicators the data exercises.
    customers:
        How many customers.
    seed:
        The random seed: the same seed, the same data.
    end, years:
        The period covered: ``years`` up to the end of ``end``.
    stores, staff_per_store:
        Sizes of the store and staff pools; each store has its own service quality, so
        compliance and satisfaction differ by store.
    events_per_customer:
        The mean number of interactions per customer.
    progress:
        Called with the name of each phase as it starts.
    """
    say = progress or (lambda _phase: None)
    rng = np.random.default_rng(seed)
    n = int(customers)
    end64 = np.datetime64(end, "us") + np.timedelta64(_DAY_US - 1, "us")
    start64 = end64 - np.timedelta64(int(years * 365.25 * _DAY_US), "us")

    say("customers")
    ids = _ids("C", np.arange(1, n + 1))
    store_ids = _ids("ST", np.arange(1, stores + 1), 3)
    staff_ids = _ids("S", np.arange(1, stores * staff_per_store + 1), 4)
    store_quality = rng.normal(0.0, 0.5, stores)
    # The problem to find: one store, good until now, slips from a month half a year ago.
    slip_store = int(np.argsort(store_quality)[stores // 2 + stores // 4]) if stores > 1 else 0
    slip_from = (end64 - np.timedelta64(5 * 30 * _DAY_US, "us")).astype("datetime64[M]")
    slip64 = slip_from.astype(_US)
    # A change that went wrong: ratings dip for three months, ten months before the end.
    dip_from = (end64 - np.timedelta64(10 * 30 * _DAY_US, "us")).astype("datetime64[M]")
    dip_to = dip_from + np.timedelta64(3, "M")
    home_store = rng.integers(0, stores, n)
    # Growth: more customers arrive each month (the square root skews arrivals late).
    first_seen = start64 + (
        np.sqrt(rng.random(n)) * 0.97 * (end64 - start64).astype(np.int64)
    ).astype(np.int64).astype("timedelta64[us]")
    # A quarter of customers were referred by an earlier one (code -1: nobody).
    referrer = np.where(
        rng.random(n) < 0.25, np.floor(rng.random(n) * np.arange(n)).astype(np.int64), -1
    )
    referrer[0] = -1

    say("events")
    tps = blueprint.touchpoints
    stages = [s for s in Stage if s in blueprint.stages and blueprint.by_stage(s)]
    counts = np.maximum(rng.negative_binomial(3, 3 / (3 + events_per_customer), n), 1)
    total = int(counts.sum())
    who = np.repeat(np.arange(n), counts)
    # How far along the journey each customer gets: each stage is passed with its
    # CONTINUE chance, so the funnel shows where customers stop.
    go_on = np.array(CONTINUE[: max(len(stages) - 1, 0)])
    depth = np.cumprod(rng.random((n, len(go_on))) < go_on, axis=1).sum(axis=1)
    stage_of_event = np.floor(rng.random(total) * (depth[who] + 1)).astype(np.int64)
    # Within a customer, events are in time order and their stages never go backwards:
    # sort each customer's stages and each customer's random times, then pair them up.
    # (``who`` is sorted, so one sort of a combined key sorts within each customer.)
    stage_of_event = np.sort(who * 64 + stage_of_event) - who * 64
    fraction = np.sort(who + rng.random(total) * 0.999) - who
    # Customers leave: each one's events end at an exponential lifetime (mean 18 months),
    # so some have lapsed by the end and churn and P(alive) have something to find.
    lifetime = rng.exponential(1.5 * 365.25 * _DAY_US, n).astype(np.int64)
    remaining = np.minimum((end64 - first_seen).astype(np.int64), lifetime)
    time = first_seen[who] + (fraction * remaining[who]).astype(np.int64).astype("timedelta64[us]")

    touchpoint = np.empty(total, dtype=np.int64)
    index_of = {tp.code: i for i, tp in enumerate(tps)}
    for k, stage in enumerate(stages):  # a small loop over stages
        mine = np.flatnonzero(stage_of_event == k)
        here = blueprint.by_stage(stage)
        weights = np.array([tp.weight + (1.0 if tp.key else 0.2) for tp in here])
        choices = np.array([index_of[tp.code] for tp in here])
        touchpoint[mine] = rng.choice(choices, size=len(mine), p=weights / weights.sum())

    channels = np.array(sorted(blueprint.channel_names), dtype=object)
    channel_of_tp = np.searchsorted(
        channels, np.array([tp.channels[0] for tp in tps], dtype=object)
    )
    outbound_tp = np.array([tp.direction.value == "outbound" for tp in tps])
    store = home_store[who]
    slipped = (store == slip_store) & (time >= slip64)
    quality = store_quality[store] - 2.0 * slipped

    purchase_tp = np.array([tp.stage is Stage.TRANSACTION for tp in tps])
    if not purchase_tp.any():
        purchase_tp = np.array([tp.stage is stages[-1] for tp in tps])
    # Seasonal buying: a third more purchases in the peak month than on average.
    month = _month_of_year(time)
    season = 1.0 + 0.33 * np.cos(2 * np.pi * (month - 11) / 12)
    is_purchase = purchase_tp[touchpoint] & (rng.random(total) < 0.55 * season)
    customer_value = rng.lognormal(0.0, 0.8, n)
    amount = np.where(
        is_purchase, np.round(rng.lognormal(5.5, 0.9, total) * customer_value[who], 2), np.nan
    )
    # Touchpoints differ clearly: each has its own level, spread over about 1.6 stars.
    tp_level = rng.permutation(np.linspace(-1.0, 0.6, len(tps)))
    dip = (time >= dip_from.astype(_US)) & (time < dip_to.astype(_US))
    mood = 0.6 * quality + tp_level[touchpoint] - 0.6 * dip
    stars = np.clip(np.round(rng.normal(4.1 + mood, 0.8)), 1, 5)
    # Touchpoints asking "would you recommend us" on a 0-10 scale (the NPS question).
    ten = np.array(
        [
            any(i.kind is IndicatorKind.RATING and (i.scale or 0) >= 10 for i in tp.indicators)
            for tp in tps
        ]
    )
    score = np.clip(np.round(rng.normal(8.3 + 2.0 * mood, 1.6)), 0, 10)
    rating = np.where(rng.random(total) < 0.4, np.where(ten[touchpoint], score, stars), np.nan)
    limit = np.array(
        [
            min(
                (i.target_seconds for i in tp.indicators if i.kind is IndicatorKind.TIME_LIMIT),
                default=np.nan,
            )
            for tp in tps
        ]
    )
    response_time = np.round(limit[touchpoint] * rng.lognormal(-0.4 - quality, 0.6, total))

    first_event = np.r_[True, who[1:] != who[:-1]]

    columns = {
        "customer": who,
        "touchpoint": touchpoint,
        "channel": channel_of_tp[touchpoint],
        "time": time,
        "direction": outbound_tp[touchpoint].astype(np.int64),
        "amount": amount,
        "rating": rating,
        "response_time": response_time,
        "outcome": np.where(is_purchase, PURCHASE, -1),
        "staff": store * staff_per_store + rng.integers(0, staff_per_store, total),
        "store": store,
        "referrer": np.where(first_event, referrer[who], -1),
        "indicator": np.full(total, -1),
    }
    # Let go of the per-event temporaries: at a million customers each is ~100 MB.
    del who, touchpoint, time, amount, rating, response_time, store, quality, slipped
    del month, season, is_purchase, dip, mood, stars, score, fraction, stage_of_event
    say("win-back experiment")
    extra, winback = _winback(
        blueprint, channel_of_tp, limit, rng, columns, ids, home_store, staff_per_store, end64
    )
    checklist = [(tp, i) for tp, i in blueprint.indicators() if i.kind is IndicatorKind.CHECKLIST]
    parts = [
        columns,
        _audits(
            checklist,
            index_of,
            channel_of_tp,
            rng,
            store_quality,
            (slip_store, slip64),
            start64,
            end64,
            n,
        ),
    ]
    parts.append(
        _follow_ups(blueprint, index_of, channel_of_tp, rng, columns, end64, (slip_store, slip64))
    )
    parts.append(extra)
    keys = list(columns)
    events: dict[str, np.ndarray] = {}
    for name in keys:  # column by column, dropping the parts' column once copied
        joined = np.concatenate([p[name] for p in parts if p])
        # codes in the smallest integer that holds them, before the sort's gather below
        events[name] = joined.astype(_NARROW[name]) if name in _NARROW else joined
        del joined
        for p in parts:
            p.pop(name, None)
    del parts, columns, extra
    order = np.argsort(events["time"], kind="stable")
    for name in keys:  # one column copy at a time
        events[name] = events[name][order]
    events["event_id"] = np.arange(1, len(order) + 1, dtype=np.int64)
    # indicator codes are unique within a touchpoint only: categories must be distinct
    indicator_names, indicator_code = np.unique(
        np.array([i.code for _, i in checklist], dtype=object), return_inverse=True
    )
    ind = events["indicator"]
    events["indicator"] = np.where(
        ind >= 0, indicator_code.astype(ind.dtype)[np.maximum(ind, 0)], ind.dtype.type(-1)
    )
    categories = {
        "customer": np.concatenate(
            [ids, np.strings.add("MS-", store_ids.astype(str)).astype(object)]
        ),
        "touchpoint": np.array([tp.code for tp in tps], dtype=object),
        "channel": channels,
        "direction": np.array(["inbound", "outbound"], dtype=object),
        "outcome": _OUTCOMES,
        "staff": staff_ids,
        "store": store_ids,
        "referrer": ids,
        "indicator": indicator_names,
    }
    frame = EventFrame(events, categories)

    say("customers' details and consent")
    mine = (events["outcome"] == PURCHASE) & (events["customer"] < n)
    bought_at = events["time"][mine].view(np.int64)
    buyer = events["customer"][mine]
    nat = np.iinfo(np.int64).min  # NaT as int64
    first_purchase = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_purchase, buyer, bought_at)
    first_purchase[first_purchase == np.iinfo(np.int64).max] = nat
    last_purchase = np.full(n, nat)
    np.maximum.at(last_purchase, buyer, bought_at)
    customers_cols = _customers(
        rng,
        ids,
        first_seen,
        first_purchase.view(_US),
        np.where(referrer >= 0, ids[referrer], _NONE),
        store_ids[home_store],
    )
    customers_cols["last_purchase"] = last_purchase.view(_US).astype("datetime64[D]")
    customers_cols.update(_current_stages(blueprint, events, n))
    consents = _consents(rng, ids, first_seen, blueprint)
    say("complaints and promises")
    complaints, promises = _complaints_and_promises(
        rng, ids, first_seen, end64, store_quality[home_store]
    )
    story = {
        "slip_store": str(store_ids[slip_store]),
        "slip_from": slip_from.astype("datetime64[D]").item(),
        "dip_from": dip_from.astype("datetime64[D]").item(),
        "dip_to": dip_to.astype("datetime64[D]").item(),
        "winback": winback,
    }
    return SyntheticBase(blueprint, customers_cols, consents, frame, complaints, promises, story)


def _current_stages(
    blueprint: Blueprint, events: dict[str, np.ndarray], n: int
) -> dict[str, np.ndarray]:
    """Each customer's current stage (customer view: the furthest stage any of their events
    reached) and the day they entered it (their first event in that stage)."""
    order = {s: i for i, s in enumerate(Stage)}
    rank_of_tp = np.array([order[tp.stage] for tp in blueprint.touchpoints])
    mine = events["customer"] < n  # not the stores' mystery shoppers
    cust, rank = events["customer"][mine], rank_of_tp[events["touchpoint"][mine]]
    t = events["time"][mine].view(np.int64)
    furthest = np.full(n, -1)
    np.maximum.at(furthest, cust, rank)
    entered = np.full(n, np.iinfo(np.int64).max)
    there = rank == furthest[cust]
    np.minimum.at(entered, cust[there], t[there])
    names = np.array([s.value for s in Stage] + [None], dtype=object)
    none = furthest < 0
    day = entered.view("datetime64[us]").astype("datetime64[D]")
    day[none] = np.datetime64("NaT")
    return {"stage": names[np.where(none, -1, furthest)], "stage_entered": day}


def _audits(
    checklist: list[tuple[Touchpoint, ControlIndicator]],
    index_of: dict[str, int],
    channel_of_tp: np.ndarray,
    rng: np.random.Generator,
    store_quality: np.ndarray,
    slip: tuple[int, np.datetime64],
    start64: np.datetime64,
    end64: np.datetime64,
    shoppers_from: int,
) -> dict[str, np.ndarray]:
    """Monthly mystery-shopper audits per store: one record per checklist item, pass or fail."""
    if not checklist:
        return {}
    stores = len(store_quality)
    months = max(int((end64 - start64).astype(np.int64) / (30.44 * _DAY_US)), 1)
    visit_store = np.repeat(np.arange(stores), months)
    month_start = (np.tile(np.arange(months), stores) * 30.44 * _DAY_US).astype(np.int64)
    visit_time = start64 + (month_start + rng.random(stores * months) * 20 * _DAY_US).astype(
        np.int64
    ).astype("timedelta64[us]")
    items = len(checklist)
    store = np.repeat(visit_store, items)
    item = np.tile(np.arange(items), len(visit_store))
    when = np.repeat(visit_time, items)
    q = store_quality[store] - 2.0 * ((store == slip[0]) & (when >= slip[1]))
    passed = rng.random(len(store)) < 1 / (1 + np.exp(-(2.0 + 1.5 * q)))
    tp_of_item = np.array([index_of[tp.code] for tp, _ in checklist])
    total = len(store)
    return {
        "customer": shoppers_from + store,  # the mystery shopper of each store
        "touchpoint": tp_of_item[item],
        "channel": channel_of_tp[tp_of_item[item]],
        "time": when,
        "direction": np.zeros(total, dtype=np.int64),
        "amount": np.full(total, np.nan),
        "rating": np.full(total, np.nan),
        "response_time": np.full(total, np.nan),
        "outcome": np.where(passed, PASS, FAIL),
        "staff": np.full(total, -1),
        "store": store,
        "referrer": np.full(total, -1),
        "indicator": item,
    }


def _follow_ups(
    blueprint: Blueprint,
    index_of: dict[str, int],
    channel_of_tp: np.ndarray,
    rng: np.random.Generator,
    events: dict[str, np.ndarray],
    end64: np.datetime64,
    slip: tuple[int, np.datetime64],
) -> dict[str, np.ndarray]:
    """Follow-up contacts for count indicators (the calls after a letter), some missed
    (more of them at the slipping store ``slip[0]`` from ``slip[1]``)."""
    parts: list[dict[str, np.ndarray]] = []
    for tp, ind in blueprint.indicators():
        if ind.kind is not IndicatorKind.COUNT or ind.within is None:
            continue
        counted = index_of[ind.counts[0] if ind.counts else tp.code]
        trigger = np.flatnonzero(events["touchpoint"] == index_of[tp.code])
        worse = (events["time"][trigger] >= slip[1]) & (events["store"][trigger] == slip[0])
        made = rng.binomial(int(max(ind.target, 1)), np.where(worse, 0.45, 0.85))
        idx = np.repeat(trigger, made)
        window_us = ind.within.total_seconds() * 0.95e6
        delay = (rng.random(len(idx)) * window_us).astype(np.int64).astype("timedelta64[us]")
        happened = events["time"][idx] + delay <= end64  # calls after the end have not happened yet
        idx, delay = idx[happened], delay[happened]
        k = len(idx)
        parts.append(
            {
                "customer": events["customer"][idx],
                "touchpoint": np.full(k, counted),
                "channel": np.full(k, channel_of_tp[counted]),
                "time": events["time"][idx] + delay,
                "direction": np.ones(k, dtype=np.int64),
                "amount": np.full(k, np.nan),
                "rating": np.full(k, np.nan),
                "response_time": np.full(k, np.nan),
                "outcome": np.full(k, -1),
                "staff": events["staff"][idx],
                "store": events["store"][idx],
                "referrer": np.full(k, -1),
                "indicator": np.full(k, -1),
            }
        )
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}


def _winback_touchpoints(blueprint: Blueprint) -> tuple[int, int]:
    """(the win-back contact's touchpoint, the repurchase's touchpoint) as indexes.

    The contact: an outbound touchpoint of the last stage (else its first touchpoint).
    The repurchase: a purchase touchpoint that opens no count-indicator case.
    """
    tps = blueprint.touchpoints
    stages = [s for s in Stage if s in blueprint.stages and blueprint.by_stage(s)]
    last = [i for i, tp in enumerate(tps) if tp.stage is stages[-1]]
    out = [i for i in last if tps[i].direction.value == "outbound"]
    buy = [i for i, tp in enumerate(tps) if tp.stage is Stage.TRANSACTION] or last
    plain = [i for i in buy if not any(x.kind is IndicatorKind.COUNT for x in tps[i].indicators)]
    return (out or last)[0], (plain or buy)[0]


def _winback(
    blueprint: Blueprint,
    channel_of_tp: np.ndarray,
    limit: np.ndarray,
    rng: np.random.Generator,
    columns: dict[str, np.ndarray],
    ids: np.ndarray,
    home_store: np.ndarray,
    staff_per_store: int,
    end64: np.datetime64,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    # Changes ``columns`` in place (purchases of the quarter) and returns the events to
    # add (the contacts and the drawn repurchases) with the experiment's description.
    """The win-back care rule's experiment, with a known true effect.

    The rule contacts a customer `WINBACK_DAYS` after their last purchase. Customers
    it reached before ``start`` (120 days before the end; lapsed customers who have not
    bought since) are the experiment; `touchpoint.experiments.holdout` holds out `WINBACK_SHARE` of them
    (salt `WINBACK_SALT`), who get no contact. In the quarter ``[start, start + 90
    days)`` each customer of the experiment buys with chance `WINBACK_BASELINE`, plus
    `WINBACK_EFFECT` if contacted (their other purchases in that quarter are replaced by
    this draw): the true lift on repurchase is `WINBACK_EFFECT`.
    """
    from touchpoint.experiments import holdout

    n = len(ids)
    day = np.timedelta64(_DAY_US, "us")
    start = (end64 - 120 * day).astype("datetime64[D]").astype(_US)
    stop = start + 90 * day
    t, who = columns["time"], columns["customer"]
    bought = columns["outcome"] == PURCHASE
    before = bought & (t < start)
    never = np.iinfo(np.int64).min
    last = np.full(n, never)
    np.maximum.at(last, who[before], t[before].view(np.int64))
    fire = last + WINBACK_DAYS * _DAY_US
    eligible = (last > never) & (fire < start.view(np.int64))
    people = np.flatnonzero(eligible)
    held = (
        holdout(ids[people], share=WINBACK_SHARE, salt=WINBACK_SALT)
        if len(people)
        else np.zeros(0, dtype=bool)
    )
    # Their own purchases in the quarter become visits: the draw below replaces them.
    mine = bought & eligible[who] & (t >= start) & (t < stop)
    columns["outcome"][mine] = -1  # in place: the caller's columns
    columns["amount"][mine] = np.nan
    contact_tp, buy_tp = _winback_touchpoints(blueprint)
    treated = people[~held]
    buys = people[rng.random(len(people)) < WINBACK_BASELINE + WINBACK_EFFECT * ~held]
    span = (stop - start).astype(np.int64)
    whom = np.concatenate([treated, buys])
    k, m = len(treated), len(buys)
    at = np.concatenate(
        [
            fire[treated].view(_US),
            start + (rng.random(m) * span).astype(np.int64).astype("timedelta64[us]"),
        ]
    )
    tp = np.concatenate([np.full(k, contact_tp), np.full(m, buy_tp)])
    store = home_store[whom]
    extra = {
        "customer": whom,
        "touchpoint": tp,
        "channel": channel_of_tp[tp],
        "time": at,
        "direction": np.r_[np.ones(k, dtype=np.int64), np.zeros(m, dtype=np.int64)],
        "amount": np.r_[np.full(k, np.nan), np.round(rng.lognormal(5.5, 0.9, m), 2)],
        "rating": np.full(k + m, np.nan),
        "response_time": np.round(limit[tp] * rng.lognormal(-0.4, 0.6, k + m)),
        "outcome": np.r_[np.full(k, -1), np.full(m, PURCHASE)],
        "staff": store * staff_per_store + rng.integers(0, staff_per_store, k + m),
        "store": store,
        "referrer": np.full(k + m, -1),
        "indicator": np.full(k + m, -1),
    }
    story = {
        "rule": "win-back",
        "days": WINBACK_DAYS,
        "touchpoint": blueprint.touchpoints[contact_tp].code,
        "salt": WINBACK_SALT,
        "share": WINBACK_SHARE,
        "customers": ids[people],
        "held_out": held,
        "start": start.astype("datetime64[D]").item(),
        "end": stop.astype("datetime64[D]").item(),
        "baseline": WINBACK_BASELINE,
        "effect": WINBACK_EFFECT,
    }
    return extra, story


def _customers(
    rng: np.random.Generator,
    ids: np.ndarray,
    first_seen: np.ndarray,
    first_purchase: np.ndarray,
    referrer: np.ndarray,
    store: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(ids)
    day = "datetime64[D]"
    numbers = np.arange(1, n + 1).astype(str).astype(np.dtypes.StringDType())
    purchase = first_purchase.astype(day)
    move_in = purchase + rng.integers(20, 60, n).astype("timedelta64[D]")
    return {
        "customer": ids,
        "name": np.strings.add("Customer ", numbers).astype(object),
        "email": np.strings.add(np.strings.add("customer", numbers), "@example.com").astype(object),
        "phone": np.strings.add("+86 138 ", np.strings.zfill(numbers, 8)).astype(object),
        "timezone": rng.choice(_ZONES, n),
        "birthday": (np.datetime64("1955-01-01") + rng.integers(0, 365 * 50, n)).astype(day),
        "signup": first_seen.astype(day),
        "purchase": purchase,
        "move_in": move_in,
        "warranty_end": move_in + np.timedelta64(730, "D"),
        "child_birth": np.where(
            rng.random(n) < 0.1,
            first_seen.astype(day) + rng.integers(0, 300, n).astype("timedelta64[D]"),
            np.datetime64("NaT"),
        ).astype(day),
        "segment": rng.choice(
            np.array(["retail", "business", "vip"], dtype=object), n, p=[0.8, 0.15, 0.05]
        ),
        "store": store,
        "preferred_channel": rng.choice(
            np.array(["sms", "email", "phone", None], dtype=object), n, p=[0.4, 0.3, 0.2, 0.1]
        ),
        "do_not_contact": rng.random(n) < 0.02,
        "referrer": referrer,
    }


def _consents(
    rng: np.random.Generator, ids: np.ndarray, first_seen: np.ndarray, blueprint: Blueprint
) -> dict[str, np.ndarray]:
    used = {
        ch for r in blueprint.care_rules for ch in (*r.channels, *(f.channel for f in r.follow_ups))
    }
    channels = np.array(sorted({"sms", "email", "phone", *used}), dtype=object)
    n, m = len(ids), len(channels)
    who = np.repeat(np.arange(n), m * 2)
    purpose = np.tile(np.array(["service", "marketing"], dtype=object), n * m)
    return {
        "customer": ids[who],
        "channel": np.tile(np.repeat(channels, 2), n),
        "purpose": purpose,
        "granted": rng.random(len(who)) < np.where(purpose == "service", 0.85, 0.45),
        "time": first_seen[who],
    }


def _complaints_and_promises(
    rng: np.random.Generator,
    ids: np.ndarray,
    first_seen: np.ndarray,
    end64: np.datetime64,
    quality: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    n = len(ids)
    c = np.flatnonzero(rng.random(n) < 0.06)
    opened = _after(first_seen[c], end64, rng)
    answered = opened + (rng.lognormal(2.5 - quality[c], 1.0) * _HOUR).astype("timedelta64[us]")
    answered = np.where(
        (rng.random(len(c)) < 0.9) & (answered <= end64), answered, np.datetime64("NaT")
    )
    resolved = answered + (rng.lognormal(3.5 - quality[c], 1.0) * _HOUR).astype("timedelta64[us]")
    resolved = np.where(
        (rng.random(len(c)) < 0.8) & (resolved <= end64), resolved, np.datetime64("NaT")
    )
    complaints = {
        "id": _ids("K", np.arange(1, len(c) + 1)),
        "customer": ids[c],
        "type": rng.choice(
            np.array(["service", "product", "price", "delivery", "attitude"], dtype=object), len(c)
        ),
        "opened_at": opened,
        "first_response_at": answered.astype(_US),
        "resolved_at": resolved.astype(_US),
    }
    p = np.flatnonzero(rng.random(n) < 0.1)
    made = _after(first_seen[p], end64, rng)
    due = made + rng.integers(3, 30, len(p)) * 24 * _HOUR
    promises = {
        "id": _ids("P", np.arange(1, len(p) + 1)),
        "customer": ids[p],
        "made_at": made,
        "due": due,
        "value": np.round(rng.lognormal(5, 1, len(p)), 2),
        # Kept mostly on time: a promise still open past its due date is days late, a few
        # weeks at most (the exponential tail), not years.
        "status": np.where(
            (end64 - due).astype(np.int64) > rng.exponential(8.0, len(p)) * _DAY_US,
            "fulfilled",
            "open",
        ).astype(object),
    }
    return complaints, promises
