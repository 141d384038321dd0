"""Built-in plugin (part of ``touchpoint.scorers``): the scores of `touchpoint.scoring` by name.

A host that looks scores up by name (``Plugins().scorers()["rfm"]``) finds the built-in
ones next to those of installed plugins. `touchpoint.clv` and `touchpoint.attribution`
register theirs from their own ``_plugin`` modules; the plugin manager lists the three
modules as the one built-in plugin ``touchpoint.scorers``.

Examples
--------
>>> found = {}
>>> register_scorers(register=found.__setitem__)
>>> found["rfm"] is rfm
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from touchpoint.plugins.hookspecs import hookimpl
from touchpoint.scoring import (
    churn_kinds,
    churn_risk,
    compliance,
    csat,
    loyalty_index,
    loyalty_programme,
    nps,
    pareto,
    pyramid,
    referral,
    rfm,
    rfm_scores,
    rfm_segments,
    satisfied_but_defecting,
    simple_clv,
)

__all__ = ["BUILTIN_SCORES", "SCORES", "register_scorers"]

#: The scores registered, by the name a host looks them up with (their function names).
SCORES: dict[str, Callable[..., Any]] = {
    "rfm": rfm,
    "rfm_scores": rfm_scores,
    "rfm_segments": rfm_segments,
    "pyramid": pyramid,
    "pareto": pareto,
    "simple_clv": simple_clv,
    "csat": csat,
    "nps": nps,
    "compliance": compliance,
    "loyalty_programme": loyalty_programme,
    "loyalty_index": loyalty_index,
    "churn_risk": churn_risk,
    "churn_kinds": churn_kinds,
    "satisfied_but_defecting": satisfied_but_defecting,
    "referral": referral,
}
#: Their names, in the order they are registered.
BUILTIN_SCORES: tuple[str, ...] = tuple(SCORES)


@hookimpl
def register_scorers(register: Callable[[str, Callable[..., Any]], None]) -> None:
    for name, score in SCORES.items():  # a loop over fifteen scores
        register(name, score)
