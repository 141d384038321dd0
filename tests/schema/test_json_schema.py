"""The exported JSON Schema accepts every valid blueprint file and rejects wrong shapes.

``jsonschema`` is not a dependency, so the test carries a small validator for the
keywords the schema uses (checked below: an unknown keyword fails the test).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from touchpoint import templates
from touchpoint.model import Blueprint
from touchpoint.schema import blueprint_json_schema, blueprint_to_dict

from .strategies import blueprints

DATA = Path(__file__).parent / "data"

#: Keywords the small validator understands, and annotations it may ignore.
CHECKED = {
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "$ref",
    "anyOf",
    "pattern",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minItems",
}
ANNOTATIONS = {"title", "description", "default", "examples", "$defs", "$schema"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def errors(schema: dict, value: Any, root: dict, path: str = "") -> list[str]:
    unknown = set(schema) - CHECKED - ANNOTATIONS
    assert not unknown, f"the test validator does not know {unknown} (at {path})"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return errors(root["$defs"][name], value, root, path)
    if "anyOf" in schema:
        branches = [errors(s, value, root, path) for s in schema["anyOf"]]
        if all(branches):  # report the branch of the right type, e.g. the table, not null
            typed = [
                b for b in branches if not (len(b) == 1 and b[0].startswith(f"{path}: not a "))
            ]
            return typed[0] if typed else [f"{path}: matches no alternative"]
    found = []
    if "type" in schema and not TYPES[schema["type"]](value):
        return [f"{path}: not a {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: not {schema['const']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{path}: does not match {schema['pattern']}")
    if isinstance(value, str) and len(value) > schema.get("maxLength", len(value)):
        found.append(f"{path}: longer than {schema['maxLength']} characters")
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: above maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            found.append(f"{path}: not above exclusiveMinimum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{path}: too few items")
        if "items" in schema:
            for i, item in enumerate(value):
                found += errors(schema["items"], item, root, f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                found += errors(props[key], item, root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}.{key}: not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += errors(schema["additionalProperties"], item, root, f"{path}.{key}")
    return found


SCHEMA = blueprint_json_schema()


def validate(data: Any) -> list[str]:
    return errors(SCHEMA, data, SCHEMA)


def test_schema_is_json_with_title_and_descriptions() -> None:
    schema = json.loads(json.dumps(SCHEMA))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == "touchpoint blueprint"
    for name, definition in [("", schema), *schema["$defs"].items()]:
        assert definition.get("additionalProperties") is False, name
        for field, spec in definition["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"


@pytest.mark.parametrize("name", templates.names())
def test_every_template_file_validates(name: str) -> None:
    assert validate(tomllib.loads(templates.text(name))) == []


def test_fixture_validates() -> None:
    assert validate(tomllib.loads((DATA / "full.toml").read_text(encoding="utf-8"))) == []


@settings(max_examples=60)
@given(blueprints())
def test_generated_blueprints_validate(bp: Blueprint) -> None:
    assert validate(blueprint_to_dict(bp)) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(colour="blue"), ".colour"),
        (lambda d: d.pop("name"), ".name"),
        (lambda d: d.update(format=2), ".format"),
        (lambda d: d["touchpoints"][0].update(stage="later"), ".touchpoints[0].stage"),
        (lambda d: d["touchpoints"][0].update(weight=-1), ".touchpoints[0].weight"),
        (lambda d: d["touchpoints"][0].update(code="has space"), ".touchpoints[0].code"),
        (lambda d: d["touchpoints"][0].update(channels=[]), ".touchpoints[0].channels"),
        (
            lambda d: d["touchpoints"][1]["indicators"][0].update(target="5"),
            ".touchpoints[1].indicators[0].target",
        ),
        (lambda d: d["loyalty"]["tiers"][1].update(discount=1.5), ".loyalty.tiers[1].discount"),
        (lambda d: d["care_rules"][0].update(offset="soon"), ".care_rules[0].offset"),
        (lambda d: d["matrix"].update(columns={"store": 1}), ".matrix.columns.store"),
        (
            lambda d: d["touchpoints"][1]["indicators"][0].update(source="guessed"),
            ".touchpoints[1].indicators[0].source",
        ),
        (lambda d: d["care_rules"][0].update(source_note=3), ".care_rules[0].source_note"),
        (lambda d: d["promise_policy"].update(source="material?"), ".promise_policy.source"),
    ],
)
def test_schema_rejects_what_the_loader_rejects(change, where: str) -> None:
    data = tomllib.loads((DATA / "full.toml").read_text(encoding="utf-8"))
    change(data)
    found = validate(data)
    assert found and all(f.startswith(where) for f in found), found


def test_the_schema_names_the_three_sources_wherever_a_figure_can_be_marked() -> None:
    defs = SCHEMA["$defs"]
    for model in ("IndicatorFile", "CareRuleFile", "LoyaltyFile", "PromisePolicyFile"):
        source = defs[model]["properties"]["source"]
        assert source["enum"] == ["own", "material", "example"], model
        assert source["default"] == "own"  # a user's own blueprint claims nothing more
        assert "example" in source["description"] and "material" in source["description"]
        assert defs[model]["properties"]["source_note"]["type"] == "string"
    # and nowhere else: a touchpoint's weight is always the blueprint's own ranking, and a
    # tier's figures are marked by its programme
    assert "source" not in defs["TouchpointFile"]["properties"]
    assert "source" not in defs["TierFile"]["properties"]
