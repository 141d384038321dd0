"""Dispatch: send a contact plan through the workspace's channels via a durable outbox.

`Dispatcher.enqueue` writes the plan's ``send`` and ``deferred`` rows to the storage's
outbox, one row per idempotency key (``birthday/C1/2026``): a key already there is left
alone, so enqueuing the same plan twice sends nothing twice. ``blocked`` rows are written
to the contact log with their reason and never sent. `Dispatcher.run_once` (what a cron
job calls) sends the due rows with the key as the message's ``contact_id`` (the webhook
channel passes it as ``Idempotency-Key``), then marks each outcome in its own
transaction: ``sent``; ``retry`` at ``now + backoff * 2**(attempts - 1)`` (stored, never
slept); or ``dead`` after ``max_attempts`` or a failure that is not retryable. Each sent
contact is recorded as an outbound interaction with ``event_id`` = the key, so the
scores see it and a resend after a crash stores nothing twice.

A process killed mid-run loses nothing: a row is marked sent only after its delivery, so
the next run sends it again with the same key and the receiver drops the repeat.

Examples
--------
>>> import datetime as dt
>>> import numpy as np
>>> import touchpoint
>>> from touchpoint.care import ContactPlan
>>> from touchpoint.care.dispatch import Dispatcher
>>> from touchpoint.plugins.channels import Message
>>> ws = touchpoint.open("memory://")
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
EnqueueReport(queued=1, duplicate=0, blocked=1)
>>> d.run_once(now)
DispatchReport(sent=1, retry=0, dead=0)
>>> d.enqueue(plan, message, now=now)  # the same plan again: nothing new
EnqueueReport(queued=0, duplicate=1, blocked=1)
>>> [r["state"] for r in ws.storage.outbox()]
['sent']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np

from touchpoint.plugins.channels.base import Delivery, DeliveryStatus, Message

__all__ = ["DispatchReport", "Dispatcher", "EnqueueReport", "dispatch"]

_US = 1_000_000


def _micros(value: Any) -> int:
    """UTC microseconds since the epoch of a datetime (naive = UTC) or a datetime64."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds
    return int(np.datetime64(value, "us").astype("int64"))


def _datetime(micros: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))


@attrs.frozen
class EnqueueReport:
    """Rows added to the outbox, keys already there, and blocked rows logged."""

    queued: int
    duplicate: int
    blocked: int


@attrs.frozen
class DispatchReport:
    """Outcomes of one `Dispatcher.run_once`."""

    sent: int
    retry: int
    dead: int


MessageFactory = Callable[[Mapping[str, Any]], Message]


@attrs.define
class Dispatcher:
    """Enqueue contact plans and send what is due, durably.

    Parameters
    ----------
    workspace:
        A `touchpoint.Workspace`; its storage must have an outbox (SQLite, memory).
    rules:
        Care rules (or a blueprint's ``care_rules``) to find the touchpoint of a rule or
        follow-up step when the message carries none.
    max_attempts:
        Attempts before a contact goes to the dead-letter list (state ``dead``).
    backoff:
        Wait before the first retry; doubled after each further failure.
    batch:
        Most rows sent by one `run_once`.
    """

    workspace: Any
    rules: Iterable[Any] = ()
    max_attempts: int = attrs.field(default=5)
    backoff: dt.timedelta = dt.timedelta(minutes=5)
    batch: int = 1000

    @max_attempts.validator
    def _check(self, _attr: Any, value: int) -> None:
        if value < 1:
            raise ValueError(f"max_attempts must be at least 1, not {value!r}")

    def _touchpoint(self, rule: str, step: str) -> str | None:
        for r in self.rules:
            if r.code == rule:
                for f in r.follow_ups:
                    if step and f.code == step:
                        return f.touchpoint or r.touchpoint
                return r.touchpoint
        return None

    def enqueue(self, plan: Any, messages: MessageFactory, *, now: Any) -> EnqueueReport:
        """Write ``send``/``deferred`` rows to the outbox; log ``blocked`` ones with their reason.

        ``messages(row)`` renders one contact: ``row`` has ``customer``, ``rule``,
        ``step``, ``key`` and ``channel``; its ``contact_id`` is replaced by the key.
        """
        storage = self.workspace.storage
        cols = plan.columns()
        status = np.asarray(cols["status"]).astype(str)
        send_at = np.asarray(cols["send_at"]).astype("datetime64[us]").astype("int64")
        rows, blocked = [], 0
        for i in range(len(status)):
            row = {k: cols[k][i] for k in ("customer", "rule", "step", "key", "channel")}
            row = {k: str(v) for k, v in row.items()}
            touchpoint = self._touchpoint(row["rule"], row["step"])
            if status[i] == "blocked":
                message = Message(row["key"], row["customer"], "", "", touchpoint=touchpoint)
                reason = f"blocked: {cols['reason'][i]}"
                storage.log_contact(
                    message,
                    Delivery(row["key"], row["channel"], DeliveryStatus.FAILED, reason, attempts=0),
                )
                blocked += 1
                continue
            message = messages(row)
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
                }
            )
        duplicates = storage.enqueue(rows, now=_micros(now)) if rows else []
        return EnqueueReport(len(rows) - len(duplicates), len(duplicates), blocked)

    def run_once(self, now: Any) -> DispatchReport:
        """Send the outbox rows due at ``now``; each outcome is marked in its own transaction."""
        ws, storage = self.workspace, self.workspace.storage
        t = _micros(now)
        sent = retry = dead = 0
        for row in storage.due_outbox(t, self.batch):
            message = Message(
                row["key"],
                row["customer"],
                row["address"] or "",
                row["body"] or "",
                subject=row["subject"] or "",
                touchpoint=row["touchpoint"],
                purpose=row["purpose"],
            )
            delivery = ws.send(message, channel=row["channel"])
            if delivery.ok:
                if row["touchpoint"]:
                    ws.record_batch(
                        [
                            {
                                "event_id": row["key"],
                                "customer": row["customer"],
                                "touchpoint": row["touchpoint"],
                                "time": _datetime(t),
                                "channel": row["channel"],
                                "direction": "outbound",
                            }
                        ],
                        on_reject="quarantine",
                    )
                storage.outbox_sent(row["key"], at=t)
                sent += 1
                continue
            attempts = row["attempts"] + 1
            if delivery.retryable and attempts < self.max_attempts:
                wait = int(self.backoff / dt.timedelta(microseconds=1)) * 2 ** (attempts - 1)
                storage.outbox_failed(row["key"], error=delivery.detail, next_attempt_at=t + wait)
                retry += 1
            else:
                storage.outbox_failed(row["key"], error=delivery.detail, next_attempt_at=None)
                dead += 1
        return DispatchReport(sent, retry, dead)

    def dead_letters(self) -> list[dict[str, Any]]:
        """Outbox rows given up on, with ``attempts`` and ``last_error``."""
        return self.workspace.storage.outbox("dead")


def dispatch(
    workspace: Any,
    plan: Any,
    *,
    now: Any,
    messages: MessageFactory,
    rules: Iterable[Any] = (),
    max_attempts: int = 5,
    backoff: dt.timedelta = dt.timedelta(minutes=5),
) -> DispatchReport:
    """Enqueue ``plan`` and send what is due at ``now`` (one `Dispatcher` pass).

    Later passes (retries, deferred rows) are ``Dispatcher(...).run_once(later)``.
    """
    d = Dispatcher(workspace, rules=tuple(rules), max_attempts=max_attempts, backoff=backoff)
    d.enqueue(plan, messages, now=now)
    return d.run_once(now)
