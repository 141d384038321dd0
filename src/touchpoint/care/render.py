"""Rendering care messages from templates with the customer's fields (standard library).

Templates use ``{name}`` placeholders with optional format specs (``{amount:.2f}``).
Only plain field names are allowed: attribute access and indexing (``{x.__class__}``,
``{x[0]}``) are refused, so a template written by a user cannot reach into objects. A
placeholder the customer has no value for is an error naming the template and the field;
the values themselves never appear in errors (they are personal).

Examples
--------
>>> render("Dear {name}, your warranty ends on {warranty_end}.",
...        {"name": "Zhang Wei", "warranty_end": "2026-12-31"})
'Dear Zhang Wei, your warranty ends on 2026-12-31.'
>>> fields_of("Hello {name}, {points:,} points")
['name', 'points']
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from touchpoint.errors import Problem, ValidationError

__all__ = ["fields_of", "render"]

_FORMATTER = string.Formatter()


def fields_of(template: str, *, where: str = "message") -> list[str]:
    """The field names a template uses, in order, each once; errors for forbidden forms."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValidationError(
            [Problem(where, f"is not a valid template: {exc}", template)]
        ) from None
    names: list[str] = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise ValidationError(
                [
                    Problem(
                        where,
                        "placeholders must be plain field names like {name}",
                        "{" + field + "}",
                    )
                ]
            )
        if field not in names:
            names.append(field)
    return names


def render(template: str, fields: Mapping[str, Any], *, where: str = "message") -> str:
    """Fill ``template`` with ``fields``; an unknown placeholder names the field, never values."""
    names = fields_of(template, where=where)
    missing = [n for n in names if n not in fields or fields[n] is None]
    if missing:
        raise ValidationError(
            [Problem(where, f"uses {{{n}}} but no value is given for {n!r}") for n in missing]
        )
    try:
        return template.format_map({n: fields[n] for n in names})
    except (ValueError, TypeError) as exc:
        raise ValidationError([Problem(where, f"cannot be filled: {exc}")]) from None
