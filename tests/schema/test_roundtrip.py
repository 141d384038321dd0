"""Save then load gives back an equal blueprint: built-in templates and generated ones."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings

from touchpoint import templates
from touchpoint.model import Blueprint, Provenance
from touchpoint.schema import (
    blueprint_from_dict,
    blueprint_to_dict,
    dump_blueprint,
    load_blueprint,
    loads_blueprint,
    save_blueprint,
)

from .strategies import blueprints

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", templates.names())
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_every_template_round_trips(name: str, fmt: str) -> None:
    bp = templates.load(name)
    again = loads_blueprint(dump_blueprint(bp, format=fmt), format=fmt)
    assert again == bp
    assert isinstance(again, Blueprint)


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_fixture_round_trips_through_files(tmp_path: Path, fmt: str) -> None:
    bp = load_blueprint(DATA / "full.toml")
    target = tmp_path / f"shop.{fmt}"
    save_blueprint(bp, target)
    assert load_blueprint(target) == bp
    # the saved file is valid TOML / JSON a person (or another tool) can read
    text = target.read_text(encoding="utf-8")
    data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    assert data["name"] == "corner-shop"
    assert data["format"] == 1


def test_loaded_fixture_has_what_the_file_says() -> None:
    """Field by field against the fixture file, read independently with tomllib."""
    raw = tomllib.loads((DATA / "full.toml").read_text(encoding="utf-8"))
    bp = load_blueprint(DATA / "full.toml")
    assert bp.name == raw["name"] and bp.title == raw["title"] and bp.currency == "EUR"
    assert [s.value for s in bp.stages] == raw["stages"]
    assert [tp.code for tp in bp.touchpoints] == [t["code"] for t in raw["touchpoints"]]
    a102 = bp.touchpoint("A102")
    assert a102.key and a102.weight == 2.0 and a102.process == "102"
    assert a102.indicator("wait").target_seconds == 5 * 60
    assert a102.indicator("smile").comparison.value == "=="  # the checklist default
    letter = bp.touchpoint("LETTER").indicator("three-calls")
    assert letter.counts == ("CALL",) and letter.within.days == 14
    assert bp.matrix is not None and bp.matrix.columns == (
        ("store", "A"),
        ("phone", "B"),
        ("website", "C"),
    )
    assert bp.mcp().blind_spots == [("101", "store"), ("101", "phone"), ("101", "website")]
    assert bp.loyalty is not None and bp.loyalty.tier_for(600).name == "gold"
    assert str(bp.loyalty.points_expire) == "24 months"
    thanks = bp.care_rule("thanks")
    assert str(thanks.offset) == "3 days" and thanks.follow_ups[0].channel == "phone"
    assert bp.care_rule("birthday").recurrence.value == "yearly"
    assert bp.promise_policy is not None and bp.promise_policy.max_days == 14
    assert bp.channel("wechat").label == "WeChat"


def test_json_and_toml_files_with_the_same_content_load_equal() -> None:
    raw = tomllib.loads((DATA / "full.toml").read_text(encoding="utf-8"))
    assert loads_blueprint(json.dumps(raw), format="json") == load_blueprint(DATA / "full.toml")


def test_dict_is_json_compatible_and_leaves_out_uninformative_defaults() -> None:
    bp = load_blueprint(DATA / "full.toml")
    data = blueprint_to_dict(bp)
    assert json.loads(json.dumps(data)) == data
    ad = data["touchpoints"][0]
    assert "key" not in ad and "weight" not in ad and "indicators" not in ad
    assert data["touchpoints"][1]["key"] is True


@settings(max_examples=60)
@given(blueprints())
def test_generated_blueprints_round_trip(bp: Blueprint) -> None:
    assert blueprint_from_dict(blueprint_to_dict(bp)) == bp
    for fmt in ("toml", "json"):
        assert loads_blueprint(dump_blueprint(bp, format=fmt), format=fmt) == bp


@settings(max_examples=30)
@given(blueprints())
def test_dump_is_stable(bp: Blueprint) -> None:
    """Once saved and loaded, saving again gives the same text: nothing drifts on each save."""
    for fmt in ("toml", "json"):
        text = dump_blueprint(
            loads_blueprint(dump_blueprint(bp, format=fmt), format=fmt), format=fmt
        )
        assert dump_blueprint(loads_blueprint(text, format=fmt), format=fmt) == text


SOURCED = """
name = "shop"
stages = ["transaction"]

[[touchpoints]]
code = "T1"
name = "Checkout"
category = "channel"
stage = "transaction"
line = "service"
channels = ["store"]
key = true

  [[touchpoints.indicators]]
  code = "wait"
  name = "Served within 5 minutes"
  kind = "time_limit"
  target = 5
  unit = "minutes"
  source = "example"
  source_note = "the material says promptly (及时), no number"

  [[touchpoints.indicators]]
  code = "smile"
  name = "Greets with a smile"
  kind = "checklist"
  source = "material"
  source_note = "服务热情度: 是否面带微笑"

  [[touchpoints.indicators]]
  code = "tidy"
  name = "Counter is tidy"
  kind = "checklist"

[loyalty]
source = "example"
source_note = "made-up tiers"

  [[loyalty.tiers]]
  name = "member"
  threshold = 0

[[care_rules]]
code = "thanks"
name = "Thanks"
touchpoint = "T1"
anchor = "purchase"
offset = "3 days"
channels = ["sms"]
source = "material"
source_note = "回访: 及时"

[promise_policy]
max_value = 50
source = "example"
"""


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_source_marks_survive_a_save_and_a_load(fmt: str) -> None:
    """Read field by field against the text above, then through a file of either format."""
    bp = loads_blueprint(SOURCED)
    tp = bp.touchpoint("T1")
    assert tp.indicator("wait").source is Provenance.EXAMPLE
    assert tp.indicator("wait").source_note == "the material says promptly (及时), no number"
    assert tp.indicator("smile").source is Provenance.MATERIAL
    assert tp.indicator("tidy").source is Provenance.OWN and tp.indicator("tidy").source_note == ""
    assert bp.loyalty.source is Provenance.EXAMPLE and bp.loyalty.source_note == "made-up tiers"
    assert bp.care_rule("thanks").source is Provenance.MATERIAL
    assert bp.promise_policy.source is Provenance.EXAMPLE
    assert loads_blueprint(dump_blueprint(bp, format=fmt), format=fmt) == bp


def test_a_users_own_standards_are_not_marked_and_not_written() -> None:
    """The default is 'own': nothing claimed, and a saved file does not mention it."""
    bp = load_blueprint(DATA / "full.toml")  # a user's blueprint without any source key
    records = [i for _, i in bp.indicators()] + [*bp.care_rules, bp.loyalty, bp.promise_policy]
    assert all(r.source is Provenance.OWN and r.source_note == "" for r in records)
    assert "source" not in dump_blueprint(bp, format="json")
    data = blueprint_to_dict(loads_blueprint(SOURCED))
    indicators = data["touchpoints"][0]["indicators"]
    assert [i.get("source") for i in indicators] == ["example", "material", None]
    assert "source_note" not in indicators[2]
