"""`Touchpoint` (接触点): one point where the customer meets the company.

Examples
--------
>>> from touchpoint.model import ControlIndicator
>>> tp = Touchpoint(
...     code="A102", name="SIM change at the business hall",
...     category="channel", stage="cooperation", line="service",
...     channels=["store"], direction="inbound",
...     message="Quick, correct, courteous service", owner="service staff",
...     key=True, weight=2,
...     indicators=[ControlIndicator("wait", "Served within 10 minutes",
...                                  kind="time_limit", target=10, unit="minutes")],
... )
>>> tp.stage.enterprise.value, tp.key
('post-sale', True)
"""

from __future__ import annotations

from typing import Any

import attrs

from touchpoint.errors import Problem
from touchpoint.model._checks import (
    as_enum,
    check_code,
    check_number,
    check_text,
    nested,
    raise_if,
    to_tuple,
)
from touchpoint.model._classification import Category, Direction, Line
from touchpoint.model._indicator import ControlIndicator
from touchpoint.model._stage import Stage

__all__ = ["Touchpoint"]


def _category(value: Any) -> Category:
    return as_enum(Category, value, "category")


def _stage(value: Any) -> Stage:
    return as_enum(Stage, value, "stage")


def _line(value: Any) -> Line:
    return as_enum(Line, value, "line")


def _direction(value: Any) -> Direction:
    return as_enum(Direction, value, "direction")


@attrs.frozen
class Touchpoint:
    """A touchpoint of the blueprint.

    Parameters
    ----------
    code:
        Unique code, e.g. ``"A102"`` (MCP: channel column ``A``, process ``102``).
    name:
        What people call it.
    category, stage, line, direction:
        Its classification (see `Category`, `Stage`, `Line`, `Direction`).
    channels:
        Names of the channels it happens through (at least one).
    message:
        What it must convey (传递的信息).
    owner:
        The role responsible (sales staff, service staff, delivery driver...).
    key:
        Whether it is a key touchpoint (关键时刻); key touchpoints need indicators.
    weight:
        Importance among touchpoints, >= 0 (used when scores are combined).
    indicators:
        Its control indicators.
    process:
        The service process code of the MCP matrix it fills, if any.
    """

    code: str
    name: str
    category: Category = attrs.field(converter=_category)
    stage: Stage = attrs.field(converter=_stage)
    line: Line = attrs.field(converter=_line)
    channels: tuple[str, ...] = attrs.field(converter=to_tuple)
    direction: Direction = attrs.field(default=Direction.INBOUND, converter=_direction)
    message: str = ""
    owner: str = ""
    key: bool = False
    weight: float = 1.0
    indicators: tuple[ControlIndicator, ...] = attrs.field(default=(), converter=to_tuple)
    process: str | None = None
    description: str = ""

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"touchpoint {self.code!r}")

    def problems(self) -> list[Problem]:
        """This touchpoint's own problems (cross-references are checked by the blueprint)."""
        found = check_code(self.code) + check_text(self.name, "name")
        if not self.channels:
            found.append(Problem("channels", "needs at least one channel"))
        found += [p for i, c in enumerate(self.channels) for p in check_code(c, f"channels[{i}]")]
        found += check_number(self.weight, "weight", minimum=0)
        key: object = self.key  # as given: checked here, not converted
        if not isinstance(key, bool):
            found.append(Problem("key", "must be true or false", key))
        if self.process is not None:
            found += check_code(self.process, "process")
        seen: set[str] = set()
        given: tuple[object, ...] = self.indicators
        for i, ind in enumerate(given):
            if not isinstance(ind, ControlIndicator):
                found.append(Problem(f"indicators[{i}]", "must be a ControlIndicator", ind))
            elif ind.code in seen:
                found.append(Problem(f"indicators[{i}].code", "duplicate indicator code", ind.code))
            else:
                seen.add(ind.code)
        found += nested(
            "indicators", [i for i in self.indicators if isinstance(i, ControlIndicator)]
        )
        return found

    def indicator(self, code: str) -> ControlIndicator:
        """The indicator with this code; `KeyError` naming the touchpoint if none."""
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(f"touchpoint {self.code!r} has no indicator {code!r}")
