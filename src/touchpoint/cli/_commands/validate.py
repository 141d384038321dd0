"""``touchpoint validate FILE``: check a blueprint file, listing every problem."""

from __future__ import annotations

import argparse
import json
import sys

from touchpoint.cli._source import blueprint_from_argument
from touchpoint.errors import BlueprintError

NAME = "validate"
HELP = "check a blueprint file; exit code 1 and every problem listed if it has any"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check a blueprint file (.toml or .json) or a built-in template. Prints one OK line "
        "and exits 0, or lists every problem with its path and value and exits 1."
    )
    parser.add_argument("blueprint", metavar="FILE", help="a blueprint file (or a template name)")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"ok": true, ...counts} or {"ok": false, "problems": [...]} on stdout',
    )


def run(args: argparse.Namespace) -> int:
    try:
        bp = blueprint_from_argument(args.blueprint)
    except BlueprintError as exc:
        if args.json:
            problems = [
                {"path": p.path, "message": p.message, "value": p.value if p.has_value else None}
                for p in exc.problems
            ]
            print(
                json.dumps(
                    {"ok": False, "file": args.blueprint, "problems": problems},
                    ensure_ascii=False,
                    default=repr,
                )
            )
        else:
            print(exc, file=sys.stderr)
        return 1
    indicators = sum(1 for _ in bp.indicators())
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "file": args.blueprint,
                    "blueprint": bp.name,
                    "touchpoints": len(bp),
                    "key_touchpoints": len(bp.key_touchpoints),
                    "indicators": indicators,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(
        f"OK {args.blueprint}: blueprint {bp.name!r}, {len(bp)} touchpoints "
        f"({len(bp.key_touchpoints)} key), {indicators} control indicators"
    )
    return 0
