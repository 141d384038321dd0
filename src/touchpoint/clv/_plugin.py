"""Built-in plugin (part of ``touchpoint.scorers``): the CLV scores by name.

Registering imports no extra: scipy is needed only when a model is fitted.

Examples
--------
>>> found = {}
>>> register_scorers(register=found.__setitem__)
>>> sorted(found)
['customer_summary']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from touchpoint.clv import customer_summary
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["SCORES", "register_scorers"]

#: The scores registered, by the name a host looks them up with.
SCORES: dict[str, Callable[..., Any]] = {"customer_summary": customer_summary}


@hookimpl
def register_scorers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    for name, score in SCORES.items():
        register(name, score)
