"""Promises (承诺) and complaints (抱怨, 投诉).

A promise made to a customer is recorded with its due date and checked against the
company's bottom line (`PromisePolicy`); a complaint is tracked from opening to first
response to resolution.

Examples
--------
>>> import datetime as dt
>>> policy = PromisePolicy(max_value=500, max_days=30)
>>> p = Promise("P1", customer="C001", description="Free first service",
...             made_at=dt.datetime(2026, 3, 1), due=dt.datetime(2026, 3, 20), value=300)
>>> policy.problems(p)
[]
>>> c = Complaint("K1", customer="C001", opened_at=dt.datetime(2026, 3, 1, 9),
...               first_response_at=dt.datetime(2026, 3, 1, 11), type="service")
>>> c.first_response_time
datetime.timedelta(seconds=7200)
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from touchpoint._deprecation import renamed
from touchpoint.errors import BlueprintError, Problem, ValidationError
from touchpoint.model._checks import as_enum, check_code, check_number
from touchpoint.model._interaction import as_utc
from touchpoint.model._provenance import Provenance, check_source, to_provenance

__all__ = [
    "ChurnKind",
    "Complaint",
    "ComplaintType",
    "Promise",
    "PromisePolicy",
    "PromiseStatus",
]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if isinstance(value, dt.datetime) else value


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    BROKEN = "broken"


@attrs.frozen
class PromisePolicy:
    """The company's bottom line for promises (底线): at most ``max_value``, due within ``max_days``.

    ``source`` and ``source_note`` say where the two figures come from (``own`` by
    default, ``material`` or ``example``; see `touchpoint.model.Provenance`).

    >>> PromisePolicy(max_value=2000, max_days=30, source="example").source.label
    'example value'
    """

    max_value: float | None = None
    max_days: int | None = None
    source: Provenance = attrs.field(default=Provenance.OWN, converter=to_provenance)
    source_note: str = ""

    def __attrs_post_init__(self) -> None:
        problems = check_number(self.max_value, "max_value", minimum=0, allow_none=True)
        problems += check_number(self.max_days, "max_days", minimum=0, allow_none=True)
        problems += check_source(self.source, self.source_note)
        if problems:
            raise BlueprintError(
                [Problem(p.path, f"promise policy: {p.message}", p.value) for p in problems]
            )

    def problems(self, promise: Promise) -> list[Problem]:
        """Why ``promise`` breaks the bottom line (empty if it does not)."""
        found = []
        if self.max_value is not None and promise.value > self.max_value:
            found.append(
                Problem("value", f"exceeds the bottom line of {self.max_value:g}", promise.value)
            )
        if self.max_days is not None and promise.due - promise.made_at > dt.timedelta(
            days=self.max_days
        ):
            found.append(
                Problem(
                    "due",
                    f"is more than {self.max_days} days after the promise",
                    promise.due.isoformat(),
                )
            )
        return found


def _status(value: Any) -> PromiseStatus:
    return as_enum(PromiseStatus, value, "status")


@attrs.frozen
class Promise:
    """What a member of staff promised a customer, by when, and what it costs the company."""

    id: str
    customer: str
    description: str
    made_at: dt.datetime = attrs.field(converter=_utc)
    due: dt.datetime = attrs.field(converter=_utc)
    value: float = 0.0
    made_by: str | None = None
    status: PromiseStatus = attrs.field(default=PromiseStatus.OPEN, converter=_status)
    fulfilled_at: dt.datetime | None = attrs.field(default=None, converter=_utc)

    def __attrs_post_init__(self) -> None:
        problems = check_code(self.id, "id") + check_number(self.value, "value", minimum=0)
        if (
            isinstance(self.due, dt.datetime)
            and isinstance(self.made_at, dt.datetime)
            and self.due < self.made_at
        ):
            problems.append(Problem("due", "is before the promise was made", self.due.isoformat()))
        if problems:
            raise ValidationError(
                [Problem(p.path, f"promise {self.id!r}: {p.message}", p.value) for p in problems]
            )

    @renamed(now="asof")
    def is_overdue(self, asof: dt.datetime) -> bool:
        """Whether the promise is open and past its due date at ``asof`` (naive is UTC)."""
        return self.status is PromiseStatus.OPEN and as_utc(asof) > self.due


class ComplaintType(enum.StrEnum):
    PRODUCT = "product"
    SERVICE = "service"
    PRICE = "price"
    DELIVERY = "delivery"
    ATTITUDE = "attitude"
    BILLING = "billing"
    OTHER = "other"


class ChurnKind(enum.StrEnum):
    """The material's kinds of churn (流失): natural, malicious, competitive, negligence."""

    NATURAL = "natural"
    MALICIOUS = "malicious"
    COMPETITIVE = "competitive"
    NEGLIGENCE = "negligence"


def _complaint_type(value: Any) -> ComplaintType:
    return as_enum(ComplaintType, value, "type")


@attrs.frozen
class Complaint:
    """A complaint from opening to first response to resolution.

    ``resolution`` says how it was resolved (free text; empty while it is open).
    """

    id: str
    customer: str
    opened_at: dt.datetime = attrs.field(converter=_utc)
    type: ComplaintType = attrs.field(default=ComplaintType.OTHER, converter=_complaint_type)
    cause: str = ""
    touchpoint: str | None = None
    channel: str | None = None
    first_response_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    resolved_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    resolution: str = ""

    def __attrs_post_init__(self) -> None:
        problems = check_code(self.id, "id")
        for name in ("first_response_at", "resolved_at"):
            value = getattr(self, name)
            if value is not None and value < self.opened_at:
                problems.append(
                    Problem(name, "is before the complaint was opened", value.isoformat())
                )
        if problems:
            raise ValidationError(
                [Problem(p.path, f"complaint {self.id!r}: {p.message}", p.value) for p in problems]
            )

    @property
    def first_response_time(self) -> dt.timedelta | None:
        return None if self.first_response_at is None else self.first_response_at - self.opened_at

    @property
    def resolution_time(self) -> dt.timedelta | None:
        return None if self.resolved_at is None else self.resolved_at - self.opened_at
