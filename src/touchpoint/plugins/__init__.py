"""Plugins: the hooks, the plugin manager and the contracts they rely on.

The built-in plugins live next to what they register: the storages in
`touchpoint.storage`, the channels in `touchpoint.channels`, the blueprint templates in
`touchpoint.templates`, the scores in ``_plugin`` modules of `touchpoint.scoring`,
`touchpoint.clv` and `touchpoint.attribution` (see `touchpoint.plugins.manager.DEFAULT_PLUGINS`).

A plugin is a module (or object) with functions marked `hookimpl`, made known through the
``touchpoint`` entry-point group of its package::

    [project.entry-points.touchpoint]
    sms = "touchpoint_sms"

Examples
--------
>>> from touchpoint.plugins import Plugins, hookimpl
>>> "sqlite" in Plugins(entry_points=False).storages()
True
"""

from touchpoint.plugins.hookspecs import GROUP, hookimpl
from touchpoint.plugins.manager import (
    DISABLE_ENV,
    HookFailure,
    PluginInfo,
    Plugins,
    Registered,
    default_plugins,
)

__all__ = [
    "DISABLE_ENV",
    "GROUP",
    "HookFailure",
    "PluginInfo",
    "Plugins",
    "Registered",
    "default_plugins",
    "hookimpl",
]
