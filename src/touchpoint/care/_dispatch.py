"""Dispatch: send a contact plan through the workspace's channels via a durable outbox.

`Dispatcher.enqueue` writes the plan's ``send`` and ``deferred`` rows to the storage's
outbox, one row per idempotency key (``birthday/C1/2026``): a key already there is left
alone, so enqueuing the same plan twice sends nothing twice. ``blocked`` rows are written
to the contact log with their reason and never sent. ``held`` rows (the control group of
a holdout) are written to the outbox already closed as ``held`` with the reason
``holdout``, so ``Storage.outbox()`` lists who was held out of what; ``check`` rows
(review steps) are written to the contact log on channel ``review`` with their finding.

`Dispatcher.run_once` (what a cron job calls; any number of them may run at once, in any
number of processes) works through the due rows in small claims. For each row:

1. **Claim.** The storage leases the row to this dispatcher (``owner``, ``lease_until``)
   in the transaction that selects it; rows under another owner's running lease, and
   every row of a customer another owner is working on, are left alone. A crashed
   dispatcher's lease expires and its rows are claimed again.
2. **Unsendable rows are dead-lettered.** A row naming a channel that is not configured
   goes to ``dead`` with the reason; the other rows go out.
3. **The contact policy again, at the moment of sending**, with the customer's stored
   record (`touchpoint.Customer`): forgotten, unknown, do-not-contact or without a
   granted consent for the row's channel and purpose (the latest consent record wins)
   closes the row as ``held`` (never sent, reason stored); quiet hours in the customer's
   time zone and the frequency caps (over the contacts this outbox sent) move it to the
   first allowed moment, with the reason. See `touchpoint.care.plan_contacts`.
4. **Send**, after renewing the lease, with the key as the message's ``contact_id`` (the
   webhook channel passes it as ``Idempotency-Key``), bounded by ``timeout`` seconds.
5. **Mark** the outcome in its own transaction, only while this dispatcher still holds
   the lease: ``sent``; ``retry`` at ``now + backoff * 2**(attempts - 1)`` (at most
   ``max_backoff``) moved out of quiet hours (stored, never slept); or ``dead`` after ``max_attempts`` or a failure that
   is not retryable. Stored reasons are masked (`mask_reason`) and bounded.

Each sent contact is recorded as an outbound interaction with ``event_id`` = the key, so
the scores see it and a resend after a crash stores nothing twice.

A row is marked sent only after its delivery returns: a process killed in between leaves
the row leased; when the lease expires, another run sends it again under the same key and
a receiver that drops repeated keys sees the contact once (see ``docs/operations.md``).

Examples
--------
>>> import datetime as dt
>>> import numpy as np
>>> import touchpoint
>>> from touchpoint import Consent, Customer
>>> from touchpoint.care import ContactPlan
>>> from touchpoint.care import Dispatcher
>>> from touchpoint.channels import Message
>>> ws = touchpoint.open("memory://")
>>> ws.storage.upsert_customers([Customer("C1", consents=[Consent("outbox", "service")])])
1
>>> now = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
>>> at = np.array([np.datetime64("2026-03-01T09:00", "us")] * 2)
>>> plan = ContactPlan(customer=np.array(["C1", "C2"], dtype=object),
...     rule=np.array(["birthday"] * 2, dtype=object), step=np.array(["", ""], dtype=object),
...     key=np.array(["birthday/C1/2026", "birthday/C2/2026"], dtype=object),
...     channel=np.array(["outbox", "outbox"], dtype=object),
...     status=np.array(["send", "blocked"], dtype=object), send_at=at,
...     reason=np.array(["", "no consent"], dtype=object))
>>> def message(row):
...     return Message(row["key"], row["customer"], "c@example.com", "Happy birthday!",
...                    touchpoint="RE-BDAY")
>>> d = Dispatcher(ws)
>>> d.enqueue(plan, message, now=now)
EnqueueReport(queued=1, duplicate=0, blocked=1, held=0, checked=0)
>>> d.run_once(now)
DispatchReport(sent=1, retry=0, dead=0, held=0, waiting=0, lost=0, timeouts=())
>>> d.enqueue(plan, message, now=now)  # the same plan again: nothing new
EnqueueReport(queued=0, duplicate=1, blocked=1, held=0, checked=0)
>>> [r["state"] for r in ws.storage.outbox()]
['sent']
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs
import numpy as np

from touchpoint.care._flows import HOLDOUT
from touchpoint.care._policy import ContactPolicy
from touchpoint.channels.base import (
    Delivery,
    DeliveryStatus,
    Message,
    deliver,
    mask_reason,
)
from touchpoint.errors import StorageBusyError, StorageError
from touchpoint.frame import micros
from touchpoint.model import CapAction, as_utc

_T = TypeVar("_T")

__all__ = ["DispatchReport", "Dispatcher", "EnqueueReport", "dispatch"]

log = logging.getLogger("touchpoint.dispatch")

_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: How `deliver` words a call that did not return in time.
_TIMED_OUT = "did not answer within"


def _datetime(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(us))


def _stamp(us: int) -> str:
    return _datetime(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_owner() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _consented(consents: Iterable[Any], channel: str, purpose: str) -> bool:
    """Whether the latest consent record for ``channel`` and ``purpose`` grants it.

    Records are ordered by their time (records without one first), then by position.
    """
    mine = [
        (c.at is not None, as_utc(c.at) if c.at is not None else _EPOCH, i, c.granted)
        for i, c in enumerate(consents)
        if c.channel == channel and str(c.purpose) == purpose
    ]
    return bool(mine) and max(mine)[3]


@attrs.frozen
class EnqueueReport:
    """Rows added to the outbox, keys already there, blocked rows logged, rows held out.

    ``held``: contacts of the control group, written to the outbox closed as ``held``
    with the reason ``holdout`` (never sent); ``checked``: review steps recorded in the
    contact log.
    """

    queued: int
    duplicate: int
    blocked: int
    held: int = 0
    checked: int = 0


@attrs.frozen
class DispatchReport:
    """Outcomes of one `Dispatcher.run_once`.

    Attributes
    ----------
    sent, retry, dead:
        Rows delivered; failed and due again later; given up (dead letters).
    held:
        Rows the send-time policy closed (consent withdrawn, do not contact, forgotten or
        unknown customer, over a ``drop`` cap): never sent.
    waiting:
        Rows the send-time policy moved to a later moment (quiet hours, a ``defer`` cap).
    lost:
        Rows whose lease another dispatcher took over before this one could mark them
        (they are that dispatcher's now); nothing was overwritten.
    timeouts:
        One line per channel call that did not answer in time, naming the channel, its
        plugin class and the key (the row is retried later).
    """

    sent: int
    retry: int
    dead: int
    held: int = 0
    waiting: int = 0
    lost: int = 0
    timeouts: tuple[str, ...] = ()


MessageFactory = Callable[[Mapping[str, Any]], Message]


@attrs.define
class Dispatcher:
    """Enqueue contact plans and send what is due, durably, from any number of processes.

    Parameters
    ----------
    workspace:
        A `touchpoint.Workspace`; its storage must have an outbox (SQLite, memory).
    rules:
        Care rules (or a blueprint's ``care_rules``) to find the touchpoint of a rule or
        follow-up step when the message carries none, and each rule's ``on_cap``.
    max_attempts:
        Attempts before a contact goes to the dead-letter list (state ``dead``).
    backoff:
        Wait before the first retry; doubled after each further failure.
    max_backoff:
        The longest wait between two attempts (the doubling stops there).
    batch:
        Most rows one `run_once` claims.
    policy:
        Quiet hours and frequency caps checked again at send time (default: quiet hours
        21:00-08:00 in the customer's zone, no caps; ``ContactPolicy(quiet_hours=None)``
        for none). Consent and do-not-contact are always checked.
    customers:
        ``customers(customer_id) -> touchpoint.Customer | None``: where the send-time
        check reads consent, time zone and do-not-contact (default: the workspace's stored
        customers). A row whose customer is not found is held, never sent.
    timeout:
        Seconds a channel call may take; then the row is retried later.
    lease:
        How long a claim lasts; must exceed ``timeout`` (a dispatcher renews its lease
        right before each call). A crashed dispatcher's rows wait this long.
    claim:
        Rows taken per claim transaction.
    owner:
        This dispatcher's name on its leases (default: host, process id and a random
        suffix; unique per `Dispatcher`).
    """

    workspace: Any
    rules: Iterable[Any] = ()
    max_attempts: int = attrs.field(default=5)
    backoff: dt.timedelta = dt.timedelta(minutes=5)
    batch: int = 1000
    policy: ContactPolicy | None = None
    max_backoff: dt.timedelta = dt.timedelta(hours=6)
    customers: Callable[[str], Any] | None = None
    timeout: float = attrs.field(default=30.0)
    lease: dt.timedelta = dt.timedelta(minutes=5)
    claim: int = 20
    owner: str = attrs.field(factory=_default_owner)

    @max_attempts.validator
    def _check(self, _attr: Any, value: int) -> None:
        if value < 1:
            raise ValueError(f"max_attempts must be at least 1, not {value!r}")

    @timeout.validator
    def _check_timeout(self, _attr: Any, value: float) -> None:
        if not value > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {value!r}")

    def __attrs_post_init__(self) -> None:
        self.rules = tuple(self.rules)
        if self.policy is None:
            self.policy = ContactPolicy()
        if self.lease.total_seconds() <= self.timeout:
            raise ValueError(
                f"lease ({self.lease}) must be longer than the channel timeout "
                f"({self.timeout:g} s), or a slow call could outlive its lease"
            )
        if self.claim < 1 or self.batch < 1:
            raise ValueError("claim and batch must be at least 1")

    # ------------------------------------------------------------------ rules

    def _rule(self, code: str) -> Any:
        return next((r for r in self.rules if r.code == code), None)

    def _touchpoint(self, rule: str, step: str) -> str | None:
        r = self._rule(rule)
        if r is None:
            return None
        for f in r.follow_ups:
            if step and f.code == step:
                follow_up: str | None = f.touchpoint or r.touchpoint
                return follow_up
        own: str | None = r.touchpoint
        return own

    # ------------------------------------------------------------------ enqueue

    def enqueue(self, plan: Any, messages: MessageFactory, *, now: Any) -> EnqueueReport:
        """Write ``send``/``deferred`` rows to the outbox; log ``blocked`` ones with their reason.

        ``messages(row)`` renders one contact: ``row`` has ``customer``, ``rule``,
        ``step``, ``key`` and ``channel``; its ``contact_id`` is replaced by the key.
        Contacts of forgotten customers are counted as blocked and nothing about them is
        written.
        """
        storage = self.workspace.storage
        cols = plan.columns()
        status = np.asarray(cols["status"]).astype(str)
        send_at = np.asarray(cols["send_at"]).astype("datetime64[us]").astype("int64")
        forgotten = {
            c
            for c in set(np.asarray(cols["customer"]).astype(str).tolist())
            if storage.is_suppressed(c)
        }  # one look-up per distinct customer
        rows, blocked, held, checked = [], 0, [], 0
        for i in range(len(status)):  # one message rendered per contact
            row = {k: str(cols[k][i]) for k in ("customer", "rule", "step", "key", "channel")}
            touchpoint = self._touchpoint(row["rule"], row["step"])
            if row["customer"] in forgotten:
                blocked += 1
                continue
            if status[i] == "check":
                message = Message(row["key"], row["customer"], "", "", touchpoint=touchpoint)
                storage.log_contact(
                    message,
                    Delivery(
                        row["key"],
                        "review",
                        DeliveryStatus.SENT,
                        mask_reason(f"review: {cols['reason'][i]}"),
                        attempts=0,
                    ),
                )
                checked += 1
                continue
            if status[i] == "blocked":
                message = Message(row["key"], row["customer"], "", "", touchpoint=touchpoint)
                reason = mask_reason(f"blocked: {cols['reason'][i]}")
                storage.log_contact(
                    message,
                    Delivery(row["key"], row["channel"], DeliveryStatus.FAILED, reason, attempts=0),
                )
                blocked += 1
                continue
            message = messages(row)
            rule = self._rule(row["rule"])
            rows.append(
                {
                    "key": row["key"],
                    "customer": row["customer"],
                    "channel": row["channel"],
                    "touchpoint": message.touchpoint or touchpoint,
                    "purpose": message.purpose,
                    "address": message.address,
                    "subject": message.subject,
                    "body": message.body,
                    "send_at": int(send_at[i]),
                    "rule": row["rule"],
                    "on_cap": None if rule is None else rule.on_cap.value,
                }
            )
            if status[i] == "held":
                held.append(row["key"])
        duplicates = storage.enqueue(rows, now=micros(now)) if rows else []
        for key in held:  # closed at once: planned for the control group, never sent
            storage.outbox_held(key, reason=str(HOLDOUT), next_attempt_at=None)
        fresh = len(rows) - len(duplicates) - len(set(held) - set(duplicates))
        return EnqueueReport(
            fresh, len(duplicates), blocked, len(set(held) - set(duplicates)), checked
        )

    # ------------------------------------------------------------------ run

    def run_once(self, now: Any) -> DispatchReport:
        """Claim and send the outbox rows due at ``now``, at most ``batch`` of them.

        The dispatcher's clock starts at ``now`` and runs on with the process's
        monotonic clock, so a long run checks the policy, schedules retries and renews
        leases at the real moment of each row.
        """
        start, origin = micros(now), time.monotonic()

        def clock() -> int:
            return start + int((time.monotonic() - origin) * _US)

        outcomes: Counter[str] = Counter()
        timeouts: list[str] = []
        lease = int(self.lease / dt.timedelta(microseconds=1))
        done = 0
        while done < self.batch:
            t = clock()
            rows = self.workspace.storage.claim_outbox(
                self.owner, now=t, lease_until=t + lease, limit=min(self.claim, self.batch - done)
            )
            if not rows:
                break
            for row in rows:  # one channel call per contact
                outcomes[self._handle(row, clock, timeouts)] += 1
            done += len(rows)
        return DispatchReport(
            outcomes["sent"],
            outcomes["retry"],
            outcomes["dead"],
            outcomes["held"],
            outcomes["waiting"],
            outcomes["lost"],
            tuple(timeouts),
        )

    def _customer(self, customer_id: str) -> Any:
        lookup = self.customers or self.workspace.storage.customer
        return lookup(customer_id)

    def _message(self, row: Mapping[str, Any]) -> Message:
        return Message(
            row["key"],
            row["customer"],
            row["address"] or "",
            row["body"] or "",
            subject=row["subject"] or "",
            touchpoint=row["touchpoint"],
            purpose=row["purpose"],
        )

    def _log(self, message: Message, delivery: Delivery) -> None:
        """The contact log entry of an attempt; a customer forgotten meanwhile is skipped."""
        try:
            self.workspace.storage.log_contact(message, delivery)
        except StorageError:
            if not self.workspace.storage.is_suppressed(message.customer):
                raise

    def _handle(self, row: Mapping[str, Any], clock: Callable[[], int], timeouts: list[str]) -> str:
        """Check, send and mark one claimed row; returns the outcome's name."""
        ws, storage, owner, key = self.workspace, self.workspace.storage, self.owner, row["key"]
        message = self._message(row)
        try:
            backend = ws.channel(row["channel"])
        except Exception as exc:  # any failure to build the channel: a dead letter
            reason = mask_reason(f"cannot send through channel {row['channel']!r}: {exc}")
            log.warning("outbox row %s dead-lettered: %s", key, reason)
            if not storage.outbox_failed(key, error=reason, next_attempt_at=None, owner=owner):
                return "lost"
            self._log(message, Delivery.failed(message, row["channel"], reason, retryable=False))
            return "dead"

        t = clock()
        customer = self._customer(row["customer"])
        hold = self._policy(row, customer, t)
        if hold is not None:
            reason, until = hold
            if not storage.outbox_held(key, reason=reason, next_attempt_at=until, owner=owner):
                return "lost"
            if until is not None:
                return "waiting"
            if not storage.is_suppressed(row["customer"]):
                self._log(
                    message,
                    Delivery(
                        key, row["channel"], DeliveryStatus.FAILED, f"held: {reason}", attempts=0
                    ),
                )
            return "held"

        lease = int(self.lease / dt.timedelta(microseconds=1))
        # the row is ours until the lease ends: writes after the delivery may wait that long
        deadline = time.monotonic() + 0.9 * self.lease.total_seconds()
        if not storage.renew_outbox(key, owner=owner, lease_until=clock() + lease):
            return "lost"
        delivery = deliver(backend, message, timeout=self.timeout)
        t = clock()
        if delivery.ok:
            # marked sent first: if anything after failed, the row must not be sent again
            sent = _settled(lambda: storage.outbox_sent(key, at=t, owner=owner), deadline)
            if row["touchpoint"]:
                outbound = {
                    "event_id": key,
                    "customer": row["customer"],
                    "touchpoint": row["touchpoint"],
                    "time": _datetime(t),
                    "channel": row["channel"],
                    "direction": "outbound",
                }
                _settled(lambda: ws.record_batch([outbound], on_reject="quarantine"), deadline)
            if not (getattr(backend, "logs_contacts", False)):
                _settled(lambda: self._log(message, delivery), deadline)
            ws.notify("contact_sent", message=message, delivery=delivery)
            return "sent" if sent else "lost"

        detail = mask_reason(delivery.detail) or "failed without a reason"
        if _TIMED_OUT in detail:
            timeouts.append(f"{detail} (key {key})")
            log.warning("outbox row %s: %s; retried later", key, detail)
        self._log(message, attrs.evolve(delivery, detail=detail))
        ws.notify("contact_failed", message=message, delivery=delivery)
        attempts = row["attempts"] + 1
        if delivery.retryable and attempts < self.max_attempts:
            wait = min(self.backoff * 2 ** (attempts - 1), self.max_backoff)
            wait = int(wait / dt.timedelta(microseconds=1))
            when = self._allowed(customer, t + wait)
            moved = _settled(
                lambda: storage.outbox_failed(key, error=detail, next_attempt_at=when, owner=owner),
                deadline,
            )
            return "retry" if moved else "lost"
        moved = _settled(
            lambda: storage.outbox_failed(key, error=detail, next_attempt_at=None, owner=owner),
            deadline,
        )
        return "dead" if moved else "lost"

    # ------------------------------------------------------------------ policy at send time

    def _zone(self, customer: Any) -> dt.tzinfo:
        try:
            return zoneinfo.ZoneInfo(getattr(customer, "timezone", "UTC") or "UTC")
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            return dt.UTC

    def _allowed(self, customer: Any, when: int) -> int:
        """``when`` moved out of the customer's quiet hours (UTC microseconds)."""
        quiet = self.policy.quiet_hours  # type: ignore[union-attr]
        if quiet is None or customer is None:
            return when
        return micros(quiet.allowed(_datetime(when), self._zone(customer)))

    def _policy(
        self, row: Mapping[str, Any], customer: Any, t: int
    ) -> tuple[str, int | None] | None:
        """None if ``row`` may go out at ``t``; else (reason, later moment or None: never)."""
        storage, who = self.workspace.storage, row["customer"]
        channel, purpose = row["channel"], row["purpose"] or "service"
        if storage.is_suppressed(who):
            return "the customer was forgotten", None
        if customer is None:
            return "no customer record at send time: consent unknown", None
        if customer.do_not_contact:
            return "do not contact", None
        if not _consented(customer.consents, channel, purpose):
            return f"no {purpose} consent on {channel} at send time", None
        policy = self.policy
        assert policy is not None
        quiet = policy.quiet_hours
        if quiet is not None:
            until = self._allowed(customer, t)
            if until > t:
                zone = getattr(customer, "timezone", "UTC")
                return (
                    f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} in {zone}: "
                    f"waits until {_stamp(until)}",
                    until,
                )
        if policy.caps:
            sent = [
                (r["channel"], int(r["sent_at"]))
                for r in storage.outbox("sent", customer=who)
                if r["sent_at"] is not None
            ]
            bound, binding = t, None
            for cap in policy.caps:  # a loop over caps (a handful)
                if cap.channel is not None and cap.channel != channel:
                    continue
                window = int(cap.window.total_seconds() * _US)
                times = sorted((s for ch, s in sent if cap.channel in (None, ch)), reverse=True)
                if len(times) >= cap.limit and times[cap.limit - 1] + window > bound:
                    bound, binding = times[cap.limit - 1] + window, cap
            if binding is not None:
                rule = self._rule(row.get("rule") or "")
                action = row.get("on_cap") or (rule.on_cap.value if rule else CapAction.DEFER.value)
                if action == CapAction.DROP.value:
                    return binding.describe(), None
                if action == CapAction.DEFER.value:
                    until = self._allowed(customer, bound)
                    return f"{binding.describe()}: waits until {_stamp(until)}", until
        return None

    # ------------------------------------------------------------------ views

    def dead_letters(self) -> list[dict[str, Any]]:
        """Outbox rows given up on, with ``attempts`` and ``last_error``."""
        result: list[dict[str, Any]] = self.workspace.storage.outbox("dead")
        return result

    def history(self) -> dict[str, np.ndarray]:
        """Contacts sent and still waiting in the outbox, as ``history=`` for `plan_contacts`.

        Sent rows count at their ``sent_at``, waiting rows at their next attempt, so a
        new plan's caps count the contacts already deferred into a window.
        """
        rows = [
            r for r in self.workspace.storage.outbox() if r["state"] in ("sent", "pending", "retry")
        ]
        when = [r["sent_at"] if r["state"] == "sent" else r["next_attempt_at"] for r in rows]
        return {
            "customer": np.array([r["customer"] for r in rows], dtype=object),
            "channel": np.array([r["channel"] for r in rows], dtype=object),
            "time": np.array(when, dtype=np.int64).astype("datetime64[us]"),
        }


def _settled(step: Callable[[], _T], deadline: float) -> _T:
    """Run a write that records an attempt already made, waiting while the store is busy.

    The contact went out (or failed) already: giving up at the first busy store would leave
    its row claimed, and once the lease ran out another dispatcher would send it again. So
    a `StorageBusyError` is retried, with growing pauses, until ``deadline`` (a
    ``time.monotonic()`` moment before the lease ends); past it the error is raised.
    """
    pause = 0.05
    while True:
        try:
            return step()
        except StorageBusyError:
            if time.monotonic() + pause >= deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 1.0)


def dispatch(
    workspace: Any,
    plan: Any,
    *,
    now: Any,
    messages: MessageFactory,
    rules: Iterable[Any] = (),
    max_attempts: int = 5,
    backoff: dt.timedelta = dt.timedelta(minutes=5),
    policy: ContactPolicy | None = None,
    timeout: float = 30.0,
) -> DispatchReport:
    """Enqueue ``plan`` and send what is due at ``now`` (one `Dispatcher` pass).

    Later passes (retries, deferred rows) are ``Dispatcher(...).run_once(later)``.
    """
    d = Dispatcher(
        workspace,
        rules=tuple(rules),
        max_attempts=max_attempts,
        backoff=backoff,
        policy=policy,
        timeout=timeout,
    )
    d.enqueue(plan, messages, now=now)
    return d.run_once(now)
