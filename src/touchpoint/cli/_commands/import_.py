"""``touchpoint import URL FILE``: stream a CSV or Parquet file of events into a workspace.

Examples
--------
>>> import pathlib, tempfile
>>> import touchpoint
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "orders.csv").write_text("customer,time,amount\\nC1,2026-01-05,30\\n"
...                                     "C1,2026-01-05,30\\nC2,2026-02-01,12.5\\n")
>>> touchpoint.open(f"sqlite:///{tmp / 'shop.db'}").close()  # a workspace, no blueprint
>>> main(["import", f"sqlite:///{tmp / 'shop.db'}", str(tmp / "orders.csv")])  # doctest: +ELLIPSIS
/...orders.csv: 3 rows read into sqlite:///...shop.db
accepted 3, duplicates 0, rejected 0
0
>>> main(["import", f"sqlite:///{tmp / 'shop.db'}", str(tmp / "orders.csv")])  # doctest: +ELLIPSIS
/...orders.csv: 3 rows read into ...
accepted 0, duplicates 3, rejected 0
0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from touchpoint.cli._files import SHOWN, StableIds, no_such_column, print_rejected, reading
from touchpoint.errors import Problem, TouchpointError, ValidationError

NAME = "import"
HELP = "import a CSV or Parquet file of events into a workspace, printing the ingest report"

#: The touchpoint and outcome a purchase-only file's rows are stored with.
PURCHASE = "purchase"
#: Options mapping a file column to a standard field.
MAPPED = ("customer", "time", "amount", "touchpoint", "event_id")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Read FILE (CSV, Parquet by its .parquet extension, or - for CSV on standard "
        "input) in batches and record its rows as interactions in the workspace at URL. "
        "Columns named like the standard fields (event_id, customer, touchpoint, channel, "
        "time, amount, rating, outcome...) are read as those fields; --customer COL and "
        "the like name other columns. A file with neither a touchpoint nor a channel "
        "column is a transaction log: each row is stored as a purchase (touchpoint and "
        "outcome 'purchase'). Without an event id column each row's id is derived from "
        "its content and its occurrence among identical rows, so importing a file again "
        "stores nothing twice. Prints the ingest report; its last line is 'accepted N, "
        "duplicates N, rejected N'."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument("file", metavar="FILE", help="a .csv or .parquet file, or - for stdin")
    for field in MAPPED:
        flag = "--" + field.replace("_", "-")
        parser.add_argument(
            flag, dest=f"col_{field}", metavar="COL", help=f"the column holding {field}"
        )
    parser.add_argument(
        "--on-reject",
        choices=("quarantine", "refuse"),
        default="refuse",
        help="refuse (default): stop at the first batch with a bad row, storing nothing "
        "of it; quarantine: store the good rows, keep the bad ones in quarantine",
    )
    parser.add_argument(
        "--batch-size", type=int, default=100_000, metavar="N", help="rows per batch"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


class _Bar:
    """Rows read so far on stderr, only when stderr is a terminal (a log gets no bar)."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, rows: int, accepted: int) -> None:
        if self.on:
            seconds = time.monotonic() - self.start
            sys.stderr.write(f"\rimporting: {rows:,} rows read, {accepted:,} new  {seconds:.1f}s")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.on:
            sys.stderr.write("\n")


def _rename(header: list[str], args: argparse.Namespace) -> dict[str, str]:
    """File column -> standard field for the columns the options name."""
    mapping: dict[str, str] = {}
    for field in MAPPED:
        column = getattr(args, f"col_{field}")
        if column is None:
            continue
        if column not in header:
            raise ValidationError([no_such_column(f"--{field.replace('_', '-')}", column, header)])
        mapping[column] = field
    return mapping


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._workspace import open_url

    with (
        open_url(args.url) as ws,
        reading(args.file, batch_size=args.batch_size) as (header, batches),
    ):
        summary = _import(ws, header, batches, args)
    _print(summary, args)
    return 1 if summary["refused"] else 0


def _import(ws: Any, header: list[str], batches: Any, args: argparse.Namespace) -> dict[str, Any]:
    rename = _rename(header, args)
    fields = {rename.get(c, c) for c in header}
    purchases_only = "touchpoint" not in fields and "channel" not in fields
    blueprint = ws.blueprint
    if purchases_only and blueprint is not None and PURCHASE not in blueprint:
        raise TouchpointError(
            f"the file has no touchpoint or channel column, so its rows are purchases, "
            f"but the workspace's blueprint {blueprint.name!r} has no touchpoint "
            f"{PURCHASE!r}: add one (code = {PURCHASE!r}) to the blueprint, or give the "
            "file a touchpoint column (--touchpoint COL)"
        )
    ids = None if "event_id" in fields else StableIds()
    bar = _Bar()
    totals = {"rows": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
    shown: list[str] = []
    refused = False
    try:
        for columns, raw in batches:
            n = len(raw)
            data: dict[str, np.ndarray] = {}
            for column, values in columns.items():
                field = rename.get(column, column)
                if column not in rename and field in rename.values():
                    continue  # a column named like a field that another column is mapped to
                data[field] = values
            if ids is not None:
                data["event_id"] = ids.of(raw)
            if purchases_only:
                data["touchpoint"] = np.full(n, PURCHASE, dtype=object)
                if "outcome" not in data:
                    data["outcome"] = np.full(n, PURCHASE, dtype=object)
            report = ws.record_batch(data, on_reject=args.on_reject)
            for rejection in report.rejections:
                own = [p for p in rejection.problems if "." in p.path]  # not "refused with it"
                if own and len(shown) < SHOWN:
                    row = totals["rows"] + rejection.row + 1
                    reasons = "; ".join(_in_row(p) for p in own)
                    shown.append(f"row {row}: {reasons}")
            totals["rows"] += n
            totals["accepted"] += report.accepted
            totals["duplicates"] += report.duplicates
            totals["rejected"] += report.rejected
            bar(totals["rows"], totals["accepted"])
            if not report.committed:
                refused = True
                break
    finally:
        bar.finish()
    return {**totals, "refused": refused, "on_reject": args.on_reject, "problems": shown}


def _in_row(problem: Problem) -> str:
    """A record's problem without its position in the batch: ``amount: must be ... (value: -4)``."""
    path = problem.path.split(".", 1)[1]
    located = (
        Problem(path, problem.message, problem.value)
        if problem.has_value
        else Problem(path, problem.message)
    )
    return str(located)


def _print(summary: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    print(f"{args.file}: {summary['rows']:,} rows read into {args.url}")
    print_rejected(
        summary["problems"], refused=summary["refused"], instead="--on-reject quarantine"
    )
    if not summary["refused"] and summary["rejected"]:
        print("the rejected rows are kept in the workspace's quarantine")
    print(
        f"accepted {summary['accepted']}, duplicates {summary['duplicates']}, "
        f"rejected {summary['rejected']}"
    )
