"""``touchpoint demo``: the whole library at work on a synthetic customer base."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import attrs

NAME = "demo"
HELP = "build a synthetic workspace, score it, plan today's care contacts and print a report"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create a SQLite workspace from a built-in template, generate a synthetic customer "
        "base with a fixed seed, record it (re-running adds nothing twice), score it, plan "
        "today's care contacts, queue them in the outbox and print a report."
    )
    parser.add_argument("--template", default="car-dealership", help="built-in template")
    parser.add_argument("--customers", type=int, default=20_000, help="customers to generate")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    parser.add_argument(
        "--db",
        default="touchpoint-demo.db",
        help="SQLite file (default: %(default)s); a file the demo did not create is refused",
    )
    parser.add_argument("--html", metavar="FILE", help="also write the report as one HTML page")
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 11, 23),
        help="the day of the agenda, YYYY-MM-DD (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--json", action="store_true", help="print what the report shows as one JSON object"
    )


_STEPS = ("generate", "record", "agenda", "score", "send", "promises")


class _Progress:
    """A textual progress bar on stderr, one tick per step of the demo."""

    def __init__(self, quiet: bool) -> None:
        # a bar only on a terminal: redirected to a log, each \r update would be a line
        self.quiet = quiet or not sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, step: str) -> None:
        if self.quiet:
            return
        main = step.split(":")[0]
        done = _STEPS.index(main) if main in _STEPS else 0
        width = 30
        filled = width * done // len(_STEPS)
        bar = "#" * filled + "." * (width - filled)
        seconds = time.monotonic() - self.start
        sys.stderr.write(f"\r[{bar}] {step:<45.45} {seconds:6.1f}s")
        sys.stderr.flush()

    def finish(self) -> None:
        if not self.quiet:
            seconds = time.monotonic() - self.start
            sys.stderr.write(f"\r[{'#' * 30}] {'done':<45} {seconds:6.1f}s\n")


def run(args: argparse.Namespace) -> int:
    from touchpoint.demo import html_report, run_demo, text_report

    if args.customers < 1:
        print("touchpoint demo: --customers must be at least 1", file=sys.stderr)
        return 2
    progress = _Progress(args.quiet)
    result = run_demo(
        template=args.template,
        customers=args.customers,
        seed=args.seed,
        db=args.db,
        today=args.today,
        progress=progress,
    )
    progress.finish()
    if args.html:
        Path(args.html).write_text(html_report(result), encoding="utf-8")
    if args.json:
        fields = attrs.asdict(result, recurse=False)
        fields["html"] = args.html
        print(json.dumps(fields, ensure_ascii=False, default=_plain))
        return 0
    print(text_report(result))
    if args.html:
        print(f"HTML report written to {args.html}")
    return 0


def _plain(value: object) -> object:
    """Dates and times as ISO text in the JSON output."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)
