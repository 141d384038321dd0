"""The report's sections over what the library sells, shared by the demo and ``touchpoint report``.

Each section is computed by calling the library's own scores on the events (no number
is computed twice in another way) and comes back as a plain dict, ready for the text
report, the HTML page and JSON:

- ``rows``: the section's table (a list of row dicts) and ``columns``: its columns;
- ``note``: one or two sentences saying what the table shows;
- ``chart``: how the HTML page draws it (``{"kind": "bar" | "line" | "heatmap", ...}``),
  or None.

A section that does not apply (no blueprint, no purchases, no ratings on a 0-10 scale,
no experiment...) is not computed: `report_sections` returns it in ``left`` with the
reason.

Examples
--------
>>> from touchpoint.datasets import load_synthetic
>>> events, people, blueprint = load_synthetic(customers=500, seed=2)
>>> done, left = report_sections(events, blueprint, asof=dt.date(2026, 11, 23))
>>> done["FUNNEL"]["rows"][0]["stage"], "CARE RULE LIFT" in left
('awareness', True)
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint._distinct import distinct
from touchpoint.errors import ValidationError

__all__ = [
    "CUSTOMER_COLUMNS",
    "MONTHS",
    "SECTION_TITLES",
    "narrow",
    "report_sections",
    "rows_of",
    "touchpoint_mask",
]

#: The columns the customer scores (value, CLV, churn, funnel, retention, lift) read.
CUSTOMER_COLUMNS = ("customer", "time", "amount", "outcome", "touchpoint")

#: How many months the time tables (compliance by store, NPS, CSAT) show, up to the day.
MONTHS = 12

#: The sections of `report_sections`, in the order the reports show them.
SECTION_TITLES = (
    "RFM SEGMENTS",
    "PARETO CURVE",
    "CLV AND P(ALIVE)",
    "CHURN RISK",
    "FUNNEL",
    "RETENTION",
    "SATISFACTION OVER TIME",
    "NPS",
    "COMPLIANCE BY STORE AND MONTH",
    "CARE RULE LIFT",
)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def rows_of(frame: Any, columns: list[str], limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a frame's columns, as dicts of Python values."""
    cols = {c: np.asarray(frame[c]) for c in columns}
    n = len(next(iter(cols.values()))) if cols else 0
    n = n if limit is None else min(n, limit)
    # one dict per printed row: a report's few dozen rows, not a loop per customer
    return [{c: _plain(v[i]) for c, v in cols.items()} for i in range(n)]


def narrow(events: Any, names: tuple[str, ...] | list[str], index: Any = None) -> Any:
    """An `EventFrame` of some columns of ``events`` (and rows, ``index``), sharing no more.

    At millions of events a `EventFrame.take` of every column is gigabytes; a score
    needs a few columns.
    """
    from touchpoint.frame import EventFrame

    cols = {
        k: events.columns[k] if index is None else events.columns[k][index]
        for k in names
        if k in events.columns
    }
    return EventFrame(cols, {k: v for k, v in events.categories.items() if k in cols})


def touchpoint_mask(events: Any, names: list[str]) -> np.ndarray:
    """Which events are at one of the touchpoints ``names`` (through the codes, no decoding)."""
    if not len(events) or not names:
        return np.zeros(len(events), dtype=bool)
    if "touchpoint" in events.categories:
        hit = np.isin(events.categories["touchpoint"].astype(str), names)
        codes = events.codes("touchpoint")
        out: np.ndarray = (codes >= 0) & hit[np.maximum(codes, 0)]
        return out
    return np.isin(np.asarray(events["touchpoint"], dtype=object), names)


def _section(
    rows: list[dict[str, Any]], columns: list[str], note: str = "", chart: Any = None
) -> dict[str, Any]:
    return {"rows": rows, "columns": columns, "note": note, "chart": chart}


def _line(
    rows: list[dict[str, Any]], x: str, y: str, *, x_label: str, y_label: str, title: str
) -> dict[str, Any]:
    """A line chart of two columns of a section's rows."""
    return {
        "kind": "line",
        "x": [r[x] for r in rows],
        "y": [r[y] for r in rows],
        "x_label": x_label,
        "y_label": y_label,
        "title": title,
    }


def _months(asof: dt.date) -> list[str]:
    """The last `MONTHS` months up to ``asof``, as ``YYYY-MM`` (the scores' period labels)."""
    last = np.datetime64(asof, "M")
    return [str(last - k) for k in range(MONTHS - 1, -1, -1)]


def _rfm(buyers: Any, asof: np.datetime64) -> tuple[Any, dict[str, Any]]:
    from touchpoint import scoring

    values = scoring.rfm(buyers, asof=asof)
    bought = np.asarray(values["frequency"]) > 0
    values = values.take(np.flatnonzero(bought))
    scores = scoring.rfm_scores(values)
    names, counts = np.unique(np.asarray(scores["segment"]).astype(str), return_counts=True)
    money = np.asarray(values["monetary"], float)
    seg = np.asarray(scores["segment"]).astype(str)
    value = np.array([money[seg == s].sum() for s in names])  # a loop over ~10 segments
    order = np.argsort(-value, kind="stable")
    total = max(float(money.sum()), 1e-300)
    rows = [
        {
            "segment": str(names[i]),
            "customers": int(counts[i]),
            "customer_share": float(counts[i] / max(len(seg), 1)),
            "value": float(value[i]),
            "value_share": float(value[i] / total),
        }
        for i in order
    ]
    section = _section(
        rows,
        ["segment", "customers", "customer_share", "value", "value_share"],
        f"{len(seg):,} customers with a purchase, scored 1-5 on recency, frequency and "
        "monetary value (`scoring.rfm_scores`)",
        {"kind": "bar", "label": "segment", "value": "customers", "title": "customers per segment"},
    )
    return values, section


def _pareto(values: Any) -> dict[str, Any]:
    from touchpoint import scoring

    curve = scoring.pareto(values, points=21)
    top = scoring.top_share(values, top=0.2)
    rows = rows_of(curve, ["customer_share", "value_share"])
    return _section(
        rows[::2],
        ["customer_share", "value_share"],
        f"the top 20% of customers bring {100 * top:.1f}% of the value (80/20 would be 80%)",
        _line(
            rows,
            "customer_share",
            "value_share",
            x_label="share of customers (best first)",
            y_label="share of value",
            title="Pareto curve",
        ),
    )


def _clv(buyers: Any, asof: np.datetime64) -> dict[str, Any]:
    from touchpoint import clv

    summary = clv.customer_summary(buyers, asof=asof)
    with warnings.catch_warnings():
        # a fit at a limit of the model warns; the report states the parameters
        warnings.simplefilter("ignore")
        purchases = clv.BetaGeo().fit(summary)
        alive = np.asarray(purchases.probability_alive(summary)["probability_alive"], float)
        expected = np.asarray(purchases.expected_purchases(summary, 52)["expected_purchases"])
        spend = clv.GammaGamma().fit(summary)
        value = np.asarray(
            spend.customer_lifetime_value(purchases, summary, periods=12)[
                "customer_lifetime_value"
            ],
            float,
        )
    edges = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0 + 1e-12])
    band = np.clip(np.searchsorted(edges, alive, side="right") - 1, 0, 4)
    k = len(edges) - 1
    count = np.bincount(band, minlength=k)
    worth = np.bincount(band, weights=np.nan_to_num(value), minlength=k)
    rows = [
        {
            "p_alive": f"{edges[i]:.1f}-{min(edges[i + 1], 1.0):.1f}",
            "customers": int(count[i]),
            "clv": float(worth[i]),
            "mean_clv": float(worth[i] / count[i]) if count[i] else None,
        }
        for i in range(k)  # five bands
    ]
    p = purchases.params_
    return _section(
        rows,
        ["p_alive", "customers", "clv", "mean_clv"],
        f"BG/NBD (r={p['r']:.3g}, alpha={p['alpha']:.3g}, a={p['a']:.3g}, b={p['b']:.3g}) "
        f"and Gamma-Gamma over {len(alive):,} customers: {float(expected.sum()):,.0f} "
        f"purchases expected in the next 52 weeks, 12-month CLV {float(np.nansum(value)):,.0f} "
        f"in all; mean P(alive) {float(alive.mean()) if len(alive) else float('nan'):.2f}",
        {
            "kind": "bar",
            "label": "p_alive",
            "value": "customers",
            "title": "customers by P(alive)",
        },
    )


def _churn(buyers: Any, asof: np.datetime64) -> dict[str, Any]:
    from touchpoint import scoring

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fit at a limit of the model warns
        risk = scoring.churn_risk(buyers, asof=asof)
    level = np.asarray(risk["level"]).astype(str)
    scored = level != "none"
    names = [*scoring.CHURN_LEVELS]
    counts = [int(np.sum(level == name)) for name in names]  # four levels
    n = max(int(scored.sum()), 1)
    rows = [
        {"level": name, "customers": c, "share": c / n}
        for name, c in zip(names, counts, strict=True)
    ]
    return _section(
        rows,
        ["level", "customers", "share"],
        f"{int(scored.sum()):,} customers with purchases, by how overdue their next "
        "purchase is against their own rhythm (`scoring.churn_risk`)",
        {"kind": "bar", "label": "level", "value": "customers", "title": "customers by churn risk"},
    )


def _funnel(events: Any, blueprint: Any) -> dict[str, Any]:
    from touchpoint import journeys

    f = journeys.funnel(events, blueprint=blueprint)
    rows = rows_of(f, ["stage", "customers", "conversion", "share", "median_days"])
    worst = min(
        (r for r in rows if r["conversion"] is not None),
        key=lambda r: r["conversion"],
        default=None,
    )
    note = "customers reaching each stage of the blueprint, in order"
    if worst is not None:
        note += (
            f"; the biggest drop is into {worst['stage']} "
            f"({100 * worst['conversion']:.0f}% of the stage before get there)"
        )
    return _section(
        rows,
        ["stage", "customers", "conversion", "share", "median_days"],
        note,
        {"kind": "bar", "label": "stage", "value": "customers", "title": "customers per stage"},
    )


def _retention(buyers: Any, asof: np.datetime64) -> dict[str, Any]:
    from touchpoint import journeys

    table = journeys.retention(buyers, period="Q", asof=asof).table
    cohort = np.asarray(table["cohort"]).astype("datetime64[D]")
    offset = np.asarray(table["offset"])
    share = np.asarray(table["share"], float)
    size = np.asarray(table["customers"])
    cohorts = distinct(cohort)[-8:]
    width = 8
    rows = []
    for c in cohorts:  # the last eight quarterly cohorts
        mine = cohort == c
        row: dict[str, Any] = {
            "cohort": str(c.astype("datetime64[M]")),
            "customers": int(size[mine & (offset == 0)].sum()),
        }
        for k in range(width):  # eight quarters after
            hit = mine & (offset == k)
            row[f"q{k}"] = float(share[hit][0]) if hit.any() else None
        rows.append(row)
    return _section(
        rows,
        ["cohort", "customers", *(f"q{k}" for k in range(width))],
        "share of each quarter's new customers still active k quarters later "
        "(`journeys.retention`, active: an event in the last 90 days)",
        {
            "kind": "heatmap",
            "row": "cohort",
            "columns": [f"q{k}" for k in range(width)],
            "title": "retention by cohort",
        },
    )


def off_scale(error: ValidationError) -> str:
    """Why a CSAT section is left out: the first problem, and what to do about it.

    A whole number from 0 to 10 off the scale is likely the answer to a 0-10 question
    at a touchpoint the blueprint does not mark as one; any other value is either bad
    data or the answer on another scale (1-7, 0-100), and advice about 0-10 would mislead.

    >>> from touchpoint.errors import Problem
    >>> off_scale(ValidationError([Problem("rating[3]", "a rating must be between 1 and 5", 9.0)]))
    'a rating must be between 1 and 5 (rating[3] is 9.0): give the touchpoints that ask a 0-10 question a rating indicator with scale 10 in the blueprint'
    >>> off_scale(ValidationError([Problem("rating[4]", "a rating must be between 1 and 5", 47.5)]))
    'a rating must be between 1 and 5 (rating[4] is 47.5): check the data, or give that touchpoint its own rating scale in the blueprint'
    """
    problem = error.problems[0]
    if not problem.has_value:
        return problem.message
    shown = f"{problem.message} ({problem.path} is {problem.value})"
    value = problem.value
    if not isinstance(value, int | float) or value != value:
        return shown
    if 0 <= value <= 10 and float(value).is_integer():
        return (
            f"{shown}: give the touchpoints that ask a 0-10 question a rating indicator "
            "with scale 10 in the blueprint"
        )
    return f"{shown}: check the data, or give that touchpoint its own rating scale in the blueprint"


def _csat(events: Any, asof: dt.date) -> dict[str, Any]:
    from touchpoint import scoring

    sat = scoring.csat(events, by=None, period="month")
    rows = [
        r
        for r in rows_of(
            sat, ["period", "responses", "csat", "csat_low", "csat_high", "mean_rating"]
        )
        if r["period"] in set(_months(asof))
    ]
    return _section(
        rows,
        ["period", "responses", "csat", "csat_low", "csat_high", "mean_rating"],
        "share of ratings of 4 or 5 stars, month by month, with its 95% interval",
        _line(rows, "period", "csat", x_label="month", y_label="CSAT", title="CSAT by month"),
    )


def _nps(events: Any, asof: dt.date) -> dict[str, Any]:
    from touchpoint import scoring

    overall = scoring.nps(events)
    by_month = scoring.nps(events, period="month")
    cols = ["period", "responses", "promoters", "detractors", "nps", "nps_low", "nps_high"]
    rows = [r for r in rows_of(by_month, cols) if r["period"] in set(_months(asof))]
    total = float(np.asarray(overall["nps"])[0])
    return _section(
        rows,
        cols,
        f"Net Promoter Score over all {int(np.asarray(overall['responses'])[0]):,} answers: "
        f"{total:.1f} (promoters 9-10 minus detractors 0-6)",
        _line(rows, "period", "nps", x_label="month", y_label="NPS", title="NPS by month"),
    )


def _store_months(events: Any, blueprint: Any, asof: dt.date) -> dict[str, Any] | None:
    from touchpoint import scoring

    s = scoring.compliance(events, blueprint, by="store", period="month").summary
    store = np.asarray(s["store"]).astype(str)
    period = np.asarray(s["period"]).astype(str)
    cases = np.asarray(s["cases"], float)
    met = np.asarray(s["met"], float)
    months = _months(asof)
    keep = np.isin(period, months) & (store != "None") & (store != "")
    if not keep.any():
        return None
    stores, si = np.unique(store[keep], return_inverse=True)
    mi = np.searchsorted(np.array(months), period[keep])
    shape = (len(stores), len(months))
    c = np.zeros(shape)
    m = np.zeros(shape)
    np.add.at(c, (si, mi), cases[keep])
    np.add.at(m, (si, mi), met[keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = m / c
    recent = slice(len(months) - 3, None)
    early = slice(0, len(months) // 2)  # the first half of the window: well before
    with np.errstate(invalid="ignore", divide="ignore"):
        late_rate = m[:, recent].sum(1) / c[:, recent].sum(1)
        early_rate = m[:, early].sum(1) / c[:, early].sum(1)
    worst = int(np.nanargmin(late_rate)) if np.isfinite(late_rate).any() else None
    rows = []
    for i, name in enumerate(stores):  # one row per store (tens)
        row: dict[str, Any] = {"store": str(name)}
        for j, month in enumerate(months):  # twelve months
            row[month] = None if c[i, j] == 0 else float(rate[i, j])
        rows.append(row)
    note = "share of cases meeting their control indicator (all indicators), per store and month"
    if worst is not None:
        rank = int(np.sum(early_rate < early_rate[worst]))  # stores worse before
        note += (
            f"; worst in the last 3 months: {stores[worst]} "
            f"({100 * late_rate[worst]:.1f}%, against {100 * early_rate[worst]:.1f}% in the "
            f"first {len(months) // 2} months shown, when {rank} of {len(stores)} stores did worse)"
        )
    return _section(
        rows,
        ["store", *months],
        note,
        {"kind": "heatmap", "row": "store", "columns": months, "title": "compliance by store"},
    )


def _lift(events: Any, experiment: Mapping[str, Any]) -> dict[str, Any]:
    from touchpoint import experiments

    customers = np.asarray(experiment["customers"], dtype=object)
    held = experiments.holdout(customers, share=experiment["share"], salt=experiment["salt"])
    result = experiments.lift(
        events,
        customers=customers,
        held_out=held,
        start=experiment["start"],
        end=experiment["end"],
        metric="repurchase",
    )
    row = {
        "rule": str(experiment["rule"]),
        "treated": result.treated,
        "holdout": result.holdout,
        "treated_rate": result.treated_mean,
        "holdout_rate": result.holdout_mean,
        "lift": result.estimate,
        "lower": result.lower,
        "upper": result.upper,
        "p_value": result.p_value,
    }
    note = (
        f"repurchase from {experiment['start']} to {experiment['end']} of the customers the "
        f"rule reached, contacted against the {100 * experiment['share']:.0f}% holdout "
        f"(`experiments.holdout`, salt {experiment['salt']!r}): lift "
        f"{100 * result.estimate:+.1f} points, 95% interval "
        f"[{100 * result.lower:+.1f}, {100 * result.upper:+.1f}]"
    )
    if "effect" in experiment:
        note += f"; the simulated true effect is {100 * experiment['effect']:+.1f} points"
    return _section(
        [row],
        [
            "rule",
            "treated",
            "holdout",
            "treated_rate",
            "holdout_rate",
            "lift",
            "lower",
            "upper",
            "p_value",
        ],
        note,
        None,
    )


def report_sections(
    events: Any,
    blueprint: Any,
    *,
    asof: dt.date,
    customers: Any = None,
    experiment: Mapping[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The sections of `SECTION_TITLES` for ``events``: (title -> section, title -> why left out).

    Parameters
    ----------
    events:
        The workspace's interactions (an `EventFrame`).
    blueprint:
        Its `touchpoint.model.Blueprint`, or None.
    asof:
        The day of the report: scores are as of the end of it; the time tables show
        the `MONTHS` months up to it.
    customers:
        The customers' own events when ``events`` holds others too (e.g. the demo's
        mystery shoppers' audits); default ``events``. Value, CLV, churn and
        retention are computed on these.
    experiment:
        A care rule's experiment: ``rule``, ``customers`` (the ids it reached),
        ``share`` and ``salt`` (of `touchpoint.experiments.holdout`), ``start`` and
        ``end`` (the window), and optionally ``effect`` (a simulated truth to show).
    """
    from touchpoint.demo._blueprint import nps_touchpoints

    done: dict[str, dict[str, Any]] = {}
    left: dict[str, str] = {}
    buyers = narrow(events if customers is None else customers, CUSTOMER_COLUMNS)
    stamp = np.datetime64(asof + dt.timedelta(days=1), "us")
    has_amount = (
        len(buyers) > 0
        and "amount" in buyers.columns
        and bool(np.isfinite(np.asarray(buyers["amount"], float)).any())
    )
    if not has_amount:
        for title in SECTION_TITLES[:4]:
            left[title] = "no purchases with amounts"
    else:
        values, done["RFM SEGMENTS"] = _rfm(buyers, stamp)
        done["PARETO CURVE"] = _pareto(values)
        try:
            done["CLV AND P(ALIVE)"] = _clv(buyers, stamp)
        except ImportError as error:
            left["CLV AND P(ALIVE)"] = f"needs scipy ({error})"
        except ValidationError as error:  # data a model cannot be fitted to: say why
            left["CLV AND P(ALIVE)"] = f"the BG/NBD or Gamma-Gamma fit: {error.problems[0].message}"
        try:
            done["CHURN RISK"] = _churn(buyers, stamp)
        except ValidationError as error:
            left["CHURN RISK"] = f"the purchase-rhythm fit: {error.problems[0].message}"
    if blueprint is None:
        left["FUNNEL"] = "no blueprint (its stages define the funnel)"
    elif len(buyers) == 0:
        left["FUNNEL"] = "no interactions"
    else:
        done["FUNNEL"] = _funnel(buyers, blueprint)
    if len(buyers) == 0:
        left["RETENTION"] = "no interactions"
    else:
        done["RETENTION"] = _retention(buyers, stamp)
    ten = [tp.code for tp in nps_touchpoints(blueprint)]
    rated = (
        np.isfinite(np.asarray(events["rating"], float))
        if len(events) and "rating" in events.columns
        else np.zeros(len(events), dtype=bool)
    )
    at_ten = touchpoint_mask(events, ten)
    stars = np.flatnonzero(rated & ~at_ten)
    answers = np.flatnonzero(rated & at_ten)
    del rated, at_ten
    if not len(stars):
        left["SATISFACTION OVER TIME"] = "no ratings in the data"
    else:
        try:
            done["SATISFACTION OVER TIME"] = _csat(
                narrow(events, ["rating", "time", "touchpoint"], stars), asof
            )
        except ValidationError as error:  # e.g. 0-10 answers at a touchpoint not marked so
            left["SATISFACTION OVER TIME"] = off_scale(error)
    if not ten:
        left["NPS"] = "no touchpoint asks for a 0-10 rating (the NPS question)"
    elif not len(answers):
        left["NPS"] = "no 0-10 ratings in the data"
    else:
        done["NPS"] = _nps(narrow(events, ["rating", "time", "touchpoint"], answers), asof)
    if blueprint is None or not any(True for _ in blueprint.indicators()):
        left["COMPLIANCE BY STORE AND MONTH"] = (
            "no blueprint" if blueprint is None else "no control indicators"
        )
    elif "store" not in events.columns:
        left["COMPLIANCE BY STORE AND MONTH"] = "the interactions have no store"
    else:
        table = _store_months(events, blueprint, asof)
        if table is None:
            left["COMPLIANCE BY STORE AND MONTH"] = "no cases with a store in the last months"
        else:
            done["COMPLIANCE BY STORE AND MONTH"] = table
    if experiment is None:
        left["CARE RULE LIFT"] = "no care-rule experiment (customers reached and a holdout)"
    else:
        try:
            done["CARE RULE LIFT"] = _lift(buyers, experiment)
        except ValidationError as error:  # e.g. a small base: nobody held out
            problem = error.problems[0]
            left["CARE RULE LIFT"] = f"{problem.path}: {problem.message} ({problem.value})"
    ordered = {t: done[t] for t in SECTION_TITLES if t in done}
    return ordered, {t: left[t] for t in SECTION_TITLES if t in left}
