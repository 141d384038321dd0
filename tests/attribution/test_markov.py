"""Markov removal effects against a hand-worked chain and a plain linear-algebra reference."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.attribution import journeys, markov
from touchpoint.errors import ValidationError


def reference_removal_effects(paths, converted, order=1):
    """States are tuples of the last `order` units; remove a unit by sending every
    transition into a state containing it to null; solve (I - Q) p = r each time."""
    counts = {}
    for path, conv in zip(paths, converted, strict=True):
        states = [tuple(path[max(0, i - order + 1) : i + 1]) for i in range(len(path))]
        walk = ["start", *states, "conv" if conv else "null"]
        for a, b in itertools.pairwise(walk):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    transient = [*sorted({a for a, _ in counts} - {"start"}, key=str), "start"]
    index = {s: i for i, s in enumerate(transient)}
    out_total = {}
    for (a, _), c in counts.items():
        out_total[a] = out_total.get(a, 0) + c

    def conversion(removed):
        m = len(transient)
        Q, r = np.zeros((m, m)), np.zeros(m)
        for (a, b), c in counts.items():
            prob = c / out_total[a]
            if b == "conv":
                r[index[a]] += prob
            elif b != "null" and removed not in b:
                Q[index[a], index[b]] += prob
        return np.linalg.solve(np.eye(m) - Q, r)[index["start"]]

    base = conversion(None)
    units = sorted({u for p in paths for u in p})
    return units, np.array([1 - conversion(u) / base for u in units])


def test_hand_worked_example(to_rows):
    # start -> ad 5/6, email 1/6; ad -> store 1/8, email 3/8, conv 1/8, null 3/8;
    # email -> store 1/4, ad 3/4; store -> conv. Then p(ad) = 11/23, p(email) = 14/23,
    # p(start) = 1/2. Without email p(ad) = 1/4 and p(start) = 5/24: effect 7/12.
    # Without ad p(start) = 1/6 * 1/4: effect 11/12. Without store
    # p(ad) = 1/8 + 3/8 p(email), p(email) = 3/4 p(ad): p(ad) = 4/23, p(start) = 5/6 * 4/23
    # + 1/6 * 3/23: effect 1 - (23/138) / (1/2) = 2/3.
    paths = [["ad", "store"], ["ad"], ["email", "store"]] + [["ad", "email", "ad"]] * 3
    result = markov(to_rows(paths, [1, 0, 1, 1, 0, 0]))
    assert list(result["touchpoint"]) == ["ad", "email", "store"]
    np.testing.assert_allclose(result["removal_effect"], [11 / 12, 7 / 12, 2 / 3], rtol=1e-12)
    total = 11 / 12 + 7 / 12 + 2 / 3
    np.testing.assert_allclose(
        result["conversions"], np.array([11 / 12, 7 / 12, 2 / 3]) / total * 3
    )


journeys_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from("abcde"), min_size=1, max_size=6), st.booleans()),
    min_size=1,
    max_size=40,
).filter(lambda js: any(c for _, c in js))


@given(js=journeys_strategy, order=st.sampled_from([1, 2, 3]), seed=st.integers(0, 3))
@settings(max_examples=60)
def test_matches_the_reference_for_any_order(js, order, seed, to_rows):
    paths, conv = [p for p, _ in js], [c for _, c in js]
    result = markov(to_rows(paths, conv, shuffle_seed=seed), order=order)
    units, expected = reference_removal_effects(paths, conv, order)
    assert list(result["touchpoint"]) == units
    np.testing.assert_allclose(result["removal_effect"], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result["share"].sum(), 1.0)
    np.testing.assert_allclose(result["conversions"].sum(), sum(conv))


def test_repeated_touches_do_not_change_first_order_effects(to_rows):
    paths = [["ad", "store"], ["email", "ad"], ["ad"]]
    repeated = [["ad", "ad", "store", "store"], ["email", "email", "ad"], ["ad", "ad"]]
    a = markov(to_rows(paths, [1, 1, 0]))
    b = markov(to_rows(repeated, [1, 1, 0]))
    np.testing.assert_allclose(a["removal_effect"], b["removal_effect"], rtol=1e-12)


def test_single_channel_gets_everything(to_rows):
    result = markov(to_rows([["store"], ["store", "store"], ["store"]], [1, 0, 1]))
    assert result["removal_effect"].tolist() == [1.0]
    assert result["conversions"].tolist() == [2.0]


def test_journeys_of_length_one_credit_their_only_touch(to_rows):
    result = markov(to_rows([["ad"], ["email"], ["email"], ["store"]], [1, 1, 0, 0]))
    # removing ad loses ad's converters (1 of 2 conversions), email loses 1 of 2, store none
    np.testing.assert_allclose(result["removal_effect"], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(result["conversions"], [1.0, 1.0, 0.0])


def test_no_conversions_is_an_error(to_rows):
    with pytest.raises(ValidationError, match="no journey converted"):
        markov(to_rows([["ad", "store"]], [0]))


def test_bad_order_is_an_error(to_rows):
    with pytest.raises(ValidationError, match="order"):
        markov(to_rows([["ad"]], [1]), order=0)


def test_a_journey_converts_when_any_of_its_rows_converts(to_rows):
    data = to_rows([["ad", "store", "email"]], [0])
    data["converted"][1] = True  # converted at the store, touched again afterwards
    j = journeys(data, until="customer")
    assert j.converted.tolist() == [True]
    assert markov(data)["removal_effect"].tolist() == [1.0, 1.0, 1.0]


def test_accepts_journeys_cut_at_conversions(to_rows):
    data = to_rows([["ad", "store", "email", "ad"]], [0])
    data["converted"][1] = True
    j = journeys(data, until="conversion")  # ad > store (converted), email > ad (not)
    _units, expected = reference_removal_effects([["ad", "store"], ["email", "ad"]], [1, 0])
    np.testing.assert_allclose(markov(j)["removal_effect"], expected)


def test_large_state_spaces_use_the_sparse_solver(monkeypatch, to_rows):
    from touchpoint.attribution import _markov

    monkeypatch.setattr(_markov, "_DENSE_LIMIT", 20)  # the sparse path, on a small chain
    rng = np.random.default_rng(5)
    units = [f"t{i:02d}" for i in range(6)]
    paths = [list(rng.choice(units, rng.integers(1, 6))) for _ in range(400)]
    conv = rng.random(400) < 0.3
    result = markov(to_rows(paths, conv), order=2)
    _, expected = reference_removal_effects(paths, conv, 2)
    np.testing.assert_allclose(result["removal_effect"], expected, rtol=1e-8)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_counting_by_key_tables_equals_counting_by_sorting(monkeypatch, to_rows, order):
    """States and transitions are coded by `touchpoint.frame.factorize` (lookup tables
    for small key spaces, hash tables for large): the same counts as sorting every key
    with `numpy.unique`, so bit-equal removal effects, both equal to the reference
    (journeys long enough to fill every digit of the state)."""
    from touchpoint.attribution import _markov

    rng = np.random.default_rng(order)
    units = [f"c{i}" for i in range(7)]
    paths = [list(rng.choice(units, rng.integers(1, 9))) for _ in range(600)]
    conv = rng.random(600) < 0.3
    rows = to_rows(paths, conv, shuffle_seed=1)
    by_table = markov(rows, order=order)["removal_effect"]

    def by_sorting(values, sort=True):  # every key space sorted
        keys, inverse = np.unique(values, return_inverse=True)
        return inverse.reshape(-1), keys

    monkeypatch.setattr(_markov, "factorize", by_sorting)
    by_sort = markov(rows, order=order)["removal_effect"]
    np.testing.assert_array_equal(by_table, by_sort)
    _, expected = reference_removal_effects(paths, conv, order)
    np.testing.assert_allclose(by_table, expected, rtol=1e-9, atol=1e-12)
