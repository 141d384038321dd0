"""The ``touchpoint demo`` report as plain text, from a `touchpoint.demo.run.DemoResult`.

Examples
--------
>>> import tempfile, pathlib
>>> from touchpoint.demo import run_demo
>>> with tempfile.TemporaryDirectory() as tmp:
...     text = text_report(run_demo(customers=200, db=pathlib.Path(tmp) / "d.db"))
>>> "VALUE PYRAMID" in text and "TODAY'S AGENDA" in text
True
"""

from __future__ import annotations

import re
from typing import Any

from touchpoint.demo._sections import SECTION_TITLES

__all__ = ["SECTIONS", "percent_column", "section_text", "text_report"]

#: How many indicators the compliance section lists (the least complied with).
WORST = 10

#: Section titles, in the order the report (text and HTML) shows them.
SECTIONS = (
    "VALUE PYRAMID",
    "LOYALTY TIERS",
    "INDICATOR COMPLIANCE",
    "KEY TOUCHPOINTS",
    "SATISFACTION BY STAGE",
    "TODAY'S AGENDA",
    "OVERDUE PROMISES",
    *SECTION_TITLES,
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """Rows as an aligned text table (numbers right-aligned)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r.get(c), int | float) for r in rows) for c in columns]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(list(columns)), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


_PERCENT = re.compile(r"share|csat|conversion|rate|^lift$|^lower$|^upper$|^q\d+$|^\d{4}-\d{2}$")


def percent_column(name: str) -> bool:
    """Whether a section's column holds a share (shown as a percentage)."""
    return bool(_PERCENT.search(name))


def section_text(section: dict[str, Any]) -> list[str]:
    """The lines of one `touchpoint.demo._sections` section: its note, then its table."""
    columns = section["columns"]
    rows = [
        {
            c: _pct(r.get(c)) if percent_column(c) and r.get(c) is not None else r.get(c)
            for c in columns
        }
        for r in section["rows"]
    ]
    return ([f"  {section['note']}"] if section["note"] else []) + _table(rows, columns)


def text_report(result: Any) -> str:
    """The readable report: one titled section per entry of `SECTIONS`."""
    r = result
    out = [
        f"touchpoint demo: template {r.template}, {r.customers:,} customers, "
        f"{r.events:,} interactions stored in {r.db} (today {r.today.isoformat()})",
        f"recorded this run: {r.recorded['accepted']:,} new interactions, "
        f"{r.recorded['duplicates']:,} already stored; {r.recorded['customers']:,} customers, "
        f"{r.recorded['promises']:,} promises, {r.recorded['complaints']:,} complaints upserted",
        "",
    ]

    def section(title: str, lines: list[str]) -> None:
        out.extend([title, *lines, ""])

    pyramid = [
        dict(p, customer_share=_pct(p["customer_share"]), value_share=_pct(p["value_share"]))
        for p in r.pyramid
    ]
    section(
        SECTIONS[0],
        _table(pyramid, ["tier", "customers", "value", "customer_share", "value_share"]),
    )
    if r.loyalty is None:
        section(SECTIONS[1], ["  this blueprint has no loyalty programme"])
    else:
        section(SECTIONS[1], _table(r.loyalty, ["tier", "customers"]))
    comp = [dict(c, compliance=_pct(c["compliance"])) for c in r.compliance[:WORST]]
    section(
        SECTIONS[2],
        [
            f"  {len(r.compliance)} indicators with cases; the {len(comp)} least complied with:",
            *_table(
                comp, ["touchpoint", "indicator", "kind", "cases", "met", "breaches", "compliance"]
            ),
            f"  worst breaches ({r.breaches:,} failed cases in all):",
            *_table(
                r.worst_breaches, ["touchpoint", "indicator", "breaches", "cases", "target", "unit"]
            ),
        ],
    )
    section(
        SECTIONS[3],
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
    sat = [
        dict(s, csat=_pct(s["csat"]), csat_low=_pct(s["csat_low"]), csat_high=_pct(s["csat_high"]))
        for s in r.satisfaction
    ]
    section(
        SECTIONS[4],
        _table(sat, ["stage", "responses", "csat", "csat_low", "csat_high", "mean_rating"]),
    )
    total = sum(r.agenda_by_status.values())
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.agenda_by_status.items()))
    section(
        SECTIONS[5],
        [
            f"  {total:,} contacts due ({statuses or 'none'}); {r.sent:,} queued in the outbox",
            *_table(r.agenda_by_rule, ["rule", "contacts"]),
            "  first contacts:",
            *_table(r.agenda_rows, ["customer", "rule", "channel", "status", "reason"]),
            f"  held contacts ({len(r.held_contacts):,}: every contact not sent now, and why):",
            *_table(r.held_contacts, ["customer", "rule", "channel", "status", "reason"]),
        ],
    )
    late = [dict(p, due=p["due"].strftime("%Y-%m-%d")) for p in r.overdue]
    section(
        SECTIONS[6],
        [
            f"  {r.overdue_count:,} open promises past their due date (most overdue first)",
            *_table(late, ["id", "customer", "due", "days_overdue"]),
        ],
    )
    for title in SECTION_TITLES:
        if title in r.sections:
            section(title, section_text(r.sections[title]))
        elif title in r.left_out:
            section(title, [f"  left out: {r.left_out[title]}"])
    return "\n".join(out)
