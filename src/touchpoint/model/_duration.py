"""Durations and calendar offsets as people write them in blueprint files.

`Offset` is a calendar offset ("3 months", "-30 days", "1 year"): months and years follow
the calendar (a month after 31 January is the last day of February). `parse_timedelta`
reads fixed durations ("24 hours", "15 minutes") for control indicators.

Examples
--------
>>> Offset.parse("3 months")
Offset(amount=3, unit='months')
>>> str(Offset.parse("-30 days"))
'-30 days'
>>> import datetime as dt
>>> Offset.parse("1 month").add_to(dt.date(2026, 1, 31))
datetime.date(2026, 2, 28)
>>> parse_timedelta("24 hours")
datetime.timedelta(days=1)
>>> format_timedelta(parse_timedelta("24 hours")), format_timedelta(parse_timedelta("90 minutes"))
('1 day', '90 minutes')
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

import attrs

from touchpoint.errors import BlueprintError, Problem

__all__ = ["OFFSET_UNITS", "TIME_UNITS", "Offset", "format_timedelta", "parse_timedelta"]

#: Seconds in each fixed time unit.
TIME_UNITS: dict[str, int] = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 604800,
}
#: Calendar units an `Offset` may use.
OFFSET_UNITS = ("days", "weeks", "months", "years")

_TEXT = re.compile(r"^\s*([+-]?\d{1,12})\s*([a-zA-Z]+)\s*$")


def _unit(word: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    word = word.lower()
    for unit in allowed:
        if word in (unit, unit[:-1]):  # "hours" or "hour"
            return unit
    return None


@attrs.frozen
class Offset:
    """A signed calendar offset: ``amount`` days, weeks, months or years."""

    amount: int
    unit: str = "days"

    def __attrs_post_init__(self) -> None:
        problems = []
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            problems.append(Problem("amount", "must be a whole number", self.amount))
        if self.unit not in OFFSET_UNITS:
            problems.append(Problem("unit", f"must be one of {', '.join(OFFSET_UNITS)}", self.unit))
        if problems:
            raise BlueprintError(problems)

    @classmethod
    def parse(cls, value: Any) -> Offset:
        """Read ``"3 months"``, ``"-30 days"``, ``"1 year"`` (or an `Offset`, or whole days)."""
        if isinstance(value, Offset):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value, "days")
        match = _TEXT.match(value) if isinstance(value, str) else None
        unit = _unit(match.group(2), OFFSET_UNITS) if match else None
        if match is None or unit is None:
            raise BlueprintError(
                [Problem("", "must read like '3 months', '-30 days', '2 weeks' or '1 year'", value)]
            )
        amount = match.group(1)
        if len(amount.lstrip("+-")) > 9:
            raise BlueprintError([Problem("", "is too long (at most 9 digits)", value)])
        return cls(int(amount), unit)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"

    @property
    def months(self) -> int:
        """The calendar-month part (years count as 12 months); 0 for days and weeks."""
        return self.amount * {"months": 1, "years": 12}.get(self.unit, 0)

    @property
    def days(self) -> int:
        """The fixed-day part (weeks count as 7 days); 0 for months and years."""
        return self.amount * {"days": 1, "weeks": 7}.get(self.unit, 0)

    def add_to(self, day: dt.date) -> dt.date:
        """Apply the offset to a date; month ends are clamped (31 Jan + 1 month = 28/29 Feb)."""
        if self.months:
            month0 = day.year * 12 + day.month - 1 + self.months
            year, month = divmod(month0, 12)
            last = calendar.monthrange(year, month + 1)[1]
            return dt.date(year, month + 1, min(day.day, last))
        return day + dt.timedelta(days=self.days)


def parse_timedelta(value: Any) -> dt.timedelta:
    """Read a fixed duration such as ``"24 hours"`` or ``"15 minutes"`` (or a timedelta)."""
    if isinstance(value, dt.timedelta):
        return value
    match = _TEXT.match(value) if isinstance(value, str) else None
    unit = _unit(match.group(2), list(TIME_UNITS)) if match else None
    if match is None or unit is None:
        raise BlueprintError(
            [Problem("", "must read like '24 hours', '15 minutes' or '7 days'", value)]
        )
    try:
        return dt.timedelta(seconds=int(match.group(1)) * TIME_UNITS[unit])
    except (OverflowError, ValueError):
        raise BlueprintError([Problem("", "is too long (at most 999999999 days)", value)]) from None


def format_timedelta(value: dt.timedelta) -> str:
    """The inverse of `parse_timedelta`, in the largest unit that divides it exactly."""
    seconds = int(value.total_seconds())
    for unit in ("weeks", "days", "hours", "minutes", "seconds"):
        if (seconds and seconds % TIME_UNITS[unit] == 0) or unit == "seconds":
            count = seconds // TIME_UNITS[unit]
            return f"{count} {unit[:-1] if abs(count) == 1 else unit}"
    raise AssertionError("unreachable")
