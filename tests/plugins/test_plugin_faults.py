"""Faulty plugins cannot take the library down.

Real plugin packages (a module plus a ``.dist-info`` with an entry point, found by
``importlib.metadata`` like an installed one) whose registration hook raises or reuses a
name; notification hooks that hang; storage plugins that return garbage.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import touchpoint
from touchpoint.errors import PluginError, StorageError
from touchpoint.plugins import Plugins, hookimpl, manager
from touchpoint.plugins.manager import HOOK_TIMEOUT_ENV, HookTimeout
from touchpoint.storage import AppendResult
from touchpoint.storage.memory import MemoryStorage
from touchpoint.workspace import open_workspace

SRC = str(Path(__file__).parents[2] / "src")

RAISING = """
from touchpoint.plugins import hookimpl

@hookimpl
def register_channels(register):
    register("pager", object)
    raise RuntimeError("cannot read /etc/pager.conf")
"""

GREEDY = """
from touchpoint.plugins import hookimpl

@hookimpl
def register_storage(register):
    register("memory", lambda url: None)  # the built-in registered it first
"""

FINE = """
from touchpoint.plugins import hookimpl

class Fax:
    name = "fax"
    def send(self, message):
        raise NotImplementedError

@hookimpl
def register_channels(register):
    register("fax", Fax)
"""


def install(root: Path, name: str, source: str, entry: str | None = None) -> None:
    """A real distribution on a path: a module plus a .dist-info with an entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[touchpoint]\n{entry or name} = {name}\n")


@pytest.fixture
def plugin_dir(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    install(root, "tp_raising", RAISING)
    install(root, "tp_greedy", GREEDY)
    install(root, "tp_fine", FINE)
    # an entry point named like a built-in plugin
    install(root, "tp_impostor", FINE.replace('"fax"', '"fax2"'), "touchpoint.storage.sqlite")
    return root


def _run(plugin_dir, *args, code=None):
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "touchpoint"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), SRC])}
    env.pop("TOUCHPOINT_DISABLE_PLUGINS", None)
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow  # the command line in a subprocess
def test_touchpoint_plugins_lists_the_faulty_ones_and_exits_0(plugin_dir):
    """Defect 9: one raising registration hook made `touchpoint plugins` exit 1."""
    out = _run(plugin_dir, "plugins", "--json")
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    in_use = {p["name"]: p for p in listing["plugins"]}
    assert in_use["tp_fine"]["registers"] == {"channels": ["fax"]}
    assert in_use["touchpoint.storage.memory"]["registers"] == {"storage": ["memory"]}
    disabled = {d["name"]: d for d in listing["disabled"]}
    assert set(disabled) == {"tp_raising", "tp_greedy", "touchpoint.storage.sqlite"}
    assert disabled["tp_raising"] == {
        "name": "tp_raising",
        "version": "0.3.1",
        "stage": "register",
        "reason": "raised in register_channels: RuntimeError: cannot read /etc/pager.conf",
    }
    assert disabled["tp_greedy"]["reason"] == (
        "it registers storage 'memory', which plugin 'touchpoint.storage.memory' registered first"
    )
    impostor = disabled["touchpoint.storage.sqlite"]
    assert impostor["stage"] == "load" and "is taken" in impostor["reason"]
    assert in_use["touchpoint.storage.sqlite"]["builtin"]  # the real one is still in use
    assert not {"tp_raising", "tp_greedy"} & set(in_use)

    table = _run(plugin_dir, "plugins")
    assert table.returncode == 0, table.stderr
    assert "disabled (faulty):" in table.stdout
    assert (
        "tp_raising 0.3.1: raised in register_channels: RuntimeError: cannot read /etc/pager.conf"
        in table.stdout
    )
    assert "TOUCHPOINT_DISABLE_PLUGINS=tp_raising" in table.stderr


OPEN_AND_RECORD = textwrap.dedent(
    """
    import json, sys, touchpoint
    from touchpoint.plugins import default_plugins
    for url in ("memory://", "sqlite:///" + sys.argv[1]):
        with touchpoint.open(url) as ws:
            report = ws.record(event_id="e1", customer="C1", touchpoint="T1", time="2026-01-01")
            assert report.accepted == 1 and len(ws.interactions()) == 1
            assert "pager" not in ws.plugins.channels() and "fax" in ws.plugins.channels()
    print(json.dumps(sorted(f.name for f in default_plugins().faulty)))
    """
)


@pytest.mark.slow  # a subprocess with faulty plugins installed
def test_touchpoint_open_works_for_every_url_with_faulty_plugins_installed(plugin_dir, tmp_path):
    out = _run(plugin_dir, str(tmp_path / "shop.db"), code=OPEN_AND_RECORD)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["touchpoint.storage.sqlite", "tp_greedy", "tp_raising"]
    assert "plugin 'tp_raising' is disabled" in out.stderr  # logged as a warning


def test_in_process_entry_points_are_disabled_not_fatal(plugin_dir, monkeypatch, caplog):
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setattr(manager, "_DEFAULT", {})  # build the default plugins afresh
    with caplog.at_level(logging.WARNING, logger="touchpoint.plugins"):
        ws = touchpoint.open("memory://")
    assert {f.name for f in ws.plugins.faulty} == {
        "tp_raising",
        "tp_greedy",
        "touchpoint.storage.sqlite",
    }
    assert "tp_raising" in caplog.text and "cannot read /etc/pager.conf" in caplog.text
    assert ws.plugins.storages()["memory"].plugin == "touchpoint.storage.memory"
    ws.close()
    # disabling it by name leaves it out without a fault
    assert "tp_raising" not in {f.name for f in Plugins(disable=["tp_raising"]).faulty}


# --------------------------------------------------------------------------- hook timeouts


class Hangs:
    """A plugin whose ``interactions_recorded`` blocks until released."""

    __name__ = "hangs"

    def __init__(self):
        self.release = threading.Event()
        self.calls = 0

    @hookimpl
    def interactions_recorded(self, workspace, report):
        self.calls += 1
        self.release.wait(30)


class Counts:
    __name__ = "counts"

    def __init__(self):
        self.calls = 0

    @hookimpl
    def interactions_recorded(self, workspace, report):
        self.calls += 1


def _batch(i):
    return [{"event_id": f"e{i}", "customer": "C1", "touchpoint": "T1", "time": "2026-01-01"}]


def test_a_hanging_notification_hook_is_cut_off_and_named():
    """Defect 10: a hanging plugin blocked record_batch forever."""
    hangs, counts = Hangs(), Counts()
    plugins = Plugins(entry_points=False, extra=[hangs, counts], hook_timeout=0.3)
    ws = open_workspace("memory://", plugins=plugins)
    try:
        start = time.monotonic()
        report = ws.record_batch(_batch(1))
        took = time.monotonic() - start
        assert 0.3 <= took < 2.0
        assert report.committed and report.accepted == 1 and ws.storage.count() == 1
        [failure] = report.hook_failures
        assert failure.plugin == "hangs" and failure.hook == "interactions_recorded"
        assert failure.timed_out and isinstance(failure.error, HookTimeout)
        assert "did not return within 0.3 s" in str(failure)
        assert counts.calls == 1  # the other plugin ran
        # while the abandoned call still hangs, the plugin is skipped at once
        start = time.monotonic()
        again = ws.record_batch(_batch(2))
        assert time.monotonic() - start < 0.25
        assert "skipped" in str(again.hook_failures[0]) and hangs.calls == 1
        assert counts.calls == 2 and ws.storage.count() == 2
        hangs.release.set()  # it returns: called again, normally
        deadline = time.monotonic() + 5
        while any(t.name.startswith("touchpoint-hook:hangs") for t in threading.enumerate()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert ws.record_batch(_batch(3)).hook_failures == () and hangs.calls == 2
    finally:
        hangs.release.set()
        ws.close()


def test_the_hook_timeout_is_configurable(monkeypatch):
    hangs = Hangs()
    try:
        ws = open_workspace(
            "memory://", plugins=Plugins(entry_points=False, extra=[hangs]), hook_timeout=0.1
        )
        start = time.monotonic()
        [failure] = ws.record_batch(_batch(1)).hook_failures
        assert time.monotonic() - start < 1.0 and "within 0.1 s" in str(failure)
    finally:
        hangs.release.set()
    monkeypatch.setenv(HOOK_TIMEOUT_ENV, "2.5")
    assert Plugins(entry_points=False).hook_timeout == 2.5
    monkeypatch.setenv(HOOK_TIMEOUT_ENV, "none")
    assert Plugins(entry_points=False).hook_timeout is None
    monkeypatch.setenv(HOOK_TIMEOUT_ENV, "soon")  # a bad value is not fatal either
    assert Plugins(entry_points=False).hook_timeout == manager.DEFAULT_HOOK_TIMEOUT
    monkeypatch.delenv(HOOK_TIMEOUT_ENV)
    assert Plugins(entry_points=False).hook_timeout == 10.0
    with pytest.raises(PluginError, match="hook_timeout must be a number of seconds > 0"):
        Plugins(entry_points=False, hook_timeout=-1)


def test_concurrent_notifications_each_get_their_own_time():
    class Slow:
        __name__ = "slow"

        def __init__(self):
            self.calls = 0
            self.lock = threading.Lock()

        @hookimpl
        def tier_changed(self, workspace, customer, old, new):
            time.sleep(0.2)
            with self.lock:
                self.calls += 1

    slow = Slow()
    plugins = Plugins(entry_points=False, extra=[slow], hook_timeout=2.0)
    results = []

    def fire(i):
        results.append(
            plugins.notify("tier_changed", workspace=None, customer=f"C{i}", old=None, new="g")
        )

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[], [], [], []] and slow.calls == 4  # none skipped, none timed out
    assert time.monotonic() - start < 0.75  # they ran side by side, not one after another


def test_a_hook_that_raises_in_its_worker_thread_is_reported_with_its_error():
    class Raises:
        __name__ = "raises"

        @hookimpl
        def interactions_recorded(self, workspace, report):
            raise KeyError("missing")

    ws = open_workspace("memory://", plugins=Plugins(entry_points=False, extra=[Raises()]))
    [failure] = ws.record_batch(_batch(1)).hook_failures
    assert failure.plugin == "raises" and isinstance(failure.error, KeyError)
    assert not failure.timed_out


# --------------------------------------------------------------------------- garbage results


class Garbage(MemoryStorage):
    """A storage plugin whose methods return the wrong things."""

    def __init__(self, wrong):
        super().__init__()
        self.url = "junk://"
        self.wrong = wrong

    def append(self, batch, **kw):
        result = super().append(batch, **kw)
        if self.wrong == "none":
            return None
        if self.wrong == "short":
            return AppendResult(result.status[:-1], committed=True)
        if self.wrong == "codes":
            return AppendResult(np.full(len(batch), 9), committed=True)
        return result

    def scan(self, **kw):
        return [] if self.wrong == "scan" else super().scan(**kw)

    def promises(self, customer=None):
        return [None] if self.wrong == "promises" else super().promises(customer)

    def complaint(self, complaint_id):
        if self.wrong == "complaint":  # another complaint than the one asked for
            return next(iter(super().complaints()), None)
        return super().complaint(complaint_id)

    def forget(self, customer):
        return None if self.wrong == "forget" else super().forget(customer)

    def export(self, customer):
        return b"{}" if self.wrong == "export" else super().export(customer)


class JunkPlugin:
    __name__ = "acme-junk-storage"

    def __init__(self, wrong):
        self.wrong = wrong

    @hookimpl
    def register_storage(self, register):
        register("junk", lambda url: Garbage(self.wrong))


def _respond_to_another_complaint(ws):
    ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01")
    ws.respond_to_complaint("K2", at="2026-03-02")


@pytest.mark.parametrize(
    ("wrong", "call", "method"),
    [
        ("none", lambda ws: ws.record_batch(_batch(1)), "append"),
        ("short", lambda ws: ws.record_batch(_batch(1) + _batch(2)), "append"),
        ("codes", lambda ws: ws.record_batch(_batch(1)), "append"),
        ("scan", lambda ws: ws.interactions(), "scan"),
        ("promises", lambda ws: ws.check_promises("2026-01-01"), "promises"),
        ("forget", lambda ws: ws.forget("C1"), "forget"),
        ("complaint", _respond_to_another_complaint, "complaint"),
        ("export", lambda ws: ws.export("C1"), "export"),
    ],
)
def test_a_storage_plugin_returning_garbage_is_named(wrong, call, method):
    """Defect 14: garbage from a storage plugin gave raw AttributeError/IndexError."""
    plugins = Plugins(entry_points=False, extra=[JunkPlugin(wrong)])
    ws = open_workspace("junk://", plugins=plugins)
    with pytest.raises(StorageError) as caught:
        call(ws)
    text = str(caught.value)
    assert "storage plugin 'acme-junk-storage' returned" in text
    assert f"from {method}()" in text
