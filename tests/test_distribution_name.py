"""The package installs as ``touchpoint-ctm`` and every install hint says so.

``touchpoint`` on PyPI is an unrelated project: a hint saying ``pip install touchpoint``
or ``'touchpoint[extra]'`` would install it. The import name stays ``touchpoint``.
"""

import re
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from touchpoint._extras import require
from touchpoint.errors import MissingExtraError

ROOT = Path(__file__).parents[1]
NAME = "touchpoint-ctm"


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel hatchling builds from this tree (as ``pip wheel`` and ``python -m build`` do)."""
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("wheel")
    path = next(WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"]))
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        yield Path(path).name, names, Parser().parsestr(z.read(metadata).decode())


def test_the_distribution_is_named_touchpoint_ctm(pyproject, wheel):
    assert pyproject["project"]["name"] == NAME
    filename, names, metadata = wheel
    assert filename.startswith("touchpoint_ctm-")
    assert metadata["Name"] == NAME
    # the import name is unchanged
    assert "touchpoint/__init__.py" in names


def test_the_extras_refer_to_this_distribution(pyproject, wheel):
    extras = pyproject["project"]["optional-dependencies"]
    selves = [r for rs in extras.values() for r in rs if re.match(r"touchpoint\b", r)]
    assert selves and all(r.startswith(f"{NAME}[") for r in selves), selves
    assert extras["plots"] == ["matplotlib>=3.8"]
    # hatchling expands references to the project itself: the test extra brings matplotlib
    _, _, metadata = wheel
    requires = metadata.get_all("Requires-Dist")
    assert "matplotlib>=3.8; extra == 'test'" in requires
    assert not any(r.startswith("touchpoint") for r in requires)


def test_the_wheel_carries_the_data_the_datasets_read(wheel):
    _, names, _ = wheel
    for file in ("CDNOW_master.txt.gz", "CDNOW_sample_ids.txt", "README.md"):
        assert f"touchpoint/datasets/data/{file}" in names
    assert any(n.startswith("touchpoint/templates/data/") for n in names)


def test_a_missing_extra_says_to_install_it_from_this_distribution():
    with pytest.raises(MissingExtraError) as info:
        require("surely_not_installed_module", extra="plots", feature="touchpoint.plot")
    assert f"pip install '{NAME}[plots]'" in str(info.value)


def _hints():
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "src").rglob("*.py"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "pip install" in line:
                yield f"{path.relative_to(ROOT)}:{number}", line


def test_no_install_hint_names_the_other_projects_distribution():
    wrong = re.compile(r"""pip install\s+["']?touchpoint(?![-\w])""")
    found = [where for where, line in _hints() if wrong.search(line)]
    assert found == []
    assert any(NAME in line for _, line in _hints())
