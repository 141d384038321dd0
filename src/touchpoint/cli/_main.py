"""The ``touchpoint`` command: a parser built from the command modules, and error handling.

User errors (a bad file, an unknown template) print a message to stderr and give exit
code 1, usage errors exit code 2; neither prints a traceback.

Examples
--------
>>> run(["templates"]) == 0  # doctest: +ELLIPSIS
name ...
True
"""

from __future__ import annotations

import argparse
import os
import sys

from touchpoint.cli._commands import COMMANDS
from touchpoint.errors import TouchpointError

__all__ = ["build_parser", "run"]

PROG = "touchpoint"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per module in `COMMANDS`."""
    from touchpoint._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Customer Touchpoint Management: blueprints, indicators, scoring and care.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        sub = commands.add_parser(module.NAME, help=module.HELP)
        module.configure(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def run(argv: list[str]) -> int:
    """Run the command line with ``argv`` (without the program name); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args.handler(args))
    except TouchpointError as exc:
        return _error(str(exc))
    except BrokenPipeError:  # e.g. `touchpoint show car-dealership | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        return _error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        return 130
