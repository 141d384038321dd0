"""Key touchpoints: relative weights against regression facts, and the combined ranking."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from touchpoint.attribution import key_touchpoints, markov
from touchpoint.attribution.parts import relative_weights
from touchpoint.errors import ValidationError


@given(seed=st.integers(0, 10_000), p=st.integers(1, 6))
@example(seed=193, p=3)  # condition number 8e4: betas through R_xx lost 1e-6 of accuracy
@settings(max_examples=30)
def test_relative_weights_split_the_r_squared_of_least_squares(seed, p):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, p)) @ rng.normal(size=(p, p))  # correlated predictors
    y = X @ rng.normal(size=p) + rng.normal(size=200)
    w, beta, r2 = relative_weights(X, y)
    design = np.c_[np.ones(200), X]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    expected_r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    assert r2 == pytest.approx(expected_r2, rel=1e-9)
    assert w.sum() == pytest.approx(expected_r2, rel=1e-9)
    assert np.all(w >= -1e-12)
    np.testing.assert_allclose(beta, coef[1:] * X.std(axis=0) / y.std(), rtol=1e-7, atol=1e-9)


def test_uncorrelated_predictors_get_their_squared_correlation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    X = np.linalg.qr(X - X.mean(axis=0))[0] * 30  # exactly orthogonal, centred columns
    y = X @ np.array([3.0, 1.0, 0.0]) + rng.normal(size=1000)
    w, _, _ = relative_weights(X, y)
    r = np.array([np.corrcoef(X[:, i], y)[0, 1] for i in range(3)])
    np.testing.assert_allclose(w, r**2, rtol=1e-9, atol=1e-12)


def survey(seed=0, n=400):
    """Overall satisfaction driven mostly by the store visit, a little by the website."""
    rng = np.random.default_rng(seed)
    store = rng.integers(1, 6, n)
    web = rng.integers(1, 6, n)
    call = rng.integers(1, 6, n)
    overall = np.clip(np.round(0.8 * store + 0.3 * web + rng.normal(0, 0.5, n)), 1, 10)
    rows = pd.DataFrame(
        {
            "customer": np.repeat(np.arange(n), 3),
            "touchpoint": np.tile(["store", "web", "call"], n),
            "rating": np.c_[store, web, call].reshape(-1).astype(float),
            "overall": np.repeat(overall, 3),
        }
    )
    rows.loc[rows.index % 7 == 0, "rating"] = np.nan  # some ratings missing
    return rows


def test_ranking_combines_attribution_and_drivers():
    attribution = {
        "touchpoint": np.array(["ad", "call", "store", "web"], dtype=object),
        "share": np.array([0.5, 0.1, 0.3, 0.1]),
    }
    k = key_touchpoints(attribution, survey())
    got = {t: i for i, t in enumerate(k["touchpoint"])}
    driver = k["driver_share"]
    assert driver[got["store"]] > driver[got["web"]] > driver[got["call"]]
    assert driver.sum() == pytest.approx(1.0)
    importance = 0.5 * k["attribution_share"] + 0.5 * driver
    np.testing.assert_allclose(k["importance"], importance)
    # store: 0.5 * 0.3 + 0.5 * (most of the drivers) beats the ad's 0.5 * 0.5 = 0.25
    assert k["rank"][got["store"]] == 1
    assert k["rank"][got["ad"]] == 2
    assert k["action"][got["ad"]] == "unrated"
    assert k["n_ratings"][got["ad"]] == 0
    only_attribution = key_touchpoints(attribution, survey(), weight=1.0)
    assert only_attribution["rank"][got["ad"]] == 1


def test_mean_ratings_and_correlations_match_pandas():
    rows = survey(seed=3)
    k = key_touchpoints({"touchpoint": ["store"], "share": [1.0]}, rows)
    expected = rows.dropna().groupby("touchpoint")["rating"].mean()
    for t, m in zip(k["touchpoint"], k["mean_rating"], strict=True):
        assert m == pytest.approx(expected[t])
    assert k["n_ratings"].sum() == rows["rating"].notna().sum()


def test_works_with_a_markov_result(to_rows):
    att = markov(to_rows([["web", "store"], ["call"], ["web"]], [1, 0, 0]))
    k = key_touchpoints(att, survey())
    assert sorted(k["rank"].tolist()) == [1, 2, 3]


def test_bad_input():
    with pytest.raises(ValidationError, match="weight"):
        key_touchpoints({"touchpoint": ["a"], "share": [1.0]}, survey(), weight=2)
    with pytest.raises(ValidationError, match="overall"):
        key_touchpoints({"touchpoint": ["a"], "share": [1.0]}, survey().drop(columns="overall"))


def test_a_missing_touchpoint_or_customer_is_named():
    rows = survey()
    rows["touchpoint"] = rows["touchpoint"].astype(object)
    rows.loc[4, "touchpoint"] = None
    with pytest.raises(ValidationError, match=r"ratings\['touchpoint'\].*missing"):
        key_touchpoints({"touchpoint": ["store"], "share": [1.0]}, rows)
    with pytest.raises(ValidationError, match=r"attribution\['touchpoint'\].*missing"):
        key_touchpoints(
            {"touchpoint": np.array(["store", None], dtype=object), "share": [0.5, 0.5]}, survey()
        )
    rows = survey()
    rows["customer"] = rows["customer"].astype(object)
    rows.loc[4, "customer"] = None
    with pytest.raises(ValidationError, match=r"ratings\['customer'\].*missing"):
        key_touchpoints({"touchpoint": ["store"], "share": [1.0]}, rows)


def test_the_ranking_is_the_same_for_names_and_for_integer_labels():
    # codes in place of names: the same rows, the same order of touchpoints
    rows = survey(seed=5)
    names = np.array(["call", "store", "web"], dtype=object)
    labelled = rows.assign(touchpoint=np.searchsorted(names, rows["touchpoint"].to_numpy()) + 10)
    att = {"touchpoint": names, "share": np.array([0.2, 0.5, 0.3])}
    by_name = key_touchpoints(att, rows)
    by_label = key_touchpoints({"touchpoint": np.arange(10, 13), "share": att["share"]}, labelled)
    assert by_name["touchpoint"].tolist() == names.tolist()
    for column in ("rank", "importance", "driver_share", "mean_rating"):
        np.testing.assert_array_equal(by_name[column], by_label[column])
