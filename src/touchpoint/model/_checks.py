"""Small building blocks the domain classes use to validate themselves.

Every check returns `Problem`s with a path relative to the object (``"weight"``,
``"tiers[1].threshold"``), so that a loader can re-root them at the object's place in
a file (``"touchpoints[3].weight"``) and report every problem at once.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from touchpoint.errors import BlueprintError, Problem

E = TypeVar("E", bound=enum.Enum)

#: Codes and names used as keys: letters, digits, ``-``, ``_``, ``.``, ``/``; no spaces.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")


def as_enum(enum_cls: type[E], value: Any, field: str) -> E:
    """An enum member from itself or its value; a `BlueprintError` naming ``field`` otherwise.

    The attrs classes call it from one named converter per enum field (``_stage``,
    ``_line``...), which type checkers understand, unlike converters made by a factory.

    >>> from touchpoint.model import Line
    >>> as_enum(Line, "service", "line")
    <Line.SERVICE: 'service'>
    """
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise BlueprintError([Problem(field, f"must be one of {allowed}", value)]) from None


def to_tuple(value: Any) -> tuple[Any, ...]:
    """Converter: any iterable (but a lone string) to a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def check_code(value: Any, field: str = "code") -> list[Problem]:
    if not isinstance(value, str) or not CODE_PATTERN.match(value):
        return [
            Problem(
                field,
                "must be a non-empty code of letters, digits, '-', '_', '.' or '/' (no spaces)",
                value,
            )
        ]
    return []


def check_text(value: Any, field: str) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(field, "must be non-empty text", value)]
    return []


def check_number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    allow_none: bool = False,
) -> list[Problem]:
    """A finite real number within bounds."""
    if value is None and allow_none:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return [Problem(field, "must be a finite number", value)]
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        sign = ">" if strict_minimum else ">="
        return [Problem(field, f"must be {sign} {minimum:g}", value)]
    if maximum is not None and value > maximum:
        return [Problem(field, f"must be <= {maximum:g}", value)]
    return []


def nested(prefix: str, items: Iterable[Any]) -> list[Problem]:
    """Problems of nested objects that expose ``problems()``, re-rooted under ``prefix[i]``."""
    found: list[Problem] = []
    for i, item in enumerate(items):
        problems = getattr(item, "problems", None)
        if problems is not None:
            found.extend(reroot(f"{prefix}[{i}]", problems()))
    return found


def reroot(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """Prefix every problem's path: ``weight`` under ``touchpoints[3]`` is ``touchpoints[3].weight``."""
    return [p.under(prefix) for p in problems]


def raise_if(problems: list[Problem], label: str) -> None:
    """Raise a `BlueprintError` whose messages start with ``label`` (e.g. ``touchpoint 'A102'``)."""
    if problems:
        raise BlueprintError(
            [
                Problem(p.path, f"{label}: {p.message}", p.value)
                if p.has_value
                else Problem(p.path, f"{label}: {p.message}")
                for p in problems
            ]
        )
