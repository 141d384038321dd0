"""The contact policy: consent, channel preference, do-not-contact, quiet hours, caps.

`plan_contacts` takes the due contacts of the agenda and decides, for each, whether and
when it may go out and through which channel, with the reason whenever it may not:

1. **Do not contact** blocks everything for that customer.
2. **Channel and consent**: the customer's preferred channel first (when the rule allows
   it), then the rule's channels in order; the first with a granted consent for the
   rule's purpose (service and marketing differ; the latest consent record wins) is
   chosen. With none, the contact is blocked: "no marketing consent on sms, email".
3. **Frequency caps**: at most ``limit`` contacts per customer within ``window``, per
   channel or overall, counting the contact history and the contacts planned in the same
   run. What happens to a contact over a cap is the rule's declared choice (``on_cap``):
   ``drop`` (blocked, with the reason), ``defer`` (to the moment the oldest counted
   contact leaves the window) or ``exempt`` (sent anyway, e.g. a service notice; it still
   counts).
4. **Quiet hours** in the customer's own time zone (IANA names, through `zoneinfo`, so
   correct across daylight-saving changes): a contact that would go out in quiet hours
   is deferred to their end, local time.

Everything is computed over columns: loops run over rules, channels, caps and time
zones (small dimensions), never over customers or contacts.

Examples
--------
>>> import datetime as dt
>>> from touchpoint.model import CareRule
>>> from touchpoint.care import agenda
>>> rule = CareRule("bday", "Birthday", touchpoint="T", anchor="birthday",
...                 recurrence="yearly", channels=["sms", "email"], purpose="marketing")
>>> customers = {"customer": ["C1", "C2"], "timezone": ["Asia/Shanghai", "UTC"],
...              "birthday": np.array(["1990-05-05", "1991-05-05"], dtype="datetime64[D]")}
>>> consents = {"customer": ["C1", "C2"], "channel": ["email", "sms"],
...             "purpose": ["marketing", "service"], "granted": [True, True]}
>>> due = agenda([rule], customers, on="2026-05-05")
>>> plan = plan_contacts(due, [rule], customers=customers, consents=consents,
...                      now=dt.datetime(2026, 5, 5, 2, 0, tzinfo=dt.UTC))
>>> plan.status.tolist(), plan.channel.tolist()
(['send', 'blocked'], ['email', None])
>>> plan.reason.tolist()
['', 'no marketing consent on sms, email']
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from touchpoint.care.agenda import DueContacts
from touchpoint.errors import Problem, ValidationError
from touchpoint.model.blueprint import Blueprint
from touchpoint.model.care import CapAction, CareRule
from touchpoint.model.duration import parse_timedelta
from touchpoint.model.interaction import as_utc

__all__ = ["ContactPlan", "ContactPolicy", "FrequencyCap", "QuietHours", "plan_contacts"]

_US = "datetime64[us]"
SEND, DEFERRED, BLOCKED = "send", "deferred", "blocked"


def _clock(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise ValidationError([Problem("quiet_hours", "times read like '21:00'", value)]) from None


@attrs.frozen
class QuietHours:
    """Local hours in which no contact goes out; ``start > end`` wraps midnight (21:00-08:00)."""

    start: dt.time = attrs.field(default="21:00", converter=_clock)
    end: dt.time = attrs.field(default="08:00", converter=_clock)

    def is_quiet(self, local: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, local: dt.datetime) -> dt.datetime:
        """The end of the quiet period ``local`` falls in (aware, in the same zone)."""
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, self.end, tzinfo=local.tzinfo)


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` contacts per customer within ``window`` (on ``channel``, or overall)."""

    limit: int
    window: dt.timedelta = attrs.field(converter=parse_timedelta)
    channel: str | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValidationError([Problem("limit", "a cap allows at least 1 contact", self.limit)])

    def describe(self) -> str:
        from touchpoint.model.duration import format_timedelta

        on = f" on {self.channel}" if self.channel else ""
        return f"over the cap of {self.limit} per {format_timedelta(self.window)}{on}"


@attrs.frozen
class ContactPolicy:
    """Quiet hours (None: none) and frequency caps applied to every planned contact."""

    quiet_hours: QuietHours | None = attrs.field(factory=QuietHours)
    caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(eq=False)
class ContactPlan:
    """One row per due contact: the decision, the channel and when it may be sent.

    ``status`` is ``send`` (at ``send_at``, which is ``now``), ``deferred`` (at a later
    ``send_at``) or ``blocked`` (never; ``reason`` says why). ``send_at`` is UTC.
    """

    customer: np.ndarray
    rule: np.ndarray
    step: np.ndarray
    key: np.ndarray
    channel: np.ndarray
    status: np.ndarray
    send_at: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}


def _rules(rules: Blueprint | Iterable[CareRule]) -> dict[str, CareRule]:
    return {r.code: r for r in (rules.care_rules if isinstance(rules, Blueprint) else rules)}


def _index(ids: np.ndarray, wanted: np.ndarray, label: str, *, strict: bool) -> np.ndarray:
    """Row of each ``wanted`` id in ``ids`` (-1 if absent; an error if ``strict``)."""
    ids = np.asarray(ids).astype(str)
    wanted = np.asarray(wanted).astype(str)
    order = np.argsort(ids, kind="stable")
    pos = np.clip(np.searchsorted(ids[order], wanted), 0, max(len(ids) - 1, 0))
    found = (
        (len(ids) > 0) & (ids[order][pos] == wanted) if len(ids) else np.zeros(len(wanted), bool)
    )
    if strict and not found.all():
        raise ValidationError(
            [Problem(label, "is not in the customers table", str(wanted[~found][0]))]
        )
    return np.where(found, order[pos], -1)


def plan_contacts(
    due: DueContacts,
    rules: Blueprint | Iterable[CareRule],
    *,
    customers: Any,
    consents: Any,
    now: dt.datetime,
    history: Any = None,
    policy: ContactPolicy | None = None,
    customer: str = "customer",
    timezone: str = "timezone",
    do_not_contact: str = "do_not_contact",
    preferred_channel: str = "preferred_channel",
) -> ContactPlan:
    """Decide channel, time and status of each due contact (see the module docs).

    Parameters
    ----------
    due:
        The agenda (`touchpoint.care.agenda`).
    rules:
        The care rules (or their `Blueprint`) the agenda came from.
    customers:
        One row per customer: ``customer`` and ``timezone`` (IANA name) columns, and
        optionally ``do_not_contact`` (bool) and ``preferred_channel``.
    consents:
        One row per consent record: ``customer``, ``channel``, ``purpose``, ``granted``
        and optionally ``time`` (the latest record of a customer, channel and purpose wins;
        without times, the last row does).
    history:
        Contacts already sent, for frequency caps: ``customer``, ``channel``, ``time``.
    now:
        The moment of planning (aware; naive is UTC).
    policy:
        Quiet hours and caps; the default has quiet hours 21:00-08:00 and no caps.
    """
    from touchpoint.frame._input import read_columns

    policy = ContactPolicy() if policy is None else policy
    rules_by_code = _rules(rules)
    now = as_utc(now)
    now64 = np.datetime64(now.replace(tzinfo=None), "us")
    n = len(due)

    cust = read_columns(
        customers,
        {
            "customer": customer,
            "timezone": timezone,
            "dnc": do_not_contact,
            "preferred": preferred_channel,
        },
        required=["customer", "timezone"],
    )
    row = _index(cust["customer"], due.customer, "customer", strict=True)
    unknown = sorted(set(due.rule.tolist()) - set(rules_by_code))
    if unknown:
        raise ValidationError([Problem("rule", "is not one of the care rules given", unknown[0])])

    # Channels get integer codes; consent keys are (customer row, channel, purpose).
    channel_names = sorted(
        {
            ch
            for r in rules_by_code.values()
            for ch in (*r.channels, *(f.channel for f in r.follow_ups))
        }
    )
    channel_code = {name: i for i, name in enumerate(channel_names)}
    consent_ok = _consent_lookup(consents, cust["customer"], channel_code)

    status = np.full(n, SEND, dtype=object)
    reason = np.full(n, "", dtype=object)
    chosen = np.full(n, -1, dtype=np.int64)
    purpose = np.empty(n, dtype=object)
    on_cap = np.empty(n, dtype=object)
    preferred = (
        _codes(np.asarray(cust["preferred"], dtype=object)[row], channel_code)
        if "preferred" in cust
        else np.full(n, -1, dtype=np.int64)
    )

    steps = due.step.astype(str)
    for code, rule in rules_by_code.items():
        # The rule's own contact and each follow-up (which has one channel of its own).
        for step, channels in [("", rule.channels)] + [
            (f.code, (f.channel,)) for f in rule.follow_ups
        ]:
            mine = (due.rule == code) & (steps == step)
            if not mine.any():
                continue
            purpose[mine] = rule.purpose.value
            on_cap[mine] = rule.on_cap.value
            p = 0 if rule.purpose.value == "service" else 1
            allowed = [channel_code[ch] for ch in channels]
            # The customer's preferred channel first, when allowed; then the given order.
            candidates = [np.where(np.isin(preferred, allowed), preferred, -1)]
            candidates += [np.full(n, c, dtype=np.int64) for c in allowed]
            for cand in candidates:
                todo = np.flatnonzero(mine & (chosen < 0) & (cand >= 0))
                ok = consent_ok(row[todo], cand[todo], p)
                chosen[todo[ok]] = cand[todo[ok]]
            missing = mine & (chosen < 0)
            status[missing] = BLOCKED
            reason[missing] = f"no {rule.purpose.value} consent on {', '.join(channels)}"

    if "dnc" in cust:
        dnc = np.asarray(cust["dnc"]).astype(bool)[row]
        status[dnc] = BLOCKED
        reason[dnc] = "do not contact"
        chosen[dnc] = -1

    send_at = np.full(n, now64, dtype=_US)
    channel = np.array([None, *channel_names], dtype=object)[chosen + 1]
    _apply_caps(
        policy.caps, history, cust["customer"], row, channel, status, reason, send_at, on_cap, now64
    )
    if policy.quiet_hours is not None:
        _apply_quiet_hours(
            policy.quiet_hours, np.asarray(cust["timezone"]).astype(str)[row], status, send_at
        )
    status[(status == SEND) & (send_at > now64)] = DEFERRED
    send_at[status == BLOCKED] = np.datetime64("NaT")
    return ContactPlan(due.customer, due.rule, due.step, due.key, channel, status, send_at, reason)


def _codes(values: np.ndarray, mapping: dict[str, int]) -> np.ndarray:
    """Integer code of each value by ``mapping`` (-1 for None and unknown values), vectorised."""
    text = np.asarray(values, dtype=object).astype(str)
    uniques, inverse = np.unique(text, return_inverse=True)
    table = np.array(
        [mapping.get(u, -1) for u in uniques.tolist()], dtype=np.int64
    )  # distinct values only
    return table[inverse] if len(text) else np.array([], dtype=np.int64)


def _consent_lookup(consents: Any, customer_ids: np.ndarray, channel_code: dict[str, int]):
    """A function (rows, channel codes, purpose 0/1) -> granted, from the consent records."""
    from touchpoint.frame._input import read_columns

    c = read_columns(
        consents,
        {
            "customer": "customer",
            "channel": "channel",
            "purpose": "purpose",
            "granted": "granted",
            "time": "time",
        },
        required=["customer", "channel", "purpose", "granted"],
    )
    rows = _index(customer_ids, c["customer"], "consents.customer", strict=False)
    chan = _codes(c["channel"], channel_code)
    purposes = np.asarray(c["purpose"]).astype(str)
    bad = ~np.isin(purposes, ["service", "marketing"])
    if bad.any():
        raise ValidationError(
            [Problem("consents.purpose", "must be 'service' or 'marketing'", purposes[bad][0])]
        )
    p = (purposes == "marketing").astype(np.int64)
    granted = np.asarray(c["granted"]).astype(bool)
    keep = (rows >= 0) & (chan >= 0)
    width = max(len(channel_code), 1)
    keys = (rows * width + chan) * 2 + p
    order = np.argsort(c["time"], kind="stable") if "time" in c else np.arange(len(keys))
    keys, granted, keep = keys[order], granted[order], keep[order]
    keys, granted = keys[keep], granted[keep]
    # The latest record per key wins: take the last occurrence after the stable sort.
    rev_unique, rev_first = np.unique(keys[::-1], return_index=True)
    latest = granted[::-1][rev_first]

    def lookup(rows_: np.ndarray, chans: np.ndarray, purpose_: int) -> np.ndarray:
        k = (rows_ * width + chans) * 2 + purpose_
        pos = np.clip(np.searchsorted(rev_unique, k), 0, max(len(rev_unique) - 1, 0))
        hit = (rev_unique[pos] == k) if len(rev_unique) else np.zeros(len(k), bool)
        return hit & latest[pos] if len(rev_unique) else hit

    return lookup


def _apply_caps(
    caps, history, customer_ids, row, channel, status, reason, send_at, on_cap, now64
) -> None:
    """Frequency caps over history plus this plan, in plan order; drop/defer/exempt per rule."""
    if not caps:
        return
    from touchpoint.frame._input import read_columns

    if history is not None:
        h = read_columns(
            history,
            {"customer": "customer", "channel": "channel", "time": "time"},
            required=["customer", "channel", "time"],
        )
        h_row = _index(customer_ids, h["customer"], "history.customer", strict=False)
        h_chan = np.asarray(h["channel"]).astype(str)
        h_time = h["time"]
    else:
        h_row, h_chan, h_time = np.array([], np.int64), np.array([], str), np.array([], _US)
    for cap in caps:
        window = np.timedelta64(int(cap.window.total_seconds() * 1e6), "us")
        live = status != BLOCKED
        counted_plan = live & ((channel == cap.channel) if cap.channel else True)
        counted_hist = (
            (h_row >= 0)
            & (h_time > now64 - window)
            & ((h_chan == cap.channel) if cap.channel else True)
        )
        plan_idx = np.flatnonzero(counted_plan)
        # One timeline per customer: history first (by time), then this plan's contacts in order.
        who = np.concatenate([h_row[counted_hist], row[plan_idx]])
        when = np.concatenate([h_time[counted_hist], send_at[plan_idx]])
        src = np.concatenate([np.full(int(counted_hist.sum()), -1), plan_idx])
        order = np.lexsort((np.arange(len(who)), when, who))
        who, when, src = who[order], when[order], src[order]
        starts = (
            np.flatnonzero(np.r_[True, who[1:] != who[:-1]]) if len(who) else np.array([], np.int64)
        )
        position = np.arange(len(who)) - np.repeat(starts, np.diff(np.r_[starts, len(who)]))
        over = (position >= cap.limit) & (src >= 0)
        for action in (CapAction.DROP, CapAction.DEFER):
            hit = over & (on_cap[np.maximum(src, 0)] == action.value)
            idx = src[hit]
            if action is CapAction.DROP:
                status[idx] = BLOCKED
                reason[idx] = cap.describe()
            else:
                freed = when[np.flatnonzero(hit) - cap.limit] + window
                send_at[idx] = np.maximum(send_at[idx], freed)
                reason[idx] = cap.describe()


def _apply_quiet_hours(
    quiet: QuietHours, zones: np.ndarray, status: np.ndarray, send_at: np.ndarray
) -> None:
    """Defer contacts whose send time is quiet in the customer's zone (loop per zone and instant)."""
    live = status != BLOCKED
    for zone in np.unique(zones[live]):
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValidationError(
                [Problem("customers.timezone", "is not a known IANA time zone", zone)]
            ) from None
        mine = live & (zones == zone)
        instants, inverse = np.unique(send_at[mine], return_inverse=True)
        moved = np.empty(len(instants), dtype=_US)
        for i, instant in enumerate(instants):
            local = instant.astype(dt.datetime).replace(tzinfo=dt.UTC).astimezone(tz)
            if quiet.is_quiet(local.time()):
                end = quiet.next_allowed(local).astimezone(dt.UTC).replace(tzinfo=None)
                moved[i] = np.datetime64(end, "us")
            else:
                moved[i] = instant
        send_at[mine] = moved[inverse]
