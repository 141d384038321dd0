"""The demo's synthetic customer base as a data set: any size, from a seed."""

from __future__ import annotations

from typing import Any, NamedTuple

from touchpoint import templates
from touchpoint.datasets._frames import check_form, events_as, table_as
from touchpoint.demo import synthetic_base
from touchpoint.errors import Problem, ValidationError
from touchpoint.model import Blueprint

__all__ = ["SyntheticData", "load_synthetic"]


class SyntheticData(NamedTuple):
    """What `load_synthetic` returns; unpacks as ``interactions, customers, blueprint``."""

    #: One row per interaction (purchases, ratings, audits, follow-ups...).
    interactions: Any
    #: One row per customer: id, contact details (fake), store, segment, stage, dates...
    customers: Any
    #: The blueprint the data exercises (for `touchpoint.scoring.compliance` and the like).
    blueprint: Blueprint


def load_synthetic(
    *,
    customers: int = 1_000,
    seed: int = 0,
    template: str | Blueprint = "car-dealership",
    as_frame: str = "frame",
    **options: Any,
) -> SyntheticData:
    """A synthetic customer base of any size for a blueprint: interactions and customers.

    The base `touchpoint.demo.synthetic_base` generates for ``touchpoint demo`` and the
    benchmarks: customers with fake contact details, interactions that move through the
    blueprint's stages over three years, purchases, ratings and response times whose
    quality varies by store, audits and follow-ups. The same seed gives the same data;
    nothing is read or downloaded.

    Parameters
    ----------
    customers:
        How many customers (interactions: about 12 per customer).
    seed:
        The random seed.
    template:
        A built-in template's name (`touchpoint.templates.names`) or a
        `touchpoint.model.Blueprint`.
    as_frame:
        ``"frame"`` (default): the interactions as an `touchpoint.EventFrame`, the
        customers as a `touchpoint.ScoreFrame`. ``"numpy"``: dicts of numpy columns.
        ``"pandas"`` / ``"polars"``: DataFrames (``pip install 'touchpoint-ctm[dataframes]'``).
    **options:
        Passed on to `touchpoint.demo.synthetic_base`: ``end``, ``years``, ``stores``,
        ``staff_per_store``, ``events_per_customer``.

    Returns
    -------
    SyntheticData
        ``interactions``, ``customers`` and ``blueprint``.

    Raises
    ------
    touchpoint.errors.ValidationError
        ``customers`` below 1, an unknown ``as_frame``.
    touchpoint.templates.UnknownTemplateError
        No built-in template has that name.

    Examples
    --------
    >>> from touchpoint.scoring import rfm
    >>> events, people, blueprint = load_synthetic(customers=300, seed=7)
    >>> len(people), blueprint.name
    (300, 'car-dealership')
    >>> r = rfm(events)
    >>> bool(set(r["customer"]) >= set(people["customer"][:10]))
    True
    """
    check_form(as_frame)
    if isinstance(customers, bool) or int(customers) != customers or customers < 1:
        raise ValidationError([Problem("customers", "must be a whole number >= 1", customers)])
    blueprint = templates.load(template) if isinstance(template, str) else template
    base = synthetic_base(blueprint, customers=int(customers), seed=seed, **options)
    return SyntheticData(
        events_as(base.events, as_frame), table_as(dict(base.customers), as_frame), blueprint
    )
