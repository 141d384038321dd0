"""The ``touchpoint`` command line: `main` is the console script's entry point."""

from __future__ import annotations

import sys

from touchpoint._deprecation import moved_modules

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``touchpoint`` console script."""
    from touchpoint.cli._main import run

    return run(sys.argv[1:] if argv is None else argv)


# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        "main": (f"{__name__}._main",),
        "render": (f"{__name__}._render",),
        "commands": (f"{__name__}._commands",),
    },
)
