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
   run (``history`` may hold contacts already scheduled for later, such as
   `touchpoint.care.Dispatcher.history`). What happens to a contact over a cap
   is the rule's declared choice (``on_cap``): ``drop`` (blocked, with the reason),
   ``defer`` (to the moment the ``limit``-th latest contact counted so far, deferred ones
   included, leaves the window: every window then holds the cap) or ``exempt`` (sent
   anyway, e.g. a service notice; it still counts).
4. **Quiet hours** in the customer's own time zone (IANA names, through `zoneinfo`, so
   correct across daylight-saving changes): a contact that would go out in quiet hours
   is deferred to their end, local time (a contact deferred by a cap too: the cap's
   bound is computed first, and moving later never breaks it).

Then the flow (``touchpoint.care._flows``, see ``docs/reactive-care.md``): contacts of
held-out customers get status ``held`` (reason ``holdout``, never sent), a follow-up
whose previous step was blocked, held or not delivered is blocked with that reason,
exits and branches stop steps after what the customer did, and review steps get status
``check``.

`touchpoint.care.dispatch` checks consent, do-not-contact, quiet hours and caps again
at the moment each contact is sent.

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
>>> due = agenda([rule], customers, asof="2026-05-05")
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
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import numpy as np

from touchpoint.care._agenda import DueContacts, keyed_by_contact
from touchpoint.care._flows import gate
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, as_time, naive_utc, read_columns
from touchpoint.model import Blueprint, CapAction, CareRule, parse_timedelta

__all__ = ["ContactPlan", "ContactPolicy", "FrequencyCap", "QuietHours", "plan_contacts"]

_US = "datetime64[us]"
SEND, DEFERRED, BLOCKED, HELD = "send", "deferred", "blocked", "held"


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

    start: dt.time = attrs.field(default=dt.time(21, 0), converter=_clock)
    end: dt.time = attrs.field(default=dt.time(8, 0), converter=_clock)

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

    def allowed(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        """The first moment at or after ``moment`` (aware) outside quiet hours in ``zone``, UTC.

        >>> import zoneinfo
        >>> q = QuietHours("21:00", "08:00")
        >>> shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
        >>> q.allowed(dt.datetime(2026, 5, 5, 12, 58, tzinfo=dt.UTC), shanghai).isoformat()
        '2026-05-05T12:58:00+00:00'
        >>> q.allowed(dt.datetime(2026, 5, 5, 13, 3, tzinfo=dt.UTC), shanghai).isoformat()
        '2026-05-06T00:00:00+00:00'
        """
        local = moment.astimezone(zone)
        if not self.is_quiet(local.time()):
            return moment.astimezone(dt.UTC)
        return self.next_allowed(local).astimezone(dt.UTC)


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
        from touchpoint.model import format_timedelta

        on = f" on {self.channel}" if self.channel else ""
        return f"over the cap of {self.limit} per {format_timedelta(self.window)}{on}"


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValidationError([Problem("holdout", "must be a share from 0 to below 1", value)])
    return float(value)


@attrs.frozen
class ContactPolicy:
    """Quiet hours (None: none) and frequency caps applied to every planned contact.

    ``holdout`` and ``holdout_salt``: a global control group, the share of customers
    (by `touchpoint.experiments.holdout` of their ids with that salt) whose care
    contacts are planned but never sent (status ``held``, reason ``holdout``).
    """

    quiet_hours: QuietHours | None = attrs.field(factory=QuietHours)
    caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=tuple)
    holdout: float = attrs.field(default=0.0, converter=_share)
    holdout_salt: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.holdout > 0 and not self.holdout_salt:
            raise ValidationError(
                [Problem("holdout_salt", "a global holdout needs its salt", self.holdout_salt)]
            )


@attrs.frozen(eq=False)
class ContactPlan:
    """One row per due contact: the decision, the channel and when it may be sent.

    ``status`` is ``send`` (at ``send_at``, which is ``now``), ``deferred`` (at a later
    ``send_at``), ``blocked`` (never; ``reason`` says why), ``held`` (planned for
    ``send_at`` but held out for the control group: reason ``holdout``) or ``check``
    (a review step: nothing is sent; ``reason`` records whether the customer came
    back). ``send_at`` is UTC.
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
        """The columns by name."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}

    def to_frame(self) -> ScoreFrame:
        """The plan as a `ScoreFrame` keyed by each contact's idempotency ``key``."""
        return keyed_by_contact(self.columns())


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
    outcomes: Any = None,
    happenings: Any = None,
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
        Quiet hours, caps and the global holdout; the default has quiet hours
        21:00-08:00, no caps and no holdout.
    outcomes:
        What became of earlier steps (``key``, ``state``, ``reason``), as
        `touchpoint.care.step_outcomes` reads them from a storage: a follow-up whose
        previous step was blocked, held or failed is blocked (see
        ``touchpoint.care._flows``). Steps planned in the same call are seen without it.
    happenings:
        What customers did (``customer``, ``time``, ``kind``: replied, purchased,
        complained), as `touchpoint.care.happenings` lists them: for the rules'
        ``exit_on``, the follow-ups' ``unless`` and review steps.
    """
    policy = ContactPolicy() if policy is None else policy
    rules_by_code = _rules(rules)
    now64 = as_time(now, name="now")
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
            (f.code, (f.channel,)) for f in rule.follow_ups if not f.check
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

    gate(
        due,
        rules_by_code,
        status,
        reason,
        outcomes=outcomes,
        happenings=happenings,
        now64=now64,
        policy_share=policy.holdout,
        policy_salt=policy.holdout_salt,
    )
    send_at = np.full(n, now64, dtype=_US)
    channel = np.array([None, *channel_names], dtype=object)[chosen + 1]
    channel[status == "check"] = None
    zones = np.asarray(cust["timezone"]).astype(str)[row]
    _schedule(
        policy,
        history,
        cust["customer"],
        row,
        zones,
        channel,
        status,
        reason,
        send_at,
        on_cap,
        now64,
    )
    status[(status == SEND) & (send_at > now64)] = DEFERRED
    send_at[(status == BLOCKED) | (status == "check")] = np.datetime64("NaT")
    return ContactPlan(due.customer, due.rule, due.step, due.key, channel, status, send_at, reason)


def _codes(values: np.ndarray, mapping: dict[str, int]) -> np.ndarray:
    """Integer code of each value by ``mapping`` (-1 for None and unknown values), vectorised."""
    text = np.asarray(values, dtype=object).astype(str)
    uniques, inverse = np.unique(text, return_inverse=True)
    table = np.array(
        [mapping.get(u, -1) for u in uniques.tolist()], dtype=np.int64
    )  # distinct values only
    return table[inverse] if len(text) else np.array([], dtype=np.int64)


def _consent_lookup(
    consents: Any, customer_ids: np.ndarray, channel_code: dict[str, int]
) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    """A function (rows, channel codes, purpose 0/1) -> granted, from the consent records."""
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


def _read_history(history: Any, customer_ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """(customer row, channel, time) of the history (rows of unknown customers are -1)."""
    if history is None:
        return np.array([], np.int64), np.array([], str), np.array([], _US)
    h = read_columns(
        history,
        {"customer": "customer", "channel": "channel", "time": "time"},
        required=["customer", "channel", "time"],
    )
    h_row = _index(customer_ids, h["customer"], "history.customer", strict=False)
    h_time = np.asarray(h["time"]).astype(_US)
    return h_row, np.asarray(h["channel"]).astype(str), h_time


_NEVER = np.iinfo(np.int64).min // 2  # "no contact": far before any window


def _schedule(
    policy: ContactPolicy,
    history: Any,
    customer_ids: np.ndarray,
    row: np.ndarray,
    zones: np.ndarray,
    channel: np.ndarray,
    status: np.ndarray,
    reason: np.ndarray,
    send_at: np.ndarray,
    on_cap: np.ndarray,
    now64: np.datetime64,
) -> None:
    """Frequency caps and quiet hours together, contact by contact in each customer's order.

    Each live contact starts at ``now`` moved out of quiet hours. With caps, a customer's
    contacts are then taken in order (history first, then this plan's in plan order) and
    each must go out at or after ``t_k + window``, where ``t_k`` is the ``limit``-th latest
    of the contacts counted so far for that cap (sent, planned, or deferred earlier in
    this pass, wherever they landed). Meeting that bound means no ``window`` containing
    the contact holds more than ``limit`` contacts, whatever comes later; an over-cap
    contact is dropped (blocked, not counted), deferred to the bound (then out of quiet
    hours, which only moves it later), or sent anyway (exempt, still counted). The loop
    runs over the rank of a contact within its customer (a handful), never over
    customers; the ``limit`` latest times per customer and cap are a small matrix.
    """
    live = (status == SEND) | (status == HELD)  # held: planned as if sent, never sent
    if policy.quiet_hours is not None:
        send_at[live] = _quiet(policy.quiet_hours, zones[live], send_at[live])
    live &= status == SEND  # the caps count contacts that go out
    if not policy.caps or not live.any():
        return
    h_row, h_chan, h_time = _read_history(history, customer_ids)
    entries = np.flatnonzero(live)
    # Customers of this plan get local numbers; history of others is left out.
    people, local = np.unique(row[entries], return_inverse=True)
    h_local = np.searchsorted(people, h_row)
    h_known = (h_row >= 0) & (h_local < len(people))
    h_known[h_known] = people[h_local[h_known]] == h_row[h_known]
    times = send_at.astype(np.int64)

    latest = []  # per cap: (customers, limit) int64 of the latest counted times, descending
    for cap in policy.caps:  # a loop over caps (a handful)
        window = int(cap.window.total_seconds() * 1_000_000)
        top = np.full((len(people), cap.limit), _NEVER, dtype=np.int64)
        keep = h_known & (h_time.astype(np.int64) > int(now64.astype(np.int64)) - window)
        if cap.channel:
            keep &= h_chan == cap.channel
        who, when = h_local[keep], h_time[keep].astype(np.int64)
        order = np.lexsort((-when, who))
        who, when = who[order], when[order]
        if len(who):
            starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
            rank = np.arange(len(who)) - np.repeat(starts, np.diff(np.r_[starts, len(who)]))
            first = rank < cap.limit
            top[who[first], rank[first]] = when[first]
        latest.append((cap, window, top))

    # This plan's contacts in each customer's order (plan order), ranked within customer.
    order = np.lexsort((entries, local))
    entries, local = entries[order], local[order]
    starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
    rank = np.arange(len(local)) - np.repeat(starts, np.diff(np.r_[starts, len(local)]))
    for r in range(int(rank.max()) + 1):  # a loop over ranks within a customer (a handful)
        at = rank == r
        idx, who = entries[at], local[at]
        bound = np.full(len(idx), _NEVER, dtype=np.int64)
        binding = np.full(len(idx), -1, dtype=np.int64)
        for c, (cap, window, top) in enumerate(latest):
            counts = np.ones(len(idx), bool) if not cap.channel else channel[idx] == cap.channel
            b = np.where(counts, top[who, cap.limit - 1] + window, _NEVER)
            tighter = b > bound
            bound[tighter], binding[tighter] = b[tighter], c
        over = times[idx] < bound
        action = on_cap[idx]
        drop = over & (action == CapAction.DROP.value)
        defer = over & (action == CapAction.DEFER.value)
        for c, (cap, _, _) in enumerate(latest):  # reasons, per binding cap
            hit = (drop | defer) & (binding == c)
            reason[idx[hit]] = cap.describe()
        status[idx[drop]] = BLOCKED
        if defer.any():
            moved = bound[defer].view("datetime64[us]")
            if policy.quiet_hours is not None:
                moved = _quiet(policy.quiet_hours, zones[idx[defer]], moved)
            send_at[idx[defer]] = moved
            times[idx[defer]] = moved.astype(np.int64)
        counted = ~drop
        for cap, _, top in latest:
            mine = counted & (
                np.ones(len(idx), bool) if not cap.channel else channel[idx] == cap.channel
            )
            w = who[mine]
            merged = np.concatenate([top[w], times[idx[mine]][:, None]], axis=1)
            top[w] = -np.sort(-merged, axis=1)[:, : cap.limit]


def _quiet(quiet: QuietHours, zones: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``times`` moved out of quiet hours in each zone (a loop over zones and distinct instants)."""
    out = np.array(times, dtype=_US)
    for zone in np.unique(zones):
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValidationError(
                [Problem("customers.timezone", "is not a known IANA time zone", zone)]
            ) from None
        mine = zones == zone
        instants, inverse = np.unique(out[mine], return_inverse=True)
        moved = np.array([naive_utc(quiet.allowed(_aware(i), tz)) for i in instants], dtype=_US)
        out[mine] = moved[inverse]
    return out


def _aware(instant: np.datetime64) -> dt.datetime:
    result: dt.datetime = (
        instant.astype("datetime64[us]").astype(dt.datetime).replace(tzinfo=dt.UTC)
    )
    return result
