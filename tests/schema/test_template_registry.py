"""The registry of built-in templates: names, files, loading, and the error for an unknown name."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import touchpoint
from touchpoint import templates
from touchpoint.errors import TouchpointError
from touchpoint.schema import blueprint_from_dict

DATA_DIR = Path(touchpoint.__file__).parent / "templates" / "data"
EXPECTED = {
    "car-dealership",
    "telecom-hall",
    "real-estate",
    "b2b-marketing",
    "budget-hotel",
    "mother-baby",
}


def test_names_are_the_files_in_the_data_folder() -> None:
    assert templates.names() == sorted(p.stem for p in DATA_DIR.glob("*.toml"))


def test_the_six_templates_of_the_source_material_exist() -> None:
    assert set(templates.names()) == EXPECTED


@pytest.mark.parametrize("name", templates.names())
def test_every_template_loads_and_matches_its_file(name: str) -> None:
    bp = templates.load(name)
    assert bp.name == name
    raw = tomllib.loads((DATA_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    assert templates.text(name) == (DATA_DIR / f"{name}.toml").read_text(encoding="utf-8")
    assert blueprint_from_dict(raw) == bp
    assert [tp.code for tp in bp] == [t["code"] for t in raw["touchpoints"]]


def test_path_reads_the_same_file() -> None:
    name = templates.names()[0]
    assert templates.path(name).read_text(encoding="utf-8") == templates.text(name)


def test_unknown_template_lists_the_available_ones() -> None:
    with pytest.raises(templates.UnknownTemplateError) as info:
        templates.load("car-dealer")
    err = info.value
    assert isinstance(err, TouchpointError) and isinstance(err, KeyError)
    message = str(err)
    assert message.startswith("no built-in template named 'car-dealer'")
    for name in templates.names():
        assert name in message
    with pytest.raises(KeyError):
        templates.text("../pyproject")
