"""Built-in plugins live next to what they register; ``touchpoint.plugins`` holds only the machinery."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types

import pytest

import touchpoint
from touchpoint.plugins import Plugins, hookimpl, manager
from touchpoint.plugins.hookspecs import GROUP

#: What the built-in plugins registered before the move (issue 14), as users look them up.
SCORES_BEFORE = {
    "rfm",
    "rfm_scores",
    "rfm_segments",
    "pyramid",
    "pareto",
    "simple_clv",
    "csat",
    "nps",
    "compliance",
    "loyalty_programme",
    "loyalty_index",
    "churn_risk",
    "churn_kinds",
    "satisfied_but_defecting",
    "referral",
    "customer_summary",
    "markov",
    "attribution",
}


def _modules(entry):
    return (entry,) if isinstance(entry, str) else entry


def test_no_hook_implementation_lives_in_the_plugins_package():
    package = importlib.import_module("touchpoint.plugins")
    found = []
    for info in pkgutil.walk_packages(package.__path__, prefix="touchpoint.plugins."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if callable(obj) and hasattr(obj, f"{GROUP}_impl"):
                found.append(f"{info.name}.{name}")
    assert found == []


def test_every_builtin_module_is_outside_plugins_and_registers_its_own_things():
    plugins = Plugins(entry_points=False)
    registries = {
        "channels": plugins.channels(),
        "storage": plugins.storages(),
        "blueprints": plugins.blueprints(),
        "scorers": plugins.scorers(),
    }
    for name, entry in manager.DEFAULT_PLUGINS:
        modules = _modules(entry)
        assert not any(m.startswith("touchpoint.plugins") for m in modules), name
        packages = {m.rsplit("._plugin", 1)[0] for m in modules}
        for registry in registries.values():
            for item in registry.values():
                if item.plugin != name:
                    continue
                obj = item.obj
                target = getattr(
                    obj, "func", obj
                )  # templates register functools.partial(load, name)
                where = inspect.getmodule(target).__name__
                assert any(where == p or where.startswith(p + ".") for p in packages), (
                    f"{name} registers {item.name!r} from {where}, not from {sorted(packages)}"
                )


def test_the_builtin_plugins_register_what_they_did_before_the_move():
    plugins = Plugins(entry_points=False)
    assert set(plugins.scorers()) == SCORES_BEFORE
    assert {s.plugin for s in plugins.scorers().values()} == {"touchpoint.scorers"}
    assert plugins.scorers()["attribution"].obj is touchpoint.attribution.heuristic
    assert plugins.scorers()["customer_summary"].obj is touchpoint.clv.customer_summary
    assert plugins.storages()["memory"].plugin == "touchpoint.storage.memory"
    assert plugins.channels()["smtp"].obj.__module__ == "touchpoint.channels.smtp"


def test_disabling_the_scorers_plugin_disables_the_scores_of_all_three_packages():
    plugins = Plugins(disable=["touchpoint.scorers"], entry_points=False)
    assert plugins.scorers() == {}
    assert "touchpoint.scorers" not in {i.name for i in plugins.info()}


@pytest.fixture
def fake_modules(monkeypatch):
    """Two modules that make one built-in plugin, in sys.modules for the manager to import."""
    made = []

    def make(name, **hooks):
        module = types.ModuleType(name)
        for hook, function in hooks.items():
            setattr(module, hook, hookimpl(function))
        monkeypatch.setitem(sys.modules, name, module)
        made.append(name)
        return module

    return make


def test_a_plugin_of_several_modules_registers_theirs_in_order_as_one_plugin(
    fake_modules, monkeypatch
):
    fake_modules("fake_a", register_scorers=lambda register: register("one", len))
    fake_modules("fake_b", register_scorers=lambda register: register("two", max))
    fake_modules("fake_c", register_channels=lambda register: register("pigeon", object))
    monkeypatch.setattr(
        manager, "DEFAULT_PLUGINS", (("test.bundle", ("fake_a", "fake_b", "fake_c")),)
    )
    plugins = Plugins(entry_points=False)
    assert list(plugins.scorers()) == ["one", "two"]
    assert plugins.channels()["pigeon"].plugin == "test.bundle"
    (info,) = plugins.info()
    assert info.builtin and info.hooks == ("register_channels", "register_scorers")


def test_a_fault_in_one_module_disables_the_whole_plugin_and_names_it(fake_modules, monkeypatch):
    fake_modules("fake_a", register_scorers=lambda register: register("one", len))

    def broken(register):
        raise RuntimeError("no model file")

    fake_modules("fake_b", register_scorers=broken)
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", (("test.bundle", ("fake_a", "fake_b")),))
    plugins = Plugins(entry_points=False)
    assert plugins.scorers() == {}
    (fault,) = plugins.faulty
    assert fault.name == "test.bundle" and "RuntimeError: no model file" in fault.reason


def test_a_module_of_a_bundle_may_not_implement_a_notification_hook(fake_modules, monkeypatch):
    fake_modules("fake_a", register_scorers=lambda register: register("one", len))
    fake_modules("fake_b", tier_changed=lambda workspace, customer, old, new: None)
    monkeypatch.setattr(manager, "DEFAULT_PLUGINS", (("test.bundle", ("fake_a", "fake_b")),))
    plugins = Plugins(entry_points=False)
    assert plugins.scorers() == {}
    (fault,) = plugins.faulty
    assert fault.stage == "load" and "fake_b implements tier_changed" in fault.reason
