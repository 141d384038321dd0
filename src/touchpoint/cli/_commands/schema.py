"""``touchpoint schema``: print or write the JSON Schema of the blueprint file format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from touchpoint.schema import blueprint_json_schema

NAME = "schema"
HELP = "print the JSON Schema of blueprint files (for editors)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the JSON Schema (draft 7) of the blueprint file format, or write it "
        "to a file that VS Code or taplo can check blueprint files against."
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE")


def run(args: argparse.Namespace) -> int:
    text = json.dumps(blueprint_json_schema(), ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
