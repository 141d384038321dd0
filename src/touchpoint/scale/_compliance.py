"""Control-indicator compliance on Dask: the score per partition of customers, then a reduction.

`touchpoint.scoring.compliance` names input rows (each breach's ``row``, and rows in its
errors), so the events are numbered in input order first (`positioned`), partitioned by
customer and put back in input order in each partition (`partition_results`), where
the in-memory score runs. The partitions' summaries are counts per indicator and group:
they are added up and finished by the in-memory code; the breaches stay on the workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from touchpoint.frame import ScoreFrame, factorize, register_plan
from touchpoint.model import IndicatorKind
from touchpoint.scale._dask import conform
from touchpoint.scale._reports import frame_of, meta_of, partition_results, plain, positioned
from touchpoint.scoring import ComplianceReport, compliance
from touchpoint.scoring import parts as scoring

__all__ = ["compliance_on_dask"]


def _labels(kwargs: dict[str, Any]) -> list[str]:
    by = kwargs["by"]
    keys = [by] if isinstance(by, str) else list(by)
    return keys + (["period"] if kwargs["period"] is not None else [])


@register_plan(
    "compliance",
    how="per customer",
    result="a ComplianceReport: summary computed, breaches a persisted Dask DataFrame",
    note=(
        "events numbered, partitioned by customer, put back in input order; the summary "
        "reduced and computed, the breaches persisted"
    ),
)
def compliance_on_dask(
    data: Any,
    blueprint: Any,
    *,
    by: str | Sequence[str],
    period: str | None,
    asof: Any,
    touchpoint: str,
    customer: str,
    time: str,
    rating: str,
    response_time: str,
    outcome: str,
    indicator: str,
    event_id: str,
    strict: bool,
    progress: Any,
) -> ComplianceReport:
    """`touchpoint.scoring.compliance` on a Dask DataFrame (see its Returns section)."""
    import dask

    kwargs: dict[str, Any] = {
        "by": by,
        "period": period,
        "asof": asof,
        "touchpoint": touchpoint,
        "customer": customer,
        "time": time,
        "rating": rating,
        "response_time": response_time,
        "outcome": outcome,
        "indicator": indicator,
        "event_id": event_id,
        "strict": strict,
    }
    pairs = list(blueprint.indicators())
    labels = _labels(kwargs)
    # the stand-in's made-up touchpoint code is not in the blueprint: not strict for it
    relaxed = {**kwargs, "strict": False}
    sample, breach_sample = meta_of(
        lambda ev, rows: _partition(ev, rows, blueprint, relaxed, None), data
    )
    # the stand-in's own events do not count; without groups, its summary still has a
    # row per indicator, so the reduction has them even when there are no events at all
    sample = sample.assign(events=0, cases=0, met=0)
    metas = (sample.iloc[:0], breach_sample.iloc[:0])
    count = IndicatorKind.COUNT in scoring.indicator_kinds(blueprint) and kwargs["asof"] is None
    numbered, latest = positioned(data, kwargs["time"] if count else None)
    if count and latest is not None:
        kwargs = {**kwargs, "asof": latest}
    results = partition_results(
        numbered, kwargs["customer"], _partition, metas, blueprint, kwargs, metas[1]
    )
    # one pass: the breaches stay on the workers, the small summaries are gathered
    breaches, summaries = dask.persist(
        frame_of(results, 1, metas[1]), frame_of(results, 0, metas[0])
    )
    parts = summaries.compute()
    return ComplianceReport(_combine([sample, parts], pairs, labels), breaches)


def _partition(
    events: Any, rows: np.ndarray, blueprint: Any, kwargs: dict[str, Any], breach_meta: Any
) -> tuple[Any, Any]:
    """`compliance` on one partition as pandas: its summary (with each row's indicator
    number, ``__pair``) and its breaches, rows as input positions."""
    import pandas as pd

    report = compliance(events, blueprint, **kwargs)
    summary = dict(report.summary.columns)
    tp, ind = summary["touchpoint"], summary["indicator"]
    number = {(t.code, i.code): j for j, (t, i) in enumerate(blueprint.indicators())}
    # rows come in runs of one indicator: a loop over the runs (indicators), not rows
    starts = np.flatnonzero(np.concatenate(([True], (tp[1:] != tp[:-1]) | (ind[1:] != ind[:-1]))))
    starts = starts[starts < len(tp)]
    run_pair = np.array([number[(tp[s], ind[s])] for s in starts], dtype=np.int64)
    summary["__pair"] = np.repeat(run_pair, np.diff(np.append(starts, len(tp))))
    breaches = report.breaches.to_pandas()
    breaches["row"] = rows[breaches["row"].to_numpy()]
    if "customer" in breaches:
        breaches["customer"] = plain(breaches["customer"])
    if breach_meta is not None:
        breaches = conform(breaches, breach_meta)
    return pd.DataFrame(summary), breaches


def _combine(parts: list[Any], pairs: list[Any], labels: list[str]) -> ScoreFrame:
    """The partitions' summaries (pandas) summed per indicator and group, finished by the
    same `touchpoint.scoring.parts.summary_frame` as in memory; groups in ascending order of their labels."""
    import pandas as pd

    frame = pd.concat(parts, ignore_index=True)
    cols = {name: frame[name].to_numpy(dtype=object, na_value=None) for name in frame.columns}
    n = len(frame)
    keys = [(frame["__pair"].to_numpy(dtype=np.int64), np.arange(len(pairs)))]
    keys += [factorize(cols[name], sort=True) for name in labels]
    groups = scoring.Groups.of(keys, n)
    k = len(groups.key_codes[0])
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, groups.codes, np.arange(n))
    sums = {}
    for name in ("events", "cases", "met"):
        sums[name] = np.zeros(k, dtype=np.int64)
        np.add.at(sums[name], groups.codes, frame[name].to_numpy(dtype=np.int64))
    # as in memory: with group columns, only the groups with events at the touchpoint
    shown = np.flatnonzero(sums["events"] > 0) if labels else np.arange(k)
    summary = {name: [cols[name][first[shown]]] for name in scoring.SUMMARY_COLUMNS[:-3]}
    summary.update({name: [sums[name][shown]] for name in sums})
    group_cols = [[groups.labels(j + 1)[shown]] for j in range(len(labels))]
    return scoring.summary_frame(summary, labels, group_cols)
