"""Scores past one machine: which scores run on Dask, and the one door to `touchpoint.scale`.

A score that runs on a Dask DataFrame says so with `distributed` (a decorator naming it);
`touchpoint.scale` registers the plan that runs it there with `plan`. Called with a Dask
collection, a marked score runs the plan registered under its name, with the arguments
it was given (defaults filled in); called with anything else it runs as it is, and no
score body mentions Dask. This is the pattern of ``dask/dataframe/dispatch.py``: generic
code declares, the backend registers, and the generic code never imports the backend
except through the registry.

`touchpoint.scale` sits above the scores and imports them; here, in the frame layer below
them, it is imported lazily and in one place (`_load_plans`), the first time a Dask
collection arrives or the table is asked for, so scoring in memory never imports it (nor
Dask). `distributed_scores` returns the registry as a table: which scores run on Dask and
how, the table the "Scaling out" page shows.

Examples
--------
>>> rows = distributed_scores()
>>> rows.row("rfm")["how"]
'per customer'
>>> is_dask({"customer": [1]})
False
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._frame import ScoreFrame

__all__ = [
    "HOWS",
    "Plan",
    "distributed",
    "distributed_scores",
    "is_dask",
    "register_plan",
]

P = ParamSpec("P")
R = TypeVar("R")

#: How a plan runs a score on Dask, in the words of the table.
HOWS: dict[str, str] = {
    "per customer": (
        "events shuffled by customer (a hash partitioning), the in-memory score on each "
        "partition; global inputs (the default asof...) are reductions computed first"
    ),
    "ranked": (
        "exact order statistics of the distributed column (a few passes over small "
        "per-partition summaries), then each partition assigned by the in-memory code"
    ),
    "summed": (
        "per-partition sums from the in-memory code, added up (a tree reduction), "
        "finished once in memory"
    ),
    "collected": (
        "the few summary columns a fit needs computed into memory, then fitted as in memory"
    ),
    "per partition": ("the in-memory function on each partition, aligned with the input's rows"),
}


@attrs.frozen
class Plan:
    """How one score runs on Dask: registered by `touchpoint.scale` with `plan`."""

    score: str
    run: Callable[..., Any]
    how: str
    result: str
    note: str = ""


#: Score name -> its plan, filled in by `touchpoint.scale` when it is imported.
_PLANS: dict[str, Plan] = {}
#: Score name -> the qualified name of the function marked `distributed` under it.
_MARKED: dict[str, str] = {}


def is_dask(data: Any) -> bool:
    """True for a Dask DataFrame or Series (any Dask collection).

    Looks at the type's module name only: nothing is imported to tell.

    >>> is_dask([1, 2])
    False
    """
    return type(data).__module__.split(".")[0] == "dask"


def _load_plans() -> None:
    """Import `touchpoint.scale`, which registers its plans: the one import of it here."""
    import touchpoint.scale  # noqa: F401 (the layer above registers into this one)


def _plan_of(name: str) -> Plan:
    _load_plans()
    found = _PLANS.get(name)
    if found is None:
        raise ValidationError(
            [
                Problem(
                    "data",
                    f"{name} has no plan for Dask DataFrames (the scores that have one: "
                    "touchpoint.frame.distributed_scores())",
                    name,
                )
            ]
        )
    return found


def _public_package(module: str) -> str:
    """The package whose ``__init__`` is the public surface of ``module``'s names.

    The scores live in private modules of `touchpoint.scoring`, `touchpoint.clv` and
    `touchpoint.attribution` and are public at the package level.
    """
    return ".".join(module.split(".")[:2])


def distributed(name: str, *, on: str = "data") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a score that runs on Dask: for a Dask ``on`` argument, run the plan ``name``.

    ``on`` names the parameter that holds the data (``"summary"`` for a model's
    methods), or an attribute of it (``"self.balances"``). The plan receives the
    arguments the score was called with, defaults filled in, positional parameters
    positionally and keyword-only ones by keyword.

    >>> @distributed("double")
    ... def double(data, *, factor=2):
    ...     return [factor * x for x in data]
    >>> double([1, 2])
    [2, 4]
    """
    parameter, *attributes = on.split(".")

    def mark(score: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(score)
        index = list(signature.parameters).index(parameter)
        _MARKED[name] = f"{_public_package(score.__module__)}.{name}"

        @functools.wraps(score)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            data = args[index] if index < len(args) else kwargs.get(parameter)
            for attribute in attributes:  # the path of ``on``: a name or two
                data = getattr(data, attribute, None)
            if not is_dask(data):
                return score(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            result: R = _plan_of(name).run(*bound.args, **bound.kwargs)
            return result

        run.__distributed__ = name  # type: ignore[attr-defined]
        return run

    return mark


def register_plan(
    name: str, *, how: str, result: str, note: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the function it decorates as the Dask plan of the score ``name``.

    Used by `touchpoint.scale`; ``how`` is one of `HOWS`, ``result`` what the score
    returns on Dask (lazy or computed), ``note`` what the table says besides (what is
    computed first, what differs from memory).
    """
    if how not in HOWS:
        raise ValueError(f"how must be one of {sorted(HOWS)}, not {how!r}")

    def register(run: Callable[..., Any]) -> Callable[..., Any]:
        if name in _PLANS:
            raise ValueError(f"a plan for {name!r} is registered already")
        _PLANS[name] = Plan(name, run, how, result, note)
        return run

    return register


def distributed_scores() -> Any:
    """The scores that run on a Dask DataFrame, and how: the registry as a table.

    Returns a `touchpoint.frame.ScoreFrame` keyed by ``score`` (the name the score is
    registered under: the function's name, ``Class.method`` for a model's methods) with
    ``function`` (its public path), ``result`` (what it returns on Dask), ``how`` (one
    of `HOWS`) and ``note``, ordered by ``function``. A score not in it runs in memory
    only and refuses a Dask DataFrame with an error that says so.

    >>> table = distributed_scores()
    >>> "markov" in table["score"].tolist(), "referral" in table["score"].tolist()
    (True, False)
    """
    _load_plans()
    names = sorted(_PLANS, key=lambda n: (_MARKED.get(n, ""), n))
    plans = [_PLANS[n] for n in names]
    return ScoreFrame(
        {
            "score": np.array(names, dtype=object),
            "function": np.array([_MARKED.get(n, "") for n in names], dtype=object),
            "result": np.array([p.result for p in plans], dtype=object),
            "how": np.array([p.how for p in plans], dtype=object),
            "note": np.array([p.note for p in plans], dtype=object),
        },
        key="score",
    )
