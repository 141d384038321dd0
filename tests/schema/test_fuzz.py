"""The loader fed random bytes and randomly mutated valid files raises only `BlueprintError`.

Never another exception, never a hang (each test has a timeout).
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from touchpoint.errors import BlueprintError
from touchpoint.model import Blueprint
from touchpoint.schema import blueprint_from_dict, blueprint_to_dict, loads_blueprint

from .strategies import blueprints

DATA = Path(__file__).parent / "data"
VALID_TOML = (DATA / "full.toml").read_bytes()
VALID_DATA = tomllib.loads(VALID_TOML.decode("utf-8"))
VALID_JSON = json.dumps(VALID_DATA, indent=1, ensure_ascii=False).encode("utf-8")

fuzz = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def load_or_error(text: bytes | str, fmt: str) -> Blueprint | BlueprintError:
    """Load; return the `BlueprintError` if it raises one (any other exception fails the test)."""
    try:
        return loads_blueprint(text, format=fmt, source="fuzz")
    except BlueprintError as err:
        assert err.problems, "a BlueprintError always lists at least one problem"
        assert all(isinstance(p.path, str) and p.message for p in err.problems)
        assert str(err).startswith(f"{len(err.problems)} problem")
        return err


@pytest.mark.timeout(60)
@fuzz
@given(st.binary(max_size=400), st.sampled_from(["toml", "json"]))
def test_random_bytes(data: bytes, fmt: str) -> None:
    load_or_error(data, fmt)


@pytest.mark.timeout(60)
@fuzz
@given(
    st.text(alphabet='[]{}"=,.:\n #-_ab1e+tfnul\\', max_size=200), st.sampled_from(["toml", "json"])
)
def test_random_text_made_of_syntax(text: str, fmt: str) -> None:
    load_or_error(text, fmt)


@st.composite
def byte_mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "duplicate"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete" and data:
            del data[i : i + draw(st.integers(1, 20))]
        elif op == "insert":
            data[i:i] = draw(
                st.binary(min_size=1, max_size=10)
                | st.sampled_from(
                    [b"[", b"]", b"{", b'"', b"=", b"\n", b"nan", b"1e999", b"9" * 400, b"[[" * 50]
                )
            )
        elif op == "duplicate":
            j = draw(st.integers(i, min(len(data), i + 200)))
            data[j:j] = data[i:j]
    return bytes(data)


@pytest.mark.timeout(90)
@fuzz
@given(byte_mutations(VALID_TOML))
def test_mutated_toml_file(data: bytes) -> None:
    load_or_error(data, "toml")


@pytest.mark.timeout(90)
@fuzz
@given(byte_mutations(VALID_JSON))
def test_mutated_json_file(data: bytes) -> None:
    load_or_error(data, "json")


def leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Locations (key or index tuples) of every value in parsed data, containers included."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            found += leaf_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += leaf_paths(v, (*prefix, i))
    return found


def render(location: tuple) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


#: Keys whose value may be null (JSON) as well as left out.
NULLABLE = {
    "process",
    "scale",
    "within",
    "comparison",
    "occurrences",
    "points_expire",
    "max_value",
    "max_days",
    "matrix",
    "loyalty",
    "promise_policy",
}

#: Values of the wrong type for each type of value in a valid file.
WRONG = {
    str: [123, 4.5, True, ["x"], {"a": 1}, None, deep_list(3000)],
    float: ["12", True, [1], {"a": 1}, None, float("nan"), float("inf")],
    int: ["12", True, [1], {"a": 1}, None, float("nan")],
    bool: ["true", 1, [True], None],
    list: [5, "store", {"a": 1}, None, True],
    dict: [5, "x", [1, 2], True],
}


@pytest.mark.timeout(120)
@settings(max_examples=250, deadline=None)
@given(st.data())
def test_values_replaced_with_wrong_types(data: st.DataObject) -> None:
    """Replacing any value by one of the wrong type is reported at exactly that path."""
    raw = copy.deepcopy(VALID_DATA)
    location = data.draw(st.sampled_from(leaf_paths(raw)))
    *parent_loc, last = location
    parent = raw
    for part in parent_loc:
        parent = parent[part]
    original = parent[last]
    kind = next(t for t in (bool, int, float, str, list, dict) if isinstance(original, t))
    if location == ("format",):
        kind = int
    replacement = data.draw(st.sampled_from(WRONG[kind]))
    # JSON null is "not set" for optional keys
    assume(not (replacement is None and last in NULLABLE))
    parent[last] = replacement
    with pytest.raises(BlueprintError) as info:
        blueprint_from_dict(raw, source="mutated")
    paths = [p.path for p in info.value.problems]
    where = render(location)
    assert any(
        p == where or p.startswith(where + ".") or p.startswith(where + "[") for p in paths
    ), (
        where,
        paths,
    )


@pytest.mark.timeout(120)
@settings(max_examples=80, deadline=None)
@given(blueprints(max_touchpoints=4), st.data())
def test_generated_blueprints_with_a_junk_value_anywhere(
    bp: Blueprint, data: st.DataObject
) -> None:
    """Any value of a valid blueprint's data replaced by junk: a Blueprint or a BlueprintError."""
    raw = blueprint_to_dict(bp)
    location = data.draw(st.sampled_from(leaf_paths(raw)))
    *parent_loc, last = location
    parent = raw
    for part in parent_loc:
        parent = parent[part]
    parent[last] = data.draw(
        st.sampled_from([*WRONG[str], *WRONG[list], "", " ", "-1 days", -1, 0, 10**30, -1e308])
    )
    try:
        blueprint_from_dict(raw)
    except BlueprintError as err:
        assert err.problems
    # and added junk keys are always reported
    raw2 = blueprint_to_dict(bp)
    raw2["touchpoints"][0]["junk"] = deep_list(50)
    with pytest.raises(BlueprintError) as info:
        blueprint_from_dict(raw2)
    assert [p.path for p in info.value.problems] == ["touchpoints[0].junk"]
