"""``touchpoint plugins``: every plugin in use, its version, its hooks and what it registers.

A faulty plugin (it fails to import, raises while registering, or registers a name that
is taken) is disabled, not fatal: it is listed under "disabled" with the reason, and the
command still exits 0.

Follows the command-module convention of `touchpoint.cli._commands` (``NAME``, ``HELP``,
``configure(parser)``, ``run(args)``), so it can be listed in ``COMMANDS``.

Examples
--------
>>> import argparse
>>> args = argparse.Namespace(json=False, disable=[], builtin=False)
>>> run(args)  # doctest: +ELLIPSIS
name...version...touchpoint.storage.sqlite...register_storage...storage: sqlite...
0
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

NAME = "plugins"
HELP = "list the plugins in use: version, hooks, what each registers"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List every plugin touchpoint uses: the built-in ones and those installed through "
        "the 'touchpoint' entry-point group, with their version, the hooks they implement "
        "and the channels, storages, blueprints and scorers they register, and the faulty "
        "plugins that were disabled, with the reason. Disable a plugin "
        "with --disable NAME or TOUCHPOINT_DISABLE_PLUGINS=NAME,NAME."
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out this plugin (repeatable)",
    )
    parser.add_argument("--builtin", action="store_true", help="show only the built-in plugins")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plugins`` subcommand to an ``add_subparsers()`` object."""
    parser = subparsers.add_parser(NAME, help=HELP)
    configure(parser)
    parser.set_defaults(handler=run)
    result: argparse.ArgumentParser = parser
    return result


def run(args: argparse.Namespace) -> int:
    from touchpoint.plugins import Plugins

    plugins = Plugins(disable=args.disable)
    infos = [i for i in plugins.info() if i.builtin or not args.builtin]
    if args.json:
        payload = {
            "plugins": [i.to_dict() for i in infos],
            "disabled": [f.to_dict() for f in plugins.faulty],
            "errors": [str(f) for f in plugins.faulty],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    rows = [("name", "version", "hooks", "registers")]
    for info in infos:
        registers = "; ".join(
            f"{kind}: {', '.join(names)}" for kind, names in sorted(info.registers.items())
        )
        rows.append((info.name, info.version or "-", ", ".join(info.hooks), registers or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    if plugins.faulty:
        print("\ndisabled (faulty):")
        for fault in plugins.faulty:
            version = f" {fault.version}" if fault.version else ""
            print(f"  {fault.name}{version}: {fault.reason}")
        for fault in plugins.faulty:
            print(f"warning: {fault}", file=sys.stderr)
    return 0
