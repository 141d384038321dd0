"""The plugin pages suffice: the plugins their code blocks build pass touchpoint's contracts.

docs/plugins/write-a-storage-plugin.md and docs/plugins/write-a-channel-plugin.md each
build a complete plugin in their ``python`` blocks and end with the contract test class a
plugin author writes. This module runs each page's blocks in order, in one namespace and
a temporary directory (as a reader pasting them would), checks the ``pycon`` examples
with doctest against that namespace, and then runs the page's own contract test class:
the storage page's backend against all of `touchpoint.testing.StorageContract` (none of
it declared unsupported), the channel page's channel against
`touchpoint.testing.ChannelContract`. If a page's plugin fails a contract test, the page
is wrong. The other tests check that the pages name every method of the storage
contract with its signature, every field of ``Message``, ``Delivery`` and
``Capabilities``, and every contract test with the part it belongs to, and that the hooks
page lists every built-in plugin.
"""

from __future__ import annotations

import contextlib
import doctest
import inspect
import re
import tempfile
from pathlib import Path
from typing import Any

import attrs

from touchpoint.channels import Capabilities, Delivery, Message
from touchpoint.storage import Storage
from touchpoint.testing import OPTIONAL_PARTS, ChannelContract, StorageContract

PAGES = Path(__file__).parents[2] / "docs" / "plugins"
STORAGE_PAGE = PAGES / "write-a-storage-plugin.md"
CHANNEL_PAGE = PAGES / "write-a-channel-plugin.md"
_BLOCK = re.compile(
    r"^(<!-- docs-test: skip[^\n]*\n)?```(python|pycon)\n(.*?)^```", re.DOTALL | re.MULTILINE
)


def run_page(page: Path) -> dict[str, Any]:
    """The namespace a page's blocks leave, with the doctest failures of its pycon blocks."""
    text = page.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    failures: list[str] = []
    blocks = 0
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        for match in _BLOCK.finditer(text):
            skipped, kind, code = match.groups()
            if skipped:
                continue
            line = text[: match.start()].count("\n") + 2
            if kind == "python":
                blocks += 1
                exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
                continue
            test = doctest.DocTestParser().get_doctest(code, namespace, page.name, str(page), line)
            out: list[str] = []
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, out=out.append, clear_globs=False)
            failures += out
        workspace = namespace.get("ws")
        if workspace is not None:  # the channel page's workspace: close its SQLite file
            workspace.storage.close()
    namespace["_blocks"], namespace["_doctest_failures"] = blocks, failures
    return namespace


STORAGE = run_page(STORAGE_PAGE)
CHANNEL = run_page(CHANNEL_PAGE)


# ---------------------------------------------------------------- the pages' plugins, tested


class TestStoragePagePlugin(STORAGE["TestDictStorage"]):  # type: ignore[misc]
    """The storage page's ``dict://`` backend, tested by the page's own test class."""


class TestChannelPagePlugin(CHANNEL["TestSmsSpoolContract"]):  # type: ignore[misc]
    """The channel page's ``sms-spool`` channel, tested by the page's own test class."""


def test_the_pages_test_classes_are_the_contracts_declaring_nothing_unsupported():
    assert issubclass(TestStoragePagePlugin, StorageContract)
    assert issubclass(TestChannelPagePlugin, ChannelContract)
    assert not TestStoragePagePlugin.unsupported  # the whole contract, outbox included
    assert STORAGE["DictStorage"].__module__ == "docs_write_a_storage_plugin"  # built by the page
    assert CHANNEL["SmsSpoolChannel"].__module__ == "docs_write_a_channel_plugin"


def test_the_pages_examples_show_what_their_code_prints():
    assert STORAGE["_blocks"] >= 6 and CHANNEL["_blocks"] >= 4
    assert STORAGE["_doctest_failures"] == [] and CHANNEL["_doctest_failures"] == []


# ---------------------------------------------------------------- the storage page


def _call(name: str, function: Any) -> str:
    """``name(a, *, b=None)``: a method's parameters as the page writes them (no types)."""
    shown, star = [], False
    for p in list(inspect.signature(function).parameters.values())[1:]:  # without self
        if p.kind is p.KEYWORD_ONLY and not star:
            shown.append("*")
            star = True
        shown.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"{name}({', '.join(shown)})"


def _contract_section() -> str:
    text = STORAGE_PAGE.read_text(encoding="utf-8")
    return text[text.index("## 1. The contract") : text.index("## 2. ")]


def test_the_storage_page_gives_every_method_with_its_signature():
    section = _contract_section()
    methods = [
        name
        for name, member in vars(Storage).items()
        if not name.startswith("_") and callable(member)
    ]
    assert {"append", "scan", "forget", "is_suppressed", "claim_outbox", "close"} <= set(methods)
    missing = [
        _call(name, getattr(Storage, name))
        for name in methods
        if f"`{_call(name, getattr(Storage, name))}" not in section
    ]
    assert missing == [], f"the storage page lacks these signatures: {missing}"
    assert "`schema_version` (read-only property)" in section
    assert "`finish_erasure(*, wait=None) -> bool` (optional)" in section


def test_the_storage_page_names_every_contract_test_and_its_part():
    text = STORAGE_PAGE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (required: [\w ]+|optional part `(\w+)`) \| (.+) \|$", text, re.M)
    listed: dict[str, str] = {}
    for _label, part, tests in rows:
        for test in re.findall(r"`(test_\w+)`", tests):
            assert test not in listed, f"{test} is listed twice"
            listed[test] = part or "required"
    actual = {
        name: getattr(member, "contract_part", None) or "required"
        for name, member in vars(StorageContract).items()
        if name.startswith("test_")
    }
    assert listed == actual
    assert {part for part in listed.values() if part != "required"} == set(OPTIONAL_PARTS)
    assert f"all {len(actual)} tests" in text


# ---------------------------------------------------------------- the hooks page


def test_the_hooks_page_lists_every_built_in_plugin_and_its_modules():
    from touchpoint.plugins.manager import DEFAULT_PLUGINS

    text = (PAGES / "hooks.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(touchpoint[\w.]*)` \| ((?:`[\w.]+`(?:, )?)+) \|", text, re.M)
    listed = {name: tuple(re.findall(r"`([\w.]+)`", modules)) for name, modules in rows}
    assert listed == {
        name: (modules,) if isinstance(modules, str) else modules
        for name, modules in DEFAULT_PLUGINS
    }


# ---------------------------------------------------------------- the channel page


def _table_fields(text: str, heading: str) -> list[str]:
    """The ``| `field` |`` rows of the table following ``heading`` on the page."""
    rest = text[text.index(heading) :]
    table = rest[rest.index("| field |") :].split("\n\n", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", table, re.M)


def test_the_channel_page_lists_every_field_of_message_and_delivery():
    text = CHANNEL_PAGE.read_text(encoding="utf-8")
    assert _table_fields(text, "receives a **`Message`**") == [
        f.name for f in attrs.fields(Message)
    ]
    assert _table_fields(text, "returns a **`Delivery`**") == [
        f.name for f in attrs.fields(Delivery)
    ]
    for field in attrs.fields(Capabilities):
        assert f"`{field.name}`" in text


def test_the_channel_page_points_to_public_masking_and_names_every_contract_test():
    text = CHANNEL_PAGE.read_text(encoding="utf-8")
    assert "_privacy" not in text
    assert "`touchpoint.privacy`" in text and "`touchpoint.channels.base.mask_reason`" in text
    listed = re.findall(r"^\| `(test_\w+)` \|", text, re.M)
    assert listed == [name for name in vars(ChannelContract) if name.startswith("test_")]
