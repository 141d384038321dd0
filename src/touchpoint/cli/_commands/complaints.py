"""``touchpoint complaints URL``: the complaint statistics of a workspace.

The statistics are those of `touchpoint.Workspace.complaint_stats`: by complaint type
and over all complaints, how many were answered and resolved, the share answered
within the response limit, response and resolution times, and the share of
complainants who bought again after a quick resolution, a slow one and none (the
material's rule of thumb: about 95%, 60% and much less).

Examples
--------
>>> import json, pathlib, tempfile
>>> import touchpoint
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> url = f"sqlite:///{tmp / 'shop.db'}"
>>> with touchpoint.open(url) as ws:
...     _ = ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00",
...                             type="delivery")
...     _ = ws.resolve_complaint("K1", at="2026-03-01T15:00", resolution="re-sent")
>>> main(["complaints", url, "--asof", "2026-03-31", "--json"])  # doctest: +ELLIPSIS
{"url": ..., "asof": "2026-04-01T00:00:00", "response_limit": "24 hours", "rows": [{"type": "all", "complaints": 1, ...
0
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from typing import Any

import numpy as np

from touchpoint.cli._render import table
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import naive_utc

NAME = "complaints"
HELP = "the complaint statistics of a workspace: response, resolution, who came back"

#: Columns of the text output, with their headings (all columns with --json).
_SHOWN = {
    "type": "type",
    "complaints": "complaints",
    "answered": "answered",
    "resolved": "resolved",
    "response_within_limit": "in limit",
    "response_p50_hours": "response h (p50)",
    "resolution_p50_hours": "resolution h (p50)",
    "came_back_quick": "back: quick",
    "came_back_slow": "back: slow",
    "came_back_unresolved": "back: unresolved",
}
_SHARES = {"response_within_limit", "came_back_quick", "came_back_slow", "came_back_unresolved"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the statistics of the complaints recorded in the workspace at URL, by "
        "complaint type and over all of them: how many were answered and resolved, the "
        "share answered within the response limit (a complaint still unanswered past it "
        "counts against it), the median response and resolution times in hours, and the "
        "share of complainants who bought again after their complaint was resolved "
        "quickly (within 3 days), slowly, or not at all (the material's rule of thumb: "
        "about 95%%, 60%% and much less). Purchases are the workspace's interactions "
        "with outcome 'purchase', or without an outcome and with an amount > 0."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument(
        "--asof",
        metavar="DATE",
        help="the statistics as they stood at the end of DATE, YYYY-MM-DD (default: now)",
    )
    parser.add_argument(
        "--response-limit",
        metavar="DURATION",
        default="24 hours",
        help="the response-time standard, e.g. '4 hours' (default: 24 hours)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _asof(text: str | None) -> dt.datetime | None:
    """The end of the day ``text`` (midnight UTC after it), or None for now."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError([Problem("--asof", "must be a date, YYYY-MM-DD", text)]) from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    """A cell as a JSON value: numpy scalars as Python ones, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _text(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in _SHARES:
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._workspace import open_url
    from touchpoint.workspace import _duration

    asof = _asof(args.asof)
    _duration(args.response_limit, "--response-limit")  # before opening anything
    with open_url(args.url) as ws:
        if asof is None:
            asof = dt.datetime.now(dt.UTC)
        stats = ws.complaint_stats(asof=asof, response_limit=args.response_limit)
    names = list(stats.column_names)
    columns = {n: np.asarray(stats[n]).tolist() for n in names}
    # rendering the rows for output: one per complaint type
    rows = [{n: _plain(columns[n][i]) for n in names} for i in range(len(stats))]
    moment = naive_utc(asof).isoformat()
    if args.json:
        result = {
            "url": args.url,
            "asof": moment,
            "response_limit": args.response_limit,
            "rows": rows,
        }
        print(json.dumps(result, ensure_ascii=False))
        return 0
    shown = [n for n in _SHOWN if n in names]
    body = [[_text(n, r[n]) for n in shown] for r in rows]
    for line in table([_SHOWN[n] for n in shown], body):
        print(line)
    total = rows[0]["complaints"] if rows else 0
    when = f"the end of {args.asof}" if args.asof else f"{moment}Z"
    print(
        f"{total:,} complaints as of {when}; response limit {args.response_limit}; "
        "back: the share of complainants who bought again after their complaint"
    )
    return 0
