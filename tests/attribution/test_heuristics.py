"""Rule-based models against hand-worked journeys and a plain Python reference."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.attribution import MODELS, heuristic
from touchpoint.errors import ValidationError

PATHS = [["ad", "email", "web", "store"], ["email", "store"], ["ad"], ["web", "ad"]]
CONVERTED = [1, 1, 1, 0]


def credit(result):
    return dict(zip(result["touchpoint"], result["conversions"].round(10).tolist(), strict=True))


def test_hand_worked_journeys(to_rows):
    data = to_rows(PATHS, CONVERTED)
    assert credit(heuristic(data, model="first_touch")) == {
        "ad": 2.0,
        "email": 1.0,
        "store": 0.0,
        "web": 0.0,
    }
    assert credit(heuristic(data, model="last_touch")) == {
        "ad": 1.0,
        "email": 0.0,
        "store": 2.0,
        "web": 0.0,
    }
    # linear: 1/4 each on the first journey, 1/2 each on the second, all to ad on the third
    assert credit(heuristic(data, model="linear")) == {
        "ad": 1.25,
        "email": 0.75,
        "store": 0.75,
        "web": 0.25,
    }
    # position-based 40/20/40: first journey ad .4, email .1, web .1, store .4; second .5/.5
    assert credit(heuristic(data, model="position_based")) == {
        "ad": 1.4,
        "email": 0.6,
        "store": 0.9,
        "web": 0.1,
    }
    # time decay, half-life 1 day: touches 3, 2, 1, 0 days before the last weigh 1/8, 1/4, 1/2, 1
    w = np.array([1 / 8, 1 / 4, 1 / 2, 1]) / (15 / 8)
    w2 = np.array([1 / 2, 1]) / 1.5
    expected = {"ad": w[0] + 1, "email": w[1] + w2[0], "store": w[3] + w2[1], "web": w[2]}
    got = credit(heuristic(data, model="time_decay", half_life=1.0))
    assert got == pytest.approx(expected)
    assert credit(
        heuristic(data, model="time_decay", half_life=np.timedelta64(24, "h"))
    ) == pytest.approx(expected)


def reference(paths, converted, model):
    out = {}
    for path, conv in zip(paths, converted, strict=True):
        if not conv:
            continue
        n = len(path)
        if model == "first_touch":
            w = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            w = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            w = [1 / n] * n
        elif model == "time_decay":  # one day apart, half-life 7 days
            raw = [2 ** (-(n - 1 - k) / 7) for k in range(n)]
            w = [x / sum(raw) for x in raw]
        else:
            w = (
                [1.0]
                if n == 1
                else [0.5, 0.5]
                if n == 2
                else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
            )
        for unit, x in zip(path, w, strict=True):
            out[unit] = out.get(unit, 0.0) + x
    return out


@given(
    js=st.lists(
        st.tuples(st.lists(st.sampled_from("abcd"), min_size=1, max_size=7), st.booleans()),
        min_size=1,
        max_size=30,
    ).filter(lambda js: any(c for _, c in js)),
    model=st.sampled_from(MODELS),
)
def test_matches_a_plain_python_reference(js, model, to_rows):
    paths, conv = [p for p, _ in js], [c for _, c in js]
    got = credit(heuristic(to_rows(paths, conv, shuffle_seed=0), model=model))
    expected = reference(paths, conv, model)
    for unit, value in got.items():
        assert value == pytest.approx(expected.get(unit, 0.0), abs=1e-9)
    assert sum(got.values()) == pytest.approx(sum(conv))


def test_position_based_weights_are_configurable(to_rows):
    data = to_rows([["a", "b", "c"], ["a", "c"]], [1, 1])
    got = credit(heuristic(data, model="position_based", first=0.3, last=0.5))
    assert got == pytest.approx({"a": 0.3 + 0.375, "b": 0.2, "c": 0.5 + 0.625})
    with pytest.raises(ValidationError, match="first"):
        heuristic(data, model="position_based", first=0.7, last=0.5)


def test_degenerate_input(to_rows):
    with pytest.raises(ValidationError, match="no journey converted"):
        heuristic(to_rows([["a", "b"]], [0]))
    with pytest.raises(ValidationError, match="model"):
        heuristic(to_rows([["a"]], [1]), model="u_shaped")
    single = heuristic(to_rows([["a"], ["a", "a"]], [1, 1]), model="linear")
    assert credit(single) == {"a": 2.0}
