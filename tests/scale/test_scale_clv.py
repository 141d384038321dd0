"""CLV and churn risk on Dask: summaries, fits and predictions equal to the in-memory ones."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from daskdata import cut_points, partitioned, same_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.clv import BetaGeo, GammaGamma, customer_summary
from touchpoint.errors import MissingExtraError, ValidationError

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)

dd = pytest.importorskip("dask.dataframe")

DATA = Path(__file__).resolve().parents[1] / "clv" / "data"
FLOAT = {"check_exact": False, "rtol": 1e-12, "atol": 0.0}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW sample's purchases (2,357 customers), one row per purchase, by customer."""
    raw = np.genfromtxt(DATA / "CDNOW_sample.txt", dtype=None, encoding=None)
    days = pd.to_datetime(raw["f2"].astype(str), format="%Y%m%d")
    return pd.DataFrame({"customer": raw["f1"], "time": days, "amount": raw["f4"]})


@pytest.fixture(scope="module")
def summary(cdnow) -> pd.DataFrame:
    return customer_summary(cdnow, asof="1997-09-30").to_pandas()


@pytest.fixture(scope="module")
def models(summary):
    return BetaGeo().fit(summary), GammaGamma().fit(summary)


def in_memory(data: pd.DataFrame, **kw) -> pd.DataFrame:
    return customer_summary(data, **kw).to_pandas()


def purchases(seed: int, n: int = 80) -> pd.DataFrame:
    """Purchases in time order over 20 customers: several a day, ids spread out, some late."""
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, 120, n))
    return pd.DataFrame(
        {
            "customer": rng.integers(0, 20, n) * 1009 + 7,
            "time": np.datetime64("2024-01-01", "us") + day * np.timedelta64(1, "D"),
            "amount": rng.gamma(2.0, 13.7, n).round(2),
        }
    )


@pytest.mark.parametrize("kw", [{}, {"asof": "1997-09-30"}, {"asof": "1997-03-15", "unit": "D"}])
def test_cdnow_summary_on_dask_equals_the_in_memory_summary(client, cdnow, kw):
    got = customer_summary(partitioned(cdnow, npartitions=5), **kw)
    assert isinstance(got, dd.DataFrame)
    same_rows(got.compute(), in_memory(cdnow, **kw), **FLOAT)


@given(cuts=cut_points(80), seed=st.integers(0, 50), end=st.sampled_from([None, "2024-03-01"]))
@settings(max_examples=15, deadline=None)
def test_summary_whatever_the_partitioning(client, cuts, seed, end):
    data = purchases(seed)
    got = customer_summary(partitioned(data, cuts), asof=end, unit="D").compute()
    same_rows(got, in_memory(data, asof=end, unit="D"), **FLOAT)


def test_summary_with_string_times_ids_and_no_amount(client):
    data = purchases(3)
    data = pd.DataFrame(
        {
            "customer": "c" + data["customer"].astype(str),
            "time": data["time"].dt.strftime("%Y-%m-%d"),
        }
    )
    got = customer_summary(partitioned(data, [10, 10, 70]), asof="2024-04-01")
    want = in_memory(data, asof="2024-04-01")
    # Dask's stand-in row has time "foo": the result's types come from an empty
    # partition then, and the ids must still be str, as in memory
    same_rows(got.compute(), want, **FLOAT)
    assert (want["monetary_value"] == 0).all()


def test_summary_errors_are_those_of_memory(client, cdnow):
    ddf = partitioned(cdnow)
    with pytest.raises(ValidationError, match="'day'"):
        customer_summary(ddf, time="day")
    with pytest.raises(ValidationError, match="'buyer'"):
        customer_summary(ddf, customer="buyer")
    with pytest.raises(ValidationError, match="expected one of"):
        customer_summary(ddf, unit="fortnight")
    for data, kw in ((cdnow, {"asof": "1990-01-01"}), (cdnow.iloc[:0], {})):
        with pytest.raises(ValidationError) as memory:
            customer_summary(data, **kw)
        with pytest.raises(ValidationError) as dask:
            customer_summary(partitioned(data), **kw)
        assert str(dask.value) == str(memory.value)


def test_summary_without_the_dask_extra_names_the_extra(monkeypatch, cdnow):
    ddf = partitioned(cdnow)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(MissingExtraError, match="dask"):
        customer_summary(ddf)


def test_fits_on_a_dask_summary_give_the_in_memory_parameters(client, summary, models):
    bg, gg = models
    ddf = partitioned(summary, [500, 500, 1800])  # an empty partition too
    bg_dask, gg_dask = BetaGeo().fit(ddf), GammaGamma().fit(ddf)
    assert bg_dask.params_ == bg.params_
    assert bg_dask.log_likelihood_ == bg.log_likelihood_
    assert bg_dask.n_customers_ == bg.n_customers_ == len(summary)
    assert gg_dask.params_ == gg.params_
    assert gg_dask.standard_errors_ == gg.standard_errors_


def test_fits_from_dask_purchases_to_parameters(client, cdnow, models):
    # the Dask summary comes in another row order: equal to the optimiser's tolerance
    bg, gg = models
    s = customer_summary(partitioned(cdnow, npartitions=4), asof="1997-09-30")
    bg_dask, gg_dask = BetaGeo().fit(s), GammaGamma().fit(s)
    assert bg_dask.params_ == pytest.approx(bg.params_, rel=1e-6)
    assert bg_dask.log_likelihood_ == pytest.approx(bg.log_likelihood_, rel=1e-12)
    assert gg_dask.params_ == pytest.approx(gg.params_, rel=1e-6)
    assert gg_dask.log_likelihood_ == pytest.approx(gg.log_likelihood_, rel=1e-12)


def test_fits_need_their_columns(client, summary):
    ddf = partitioned(summary.drop(columns=["T"]))
    with pytest.raises(ValidationError, match="'T'"):
        BetaGeo().fit(ddf)
    with pytest.raises(ValidationError, match="'spend'"):
        GammaGamma(monetary_value="spend").fit(ddf)


@given(cuts=cut_points(2357))
@settings(max_examples=15, deadline=None)
def test_predictions_are_written_back_per_partition(client, summary, models, cuts):
    bg, gg = models
    ddf = partitioned(summary, cuts)
    predictions = {
        "probability_alive": (bg.probability_alive(ddf), bg.probability_alive(summary).to_numpy()),
        "expected_purchases": (
            bg.expected_purchases(ddf, 10.0),
            bg.expected_purchases(summary, 10.0).to_numpy(),
        ),
        "expected_average_spend": (
            gg.expected_average_spend(ddf),
            gg.expected_average_spend(summary).to_numpy(),
        ),
        "customer_lifetime_value": (
            gg.customer_lifetime_value(bg, ddf, periods=6, discount_rate=0.02),
            gg.customer_lifetime_value(bg, summary, periods=6, discount_rate=0.02).to_numpy(),
        ),
    }
    for name, (lazy, want) in predictions.items():
        assert isinstance(lazy, dd.Series)
        assert lazy.npartitions == ddf.npartitions
        got = lazy.compute()
        assert got.name == name
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12, atol=0, err_msg=name)
    # aligned with the summary's rows: it can be assigned back
    back = ddf.assign(alive=bg.probability_alive(ddf)).compute()
    np.testing.assert_allclose(back["alive"], bg.probability_alive(summary).to_numpy(), rtol=1e-12)


def test_predictions_on_a_summary_of_dask_purchases(client, cdnow, summary, models):
    bg, gg = models
    s = customer_summary(partitioned(cdnow), asof="1997-09-30")
    got = s.assign(alive=bg.probability_alive(s), spend=gg.predict(s)).compute()
    want = summary.assign(
        alive=bg.probability_alive(summary).to_numpy(),
        spend=gg.expected_average_spend(summary).to_numpy(),
    )
    same_rows(got, want, **FLOAT)


def test_prediction_errors_come_at_the_call(client, summary, models):
    bg, gg = models
    ddf = partitioned(summary)
    with pytest.raises(ValidationError, match="not fitted"):
        BetaGeo().probability_alive(ddf)
    with pytest.raises(ValidationError, match="'recency'"):
        bg.expected_purchases(ddf.drop(columns=["recency"]), 5.0)
    with pytest.raises(ValidationError, match="'T'"):
        gg.customer_lifetime_value(bg, ddf.drop(columns=["T"]))
    flat = GammaGamma()
    flat.params_ = {"p": 1.0, "q": 0.5, "v": 1.0}
    with pytest.raises(ValidationError, match="q <= 1"):
        flat.customer_lifetime_value(bg, ddf)


def test_summary_of_events_counts_only_purchases_as_in_memory(client):
    events = hotel_events(200, seed=2)
    assert set(events["outcome"].dropna()) > {"purchase"}
    got = customer_summary(partitioned(events, npartitions=4), asof="2025-12-31")
    same_rows(got.compute(), in_memory(events, asof="2025-12-31"), **FLOAT)
    got = customer_summary(partitioned(events, npartitions=3))  # the end: the last purchase
    same_rows(got.compute(), in_memory(events), **FLOAT)


# churn_risk: the per-customer pass per partition, one fit on the collected summary, the
# risks per partition; the fit adds its sums in another order, so probabilities agree
# to rounding, not to the last bit
CHURN = {"check_exact": False, "rtol": 1e-9, "atol": 1e-12}


def hotel_events(customers: int, seed: int) -> pd.DataFrame:
    """The budget hotel's synthetic events (calls, stays, complaints...) as plain columns."""
    from touchpoint import templates
    from touchpoint.demo import synthetic_base

    ev = synthetic_base(templates.load("budget-hotel"), customers=customers, seed=seed).events
    df = pd.DataFrame({name: ev[name] for name in ev.columns})
    return df.sort_values("time", kind="stable", ignore_index=True)


def churn_in_memory(df, **kw):
    import warnings

    from touchpoint.scoring import churn_risk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return churn_risk(df, **kw).to_pandas()


def churn_on_dask(ddf, **kw):
    import warnings

    from touchpoint.scoring import churn_risk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = churn_risk(ddf, **kw)
    assert isinstance(lazy, dd.DataFrame)
    return lazy.compute()


@pytest.fixture(scope="module")
def hotel():
    return hotel_events(300, seed=5)


def test_churn_risk_on_dask_equals_in_memory(client, hotel):
    got = churn_on_dask(partitioned(hotel, npartitions=5))
    want = churn_in_memory(hotel)
    assert (want["level"] != "none").sum() > 50
    same_rows(got, want, **CHURN)
    asof = "2026-06-30"
    got = churn_on_dask(partitioned(hotel, npartitions=3), asof=asof, amount=None)
    same_rows(got, churn_in_memory(hotel, asof=asof, amount=None), **CHURN)


@pytest.fixture(scope="module")
def small_hotel():
    return hotel_events(40, seed=6)


@given(data=st.data())
@settings(max_examples=6, deadline=None)
def test_churn_risk_whatever_the_partitions(client, small_hotel, data):
    cuts = data.draw(cut_points(len(small_hotel)))
    got = churn_on_dask(partitioned(small_hotel, cuts))
    same_rows(got, churn_in_memory(small_hotel), **CHURN)


def test_churn_risk_errors_on_dask_are_those_of_memory(client, hotel):
    from touchpoint.scoring import churn_risk

    ddf = partitioned(hotel)
    with pytest.raises(ValidationError, match="when"):
        churn_risk(ddf, time="when")
    with pytest.raises(ValidationError, match="who"):
        churn_risk(ddf, customer="who")
    with pytest.raises(ValidationError, match="levels"):
        churn_risk(ddf, levels={"a": 0.5})
    few = hotel[hotel["outcome"] != "purchase"].reset_index(drop=True)
    with pytest.raises(ValidationError, match="two or more days"):
        churn_risk(partitioned(few), amount=None)
