"""The ``touchpoint`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``touchpoint`` console script."""
    from touchpoint.cli.main import run

    return run(sys.argv[1:] if argv is None else argv)
