"""Old names kept for one release: moved modules, moved names and renamed keywords.

Everything read or passed under an old name works as before and emits a
`DeprecationWarning` that names the new one; the old names go away in the next release.
Three kinds of old name:

- a **module** that moved (`forward` for a module file kept at the old path, or
  `moved_modules` for old paths without a file: a forwarding module object registered
  under the old name, and the package's ``__getattr__``);
- a **name** that moved out of a package's public surface (the same ``__getattr__``);
- a **keyword** that was renamed (`renamed`).

Examples
--------
>>> import warnings
>>> @renamed(observation_end="asof")
... def summary(data, *, asof=None):
...     return asof
>>> with warnings.catch_warnings(record=True) as seen:
...     warnings.simplefilter("always")
...     summary([], observation_end="2024-03-31")
'2024-03-31'
>>> print(seen[0].message)
summary(observation_end=...) is deprecated: use asof= (the old name goes away in the next release)
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

__all__ = ["forward", "moved_modules", "renamed"]

P = ParamSpec("P")
R = TypeVar("R")

_IMPORTLIB = "<frozen importlib._bootstrap"
_MISSING = object()
_NEXT = "goes away in the next release"


def _stacklevel(caller: Any) -> int:
    """The stack level of the first frame above ``caller`` outside the import machinery."""
    level, frame = 2, caller
    while frame is not None and frame.f_code.co_filename.startswith(_IMPORTLIB):
        frame, level = frame.f_back, level + 1
    return level


def _find(name: str, targets: Sequence[str]) -> tuple[Any, str]:
    """``name`` from the first of the ``targets`` modules that has it (not a submodule)."""
    for target in targets:  # a loop over a module or two
        # the module's own names: a package's __getattr__ (moved names) is not asked
        value = vars(importlib.import_module(target)).get(name, _MISSING)
        if value is not _MISSING and not isinstance(value, types.ModuleType):
            return value, target
    return _MISSING, ""


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def _warn_moved(old: str, name: str, new: str, caller: Any, hide_private: bool = False) -> None:
    if hide_private and _private(new):
        said = f"{old}.{name} is deprecated: it is no longer public (the old path {_NEXT})"
    else:
        said = f"{old}.{name} is deprecated: import it from {new} (the old path {_NEXT})"
    # one frame deeper than the __getattr__ that ``caller`` called
    warnings.warn(said, DeprecationWarning, stacklevel=_stacklevel(caller) + 1)


def forward(
    old: str, *new: str, hide_private: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that forward ``old``'s names to ``new``.

    ``new`` names the modules to look in, in order (the package first, then where its
    helpers went). Reading a name warns (`DeprecationWarning`, pointing at the caller's
    line) and returns the object from the new path, the same object, so ``isinstance``
    checks and registries see no difference. ``from old import name`` warns once. With
    ``hide_private``, a name found in a private module only is said to be no longer
    public, and such modules' names are not listed by ``dir``.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):  # module machinery (__path__, __file__...): not forwarded
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        value, found = _find(name, new)
        if value is _MISSING:
            # submodules are not forwarded: ``from old import sqlite`` imports the old
            # path's own forwarding module
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        caller = sys._getframe(1)
        if caller.f_code.co_name == "_handle_fromlist":
            # ``from package import name`` asks twice (importlib's hasattr, then the
            # import itself): warn once, on the second ask, at the importing line
            return value
        _warn_moved(old, name, found, caller, hide_private)
        return value

    def __dir__() -> list[str]:
        names: set[str] = set()
        for target in new:
            module = importlib.import_module(target)
            if not (hide_private and _private(target)):
                names.update(getattr(module, "__all__", [n for n in vars(module) if n[:1] != "_"]))
        return sorted(names)

    return __getattr__, __dir__


def moved_modules(
    package: str,
    modules: Mapping[str, Sequence[str]],
    names: Mapping[str, str] | None = None,
) -> Callable[[str], Any]:
    """Old module paths of ``package`` without files, and names moved out of it.

    ``modules`` maps an old submodule name (``"rfm"`` for ``touchpoint.scoring.rfm``) to
    the modules its names now live in, in the order to look (the package first). A
    forwarding module object is registered in ``sys.modules`` under each old path now,
    so ``import`` and ``from ... import`` of the old path work, and never replace a
    package attribute of the same name (``touchpoint.scoring.rfm`` stays the function).
    ``names`` maps names that left the package's surface to their new module.

    Returns the package's ``__getattr__``: an old module name that is no package
    attribute gives its forwarding module; a moved name warns and gives the object.
    """
    names = dict(names or {})
    for module, targets in modules.items():  # a loop over a package's dozen modules
        old = f"{package}.{module}"
        if old in sys.modules:
            continue
        forwarder = types.ModuleType(
            old, f"Deprecated path: its names are in {', '.join(targets)} now."
        )
        forwarder.__getattr__, forwarder.__dir__ = forward(old, *targets, hide_private=True)  # type: ignore[method-assign]
        sys.modules[old] = forwarder

    def __getattr__(name: str) -> Any:
        if name in modules:
            return sys.modules[f"{package}.{name}"]
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            caller = sys._getframe(1)
            if caller.f_code.co_name != "_handle_fromlist":
                _warn_moved(package, name, names[name], caller)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def renamed(**old: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept the old keyword names of a function for one release (``old=new``).

    A call with an old keyword warns (`DeprecationWarning` at the caller's line) and
    passes the value under the new name; a call with both raises ``TypeError``.
    """

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        label = function.__qualname__

        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            for was, now in old.items():  # a loop over one or two old names
                if was in kwargs:
                    if now in kwargs:
                        raise TypeError(f"{label}() got both {was}= (deprecated) and {now}=")
                    warnings.warn(
                        f"{label}({was}=...) is deprecated: use {now}= (the old name {_NEXT})",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[now] = kwargs.pop(was)
            return function(*args, **kwargs)

        return call

    return wrap
