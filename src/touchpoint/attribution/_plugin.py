"""Built-in plugin (part of ``touchpoint.scorers``): the attribution scores by name.

``markov`` is `touchpoint.attribution.markov`; ``attribution`` is
`touchpoint.attribution.heuristic` (first touch, last touch, linear...).

Examples
--------
>>> found = {}
>>> register_scorers(register=found.__setitem__)
>>> sorted(found), found["attribution"] is heuristic
(['attribution', 'markov'], True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from touchpoint.attribution import heuristic, markov
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["SCORES", "register_scorers"]

#: The scores registered, by the name a host looks them up with.
SCORES: dict[str, Callable[..., Any]] = {"markov": markov, "attribution": heuristic}


@hookimpl
def register_scorers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    for name, score in SCORES.items():
        register(name, score)
