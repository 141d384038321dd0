"""Rendering care messages from templates with the customer's fields (standard library).

Templates use ``{name}`` placeholders with optional format specs (``{amount:.2f}``,
``{points:,}``, ``{day:%d %B}``) and conversions (``!s``, ``!r``, ``!a``). A template is
written by a user, so it is a sandbox:

- only plain field names: attribute access and indexing (``{x.__class__}``, ``{x[0]}``)
  and positional fields (``{0}``, ``{}``) are refused;
- a format spec may not hold a placeholder of its own (``{name:{width}}``): nested
  fields would be looked up, attributes included, before any check;
- no width or precision above `MAX_WIDTH` (``{name:300000000}`` would build a string of
  300 MB);
- a placeholder the customer has no value for is an error naming the template and the
  field.

Every refusal is a `touchpoint.errors.ValidationError` naming the template (``where``)
and the placeholder; the field values never appear in errors (they are personal), nor
does anything a format spec could have reached.

Examples
--------
>>> render("Dear {name}, your warranty ends on {warranty_end}.",
...        {"name": "Zhang Wei", "warranty_end": "2026-12-31"})
'Dear Zhang Wei, your warranty ends on 2026-12-31.'
>>> fields_of("Hello {name}, {points:,} points")
['name', 'points']
>>> render("{name:{name.__class__}}", {"name": "Zhang Wei"})
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in the records:
  - message: a format spec may not contain a placeholder (value: '{name:{name.__class__}}')
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from touchpoint.errors import Problem, ValidationError

__all__ = ["MAX_WIDTH", "fields_of", "render"]

#: The largest width or precision a format spec may ask for (a message is not a page).
MAX_WIDTH = 1000

_FORMATTER = string.Formatter()
_NUMBER = re.compile(r"[0-9]+")
_CONVERSIONS = {None: None, "s": str, "r": repr, "a": ascii}


def _placeholder(field: str, spec: str, conversion: str | None) -> str:
    return (
        "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    )


def _pieces(template: str, where: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """The template's (literal, field, spec, conversion) pieces, every placeholder checked."""
    if not isinstance(template, str):
        raise ValidationError([Problem(where, "a template must be text", type(template).__name__)])
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValidationError(
            [Problem(where, f"is not a valid template: {exc}", template)]
        ) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        shown = _placeholder(field, spec or "", conversion)
        if not field.isidentifier():
            raise ValidationError(
                [Problem(where, "placeholders must be plain field names like {name}", shown)]
            )
        if conversion not in _CONVERSIONS:
            raise ValidationError([Problem(where, "the only conversions are !s, !r and !a", shown)])
        if spec and ("{" in spec or "}" in spec):
            raise ValidationError(
                [Problem(where, "a format spec may not contain a placeholder", shown)]
            )
        for number in _NUMBER.findall(spec or ""):
            if len(number) > 6 or int(number) > MAX_WIDTH:
                raise ValidationError(
                    [
                        Problem(
                            where,
                            f"a width or precision may be at most {MAX_WIDTH}",
                            shown,
                        )
                    ]
                )
    return parsed


def fields_of(template: str, *, where: str = "message") -> list[str]:
    """The field names a template uses, in order, each once; errors for forbidden forms."""
    names: list[str] = []
    for _, field, _, _ in _pieces(template, where):
        if field is not None and field not in names:
            names.append(field)
    return names


def render(template: str, fields: Mapping[str, Any], *, where: str = "message") -> str:
    """Fill ``template`` with ``fields``; an unknown placeholder names the field, never values."""
    pieces = _pieces(template, where)
    names = [f for _, f, _, _ in pieces if f is not None]
    missing = list(dict.fromkeys(n for n in names if n not in fields or fields[n] is None))
    if missing:
        raise ValidationError(
            [Problem(where, f"uses {{{n}}} but no value is given for {n!r}") for n in missing]
        )
    out: list[str] = []
    for literal, field, spec, conversion in pieces:  # a handful of placeholders per template
        out.append(literal)
        if field is None:
            continue
        value = fields[field]
        convert = _CONVERSIONS[conversion]
        try:
            out.append(format(value if convert is None else convert(value), spec or ""))
        except Exception:  # the error text may show the value: say what, not with what
            raise ValidationError(
                [
                    Problem(
                        where,
                        f"cannot be filled: the format spec of "
                        f"{_placeholder(field, spec or '', conversion)} does not apply to "
                        f"a {type(value).__name__}",
                    )
                ]
            ) from None
    return "".join(out)
