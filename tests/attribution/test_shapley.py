"""Shapley values against brute force over all orders of the units."""

from itertools import permutations
from math import factorial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.attribution import journeys, shapley
from touchpoint.attribution.parts import shapley_values
from touchpoint.errors import ValidationError


def brute_force(paths, converted, value):
    sets = [frozenset(p) for p in paths]
    units = sorted(set().union(*sets))

    def worth(coalition):
        if value == "conversions":
            return sum(c for s, c in zip(sets, converted, strict=True) if s <= coalition)
        group = [c for s, c in zip(sets, converted, strict=True) if s == coalition]
        return sum(group) / len(group) if group else 0.0

    phi = dict.fromkeys(units, 0.0)
    for order in permutations(units):  # the definition: average over all orders
        coalition = frozenset()
        for u in order:
            phi[u] += worth(coalition | {u}) - worth(coalition)
            coalition = coalition | {u}
    return units, np.array([phi[u] / factorial(len(units)) for u in units])


journeys_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from("abcde"), min_size=1, max_size=5), st.booleans()),
    min_size=1,
    max_size=25,
).filter(lambda js: any(c for _, c in js))


@given(js=journeys_strategy, value=st.sampled_from(["conversions", "rate"]))
@settings(max_examples=40)
def test_exact_values_match_brute_force(js, value, to_rows):
    paths, conv = [p for p, _ in js], [c for _, c in js]
    got = shapley(to_rows(paths, conv), value=value)
    units, expected = brute_force(paths, conv, value)
    assert list(got["touchpoint"]) == units
    np.testing.assert_allclose(got["shapley_value"], expected, atol=1e-12)


def test_efficiency_values_sum_to_the_grand_coalition(to_rows):
    rng = np.random.default_rng(0)
    units = list("abcdefghij")
    paths = [list(rng.choice(units, rng.integers(1, 5))) for _ in range(300)]
    conv = rng.random(300) < 0.4
    j = journeys(to_rows(paths, conv), until="conversion")
    phi, _ = shapley_values(j, value="conversions")
    assert phi.sum() == pytest.approx(conv.sum())
    phi, _ = shapley_values(j, value="rate")
    grand = [c for p, c in zip(paths, conv, strict=True) if set(p) == set(units)]
    assert phi.sum() == pytest.approx(np.mean(grand) if grand else 0.0)


def test_sampling_beyond_the_exact_limit_estimates_the_exact_value(to_rows):
    rng = np.random.default_rng(1)
    units = [f"u{i}" for i in range(9)]
    paths = [list(rng.choice(units, rng.integers(1, 4), replace=False)) for _ in range(400)]
    conv = rng.random(400) < 0.5
    j = journeys(to_rows(paths, conv), until="conversion")
    exact, _ = shapley_values(j, value="rate", exact_limit=15)
    sampled, se = shapley_values(j, value="rate", exact_limit=5, n_permutations=4000, seed=3)
    assert se is not None and np.all(se > 0)
    assert np.all(np.abs(sampled - exact) < 4 * se + 1e-12)
    result = shapley(j, value="rate", exact_limit=5, n_permutations=500)
    assert "standard_error" in result


def test_degenerate_input(to_rows):
    with pytest.raises(ValidationError, match="no journey converted"):
        shapley(to_rows([["a", "b"]], [0]))
    with pytest.raises(ValidationError, match="value"):
        shapley(to_rows([["a"]], [1]), value="revenue")
    many = [[f"u{i}"] for i in range(63)]
    with pytest.raises(ValidationError, match="at most 62"):
        shapley(to_rows(many, [1] * 63))
    single = shapley(to_rows([["a"], ["a", "a"]], [1, 0]))
    assert single["conversions"].tolist() == [1.0]
