"""``touchpoint export URL CUSTOMER``: everything a workspace stores about a customer, as JSON.

Examples
--------
>>> import json, pathlib, tempfile
>>> import touchpoint
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "orders.csv").write_text("customer,time,amount\\nC1,2026-01-05,30\\n")
>>> url = f"sqlite:///{tmp / 'shop.db'}"
>>> touchpoint.open(url).close()
>>> main(["import", url, str(tmp / "orders.csv")])  # doctest: +ELLIPSIS
/...
0
>>> main(["export", url, "C1", "--out", str(tmp / "c1.json")])
0
>>> [row["amount"] for row in json.loads((tmp / "c1.json").read_text())["interactions"]]
[30.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "export"
HELP = "print everything a workspace stores about a customer, as JSON (a subject access request)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print, as one JSON document, everything the workspace at URL stores about "
        "CUSTOMER: their record, interactions, promises, complaints, contacts, outbox "
        "rows, scores and quarantined rows (what a subject access request asks for). "
        "--out FILE writes it to a file instead."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument("customer", metavar="CUSTOMER", help="the customer id")
    parser.add_argument("--out", metavar="FILE", help="write the JSON to FILE (default: stdout)")


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._workspace import open_url

    with open_url(args.url) as ws:
        text = ws.export(args.customer)
    if args.out is None or args.out == "-":
        print(text)
        return 0
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"wrote what {args.url} stores about {args.customer} to {args.out}", file=sys.stderr)
    return 0
