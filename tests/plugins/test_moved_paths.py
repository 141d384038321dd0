"""The old import paths under ``touchpoint.plugins`` still work for one release, and warn.

Host code and third-party plugins import ``Storage``, ``Message``, ``verify_signature``...
from ``touchpoint.plugins.storage`` / ``touchpoint.plugins.channels``; those modules now
only forward to ``touchpoint.storage`` / ``touchpoint.channels``. Nothing in the package
itself may use them.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import touchpoint

MOVED = {
    "touchpoint.plugins.storage": "touchpoint.storage",
    "touchpoint.plugins.storage.base": "touchpoint.storage.base",
    "touchpoint.plugins.storage.memory": "touchpoint.storage.memory",
    "touchpoint.plugins.storage.sqlite": "touchpoint.storage.sqlite",
    "touchpoint.plugins.channels": "touchpoint.channels",
    "touchpoint.plugins.channels.base": "touchpoint.channels.base",
    "touchpoint.plugins.channels.console": "touchpoint.channels.console",
    "touchpoint.plugins.channels.outbox": "touchpoint.channels.outbox",
    "touchpoint.plugins.channels.smtp": "touchpoint.channels.smtp",
    "touchpoint.plugins.channels.webhook": "touchpoint.channels.webhook",
    "touchpoint.plugins.templates": "touchpoint.templates",
    "touchpoint.plugins.scorers": "touchpoint.scoring._plugin",
}
SRC = Path(touchpoint.__file__).parent


def run(code: str) -> list[warnings.WarningMessage]:
    """Run ``code`` as a host module would (file name ``host.py``), recording every warning."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        exec(compile(code, "host.py", "exec"), {})
    return [w for w in seen if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize(("old", "new"), MOVED.items())
def test_every_public_name_of_the_old_path_is_the_new_object_and_warns(old, new):
    before = importlib.import_module(old)
    after = importlib.import_module(new)
    names = after.__all__
    assert names, new
    for name in names:
        with pytest.warns(DeprecationWarning) as seen:
            value = getattr(before, name)
        assert value is getattr(after, name), f"{old}.{name}"
        message = str(seen[0].message)
        assert message.startswith(f"{old}.{name} is deprecated: import it from {new} "), message
    assert set(names) <= set(dir(before))


def test_a_from_import_warns_once_at_the_importing_line():
    seen = run(
        "import os\n"
        "from touchpoint.plugins.storage import Storage, open_storage\n"
        "from touchpoint.plugins.channels.webhook import verify_signature\n"
    )
    assert [(w.filename, w.lineno) for w in seen] == [
        ("host.py", 2),
        ("host.py", 2),
        ("host.py", 3),
    ]
    assert [str(w.message).split(" is ")[0] for w in seen] == [
        "touchpoint.plugins.storage.Storage",
        "touchpoint.plugins.storage.open_storage",
        "touchpoint.plugins.channels.webhook.verify_signature",
    ]


def test_code_written_against_the_old_paths_still_works(tmp_path):
    """A storage plugin and a host script as written for 0.1 run unchanged."""
    seen = run(
        f"""
from touchpoint.plugins import hookimpl
from touchpoint.plugins.channels import Message
from touchpoint.plugins.storage import Storage, open_storage
from touchpoint.plugins.storage.memory import MemoryStorage
from touchpoint.plugins.storage.sqlite import ErasureIncomplete, SqliteStorage
from touchpoint.plugins.channels.smtp import unsubscribe_token
import touchpoint

store = open_storage("sqlite:///{tmp_path / "old.db"}")
assert isinstance(store, Storage) and isinstance(store, SqliteStorage)
store.close()
assert issubclass(MemoryStorage, Storage) and issubclass(ErasureIncomplete, touchpoint.StorageError)
ws = touchpoint.open("memory://")
delivery = ws.send(Message("c1", "C1", "a@example.com", "hello"), channel="console")
assert delivery.ok
assert len(unsubscribe_token("s3cret", "C1")) > 10
"""
    )
    assert len(seen) == 7 and all(w.filename == "host.py" for w in seen)


def test_a_submodule_of_an_old_package_is_its_forwarding_module():
    from touchpoint.plugins.storage import sqlite

    assert sqlite.__name__ == "touchpoint.plugins.storage.sqlite"
    with pytest.warns(DeprecationWarning, match="import it from touchpoint.storage.sqlite"):
        assert (
            sqlite.SqliteStorage
            is importlib.import_module("touchpoint.storage.sqlite").SqliteStorage
        )


def test_a_name_that_never_existed_is_an_attribute_error_naming_the_old_module():
    from touchpoint.plugins import channels

    with pytest.raises(
        AttributeError, match=r"module 'touchpoint\.plugins\.channels' has no attribute 'Nope'"
    ):
        _ = channels.Nope
    with pytest.raises(ImportError):
        exec("from touchpoint.plugins.channels import Nope", {})


def test_nothing_in_the_package_imports_an_old_path():
    old = tuple(MOVED)
    offenders = []
    forwarding = {SRC / "plugins" / "_moved.py"} | {
        Path(importlib.import_module(o).__file__) for o in old
    }
    for path in sorted(set(SRC.rglob("*.py")) - forwarding):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == o or n.startswith(o + ".") for n in names for o in old):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
        text = path.read_text(encoding="utf-8")
        offenders += [
            f"{path.relative_to(SRC)}: mentions {o}"
            for o in old
            if o + "." in text or f"{o} " in text
        ]
    assert offenders == []


def test_using_the_library_raises_no_deprecation_warning():
    """Every module imported, plugins loaded, a workspace used: no old path is touched."""
    code = """
import importlib, pkgutil, warnings
warnings.simplefilter("error", DeprecationWarning)
import touchpoint
for m in pkgutil.walk_packages(touchpoint.__path__, prefix="touchpoint."):
    if ".testing" not in m.name and not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from touchpoint.plugins import Plugins
p = Plugins()
ws = touchpoint.open("memory://", blueprint="car-dealership")
print(len(p.scorers()), len(p.channels()), ws.storage.count())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["18", "4", "0"]
