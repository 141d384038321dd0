"""Built-in plugin: the blueprint templates shipped with `touchpoint`, registered by name.

Delegates to the template registry `touchpoint.templates` (``names()`` and
``load(name)``); each template is loaded only when used.
"""

from __future__ import annotations

import functools
from typing import Any

from touchpoint.plugins.hookspecs import hookimpl


@hookimpl
def register_blueprints(register: Any) -> None:
    from touchpoint import templates

    for name in templates.names():
        register(name, functools.partial(templates.load, name))
