"""Every hook is documented on docs/plugins/hooks.md with its exact signature, and typed.

Like datasette's ``test_docs.py``: the page is checked against the specifications, so a
hook added, renamed or retyped in ``touchpoint.plugins.hookspecs`` fails here until the
page says the same.
"""

from __future__ import annotations

import ast
import inspect
import re
import typing
from pathlib import Path

import pluggy
import pytest

from touchpoint.plugins import hookspecs

PAGE = Path(__file__).parents[2] / "docs" / "plugins" / "hooks.md"
SPECS = sorted(
    name
    for name, obj in vars(hookspecs).items()
    if inspect.isfunction(obj) and hasattr(obj, f"{hookspecs.GROUP}_spec")
)


def signature_line(function) -> str:
    """``def name(arg: Type, ...) -> None`` as written in the source (annotations are strings)."""
    sig = inspect.signature(function)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {function.__name__}({params}) -> {sig.return_annotation}"


def page_sections() -> dict[str, str]:
    """The page's ``### name`` sections: name -> text up to the next heading."""
    text = PAGE.read_text(encoding="utf-8")
    parts = re.split(r"^(#{2,3}) (.+)$", text, flags=re.MULTILINE)
    return {
        title: body
        for level, title, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
        if level == "###"
    }


def test_the_specs_are_the_hooks_the_manager_knows():
    assert sorted((*hookspecs.REGISTRATION_HOOKS, *hookspecs.NOTIFICATION_HOOKS)) == SPECS
    pm = pluggy.PluginManager(hookspecs.GROUP)
    pm.add_hookspecs(hookspecs)
    assert sorted(h for h in vars(pm.hook) if not h.startswith("_")) == SPECS


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_has_a_section_with_its_exact_signature(name):
    sections = page_sections()
    assert name in sections, f"docs/plugins/hooks.md has no '### {name}' section"
    expected = signature_line(getattr(hookspecs, name))
    assert f"```python\n{expected}\n```" in sections[name], (
        f"the '### {name}' section must show the signature\n{expected}"
    )
    # and the hook's own docstring is rendered there
    assert f"::: touchpoint.plugins.hookspecs.{name}\n" in sections[name]


def test_the_page_documents_no_hook_that_does_not_exist():
    text = PAGE.read_text(encoding="utf-8")
    hooks_part = text[text.index("## Registration hooks") : text.index("## The plugin manager")]
    documented = re.findall(r"^### (\w+)$", hooks_part, flags=re.MULTILINE)
    assert documented == [*hookspecs.REGISTRATION_HOOKS, *hookspecs.NOTIFICATION_HOOKS]


def _type_checking_imports() -> dict[str, object]:
    """Run the ``if TYPE_CHECKING:`` block of hookspecs.py: the names its annotations use."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(block.body, type_ignores=[]), hookspecs.__file__, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", SPECS)
def test_every_payload_is_typed_with_a_real_type(name):
    function = getattr(hookspecs, name)
    hints = typing.get_type_hints(
        function, globalns={**vars(hookspecs), **_type_checking_imports()}
    )
    params = list(inspect.signature(function).parameters)
    assert set(hints) == {*params, "return"}, "every argument is annotated"
    assert hints["return"] is type(None)
    for arg in params:
        assert hints[arg] is not typing.Any, f"{name}({arg}) is typed Any"
    if name.startswith("register_"):
        assert typing.get_origin(hints["register"]) is not None  # a Callable[[str, ...], None]


def test_the_payload_types_are_the_objects_the_hooks_receive():
    from touchpoint.channels import ChannelBackend, Delivery, Message
    from touchpoint.model import Blueprint, Promise
    from touchpoint.storage import Storage
    from touchpoint.workspace import Breach, IngestReport, Workspace

    names = _type_checking_imports()
    for cls in (
        ChannelBackend,
        Delivery,
        Message,
        Blueprint,
        Promise,
        Storage,
        Breach,
        IngestReport,
        Workspace,
    ):
        assert names[cls.__name__] is cls


def test_importing_the_specs_imports_only_pluggy_and_typing_at_run_time():
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in tree.body:  # module level only; the TYPE_CHECKING block is an ast.If
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"__future__", "typing", "pluggy"}
    assert not {"Workspace", "Breach", "Storage", "Message"} & set(vars(hookspecs))
