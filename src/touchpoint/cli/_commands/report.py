"""``touchpoint report URL --html FILE``: the report of a workspace as one HTML page.

The sections are those of the ``touchpoint demo`` report that apply to the workspace:
the customer pyramid (value tiers), the loyalty tiers (when the blueprint has a loyalty
programme), compliance with the control indicators (when the blueprint has indicators
and the data has cases), satisfaction by stage (when the data has ratings), the care
agenda of the day with every held contact and why (when the blueprint has care rules
and the workspace stores customers), and the sections the demo shares with it
(`touchpoint.demo._sections`): RFM segments, the Pareto curve, CLV and P(alive), churn
risk, the funnel over the blueprint's stages, the retention table, CSAT and NPS by
month, compliance by store and month, and the held-out lift of a care rule (for a
workspace the demo made, which records its experiment). A section that does not apply
is left out and the page says why. The demo's key-touchpoint ranking (Markov
attribution × rating drivers) and its overdue promises are not part of it:
``touchpoint score`` runs the scores behind them.

Examples
--------
>>> import pathlib, tempfile
>>> import touchpoint
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "orders.csv").write_text("customer,time,amount\\nC1,2026-01-05,30\\n"
...                                     "C1,2026-02-05,10\\nC2,2026-02-01,12.5\\n")
>>> url = f"sqlite:///{tmp / 'shop.db'}"
>>> touchpoint.open(url).close()
>>> main(["import", url, str(tmp / "orders.csv")])  # doctest: +ELLIPSIS
/...
0
>>> main(["report", url, "--html", str(tmp / "r.html"), "--asof", "2026-03-01"])
... # doctest: +ELLIPSIS
wrote the report of sqlite:///...shop.db to ...r.html: customer pyramid, rfm segments, ...
left out: loyalty tiers (no blueprint), compliance (no blueprint), ...
0
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import re
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from touchpoint.errors import TouchpointError

NAME = "report"
HELP = "write the report of a workspace (value, CLV, churn, funnel, compliance, care...) as HTML"

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr:nth-child(even){background:#f4f4f4}.bar{background:#3b7dd8;height:.8em;display:inline-block}"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write the report of the workspace at URL to FILE, one self-contained HTML page: "
        "the customer pyramid, loyalty tiers, compliance with the control indicators, "
        "satisfaction by stage and the care agenda of the day, each where the workspace's "
        "blueprint and data allow it (the page and the output name the sections left "
        "out and why)."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument("--html", required=True, metavar="FILE", help="the HTML file to write")
    parser.add_argument(
        "--asof", metavar="DATE", help="the day of the report, YYYY-MM-DD (default: today)"
    )
    parser.add_argument("--json", action="store_true", help="print the sections as JSON")


#: Above this many stored interactions `_interactions` reads them a year at a time.
WINDOWED_OVER = 2_000_000


def _interactions(ws: Any, day: dt.date, *, over: int | None = None) -> Any:
    """The workspace's interactions, without their event ids (no section reads them).

    Above ``over`` interactions they are read a year at a time and only the columns
    the sections read are kept, the codes of small categories as int32: a whole
    read of millions of rows holds every column (the event ids as text) at once.
    Each read carries the same dictionaries (the categories); if another writer adds
    to them in between, the whole read is made instead.
    """
    from touchpoint.demo import narrow

    over = WINDOWED_OVER if over is None else over
    n = ws.storage.count()
    if n <= over:
        events = ws.interactions()
        return narrow(events, [k for k in events.columns if k != "event_id"])
    from touchpoint.frame import EventFrame

    last = day.year + 1
    edges = [None, *(dt.datetime(y, 1, 1, tzinfo=dt.UTC) for y in range(last - 10, last + 1)), None]
    parts: list[dict[str, np.ndarray]] = []
    categories: dict[str, np.ndarray] | None = None
    for lo, hi in itertools.pairwise(edges):  # about a dozen years
        part = ws.interactions(start=lo, end=hi)
        if categories is None:
            categories = part.categories
        elif any(not np.array_equal(categories[k], v) for k, v in part.categories.items()):
            return _interactions(ws, day, over=max(n, over) + 1)  # the whole read
        cols = {}
        for k, v in part.columns.items():
            if k == "event_id":
                continue
            if k in part.categories and k not in ("customer", "referrer"):
                # codes of a few hundred values: int32 (scores multiply customer codes
                # by day counts: those stay int64)
                v = v.astype(np.int32)
            cols[k] = v
        parts.append(cols)
        del part
    assert categories is not None
    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if len(columns["time"]) != n:  # written to in between: the whole read
        return _interactions(ws, day, over=max(n, over) + 1)
    return EventFrame(columns, {k: v for k, v in categories.items() if k in columns})


def _sections(
    ws: Any, day: dt.date, now: dt.datetime
) -> tuple[dict[str, Any], dict[str, str], int]:
    """(section title -> rows, left-out section title -> why, stored customers) of a workspace."""
    from touchpoint import care, scoring
    from touchpoint.demo import report_sections, rows_of

    bp = ws.blueprint
    events = _interactions(ws, day)
    experiment = _experiment(ws)
    done: dict[str, Any] = {}
    left: dict[str, str] = {}
    asof = np.datetime64(day + dt.timedelta(days=1), "us")
    seen = np.bincount(events.codes("customer"), minlength=len(events.categories["customer"]))
    if len(events) == 0:
        left["customer pyramid"] = "no interactions"
    else:
        values = scoring.rfm(events, asof=asof)
        values = values.take(np.flatnonzero(seen[: len(values)] > 0))
        summary = scoring.pyramid_summary(scoring.pyramid(values))
        done["customer pyramid"] = rows_of(
            summary, ["tier", "customers", "value", "customer_share", "value_share"]
        )
    if bp is None or bp.loyalty is None:
        left["loyalty tiers"] = "no blueprint" if bp is None else "no loyalty programme"
    elif len(events) == 0:
        left["loyalty tiers"] = "no interactions"
    else:
        tiers = scoring.loyalty_programme(events, bp.loyalty, asof=asof).balances
        names, counts = np.unique(np.asarray(tiers["tier"]).astype(str), return_counts=True)
        done["loyalty tiers"] = [
            {"tier": t, "customers": int(c)} for t, c in zip(names, counts, strict=True)
        ]
    if bp is None or not any(True for _ in bp.indicators()):
        left["compliance"] = "no blueprint" if bp is None else "no control indicators"
    else:
        s = scoring.compliance(events, bp).summary
        rows = [
            r
            for r in rows_of(
                s, ["touchpoint", "indicator", "kind", "cases", "met", "breaches", "compliance"]
            )
            if r["cases"]
        ]
        if rows:
            done["compliance"] = sorted(
                rows, key=lambda r: (r["compliance"] is None, r["compliance"])
            )
        else:
            left["compliance"] = "no cases of the control indicators in the data"
    from touchpoint.demo import narrow, nps_touchpoints, off_scale, touchpoint_mask
    from touchpoint.errors import ValidationError

    ten = [tp.code for tp in nps_touchpoints(bp)]  # 0-10 answers: the NPS's, not CSAT's
    stars = (
        np.flatnonzero(
            ~np.isnan(np.asarray(events["rating"], float)) & ~touchpoint_mask(events, ten)
        )
        if len(events)
        else np.array([], dtype=np.int64)
    )
    if bp is None:
        left["satisfaction by stage"] = "no blueprint"
    elif not len(stars):
        left["satisfaction by stage"] = "no ratings in the data"
    else:
        try:
            sat = scoring.csat(
                narrow(events, ["rating", "time", "touchpoint"], stars), by="stage", blueprint=bp
            )
        except ValidationError as error:  # e.g. 0-10 answers at a touchpoint not marked so
            left["satisfaction by stage"] = off_scale(error)
        else:
            done["satisfaction by stage"] = rows_of(
                sat, ["stage", "responses", "csat", "csat_low", "csat_high", "mean_rating"]
            )
    from touchpoint.cli._care import stored_customer_columns

    # counted, not read: the columns are built only when there is an agenda to plan (a
    # report without care rules of 200,000 customers: 14.2 -> 5.5 CPU-s, benchmarks/README.md)
    stored = ws.storage.count_customers()
    if bp is None or not bp.care_rules:
        left["care agenda"] = "no blueprint" if bp is None else "no care rules"
    elif not stored:
        left["care agenda"] = "no customer records stored (their dates drive the agenda)"
    else:
        anchors = {r.anchor for r in bp.care_rules}
        customers, consents = stored_customer_columns(ws.storage, anchors)
        due = care.agenda(bp, customers, asof=day)
        plan = care.plan_contacts(due, bp, customers=customers, consents=consents, now=now)
        from touchpoint.demo import held_contacts, hold_out

        plan = hold_out(plan, experiment)
        pairs = Counter(
            zip(plan.rule.astype(str).tolist(), plan.status.astype(str).tolist(), strict=True)
        )
        done["care agenda"] = [
            {"rule": rule, "status": status, "contacts": n}
            for (rule, status), n in sorted(pairs.items())
        ]
        done["held contacts"] = held_contacts(plan)
    shared, shared_left = report_sections(events, bp, asof=day, experiment=experiment)
    done.update({t.lower(): v for t, v in shared.items()})
    left.update({t.lower(): why for t, why in shared_left.items()})
    return done, left, stored


def _experiment(ws: Any) -> dict[str, Any] | None:
    """The care-rule experiment the demo recorded in the workspace, if any."""
    from touchpoint.demo import read_experiment

    return read_experiment(ws)


def _cell(v: Any) -> str:
    if v is None:
        return "<td>-</td>"
    if isinstance(v, float):
        return f'<td class="n">{v:,.3f}</td>' if abs(v) < 10 else f'<td class="n">{v:,.0f}</td>'
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="n">{v:,}</td>'
    return f"<td>{escape(str(v))}</td>"


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(r[c]) for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _bars(rows: list[dict[str, Any]], label: str, value: str) -> str:
    top = max([r[value] or 0 for r in rows] + [0]) or 1
    lines = "".join(
        f'<tr><td>{escape(str(r[label]))}</td><td><span class="bar" '
        f'style="width:{20 * (r[value] or 0) / top:.2f}em"></span></td></tr>'
        for r in rows
    )
    return f"<table>{lines}</table>"


def html_page(
    url: str,
    blueprint: Any,
    day: dt.date,
    counts: dict[str, int],
    done: dict[str, Any],
    left: dict[str, str],
) -> str:
    """The page: a header, one ``<section>`` per section, and the sections left out."""
    from touchpoint.demo import section_html

    charts = {"customer pyramid": ("tier", "customers"), "loyalty tiers": ("tier", "customers")}
    parts = []
    for title, rows in done.items():  # a dozen sections
        anchor = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        if isinstance(rows, dict):  # a shared section: note, chart, table
            body = section_html(rows)
        else:
            chart = _bars(rows, *charts[title]) if title in charts else ""
            body = f"{chart}{_table(rows)}"
        parts.append(
            f'<section id="{anchor}"><h2>{escape(title.capitalize())}</h2>{body}</section>'
        )
    if left:
        items = "".join(f"<li>{escape(t)}: {escape(why)}</li>" for t, why in left.items())
        parts.append(f'<section id="left-out"><h2>Left out</h2><ul>{items}</ul></section>')
    name = getattr(blueprint, "name", None)
    title = f"touchpoint report: {url}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>blueprint {escape(repr(name))}, "
        f"{counts['customers']:,} customers, {counts['interactions']:,} interactions, "
        f"as of {day.isoformat()}.</p>{''.join(parts)}</body></html>\n"
    )


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._care import moment
    from touchpoint.cli._workspace import open_url

    day, now = moment(args.asof)
    if not args.html:
        raise TouchpointError("--html FILE: where the report goes")
    with open_url(args.url) as ws:
        done, left, customers = _sections(ws, day, now)  # counts the customers once
        events = ws.storage.count()
        blueprint = ws.blueprint
    seen = sum(r["customers"] for r in done.get("customer pyramid", []))
    counts = {"interactions": events, "customers": max(customers, seen)}
    Path(args.html).write_text(
        html_page(args.url, blueprint, day, counts, done, left), encoding="utf-8"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "url": args.url,
                    "html": args.html,
                    "asof": day.isoformat(),
                    "sections": done,
                    "left_out": left,
                },
                ensure_ascii=False,
                default=str,
            )
        )
        return 0
    print(f"wrote the report of {args.url} to {args.html}: {', '.join(done) or 'no sections'}")
    if left:
        print("left out: " + ", ".join(f"{t} ({why})" for t, why in left.items()))
    return 0
