"""``touchpoint customers URL FILE``: store the customers of a CSV or Parquet file (a CRM
export) in a workspace, so that ``agenda`` and ``dispatch`` know whom to contact and how.

Examples
--------
>>> import pathlib, tempfile
>>> import touchpoint
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "people.csv").write_text(
...     "customer,email,birthday,consent:email:service\\n"
...     "C1,wei@example.com,1990-05-01,true\\nC2,,1985-07-01,false\\n")
>>> url = f"sqlite:///{tmp / 'shop.db'}"
>>> touchpoint.open(url).close()
>>> main(["customers", url, str(tmp / "people.csv"), "--date", "birthday"])
... # doctest: +ELLIPSIS
/...people.csv: 2 rows read into sqlite:///...shop.db
stored 2, unchanged 0, rejected 0
0
>>> main(["customers", url, str(tmp / "people.csv"), "--date", "birthday"])
... # doctest: +ELLIPSIS
/...people.csv: 2 rows read into ...
stored 0, unchanged 2, rejected 0
0
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from touchpoint.cli._files import SHOWN, no_such_column, print_rejected, reading
from touchpoint.errors import ValidationError

NAME = "customers"
HELP = "store the customers of a CSV or Parquet file (ids, contact details, dates, consent)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Read FILE (CSV, Parquet by its .parquet extension, or - for CSV on standard "
        "input) and store one customer per row in the workspace at URL: the id "
        "(column 'customer', or --customer COL), name, email, phone, address, timezone, "
        "segment, tier, referrer, do_not_contact (true/false), preferred_channels "
        "('sms;email'), the anchor dates of the blueprint's care rules (and any --date "
        "COL), and consent columns 'consent:CHANNEL:PURPOSE' (true/false). A customer "
        "already stored is updated: an empty cell keeps the stored value, a consent that "
        "changed adds a consent record (the history is kept). Other columns are ignored "
        "and listed. Importing the same file again changes nothing."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument("file", metavar="FILE", help="a .csv or .parquet file, or - for stdin")
    parser.add_argument(
        "--customer", dest="col_customer", metavar="COL", help="the column holding the id"
    )
    parser.add_argument(
        "--date",
        dest="dates",
        action="append",
        default=[],
        metavar="COL",
        help="a column of dates to store under its name (repeatable); the blueprint's "
        "care-rule anchors are read without it",
    )
    parser.add_argument(
        "--on-reject",
        choices=("skip", "refuse"),
        default="refuse",
        help="refuse (default): stop at the first batch with a bad row, storing nothing "
        "of it; skip: store the good rows and report the bad ones",
    )
    parser.add_argument(
        "--batch-size", type=int, default=10_000, metavar="N", help="rows per batch"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._workspace import open_url

    with (
        open_url(args.url) as ws,
        reading(args.file, batch_size=args.batch_size) as (header, batches),
    ):
        summary = _store(ws, header, batches, args)
    _print(summary, args)
    return 1 if summary["refused"] else 0


def _date_columns(ws: Any, header: list[str], asked: list[str]) -> list[str]:
    missing = [c for c in asked if c not in header]
    if missing:
        raise ValidationError([no_such_column("--date", c, header) for c in missing])
    anchors = {r.anchor for r in ws.blueprint.care_rules} if ws.blueprint is not None else set()
    return sorted(set(asked) | (anchors & set(header)))


def _store(ws: Any, header: list[str], batches: Any, args: argparse.Namespace) -> dict[str, Any]:
    from touchpoint.schema import customers_from_columns

    id_column = args.col_customer or "customer"
    if id_column not in header:
        raise ValidationError([no_such_column("--customer", id_column, header)])
    dates = _date_columns(ws, header, args.dates)
    storage = ws.storage
    totals = {"rows": 0, "stored": 0, "unchanged": 0, "rejected": 0}
    shown: list[str] = []
    ignored: list[str] = []
    seen: set[str] = set()
    # the stored customers read once, not one query per row (each id is read once per file)
    known = {c.id: c for c in storage.customers()}
    refused = False
    for columns, _raw in batches:
        if id_column != "customer":
            columns = {k: v for k, v in columns.items() if k != "customer"}
            columns["customer"] = columns.pop(id_column)
        read = customers_from_columns(
            columns,
            dates=dates,
            stored=known.get,
            forgotten=storage.is_suppressed,
            first_row=totals["rows"] + 1,
            seen=seen,
        )
        ignored = read.ignored
        for _row, problems in read.rejected:
            if len(shown) < SHOWN:
                shown.append("; ".join(str(p) for p in problems))
        totals["rows"] += len(columns["customer"])
        totals["rejected"] += len(read.rejected)
        if read.rejected and args.on_reject == "refuse":
            refused = True
            break
        if read.customers:
            storage.upsert_customers(read.customers)
        totals["stored"] += len(read.customers)
        totals["unchanged"] += read.unchanged
    return {
        **totals,
        "refused": refused,
        "on_reject": args.on_reject,
        "dates": dates,
        "ignored": ignored,
        "problems": shown,
    }


def _print(summary: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    print(f"{args.file}: {summary['rows']:,} rows read into {args.url}")
    if summary["ignored"]:
        print(f"ignored columns: {', '.join(summary['ignored'])}")
    print_rejected(summary["problems"], refused=summary["refused"], instead="--on-reject skip")
    print(
        f"stored {summary['stored']}, unchanged {summary['unchanged']}, "
        f"rejected {summary['rejected']}"
    )
