"""What ``touchpoint agenda`` and ``touchpoint dispatch`` share: the day, the customers, channels.

A workspace keeps its customers as records (`touchpoint.Customer`); the care agenda and
the contact policy read columns. `stored_customer_columns` gets them from the storage
(`touchpoint.storage.Storage.care_columns`): the columns `touchpoint.care.agenda` and
`touchpoint.care.plan_contacts` read.
"""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError

__all__ = [
    "PLAN_HOUR",
    "add_channels",
    "join_plans",
    "moment",
    "reactive_plan",
    "stored_customer_columns",
]

#: Trigger kinds a workspace can evaluate from what it stores (interactions, complaints).
STORED_TRIGGERS = (
    "no_purchase",
    "first_purchase",
    "rating",
    "complaint_opened",
    "complaint_resolved",
)

#: Hour (UTC) of the moment a run with ``--asof DATE`` plans and sends at.
PLAN_HOUR = 10


def moment(asof: str | None) -> tuple[dt.date, dt.datetime]:
    """(the day, the moment) of a run: ``--asof DATE`` at `PLAN_HOUR` UTC, or now."""
    if asof is None:
        now = dt.datetime.now(dt.UTC)
        return now.date(), now
    try:
        day = dt.date.fromisoformat(asof)
    except ValueError:
        raise ValidationError([Problem("--asof", "must be a date, YYYY-MM-DD", asof)]) from None
    return day, dt.datetime.combine(day, dt.time(PLAN_HOUR), tzinfo=dt.UTC)


def stored_customer_columns(
    storage: Any, anchors: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(customers, consents) of a storage's customers: its `Storage.care_columns`.

    The built-in SQLite and PostgreSQL storages make them from their stored documents,
    without a `touchpoint.Customer` per record (1M customers: 53-63 s with the collector
    paused, see benchmarks/README.md); the base class's default goes through
    `customer_columns` of the records.
    """
    # Parsing a million documents makes no reference cycles, but its allocations set off
    # full collections that walk every live object array (1M customers: 117 s with the
    # collector, 53-63 s without; benchmarks/prototypes/care_columns_gc.py). A command
    # owns its process: the collector is paused for this read only.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return storage.care_columns(anchors)  # type: ignore[no-any-return]
    finally:
        if collecting:
            gc.enable()


def add_channels(ws: Any, mappings: list[str]) -> dict[str, str]:
    """Configure ``NAME=KIND`` channels (``sms=outbox``) in the workspace; returns them."""
    out: dict[str, str] = {}
    for item in mappings:
        name, sep, kind = item.partition("=")
        if not sep or not name or not kind:
            raise ValidationError(
                [Problem("--channel", "must be NAME=KIND, such as sms=outbox", item)]
            )
        ws.add_channel(name, kind=kind)
        out[name] = kind
    return out


def reactive_plan(
    ws: Any, blueprint: Any, customers: Any, consents: Any, *, day: dt.date, now: dt.datetime
) -> tuple[Any, Any, list[str]] | None:
    """(due, plan, skipped rule codes) of the blueprint's trigger rules over the workspace.

    The rules fire on the stored interactions and complaints; each flow step reads what
    became of the step before from the outbox and the contact log
    (`touchpoint.care.step_outcomes`). Rules on tier changes and breaches need tables the
    workspace does not store: they are skipped and named. None when there are no
    trigger rules.
    """
    from touchpoint import care

    rules = [r for r in blueprint.care_rules if r.trigger is not None]
    if not rules:
        return None
    usable = [r for r in rules if r.trigger.kind.value in STORED_TRIGGERS]
    skipped = [r.code for r in rules if r not in usable]
    events = ws.interactions()
    complaints = ws.storage.complaints()
    due = care.triggered(usable, events, asof=day, complaints=complaints, customers=customers)
    try:
        outcomes = care.step_outcomes(ws.storage)
    except NotImplementedError:  # a storage without an outbox: steps in this plan only
        outcomes = None
    plan = care.plan_contacts(
        due,
        usable,
        customers=customers,
        consents=consents,
        now=now,
        outcomes=outcomes,
        happenings=care.happenings(events, complaints=complaints),
    )
    return due, plan, skipped


def join_plans(first: Any, second: Any) -> Any:
    """Two contact plans as one (the date rules' and the trigger rules')."""
    from touchpoint.care import ContactPlan

    a, b = first.columns(), second.columns()
    return ContactPlan(**{k: np.concatenate([a[k], b[k]]) for k in a})
