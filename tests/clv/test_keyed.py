"""CLV results keyed by customer: predictions and summaries are ScoreFrames keyed by the ids.

Each prediction is checked against the same model on the customer's own one-row summary
(an independent way to say "this value belongs to this customer"), whatever the row
order; 0.1's array use still works for a release, with a warning.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from touchpoint.clv import BetaGeo, GammaGamma, ModifiedBetaGeo, customer_summary
from touchpoint.frame import ScoreFrame

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture
def summary():
    rng = np.random.default_rng(4)
    n = 40
    x = rng.integers(0, 6, n)
    T = rng.uniform(10, 40, n)
    return pd.DataFrame(
        {
            "cust_id": [f"c{i:02d}" for i in rng.permutation(n)],
            "frequency": x,
            "recency": np.where(x > 0, T * rng.uniform(0, 1, n), 0.0),
            "T": T,
            "monetary_value": np.where(x > 0, rng.gamma(3, 10, n), 0.0),
        }
    )


def _models(customer="customer"):
    bg, mbg, gg = (
        BetaGeo(customer=customer),
        ModifiedBetaGeo(customer=customer),
        GammaGamma(customer=customer),
    )
    bg.params_, mbg.params_, gg.params_ = BG, BG, GG
    return bg, mbg, gg


PREDICTIONS = {
    "probability_alive": lambda bg, gg, s: bg.probability_alive(s),
    "expected_purchases": lambda bg, gg, s: bg.expected_purchases(s, 13.0),
    "expected_average_spend": lambda bg, gg, s: gg.expected_average_spend(s),
    "customer_lifetime_value": lambda bg, gg, s: gg.customer_lifetime_value(bg, s, periods=6),
}


@pytest.mark.parametrize("name", PREDICTIONS)
@pytest.mark.parametrize("modified", [False, True])
def test_each_prediction_is_the_customers_own_keyed_by_their_id(summary, name, modified):
    bg, mbg, gg = _models("cust_id")
    model = mbg if modified else bg
    got = PREDICTIONS[name](model, gg, summary.sample(frac=1.0, random_state=1))
    assert isinstance(got, ScoreFrame) and got.key == "customer"
    assert got.column_names == ["customer", name]
    assert sorted(got["customer"].tolist()) == sorted(summary["cust_id"])
    for i in range(0, len(summary), 7):  # a few customers, each on their own
        alone = summary.iloc[[i]]
        want = PREDICTIONS[name](model, gg, alone).to_numpy()[0]
        assert got.row(alone["cust_id"].iloc[0])[name] == pytest.approx(want, rel=1e-12)


def test_without_a_customer_column_the_predictions_are_keyed_by_row(summary):
    bg, _, _ = _models()  # the summary has no column "customer"
    p = bg.probability_alive(summary.drop(columns=["cust_id"]))
    assert p.key == "row" and p["row"].tolist() == list(range(len(summary)))


def test_the_array_of_0_1_is_still_there_for_a_release(summary):
    bg, _, gg = _models("cust_id")
    p = bg.probability_alive(summary)
    values = p.to_numpy()
    with pytest.warns(DeprecationWarning, match=r"take \.to_numpy\(\)"):
        np.testing.assert_array_equal(np.asarray(p), values)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        p.to_numpy()
        p["probability_alive"]
    with pytest.warns(DeprecationWarning):
        assert p[3] == values[3]
    with pytest.warns(DeprecationWarning):
        assert p.round(3).tolist() == values.round(3).tolist()
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(1.0 - p, 1.0 - values)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(p > 0.5, values > 0.5)
    with pytest.warns(DeprecationWarning):
        assert p.mean() == values.mean()
    spend = gg.expected_average_spend(summary)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(p * spend, values * spend.to_numpy())
    assert p == bg.probability_alive(summary)  # frames still compare as frames


def test_customer_summary_is_keyed_by_customer_whatever_the_input_calls_it():
    data = {"buyer": ["b", "a", "b"], "time": ["2024-01-01", "2024-01-02", "2024-01-09"]}
    s = customer_summary(data, customer="buyer", asof="2024-01-10", unit="D")
    assert s.key == "customer" and s["customer"].tolist() == ["a", "b"]
    assert s.column_names == ["customer", "frequency", "recency", "T", "monetary_value"]
    with pytest.warns(DeprecationWarning, match="'customer' now"):
        assert s["buyer"].tolist() == ["a", "b"]
    assert "buyer" in s
    # the models find the summary's customers without being told
    bg, _, _ = _models()
    assert bg.probability_alive(s)["customer"].tolist() == ["a", "b"]
