"""Built-in plugin: the library's own scores, registered by name like any extra scorer.

A host that looks scores up by name (``Plugins().scorers()["rfm"]``) finds the built-in
ones next to those of installed plugins. Functions from modules that need an extra
(CLV fitting needs scipy only when fitting) are registered all the same: importing them
imports no extra.

Examples
--------
>>> from touchpoint.plugins import Plugins
>>> scorers = Plugins(entry_points=False).scorers()
>>> {"rfm", "pyramid", "compliance", "customer_summary", "markov"} <= set(scorers)
True
"""

from __future__ import annotations

from typing import Any

from touchpoint.plugins.hookspecs import hookimpl

#: Scores registered under their function names.
BUILTIN_SCORES = (
    "rfm",
    "rfm_scores",
    "rfm_segments",
    "pyramid",
    "pareto",
    "simple_clv",
    "csat",
    "nps",
    "compliance",
    "loyalty_programme",
    "loyalty_index",
    "churn_risk",
    "churn_kinds",
    "satisfied_but_defecting",
    "referral",
)


@hookimpl
def register_scorers(register: Any) -> None:
    from touchpoint import attribution, clv, scoring

    for name in BUILTIN_SCORES:
        register(name, getattr(scoring, name))
    register("customer_summary", clv.customer_summary)
    register("markov", attribution.markov)
    register("attribution", attribution.heuristic)
