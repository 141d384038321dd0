"""The plugin manager: built-ins as plugins, entry points, disabling, conflicts, isolation."""

from __future__ import annotations

import contextlib
import logging
import sys
import textwrap

import pytest

from touchpoint import templates
from touchpoint.errors import PluginError
from touchpoint.plugins import DISABLE_ENV, Plugins, hookimpl
from touchpoint.plugins.hookspecs import NOTIFICATION_HOOKS, REGISTRATION_HOOKS


def test_builtins_are_plugins_registering_through_the_hooks():
    p = Plugins(entry_points=False)
    info = {i.name: i for i in p.info()}
    assert info["touchpoint.storage.sqlite"].registers == {"storage": ("sqlite",)}
    assert info["touchpoint.storage.memory"].registers == {"storage": ("memory",)}
    assert info["touchpoint.channels.smtp"].hooks == ("register_channels",)
    assert info["touchpoint.templates"].registers["blueprints"] == tuple(sorted(templates.names()))
    assert all(i.builtin and i.version for i in info.values())
    channels = p.channels()
    assert {"console", "outbox", "smtp", "webhook"} <= set(channels)
    assert channels["webhook"].plugin == "touchpoint.channels.webhook"
    # a registered template loads into the same blueprint as the registry
    name = templates.names()[0]
    assert p.blueprints()[name].obj() == templates.load(name)


def test_every_hookspec_is_documented():
    from touchpoint.plugins import hookspecs

    for name in (*REGISTRATION_HOOKS, *NOTIFICATION_HOOKS):
        doc = getattr(hookspecs, name).__doc__
        assert doc and len(doc.split()) > 8, name


def test_disable_by_argument_and_environment(monkeypatch):
    p = Plugins(disable=["touchpoint.channels.smtp"], entry_points=False)
    assert "smtp" not in p.channels() and "webhook" in p.channels()
    monkeypatch.setenv(DISABLE_ENV, " touchpoint.channels.webhook , touchpoint.storage.memory")
    p = Plugins(disable=["touchpoint.channels.smtp"], entry_points=False)
    assert "webhook" not in p.channels() and "smtp" not in p.channels()
    assert set(p.storages()) == {"sqlite", "postgresql", "postgres"}
    assert "touchpoint.storage.memory" not in {i.name for i in p.info()}


class _Dup:
    @hookimpl
    def register_channels(self, register):
        register("dup-fax", object)

    @hookimpl
    def register_storage(self, register):
        register("sqlite", lambda url: None)


class _RaisesOnRegister:
    @hookimpl
    def register_storage(self, register):
        register("ok-store", lambda url: None)

    @hookimpl
    def register_channels(self, register):
        raise RuntimeError("no config file")

    @hookimpl
    def tier_changed(self, workspace, customer, old, new):
        raise AssertionError("a disabled plugin's hooks never run")


def test_a_plugin_reusing_a_name_is_disabled_and_named():
    p = Plugins(entry_points=False, extra=[_Dup()])
    assert p.storages()["sqlite"].plugin == "touchpoint.storage.sqlite"  # the first one keeps it
    [fault] = p.faulty
    assert fault.name == "_Dup" and fault.stage == "register"
    assert "storage 'sqlite', which plugin 'touchpoint.storage.sqlite' registered first" in (
        fault.reason
    )
    assert "dup-fax" not in p.channels()  # nothing of a disabled plugin is used
    assert "_Dup" not in {i.name for i in p.info()}
    [err] = p.load_errors
    assert isinstance(err, PluginError) and "_Dup" in str(err) and DISABLE_ENV in str(err)


def test_a_plugin_raising_while_registering_is_disabled_not_fatal():
    from touchpoint.workspace import open_workspace

    p = Plugins(entry_points=False, extra=[_RaisesOnRegister()])
    [fault] = p.faulty
    assert fault.name == "_RaisesOnRegister"
    assert fault.reason == "raised in register_channels: RuntimeError: no config file"
    assert isinstance(fault.error, RuntimeError)
    assert "ok-store" not in p.storages()  # what it registered before failing is dropped
    assert {"console", "smtp"} <= set(p.channels()) and set(p.storages()) == {
        "memory",
        "sqlite",
        "postgresql",
        "postgres",
    }
    assert p.notify("tier_changed", workspace=None, customer="C1", old=None, new="gold") == []
    with open_workspace("memory://", plugins=p) as ws:
        assert ws.record(event_id="e1", customer="C1", touchpoint="T1", time="2026-01-01").ok


def test_a_name_taken_inside_one_plugin_and_a_bad_name_are_faults_too():
    class Twice:
        @hookimpl
        def register_scorers(self, register):
            register("mine", len)
            register("mine", len)

    class Nameless:
        @hookimpl
        def register_scorers(self, register):
            register("", len)

    p = Plugins(entry_points=False, extra=[Twice(), Nameless()])
    reasons = {f.name: f.reason for f in p.faulty}
    assert reasons == {
        "Twice": "it registers scorers 'mine' twice",
        "Nameless": "register_scorers needs a non-empty name, got ''",
    }
    assert "mine" not in p.scorers() and "rfm" in p.scorers()


def _install_fake_distribution(tmp_path, monkeypatch, name, module_source, entry_value):
    """A real distribution on sys.path: a module plus a .dist-info with an entry point."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = tmp_path / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[touchpoint]\n{name} = {entry_value}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_entry_point_plugins_are_discovered_listed_and_disabled(tmp_path, monkeypatch):
    _install_fake_distribution(
        tmp_path,
        monkeypatch,
        "tp_fax",
        """
        from touchpoint.plugins import hookimpl
        from touchpoint.channels import ChannelBackend, Delivery

        class Fax(ChannelBackend):
            name = "fax"
            def send(self, message):
                return Delivery.sent(message, self.name)

        @hookimpl
        def register_channels(register):
            register("fax", Fax)
        """,
        "tp_fax",
    )
    p = Plugins()
    info = {i.name: i for i in p.info()}
    assert info["tp_fax"].version == "1.2.3" and not info["tp_fax"].builtin
    assert info["tp_fax"].registers == {"channels": ("fax",)}
    assert p.channels()["fax"].plugin == "tp_fax"
    assert "fax" not in Plugins(disable=["tp_fax"]).channels()
    monkeypatch.setenv(DISABLE_ENV, "tp_fax")
    assert "fax" not in Plugins().channels()


def test_a_broken_entry_point_is_reported_not_fatal(tmp_path, monkeypatch, caplog):
    _install_fake_distribution(
        tmp_path, monkeypatch, "tp_broken", "raise ImportError('needs libfoo')\n", "tp_broken"
    )
    with caplog.at_level(logging.WARNING, logger="touchpoint.plugins"):
        p = Plugins()
    assert "sqlite" in p.storages()
    [err] = [e for e in p.load_errors if "tp_broken" in str(e)]
    assert "needs libfoo" in str(err) and DISABLE_ENV in str(err)
    assert "tp_broken" in caplog.text


class _Recorder:
    def __init__(self, name, calls, fail=False):
        self.__name__ = name
        self.calls, self.fail = calls, fail

    @hookimpl
    def tier_changed(self, workspace, customer, old, new):
        self.calls.append(self.__name__)
        if self.fail:
            raise ValueError(f"{self.__name__} cannot handle {new}")


def test_notify_isolates_a_failing_plugin_and_names_it(caplog):
    calls: list[str] = []
    plugins = [
        _Recorder("first", calls),
        _Recorder("broken", calls, fail=True),
        _Recorder("last", calls),
    ]
    p = Plugins(entry_points=False, extra=plugins)
    with caplog.at_level(logging.ERROR, logger="touchpoint.plugins"):
        failures = p.notify("tier_changed", workspace=None, customer="C1", old="silver", new="gold")
    assert sorted(calls) == ["broken", "first", "last"]  # every plugin ran
    [failure] = failures
    assert failure.plugin == "broken" and failure.hook == "tier_changed"
    assert isinstance(failure.error, ValueError)
    assert (
        "plugin 'broken' failed in tier_changed: ValueError: broken cannot handle gold"
        in caplog.text
    )


def test_notify_refuses_registration_hooks():
    with pytest.raises(PluginError, match="not a notification hook"):
        Plugins(entry_points=False).notify("register_channels", register=print)


def test_builtin_scores_are_registered_through_the_same_hook_as_plugins():
    import numpy as np

    from touchpoint import scoring
    from touchpoint.plugins import Plugins

    scorers = Plugins(entry_points=False).scorers()
    assert scorers["rfm"].plugin == "touchpoint.scorers" and scorers["rfm"].obj is scoring.rfm
    data = {
        "customer": ["a", "a", "b"],
        "time": np.array(["2026-01-01", "2026-02-01", "2026-01-15"], dtype="datetime64[us]"),
        "amount": [10.0, 20.0, 5.0],
    }
    got = scorers["rfm"].obj(data, asof="2026-03-01")
    assert dict(zip(got["customer"], got["monetary"], strict=True)) == {"a": 30.0, "b": 5.0}
    disabled = Plugins(entry_points=False, disable=["touchpoint.scorers"]).scorers()
    assert "rfm" not in disabled


def test_a_plugin_swallowing_the_refusal_of_a_taken_name_is_still_disabled():
    class Sly:
        @hookimpl
        def register_storage(self, register):
            with contextlib.suppress(Exception):
                register("sqlite", lambda url: None)
            register("sly", lambda url: None)

    p = Plugins(entry_points=False, extra=[Sly()])
    assert [f.name for f in p.faulty] == ["Sly"] and set(p.storages()) == {
        "memory",
        "sqlite",
        "postgresql",
        "postgres",
    }
