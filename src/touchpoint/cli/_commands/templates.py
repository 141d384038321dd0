"""``touchpoint templates``: list the built-in blueprint templates."""

from __future__ import annotations

import argparse
import json
from typing import Any

from touchpoint import templates
from touchpoint.cli._render import table
from touchpoint.errors import TouchpointError

NAME = "templates"
HELP = "list the built-in blueprint templates"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List the built-in blueprints: name, title, number of touchpoints and the key "
        "touchpoints. Show one with: touchpoint show NAME"
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def _keys(codes: list[str], limit: int = 6) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f", … (+{len(codes) - limit})" if len(codes) > limit else "") if codes else "-"


def run(args: argparse.Namespace) -> int:
    rows: list[list[str]] = []
    records: list[dict[str, Any]] = []
    failed = 0
    for name in templates.names():
        try:
            bp = templates.load(name)
        except TouchpointError as exc:
            failed += 1
            rows.append([name, f"INVALID: {str(exc).splitlines()[0]}", "", ""])
            records.append({"name": name, "error": str(exc)})
            continue
        keys = [tp.code for tp in bp.key_touchpoints]
        rows.append([name, bp.title, str(len(bp)), _keys(keys)])
        records.append(
            {"name": name, "title": bp.title, "touchpoints": len(bp), "key_touchpoints": keys}
        )
    if args.json:
        print(json.dumps(records, ensure_ascii=False))
        return 1 if failed else 0
    for line in table(["name", "title", "touchpoints", "key touchpoints"], rows):
        print(line)
    return 1 if failed else 0
