"""The ``touchpoint demo`` report as one self-contained HTML page with inline SVG charts.

No scripts, stylesheets, fonts or images are loaded from anywhere: the page is one file.

Examples
--------
>>> import tempfile, pathlib
>>> from touchpoint.demo import run_demo
>>> with tempfile.TemporaryDirectory() as tmp:
...     page = html_report(run_demo(customers=200, db=pathlib.Path(tmp) / "d.db"))
>>> page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
True
"""

from __future__ import annotations

from html import escape
from typing import Any

from touchpoint.demo._report import SECTIONS, WORST, percent_column
from touchpoint.demo._sections import SECTION_TITLES

__all__ = ["bar_chart", "heatmap", "html_report", "line_chart", "section_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f4f4f4}
svg{display:block;margin:.5em 0}
"""


def bar_chart(
    labels: list[str],
    values: list[float | None],
    *,
    title: str,
    fmt: str = "{:,.0f}",
    width: int = 640,
) -> str:
    """A horizontal bar chart as an inline ``<svg>`` element (values >= 0; None: no value).

    >>> svg = bar_chart(["a", "b"], [1.0, 3.0], title="t")
    >>> svg.startswith("<svg") and svg.count("<rect") == 2
    True
    """
    row, left, right = 22, 190, 80
    head = 22
    height = head + row * len(values) + 10
    top = max([v for v in values if v is not None] + [0.0]) or 1.0
    span = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = head + 5 + i * row
        v = value or 0.0
        w = max(span * v / top, 0.0)
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(str(label))}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="#3b7dd8">'
            f"<title>{escape(str(label))}: {fmt.format(v)}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{'-' if value is None else fmt.format(v)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    x: list[Any],
    y: list[float | None],
    *,
    title: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 220,
) -> str:
    """A line chart as an inline ``<svg>``: one point per ``x`` (None: a gap), a y axis
    from the lowest to the highest value, the first, middle and last ``x`` labelled.

    >>> svg = line_chart(["2026-01", "2026-02", "2026-03"], [0.5, None, 0.7], title="t")
    >>> svg.startswith("<svg") and svg.count("<polyline") == 2 and svg.count("<circle") == 2
    True
    """
    left, right, top, bottom = 60, 20, 28, 40
    known = [v for v in y if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    n = max(len(x) - 1, 1)
    w, h = width - left - right, height - top - bottom

    def px(i: int) -> float:
        return left + w * i / n

    def py(v: float) -> float:
        return top + h * (1.0 - (v - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{py(hi) + 4:.1f}" text-anchor="end" font-size="11">'
        f"{_fmt(hi, y_label)}</text>"
        f'<text x="{left - 4}" y="{py(lo) + 4:.1f}" text-anchor="end" font-size="11">'
        f"{_fmt(lo, y_label)}</text>"
    ]
    for i in sorted({0, len(x) // 2, len(x) - 1}) if x else []:  # three x labels
        parts.append(
            f'<text x="{px(i):.1f}" y="{top + h + 16}" text-anchor="middle" font-size="11">'
            f"{escape(str(x[i]))}</text>"
        )
    if x_label:
        parts.append(
            f'<text x="{left + w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
            f'font-size="11">{escape(x_label)}</text>'
        )
    run: list[str] = []
    for i, v in enumerate([*y, None]):  # one polyline per run of known values
        if v is None:
            if run:
                parts.append(
                    f'<polyline fill="none" stroke="#3b7dd8" stroke-width="2" '
                    f'points="{" ".join(run)}"/>'
                )
            run = []
            continue
        run.append(f"{px(i):.1f},{py(v):.1f}")
        parts.append(
            f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="2.5" fill="#3b7dd8">'
            f"<title>{escape(str(x[i]))}: {_fmt(v, y_label)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(v: float, label: str) -> str:
    return f"{100 * v:.1f}%" if percent_column(label) else f"{v:,.3g}"


def heatmap(
    rows: list[str], columns: list[str], values: list[list[float | None]], *, title: str
) -> str:
    """A table of shares (0-1) as an inline ``<svg>`` grid, red (low) to green (high).

    Each cell's colour is scaled between the lowest and highest value of the grid and
    carries its value as text; None is a grey cell.

    >>> svg = heatmap(["a", "b"], ["m1", "m2"], [[0.9, 0.8], [0.7, None]], title="t")
    >>> svg.count("<rect") == 4 and "70%" in svg
    True
    """
    left, top, cw, ch = 90, 40, 44, 18
    width = left + cw * len(columns) + 10
    height = top + ch * len(rows) + 10
    known = [v for r in values for v in r if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    span = (hi - lo) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>'
    ]
    for j, c in enumerate(columns):  # column labels
        parts.append(
            f'<text x="{left + cw * j + cw / 2:.1f}" y="{top - 6}" text-anchor="middle" '
            f'font-size="9">{escape(str(c))}</text>'
        )
    for i, (name, line) in enumerate(zip(rows, values, strict=True)):  # a row per store
        y = top + ch * i
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11">'
            f"{escape(str(name))}</text>"
        )
        for j, v in enumerate(line):
            if v is None:
                fill, text = "#ddd", ""
            else:
                t = (v - lo) / span  # 0 red .. 1 green
                fill = f"rgb({int(215 - 120 * t)},{int(80 + 120 * t)},{int(70 + 20 * t)})"
                text = f"{100 * v:.0f}%"
            parts.append(
                f'<rect x="{left + cw * j}" y="{y}" width="{cw - 1}" height="{ch - 1}" '
                f'fill="{fill}"><title>{escape(str(name))} {escape(str(columns[j]))}: '
                f"{text or '-'}</title></rect>"
                f'<text x="{left + cw * j + cw / 2:.1f}" y="{y + 13}" text-anchor="middle" '
                f'font-size="9" fill="#fff">{text}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def section_html(section: dict[str, Any]) -> str:
    """One `touchpoint.demo._sections` section: its note, its chart, its table."""
    chart = section.get("chart")
    rows = section["rows"]
    drawn = ""
    if chart is not None and rows:
        if chart["kind"] == "bar":
            drawn = bar_chart(
                [str(r[chart["label"]]) for r in rows],
                [r[chart["value"]] for r in rows],
                title=chart["title"],
            )
        elif chart["kind"] == "line":
            drawn = line_chart(
                chart["x"],
                chart["y"],
                title=chart["title"],
                x_label=chart.get("x_label", ""),
                y_label=chart.get("y_label", ""),
            )
        elif chart["kind"] == "heatmap":
            drawn = heatmap(
                [str(r[chart["row"]]) for r in rows],
                chart["columns"],
                [[r.get(c) for c in chart["columns"]] for r in rows],
                title=chart["title"],
            )
    shown = [
        {
            c: f"{100 * r[c]:.1f}%" if percent_column(c) and r.get(c) is not None else r.get(c)
            for c in section["columns"]
        }
        for r in rows
    ]
    note = f"<p>{escape(section['note'])}</p>" if section["note"] else ""
    return note + drawn + _table(shown, section["columns"])


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "<td>-</td>"
        if isinstance(v, float):
            return f'<td class="n">{v:,.3f}</td>' if abs(v) < 10 else f'<td class="n">{v:,.0f}</td>'
        if isinstance(v, int):
            return f'<td class="n">{v:,}</td>'
        return f"<td>{escape(str(v))}</td>"

    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(result: Any) -> str:
    """The demo report (same sections as `touchpoint.demo.report.text_report`) as HTML."""
    r = result
    out: list[str] = []

    def section(title: str, *html: str) -> None:
        out.append(f"<section><h2>{escape(title.capitalize())}</h2>{''.join(html)}</section>")

    section(
        SECTIONS[0],
        bar_chart(
            [p["tier"] for p in r.pyramid],
            [p["customers"] for p in r.pyramid],
            title="customers per value tier",
        ),
        bar_chart(
            [p["tier"] for p in r.pyramid],
            [100 * p["value_share"] for p in r.pyramid],
            title="share of value per tier (%)",
            fmt="{:.1f}%",
        ),
        _table(r.pyramid, ["tier", "customers", "value", "customer_share", "value_share"]),
    )
    if r.loyalty is None:
        section(SECTIONS[1], "<p>This blueprint has no loyalty programme.</p>")
    else:
        section(
            SECTIONS[1],
            bar_chart(
                [t["tier"] for t in r.loyalty],
                [t["customers"] for t in r.loyalty],
                title="customers per loyalty tier",
            ),
        )
    worst = r.compliance[:WORST]
    section(
        SECTIONS[2],
        f"<p>{len(r.compliance)} indicators with cases, {r.breaches:,} failed cases; "
        f"the {len(worst)} least complied with:</p>",
        bar_chart(
            [f"{c['touchpoint']} {c['indicator']}" for c in worst],
            [None if c["compliance"] is None else 100 * c["compliance"] for c in worst],
            title="compliance (%)",
            fmt="{:.1f}%",
        ),
        "<h3>Worst breaches</h3>",
        _table(
            r.worst_breaches, ["touchpoint", "indicator", "breaches", "cases", "target", "unit"]
        ),
    )
    section(
        SECTIONS[3],
        bar_chart(
            [k["touchpoint"] for k in r.key_touchpoints],
            [k["importance"] for k in r.key_touchpoints],
            title="importance",
            fmt="{:.3f}",
        ),
        _table(
            r.key_touchpoints,
            [
                "rank",
                "touchpoint",
                "attribution_share",
                "driver_share",
                "mean_rating",
                "importance",
                "action",
            ],
        ),
    )
    section(
        SECTIONS[4],
        bar_chart(
            [s["stage"] for s in r.satisfaction],
            [None if s["csat"] is None else 100 * s["csat"] for s in r.satisfaction],
            title="CSAT by stage (%)",
            fmt="{:.1f}%",
        ),
        _table(
            r.satisfaction, ["stage", "responses", "csat", "csat_low", "csat_high", "mean_rating"]
        ),
    )
    total = sum(r.agenda_by_status.values())
    section(
        SECTIONS[5],
        f"<p>{total:,} contacts due; {r.sent:,} queued in the outbox.</p>",
        bar_chart(
            list(r.agenda_by_status), list(r.agenda_by_status.values()), title="contacts by status"
        ),
        _table(r.agenda_by_rule, ["rule", "contacts"]),
        _table(r.agenda_rows, ["customer", "rule", "channel", "status", "reason"]),
        f"<h3>Held contacts ({len(r.held_contacts):,}): every contact not sent now, and why</h3>",
        _table(r.held_contacts, ["customer", "rule", "channel", "status", "reason"]),
    )
    late = [dict(p, due=p["due"].strftime("%Y-%m-%d")) for p in r.overdue]
    section(
        SECTIONS[6],
        f"<p>{r.overdue_count:,} open promises past their due date.</p>",
        _table(late, ["id", "customer", "due", "days_overdue"]),
    )
    for title in SECTION_TITLES:
        if title in r.sections:
            section(title, section_html(r.sections[title]))
        elif title in r.left_out:
            section(title, f"<p>Left out: {escape(r.left_out[title])}.</p>")
    title = f"touchpoint demo: {r.template}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{r.customers:,} customers, {r.events:,} interactions, "
        f"today {r.today.isoformat()}.</p>{''.join(out)}</body></html>\n"
    )
