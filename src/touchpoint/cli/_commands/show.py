"""``touchpoint show NAME|FILE``: lay a blueprint out by stage × line."""

from __future__ import annotations

import argparse

from touchpoint.cli._render import render_blueprint
from touchpoint.cli._source import blueprint_from_argument

NAME = "show"
HELP = "lay a blueprint out by stage × line (a template name or a .toml/.json file)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print a blueprint: its touchpoints by stage × line with key touchpoints marked * "
        "and their control indicators, the MCP matrix and its blind spots, the loyalty "
        "programme, the care rules and the promise policy. Standards whose source is the "
        "material or an example are marked 'from the material' or 'example value', with "
        "their source note."
    )
    parser.add_argument(
        "blueprint", metavar="NAME|FILE", help="a built-in template name or a blueprint file"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the blueprint as JSON (the blueprint file format, as 'touchpoint "
        "schema' describes it)",
    )


def run(args: argparse.Namespace) -> int:
    bp = blueprint_from_argument(args.blueprint)
    if args.json:
        from touchpoint.schema import dump_blueprint

        print(dump_blueprint(bp, format="json"))
        return 0
    print(render_blueprint(bp), end="")
    return 0
