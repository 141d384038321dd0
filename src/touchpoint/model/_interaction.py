"""`Interaction`: one recorded contact between a customer and the company.

This is the domain object for a single record; large volumes live in columns (see
`touchpoint.frame`), never as one object per row on a hot path.

Times are timezone-aware; a naive time is taken as UTC. Response times are in seconds.

Examples
--------
>>> import datetime as dt
>>> i = Interaction(event_id="e1", customer="C001", touchpoint="A102", channel="store",
...                 time=dt.datetime(2026, 3, 1, 10, 30), amount=399.0, rating=5)
>>> i.time.tzinfo is dt.UTC, i.direction.value
(True, 'inbound')
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import attrs

from touchpoint.errors import Problem, ValidationError
from touchpoint.model._checks import as_enum, check_code
from touchpoint.model._classification import Direction

__all__ = ["Interaction", "as_utc"]


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime; naive values are taken as UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _time(value: Any) -> Any:
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _direction(value: Any) -> Direction:
    return as_enum(Direction, value, "direction")


@attrs.frozen
class Interaction:
    """One contact: who, at which touchpoint and channel, when, and what came of it.

    Parameters
    ----------
    event_id:
        Unique id of the event; storing the same id twice stores it once.
    customer, touchpoint, channel:
        Customer id, touchpoint code, channel name.
    time:
        When it happened (aware; naive is UTC).
    direction:
        ``inbound`` or ``outbound``.
    amount:
        Money spent (currency units, float64), if a purchase; >= 0.
    rating:
        Satisfaction given at the touchpoint, if any.
    response_time:
        Seconds the company took to respond, if measured; >= 0.
    outcome:
        Free outcome label (``"purchase"``, ``"pass"``/``"fail"`` for audit items...).
    staff, store, referrer:
        Who served, where, and the customer who referred this one.
    indicator:
        For audit records, the checklist indicator this record scores.
    """

    event_id: str
    customer: str
    touchpoint: str
    time: dt.datetime = attrs.field(converter=_time)
    channel: str | None = None
    direction: Direction = attrs.field(default=Direction.INBOUND, converter=_direction)
    amount: float | None = None
    rating: float | None = None
    response_time: float | None = None
    outcome: str | None = None
    staff: str | None = None
    store: str | None = None
    referrer: str | None = None
    indicator: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = check_code(self.event_id, "event_id") + check_code(self.touchpoint, "touchpoint")
        if not isinstance(self.customer, str) or not self.customer:
            problems.append(Problem("customer", "must be a non-empty id", self.customer))
        time: object = self.time  # the converter passes a value that is no datetime on
        if not isinstance(time, dt.datetime):
            problems.append(Problem("time", "must be a datetime", time))
        for name in ("amount", "response_time"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                problems.append(Problem(name, "must be a finite number >= 0", value))
        if self.rating is not None and (
            isinstance(self.rating, bool)
            or not isinstance(self.rating, int | float)
            or not math.isfinite(self.rating)
        ):
            problems.append(Problem("rating", "must be a finite number", self.rating))
        if problems:
            raise ValidationError(
                [
                    Problem(p.path, f"interaction {self.event_id!r}: {p.message}", p.value)
                    for p in problems
                ]
            )
