"""Where a blueprint's standards and figures come from (their ``source``).

A number in a blueprint is only as trustworthy as its origin. A control indicator, a care
rule, a loyalty programme and a promise policy each say where their figures come from:

- ``own`` (the default): the blueprint author's own standard, what a company writes for
  itself. Nothing is claimed beyond that.
- ``material``: stated by the source material the blueprint is built on (for the built-in
  templates, the Chinese course material of touchpoint management); ``source_note``
  quotes where.
- ``example``: made up by the blueprint to illustrate (the material says "promptly" and the
  template writes "within 1 minute"); ``source_note`` says what the material does say.
  Replace an example value with your own before you measure anyone against it.

A record marked ``material`` is so only if every figure of it is the material's: one
invented figure (a window, a target, an offset) makes the whole record an ``example``,
and the note says which part comes from where. Weights are never the material's: they
rank a blueprint's own priorities.

Examples
--------
>>> Provenance("example").label
'example value'
>>> check_source("material", "尽量在24小时内回复")
[]
>>> [p.path for p in check_source("guessed", "")]
['source']
"""

from __future__ import annotations

import enum
from typing import Any

from touchpoint.errors import Problem
from touchpoint.model._checks import as_enum

__all__ = ["Provenance", "check_source", "to_provenance"]


class Provenance(enum.StrEnum):
    """Where a standard or a figure comes from: the author's own, the material, an example."""

    OWN = "own"
    MATERIAL = "material"
    EXAMPLE = "example"

    @property
    def label(self) -> str:
        """How ``touchpoint show`` names it."""
        return {
            "own": "own standard",
            "material": "from the material",
            "example": "example value",
        }[self.value]


def to_provenance(value: Any) -> Provenance:
    """Converter for ``source`` fields: a `Provenance` or its text value, else a
    `BlueprintError` naming the field and the allowed values."""
    return as_enum(Provenance, value, "source")


def check_source(source: Any, note: Any) -> list[Problem]:
    """Problems of a ``source`` and its ``source_note`` (paths relative to the record)."""
    found = []
    if not any(source == m.value for m in Provenance):  # a StrEnum member equals its value
        allowed = ", ".join(repr(m.value) for m in Provenance)
        found.append(Problem("source", f"must be one of {allowed}", source))
    if not isinstance(note, str):
        found.append(Problem("source_note", "must be text", note))
    return found
