"""``touchpoint plugin new``: the package it writes installs, registers and passes its own contract.

The quick tests check what is written (files, ``pyproject.toml`` read with tomllib, no
placeholder left), that bad names and existing directories are refused with exit code 1
and nothing written or overwritten, and that the templates ship in touchpoint's wheel and
sdist. The slow test writes one package of each kind, installs all three into a throwaway
virtual environment that sees this environment's packages (no network, no build
isolation, like ``test_example_plugin.py``), checks that ``touchpoint plugins`` finds each
through its entry point, and runs each package's own ``tests/test_contract.py`` with
pytest in that environment, as the package's CI would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import touchpoint
from touchpoint.cli._main import run
from touchpoint.testing import ChannelContract, StorageContract

ROOT = Path(__file__).parents[2]
TEMPLATES = Path(touchpoint.__file__).parent / "plugins" / "_template"
FILES = {
    ".github/workflows/test.yml",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/{package}/__init__.py",
    "tests/test_contract.py",
}
KINDS = {
    # kind: (name, what `touchpoint plugins --json` shows it registers)
    "channel": ("sms-gateway", {"channels": ["sms-gateway"]}),
    "storage": ("acme-db", {"storage": ["acme-db"]}),
    "scorer": ("visit-stats", {"scorers": ["visit_stats"]}),
}


def _contract_tests(cls: type) -> int:
    return sum(1 for name in dir(cls) if name.startswith("test_"))


#: What each generated suite runs: the contract's tests plus its own (registration...).
EXPECTED_PASSED = {
    "channel": _contract_tests(ChannelContract) + 2,
    "storage": _contract_tests(StorageContract) + 1,
    "scorer": 3,
}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_writes_the_package_with_its_entry_point_skeleton_test_and_ci(kind, tmp_path, capsys):
    name = KINDS[kind][0]
    package = "touchpoint_" + name.replace("-", "_")
    assert run(["plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)]) == 0
    root = tmp_path / f"touchpoint-{name}"
    assert f"wrote {root}" in capsys.readouterr().out
    assert _files(root) == {f.format(package=package) for f in FILES}

    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert project["project"]["name"] == f"touchpoint-{name}"
    [dependency] = project["project"]["dependencies"]
    assert dependency == f"touchpoint-ctm>={touchpoint.__version__}"
    assert project["project"]["entry-points"]["touchpoint"] == {name: package}
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{package}"]
    assert "pytest>=8" in project["project"]["optional-dependencies"]["test"]

    for path in root.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")  # valid Python
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "$" not in text.replace("${{", ""), path  # every placeholder filled
    workflow = (root / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8")
    assert "pip install -e '.[test]'" in workflow and "python -m pytest" in workflow
    assert "${{ matrix.python-version }}" in workflow
    assert "__pycache__/" in (root / ".gitignore").read_text(encoding="utf-8")
    assert f"pip install touchpoint-{name}" in (root / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "kind", "says"),
    [
        ("Bad_Name", "channel", "lowercase letters and digits"),
        ("1sms", "channel", "starting with a letter"),
        ("sms--gateway", "channel", "single hyphens"),
        ("sms-", "channel", "single hyphens"),
        ("x" * 41, "channel", "at most 40 characters"),
        ("touchpoint-sms", "channel", "without the touchpoint- prefix"),
        ("smtp", "channel", "'smtp' is a built-in channel name"),
        ("sqlite", "storage", "'sqlite' is a built-in storage name"),
        ("rfm", "scorer", "'rfm' is a built-in scorer name"),
        ("loyalty-index", "scorer", "'loyalty_index' is a built-in scorer name"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_written(name, kind, says, tmp_path, capsys):
    assert run(["plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "touchpoint plugin new" in err and "name:" in err and says in err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_package_directory_is_never_overwritten(tmp_path, capsys):
    mine = tmp_path / "touchpoint-sms"
    mine.mkdir()
    (mine / "pyproject.toml").write_text("# my own work\n")
    assert run(["plugin", "new", "sms", "--dir", str(tmp_path)]) == 1
    assert "touchpoint-sms exists already" in capsys.readouterr().err
    assert _files(mine) == {"pyproject.toml"}
    assert (mine / "pyproject.toml").read_text() == "# my own work\n"


def test_writing_twice_refuses_the_second_time_and_keeps_the_first(tmp_path, capsys):
    assert run(["plugin", "new", "sms", "--kind", "channel", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "touchpoint-sms"
    (root / "README.md").write_text("edited\n")
    before = {f: (root / f).read_bytes() for f in _files(root)}
    assert run(["plugin", "new", "sms", "--kind", "storage", "--dir", str(tmp_path)]) == 1
    assert {f: (root / f).read_bytes() for f in _files(root)} == before


def test_an_unknown_kind_is_a_usage_error(tmp_path, capsys):
    assert run(["plugin", "new", "sms", "--kind", "printer", "--dir", str(tmp_path)]) == 2
    assert "invalid choice: 'printer'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_templates_ship_in_the_wheel_and_the_sdist(tmp_path):
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    shipped = {
        p.relative_to(TEMPLATES.parents[1]).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()
    }
    assert {"plugins/_template/common/pyproject.toml.tmpl"} <= shipped and len(shipped) >= 11
    wheel = next(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {n.removeprefix("touchpoint/") for n in z.namelist()}
    assert shipped <= in_wheel
    sdist = next(SdistBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    with tarfile.open(sdist) as t:
        in_sdist = {n.split("/src/touchpoint/", 1)[-1] for n in t.getnames()}
    assert shipped <= in_sdist


# ---------------------------------------------------------------- installed, as CI would


@pytest.fixture(scope="module")
def installed(tmp_path_factory, make_venv):
    """A throwaway venv seeing this environment's packages, with one package of each kind."""
    root = tmp_path_factory.mktemp("plugin-new")
    python = make_venv(root)
    pip = [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
    packages = {}
    for kind, (name, _) in KINDS.items():
        assert run(["plugin", "new", name, "--kind", kind, "--dir", str(root)]) == 0
        packages[kind] = root / f"touchpoint-{name}"
        subprocess.run(
            [*pip, "-q", str(packages[kind])],
            check=True,
            capture_output=True,
            text=True,
        )
    return python, packages


@pytest.mark.slow  # builds a virtual environment and pip-installs three packages
def test_generated_plugins_are_listed_through_their_entry_points(installed):
    python, packages = installed
    out = subprocess.run(
        [python, "-m", "touchpoint", "plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TOUCHPOINT_DISABLE_PLUGINS": ""},
    )
    listing = json.loads(out.stdout)
    assert listing["disabled"] == []
    found = {p["name"]: p for p in listing["plugins"] if not p["builtin"]}
    for name, registers in KINDS.values():
        assert found[name]["version"] == "0.1.0"
        assert found[name]["registers"] == registers
    # the CI step of each package, as written: `touchpoint plugins | grep -E '^NAME '`
    table = subprocess.run(
        [python, "-m", "touchpoint", "plugins"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TOUCHPOINT_DISABLE_PLUGINS": ""},
    ).stdout
    for kind, package in packages.items():
        workflow = (package / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8")
        [pattern] = re.findall(r"touchpoint plugins \| grep -E '([^']+)'", workflow)
        assert pattern == f"^{KINDS[kind][0]} "
        assert re.search(pattern, table, re.M), table


@pytest.mark.slow  # runs each generated package's test suite in the throwaway environment
@pytest.mark.parametrize("kind", list(KINDS))
def test_generated_plugin_passes_its_own_contract_tests(installed, kind):
    python, packages = installed
    out = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=packages[kind],
        env={**os.environ, "TOUCHPOINT_DISABLE_PLUGINS": ""},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = out.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"{EXPECTED_PASSED[kind]} passed"), summary
    assert "skipped" not in summary and "failed" not in summary
