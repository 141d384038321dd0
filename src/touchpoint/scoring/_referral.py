"""Referral metrics (口碑, 转介绍): who referred whom, what referrals bring, how deep chains go.

Each customer's referrer is the ``referrer`` of their earliest event that names one.
Referrers that have no events of their own still count as customers here. The referral
graph is a forest; cycles (A referred B, B referred A) and self-referrals are errors.

Subtree totals are accumulated level by level from the deepest generation up (a loop
over generations: referral chains are short), and generations are found by pointer
jumping (log2 of the longest chain steps), so there is no loop over customers.

Examples
--------
>>> ev = {"customer": ["a", "b", "c", "d"], "referrer": [None, "a", "b", "a"],
...       "amount": [10.0, 20.0, 5.0, 1.0], "time": ["2026-01-01"] * 4}
>>> r = referral(ev)
>>> r["referred"].tolist(), r["network"].tolist(), r["network_revenue"].tolist(), r["height"].tolist()
([2, 1, 0, 0], [3, 1, 0, 0], [26.0, 5.0, 0.0, 0.0], [2, 1, 0, 0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    ScoreFrame,
    check_codes,
    check_nonnegative,
    column_names,
    read_coded,
)

__all__ = ["first_referrer", "referral"]


def first_referrer(
    cust: np.ndarray, times: np.ndarray | None, ref: np.ndarray, k: int
) -> np.ndarray:
    """Per customer code, the referrer code of their earliest event naming one (-1 if none).

    >>> first_referrer(np.array([0, 0, 1]), np.array([5, 1, 2]), np.array([3, 4, -1]), 2).tolist()
    [4, -1]
    """
    out = np.full(k, -1, dtype=np.int64)
    idx = np.flatnonzero(ref >= 0)
    if len(idx) == 0:
        return out
    if times is not None:
        idx = idx[np.argsort(times[idx], kind="stable")]
    first_cust, first_pos = np.unique(cust[idx], return_index=True)
    out[first_cust] = ref[idx[first_pos]]
    return out


def _map_ids(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in ``ids`` (-1 if absent), through one sort of ``ids``."""
    if len(ids) == 0 or len(values) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, values), len(ids) - 1)
    return np.where(sorted_ids[pos] == values, order[pos], -1).astype(np.int64)


def referral(
    data: Any,
    *,
    customer: str = "customer",
    referrer: str = "referrer",
    amount: str | None = "amount",
    time: str | None = "time",
) -> ScoreFrame:
    """Referral metrics per customer.

    Returns a `ScoreFrame` with

    - ``referrer``: who referred the customer (None if nobody);
    - ``generation``: referral steps from a customer nobody referred (0 for those);
    - ``referred``: customers they referred directly; ``referred_revenue``: those
      customers' own spend;
    - ``network``: every customer down their referral chains; ``network_revenue``: their
      spend;
    - ``height``: the longest referral chain below them (chain depth, 0 for none);
    - ``revenue``: their own spend (sum of ``amount``; NaN amounts add 0).

    Raises `touchpoint.errors.ValidationError` for a self-referral or a cycle, naming
    the column and a customer id involved.
    """
    available = set(column_names(data))
    names: dict[str, str | None] = {"customer": customer, "referrer": referrer}
    if amount is not None and amount in available:
        names["amount"] = amount
    if time is not None and time in available:
        names["time"] = time
    cols, cats = read_coded(
        data, names, required=("customer", "referrer"), categorical=("customer", "referrer")
    )
    check_codes(cols["customer"], customer)
    ids0, ref_ids = cats["customer"], cats["referrer"]
    # referrers without events of their own join the customers
    extra = ref_ids[_map_ids(ref_ids, ids0) < 0] if len(ref_ids) else ref_ids
    ids = (
        np.concatenate((np.asarray(ids0, dtype=object), np.asarray(extra, dtype=object)))
        if len(extra)
        else ids0
    )
    k = len(ids)
    ref_in_ids = _map_ids(ref_ids, ids)
    cust = cols["customer"]
    times = cols["time"].view(np.int64) if "time" in cols else None
    parent_ref = first_referrer(cust, times, cols["referrer"], k)
    parent = np.concatenate((ref_in_ids, [-1]))[parent_ref]  # code -1 -> no referrer
    selfref = parent == np.arange(k)
    if selfref.any():
        who = ids[int(np.flatnonzero(selfref)[0])]
        raise ValidationError([Problem(referrer, "a customer cannot refer themselves", who)])
    revenue = np.zeros(k)
    if "amount" in cols:
        amt = cols["amount"]
        check_nonnegative(amt, amount or "amount")
        revenue[: len(ids0)] = np.bincount(cust, weights=np.nan_to_num(amt), minlength=len(ids0))
    generation = _generations(parent, ids, referrer)
    has = parent >= 0
    referred = np.bincount(parent[has], minlength=k).astype(np.int64)
    referred_revenue = np.bincount(parent[has], weights=revenue[has], minlength=k)
    network = np.zeros(k, dtype=np.int64)
    network_revenue = np.zeros(k)
    height = np.zeros(k, dtype=np.int64)
    # from the deepest generation up: a loop over generations, not customers
    for g in range(int(generation.max(initial=0)), 0, -1):
        level = np.flatnonzero(generation == g)
        p = parent[level]
        np.add.at(network, p, network[level] + 1)
        np.add.at(network_revenue, p, network_revenue[level] + revenue[level])
        np.maximum.at(height, p, height[level] + 1)
    ref_label = np.empty(k, dtype=object)
    ref_label[:] = None
    ref_label[has] = ids[parent[has]]
    return ScoreFrame(
        {
            "customer": ids,
            "referrer": ref_label,
            "generation": generation,
            "referred": referred,
            "referred_revenue": referred_revenue,
            "network": network,
            "network_revenue": network_revenue,
            "height": height,
            "revenue": revenue,
        }
    )


def _generations(parent: np.ndarray, ids: np.ndarray, column: str) -> np.ndarray:
    """Distance to the root of each customer's chain, by pointer jumping; cycles raise."""
    k = len(parent)
    dist = (parent >= 0).astype(np.int64)
    anc = parent.copy()
    for _ in range(max(int(np.ceil(np.log2(max(k, 2)))) + 2, 2)):
        live = anc >= 0
        if not live.any():
            return dist
        a = anc[live]
        dist[live] += dist[a]
        anc[live] = anc[a]
    who = ids[int(np.flatnonzero(anc >= 0)[0])]
    raise ValidationError([Problem(column, "referrals form a cycle through this customer", who)])
