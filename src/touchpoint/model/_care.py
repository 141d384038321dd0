"""Care rules (关键时刻的互动, 周期性互动): contacts due relative to a customer's dates.

A rule says: relative to an anchor date (purchase, move-in, birthday, warranty end, last
contact, a stage entered, or any date field the host keeps), after an offset, possibly
recurring, contact eligible customers through their preferred channel, for a purpose
(service or marketing, which consent treats differently). Follow-ups chain further
contacts after the first (the letter followed by three calls).

Examples
--------
>>> visit = CareRule(
...     code="visit-3m", name="Follow-up visit three months after moving in",
...     touchpoint="RE-VISIT", anchor="move_in", offset="3 months",
...     channels=["phone", "visit"],
... )
>>> str(visit.offset), visit.recurrence.value
('3 months', 'none')
>>> birthday = CareRule("birthday", "Birthday greetings", touchpoint="RE-BDAY",
...                     anchor="birthday", recurrence="yearly", channels=["call-centre"])
>>> birthday.recurrence.value
'yearly'
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from touchpoint.errors import Problem
from touchpoint.model._checks import (
    as_enum,
    check_code,
    check_text,
    nested,
    raise_if,
    to_tuple,
)
from touchpoint.model._duration import Offset
from touchpoint.model._provenance import Provenance, check_source, to_provenance

__all__ = ["Anchor", "CapAction", "CareRule", "FollowUp", "Purpose", "Recurrence"]


class Anchor(enum.StrEnum):
    """The customer date a care rule counts from (a host may also name its own date field)."""

    PURCHASE = "purchase"
    MOVE_IN = "move_in"
    BIRTHDAY = "birthday"
    WARRANTY_END = "warranty_end"
    LAST_CONTACT = "last_contact"
    STAGE_ENTERED = "stage_entered"
    SIGNUP = "signup"
    CHILD_BIRTH = "child_birth"


class Recurrence(enum.StrEnum):
    """How often a rule repeats after its first occurrence."""

    NONE = "none"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class Purpose(enum.StrEnum):
    """Why the company makes contact; consent is given per purpose."""

    SERVICE = "service"
    MARKETING = "marketing"


class CapAction(enum.StrEnum):
    """What to do with a contact over the frequency cap: a choice declared per rule."""

    DROP = "drop"
    DEFER = "defer"
    EXEMPT = "exempt"


def _offset(value: object) -> Offset:
    return Offset.parse(value)


def _recurrence(value: Any) -> Recurrence:
    return as_enum(Recurrence, value, "recurrence")


def _purpose(value: Any) -> Purpose:
    return as_enum(Purpose, value, "purpose")


def _on_cap(value: Any) -> CapAction:
    return as_enum(CapAction, value, "on_cap")


@attrs.frozen
class FollowUp:
    """A contact chained after a care rule's contact (e.g. the calls after a letter).

    ``touchpoint`` is where the contact is recorded (None: the rule's own touchpoint), so
    that a count indicator such as "three calls after a letter" sees the calls.

    >>> FollowUp("announce", "Call to announce the letter", offset="1 day", channel="phone").channel
    'phone'
    """

    code: str
    name: str
    offset: Offset = attrs.field(converter=_offset)
    channel: str = "phone"
    message: str = ""
    touchpoint: str | None = None

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"follow-up {self.code!r}")

    def problems(self) -> list[Problem]:
        found = (
            check_code(self.code)
            + check_text(self.name, "name")
            + check_code(self.channel, "channel")
        )
        if self.offset.amount < 0:
            found.append(Problem("offset", "a follow-up comes after its contact", str(self.offset)))
        return found


@attrs.frozen
class CareRule:
    """A scheduled care contact.

    Parameters
    ----------
    code, name:
        Identifier and description.
    touchpoint:
        Code of the touchpoint the contact realises.
    anchor:
        An `Anchor` value or the name of a date field the host keeps for customers.
    offset:
        When, relative to the anchor (``"3 months"``, ``"-30 days"`` for before).
    recurrence:
        ``none``, ``monthly``, ``quarterly`` or ``yearly``; ``occurrences`` caps repeats.
    channels:
        Channel names in order of preference (fallback when one is not allowed).
    purpose:
        ``service`` or ``marketing``.
    segments, tiers, stages:
        Eligibility: only customers in these (empty means everyone).
    on_cap:
        ``drop``, ``defer`` or ``exempt`` when the contact is over a frequency cap.
    message:
        The message template.
    follow_ups:
        Contacts chained after this one.
    source, source_note:
        Where the rule's timing (anchor, offset, recurrence, occurrences and the
        follow-ups' offsets) comes from: ``own`` (the default), ``material`` or
        ``example``; see `touchpoint.model.Provenance`.
    """

    code: str
    name: str
    touchpoint: str
    anchor: str
    offset: Offset = attrs.field(default=Offset(0, "days"), converter=_offset)
    recurrence: Recurrence = attrs.field(default=Recurrence.NONE, converter=_recurrence)
    occurrences: int | None = None
    channels: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    purpose: Purpose = attrs.field(default=Purpose.SERVICE, converter=_purpose)
    segments: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    tiers: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    stages: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    on_cap: CapAction = attrs.field(default=CapAction.DEFER, converter=_on_cap)
    message: str = ""
    follow_ups: tuple[FollowUp, ...] = attrs.field(default=(), converter=to_tuple)
    source: Provenance = attrs.field(default=Provenance.OWN, converter=to_provenance)
    source_note: str = ""

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"care rule {self.code!r}")

    def problems(self) -> list[Problem]:
        found = check_code(self.code) + check_text(self.name, "name")
        found += check_code(self.touchpoint, "touchpoint") + check_code(self.anchor, "anchor")
        if not self.channels:
            found.append(Problem("channels", "needs at least one channel"))
        found += [p for i, c in enumerate(self.channels) for p in check_code(c, f"channels[{i}]")]
        if self.occurrences is not None and (
            isinstance(self.occurrences, bool)
            or not isinstance(self.occurrences, int)
            or self.occurrences < 1
        ):
            found.append(Problem("occurrences", "must be a whole number >= 1", self.occurrences))
        found += nested("follow_ups", self.follow_ups)
        found += check_source(self.source, self.source_note)
        return found

    @property
    def anchor_kind(self) -> Anchor | None:
        """The standard anchor, or None when the rule counts from a host-defined date field."""
        try:
            return Anchor(self.anchor)
        except ValueError:
            return None
