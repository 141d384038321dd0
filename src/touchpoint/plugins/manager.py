"""The plugin manager: built-in plugins first, then every installed ``touchpoint`` entry point.

`Plugins` wraps a `pluggy.PluginManager`. It registers the built-in plugin modules
(`DEFAULT_PLUGINS`, the reference plugins), then loads the entry points of the
``touchpoint`` group, skipping the plugins disabled by name (the ``disable`` argument and
the ``TOUCHPOINT_DISABLE_PLUGINS`` environment variable, comma-separated). A plugin that
fails to import is not fatal: it is left out and reported in `Plugins.load_errors`.

Registration hooks are called one plugin at a time, so everything registered is
attributed to its plugin, and a name registered twice is an error naming both plugins.
Notification hooks go through `Plugins.notify`, which isolates faults: each plugin's
implementation is called on its own, an exception is logged and returned labelled with
the plugin's name, and the other plugins still run.

Examples
--------
>>> plugins = Plugins(entry_points=False)
>>> sorted(plugins.storages())
['memory', 'sqlite']
>>> "console" in plugins.channels()
True
>>> Plugins(disable=["touchpoint.channels.console"], entry_points=False).channels().get("console")
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from touchpoint.errors import PluginError
from touchpoint.plugins import hookspecs

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_ENV",
    "HookFailure",
    "PluginInfo",
    "Plugins",
    "Registered",
    "default_plugins",
]

log = logging.getLogger("touchpoint.plugins")

#: Environment variable naming plugins to leave out, comma-separated.
DISABLE_ENV = "TOUCHPOINT_DISABLE_PLUGINS"

#: Built-in plugins: (plugin name, module). They use the same hooks as external ones.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("touchpoint.storage.memory", "touchpoint.plugins.storage.memory"),
    ("touchpoint.storage.sqlite", "touchpoint.plugins.storage.sqlite"),
    ("touchpoint.channels.console", "touchpoint.plugins.channels.console"),
    ("touchpoint.channels.outbox", "touchpoint.plugins.channels.outbox"),
    ("touchpoint.channels.smtp", "touchpoint.plugins.channels.smtp"),
    ("touchpoint.channels.webhook", "touchpoint.plugins.channels.webhook"),
    ("touchpoint.templates", "touchpoint.plugins.templates"),
    ("touchpoint.scorers", "touchpoint.plugins.scorers"),
)

_KINDS = {
    "register_channels": "channels",
    "register_storage": "storage",
    "register_blueprints": "blueprints",
    "register_scorers": "scorers",
}


@attrs.frozen
class Registered:
    """Something a plugin registered: its name, the object, and the plugin it came from."""

    name: str
    obj: Any
    plugin: str


@attrs.frozen
class HookFailure:
    """A plugin raised in a notification hook; the batch that triggered it is unaffected."""

    plugin: str
    hook: str
    error: BaseException

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} failed in {self.hook}: {type(self.error).__name__}: {self.error}"


@attrs.frozen
class PluginInfo:
    """One plugin as `touchpoint plugins` lists it."""

    name: str
    version: str
    builtin: bool
    hooks: tuple[str, ...]
    registers: dict[str, tuple[str, ...]] = attrs.field(eq=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "registers": {k: list(v) for k, v in self.registers.items()},
        }


def _disabled_from_env() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


class Plugins:
    """The plugins in use: built-ins plus installed entry points, minus the disabled ones.

    Parameters
    ----------
    disable:
        Plugin names to leave out (added to those in ``TOUCHPOINT_DISABLE_PLUGINS``).
    entry_points:
        Load installed plugins from the ``touchpoint`` entry-point group (default True).
    extra:
        Plugin objects (modules, classes, instances) to register as well, for tests and
        applications that carry their own plugin in code.
    """

    def __init__(
        self,
        disable: Iterable[str] = (),
        *,
        entry_points: bool = True,
        extra: Iterable[Any] = (),
    ) -> None:
        self.disabled = frozenset(disable) | _disabled_from_env()
        self.pm = pluggy.PluginManager(hookspecs.GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.load_errors: list[PluginError] = []
        self._versions: dict[str, str] = {}
        self._builtin: set[str] = set()
        for name in self.disabled:
            self.pm.set_blocked(name)
        from touchpoint import __version__

        for name, module in DEFAULT_PLUGINS:
            if name in self.disabled:
                continue
            self.pm.register(importlib.import_module(module), name=name)
            self._versions[name] = __version__
            self._builtin.add(name)
        if entry_points:
            self._load_entry_points()
        for plugin in extra:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            if name not in self.disabled:
                self.pm.register(plugin, name=name)
                self._versions[name] = getattr(plugin, "__version__", "")
        self._cache: dict[str, dict[str, Registered]] = {}

    def _load_entry_points(self) -> None:
        for ep in metadata.entry_points(group=hookspecs.GROUP):
            if ep.name in self.disabled or self.pm.get_plugin(ep.name) is not None:
                continue
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else ""
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must not break touchpoint
                err = PluginError(
                    f"plugin {ep.name!r} ({ep.value}) could not be loaded: "
                    f"{type(exc).__name__}: {exc}; disable it with {DISABLE_ENV}={ep.name}"
                )
                err.__cause__ = exc
                log.warning("%s", err)
                self.load_errors.append(err)
                continue
            self._versions[ep.name] = version

    # ------------------------------------------------------------------ registration

    def _collect(self, hook_name: str) -> dict[str, Registered]:
        if hook_name in self._cache:
            return self._cache[hook_name]
        found: dict[str, Registered] = {}
        hook = getattr(self.pm.hook, hook_name)
        # get_hookimpls() is in registration order (pluggy calls them in reverse): built-ins
        # come first, so a conflict names the plugin registered later second.
        for impl in hook.get_hookimpls():
            plugin = impl.plugin_name

            def register(name: str, obj: Any, _plugin: str = plugin) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {_plugin!r}: {hook_name} needs a non-empty name, got {name!r}"
                    )
                if name in found:
                    raise PluginError(
                        f"{_KINDS[hook_name]} {name!r} is registered by both plugin "
                        f"{found[name].plugin!r} and plugin {_plugin!r}; disable one of them "
                        f"with {DISABLE_ENV}"
                    )
                found[name] = Registered(name, obj, _plugin)

            try:
                impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"plugin {plugin!r} raised in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc
        self._cache[hook_name] = found
        return found

    def channels(self) -> dict[str, Registered]:
        """Channel kinds by name (``register_channels``)."""
        return self._collect("register_channels")

    def storages(self) -> dict[str, Registered]:
        """Storage factories by URL scheme (``register_storage``)."""
        return self._collect("register_storage")

    def blueprints(self) -> dict[str, Registered]:
        """Blueprint template loaders by name (``register_blueprints``)."""
        return self._collect("register_blueprints")

    def scorers(self) -> dict[str, Registered]:
        """Extra scorers by name (``register_scorers``)."""
        return self._collect("register_scorers")

    # ------------------------------------------------------------------ notifications

    def notify(self, hook_name: str, **kwargs: Any) -> list[HookFailure]:
        """Call every implementation of a notification hook, isolating faults.

        Each plugin's implementation runs even if an earlier one raised. Exceptions are
        logged with the plugin's name and returned as `HookFailure`s; they are never
        swallowed silently.

        Examples
        --------
        >>> class Broken:
        ...     @hookspecs.hookimpl
        ...     def tier_changed(self, workspace, customer, old, new):
        ...         raise RuntimeError("boom")
        >>> p = Plugins(entry_points=False, extra=[Broken()])
        >>> [str(f) for f in p.notify("tier_changed", workspace=None, customer="C1", old=None, new="gold")]
        ["plugin 'Broken' failed in tier_changed: RuntimeError: boom"]
        """
        if hook_name not in hookspecs.NOTIFICATION_HOOKS:
            raise PluginError(
                f"{hook_name!r} is not a notification hook; use one of {', '.join(hookspecs.NOTIFICATION_HOOKS)}"
            )
        failures: list[HookFailure] = []
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                impl.function(**args)
            except Exception as exc:
                failure = HookFailure(impl.plugin_name, hook_name, exc)
                log.error("%s", failure, exc_info=exc)
                failures.append(failure)
        return failures

    # ------------------------------------------------------------------ listing

    def info(self) -> list[PluginInfo]:
        """Every plugin in use: name, version, hooks implemented and what it registers."""
        registered: dict[str, dict[str, list[str]]] = {}
        for hook_name, kind in _KINDS.items():
            for item in self._collect(hook_name).values():
                registered.setdefault(item.plugin, {}).setdefault(kind, []).append(item.name)
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            out.append(
                PluginInfo(
                    name=name,
                    version=self._versions.get(name, ""),
                    builtin=name in self._builtin,
                    hooks=hooks,
                    registers={k: tuple(sorted(v)) for k, v in registered.get(name, {}).items()},
                )
            )
        return out


_DEFAULT: dict[frozenset[str], Plugins] = {}


def default_plugins(disable: Iterable[str] = ()) -> Plugins:
    """The process-wide `Plugins` for a set of disabled names (built once, then reused).

    The ``TOUCHPOINT_DISABLE_PLUGINS`` variable is read when the set is first built.
    """
    key = frozenset(disable) | _disabled_from_env()
    if key not in _DEFAULT:
        _DEFAULT[key] = Plugins(disable=key)
    return _DEFAULT[key]
