"""The files a packager and a contributor look for are there and agree with pyproject.toml."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_licence_file_is_the_licence_pyproject_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "MIT" and text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} touchpoint developers$", text, re.MULTILINE)
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_the_changelog_has_an_unreleased_section_first():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE)
    assert versions[0] == "Unreleased"
    assert len(versions) == len(set(versions))


def test_contributing_documents_the_quick_loop_and_what_to_add_how():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert 'pytest -m "not slow"' in text
    for section in ("## Set up", "## Run the tests", "## Add a score", "## Add a plugin"):
        assert section in text


def test_test_modules_outside_packages_have_unique_names():
    """pytest imports a test file outside a package by its bare name: two of one name
    abort the whole run at collection (tests/clv and tests/experiments once both had
    test_holdout.py), which only shows when the full suite runs."""
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if (path.parent / "__init__.py").exists():
            continue  # imported as package.module: names may repeat
        other = seen.setdefault(path.name, path)
        assert other == path, f"{path.relative_to(ROOT)} and {other.relative_to(ROOT)}"
