"""The version is written in one place, and the build, the package and the CLI agree on it."""

import re
import tomllib
from pathlib import Path

import touchpoint

ROOT = Path(__file__).parents[1]


def test_pyproject_takes_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "a second copy of the version"
    assert "version" in project["project"]["dynamic"]
    path = ROOT / project["tool"]["hatch"]["version"]["path"]
    assert path == Path(touchpoint.__file__).parent / "_version.py"


def test_the_build_backend_reads_the_package_version():
    # hatchling's own metadata code, as `pip install` and `python -m build` run it
    from hatchling.metadata.core import ProjectMetadata
    from hatchling.plugin.manager import PluginManager

    assert ProjectMetadata(str(ROOT), PluginManager()).version == touchpoint.__version__


def test_the_version_is_written_nowhere_else_in_the_package():
    pattern = re.compile(re.escape(touchpoint.__version__).join([r"(?<![\w.])", r"(?![\w.])"]))
    found = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "src").rglob("*.py"))
        if p.name != "_version.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", touchpoint.__version__)
