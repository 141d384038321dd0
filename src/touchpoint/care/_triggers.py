"""Care that reacts: behaviour triggers and what happened since, vectorised over events.

`triggered` finds the care rules fired by what customers did (or stopped doing) and
returns their contacts due in a window, as `touchpoint.care.agenda` does for date rules:

- ``no_purchase`` (N days): the lapse day ``p + N`` of every purchase ``p`` not followed
  by another purchase within N days (the shared purchase rule,
  `touchpoint.frame.purchase_mask`); a customer who buys again and lapses again fires
  again, on the new lapse day;
- ``first_purchase`` (N days, default 0): N days after the customer's first purchase;
- ``rating``: the day of an interaction rated at or below the threshold (on one
  touchpoint or any);
- ``complaint_opened`` / ``complaint_resolved``: the day a complaint was opened /
  resolved (`touchpoint.model.Complaint` objects, as ``Storage.complaints()`` returns
  them, or columns ``customer``, ``opened_at``, ``resolved_at``);
- ``tier_change``: the day a customer moved to a tier (columns ``customer``, ``time``,
  ``tier``);
- ``breach``: the day an indicator breach was recorded for a customer (columns
  ``customer``, ``time``, ``indicator``).

Everything is recomputed from the data on every run (no hidden state): a firing is the
pair (customer, trigger day), once per rule, with the key ``rule/customer/YYYY-MM-DD``;
its follow-ups carry that key plus their code. Re-entry (``never``, ``always`` or a wait
such as ``"90 days"``) is applied to a customer's firings in date order. The rule's own
contact is due ``offset`` after the trigger day, each follow-up its ``offset`` after
that contact; rows due in ``[since, asof]`` are returned.

`happenings` lists what customers did that flows branch and exit on (replied: an
inbound interaction that is not a purchase; purchased; complained), for
`touchpoint.care.plan_contacts`.

Loops run over rules, steps and ranks of firings within a customer (small
dimensions), never over customers or events.

Examples
--------
>>> from touchpoint.model import CareRule
>>> rule = CareRule("lapsed", "Lapsed 30 days", touchpoint="CARE", channels=["sms"],
...                 trigger={"kind": "no_purchase", "days": 30})
>>> events = {"customer": ["A", "A", "B"],
...           "time": ["2026-01-01", "2026-02-20", "2026-02-01"],
...           "outcome": ["purchase", "purchase", "purchase"]}
>>> due = triggered([rule], events, asof="2026-03-03", since="2026-01-01")
>>> due.key.tolist()
['lapsed/A/2026-01-31', 'lapsed/B/2026-03-03']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

import attrs
import numpy as np

from touchpoint.care._agenda import DueContacts, _labels, _shift
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    as_day,
    column_names,
    factorize,
    naive_utc,
    purchase_columns,
    purchase_mask,
    read_coded,
    read_columns,
)
from touchpoint.model import Blueprint, CareRule, Happening, Recurrence, TriggerKind

__all__ = ["Firings", "happenings", "triggered"]

_D = "datetime64[D]"
_US = "datetime64[us]"


@attrs.frozen(eq=False)
class Firings(DueContacts):
    """`DueContacts` of behaviour-triggered rules, with ``context``: why the rule fired.

    ``anchor`` is the trigger day. ``context`` is the material's "find the reason" step
    of a win-back (找原因): the customer's last complaint before the trigger day
    (``complaint: <type>: <cause>``), else their last rating (``rating 2 at SURVEY``),
    else ``""``.
    """

    context: np.ndarray = attrs.field(factory=lambda: np.array([], dtype=object))


def _rules(rules: Blueprint | Iterable[CareRule]) -> list[CareRule]:
    found = rules.care_rules if isinstance(rules, Blueprint) else rules
    return [r for r in found if r.trigger is not None]


def _complaint_columns(complaints: Any) -> dict[str, np.ndarray]:
    """Complaints as columns: from `Complaint` objects (one pass) or a table."""
    if complaints is None:
        return {
            "customer": np.array([], dtype=object),
            "opened_at": np.array([], dtype=_US),
            "resolved_at": np.array([], dtype=_US),
            "cause": np.array([], dtype=object),
        }
    if isinstance(complaints, list | tuple) and (
        not complaints or hasattr(complaints[0], "opened_at")
    ):
        items = list(complaints)

        return {
            "customer": np.array([c.customer for c in items], dtype=object),
            "opened_at": np.array([naive_utc(c.opened_at) for c in items], dtype=_US),
            "resolved_at": np.array([naive_utc(c.resolved_at) for c in items], dtype=_US),
            "cause": np.array(
                [f"{c.type.value}: {c.cause}" if c.cause else c.type.value for c in items],
                dtype=object,
            ),
        }
    cols = read_columns(
        complaints,
        {"customer": "customer", "opened_at": "opened_at", "resolved_at": "resolved_at"},
        required=["customer", "opened_at"],
    )
    n = len(cols["customer"])
    names = set(column_names(complaints))
    cause = (
        np.asarray(read_columns(complaints, {"c": "cause"}, required=["c"])["c"], dtype=object)
        if "cause" in names
        else np.full(n, "", dtype=object)
    )
    return {
        "customer": np.asarray(cols["customer"], dtype=object),
        "opened_at": np.asarray(cols["opened_at"]).astype(_US),
        "resolved_at": np.asarray(cols.get("resolved_at", np.full(n, "NaT", _US))).astype(_US),
        "cause": cause,
    }


def _events(
    data: Any, extra: dict[str, str], *, label: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    if data is None:
        raise ValidationError([Problem(label, "is needed by a care rule's trigger")])
    names: dict[str, str | None] = {"customer": "customer", "time": "time", **extra}
    return read_coded(data, names, required=list(names), categorical=("customer",))


class _Interactions:
    """The interactions, read once: customer codes, days, purchases, ratings, direction."""

    def __init__(
        self,
        data: Any,
        *,
        customer: str,
        time: str,
        outcome: str,
        purchases: Collection[str] | None,
        rating: str,
        touchpoint: str,
        direction: str,
    ) -> None:
        names: dict[str, str | None] = {"customer": customer, "time": time}
        names.update(purchase_columns(data, outcome=outcome, purchases=purchases))
        present = set(column_names(data))
        for key, col in (
            ("amount", "amount"),
            ("rating", rating),
            ("touchpoint", touchpoint),
            ("direction", direction),
        ):
            if col in present:
                names[key] = col
        cols, cats = read_coded(
            data,
            names,
            required=("customer", "time"),
            categorical=("customer", "outcome", "touchpoint", "direction"),
        )
        self.ids = np.asarray(cats["customer"], dtype=object)
        self.who = cols["customer"]
        self.time = np.asarray(cols["time"]).astype(_US)
        self.day = self.time.astype(_D)
        bought = purchase_mask(cols, cats, purchases)
        self.bought = np.ones(len(self.who), bool) if bought is None else bought
        self.rating = np.asarray(cols["rating"], float) if "rating" in cols else None
        self.touchpoint = (
            np.concatenate(
                (np.array([None], dtype=object), np.asarray(cats["touchpoint"], dtype=object))
            )[cols["touchpoint"] + 1]
            if "touchpoint" in cols
            else None
        )
        self.inbound = (
            np.concatenate(([False], np.asarray(cats["direction"]).astype(str) == "inbound"))[
                cols["direction"] + 1
            ]
            if "direction" in cols
            else np.zeros(len(self.who), bool)
        )


def _firings_of(
    rule: CareRule,
    events: _Interactions | None,
    complaints: dict[str, np.ndarray],
    tier_changes: Any,
    breaches: Any,
    asof: np.datetime64,
) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, trigger days) of every firing of ``rule`` up to ``asof``, unsorted."""
    trigger = rule.trigger
    assert trigger is not None
    kind = trigger.kind
    if kind in (TriggerKind.NO_PURCHASE, TriggerKind.FIRST_PURCHASE, TriggerKind.RATING):
        if events is None:
            raise ValidationError(
                [Problem("interactions", f"care rule {rule.code!r} ({kind.value}) needs them")]
            )
        if kind is TriggerKind.RATING:
            if events.rating is None:
                raise ValidationError(
                    [Problem("rating", f"care rule {rule.code!r} needs a rating column")]
                )
            with np.errstate(invalid="ignore"):
                hit = events.rating <= float(trigger.at_or_below or 0)
            if trigger.touchpoint is not None:
                tps = events.touchpoint
                hit &= (tps == trigger.touchpoint) if tps is not None else False
            return events.ids[events.who[hit]], events.day[hit]
        rows = np.flatnonzero(events.bought & (events.day <= asof))
        who, day = events.who[rows], events.day[rows]
        # one row per customer and purchase day, sorted by customer then day
        if not len(who):
            return events.ids[who], day
        order = np.lexsort((day, who))
        who, day = who[order], day[order]
        keep = np.r_[True, (who[1:] != who[:-1]) | (day[1:] != day[:-1])]
        who, day = who[keep], day[keep]
        first = np.r_[True, who[1:] != who[:-1]] if len(who) else np.array([], bool)
        wait = np.timedelta64(int(trigger.days or 0), "D")
        if kind is TriggerKind.FIRST_PURCHASE:
            return events.ids[who[first]], day[first] + wait
        last = np.r_[who[1:] != who[:-1], True] if len(who) else np.array([], bool)
        following = np.r_[day[1:], np.datetime64("NaT", "D")] if len(day) else day
        lapse = day + wait
        # lapsed: no purchase in (p, p + N]; the last purchase lapses if p + N <= asof
        fired = np.where(last, True, following > lapse)
        return events.ids[who[fired]], lapse[fired]
    if kind in (TriggerKind.COMPLAINT_OPENED, TriggerKind.COMPLAINT_RESOLVED):
        at = complaints["opened_at" if kind is TriggerKind.COMPLAINT_OPENED else "resolved_at"]
        ok = ~np.isnat(at)
        return complaints["customer"][ok], at[ok].astype(_D)
    if kind is TriggerKind.TIER_CHANGE:
        cols, cats = _events(tier_changes, {"tier": "tier"}, label="tier_changes")
        hit = np.ones(len(cols["customer"]), bool)
        if trigger.tiers:
            hit &= np.isin(np.asarray(cols["tier"]).astype(str), list(trigger.tiers))
    else:
        cols, cats = _events(breaches, {"indicator": "indicator"}, label="breaches")
        hit = np.ones(len(cols["customer"]), bool)
        if trigger.indicator is not None:
            hit &= np.asarray(cols["indicator"]).astype(str) == trigger.indicator
    ids = np.asarray(cats["customer"], dtype=object)[cols["customer"][hit]]
    return ids, np.asarray(cols["time"])[hit].astype(_D)


def _reenter(rule: CareRule, who: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Which firings (sorted by customer, day; distinct) the re-entry rule lets in."""
    if not len(who):
        return np.zeros(0, bool)
    new: np.ndarray = np.r_[True, who[1:] != who[:-1]]
    if rule.reentry in (None, "never"):
        return new
    if rule.reentry == "always":
        return np.ones(len(who), bool)
    wait = rule.reentry_wait
    assert wait is not None
    starts = np.flatnonzero(new)
    rank = np.arange(len(who)) - np.repeat(starts, np.diff(np.r_[starts, len(who)]))
    group = np.cumsum(new) - 1
    last = np.full(len(starts), np.datetime64("NaT", "D"))
    keep = np.zeros(len(who), bool)
    for r in range(int(rank.max()) + 1):  # a loop over ranks within a customer (a handful)
        at = np.flatnonzero(rank == r)
        g = group[at]
        prior = last[g]
        ok = np.isnat(prior) | (day[at] >= _shift(prior, wait))
        keep[at[ok]] = True
        last[g[ok]] = day[at[ok]]
    return keep


def _last_before(
    who: np.ndarray, limit: np.ndarray, ids: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Index into (``ids``, ``times``) of each query's customer's last event before ``limit``
    (-1: none), by one sort and one binary search on (customer, time rank) keys."""
    if not len(ids):
        return np.full(len(who), -1, dtype=np.int64)
    codes, _ = factorize(np.concatenate([who.astype(str), ids.astype(str)]), sort=True)
    mine, theirs = codes[: len(who)].astype(np.int64), codes[len(who) :].astype(np.int64)
    ranks = np.unique(np.concatenate([times, limit]), return_inverse=True)[1].astype(np.int64)
    span = np.int64(len(ranks) + 1)
    keys = theirs * span + ranks[: len(times)]
    order = np.argsort(keys, kind="stable")
    q = mine * span + ranks[len(times) :]
    pos = np.searchsorted(keys[order], q, side="left") - 1
    ok = pos >= 0
    ok[ok] = theirs[order][pos[ok]] == mine[ok]
    return np.where(ok, order[np.maximum(pos, 0)], -1)


def _context(
    who: np.ndarray,
    day: np.ndarray,
    events: _Interactions | None,
    complaints: dict[str, np.ndarray],
) -> np.ndarray:
    """The last complaint (else the last rating) of each firing's customer before its day."""
    out = np.full(len(who), "", dtype=object)
    if not len(who):
        return out
    limit = (day + np.timedelta64(1, "D")).astype(_US)  # events of the trigger day count
    text = np.dtypes.StringDType()
    if events is not None and events.rating is not None:
        rated = np.flatnonzero(~np.isnan(events.rating))
        at = _last_before(who, limit, events.ids[events.who[rated]], events.time[rated])
        hit = np.flatnonzero(at >= 0)
        rows = rated[at[hit]]
        label = np.strings.mod("rating %g", events.rating[rows]).astype(text)
        if events.touchpoint is not None:
            tp = events.touchpoint[rows]
            named = tp != None  # noqa: E711 - elementwise over an object array
            label[named] = np.strings.add(
                np.strings.add(label[named], " at "), tp[named].astype(str).astype(text)
            )
        out[hit] = label.astype(object)
    if len(complaints["customer"]):
        ok = np.flatnonzero(~np.isnat(complaints["opened_at"]))
        at = _last_before(who, limit, complaints["customer"][ok], complaints["opened_at"][ok])
        hit = np.flatnonzero(at >= 0)
        cause = complaints["cause"][ok[at[hit]]].astype(str).astype(text)
        out[hit] = np.strings.add("complaint: ", cause).astype(object)
    return out


def _eligibility(rules: list[CareRule], customers: Any, customer: str) -> dict[str, np.ndarray]:
    """The ids of the customers each restricted rule may fire for (by segment, tier, stage)."""
    restricted = [r for r in rules if r.segments or r.tiers or r.stages]
    if not restricted:
        return {}
    if customers is None:
        raise ValidationError(
            [
                Problem(
                    "customers",
                    f"care rule {restricted[0].code!r} is restricted to some segments, tiers "
                    "or stages: pass the customers table with those columns",
                )
            ]
        )
    names: dict[str, str | None] = {"customer": customer}
    for field, column in (("segments", "segment"), ("tiers", "tier"), ("stages", "stage")):
        if any(getattr(r, field) for r in restricted):
            names[field] = column
    cols = read_columns(customers, names, required=list(names))
    ids = np.asarray(cols["customer"]).astype(str)
    out = {}
    for rule in restricted:  # a loop over rules
        ok = np.ones(len(ids), bool)
        for field in ("segments", "tiers", "stages"):
            allowed = getattr(rule, field)
            if allowed:
                ok &= np.isin(np.asarray(cols[field]).astype(str), list(allowed))
        out[rule.code] = ids[ok]
    return out


def triggered(
    rules: Blueprint | Iterable[CareRule],
    interactions: Any = None,
    *,
    asof: dt.date | str | np.datetime64,
    since: dt.date | str | np.datetime64 | None = None,
    complaints: Any = None,
    tier_changes: Any = None,
    breaches: Any = None,
    customers: Any = None,
    customer: str = "customer",
    time: str = "time",
    outcome: str = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    rating: str = "rating",
    touchpoint: str = "touchpoint",
    direction: str = "direction",
) -> Firings:
    """Contacts of behaviour-triggered care rules due from ``since`` to ``asof`` (see module).

    Parameters
    ----------
    rules:
        A `Blueprint` or care rules; rules without a ``trigger`` are left to `agenda`.
    interactions:
        The events (``customer``, ``time``; ``outcome`` and ``amount`` for the purchase
        rule, ``rating``, ``touchpoint``, ``direction``): an `EventFrame`, a pandas or
        polars DataFrame, an Arrow table or a dict of columns.
    asof, since:
        The last and first day of the window (``since`` defaults to ``asof``).
    complaints, tier_changes, breaches:
        The events of the complaint, tier and breach triggers (see the module docs).
    customers:
        One row per customer with ``customer`` and the ``segment`` / ``tier`` /
        ``stage`` columns, for rules restricted to some of those (as `agenda` reads
        them); required when a trigger rule has such a restriction.
    customer, time, outcome, purchases, rating, touchpoint, direction:
        Column names and the purchase labels (`touchpoint.frame.purchase_mask`).

    Returns
    -------
    Firings
        One row per due contact, sorted by due day, rule, customer, step; ``anchor`` is
        the trigger day and ``context`` the reason found for it.
    """
    chosen = _rules(rules)
    end = as_day(asof, name="asof")
    start = end if since is None else as_day(since, name="since")
    if start > end:
        raise ValidationError([Problem("since", f"is after asof ({end})", str(start))])
    events = (
        _Interactions(
            interactions,
            customer=customer,
            time=time,
            outcome=outcome,
            purchases=purchases,
            rating=rating,
            touchpoint=touchpoint,
            direction=direction,
        )
        if interactions is not None
        else None
    )
    plaints = _complaint_columns(complaints)
    groups = _eligibility(chosen, customers, customer)
    parts: list[tuple[np.ndarray, ...]] = []
    for rule in chosen:  # a loop over rules
        ids, day = _firings_of(rule, events, plaints, tier_changes, breaches, end)
        ids = np.asarray(ids).astype(str)
        keep = ~np.isnat(day) & (day <= end)
        if rule.code in groups:  # only the customers in the rule's segments, tiers, stages
            keep &= np.isin(ids, groups[rule.code])
        ids, day = ids[keep], day[keep]
        order = np.lexsort((day, ids))
        ids, day = ids[order], day[order]
        distinct = (
            np.r_[True, (ids[1:] != ids[:-1]) | (day[1:] != day[:-1])] if len(ids) else keep[:0]
        )
        ids, day = ids[distinct], day[distinct]
        entered = _reenter(rule, ids, day)
        ids, day = ids[entered], day[entered]
        own = _shift(day, rule.offset)
        steps = [("", own)] + [(f.code, _shift(own, f.offset)) for f in rule.follow_ups]
        for step, due in steps:  # the rule's contact and its follow-ups
            now = (due >= start) & (due <= end)
            if now.any():
                parts.append(
                    (
                        ids[now].astype(object),
                        np.full(int(now.sum()), rule.code, dtype=object),
                        np.full(int(now.sum()), step, dtype=object),
                        day[now],
                        due[now],
                    )
                )
    if not parts:
        empty = np.array([], dtype=object)
        days = np.array([], dtype=_D)
        return Firings(
            empty, empty, empty, np.array([], dtype=np.int64), days, days, empty, empty.copy()
        )
    who, codes, steps_, anchor, due = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((steps_, who, codes, due))
    who, codes, steps_, anchor, due = (a[order] for a in (who, codes, steps_, anchor, due))
    text = np.dtypes.StringDType()
    key = np.strings.add(np.strings.add(codes.astype(text), "/"), who.astype(str).astype(text))
    key = np.strings.add(np.strings.add(key, "/"), _labels(Recurrence.NONE, anchor))
    follow = steps_ != ""
    key[follow] = np.strings.add(np.strings.add(key[follow], "/"), steps_[follow].astype(text))
    return Firings(
        who,
        codes,
        steps_,
        np.zeros(len(who), dtype=np.int64),
        anchor,
        due,
        key.astype(object),
        _context(who, anchor, events, plaints),
    )


def happenings(
    interactions: Any = None,
    *,
    complaints: Any = None,
    customer: str = "customer",
    time: str = "time",
    outcome: str = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    direction: str = "direction",
) -> dict[str, np.ndarray]:
    """What customers did that flows branch and exit on: ``customer``, ``time``, ``kind``.

    ``purchased``: a purchase by the shared rule; ``replied``: an inbound interaction
    that is not a purchase; ``complained``: a complaint opened. Pass the result as
    ``happenings=`` to `touchpoint.care.plan_contacts`.

    >>> h = happenings({"customer": ["A", "B"], "time": ["2026-03-01", "2026-03-02"],
    ...                 "outcome": ["purchase", None], "direction": ["inbound", "inbound"]})
    >>> h["kind"].tolist()
    ['purchased', 'replied']
    """
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if interactions is not None:
        ev = _Interactions(
            interactions,
            customer=customer,
            time=time,
            outcome=outcome,
            purchases=purchases,
            rating="rating",
            touchpoint="touchpoint",
            direction=direction,
        )
        kind = np.where(ev.bought, Happening.PURCHASED.value, "")
        kind = np.where(~ev.bought & ev.inbound, Happening.REPLIED.value, kind).astype(object)
        keep = kind != ""
        parts.append((ev.ids[ev.who[keep]], ev.time[keep], kind[keep]))
    plaints = _complaint_columns(complaints)
    ok = ~np.isnat(plaints["opened_at"])
    parts.append(
        (
            plaints["customer"][ok],
            plaints["opened_at"][ok],
            np.full(int(ok.sum()), Happening.COMPLAINED.value, dtype=object),
        )
    )
    who, when, kind = (np.concatenate(c) for c in zip(*parts, strict=True))
    return {
        "customer": np.asarray(who, dtype=object),
        "time": np.asarray(when).astype(_US),
        "kind": np.asarray(kind, dtype=object),
    }
