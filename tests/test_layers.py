"""The package graph: layers as docs/architecture.md draws them, checked on every import.

docs/architecture.md holds the layers (a table) and the graph (a list of edges). This
test reads both and walks every module of the package with ``ast`` (no import, no new
dependency). It fails when a module imports a package of a higher layer, imports another
package's private module (``touchpoint.x._y`` from outside ``touchpoint.x``), when the
packages form a cycle, when a package is missing from the table, or when the drawn graph
is not the real one. The checks are first run on small made-up packages, to show they
catch what they are for.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

import touchpoint

SRC = Path(touchpoint.__file__).parent
PAGE = Path(__file__).parents[1] / "docs" / "architecture.md"
#: The one import of a higher layer: the frame layer's Dask registry loads the plans.
UPWARD = {("touchpoint.frame._dispatch", "scale")}


def _block(name: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]


def layers() -> dict[str, int]:
    """Package (or top-level module) -> its layer, from the page's table."""
    out: dict[str, int] = {}
    for level, packages in re.findall(r"^\| (\d+) \| ([^|]+) \|", _block("layers"), re.M):
        for name in re.findall(r"`([\w.]+)`", packages):
            assert name not in out, f"{name} is in two layers"
            out[name] = int(level)
    return out


def drawn_graph() -> dict[str, set[str]]:
    """Package -> the packages it imports, as the page draws them."""
    out: dict[str, set[str]] = {}
    for line in _block("imports").splitlines():
        if "->" in line:
            left, right = line.split("->", 1)
            right = right.split("(", 1)[0]
            out[left.strip()] = {p.strip() for p in right.split(",") if p.strip()}
    return out


def unit(module: str) -> str:
    """The package a module belongs to (``touchpoint`` for the top-level ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "touchpoint"


class Import:
    def __init__(self, importer: str, target: str, line: int, annotations_only: bool):
        self.importer, self.target, self.line = importer, target, line
        self.annotations_only = annotations_only

    def __repr__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def imports(module: str, source: str, is_package: bool = False) -> list[Import]:
    """Every import of ``touchpoint`` modules in ``source`` (the code of ``module``)."""
    tree = ast.parse(source)
    guarded: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", "")) == (
            "TYPE_CHECKING"
        ):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importer's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # ``from touchpoint import scoring`` imports the package touchpoint.scoring
            targets = (
                [f"touchpoint.{a.name}" for a in node.names] if base == "touchpoint" else [base]
            )
        for target in targets:
            if target == "touchpoint" or target.startswith("touchpoint."):
                found.append(Import(module, target, node.lineno, id(node) in guarded))
    return found


def modules(root: Path = SRC) -> dict[str, tuple[str, bool]]:
    """Module name -> (its source, whether it is a package ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        out[name] = (path.read_text(encoding="utf-8"), is_package)
    return out


def problems(
    code: dict[str, tuple[str, bool]], levels: dict[str, int], upward: set[tuple[str, str]]
) -> list[str]:
    """What breaks the rules in ``code``: upward imports, private modules, cycles, strays."""
    found: list[str] = []
    graph: dict[str, set[str]] = defaultdict(set)
    for module, (source, is_package) in code.items():
        mine = unit(module)
        if mine not in levels:
            found.append(f"{module}: package {mine!r} is in no layer")
            continue
        for imp in imports(module, source, is_package):
            theirs = unit(imp.target)
            parts = imp.target.split(".")
            if theirs != mine and any(p.startswith("_") for p in parts[2:]):
                found.append(f"{imp}: another package's private module")
            if theirs == mine or imp.annotations_only:
                continue
            if theirs not in levels:
                found.append(f"{imp}: package {theirs!r} is in no layer")
            elif levels[theirs] > levels[mine] and (module, theirs) not in upward:
                found.append(f"{imp}: layer {levels[theirs]} above {mine}'s {levels[mine]}")
            if (module, theirs) not in upward:
                graph[mine].add(theirs)
    found += [f"cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    out, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            out.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return out


def real_graph(levels: dict[str, int]) -> dict[str, set[str]]:
    """Package -> the packages of layers 1 and up it imports at run time."""
    out: dict[str, set[str]] = defaultdict(set)
    for module, (source, is_package) in modules().items():
        for imp in imports(module, source, is_package):
            mine, theirs = unit(module), unit(imp.target)
            if theirs != mine and not imp.annotations_only and levels.get(theirs, 0) > 0:
                out[mine].add(theirs)
    return dict(out)


# --------------------------------------------------------------------------- the checks


def test_the_checks_catch_what_they_are_for():
    levels = {"errors": 0, "model": 1, "frame": 1, "scoring": 2, "scale": 3}
    code = {
        "touchpoint.model": ("from touchpoint.model._stage import Stage\n", True),
        "touchpoint.model._stage": ("from touchpoint.errors import Problem\n", False),
        "touchpoint.scoring._rfm": (
            "from touchpoint.frame import read_coded\n"
            "from touchpoint.frame._validation import check_codes\n"  # private: caught
            "from touchpoint.scale import by_customer\n",  # upward: caught
            False,
        ),
        "touchpoint.scale._plans": ("from touchpoint.scoring import rfm\n", False),
        "touchpoint.frame._dispatch": (
            "def load():\n    import touchpoint.scale\n"  # the allowed upward import
            "if TYPE_CHECKING:\n    from touchpoint.scoring import parts\n",  # annotations
            False,
        ),
        "touchpoint.frame._loop": ("from touchpoint.model import Stage\n", False),
        "touchpoint.model._loop": ("from touchpoint.frame import EventFrame\n", False),
        "touchpoint.stray": ("import touchpoint.model\n", False),
    }
    found = problems(code, levels, {("touchpoint.frame._dispatch", "scale")})
    assert any("scoring._rfm:2 imports touchpoint.frame._validation" in f for f in found)
    assert any("scoring._rfm:3 imports touchpoint.scale: layer 3 above" in f for f in found)
    assert any(f.startswith("cycle: frame -> model -> frame") for f in found)
    assert any(f.startswith("cycle: scale -> scoring -> scale") for f in found)  # the upward one
    assert any("'stray' is in no layer" in f for f in found)
    assert len(found) == 5, found
    relative = imports("touchpoint.care._agenda", "from ._calendar import civil\n")
    assert relative[0].target == "touchpoint.care._calendar"


def test_every_package_is_in_one_layer_and_the_layers_hold_only_real_packages():
    levels = layers()
    real = {unit(m) for m in modules()}
    assert real <= set(levels), f"not in the table: {sorted(real - set(levels))}"
    assert set(levels) <= real, f"in the table but not in the code: {sorted(set(levels) - real)}"


def test_no_import_points_up_or_into_another_packages_private_module():
    assert problems(modules(), layers(), UPWARD) == []


def test_the_one_upward_import_is_the_registrys_and_is_lazy():
    source, _ = modules()["touchpoint.frame._dispatch"]
    found = [i for i in imports("touchpoint.frame._dispatch", source) if unit(i.target) == "scale"]
    assert len(found) == 1
    tree = ast.parse(source)
    top_level = {id(n) for n in tree.body}
    lazy = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Import) and n.names[0].name == "touchpoint.scale"
    ]
    assert len(lazy) == 1 and id(lazy[0]) not in top_level  # inside a function


def test_the_drawn_graph_is_the_real_one():
    drawn, real = drawn_graph(), real_graph(layers())
    assert drawn == {k: v for k, v in real.items() if v}, (
        "docs/architecture.md's graph differs from the code:\n"
        + "\n".join(f"{k} -> {', '.join(sorted(v))}" for k, v in sorted(real.items()))
    )


#: Old paths kept for one release: they forward every name and list none.
FORWARDING = {"touchpoint.plugins.channels", "touchpoint.plugins.storage"}


@pytest.mark.parametrize(
    "package",
    sorted(m for m, (_, is_package) in modules().items() if is_package and m not in FORWARDING),
)
def test_every_package_states_its_public_surface(package):
    import importlib

    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{package} has no __all__"
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == [], f"{package}.__all__ names what it does not have: {missing}"


#: How code drops a time zone; outside frame/_times.py it would be a second conversion.
NAIVE = re.compile(r"replace\(tzinfo=None\)|tz_localize\(None\)|replace_time_zone\(None\)")


def test_every_conversion_to_naive_utc_goes_through_the_times_module():
    offenders = [
        f"{module}:{n}"
        for module, (source, _) in modules().items()
        # the storage backends are being reworked on another branch
        if module != "touchpoint.frame._times" and unit(module) != "storage"
        for n, line in enumerate(source.splitlines(), 1)
        if NAIVE.search(line.split("#", 1)[0]) and ">>>" not in line
    ]
    assert offenders == [], "convert with touchpoint.frame.naive_utc / naive_utc_series"
