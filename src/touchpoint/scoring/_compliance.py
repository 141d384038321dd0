"""Control-indicator compliance (控制指标): the share of cases that meet each indicator.

For every ``(touchpoint, indicator)`` of a blueprint, the interactions at that touchpoint
are judged as `touchpoint.model.indicator` describes (time limits against
``response_time``, ratings against ``rating``, counts of follow-up interactions within a
window, checklist items through ``indicator`` + ``outcome``), then counted per group
(store, staff, channel, period...). Every case that fails is listed as a breach.

No loop over events, and no sort: every row gets one code for its (touchpoint, group)
once; time limits, ratings and checklist items are judged in layers (at most one
indicator per touchpoint each, targets looked up by touchpoint code), each layer one pass
over row chunks on the thread pool with one ``bincount`` per chunk for cases and met of
every (touchpoint, group). Count indicators ("3 calls within 7 days") sort the counted
rows by (customer, time) once and find each case's window by binary search
(`count_within`). The breach list comes out by indicator in blueprint order, then by row.

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

from touchpoint._threads import empty, map_chunks, parallel_map
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
from touchpoint.scoring._timeline import count_within

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
    bins = _Bins(tp_codes, len(tp_cats), groups)
    tp_index = {code: i for i, code in enumerate(tp_cats.tolist())}
    t_asof = None
    if IndicatorKind.COUNT in kinds:
        times = cols["time"].view(np.int64)
        t_asof = (
            int(as_time(asof).view(np.int64))
            if asof is not None
            else (int(times.max()) if n else 0)
        )

    pairs = list(blueprint.indicators())
    judged = _judge_layers(pairs, tp_index, tp_codes, cols, cats, bins, progress)
    for i, (tp, ind) in enumerate(pairs):  # a loop over count indicators (a handful)
        if ind.kind is IndicatorKind.COUNT:
            report(progress, f"indicator {tp.code}/{ind.code}", 0.5 + 0.4 * i / len(pairs))
            judged.add_count(i, tp_index.get(tp.code), ind, tp_codes, cols, tp_index, t_asof)

    summary: dict[str, list[Any]] = {c: [] for c in SUMMARY_COLUMNS}
    group_labels = [groups.labels(j) for j in range(len(labels))]
    group_cols: list[list[np.ndarray]] = [[] for _ in labels]
    for i, (tp, ind) in enumerate(pairs):  # a loop over indicators, small arrays each
        g, g_events, g_cases, g_met = judged.counts(i, tp_index.get(tp.code))
        shown = np.flatnonzero(g_events > 0) if labels else np.arange(len(g_events))
        m = len(shown)
        for j in range(len(labels)):
            group_cols[j].append(group_labels[j][g[shown]])
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
    report(progress, "breaches", 0.9)
    rows, which, measured = judged.breaches()
    report(progress, "done", 1.0)
    return ComplianceReport(
        summary_frame(summary, labels, group_cols),
        _breach_frame(pairs, rows, which, measured, cols, cats),
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


#: Rows per chunk of the judging passes: each chunk's temporaries stay a few MiB, and the
#: chunks (a count that depends on the data size only) can run on the thread pool.
CHUNK = 1 << 20
#: Up to this many (touchpoint, group) combinations (or twice the rows) the bin code is
#: ``touchpoint x groups + group`` itself; beyond, the combinations present are numbered.
DIRECT_BINS = 1 << 22
DIRECT_PER_ROW = 2


class _Bins:
    """One dense code per row for its (touchpoint, group), ordered by touchpoint then group.

    The code is ``touchpoint x groups + group`` when that range is small (a few times the
    rows at most), else a sorted factorize of it; rows without a touchpoint go to a bin
    past every touchpoint's, which no indicator reads. Computed once and shared by all
    indicators: the rows stay in input order, nothing is sorted or gathered per indicator.
    """

    def __init__(self, tp_codes: np.ndarray, k: int, groups: Groups) -> None:
        n, width = len(tp_codes), groups.size
        self.width = width
        span = k * width + 1
        key = empty(n, dtype=np.int32 if 3 * span < 2**31 else np.int64)

        def fill(lo: int, hi: int) -> None:
            t = tp_codes[lo:hi]
            part = t.astype(np.int64) * width  # codes may be int8 or int16
            part += groups.codes[lo:hi]
            part[t < 0] = k * width
            key[lo:hi] = part

        map_chunks(fill, n, min_size=CHUNK)
        self.keys: np.ndarray | None = None
        if span <= max(DIRECT_PER_ROW * n, DIRECT_BINS):
            self.codes, self.size = key, span
        else:  # many (touchpoint, group) combinations: number the ones present
            codes, self.keys = factorize(key, sort=True)
            self.size = len(self.keys)
            self.codes = codes.astype(np.int32 if 3 * self.size < 2**31 else np.int64)
            del key
        self._events: np.ndarray | None = None

    @property
    def events(self) -> np.ndarray:
        """Rows per bin (taken from the first judging pass when there is one)."""
        if self._events is None:
            self._events = np.bincount(self.codes, minlength=self.size)
        return self._events

    def span(self, code: int) -> tuple[int, int]:
        """The bins of touchpoint ``code``: ``bins[lo:hi]``."""
        lo, hi = code * self.width, (code + 1) * self.width
        if self.keys is None:
            return lo, hi
        found = np.searchsorted(self.keys, [lo, hi])
        return int(found[0]), int(found[1])

    def group(self, code: int, lo: int, hi: int) -> np.ndarray:
        """The group code of each of ``bins[lo:hi]`` (the bins of touchpoint ``code``)."""
        if self.keys is None:
            return np.arange(hi - lo)
        return self.keys[lo:hi] - code * self.width


class _Judged:
    """Cases and met per bin for each indicator, and the pieces of the breach list."""

    def __init__(self, bins: _Bins, n_pairs: int) -> None:
        self.bins = bins
        self.n_pairs = n_pairs
        self.cases: dict[int, np.ndarray] = {}
        self.met: dict[int, np.ndarray] = {}
        self.pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def counts(
        self, pair: int, code: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Group codes, events, cases and met of indicator ``pair`` at touchpoint ``code``."""
        if code is None:
            zero = np.zeros(self.bins.width, dtype=np.int64)
            return np.arange(self.bins.width), zero, zero, zero
        lo, hi = self.bins.span(code)
        zero = np.zeros(hi - lo, dtype=np.int64)
        return (
            self.bins.group(code, lo, hi),
            self.bins.events[lo:hi],
            self.cases[pair][lo:hi] if pair in self.cases else zero,
            self.met[pair][lo:hi] if pair in self.met else zero,
        )

    def add_count(
        self,
        pair: int,
        code: int | None,
        ind: ControlIndicator,
        tp_codes: np.ndarray,
        cols: dict[str, np.ndarray],
        tp_index: dict[str, int],
        t_asof: int | None,
    ) -> None:
        """Judge a count indicator ("3 calls within 7 days") at its touchpoint's rows."""
        if code is None:
            return
        at_tp = np.flatnonzero(tp_codes == code)
        closed, measured, met = _judge_count(ind, code, at_tp, tp_codes, cols, tp_index, t_asof)
        seen_bins = self.bins.codes[at_tp[closed]]
        self.cases[pair] = np.bincount(seen_bins, minlength=self.bins.size)
        self.met[pair] = np.bincount(seen_bins[met], minlength=self.bins.size)
        bad = ~met
        rows = at_tp[closed][bad]
        self.pieces.append(
            (rows, np.full(len(rows), pair, dtype=_pair_dtype(self.n_pairs)), measured[bad])
        )

    def breaches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, indicator (position in the blueprint) and measured value of every breach,
        by indicator in blueprint order, then by row.

        Each piece (a chunk of rows of one layer, or one count indicator) holds its
        breaches in row order, and an indicator's breaches all come from the pieces of one
        layer, in chunk order. So each piece is sorted by indicator on its own (a radix
        sort of a small piece) and written straight to its place in the output: no sort
        or gather over the whole list. Pieces are placed on the thread pool (they write
        disjoint ranges), so the result does not depend on the thread count.
        """
        pieces, self.pieces, n_pairs = self.pieces, [], self.n_pairs
        if not pieces:
            return np.empty(0, np.int64), np.empty(0, _pair_dtype(n_pairs)), np.empty(0)
        per_piece = np.stack([np.bincount(p[1], minlength=n_pairs) for p in pieces])
        flat = per_piece.T.ravel()  # indicator-major, then piece order
        place = (np.cumsum(flat) - flat).reshape(n_pairs, len(pieces)).T
        total = int(flat.sum())
        rows = empty(total, dtype=np.int64)
        which = empty(total, dtype=_pair_dtype(n_pairs))
        measured = empty(total, dtype=np.float64)

        def put(i: int) -> None:
            r, p, m = pieces[i]
            if not len(p):
                return
            order = np.argsort(p, kind="stable")
            p = p[order]
            first = np.cumsum(per_piece[i]) - per_piece[i]  # start of each run in the piece
            dest = np.arange(len(p), dtype=np.int64)
            dest += (place[i] - first)[p]
            rows[dest], which[dest], measured[dest] = r[order], p, m[order]

        parallel_map(put, range(len(pieces)))
        return rows, which, measured


def _pair_dtype(n_pairs: int) -> type[np.signedinteger[Any]]:
    """Indicator positions as int16 when they fit: ``argsort`` is then a radix sort."""
    return np.int16 if n_pairs < 2**15 else np.int32


def _judge_layers(
    pairs: list[Any],
    tp_index: dict[str, int],
    tp_codes: np.ndarray,
    cols: dict[str, np.ndarray],
    cats: dict[str, np.ndarray],
    bins: _Bins,
    progress: Progress,
) -> _Judged:
    """Judge every time-limit, rating and checklist indicator in a few passes over the rows.

    Indicators are stacked in layers: a layer holds at most one indicator per touchpoint,
    all of one kind and comparison, so one pass over the rows judges the whole layer with
    the targets looked up by touchpoint (a blueprint with one time limit and one rating
    per touchpoint takes two passes, whatever the number of touchpoints). Each pass runs
    over row chunks on the thread pool; per chunk, one ``bincount`` of ``bin x 3 + seen +
    met`` counts cases and met for every (touchpoint, group) at once. Chunks are combined
    in order (integer sums), so the thread count never changes a result.
    """
    judged = _Judged(bins, len(pairs))
    k = len(cats["touchpoint"])
    passed = failed = None
    if "outcome" in cols:
        passed = _label_code(cats["outcome"], "pass")
        failed = _label_code(cats["outcome"], "fail")
    column = {IndicatorKind.TIME_LIMIT: "response_time", IndicatorKind.RATING: "rating"}
    layers: dict[tuple[IndicatorKind, Any, int], dict[int, tuple[int, float, int]]] = {}
    depth: dict[tuple[IndicatorKind, Any, int], int] = {}
    for i, (tp, ind) in enumerate(pairs):  # a loop over indicators, not rows
        code = tp_index.get(tp.code)
        if ind.kind is IndicatorKind.COUNT or code is None:
            continue
        item = -2  # never a code (codes are >= -1)
        if ind.kind is IndicatorKind.CHECKLIST:
            if "indicator" not in cols or "outcome" not in cols:
                continue
            found = _label_code(cats["indicator"], ind.code.lower())
            if found is None:
                continue
            item = found
        elif column[ind.kind] not in cols:
            continue
        target = ind.target_seconds if ind.kind is IndicatorKind.TIME_LIMIT else ind.target
        slot = (ind.kind, ind.comparison, code)
        depth[slot] = depth.get(slot, -1) + 1
        layers.setdefault((ind.kind, ind.comparison, depth[slot]), {})[code] = (
            i,
            float(target),
            item,
        )
    for n_done, ((kind, comparison, _), members) in enumerate(layers.items()):
        report(progress, f"{kind.value} indicators", 0.5 * n_done / len(layers))
        # lookup tables by touchpoint code; the last entry serves code -1 (no touchpoint)
        pair_of = np.full(k + 1, -1, dtype=_pair_dtype(len(pairs)))
        target = np.full(k + 1, np.nan)
        items = np.full(k + 1, -2, dtype=np.int64)
        for code, (i, t, item) in members.items():  # a loop over touchpoints
            pair_of[code], target[code], items[code] = i, t, item
        layer = _Layer(kind, comparison.op, pair_of, target, items, tp_codes, cols, bins)
        layer.passed, layer.failed = passed, failed
        parts = map_chunks(layer.judge, len(tp_codes), min_size=max(CHUNK, 3 * bins.size))
        total = parts[0][0].copy() if parts else np.zeros(3 * bins.size, dtype=np.int64)
        for p in parts[1:]:  # chunk order: integer sums, the same for any thread count
            total += p[0]
        # (copies: a view would keep the layer's whole three-count array alive)
        cases, met = total[1::3] + total[2::3], total[2::3].copy()
        if bins._events is None:  # every row is in one of its bin's three counts
            bins._events = total[0::3] + cases
        for i, _, _ in members.values():
            judged.cases[i], judged.met[i] = cases, met
        judged.pieces.extend((p[1], p[2], p[3]) for p in parts)
    return judged


class _Layer:
    """Lookup tables by touchpoint code for one layer of indicators, and its pass over
    rows ``lo:hi``; the last entry of each table serves code -1 (no touchpoint)."""

    passed: int | None = None
    failed: int | None = None

    def __init__(
        self,
        kind: IndicatorKind,
        op: Any,
        pair_of: np.ndarray,
        target: np.ndarray,
        items: np.ndarray,
        tp_codes: np.ndarray,
        cols: dict[str, np.ndarray],
        bins: _Bins,
    ) -> None:
        self.kind, self.op, self.pair_of, self.target, self.items = kind, op, pair_of, target, items
        self.active = pair_of >= 0
        self.tp_codes, self.cols, self.bins = tp_codes, cols, bins
        self.values = cols.get(
            {IndicatorKind.TIME_LIMIT: "response_time", IndicatorKind.RATING: "rating"}.get(
                kind, ""
            )
        )

    def judge(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Counts per ``bin x 3 + seen + met``, and the breaches' rows, indicators and values."""
        t = self.tp_codes[lo:hi]
        if self.kind is IndicatorKind.CHECKLIST:
            out = self.cols["outcome"][lo:hi]
            is_pass = out == self.passed if self.passed is not None else np.zeros(hi - lo, bool)
            seen = self.cols["indicator"][lo:hi] == self.items[t]
            seen &= is_pass | (out == self.failed) if self.failed is not None else is_pass
            value = is_pass.astype(np.float64)
        else:
            assert self.values is not None
            value = self.values[lo:hi]
            seen = self.active[t]
            seen &= ~np.isnan(value)
        met = np.asarray(self.op(value, self.target[t]), dtype=bool)
        met &= seen
        code3 = self.bins.codes[lo:hi] * 3
        np.add(code3, seen, out=code3)
        np.add(code3, met, out=code3)
        counts = np.bincount(code3, minlength=3 * self.bins.size)
        seen &= ~met  # now: the breaches
        where = np.flatnonzero(seen)
        return counts, where + lo, self.pair_of[t[where]], value[where]


def _label_code(cats: np.ndarray, value: str) -> int | None:
    hits = [i for i, v in enumerate(cats.tolist()) if isinstance(v, str) and v.lower() == value]
    return hits[0] if hits else None


def _judge_count(
    ind: ControlIndicator,
    code: int,
    at_tp: np.ndarray,
    tp_codes: np.ndarray,
    cols: dict[str, np.ndarray],
    tp_index: dict[str, int],
    t_asof: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow-ups of the same customer at the counted touchpoints in (t, t + within]:
    which of the touchpoint's rows ``at_tp`` are closed cases, their counts and verdicts."""
    assert ind.within is not None and t_asof is not None
    within = int(ind.within.total_seconds() * 1_000_000)
    cust, times = cols["customer"], cols["time"].view(np.int64)
    counted_codes = [tp_index[c] for c in (ind.counts or ()) if c in tp_index]
    if not ind.counts:
        counted_codes = [code]
    counted = np.flatnonzero(np.isin(tp_codes, counted_codes) & (cust >= 0))
    closed = (cust[at_tp] >= 0) & (times[at_tp] + within <= t_asof)
    cases = at_tp[closed]
    t0, c0 = times[cases], cust[cases]
    # follow-ups in (t, t + within]: two positions per case among the counted rows
    # sorted by (customer, time)
    counts = count_within(cust[counted], times[counted], c0, t0, t0 + within)
    measured = counts.astype(np.float64)
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
    rows: np.ndarray,
    which: np.ndarray,
    measured: np.ndarray,
    cols: dict[str, np.ndarray],
    cats: dict[str, np.ndarray],
) -> ScoreFrame:
    """The breach list: ``which`` is each breach's indicator (position in ``pairs``)."""
    out: dict[str, np.ndarray] = {"row": rows}
    categories: dict[str, np.ndarray] = {}
    if "event_id" in cols:
        out["event_id"] = cols["event_id"][rows]
    tps = np.array([tp.code for tp, _ in pairs], dtype=object)
    tp_codes, tp_labels = (
        np.unique(tps, return_inverse=True) if len(tps) else (tps, np.empty(0, np.int64))
    )
    out["touchpoint"] = tp_labels.astype(np.int64)[which]
    categories["touchpoint"] = tp_codes
    # indicator codes may repeat across touchpoints: categories are the distinct codes
    ind_of_pair, ind_codes = factorize(
        np.array([ind.code for _, ind in pairs], dtype=object), sort=False
    )
    out["indicator"] = ind_of_pair.astype(np.int64)[which]
    categories["indicator"] = ind_codes
    if "customer" in cols:
        out["customer"] = cols["customer"][rows]
        categories["customer"] = cats["customer"]
    if "time" in cols:
        out["time"] = cols["time"][rows]
    out["measured"] = measured
    targets = np.array(
        [
            ind.target_seconds if ind.kind is IndicatorKind.TIME_LIMIT else float(ind.target)
            for _, ind in pairs
        ],
        dtype=np.float64,
    )
    out["target"] = targets[which]
    return ScoreFrame(out, categories, key="row")
