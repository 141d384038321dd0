"""`Customer` with per-channel, per-purpose consent.

Personal values (name, e-mail, phone, address) are masked in the repr.

Examples
--------
>>> c = Customer("C001", name="Zhang Wei", email="zhang.wei@example.com",
...              consents=[Consent("email", "marketing", granted=False),
...                        Consent("sms", "service")])
>>> c
Customer(id='C001', name='Z***', email='z***@e***.com', phone=None, ...)
>>> c.allows("sms", "service"), c.allows("email", "marketing"), c.allows("phone", "service")
(True, False, False)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from touchpoint._privacy import mask_email, mask_name, mask_phone
from touchpoint.errors import Problem, ValidationError
from touchpoint.model._care import Purpose
from touchpoint.model._checks import as_enum, check_code, to_tuple

__all__ = ["Consent", "Customer"]


def _purpose(value: Any) -> Purpose:
    return as_enum(Purpose, value, "purpose")


@attrs.frozen
class Consent:
    """Whether the customer agrees to be contacted through ``channel`` for ``purpose``."""

    channel: str
    purpose: Purpose = attrs.field(default=Purpose.SERVICE, converter=_purpose)
    granted: bool = True
    at: dt.datetime | None = None


def _masked(fn: Any) -> Any:
    return lambda v: "None" if v is None else repr(fn(v))


def _frozen_mapping(
    value: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    return tuple(value or ())


@attrs.frozen(repr=False)
class Customer:
    """A customer: id, contact details, time zone, dates and consent.

    ``dates`` holds the anchor dates care rules count from (``birthday``, ``move_in``,
    ``warranty_end``...); ``attributes`` holds anything else the host keeps.
    Without an explicit `Consent` for a channel and purpose, the customer is not contacted.
    """

    id: str
    name: str | None = attrs.field(default=None, repr=_masked(mask_name))
    email: str | None = attrs.field(default=None, repr=_masked(mask_email))
    phone: str | None = attrs.field(default=None, repr=_masked(mask_phone))
    address: str | None = attrs.field(default=None, repr=_masked(mask_name))
    timezone: str = "UTC"
    consents: tuple[Consent, ...] = attrs.field(default=(), converter=to_tuple)
    preferred_channels: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    dates: tuple[tuple[str, dt.date], ...] = attrs.field(default=(), converter=_frozen_mapping)
    segment: str | None = None
    tier: str | None = None
    referrer: str | None = None
    do_not_contact: bool = False

    def __attrs_post_init__(self) -> None:
        problems = check_code(self.id, "id")
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(self.timezone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            problems.append(Problem("timezone", "is not a known IANA time zone", self.timezone))
        if problems:
            raise ValidationError(
                [Problem(p.path, f"customer {self.id!r}: {p.message}", p.value) for p in problems]
            )

    def __repr__(self) -> str:
        return (
            f"Customer(id={self.id!r}, name={_masked(mask_name)(self.name)}, "
            f"email={_masked(mask_email)(self.email)}, phone={_masked(mask_phone)(self.phone)}, ...)"
        )

    def allows(self, channel: str, purpose: str | Purpose = Purpose.SERVICE) -> bool:
        """Whether this customer may be contacted on ``channel`` for ``purpose`` (latest consent wins)."""
        if self.do_not_contact:
            return False
        answer = False
        for consent in self.consents:
            if consent.channel == channel and consent.purpose == purpose:
                answer = consent.granted
        return answer

    def date(self, name: str) -> dt.date | None:
        """The anchor date called ``name`` (``birthday``, ``move_in``...), if known."""
        return dict(self.dates).get(name)
