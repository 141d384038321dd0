"""The plugin manager: built-in plugins first, then every installed ``touchpoint`` entry point.

`Plugins` wraps a `pluggy.PluginManager`. It registers the built-in plugin modules
(`DEFAULT_PLUGINS`, the reference plugins), then loads the entry points of the
``touchpoint`` group, skipping the plugins disabled by name (the ``disable`` argument and
the ``TOUCHPOINT_DISABLE_PLUGINS`` environment variable, comma-separated).

A faulty plugin never takes the library down: a plugin that fails to import, whose
registration hook raises, that registers a name another plugin registered first, or
whose own name is taken, is **disabled**: unregistered (none of its hooks runs), kept
in `Plugins.faulty` with the reason, logged, and shown by ``touchpoint plugins``. The
built-ins and the other plugins go on working. Registration hooks are called once per
plugin when `Plugins` is built, one plugin at a time and in registration order (the
built-ins first), so everything registered is attributed to its plugin and a name goes
to the plugin that registered it first.

Notification hooks go through `Plugins.notify`, which isolates faults: each plugin's
implementation is called on its own, in a worker thread given ``hook_timeout`` seconds
(default `DEFAULT_HOOK_TIMEOUT`, or ``TOUCHPOINT_HOOK_TIMEOUT``); an exception or a
call that runs too long is logged and returned as a `HookFailure` naming the plugin, and
the other plugins still run.

Examples
--------
>>> plugins = Plugins(entry_points=False)
>>> sorted(plugins.storages())
['memory', 'postgres', 'postgresql', 'sqlite']
>>> "console" in plugins.channels()
True
>>> Plugins(disable=["touchpoint.channels.console"], entry_points=False).channels().get("console")
>>> class Greedy:  # takes a name the built-in SQLite plugin registered first
...     @hookspecs.hookimpl
...     def register_storage(self, register):
...         register("sqlite", lambda url: None)
>>> p = Plugins(entry_points=False, extra=[Greedy()])
>>> p.storages()["sqlite"].plugin, [f.name for f in p.faulty]
('touchpoint.storage.sqlite', ['Greedy'])
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import math
import os
import queue
import threading
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from touchpoint.errors import PluginError
from touchpoint.plugins import hookspecs

__all__ = [
    "DEFAULT_HOOK_TIMEOUT",
    "DEFAULT_PLUGINS",
    "DISABLE_ENV",
    "HOOK_TIMEOUT_ENV",
    "FaultyPlugin",
    "HookFailure",
    "HookTimeout",
    "PluginInfo",
    "Plugins",
    "Registered",
    "default_plugins",
]

log = logging.getLogger("touchpoint.plugins")

#: Environment variable naming plugins to leave out, comma-separated.
DISABLE_ENV = "TOUCHPOINT_DISABLE_PLUGINS"
#: Environment variable with the seconds a notification hook call may take (``none``: no limit).
HOOK_TIMEOUT_ENV = "TOUCHPOINT_HOOK_TIMEOUT"
#: Seconds a notification hook call may take unless configured otherwise.
DEFAULT_HOOK_TIMEOUT = 10.0

#: Built-in plugins: (plugin name, module or modules). They use the same hooks as external
#: ones, and each module carries its own ``@hookimpl`` next to what it registers. A plugin
#: made of several modules (the scores live in three packages) runs their registration
#: hooks in the order given, as one plugin.
DEFAULT_PLUGINS: tuple[tuple[str, str | tuple[str, ...]], ...] = (
    ("touchpoint.storage.memory", "touchpoint.storage.memory"),
    ("touchpoint.storage.sqlite", "touchpoint.storage.sqlite"),
    ("touchpoint.storage.postgres", "touchpoint.storage.postgres"),
    ("touchpoint.channels.console", "touchpoint.channels.console"),
    ("touchpoint.channels.outbox", "touchpoint.channels.outbox"),
    ("touchpoint.channels.smtp", "touchpoint.channels.smtp"),
    ("touchpoint.channels.webhook", "touchpoint.channels.webhook"),
    ("touchpoint.templates", "touchpoint.templates"),
    (
        "touchpoint.scorers",
        ("touchpoint.scoring._plugin", "touchpoint.clv._plugin", "touchpoint.attribution._plugin"),
    ),
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


class HookTimeout(PluginError, TimeoutError):
    """A plugin's notification hook did not return within the time allowed."""


@attrs.frozen
class HookFailure:
    """A plugin raised in a notification hook, or ran too long; the data that triggered it is unaffected."""

    plugin: str
    hook: str
    error: BaseException

    @property
    def timed_out(self) -> bool:
        """Whether the call ran past the hook timeout (it may still be running, abandoned)."""
        return isinstance(self.error, HookTimeout)

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} failed in {self.hook}: {type(self.error).__name__}: {self.error}"


@attrs.frozen
class FaultyPlugin:
    """A plugin that was disabled because it is faulty: its name, version and why.

    ``stage`` is ``"load"`` (importing or registering it with pluggy failed) or
    ``"register"`` (a registration hook raised or registered a name that is taken).
    """

    name: str
    stage: str
    reason: str
    version: str = ""
    error: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        return (
            f"plugin {self.name!r} is disabled: {self.reason}; leave it out with "
            f"{DISABLE_ENV}={self.name} or fix it"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "reason": self.reason,
        }


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


def _check_timeout(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise PluginError(f"{where} must be a number of seconds > 0 or None, not {value!r}")
    return seconds


def _timeout_from_env() -> float | None:
    raw = os.environ.get(HOOK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_HOOK_TIMEOUT
    if raw.lower() in ("none", "off"):
        return None
    try:
        return _check_timeout(raw, HOOK_TIMEOUT_ENV)
    except PluginError as exc:
        log.warning("%s; using %s s", exc, DEFAULT_HOOK_TIMEOUT)
        return DEFAULT_HOOK_TIMEOUT


def _given(plugin: Any) -> Any:
    """A plugin object given to `Plugins` as it is (the loader of an ``extra`` plugin)."""
    return plugin


def _builtin(name: str, modules: str | tuple[str, ...]) -> Any:
    """Import a built-in plugin: its module, or one object standing for its modules."""
    if isinstance(modules, str):
        return importlib.import_module(modules)
    return _Bundle(name, [importlib.import_module(m) for m in modules])


class _Bundle:
    """One plugin made of several modules: each registration hook runs theirs in order.

    Only registration hooks are combined; a module of a bundle must not implement a
    notification hook (the plugin would report one failure for several modules).
    """

    def __init__(self, name: str, modules: list[Any]) -> None:
        self.__name__ = name
        self.modules = tuple(modules)
        marker = f"{hookspecs.GROUP}_impl"
        for module in modules:  # a handful of modules and hooks
            for hook in hookspecs.NOTIFICATION_HOOKS:
                if hasattr(getattr(module, hook, None), marker):
                    raise PluginError(f"{module.__name__} implements {hook}, not allowed in {name}")
        for hook in hookspecs.REGISTRATION_HOOKS:
            impls = [getattr(m, hook) for m in modules if hasattr(getattr(m, hook, None), marker)]
            if impls:
                setattr(self, hook, _chained(impls))

    def __repr__(self) -> str:
        return f"<plugin {self.__name__}: {', '.join(m.__name__ for m in self.modules)}>"


def _chained(impls: list[Callable[..., None]]) -> Callable[..., None]:
    @hookspecs.hookimpl
    def register_all(register: Callable[..., None]) -> None:
        for impl in impls:
            impl(register=register)

    return register_all


class _Job:
    """One notification hook call handed to a worker thread."""

    __slots__ = ("args", "context", "done", "error", "function", "hook", "plugin")

    def __init__(self, function: Callable[..., Any], args: dict[str, Any], plugin: str, hook: str):
        self.function, self.args, self.plugin, self.hook = function, args, plugin, hook
        self.context = contextvars.copy_context()  # the caller's context variables
        self.done = threading.Event()
        self.error: BaseException | None = None

    def execute(self) -> None:
        try:
            self.context.run(self.function, **self.args)
        except BaseException as exc:  # reported to the caller, whatever it is
            self.error = exc
        finally:
            self.done.set()


class _Worker(threading.Thread):
    """A daemon thread running hook calls; back to the idle pool after each, gone when idle."""

    IDLE = "touchpoint-hook:idle"

    def __init__(self, pool: _Workers) -> None:
        super().__init__(name=self.IDLE, daemon=True)
        self.pool = pool
        self.inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            try:
                job = self.inbox.get(timeout=self.pool.idle_seconds)
            except queue.Empty:
                if self.pool.retire(self):
                    return
                continue  # taken from the pool just now: its job is on the way
            self.name = f"touchpoint-hook:{job.plugin}:{job.hook}"  # shows in thread dumps
            job.execute()
            self.name = self.IDLE
            self.pool.rest(self)


class _Workers:
    """The pool of worker threads for notification hooks, shared by every `Plugins`.

    A call takes an idle worker (or starts one) and waits for it with a timeout; a worker
    whose call ran too long is simply not waited for, and rejoins the pool if it ever
    returns. Idle workers exit after ``idle_seconds``.
    """

    def __init__(self, idle_seconds: float = 30.0) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def run(self, job: _Job) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self)
            worker.start()
        worker.inbox.put(job)

    def rest(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Whether an idle worker may exit (False: it was just handed a job)."""
        with self._lock:
            if worker in self._idle and worker.inbox.empty():
                self._idle.remove(worker)
                return True
            return False


_WORKERS = _Workers()


class _Taken(Exception):
    """Internal: a plugin registered a name that is taken."""


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
    hook_timeout:
        Seconds each notification hook call may take (None: no limit). The default,
        ``"env"``, reads the ``TOUCHPOINT_HOOK_TIMEOUT`` environment variable (seconds, or
        ``none``), else uses `DEFAULT_HOOK_TIMEOUT`.

    Attributes
    ----------
    faulty:
        The plugins disabled because they are faulty, each with the reason.
    load_errors:
        The same faults as `touchpoint.errors.PluginError` objects.
    """

    def __init__(
        self,
        disable: Iterable[str] = (),
        *,
        entry_points: bool = True,
        extra: Iterable[Any] = (),
        hook_timeout: float | str | None = "env",
    ) -> None:
        self.disabled = frozenset(disable) | _disabled_from_env()
        self.hook_timeout = (
            _timeout_from_env()
            if hook_timeout == "env"
            else _check_timeout(hook_timeout, "hook_timeout")
        )
        self.pm = pluggy.PluginManager(hookspecs.GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.faulty: list[FaultyPlugin] = []
        self._versions: dict[str, str] = {}
        self._builtin: set[str] = set()
        self._order: list[str] = []  # registration order: who registered a name first
        self._hung: dict[str, _Job] = {}  # plugin -> an abandoned call, maybe still running
        self._hung_lock = threading.Lock()
        for name in self.disabled:
            self.pm.set_blocked(name)
        from touchpoint._version import __version__

        for name, modules in DEFAULT_PLUGINS:
            if name in self.disabled:
                continue
            self._add(name, functools.partial(_builtin, name, modules), __version__)
            if name in self._order:
                self._builtin.add(name)
        if entry_points:
            self._load_entry_points()
        for plugin in extra:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            if name not in self.disabled:
                self._add(
                    name, functools.partial(_given, plugin), getattr(plugin, "__version__", "")
                )
        self._registry = self._collect_all()

    @property
    def load_errors(self) -> list[PluginError]:
        """Every fault as a `touchpoint.errors.PluginError` saying which plugin and why."""
        errors = []
        for fault in self.faulty:
            err = PluginError(str(fault))
            err.__cause__ = fault.error
            errors.append(err)
        return errors

    # ------------------------------------------------------------------ loading

    def _add(self, name: str, load: Callable[[], Any], version: str, where: str = "") -> None:
        """Load and register one plugin; a failure disables it instead of raising."""
        taken = self.pm.get_plugin(name) is not None or name in self._order
        try:
            if taken:
                raise PluginError(f"the plugin name {name!r} is taken by another plugin")
            plugin = load()
            if self.pm.is_registered(plugin):
                other = self.pm.get_name(plugin)
                raise PluginError(f"it is the same object as plugin {other!r}, registered already")
            self.pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must not break touchpoint
            detail = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            self._fault(name, "load", f"could not be loaded{where}: {detail}", version, exc)
            return
        self._versions[name] = version
        self._order.append(name)

    def _load_entry_points(self) -> None:
        for ep in metadata.entry_points(group=hookspecs.GROUP):
            if ep.name in self.disabled:
                continue
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else ""
            self._add(ep.name, ep.load, version, where=f" ({ep.value})")

    def _fault(
        self, name: str, stage: str, reason: str, version: str, error: BaseException | None
    ) -> None:
        fault = FaultyPlugin(name, stage, reason, version, error)
        log.warning("%s", fault)
        self.faulty.append(fault)

    def _disable(self, name: str, reason: str, error: BaseException | None) -> None:
        """Unregister a plugin found faulty while registering: none of its hooks runs again."""
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.pm.set_blocked(name)
        self._order.remove(name)
        self._fault(name, "register", reason, self._versions.pop(name, ""), error)
        self._builtin.discard(name)

    # ------------------------------------------------------------------ registration

    def _collect_all(self) -> dict[str, dict[str, Registered]]:
        """Call every registration hook, disabling the plugins that fail, until none fails.

        A plugin found faulty is disabled and the collection starts over without it, so
        a name it took goes to the next plugin registering it.
        """
        while True:
            registry: dict[str, dict[str, Registered]] = {}
            fault: tuple[str, str, BaseException | None] | None = None
            for hook_name, kind in _KINDS.items():
                found: dict[str, Registered] = {}
                registry[hook_name] = found
                impls = getattr(self.pm.hook, hook_name).get_hookimpls()
                rank = {name: i for i, name in enumerate(self._order)}
                for impl in sorted(impls, key=lambda i: rank.get(i.plugin_name, len(rank))):
                    fault = self._call_register(impl, hook_name, kind, found)
                    if fault is not None:
                        break
                if fault is not None:
                    break
            if fault is None:
                return registry
            self._disable(*fault)

    def _call_register(
        self, impl: Any, hook_name: str, kind: str, found: dict[str, Registered]
    ) -> tuple[str, str, BaseException | None] | None:
        """Run one plugin's registration hook; its registrations land only if it succeeds."""
        plugin = impl.plugin_name
        staged: dict[str, Registered] = {}
        refused: list[str] = []  # kept even if the plugin swallows the exception

        def register(name: str, obj: Any) -> None:
            if not isinstance(name, str) or not name:
                refused.append(f"{hook_name} needs a non-empty name, got {name!r}")
            elif name in found:
                refused.append(
                    f"it registers {kind} {name!r}, which plugin {found[name].plugin!r} "
                    "registered first"
                )
            elif name in staged:
                refused.append(f"it registers {kind} {name!r} twice")
            else:
                staged[name] = Registered(name, obj, plugin)
                return
            raise _Taken(refused[-1])

        try:
            impl.function(register=register)
        except _Taken:
            pass
        except Exception as exc:
            return plugin, f"raised in {hook_name}: {type(exc).__name__}: {exc}", exc
        if refused:
            return plugin, refused[0], None
        found.update(staged)
        return None

    def channels(self) -> dict[str, Registered]:
        """Channel kinds by name (``register_channels``)."""
        return self._registry["register_channels"]

    def storages(self) -> dict[str, Registered]:
        """Storage factories by URL scheme (``register_storage``)."""
        return self._registry["register_storage"]

    def blueprints(self) -> dict[str, Registered]:
        """Blueprint template loaders by name (``register_blueprints``)."""
        return self._registry["register_blueprints"]

    def scorers(self) -> dict[str, Registered]:
        """Extra scorers by name (``register_scorers``)."""
        return self._registry["register_scorers"]

    # ------------------------------------------------------------------ notifications

    def notify(
        self, hook_name: str, /, *, timeout: float | None = None, **kwargs: Any
    ) -> list[HookFailure]:
        """Call every implementation of a notification hook, isolating faults.

        Each plugin's implementation runs even if an earlier one raised or hung. Each
        call gets ``timeout`` seconds (default: `hook_timeout`; the ``timeout`` argument
        is not passed to the hooks); a call still running then is abandoned on its
        daemon thread and reported as a `HookTimeout`, and that plugin's implementations
        are skipped (reported the same way) until the abandoned call returns.
        Exceptions and timeouts are logged with the plugin's name and returned as
        `HookFailure` objects; they are never swallowed silently.

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
        limit = self.hook_timeout if timeout is None else _check_timeout(timeout, "timeout")
        failures: list[HookFailure] = []
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            error = self._call_notification(impl, hook_name, args, limit)
            if error is not None:
                failure = HookFailure(impl.plugin_name, hook_name, error)
                log.error("%s", failure, exc_info=None if failure.timed_out else error)
                failures.append(failure)
        return failures

    def _call_notification(
        self, impl: Any, hook_name: str, args: dict[str, Any], limit: float | None
    ) -> BaseException | None:
        """Run one hook implementation within ``limit`` seconds; the error, or None."""
        plugin = impl.plugin_name
        if limit is None:
            try:
                impl.function(**args)
            except Exception as exc:
                return exc
            return None
        with self._hung_lock:
            hung = self._hung.get(plugin)
            if hung is not None and not hung.done.is_set():
                return HookTimeout(f"skipped: an earlier call to {hung.hook} has not returned yet")
            self._hung.pop(plugin, None)
        job = _Job(impl.function, args, plugin, hook_name)
        _WORKERS.run(job)
        if not job.done.wait(limit):
            with self._hung_lock:
                self._hung[plugin] = job
            return HookTimeout(f"did not return within {limit:g} s (abandoned)")
        return job.error

    # ------------------------------------------------------------------ listing

    def info(self) -> list[PluginInfo]:
        """Every plugin in use: name, version, hooks implemented and what it registers.

        Disabled faulty plugins are not in use: see `faulty`.
        """
        registered: dict[str, dict[str, list[str]]] = {}
        for hook_name, kind in _KINDS.items():
            for item in self._registry[hook_name].values():
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

    The ``TOUCHPOINT_DISABLE_PLUGINS`` and ``TOUCHPOINT_HOOK_TIMEOUT`` variables are
    read when the set is first built.
    """
    key = frozenset(disable) | _disabled_from_env()
    if key not in _DEFAULT:
        _DEFAULT[key] = Plugins(disable=key)
    return _DEFAULT[key]
