"""Old import paths kept for one release: modules that re-export a moved module's names.

The built-in storages and channels moved out of ``touchpoint.plugins`` (to
`touchpoint.storage` and `touchpoint.channels`), next to what they are; the modules at
their old paths only forward names, and each name read through an old path emits a
`DeprecationWarning` naming the new one. They go away in the release after next.

Examples
--------
>>> import warnings
>>> from touchpoint.plugins import storage
>>> with warnings.catch_warnings(record=True) as seen:
...     warnings.simplefilter("always")
...     cls = storage.Storage
>>> cls.__module__, str(seen[0].message)
('touchpoint.storage.base', 'touchpoint.plugins.storage.Storage is deprecated: import it from touchpoint.storage (the old path goes away in the next release)')
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["forward"]

_IMPORTLIB = "<frozen importlib._bootstrap"
_MISSING = object()


def forward(old: str, new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that forward ``old``'s names to ``new``.

    Reading a name warns (`DeprecationWarning`, pointing at the caller's line) and
    returns the object from ``new``, the same object, so ``isinstance`` checks and
    registries see no difference. ``from old import name`` warns once.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):  # module machinery (__path__, __file__...): not forwarded
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        module = importlib.import_module(new)
        value = getattr(module, name, _MISSING)
        if value is _MISSING or isinstance(value, types.ModuleType):
            # submodules are not forwarded: ``from old import sqlite`` imports the old
            # path's own forwarding module
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        caller = sys._getframe(1)
        if caller.f_code.co_name == "_handle_fromlist":
            # ``from package import name`` asks twice (importlib's hasattr, then the
            # import itself): warn once, on the second ask, at the importing line
            return value
        warnings.warn(
            f"{old}.{name} is deprecated: import it from {new} "
            "(the old path goes away in the next release)",
            DeprecationWarning,
            stacklevel=_stacklevel(caller),
        )
        return value

    def __dir__() -> list[str]:
        module = importlib.import_module(new)
        return sorted(getattr(module, "__all__", [n for n in vars(module) if n[:1] != "_"]))

    return __getattr__, __dir__


def _stacklevel(caller: Any) -> int:
    """The stack level of the first frame above ``caller`` outside the import machinery."""
    level, frame = 2, caller
    while frame is not None and frame.f_code.co_filename.startswith(_IMPORTLIB):
        frame, level = frame.f_back, level + 1
    return level
