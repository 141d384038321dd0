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
import typing
from typing import Any

import attrs

from touchpoint.errors import BlueprintError, Problem
from touchpoint.model._checks import (
    as_enum,
    check_code,
    check_text,
    nested,
    raise_if,
    reroot,
    to_tuple,
)
from touchpoint.model._duration import Offset
from touchpoint.model._provenance import Provenance, check_source, to_provenance

__all__ = [
    "BUILTIN_FLOWS",
    "Anchor",
    "CapAction",
    "CareRule",
    "FollowUp",
    "Happening",
    "Purpose",
    "Recurrence",
    "Trigger",
    "TriggerKind",
]


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


class TriggerKind(enum.StrEnum):
    """What a customer did (or stopped doing) that fires a behaviour-triggered care rule."""

    NO_PURCHASE = "no_purchase"
    FIRST_PURCHASE = "first_purchase"
    RATING = "rating"
    COMPLAINT_OPENED = "complaint_opened"
    COMPLAINT_RESOLVED = "complaint_resolved"
    TIER_CHANGE = "tier_change"
    BREACH = "breach"


class Happening(enum.StrEnum):
    """What a customer may do between two steps of a flow: branches and exits read these."""

    REPLIED = "replied"
    PURCHASED = "purchased"
    COMPLAINED = "complained"


#: Re-entry choices besides a waiting time such as ``"90 days"``.
_REENTRY = ("never", "always")


def _offset(value: object) -> Offset:
    return Offset.parse(value)


def _recurrence(value: Any) -> Recurrence:
    return as_enum(Recurrence, value, "recurrence")


def _purpose(value: Any) -> Purpose:
    return as_enum(Purpose, value, "purpose")


def _on_cap(value: Any) -> CapAction:
    return as_enum(CapAction, value, "on_cap")


def _kind(value: Any) -> TriggerKind:
    return as_enum(TriggerKind, value, "kind")


def _happenings(value: Any) -> tuple[Happening, ...]:
    """Happenings by value; unknown ones are kept as given and reported by ``problems``."""
    known: dict[str, Any] = {h.value: h for h in Happening}
    return tuple(known.get(v, v) if isinstance(v, str) else v for v in to_tuple(value))


def _happening_problems(field: str, values: tuple[Any, ...]) -> list[Problem]:
    allowed = ", ".join(h.value for h in Happening)
    return [
        Problem(f"{field}[{i}]", f"must be one of {allowed}", v)
        for i, v in enumerate(values)
        if not isinstance(v, Happening)
    ]


@attrs.frozen
class _BadTrigger:
    """A trigger that failed its checks: kept so the rule reports them under its name."""

    found: tuple[Problem, ...]

    def problems(self) -> list[Problem]:
        return list(self.found)


def _trigger(value: Any) -> Trigger | None:
    if value is None or isinstance(value, Trigger):
        return value
    try:
        if isinstance(value, dict):
            unknown = sorted(set(value) - {f.name for f in attrs.fields(Trigger)})
            if unknown:
                raise BlueprintError(
                    [Problem(unknown[0], "is not a trigger field", value[unknown[0]])]
                )
            return Trigger(**value)
        return Trigger(value)
    except BlueprintError as exc:
        # reported by CareRule.problems with the rule's code (never escapes a rule)
        bad: Any = _BadTrigger(tuple(_strip(p) for p in exc.problems))
        return typing.cast(Trigger, bad)
    except TypeError as exc:
        bad = _BadTrigger((Problem("", f"cannot be read: {exc}", value),))
        return typing.cast(Trigger, bad)


def _strip(problem: Problem) -> Problem:
    """A trigger's problem without the ``trigger 'kind':`` label (the rule adds its own)."""
    message = (
        problem.message.split(": ", 1)[1]
        if problem.message.startswith("trigger ")
        else problem.message
    )
    if problem.has_value:
        return Problem(problem.path, message, problem.value)
    return Problem(problem.path, message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@attrs.frozen
class Trigger:
    """What fires a behaviour-triggered care rule (instead of a date anchor).

    ``kind`` is one of:

    - ``no_purchase``: ``days`` days after a purchase with no purchase since (the lapse
      day; again after each later purchase that lapses);
    - ``first_purchase``: ``days`` days (default 0) after the customer's first purchase;
    - ``rating``: an interaction rated at or below ``at_or_below`` (on ``touchpoint``,
      or any touchpoint);
    - ``complaint_opened`` / ``complaint_resolved``: a complaint opened / resolved;
    - ``tier_change``: the customer moved to a loyalty tier (to one of ``tiers``, or any);
    - ``breach``: an indicator breach recorded for the customer (of ``indicator``, or any).

    The firing's date is the trigger date; a rule fires at most once per customer and
    trigger date, with the key ``rule/customer/trigger-date``.

    >>> Trigger("no_purchase", days=90).kind.value
    'no_purchase'
    >>> Trigger("rating", at_or_below=2, touchpoint="SURVEY").at_or_below
    2
    """

    kind: TriggerKind = attrs.field(converter=_kind)
    days: int | None = None
    at_or_below: float | None = None
    touchpoint: str | None = None
    tiers: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    indicator: str | None = None

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"trigger {self.kind.value!r}")

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        kind = self.kind
        days_needed = kind is TriggerKind.NO_PURCHASE
        days_allowed = kind in (TriggerKind.NO_PURCHASE, TriggerKind.FIRST_PURCHASE)
        if self.days is not None and not days_allowed:
            found.append(
                Problem(
                    "days",
                    f"applies to no_purchase and first_purchase, not {kind.value}",
                    self.days,
                )
            )
        elif days_needed and self.days is None:
            found.append(Problem("days", "no_purchase needs the number of days without a purchase"))
        elif self.days is not None and (
            isinstance(self.days, bool)
            or not isinstance(self.days, int)
            or self.days < (1 if days_needed else 0)
        ):
            found.append(
                Problem("days", f"must be a whole number >= {1 if days_needed else 0}", self.days)
            )
        if kind is TriggerKind.RATING:
            if self.at_or_below is None:
                found.append(Problem("at_or_below", "a rating trigger needs the threshold"))
            elif not _number(self.at_or_below):
                found.append(Problem("at_or_below", "must be a number", self.at_or_below))
        elif self.at_or_below is not None:
            found.append(
                Problem("at_or_below", f"applies to rating, not {kind.value}", self.at_or_below)
            )
        if self.touchpoint is not None:
            if kind is not TriggerKind.RATING:
                found.append(
                    Problem("touchpoint", f"applies to rating, not {kind.value}", self.touchpoint)
                )
            else:
                found += check_code(self.touchpoint, "touchpoint")
        if self.tiers and kind is not TriggerKind.TIER_CHANGE:
            found.append(
                Problem("tiers", f"applies to tier_change, not {kind.value}", list(self.tiers))
            )
        found += [p for i, t in enumerate(self.tiers) for p in check_code(t, f"tiers[{i}]")]
        if self.indicator is not None:
            if kind is not TriggerKind.BREACH:
                found.append(
                    Problem("indicator", f"applies to breach, not {kind.value}", self.indicator)
                )
            else:
                found += check_code(self.indicator, "indicator")
        return found


@attrs.frozen
class FollowUp:
    """A contact chained after a care rule's contact (e.g. the calls after a letter).

    ``touchpoint`` is where the contact is recorded (None: the rule's own touchpoint), so
    that a count indicator such as "three calls after a letter" sees the calls.

    A follow-up depends on the step before it (the rule's own contact for the first):
    when that step was blocked, held, skipped or failed, this one is not sent (the plan
    says why). ``unless`` skips it when the customer replied, purchased or complained
    since the step before (a branch). A ``check`` step sends nothing: it is a review
    that records whether the customer came back (purchased) since the rule fired.

    >>> FollowUp("announce", "Call to announce the letter", offset="1 day", channel="phone").channel
    'phone'
    """

    code: str
    name: str
    offset: Offset = attrs.field(converter=_offset)
    channel: str = "phone"
    message: str = ""
    touchpoint: str | None = None
    unless: tuple[Happening, ...] = attrs.field(default=(), converter=_happenings)
    check: bool = False

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"follow-up {self.code!r}")

    def problems(self) -> list[Problem]:
        found = (
            check_code(self.code)
            + check_text(self.name, "name")
            + check_code(self.channel, "channel")
        )
        found += _happening_problems("unless", self.unless)
        check: Any = self.check
        if not isinstance(check, bool):
            found.append(Problem("check", "must be true or false", check))
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
    anchor: str = ""
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
    trigger: Trigger | None = attrs.field(default=None, converter=_trigger)
    exit_on: tuple[Happening, ...] = attrs.field(default=(), converter=_happenings)
    reentry: str | None = None
    holdout: float = 0.0
    holdout_salt: str = ""
    flow: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.flow is not None and self.flow in BUILTIN_FLOWS:
            # A built-in flow fills what the rule leaves out (frozen: set once, here).
            for name, value in BUILTIN_FLOWS[self.flow].items():
                if getattr(self, name) in (None, (), ""):
                    if name == "follow_ups" and self.channels:  # by the rule's first channel
                        value = tuple(attrs.evolve(f, channel=self.channels[0]) for f in value)
                    object.__setattr__(self, name, value)
        raise_if(self.problems(), f"care rule {self.code!r}")

    def problems(self) -> list[Problem]:
        found = check_code(self.code) + check_text(self.name, "name")
        found += check_code(self.touchpoint, "touchpoint")
        if self.trigger is not None:
            found += reroot("trigger", self.trigger.problems())
        found += _happening_problems("exit_on", self.exit_on)
        if self.trigger is None:
            found += check_code(self.anchor, "anchor")
        elif self.anchor:
            found.append(
                Problem(
                    "anchor", "a rule fired by a trigger counts from the trigger date", self.anchor
                )
            )
        if self.flow is not None and self.flow not in BUILTIN_FLOWS:
            found.append(
                Problem(
                    "flow",
                    f"must be one of the built-in flows {', '.join(BUILTIN_FLOWS)}",
                    self.flow,
                )
            )
        if self.reentry is not None and (
            not isinstance(self.reentry, str)
            or (self.reentry not in _REENTRY and _reentry_wait(self.reentry) is None)
        ):
            found.append(
                Problem(
                    "reentry", "must be 'never', 'always' or a wait such as '90 days'", self.reentry
                )
            )
        if not _number(self.holdout) or not 0 <= self.holdout < 1:
            found.append(Problem("holdout", "must be a share from 0 to below 1", self.holdout))
        elif self.holdout > 0 and not self.holdout_salt:
            found.append(
                Problem(
                    "holdout_salt",
                    "a rule with a holdout needs its own salt (e.g. 'win-back-2026')",
                )
            )
        if self.trigger is None and (self.exit_on or self.reentry is not None):
            found.append(
                Problem(
                    "exit_on" if self.exit_on else "reentry",
                    "applies to rules fired by a trigger",
                    [str(h) for h in self.exit_on] or self.reentry,
                )
            )
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
    def reentry_wait(self) -> Offset | None:
        """The wait before a customer may enter again (None for ``never`` and ``always``)."""
        return _reentry_wait(self.reentry)

    @property
    def anchor_kind(self) -> Anchor | None:
        """The standard anchor, or None when the rule counts from a host-defined date field."""
        try:
            return Anchor(self.anchor)
        except ValueError:
            return None


def _reentry_wait(value: Any) -> Offset | None:
    if not isinstance(value, str) or value in _REENTRY:
        return None
    try:
        wait = Offset.parse(value)
    except ValueError:
        return None
    return wait if wait.amount > 0 else None


#: The material's loops as flows a care rule enables with ``flow=``: the fields a rule
#: leaves empty are filled from here (the steps go by the rule's first channel). The trigger finds who (流失: no purchase for 180
#: days; 新客户: a first purchase), the rule's own contact acts, and the ``review`` /
#: ``check`` step records whether the customer came back (the material's 检查 step).
BUILTIN_FLOWS: dict[str, dict[str, Any]] = {
    "win-back": {
        "trigger": Trigger(TriggerKind.NO_PURCHASE, days=180),
        "exit_on": (Happening.PURCHASED,),
        "reentry": "365 days",
        "follow_ups": (
            FollowUp(
                "remind",
                "Second contact if no reply",
                offset="14 days",
                unless=("replied", "purchased"),
            ),
            FollowUp("review", "Review: did the customer come back?", offset="60 days", check=True),
        ),
    },
    "new-customer": {
        "trigger": Trigger(TriggerKind.FIRST_PURCHASE, days=7),
        "follow_ups": (
            FollowUp(
                "check", "Check: a second purchase within 90 days?", offset="90 days", check=True
            ),
        ),
    },
}
