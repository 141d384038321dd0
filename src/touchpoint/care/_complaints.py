"""Complaint statistics (抱怨, 投诉): response and resolution times, and who came back.

`complaint_stats` summarises complaints by type (and over all of them): how many, how
many answered and resolved, response-time and resolution-time percentiles (hours), the
response-time indicator (share answered within ``response_limit``; a complaint still
unanswered after the limit counts as a breach, one younger than the limit is not yet
observed), and, given purchases, the share of complainants who bought again after their
complaint, split into resolved quickly, resolved slowly and unresolved. The material's
rule of thumb is about 95% / 60% / much less: the figures show whether yours holds.

Examples
--------
>>> import numpy as np
>>> complaints = {
...     "customer": ["C1", "C2", "C3"], "type": ["service", "service", "price"],
...     "opened_at": np.array(["2026-03-01T09:00"] * 3, dtype="datetime64[us]"),
...     "first_response_at": np.array(["2026-03-01T11:00", "2026-03-02T15:00", "NaT"], dtype="datetime64[us]"),
...     "resolved_at": np.array(["2026-03-01T12:00", "2026-03-09T09:00", "NaT"], dtype="datetime64[us]"),
... }
>>> purchases = {"customer": ["C1"], "time": np.array(["2026-03-20"], dtype="datetime64[us]")}
>>> s = complaint_stats(complaints, purchases=purchases, asof="2026-04-01")
>>> s["type"].tolist(), s["complaints"].tolist(), s["resolution_rate"].tolist()
(['all', 'price', 'service'], [3, 1, 2], [0.6666666666666666, 0.0, 1.0])
>>> s["response_within_limit"].tolist(), s["came_back_quick"].tolist()
([0.3333333333333333, 0.0, 0.5], [1.0, nan, 1.0])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, as_time, read_columns
from touchpoint.model import parse_timedelta

__all__ = ["complaint_stats"]

_HOUR = np.timedelta64(3600_000_000, "us")


def _us(delta: Any) -> np.timedelta64:
    return np.timedelta64(int(parse_timedelta(delta).total_seconds() * 1_000_000), "us")


def _share(numerator: np.ndarray, denominator: np.ndarray) -> float:
    total = int(denominator.sum())
    return float(numerator.sum() / total) if total else float("nan")


@renamed(type="complaint_type", now="asof")
def complaint_stats(
    data: Any,
    *,
    customer: str = "customer",
    opened: str = "opened_at",
    first_response: str = "first_response_at",
    resolved: str = "resolved_at",
    complaint_type: str = "type",
    purchases: Any = None,
    purchase_customer: str = "customer",
    purchase_time: str = "time",
    asof: Any = None,
    response_limit: str | dt.timedelta = "24 hours",
    quick_resolution: str | dt.timedelta = "3 days",
    percentiles: Sequence[float] = (50, 90),
) -> Any:
    """Complaint statistics per type and over all complaints, as a `ScoreFrame` keyed by type.

    Parameters
    ----------
    data:
        One row per complaint: customer, opened, first response and resolved times
        (NaT when not yet), type.
    purchases:
        Purchase events (customer, time) to measure who came back after a complaint.
    complaint_type:
        The column holding each complaint's type (its old name ``type=``, and ``now=``
        for ``asof``, work until the next release, with a `DeprecationWarning`).
    asof:
        The moment of the report (default: the latest time in the data); decides which
        unanswered complaints are already past the response limit.
    response_limit, quick_resolution:
        The response-time standard and what counts as resolved quickly.
    percentiles:
        Which percentiles of response and resolution time (in hours) to report.
    """
    cols = read_columns(
        data,
        {
            "customer": customer,
            "time": opened,
            "first_response_time": first_response,
            "resolved_time": resolved,
            "type": complaint_type,
        },
        required=["customer", "time", "first_response_time", "resolved_time"],
    )
    opened_at, answered_at, resolved_at = (
        cols["time"],
        cols["first_response_time"],
        cols["resolved_time"],
    )
    for label, when in ((first_response, answered_at), (resolved, resolved_at)):
        early = ~np.isnat(when) & (when < opened_at)
        if early.any():
            i = int(np.flatnonzero(early)[0])
            raise ValidationError(
                [Problem(f"{label}[{i}]", "is before the complaint was opened", str(when[i]))]
            )
    if asof is None:
        stacked = np.concatenate([opened_at, answered_at, resolved_at])
        now64 = (
            stacked[~np.isnat(stacked)].max()
            if (~np.isnat(stacked)).any()
            else np.datetime64("now", "us")
        )
    else:
        now64 = as_time(asof, name="asof")
    limit, quick = _us(response_limit), _us(quick_resolution)

    response_hours = (answered_at - opened_at) / _HOUR
    resolution_hours = (resolved_at - opened_at) / _HOUR
    is_answered, is_resolved = ~np.isnat(answered_at), ~np.isnat(resolved_at)
    observed = is_answered | (now64 - opened_at > limit)
    within = is_answered & (answered_at - opened_at <= limit)

    came_back = _came_back(
        cols["customer"], opened_at, resolved_at, purchases, purchase_customer, purchase_time
    )
    quick_done = is_resolved & (resolved_at - opened_at <= quick)
    slow_done = is_resolved & ~quick_done

    types = (
        np.asarray(cols["type"]).astype(str) if "type" in cols else np.full(len(opened_at), "all")
    )
    groups = ["all", *sorted(set(types.tolist()) - {"all"})]  # a small loop over complaint types
    rows: dict[str, list[Any]] = {"type": groups}
    stats: dict[str, list[float]] = {}
    for group in groups:
        g = np.ones(len(types), bool) if group == "all" else types == group
        values = {
            "complaints": int(g.sum()),
            "answered": int((g & is_answered).sum()),
            "resolved": int((g & is_resolved).sum()),
            "resolution_rate": _share(g & is_resolved, g),
            "response_within_limit": _share(g & within, g & observed),
        }
        for q in percentiles:
            values[f"response_p{q:g}_hours"] = _percentile(response_hours[g & is_answered], q)
            values[f"resolution_p{q:g}_hours"] = _percentile(resolution_hours[g & is_resolved], q)
        if came_back is not None:
            values["came_back_quick"] = _share(g & quick_done & came_back, g & quick_done)
            values["came_back_slow"] = _share(g & slow_done & came_back, g & slow_done)
            values["came_back_unresolved"] = _share(g & ~is_resolved & came_back, g & ~is_resolved)
        for name, value in values.items():
            stats.setdefault(name, []).append(value)
    columns = {"type": np.array(rows["type"], dtype=object)}
    columns.update({k: np.array(v) for k, v in stats.items()})
    return ScoreFrame(columns, key="type")


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _came_back(
    who: np.ndarray,
    opened_at: np.ndarray,
    resolved_at: np.ndarray,
    purchases: Any,
    customer: str,
    time: str,
) -> np.ndarray | None:
    """Whether each complainant bought after the complaint was resolved (or opened, if open)."""
    if purchases is None:
        return None
    p = read_columns(purchases, {"customer": customer, "time": time}, required=["customer", "time"])
    # Each customer's last purchase, by sort: a complainant came back if it is after the mark.
    buyers = np.asarray(p["customer"]).astype(str)
    order = np.lexsort((p["time"], buyers))
    buyers, times = buyers[order], p["time"][order]
    last = np.r_[buyers[1:] != buyers[:-1], True] if len(buyers) else np.array([], bool)
    buyers, last_time = buyers[last], times[last]
    mark = np.where(np.isnat(resolved_at), opened_at, resolved_at)
    who = np.asarray(who).astype(str)
    pos = np.clip(np.searchsorted(buyers, who), 0, max(len(buyers) - 1, 0))
    if not len(buyers):
        return np.zeros(len(who), bool)
    result: np.ndarray | None = (buyers[pos] == who) & (last_time[pos] > mark)
    return result
