"""Every problem of a file at once, each with its path inside the file and the bad value."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from touchpoint.errors import BlueprintError, TouchpointError
from touchpoint.schema import blueprint_from_dict, load_blueprint, loads_blueprint

DATA = Path(__file__).parent / "data"

#: The eight mistakes of data/mistakes.toml, written down by reading the file.
EXPECTED = {
    ("currency", 978),
    ("touchpoints[0].channels[1]", "carrier-pigeon"),
    ("touchpoints[0].weight", -1),
    ("touchpoints[1].colour", "blue"),
    ("touchpoints[1].indicators[0].unit", "fortnights"),
    ("touchpoints[1].indicators[1].target", "high"),
    ("touchpoints[2].code", "AD-01"),
    ("care_rules[0].touchpoint", "T-THANKS"),
}


def problems_of(call, *args, **kwargs) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        call(*args, **kwargs)
    return info.value


def test_a_file_with_several_mistakes_reports_all_of_them() -> None:
    err = problems_of(load_blueprint, DATA / "mistakes.toml")
    assert {(p.path, p.value) for p in err.problems} == EXPECTED
    assert len(err.problems) == len(EXPECTED)
    text = str(err)
    assert text.startswith(f"8 problems in {DATA / 'mistakes.toml'}:")
    for path, value in EXPECTED:
        assert f"{path}: " in text and repr(value).strip("'") in text


def test_the_same_mistakes_in_json_are_reported_the_same() -> None:
    raw = tomllib.loads((DATA / "mistakes.toml").read_text(encoding="utf-8"))
    err = problems_of(loads_blueprint, json.dumps(raw), format="json", source="mistakes.json")
    assert {(p.path, p.value) for p in err.problems} == EXPECTED
    assert err.source == "mistakes.json"


def test_messages_say_what_is_wrong() -> None:
    err = problems_of(load_blueprint, DATA / "mistakes.toml")
    by_path = {p.path: p.message for p in err.problems}
    assert by_path["currency"] == "must be text"
    assert "unknown channel" in by_path["touchpoints[0].channels[1]"]
    assert "must be >= 0" in by_path["touchpoints[0].weight"]
    assert by_path["touchpoints[1].colour"].startswith("unknown key")
    assert "weight" in by_path["touchpoints[1].colour"]  # the allowed keys are listed
    assert "seconds, minutes, hours, days, weeks" in by_path["touchpoints[1].indicators[0].unit"]
    assert by_path["touchpoints[1].indicators[1].target"] == "must be a number"
    assert "duplicate" in by_path["touchpoints[2].code"]
    assert "unknown touchpoint" in by_path["care_rules[0].touchpoint"]


def test_it_is_a_touchpoint_error_and_a_value_error() -> None:
    err = problems_of(load_blueprint, DATA / "mistakes.toml")
    assert isinstance(err, TouchpointError) and isinstance(err, ValueError)


def minimal(**changes) -> dict:
    data = {
        "name": "mini",
        "stages": ["transaction"],
        "touchpoints": [
            {
                "code": "T1",
                "name": "Checkout",
                "category": "channel",
                "stage": "transaction",
                "line": "service",
                "channels": ["store"],
            },
        ],
    }
    data.update(changes)
    return data


def tp(code: str, **fields) -> dict:
    base = {
        "code": code,
        "name": code,
        "category": "people",
        "stage": "transaction",
        "line": "service",
        "channels": ["store"],
    }
    return {**base, **fields}


def test_no_follow_on_problems_from_a_record_that_failed() -> None:
    """A touchpoint with a bad category fails; a rule that refers to it is not also blamed."""
    data = minimal(
        touchpoints=[tp("T1"), tp("T2", category="people-ish")],
        care_rules=[
            {
                "code": "r",
                "name": "R",
                "touchpoint": "T2",
                "anchor": "purchase",
                "channels": ["phone"],
            }
        ],
    )
    err = problems_of(blueprint_from_dict, data)
    assert [(p.path, p.value) for p in err.problems] == [("touchpoints[1].category", "people-ish")]


def test_a_failed_channel_is_not_also_an_unknown_channel() -> None:
    data = minimal(
        channels=[{"name": "wechat", "approach": "telepathy"}],
        touchpoints=[tp("T1", channels=["wechat"])],
    )
    err = problems_of(blueprint_from_dict, data)
    assert [p.path for p in err.problems] == ["channels[0].approach"]


def test_key_touchpoint_whose_indicator_failed_is_not_also_without_indicators() -> None:
    data = minimal(
        touchpoints=[
            tp(
                "T1",
                key=True,
                indicators=[
                    {"code": "w", "name": "W", "kind": "time_limit", "target": 5, "unit": "years"}
                ],
            )
        ]
    )
    err = problems_of(blueprint_from_dict, data)
    assert [p.path for p in err.problems] == ["touchpoints[0].indicators[0].unit"]


def test_key_touchpoint_without_indicator_is_reported() -> None:
    err = problems_of(blueprint_from_dict, minimal(touchpoints=[tp("T1", key=True)]))
    assert [p.path for p in err.problems] == ["touchpoints[0].indicators"]
    assert "key touchpoints need at least one control indicator" in err.problems[0].message


def test_paths_keep_the_file_indices_when_earlier_records_failed() -> None:
    """Records 0 and 2 fail; the duplicate of 1 at index 3 is still called touchpoints[3]."""
    data = minimal(touchpoints=[tp("T0", stage="nowhere"), tp("T1"), tp("T2", line=7), tp("T1")])
    err = problems_of(blueprint_from_dict, data)
    assert [(p.path, p.value) for p in err.problems] == [
        ("touchpoints[0].stage", "nowhere"),
        ("touchpoints[2].line", 7),
        ("touchpoints[3].code", "T1"),
    ]


def test_a_record_with_a_bad_optional_field_is_still_checked_against_the_rest() -> None:
    """weight is wrong, and so is a channel: both are reported."""
    data = minimal(touchpoints=[tp("T1", weight=-3, channels=["store", "nowhere"])])
    err = problems_of(blueprint_from_dict, data)
    assert {(p.path, p.value) for p in err.problems} == {
        ("touchpoints[0].weight", -3),
        ("touchpoints[0].channels[1]", "nowhere"),
    }


def test_stage_without_touchpoint_and_bad_cross_references() -> None:
    data = minimal(
        stages=["awareness", "transaction"],
        touchpoints=[
            tp(
                "T1",
                process="999",
                indicators=[
                    {
                        "code": "c",
                        "name": "C",
                        "kind": "count",
                        "within": "7 days",
                        "counts": ["NOPE"],
                    }
                ],
            )
        ],
        loyalty={"tiers": [{"name": "member", "threshold": 0}]},
        care_rules=[
            {
                "code": "r",
                "name": "R",
                "touchpoint": "T1",
                "anchor": "purchase",
                "channels": ["phone"],
                "tiers": ["gold"],
            }
        ],
    )
    err = problems_of(blueprint_from_dict, data)
    assert {(p.path, p.value) for p in err.problems} == {
        ("stages[0]", "awareness"),
        ("touchpoints[0].process", "999"),
        ("touchpoints[0].indicators[0].counts[0]", "NOPE"),
        ("care_rules[0].tiers[0]", "gold"),
    }


def test_missing_required_keys_are_named() -> None:
    data = minimal(touchpoints=[{"code": "T1", "name": "Checkout"}])
    del data["name"]
    err = problems_of(blueprint_from_dict, data)
    assert {p.path for p in err.problems} == {
        "name",
        "touchpoints[0].category",
        "touchpoints[0].stage",
        "touchpoints[0].line",
        "touchpoints[0].channels",
    }
    assert all(p.message == "is required" and not p.has_value for p in err.problems)


def test_loyalty_problems_are_rooted_under_loyalty() -> None:
    data = minimal(
        loyalty={
            "window": "0 months",
            "tiers": [
                {"name": "member", "threshold": 10},
                {"name": "gold", "threshold": 5, "discount": 1.5},
            ],
        }
    )
    err = problems_of(blueprint_from_dict, data)
    assert {(p.path, p.value) for p in err.problems} == {
        ("loyalty.tiers[1].discount", 1.5),
        ("loyalty.window", "0 months"),
        ("loyalty.tiers[0].threshold", 10),  # the first tier starts at 0
        ("loyalty.tiers[1].threshold", 5),  # thresholds increase tier by tier
    }


def test_bad_durations_name_the_field() -> None:
    data = minimal(
        touchpoints=[
            tp(
                "T1",
                indicators=[{"code": "c", "name": "C", "kind": "count", "within": "a fortnight"}],
            )
        ]
    )
    err = problems_of(blueprint_from_dict, data)
    assert [(p.path, p.value) for p in err.problems] == [
        ("touchpoints[0].indicators[0].within", "a fortnight")
    ]
    assert "'7 days'" in err.problems[0].message


def test_personal_values_in_unknown_keys_are_masked() -> None:
    data = minimal(touchpoints=[tp("T1", email="zhang.wei@example.com", phone="+86 138 0013 8000")])
    err = problems_of(blueprint_from_dict, data)
    assert {(p.path, p.value) for p in err.problems} == {
        ("touchpoints[0].email", "z***@e***.com"),
        ("touchpoints[0].phone", "***00"),
    }
    assert "zhang" not in str(err) and "0013" not in str(err)


def test_names_of_records_are_labels_and_not_masked() -> None:
    err = problems_of(blueprint_from_dict, minimal(name="not a code"))
    assert [(p.path, p.value) for p in err.problems] == [("name", "not a code")]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('name = "x"\ntitle = \n', "line 2, column 9"),
        ('name = "x"\n[[touchpoints]]\ncode = "a"\ncode = "b"\n', "line 4"),
        ('name = "x"\nstages = ["awareness",', "end of the text"),
    ],
)
def test_toml_syntax_errors_give_line_and_column(text: str, where: str) -> None:
    err = problems_of(loads_blueprint, text, source="shop.toml")
    assert len(err.problems) == 1 and where in err.problems[0].message
    assert str(err).startswith("1 problem in shop.toml:")


def test_json_syntax_errors_give_line_and_column() -> None:
    err = problems_of(loads_blueprint, '{\n  "name": "x",\n  "title" "y"\n}', format="json")
    assert "invalid JSON at line 3, column 11" in err.problems[0].message


def test_duplicate_json_keys_are_an_error() -> None:
    err = problems_of(loads_blueprint, '{"name": "a", "name": "b"}', format="json")
    assert err.problems[0].value == "name" and "twice" in err.problems[0].message


def test_bytes_that_are_not_utf8() -> None:
    err = problems_of(loads_blueprint, b'name = "caf\xe9"\n', source="latin1.toml")
    assert "not UTF-8" in err.problems[0].message and "line 1, column 12" in err.problems[0].message


def test_utf8_with_bom_is_read() -> None:
    text = (
        '\ufeffname = "mini"\nstages = ["transaction"]\n[[touchpoints]]\ncode = "T1"\n'
        'name = "收银"\ncategory = "channel"\nstage = "transaction"\nline = "service"\n'
        'channels = ["store"]\n'
    )
    assert loads_blueprint(text.encode("utf-8")).touchpoint("T1").name == "收银"


@pytest.mark.parametrize("text", ["[1, 2]", '"blueprint"', "3", "null"])
def test_json_top_level_must_be_an_object(text: str) -> None:
    err = problems_of(loads_blueprint, text, format="json")
    assert err.problems[0].path == "" and "table of keys and values" in err.problems[0].message


@pytest.mark.parametrize(
    ("fragment", "path"),
    [
        ("weight = nan", "touchpoints[0].weight"),
        ("weight = inf", "touchpoints[0].weight"),
        ("weight = 1e400", "touchpoints[0].weight"),
        ("key = 1", "touchpoints[0].key"),
        ('channels = "store"', "touchpoints[0].channels"),
        ("description = 1979-05-27", "touchpoints[0].description"),
    ],
)
def test_wrong_numbers_and_types_in_toml(fragment: str, path: str) -> None:
    text = (
        'name = "m"\nstages = ["transaction"]\n[[touchpoints]]\ncode = "T1"\nname = "T"\n'
        'category = "channel"\nstage = "transaction"\nline = "service"\n'
    )
    if not fragment.startswith("channels"):
        text += 'channels = ["store"]\n'
    err = problems_of(loads_blueprint, text + fragment + "\n")
    assert [p.path for p in err.problems] == [path]


def test_huge_numbers_are_errors_not_crashes() -> None:
    digits = "9" * 5000
    for text, fmt in ((f"name = {digits}", "toml"), (f'{{"name": {digits}}}', "json")):
        err = problems_of(loads_blueprint, text, format=fmt)
        assert err.problems[0].path == ""
    err = problems_of(blueprint_from_dict, minimal(title=10**300))
    assert err.problems[0].path == "title" and "digits" in repr(err.problems[0].value)
    count = {"code": "c", "name": "C", "kind": "count", "within": "9999999999999 days"}
    err = problems_of(blueprint_from_dict, minimal(touchpoints=[tp("T1", indicators=[count])]))
    assert [p.path for p in err.problems] == ["touchpoints[0].indicators[0].within"]


def test_deeply_nested_junk_is_an_error_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    problems_of(loads_blueprint, '{"name": ' + deep + "}", format="json")
    problems_of(loads_blueprint, "name = " + deep, format="toml")
    nested: list = []
    for _ in range(10_000):
        nested = [nested]
    err = problems_of(blueprint_from_dict, minimal(description=nested))
    assert err.problems[0].path == "description"
    assert len(str(err)) < 500  # the value is summarised, not printed in full


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    err = problems_of(load_blueprint, missing)
    assert err.source == str(missing) and "cannot be read" in err.problems[0].message
    wrong = tmp_path / "bp.yaml"
    wrong.write_text("name: x")
    err = problems_of(load_blueprint, wrong)
    assert ".toml or .json" in err.problems[0].message and err.problems[0].value == ".yaml"


def test_format_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="format must be"):
        loads_blueprint("name = 'x'", format="yaml")  # type: ignore[arg-type]


def test_a_list_written_as_a_single_table_is_named_with_its_value() -> None:
    """``[touchpoints]`` instead of ``[[touchpoints]]`` in TOML: one problem, no follow-ons."""
    text = 'name = "x"\n[touchpoints]\ncode = "T1"\n'
    err = problems_of(loads_blueprint, text)
    assert [(p.path, p.message, p.value) for p in err.problems] == [
        ("touchpoints", "must be a list", {"code": "T1"})
    ]
    err = problems_of(blueprint_from_dict, minimal(loyalty={"tiers": {"name": "gold"}}))
    assert [(p.path, p.value) for p in err.problems] == [("loyalty.tiers", {"name": "gold"})]


def test_matrix_columns_are_named_by_their_key_in_the_file() -> None:
    data = minimal(
        touchpoints=[tp("A1", process="101")],
        matrix={
            "columns": {"store": "A", "pigeon": "B", "phone": ""},
            "processes": [{"code": "101", "name": "Transfer"}],
            "empty": [{"process": "999", "channel": "store", "reason": "-"}],
        },
    )
    err = problems_of(blueprint_from_dict, data)
    assert {(p.path, p.value) for p in err.problems} == {
        ("matrix.columns.pigeon", "pigeon"),
        ("matrix.columns.phone", ""),
        ("matrix.empty[0].process", "999"),
    }


def test_a_bad_source_names_the_allowed_ones_and_the_record_is_still_checked() -> None:
    data = {
        "name": "mini",
        "stages": ["transaction"],
        "touchpoints": [
            {
                "code": "T1",
                "name": "Checkout",
                "category": "channel",
                "stage": "transaction",
                "line": "service",
                "channels": ["store"],
                "key": True,
                "indicators": [
                    {
                        "code": "wait",
                        "name": "Served quickly",
                        "kind": "checklist",
                        "source": "guessed",
                        "counts": ["NOPE"],
                    }
                ],
            }
        ],
        "promise_policy": {"max_value": 10, "source_note": 5},
    }
    err = problems_of(blueprint_from_dict, data, source="mini.json")
    found = {p.path: (p.message, p.value) for p in err.problems}
    message, value = found["touchpoints[0].indicators[0].source"]
    assert value == "guessed" and all(w in message for w in ("own", "material", "example"))
    assert found["promise_policy.source_note"] == ("must be text", 5)
    # the indicator with the bad source still counts: its unknown counted touchpoint is
    # reported, and the key touchpoint is not said to lack an indicator
    assert "touchpoints[0].indicators[0].counts[0]" in found
    assert "touchpoints[0].indicators" not in found
