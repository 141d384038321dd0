"""Which events are purchases: the one rule every purchase-based score uses.

Scores that mean purchases (RFM, the CLV summary, churn risk, loyalty) take two keyword
arguments, ``outcome`` (the column with each event's outcome label) and ``purchases``
(the outcome labels that mark a purchase, default `PURCHASE_OUTCOMES`), and count an
event as a purchase by this rule:

- ``purchases=None``: every event is a purchase;
- the data has the ``outcome`` column: events whose outcome is one of ``purchases``, and
  events without an outcome that carry an amount > 0 (money changed hands);
- the data has no ``outcome`` column: every event is a purchase (a transaction log, as
  the CLV literature and `lifetimes` read one).

So a workspace's interactions (calls, audits, e-mails and purchases together, each with
its outcome) give the purchases only, and a plain transaction log counts every row.

Examples
--------
>>> cols = {"outcome": np.array([0, 1, -1, -1]), "amount": np.array([5.0, 0, 9.0, np.nan])}
>>> cats = {"outcome": np.array(["purchase", "call"], dtype=object)}
>>> purchase_mask(cols, cats, PURCHASE_OUTCOMES).tolist()
[True, False, True, False]
>>> purchase_mask({"amount": np.array([0.0, 3.0])}, {}, PURCHASE_OUTCOMES) is None
True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame._input import column_names

__all__ = ["PURCHASE_OUTCOMES", "purchase_columns", "purchase_mask"]

#: Outcome labels that mark a purchase by default.
PURCHASE_OUTCOMES: tuple[str, ...] = ("purchase",)


def _check(purchases: Collection[str] | None) -> None:
    if purchases is None:
        return
    if isinstance(purchases, str) or not all(isinstance(p, str) for p in purchases):
        raise ValidationError(
            [
                Problem(
                    "purchases",
                    "must be a collection of outcome labels (e.g. ('purchase',)) or None "
                    "for every event",
                    purchases,
                )
            ]
        )


def purchase_columns(
    data: Any, *, outcome: str | None, purchases: Collection[str] | None
) -> dict[str, str]:
    """The extra column to read for the purchase rule: ``{"outcome": outcome}`` or nothing.

    >>> purchase_columns({"outcome": ["purchase"]}, outcome="outcome", purchases=("purchase",))
    {'outcome': 'outcome'}
    >>> purchase_columns({"amount": [1.0]}, outcome="outcome", purchases=("purchase",))
    {}
    """
    _check(purchases)
    if purchases is None or outcome is None or outcome not in set(column_names(data)):
        return {}
    return {"outcome": outcome}


def purchase_mask(
    cols: Mapping[str, np.ndarray],
    cats: Mapping[str, np.ndarray],
    purchases: Collection[str] | None,
) -> np.ndarray | None:
    """Which rows are purchases (see the module's rule); None when every row is.

    ``cols["outcome"]`` holds codes into ``cats["outcome"]`` (read it as categorical) and
    ``cols["amount"]`` the amounts, where the data has them.
    """
    _check(purchases)
    if purchases is None or "outcome" not in cols:
        return None
    codes = cols["outcome"]
    labels = np.asarray(cats["outcome"], dtype=object)
    wanted = np.isin(labels.astype(str), np.array(sorted(purchases), dtype=str))
    # one gather: code -1 (no outcome) reads the leading False
    mask: np.ndarray = np.concatenate(([False], wanted))[codes + 1]
    if "amount" in cols:
        with np.errstate(invalid="ignore"):
            mask |= (codes < 0) & (cols["amount"] > 0)
    return mask
