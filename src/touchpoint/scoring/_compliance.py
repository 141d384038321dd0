"""Control-indicator compliance (控制指标): the share of cases that meet each indicator.

For every ``(touchpoint, indicator)`` of a blueprint, the interactions at that touchpoint
are judged as `touchpoint.model.indicator` describes (time limits against
``response_time``, ratings against ``rating``, counts of follow-up interactions within a
window, checklist items through ``indicator`` + ``outcome``), then counted per group
(store, staff, channel, period...). Every case that fails is listed as a breach.

The loop is over indicators (a few dozen), never over events: each indicator takes the
rows of its touchpoint from one stable sort of the touchpoint codes.

Examples
--------
>>> from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
>>> bp = Blueprint(name="mini", stages=["awareness"], touchpoints=[Touchpoint(
...     code="MAIL", name="E-mail", category="channel", stage="awareness", line="service",
...     channels=["email"], indicators=[ControlIndicator("24h", "Within 24 h", kind="time_limit",
...     target=24, unit="hours")])])
>>> r = compliance({"touchpoint": ["MAIL", "MAIL", "MAIL"], "response_time": [3600, 90000, None]}, bp)
>>> r.summary["cases"].tolist(), r.summary["compliance"].tolist(), r.breaches["row"].tolist()
([2], [0.5], [1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    ScoreFrame,
    as_time,
    column_names,
    distributed,
    factorize,
    read_coded,
)
from touchpoint.model import ControlIndicator, IndicatorKind
from touchpoint.scoring._groups import Groups, period_codes
from touchpoint.scoring._reduce import Progress, report
from touchpoint.scoring._timeline import cumulative_at

__all__ = ["ComplianceReport", "compliance"]


@attrs.frozen
class ComplianceReport:
    """What `compliance` returns.

    Attributes
    ----------
    summary:
        One row per indicator (and group): ``touchpoint``, ``indicator``, ``kind``,
        ``stage``, ``line``, ``key``, ``weight``, the group columns, ``events`` (interactions
        at the touchpoint), ``cases`` (observed), ``met``, ``breaches`` and ``compliance``
        (met / cases; NaN without cases).
    breaches:
        One row per failed case: ``row`` (position in the input), ``event_id`` (if the
        data has one), ``touchpoint``, ``indicator``, ``customer`` and ``time`` (when
        read), ``measured`` and ``target`` (seconds for time limits, counts, ratings,
        1/0 for checklists).

    With a Dask DataFrame as data, ``summary`` is a computed `ScoreFrame` (it is small)
    and ``breaches`` a Dask DataFrame already persisted on the workers (see
    `compliance`).
    """

    summary: ScoreFrame
    breaches: Any


def indicator_kinds(blueprint: Any) -> set[IndicatorKind]:
    """The kinds of the blueprint's indicators (only their columns are read)."""
    return {ind.kind for _, ind in blueprint.indicators()}


@distributed("compliance")
def compliance(
    data: Any,
    blueprint: Any,
    *,
    by: str | Sequence[str] = (),
    period: str | None = None,
    asof: Any = None,
    touchpoint: str = "touchpoint",
    customer: str = "customer",
    time: str = "time",
    rating: str = "rating",
    response_time: str = "response_time",
    outcome: str = "outcome",
    indicator: str = "indicator",
    event_id: str = "event_id",
    strict: bool = True,
    progress: Progress = None,
) -> ComplianceReport:
    """Compliance with every control indicator of ``blueprint``, with the list of breaches.

    Parameters
    ----------
    data:
        Interactions (an `EventFrame`, DataFrame, Arrow table or dict of arrays).
    blueprint:
        The `touchpoint.model.Blueprint` whose indicators are judged.
    by:
        Columns to group by besides the indicator: ``"store"``, ``["store", "staff"]``...
    period:
        Also group by ``day``, ``week``, ``month``, ``quarter`` or ``year`` of ``time``.
    asof:
        For count indicators: cases whose window ends after ``asof`` are still open and
        not judged. Default: the latest event time.
    touchpoint, customer, time, rating, response_time, outcome, indicator, event_id:
        Column names. Only the columns the blueprint's indicator kinds need are read.
    strict:
        Raise on touchpoint codes the blueprint does not know (default); if False,
        such rows are ignored.

    Returns
    -------
    ComplianceReport
        With a Dask DataFrame as ``data`` (see `touchpoint.scale`): the events are
        numbered in input order, partitioned by customer, and this function runs on each
        partition with ``asof`` defaulting to the latest time of all events. The
        ``summary`` is the reduction of the partitions' summaries (sums of ``events``,
        ``cases`` and ``met`` per indicator and group, ``breaches`` and ``compliance``
        recomputed from them), a computed `ScoreFrame` in blueprint order, groups by
        ascending labels (missing first). ``breaches`` is a Dask DataFrame persisted on
        the workers with the summary in one pass (so a large list stays distributed and
        spills to disk, and reading it does not score again); ``row`` is the position in
        the whole input, ``customer`` holds the ids themselves (not categorical), rows in
        no particular order. ``progress`` is not reported.

    Raises
    ------
    touchpoint.errors.ValidationError
        Unknown or missing touchpoint codes (naming the column and a value), negative
        response times, missing columns.
    """
    kinds = indicator_kinds(blueprint)
    keys = [by] if isinstance(by, str) else list(by)
    available = set(column_names(data))
    names: dict[str, str | None] = {"touchpoint": touchpoint}
    if IndicatorKind.TIME_LIMIT in kinds:
        names["response_time"] = response_time
    if IndicatorKind.RATING in kinds:
        names["rating"] = rating
    if IndicatorKind.CHECKLIST in kinds:
        names.update(indicator=indicator, outcome=outcome)
    needs_time = IndicatorKind.COUNT in kinds or period is not None
    if IndicatorKind.COUNT in kinds:
        names["customer"] = customer
    if needs_time:
        names["time"] = time
    # measurement columns under their default names may be absent (their indicators then
    # have no cases); a name the caller chose must exist
    defaults = {
        "response_time": "response_time",
        "rating": "rating",
        "indicator": "indicator",
        "outcome": "outcome",
    }
    required = [k for k, v in names.items() if defaults.get(k) != v]
    for optional, column in (("customer", customer), ("time", time), ("event_id", event_id)):
        if optional not in names and column in available:
            names[optional] = column
    for k in keys:
        names[f"by:{k}"] = k
        required.append(f"by:{k}")
    categorical = [
        n
        for n in names
        if n in ("touchpoint", "customer", "indicator", "outcome") or n.startswith("by:")
    ]
    report(progress, "read", 0.0)
    cols, cats = read_coded(data, names, required=required, categorical=categorical)
    n = len(cols["touchpoint"])
    tp_codes, tp_cats = cols["touchpoint"], cats["touchpoint"]
    _check_touchpoints(tp_codes, tp_cats, blueprint, touchpoint, strict)
    if "response_time" in cols:
        rt = cols["response_time"]
        if len(rt) and np.nanmin(rt, initial=0.0) < 0:
            row = int(np.flatnonzero(rt < 0)[0])
            raise ValidationError(
                [Problem(f"{response_time}[{row}]", "must not be negative", float(rt[row]))]
            )

    parts = [(cols[f"by:{k}"], cats[f"by:{k}"]) for k in keys]
    labels = list(keys)
    if period is not None:
        parts.append(period_codes(cols["time"], period))
        labels.append("period")
    groups = Groups.of(parts, n)
    cols["__group"] = groups.codes
    by_tp = _ByTouchpoint(tp_codes, len(tp_cats), cols)
    tp_index = {code: i for i, code in enumerate(tp_cats.tolist())}
    t_asof = None
    if IndicatorKind.COUNT in kinds:
        times = cols["time"].view(np.int64)
        t_asof = (
            int(as_time(asof).view(np.int64))
            if asof is not None
            else (int(times.max()) if n else 0)
        )

    summary: dict[str, list[Any]] = {c: [] for c in SUMMARY_COLUMNS}
    group_cols: list[list[np.ndarray]] = [[] for _ in labels]
    breach_rows, breach_ind, breach_measured, breach_target = [], [], [], []
    pairs = list(blueprint.indicators())
    for i, (tp, ind) in enumerate(pairs):
        report(progress, f"indicator {tp.code}/{ind.code}", i / max(len(pairs), 1))
        code = tp_index.get(tp.code)
        g_at = by_tp.col("__group", code)
        seen, measured, met = _judge(ind, code, by_tp, cats, tp_index, t_asof)
        g_events = np.bincount(g_at, minlength=groups.size)
        g_seen = g_at[seen]
        g_cases = np.bincount(g_seen, minlength=groups.size)
        g_met = np.bincount(g_seen, weights=met, minlength=groups.size)
        shown = np.flatnonzero(g_events > 0) if labels else np.arange(groups.size)
        m = len(shown)
        for j in range(len(labels)):
            group_cols[j].append(groups.labels(j)[shown])
        target = ind.target_seconds if ind.kind is IndicatorKind.TIME_LIMIT else float(ind.target)
        for name, value in (
            ("touchpoint", tp.code),
            ("indicator", ind.code),
            ("kind", ind.kind.value),
            ("stage", tp.stage.value),
            ("line", tp.line.value),
            ("key", tp.key),
            ("weight", ind.weight),
            ("comparison", ind.comparison.value),
            ("target", float(ind.target)),
            ("unit", ind.unit),
        ):
            summary[name].append(
                np.full(m, value, dtype=object if isinstance(value, str) else None)
            )
        summary["events"].append(g_events[shown].astype(np.int64))
        summary["cases"].append(g_cases[shown].astype(np.int64))
        summary["met"].append(g_met[shown].astype(np.int64))
        bad = ~met
        breach_rows.append(by_tp.rows(code)[seen][bad])
        breach_measured.append(measured[bad])
        breach_ind.append(np.full(int(bad.sum()), i, dtype=np.int64))
        breach_target.append(np.full(int(bad.sum()), target))
    report(progress, "done", 1.0)
    return ComplianceReport(
        summary_frame(summary, labels, group_cols),
        _breach_frame(pairs, breach_rows, breach_ind, breach_measured, breach_target, cols, cats),
    )


SUMMARY_COLUMNS = (
    "touchpoint",
    "indicator",
    "kind",
    "stage",
    "line",
    "key",
    "weight",
    "comparison",
    "target",
    "unit",
    "events",
    "cases",
    "met",
)


def _check_touchpoints(
    codes: np.ndarray, cats: np.ndarray, blueprint: Any, column: str, strict: bool
) -> None:
    if not strict:
        return
    if len(codes) and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(
            [Problem(f"{column}[{row}]", "is missing; every interaction needs a touchpoint", None)]
        )
    used = np.bincount(codes, minlength=len(cats)) > 0 if len(codes) else np.zeros(len(cats), bool)
    unknown = [c for c, u in zip(cats.tolist(), used, strict=True) if u and c not in blueprint]
    if unknown:
        raise ValidationError(
            [
                Problem(
                    column,
                    f"unknown touchpoint code (not in blueprint {blueprint.name!r}); "
                    f"{len(unknown)} unknown code(s), first shown",
                    unknown[0],
                )
            ]
        )


class _ByTouchpoint:
    """Rows of each touchpoint as contiguous slices: one stable sort of the touchpoint codes,
    then each column an indicator needs is reordered once and sliced per touchpoint."""

    def __init__(self, codes: np.ndarray, k: int, cols: dict[str, np.ndarray]) -> None:
        small = codes.astype(np.int16 if k < 32_000 else np.int64)
        self.order = np.argsort(small, kind="stable")  # radix sort for 16-bit codes
        counts = np.bincount(codes[codes >= 0], minlength=k)
        self.start = np.concatenate(([0], np.cumsum(counts))) + int((codes < 0).sum())
        self.cols = cols
        self._sorted: dict[str, np.ndarray] = {}

    def _bounds(self, code: int | None) -> slice:
        if code is None:
            return slice(0, 0)
        return slice(int(self.start[code]), int(self.start[code + 1]))

    def rows(self, code: int | None) -> np.ndarray:
        """Row positions (ascending) of the touchpoint's interactions."""
        return self.order[self._bounds(code)]

    def col(self, name: str, code: int | None) -> np.ndarray:
        """The column's values at the touchpoint's interactions, in `rows` order."""
        if name not in self._sorted:
            self._sorted[name] = self.cols[name][self.order]
        return self._sorted[name][self._bounds(code)]


def _label_code(cats: np.ndarray, value: str) -> int | None:
    hits = [i for i, v in enumerate(cats.tolist()) if isinstance(v, str) and v.lower() == value]
    return hits[0] if hits else None


def _judge(
    ind: ControlIndicator,
    code: int | None,
    by_tp: _ByTouchpoint,
    cats: dict[str, np.ndarray],
    tp_index: dict[str, int],
    t_asof: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which interactions of the touchpoint are observed cases (a mask over its rows),
    their measured values and whether each meets the indicator."""
    n_at = len(by_tp.rows(code))
    wanted = {
        IndicatorKind.TIME_LIMIT: ("response_time",),
        IndicatorKind.RATING: ("rating",),
        IndicatorKind.CHECKLIST: ("indicator", "outcome"),
    }.get(ind.kind, ())
    nothing = (np.zeros(n_at, dtype=bool), np.empty(0), np.empty(0, dtype=bool))
    if any(w not in by_tp.cols for w in wanted):
        return nothing
    if ind.kind in (IndicatorKind.TIME_LIMIT, IndicatorKind.RATING):
        values = by_tp.col(
            "response_time" if ind.kind is IndicatorKind.TIME_LIMIT else "rating", code
        )
        seen = ~np.isnan(values)
        measured = values[seen]
        return seen, measured, np.asarray(ind.meets(measured), dtype=bool)
    if ind.kind is IndicatorKind.CHECKLIST:
        item = _label_code(cats["indicator"], ind.code.lower())
        passed = _label_code(cats["outcome"], "pass")
        failed = _label_code(cats["outcome"], "fail")
        if item is None:
            return nothing
        out = by_tp.col("outcome", code)
        mine = by_tp.col("indicator", code) == item
        is_pass = (out == passed) if passed is not None else np.zeros(n_at, bool)
        is_fail = (out == failed) if failed is not None else np.zeros(n_at, bool)
        seen = mine & (is_pass | is_fail)
        measured = is_pass[seen].astype(np.float64)
        return seen, measured, np.asarray(ind.meets(measured), dtype=bool)
    return _judge_count(ind, code, by_tp, tp_index, t_asof)


def _judge_count(
    ind: ControlIndicator,
    code: int | None,
    by_tp: _ByTouchpoint,
    tp_index: dict[str, int],
    t_asof: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow-ups of the same customer at the counted touchpoints in (t, t + within]."""
    assert ind.within is not None and t_asof is not None
    within = int(ind.within.total_seconds() * 1_000_000)
    cust, times = by_tp.cols["customer"], by_tp.cols["time"].view(np.int64)
    at_tp = by_tp.rows(code)
    counted_codes = [tp_index[c] for c in (ind.counts or ()) if c in tp_index]
    if not ind.counts:
        counted_codes = [code] if code is not None else []
    counted = (
        np.concatenate([by_tp.rows(c) for c in counted_codes])
        if counted_codes
        else np.empty(0, np.int64)
    )
    counted = counted[cust[counted] >= 0]
    closed = (cust[at_tp] >= 0) & (times[at_tp] + within <= t_asof)
    cases = at_tp[closed]
    t0, c0 = times[cases], cust[cases]
    # follow-ups by t + within minus those by t: two running counts per case
    ones = np.ones(len(counted))
    by_end = cumulative_at(cust[counted], times[counted], ones, c0, t0 + within)
    by_start = cumulative_at(cust[counted], times[counted], ones, c0, t0)
    measured = np.rint(by_end - by_start)
    return closed, measured, np.asarray(ind.meets(measured), dtype=bool)


def _cat(parts: list[np.ndarray], dtype: Any = None) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype or object)


def summary_frame(
    summary: dict[str, list[Any]], labels: list[str], group_cols: list[list[np.ndarray]]
) -> ScoreFrame:
    """The summary from its pieces: counts, ``breaches`` and ``compliance`` (met / cases).

    The finishing step of the in-memory score and of the reduction of per-partition
    summaries on Dask (`_combine`), so both compute ``compliance`` alike.
    """
    out: dict[str, np.ndarray] = {}
    for name in ("touchpoint", "indicator", "kind", "stage", "line"):
        out[name] = _cat(summary[name])
    out["key"] = _cat(summary["key"], bool).astype(bool)
    out["weight"] = _cat(summary["weight"], float).astype(np.float64)
    out["comparison"] = _cat(summary["comparison"])
    out["target"] = _cat(summary["target"], float).astype(np.float64)
    out["unit"] = _cat(summary["unit"])
    for j, name in enumerate(labels):
        out[name] = _cat(group_cols[j])
    events = _cat(summary["events"], np.int64).astype(np.int64)
    cases = _cat(summary["cases"], np.int64).astype(np.int64)
    met = _cat(summary["met"], np.int64).astype(np.int64)
    out["events"], out["cases"], out["met"], out["breaches"] = events, cases, met, cases - met
    with np.errstate(invalid="ignore", divide="ignore"):
        out["compliance"] = met / cases
    return ScoreFrame(out, key="indicator")


def _breach_frame(
    pairs: list[Any],
    rows: list[np.ndarray],
    which: list[np.ndarray],
    measured: list[np.ndarray],
    target: list[np.ndarray],
    cols: dict[str, np.ndarray],
    cats: dict[str, np.ndarray],
) -> ScoreFrame:
    r = _cat(rows, np.int64).astype(np.int64)
    w = _cat(which, np.int64).astype(np.int64)
    out: dict[str, np.ndarray] = {"row": r}
    categories: dict[str, np.ndarray] = {}
    if "event_id" in cols:
        out["event_id"] = cols["event_id"][r]
    tps = np.array([tp.code for tp, _ in pairs], dtype=object)
    tp_codes, tp_labels = (
        np.unique(tps, return_inverse=True) if len(tps) else (tps, np.empty(0, np.int64))
    )
    out["touchpoint"] = tp_labels[w] if len(w) else np.empty(0, np.int64)
    categories["touchpoint"] = tp_codes
    # indicator codes may repeat across touchpoints: categories are the distinct codes
    ind_of_pair, ind_codes = factorize(
        np.array([ind.code for _, ind in pairs], dtype=object), sort=False
    )
    out["indicator"] = ind_of_pair[w] if len(w) else np.empty(0, np.int64)
    categories["indicator"] = ind_codes
    if "customer" in cols:
        out["customer"] = cols["customer"][r]
        categories["customer"] = cats["customer"]
    if "time" in cols:
        out["time"] = cols["time"][r]
    out["measured"] = _cat(measured, float).astype(np.float64)
    out["target"] = _cat(target, float).astype(np.float64)
    return ScoreFrame(out, categories, key="row")
