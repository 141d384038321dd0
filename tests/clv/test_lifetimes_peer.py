"""BG/NBD, Gamma-Gamma and the customer summary agree with lifetimes 0.11.3 on CDNOW.

lifetimes runs in its own virtual environment (it needs pandas<2.2, numpy<2); see
``benchmarks/peers/make_peer_envs.sh``. The test fails, not skips, when it is missing.
"""

from pathlib import Path

import numpy as np
import pytest

from touchpoint.clv import BetaGeo, GammaGamma, customer_summary

pytestmark = pytest.mark.slow  # compares with a peer library in its own environment

DATA = Path(__file__).resolve().parent / "data"

LIFETIMES_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

data = sys.argv[1]
s = pd.read_csv(data + "/cdnow_customers_summary_with_transactions.csv")
bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["x"], s["t_x"], s["T"])
rep = s[s["x"] > 0]
gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["x"], rep["zbar"])
raw = pd.read_csv(data + "/CDNOW_sample.txt", sep=r"\s+", header=None,
                  names=["master", "id", "date", "cds", "amount"])
raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
summ = summary_data_from_transaction_data(
    raw, "id", "date", monetary_value_col="amount", observation_period_end="1997-09-30", freq="D")
out = {
    "bg": bg.params_.to_dict(),
    "bg_se": bg.summary["se(coef)"].to_dict(),
    "bg_ll": float(bg._negative_log_likelihood_ * -1 * len(s)) if hasattr(bg, "_negative_log_likelihood_") else None,
    "gg": gg.params_.to_dict(),
    "gg_se": gg.summary["se(coef)"].to_dict(),
    "expected_10": bg.conditional_expected_number_of_purchases_up_to_time(10, s["x"], s["t_x"], s["T"]).tolist(),
    "alive": bg.conditional_probability_alive(s["x"], s["t_x"], s["T"]).tolist(),
    "new_39": float(bg.expected_number_of_purchases_up_to_time(39)),
    "spend": gg.conditional_expected_average_profit(s["x"], s["zbar"]).tolist(),
    "clv": gg.customer_lifetime_value(bg, s["x"], s["t_x"], s["T"], s["zbar"], time=12,
                                      discount_rate=0.01, freq="W").tolist(),
    "summary_ids": summ.index.tolist(),
    "summary": {c: summ[c].tolist() for c in ["frequency", "recency", "T", "monetary_value"]},
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def peer(run_lifetimes):
    return run_lifetimes(LIFETIMES_SCRIPT, str(DATA))


@pytest.fixture(scope="module")
def cdnow():
    d = np.genfromtxt(
        DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    return {"frequency": d["x"], "recency": d["t_x"], "T": d["T"], "monetary_value": d["zbar"]}


@pytest.fixture(scope="module")
def models(cdnow):
    return BetaGeo().fit(cdnow), GammaGamma().fit(cdnow)


def test_bgnbd_parameters_and_standard_errors_match_lifetimes(models, peer):
    bg, _ = models
    for name in ("r", "alpha", "a", "b"):
        assert bg.params_[name] == pytest.approx(peer["bg"][name], rel=1e-4)
        assert bg.standard_errors_[name] == pytest.approx(peer["bg_se"][name], rel=2e-3)


def test_gammagamma_parameters_and_standard_errors_match_lifetimes(models, peer):
    _, gg = models
    for name in ("p", "q", "v"):
        assert gg.params_[name] == pytest.approx(peer["gg"][name], rel=1e-4)
        assert gg.standard_errors_[name] == pytest.approx(peer["gg_se"][name], rel=2e-3)


def test_predictions_match_lifetimes(models, peer, cdnow):
    bg, gg = models
    np.testing.assert_allclose(bg.expected_purchases(cdnow, 10), peer["expected_10"], rtol=1e-4)
    np.testing.assert_allclose(bg.probability_alive(cdnow), peer["alive"], rtol=1e-4)
    assert float(bg.expected_purchases_new(39)) == pytest.approx(peer["new_39"], rel=1e-4)
    np.testing.assert_allclose(gg.expected_average_spend(cdnow), peer["spend"], rtol=1e-4)
    clv = gg.customer_lifetime_value(bg, cdnow, periods=12, period_length=4.345, discount_rate=0.01)
    np.testing.assert_allclose(clv, peer["clv"], rtol=1e-3)


def test_customer_summary_in_days_matches_lifetimes(peer):
    raw = np.genfromtxt(DATA / "CDNOW_sample.txt", dtype=None, encoding=None)
    dates = np.array(
        [f"{d // 10000}-{d // 100 % 100:02d}-{d % 100:02d}" for d in raw["f2"]],
        dtype="datetime64[D]",
    )
    ours = customer_summary(
        {"customer": raw["f1"], "time": dates, "amount": raw["f4"]},
        observation_end="1997-09-30",
        unit="D",
    )
    np.testing.assert_array_equal(ours["customer"], peer["summary_ids"])
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(
            ours[column], peer["summary"][column], rtol=1e-12, err_msg=column
        )
