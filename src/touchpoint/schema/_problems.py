"""Turning pydantic's validation errors into `Problem`s with paths and readable values.

Values shown in problems are made safe to print: long text is cut, huge numbers and
deep or long lists are summarised, and personal values (an ``email`` key left in a
file by mistake) are masked with `touchpoint._privacy.mask_value`.

Examples
--------
>>> join_path("touchpoints[3]", ("indicators", 0, "target"))
'touchpoints[3].indicators[0].target'
>>> shown("touchpoints[0].email", "zhang.wei@example.com")
'z***@e***.com'
>>> shown("x", list(range(100)))
[0, 1, 2, 3, 4, 5, …]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pydantic

from touchpoint._privacy import is_personal, mask_value
from touchpoint.errors import Problem

__all__ = ["join_path", "pydantic_problems", "shown"]

_MAX_TEXT = 120
_MAX_ITEMS = 6
_MAX_DEPTH = 3

_MESSAGES = {
    "missing": "is required",
    "dict_type": "must be a table of keys and values",
    "model_type": "must be a table of keys and values",
    "model_attributes_type": "must be a table of keys and values",
    "list_type": "must be a list",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "finite_number": "must be a finite number (not NaN or infinity)",
}


class _Summary(str):
    """Text standing for a value too big to show; prints without quotes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """Append a pydantic location to a path prefix, in ``a.b[0].c`` notation."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _summary(value: Any, depth: int) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"<a whole number of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…")
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return "{…}"
        items = [
            f"{_summary(k, depth + 1)}: {_summary(v, depth + 1)}"
            for k, v in list(value.items())[:_MAX_ITEMS]
        ]
        more = ", …" if len(value) > _MAX_ITEMS else ""
        return "{" + ", ".join(items) + more + "}"
    if isinstance(value, list | tuple):
        if depth >= _MAX_DEPTH:
            return "[…]"
        items = [_summary(v, depth + 1) for v in value[:_MAX_ITEMS]]
        more = ", …" if len(value) > _MAX_ITEMS else ""
        return "[" + ", ".join(items) + more + "]"
    text = repr(value)
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _small(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` prints in full within the limits (shallow, short, no huge numbers)."""
    if value is None or isinstance(value, bool | float):
        return True
    if isinstance(value, int):
        return value.bit_length() <= 64
    if isinstance(value, str):
        return len(value) <= _MAX_TEXT
    if isinstance(value, list | tuple | dict) and depth < _MAX_DEPTH and len(value) <= _MAX_ITEMS:
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        return all(_small(item, depth + 1) for item in items)
    return False


def shown(path: str, value: Any) -> Any:
    """The value as a problem shows it: masked if personal, summarised if too big.

    The ``name`` of blueprint records (touchpoints, tiers, rules) is a label, not a
    person's name, so it is not masked.
    """
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0].lower()
    if leaf != "name" and is_personal(path) and value is not None:
        return mask_value(path, value) if isinstance(value, str) else _Summary("***")
    if _small(value):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT] + "…"
    return _Summary(_summary(value, 0))


def pydantic_problems(
    exc: pydantic.ValidationError, prefix: str, allowed: Iterable[str]
) -> list[Problem]:
    """One `Problem` per pydantic error, located under ``prefix``.

    ``allowed`` lists the keys the record accepts, named in the message about an
    unknown key.
    """
    found = []
    for err in exc.errors(include_url=False, include_context=False, include_input=True):
        path = join_path(prefix, err["loc"])
        kind = err["type"]
        if kind == "missing":
            found.append(Problem(path, "is required"))
            continue
        if kind == "extra_forbidden":
            message = "unknown key (a typo?); allowed keys: " + ", ".join(allowed)
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
        else:
            message = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        found.append(Problem(path, message, shown(path, err.get("input"))))
    return found
