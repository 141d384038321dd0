"""CLV plots show the model's predictions on their grid, and the data against the model.

The expected counts of `period_transactions` are checked against a seeded simulation of
the BG/NBD and MBG/NBD purchase processes (the known truth), not against the formula.
"""

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from touchpoint.clv import BetaGeo, ModifiedBetaGeo
from touchpoint.datasets import load_cdnow
from touchpoint.errors import ValidationError
from touchpoint.plot import (
    frequency_recency_matrix,
    period_transactions,
    probability_alive_matrix,
    repeat_purchase_probabilities,
)

# Fader, Hardie & Lee (2005), table 1: BG/NBD on the CDNOW sample, weeks
FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def summary():
    return load_cdnow("summary", sample=True)


@pytest.fixture(scope="module")
def fhl():
    model = BetaGeo()
    model.params_ = FHL
    return model


def _grid_values(predict, frequencies, recencies, T):
    x, t = np.meshgrid(frequencies, recencies, indexing="ij")
    grid = {"frequency": x.ravel(), "recency": t.ravel(), "T": np.full(x.size, T)}
    return predict(grid).to_numpy().reshape(x.shape)


def test_the_frequency_recency_matrix_holds_the_models_predictions(fhl, summary):
    ax = frequency_recency_matrix(fhl, summary, horizon=4.0)
    shown = ax.images[0].get_array()
    T = float(np.max(summary["T"]))
    f_max = int(np.max(summary["frequency"]))
    assert shown.shape == (f_max + 1, int(np.floor(T)) + 1)
    want = _grid_values(
        lambda s: fhl.expected_purchases(s, 4.0), np.arange(f_max + 1), np.arange(shown.shape[1]), T
    )
    np.testing.assert_allclose(shown[1:].filled(np.nan), want[1:], rtol=1e-12)
    # frequency 0 has recency 0 only: the rest of that row is blank
    assert shown[0, 0] == pytest.approx(want[0, 0]) and shown.mask[0, 1:].all()
    assert not shown.mask[1:].any()


def test_the_probability_alive_matrix_holds_the_models_probabilities(fhl):
    ax = probability_alive_matrix(fhl, max_frequency=12, max_recency=20.5)
    shown = ax.images[0].get_array()
    assert shown.shape == (13, 21)
    want = _grid_values(fhl.probability_alive, np.arange(13), np.arange(21), 20.5)
    np.testing.assert_allclose(shown[1:].filled(np.nan), want[1:], rtol=1e-12)
    assert ax.images[0].get_clim() == (0.0, 1.0)
    # those who bought often and long ago have left: the probability falls down a column
    assert shown[12, 0] < 0.01 < 0.9 < shown[12, 20]


def _simulate(model_params, T, modified, rng):
    """Repeat purchases in (0, T] from the BG/NBD (or MBG/NBD) story, one draw per T."""
    r, alpha, a, b = (model_params[k] for k in ("r", "alpha", "a", "b"))
    lam = rng.gamma(r, 1.0 / alpha, len(T))
    p = rng.beta(a, b, len(T))
    purchases = rng.poisson(lam * T)
    # dies after the g-th repeat purchase (BG: g >= 1; MBG: g >= 0, 0 = after the first)
    dies_after = rng.geometric(p) - (1 if modified else 0)
    return np.minimum(purchases, dies_after)


@pytest.mark.parametrize(
    ("model_class", "params"),
    [
        (BetaGeo, FHL),
        (ModifiedBetaGeo, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
        (BetaGeo, {"r": 2.0, "alpha": 10.0, "a": 0.3, "b": 6.0}),
    ],
)
def test_the_repeat_purchase_distribution_matches_a_simulation_of_the_model(
    model_class, params, summary
):
    model = model_class()
    model.params_ = params
    rng = np.random.default_rng(20260115)
    T = np.tile(summary["T"], 100)  # 235,700 customers aged as the CDNOW sample's
    counts = _simulate(params, T, model_class is ModifiedBetaGeo, rng)
    k = 8
    simulated = np.bincount(np.minimum(counts, k), minlength=k + 1) / len(T)
    probabilities = repeat_purchase_probabilities(model, summary["T"], k).mean(axis=0)
    expected = np.append(probabilities, 1.0 - probabilities.sum())
    se = np.sqrt(expected * (1 - expected) / len(T))
    assert np.all(np.abs(simulated - expected) < 5 * se + 1e-9), (simulated, expected)


def test_the_probabilities_of_all_counts_add_up_to_one(fhl):
    p = repeat_purchase_probabilities(fhl, np.array([0.0, 1.0, 10.0, 52.0]), 400)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-10)
    assert p[0, 0] == 1.0  # no time, no purchase


def test_period_transactions_compares_the_data_with_the_model(fhl, summary):
    ax = period_transactions(fhl, summary, max_frequency=5)
    actual = [b.get_height() for b in ax.containers[0]]
    model = [b.get_height() for b in ax.containers[1]]
    counts = pd.Series(summary["frequency"]).clip(upper=5).value_counts().sort_index()
    assert actual == counts.tolist()
    assert sum(model) == pytest.approx(len(summary["T"]))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0", "1", "2", "3", "4", "5+"]
    # the published fit describes its data: every bar within 15% or 30 customers
    np.testing.assert_allclose(model, actual, rtol=0.15, atol=30)


@pytest.mark.parametrize(
    "draw",
    [
        lambda m, s, ax: frequency_recency_matrix(m, s, ax=ax),
        lambda m, s, ax: probability_alive_matrix(m, s, ax=ax),
        lambda m, s, ax: period_transactions(m, s, ax=ax),
    ],
)
def test_the_given_axes_is_drawn_on_and_returned(draw, fhl, summary):
    _, (_, right) = plt.subplots(1, 2)
    assert draw(fhl, summary, right) is right
    assert right.has_data() and len(plt.get_fignums()) == 1


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda m, s: frequency_recency_matrix(BetaGeo(), s), "not fitted"),
        (lambda m, s: period_transactions("BetaGeo", s), "model"),
        (lambda m, s: probability_alive_matrix(m), "summary"),
        (
            lambda m, s: probability_alive_matrix(m, max_frequency=-1, max_recency=3),
            "max_frequency",
        ),
        (lambda m, s: frequency_recency_matrix(m, s, horizon=-1.0), "horizon"),
        (lambda m, s: period_transactions(m, s, max_frequency=0), "max_frequency"),
        (lambda m, s: period_transactions(m, {"frequency": [1], "T": [np.nan]}), "summary['T'][0]"),
        (lambda m, s: period_transactions(m, {"frequency": [1]}), "T"),
    ],
)
def test_bad_input_raises_the_librarys_error(call, where, fhl, summary):
    with pytest.raises(ValidationError) as info:
        call(fhl, summary)
    assert where in str(info.value)
