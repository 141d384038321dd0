"""Built-in blueprint templates, from the source material of touchpoint management.

A plain registry of the TOML files shipped in ``touchpoint/templates/data/``: `names`
lists them, `load` reads one into a validated `touchpoint.model.Blueprint`. This module
is also the built-in plugin ``touchpoint.templates``: its ``register_blueprints`` hook
registers every template by name, loaded only when used, so hosts find them next to the
templates of installed plugins (``Plugins().blueprints()``, ``touchpoint.open(...,
blueprint="car-dealership")``).

Examples
--------
>>> "car-dealership" in names()
True
>>> load("car-dealership").name
'car-dealership'
>>> text("car-dealership").startswith(("#", "format", "name"))
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable

from touchpoint.errors import TouchpointError
from touchpoint.model import Blueprint
from touchpoint.plugins.hookspecs import hookimpl

__all__ = ["UnknownTemplateError", "load", "names", "path", "register_blueprints", "text"]

_SUFFIX = ".toml"


class UnknownTemplateError(TouchpointError, KeyError):
    """No built-in template has this name; the message lists the ones that exist."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name, self.available = name, available
        super().__init__(
            f"no built-in template named {name!r}; available: {', '.join(available) or '(none)'}"
        )

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0])


def _folder() -> Traversable:
    return resources.files(__name__).joinpath("data")


def names() -> list[str]:
    """Names of the built-in templates, sorted.

    >>> names() == sorted(names())
    True
    """
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in _folder().iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


def path(name: str) -> Traversable:
    """The template's file (a `Traversable`; a real path when the package is installed as files).

    Raises
    ------
    UnknownTemplateError
        If there is no such template; the message lists the available names.

    Examples
    --------
    >>> path("real-estate").name
    'real-estate.toml'
    """
    available = names()
    if name not in available:
        raise UnknownTemplateError(name, available)
    return _folder().joinpath(name + _SUFFIX)


def text(name: str) -> str:
    """The template's TOML text.

    >>> import tomllib
    >>> tomllib.loads(text("budget-hotel"))["name"]
    'budget-hotel'
    """
    return path(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def _load(name: str, content: str) -> Blueprint:
    from touchpoint.schema import loads_blueprint

    return loads_blueprint(content, format="toml", source=f"template {name}{_SUFFIX}")


def load(name: str) -> Blueprint:
    """The template as a validated `Blueprint`.

    Raises
    ------
    UnknownTemplateError
        If there is no such template (also a `KeyError`).
    touchpoint.errors.BlueprintError
        If the template file itself is invalid.

    Examples
    --------
    >>> bp = load("telecom-hall")
    >>> bp.matrix is not None
    True
    """
    return _load(name, text(name))


@hookimpl
def register_blueprints(register: Callable[[str, Callable[[], Blueprint]], None]) -> None:
    """Register every built-in template under its name; each is read only when used.

    Examples
    --------
    >>> found = {}
    >>> register_blueprints(register=found.__setitem__)
    >>> sorted(found) == names(), found["budget-hotel"]().name
    (True, 'budget-hotel')
    """
    for name in names():  # a loop over the six templates
        register(name, functools.partial(load, name))
