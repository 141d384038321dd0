"""What ``touchpoint agenda`` and ``touchpoint dispatch`` share: the day, the customers, channels.

A workspace keeps its customers as records (`touchpoint.Customer`); the care agenda and
the contact policy read columns. `customer_columns` turns the stored records into the
columns `touchpoint.care.agenda` and `touchpoint.care.plan_contacts` read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import naive_utc

__all__ = ["PLAN_HOUR", "add_channels", "customer_columns", "moment"]

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


def customer_columns(people: list[Any], anchors: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(customers, consents) as columns, from stored `touchpoint.Customer` records.

    One pass over the records to turn objects into columns, as a storage's reader does.
    """
    dates = [dict(p.dates) for p in people]
    customers: dict[str, Any] = {
        "customer": np.array([p.id for p in people], dtype=object),
        "timezone": np.array([p.timezone for p in people], dtype=object),
        "segment": np.array([p.segment for p in people], dtype=object),
        "tier": np.array([p.tier for p in people], dtype=object),
        "do_not_contact": np.array([p.do_not_contact for p in people], dtype=bool),
        "preferred_channel": np.array(
            [p.preferred_channels[0] if p.preferred_channels else None for p in people],
            dtype=object,
        ),
    }
    for anchor in sorted(anchors):  # one column per anchor the care rules use
        customers[anchor] = np.array([d.get(anchor) for d in dates], dtype="datetime64[D]")
    rows = [(p.id, c) for p in people for c in p.consents]
    consents: dict[str, Any] = {
        "customer": np.array([who for who, _ in rows], dtype=object),
        "channel": np.array([c.channel for _, c in rows], dtype=object),
        "purpose": np.array(
            [str(getattr(c.purpose, "value", c.purpose)) for _, c in rows], dtype=object
        ),
        "granted": np.array([c.granted for _, c in rows], dtype=bool),
        "time": np.array(
            [naive_utc(c.at) for _, c in rows],
            dtype="datetime64[us]",
        ),
    }
    return customers, consents


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
