"""The quick loop stays quick: every test of a slow kind carries the ``slow`` marker.

``pytest -m "not slow"`` leaves out the tests that start a Dask LocalCluster, call a peer
library in its own environment or open a browser (see CONTRIBUTING.md). A new test of
those kinds without the marker fails here instead of slowing everyone's loop.
"""

import ast
import tomllib
from pathlib import Path

TESTS = Path(__file__).parent
#: Fixtures that make a test slow: the Dask cluster and the peer libraries' environments.
SLOW_FIXTURES = {"client", "run_lifetimes", "run_channelattribution"}
#: Words in a test's own code that make it slow.
SLOW_WORDS = ("LocalCluster", "chromium")


def _marks_slow(node: ast.AST) -> bool:
    return "mark.slow" in ast.unparse(node)


def _tests(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            yield node, node.decorator_list
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    yield item, [*node.decorator_list, *item.decorator_list]


def slow_but_unmarked(path: Path, root: Path = TESTS) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_slow = any(
        isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "pytestmark" for t in node.targets)
        and _marks_slow(node.value)
        for node in tree.body
    )
    # the file's own fixtures that use a slow one (``peer(run_lifetimes)``) are slow too
    fixtures = {
        node.name: {a.arg for a in node.args.args}
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    }
    slow = set(SLOW_FIXTURES)
    while grown := {name for name, args in fixtures.items() if args & slow} - slow:
        slow |= grown
    found = []
    for test, decorators in _tests(tree):
        args = {a.arg for a in test.args.args}
        body = ast.unparse(test)
        if (args & slow or any(w in body for w in SLOW_WORDS)) and not (
            module_slow or any(_marks_slow(d) for d in decorators)
        ):
            found.append(f"{path.relative_to(root)}::{test.name}")
    return found


def test_tests_of_a_slow_kind_are_marked_slow():
    unmarked = [t for path in sorted(TESTS.rglob("test_*.py")) for t in slow_but_unmarked(path)]
    assert unmarked == [], "mark these @pytest.mark.slow (or the module's pytestmark)"


def test_the_check_finds_an_unmarked_cluster_test(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_on_dask(client):\n    pass\n", encoding="utf-8")
    assert slow_but_unmarked(probe, tmp_path) == ["test_probe.py::test_on_dask"]
    probe.write_text(
        "import pytest\n\n@pytest.mark.slow\ndef test_on_dask(client):\n    pass\n",
        encoding="utf-8",
    )
    assert slow_but_unmarked(probe, tmp_path) == []
    probe.write_text(  # through a fixture of the file that uses a peer's environment
        "import pytest\n\n@pytest.fixture\ndef peer(run_lifetimes):\n    return 1\n\n"
        "def test_like_the_peer(peer):\n    pass\n",
        encoding="utf-8",
    )
    assert slow_but_unmarked(probe, tmp_path) == ["test_probe.py::test_like_the_peer"]


def test_the_marker_is_declared_and_markers_are_strict():
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_config = config["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("slow:") for m in pytest_config["markers"])
    assert "--strict-markers" in pytest_config["addopts"]
