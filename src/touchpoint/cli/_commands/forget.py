"""``touchpoint forget URL CUSTOMER``: erase a customer from a workspace, down to its files.

Examples
--------
>>> import pathlib, tempfile
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "orders.csv").write_text("customer,time,amount\\nC1,2026-01-05,30\\n"
...                                     "C1,2026-02-05,10\\nC2,2026-02-01,12.5\\n")
>>> url = f"sqlite:///{tmp / 'shop.db'}"
>>> import touchpoint
>>> touchpoint.open(url).close()
>>> main(["import", url, str(tmp / "orders.csv")])  # doctest: +ELLIPSIS
/...
0
>>> main(["forget", url, "C1"])  # doctest: +ELLIPSIS
forgot C1 in sqlite:///...shop.db: interactions 2; later data for C1 is refused
0
"""

from __future__ import annotations

import argparse
import json
import sys

NAME = "forget"
HELP = "erase a customer from a workspace (every table and every file); later data is refused"

#: The exit code when the customer is erased from every table but old page copies remain
#: in the database's files because another program kept reading it.
INCOMPLETE = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Erase CUSTOMER from the workspace at URL: their interactions, records, promises, "
        "complaints, contacts, outbox rows, quarantined rows and scores, and their id where "
        "other customers' data names them (as a referrer). The id is kept only as a salted "
        "hash so that later data about them is refused. Prints what was removed. If "
        "another program keeps the SQLite file open for reading past --wait seconds, old "
        f"copies of the pages stay in its files: exit code {INCOMPLETE}, and running the "
        "same command again once that program is done finishes the erasure."
    )
    parser.add_argument("url", metavar="URL", help="the workspace: sqlite:///FILE")
    parser.add_argument("customer", metavar="CUSTOMER", help="the customer id")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait for other programs reading the file (default: 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from touchpoint.cli._workspace import open_url
    from touchpoint.storage.sqlite import ErasureIncomplete

    with open_url(args.url) as ws:
        try:
            removed = ws.forget(args.customer, wait=args.wait)
        except ErasureIncomplete as exc:
            if args.json:
                print(
                    json.dumps(
                        {
                            "url": args.url,
                            "customer": args.customer,
                            "removed": exc.removed,
                            "complete": False,
                            "remaining": list(exc.remaining),
                        }
                    )
                )
            print(
                f"touchpoint forget: {exc}\nTo finish from the command line: once the other "
                f"program has closed the file, run 'touchpoint forget {args.url} "
                f"{args.customer}' again (nothing is removed twice).",
                file=sys.stderr,
            )
            return INCOMPLETE
    if args.json:
        print(
            json.dumps(
                {"url": args.url, "customer": args.customer, "removed": removed, "complete": True}
            )
        )
        return 0
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in removed.items() if v)
    print(
        f"forgot {args.customer} in {args.url}: {counts or 'nothing was stored about them'}; "
        f"later data for {args.customer} is refused"
    )
    return 0
