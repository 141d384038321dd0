"""The subcommands of ``touchpoint``, one module each.

A command module defines ``NAME``, ``HELP``, ``configure(parser)`` (adds its arguments)
and ``run(args) -> int`` (the exit code). Add a module to `COMMANDS` to add a command.
"""

from __future__ import annotations

from types import ModuleType

from touchpoint.cli._commands import (
    agenda,
    complaints,
    customers,
    demo,
    dispatch,
    export,
    forget,
    import_,
    init,
    plugin,
    plugins,
    report,
    schema,
    score,
    show,
    templates,
    validate,
)

__all__ = ["COMMANDS"]

#: Every subcommand, in the order ``touchpoint --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (
    templates,
    show,
    validate,
    schema,
    plugins,
    plugin,
    init,
    import_,
    customers,
    score,
    agenda,
    dispatch,
    complaints,
    report,
    forget,
    export,
    demo,
)
