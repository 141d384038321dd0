"""Plugins: the hooks, the plugin manager, and the built-in channels and storages.

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
