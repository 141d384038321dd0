"""Control indicators (控制指标): the measurable standard attached to a touchpoint.

How compliance is judged
------------------------
Compliance is the share of *observed* cases that meet the indicator; a case the data says
nothing about is not observed and counts neither way.

- ``time_limit``: each interaction at the touchpoint with a response time is a case; it
  meets the indicator when ``response_time`` (converted to ``unit``) compares true with
  ``target`` (default comparison ``<=``: "reply to e-mail within 24 hours").
- ``rating``: each interaction with a rating is a case; it meets when ``rating`` compares
  true with ``target`` (default ``>=``: "satisfaction at least 4 of 5").
- ``count``: each interaction at the touchpoint opens a case; the case's measure is how
  many interactions the same customer then has at the ``counts`` touchpoints (the
  touchpoint itself if empty) within ``within`` after it; it meets when that number
  compares true with ``target`` (default ``>=``: "three follow-up calls after a letter").
- ``checklist``: each audit record (an interaction at the touchpoint whose ``indicator``
  is this indicator's code, e.g. one line of a mystery-shopper form) is a case; outcome
  ``"pass"`` meets, ``"fail"`` breaches, anything else is not observed.

A case that does not meet its indicator is a *breach*: an event host applications can
react to. ``weight`` ranks indicators within a touchpoint when they are combined.

Examples
--------
>>> reply = ControlIndicator("reply-24h", "Reply to e-mail within 24 hours",
...                          kind="time_limit", target=24, unit="hours")
>>> reply.comparison.value, reply.meets(20 * 3600), reply.meets(30 * 3600)
('<=', True, False)
>>> ControlIndicator("csat", "Satisfied", kind="rating", target=4).meets(5)
True
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Callable
from typing import Any

import attrs

from touchpoint.errors import Problem
from touchpoint.model._checks import (
    as_enum,
    check_code,
    check_number,
    check_text,
    raise_if,
    to_tuple,
)
from touchpoint.model._duration import TIME_UNITS, parse_timedelta
from touchpoint.model._provenance import Provenance, check_source, to_provenance

__all__ = ["Comparison", "ControlIndicator", "IndicatorKind", "rating_range"]


def rating_range(top: float) -> tuple[float, float]:
    """The ratings a scale whose top is ``top`` allows: ``(lowest, highest)``.

    An indicator states only the top of its rating scale. Star and agreement scales of 2
    to 9 points start at 1 (1-5, 1-7); a scale of 10 or more starts at 0 (the 0-10
    "how likely are you to recommend us" of NPS, 0-100), and so does a 0-1 (thumbs down
    / up) scale. Ingest (`touchpoint.schema.validate_records`) and the rating-based scores read
    scales by this one rule.

    >>> rating_range(5), rating_range(10), rating_range(1)
    ((1.0, 5.0), (0.0, 10.0), (0.0, 1.0))
    """
    top = float(top)
    return (1.0 if 1 < top < 10 else 0.0), top


class IndicatorKind(enum.StrEnum):
    """What an indicator measures: a time limit, a count, a checklist item or a rating."""

    TIME_LIMIT = "time_limit"
    COUNT = "count"
    CHECKLIST = "checklist"
    RATING = "rating"


class Comparison(enum.StrEnum):
    """How the measured value is compared with the target."""

    LE = "<="
    LT = "<"
    GE = ">="
    GT = ">"
    EQ = "=="

    @property
    def op(self) -> Callable[[Any, Any], Any]:
        """The operator; works elementwise on numpy arrays."""
        return _OPS[self]


_OPS = {
    Comparison.LE: operator.le,
    Comparison.LT: operator.lt,
    Comparison.GE: operator.ge,
    Comparison.GT: operator.gt,
    Comparison.EQ: operator.eq,
}
_DEFAULT_COMPARISON = {
    IndicatorKind.TIME_LIMIT: Comparison.LE,
    IndicatorKind.COUNT: Comparison.GE,
    IndicatorKind.CHECKLIST: Comparison.EQ,
    IndicatorKind.RATING: Comparison.GE,
}
_DEFAULT_UNIT = {
    IndicatorKind.TIME_LIMIT: "hours",
    IndicatorKind.COUNT: "contacts",
    IndicatorKind.CHECKLIST: "pass",
    IndicatorKind.RATING: "points",
}


def _comparison(value: Any) -> Comparison | None:
    return None if value is None else as_enum(Comparison, value, "comparison")


def _within(value: Any) -> dt.timedelta | None:
    return None if value is None else parse_timedelta(value)


def _kind(value: Any) -> IndicatorKind:
    return as_enum(IndicatorKind, value, "kind")


@attrs.frozen
class ControlIndicator:
    """A measurable standard for a touchpoint; see the module docs for how it is judged.

    Parameters
    ----------
    code, name:
        Identifier (unique within its touchpoint) and readable name.
    kind:
        ``time_limit``, ``count``, ``checklist`` or ``rating``.
    target:
        The threshold, in ``unit``. For a checklist item it is 1 (the item passes).
    comparison:
        ``<=``, ``<``, ``>=``, ``>`` or ``==``; defaults by kind (``<=`` for time limits,
        ``>=`` for counts and ratings, ``==`` for checklists).
    unit:
        For time limits one of seconds, minutes, hours, days, weeks; free text otherwise.
    weight:
        Relative importance within the touchpoint, > 0.
    scale:
        For ratings, the top of the rating scale (5, 10); None if unstated.
    counts, within:
        For counts: which touchpoints' interactions are counted (empty: this one) and in
        what time after the triggering interaction (e.g. ``"7 days"``).
    source, source_note:
        Where the standard (what is checked, the target, the window) comes from: ``own``
        (the default, the author's own standard), ``material`` (the source material, the
        note quoting where) or ``example`` (a figure made up to illustrate, the note
        saying what the material does say); see `touchpoint.model.Provenance`. The
        weight is never part of it.

    Examples
    --------
    >>> greet = ControlIndicator(
    ...     "greet-time", "Visitor greeted within 1 minute", kind="time_limit", target=1,
    ...     unit="minutes", source="example",
    ...     source_note="the material says 及时迎接 (greet promptly), without a number")
    >>> greet.source.value, greet.source.label
    ('example', 'example value')
    >>> ControlIndicator("smile", "Greets with a smile", kind="checklist").source.value
    'own'
    """

    code: str
    name: str
    kind: IndicatorKind = attrs.field(converter=_kind)
    target: float = 1.0
    comparison: Comparison = attrs.field(default=None, converter=_comparison)
    unit: str = ""
    weight: float = 1.0
    description: str = ""
    scale: float | None = None
    counts: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    within: dt.timedelta | None = attrs.field(default=None, converter=_within)
    source: Provenance = attrs.field(default=Provenance.OWN, converter=to_provenance)
    source_note: str = ""

    def __attrs_post_init__(self) -> None:
        given: object = self.comparison  # None when not given: the kind's own
        if given is None:
            object.__setattr__(self, "comparison", _DEFAULT_COMPARISON[self.kind])
        if not self.unit:
            object.__setattr__(self, "unit", _DEFAULT_UNIT[self.kind])
        raise_if(self.problems(), f"indicator {self.code!r}")

    def problems(self) -> list[Problem]:
        found = check_code(self.code) + check_text(self.name, "name")
        found += check_number(self.target, "target")
        found += check_number(self.weight, "weight", minimum=0, strict_minimum=True)
        found += check_number(self.scale, "scale", minimum=0, strict_minimum=True, allow_none=True)
        found += check_source(self.source, self.source_note)
        if self.kind is IndicatorKind.TIME_LIMIT:
            if self.unit not in TIME_UNITS:
                found.append(
                    Problem("unit", f"a time limit needs one of {', '.join(TIME_UNITS)}", self.unit)
                )
            if isinstance(self.target, int | float) and self.target < 0:
                found.append(Problem("target", "a time limit cannot be negative", self.target))
        if self.kind is IndicatorKind.COUNT:
            if self.within is None or self.within <= dt.timedelta(0):
                found.append(
                    Problem(
                        "within", "a count needs a positive window such as '7 days'", self.within
                    )
                )
            found += [p for i, c in enumerate(self.counts) for p in check_code(c, f"counts[{i}]")]
        if (
            self.kind is IndicatorKind.RATING
            and self.scale is not None
            and isinstance(self.target, int | float)
            and self.target > self.scale
        ):
            found.append(
                Problem("target", f"is above the rating scale of {self.scale:g}", self.target)
            )
        return found

    @property
    def target_seconds(self) -> float:
        """For a time limit, the target in seconds."""
        return float(self.target) * TIME_UNITS.get(self.unit, 1)

    def meets(self, measured: Any) -> Any:
        """Whether a measured value meets the indicator (elementwise for numpy arrays).

        For time limits ``measured`` is in seconds; for checklists it is 1 (pass) or 0.
        """
        target = self.target_seconds if self.kind is IndicatorKind.TIME_LIMIT else self.target
        return self.comparison.op(measured, target)
