"""churn_risk: a calibrated probability that the customer has stopped buying (issue 12, item 3).

Simulations with known truth, seeded and fast:

- customers who all stay alive and buy as Poisson processes: the old score labelled 16%
  of them at risk or lapsed (30% of those with 2-3 purchases) with a mean risk of 0.54;
  now at most 5% may be labelled likely lapsed or lapsed;
- customers who leave at random times (exponential lifetimes with Gamma-distributed
  dropout rates, Gamma-distributed purchase rates: the Pareto/NBD story, not the
  MBG/NBD model's own story of leaving right after a purchase): the risk is calibrated
  per decile, and those with risk >= 0.8 have truly left in >= 70% of cases;
- the model's own story, for completeness, with a tighter tolerance.

Then the descriptive columns against pandas, the purchase rule, input kinds, levels
and errors.
"""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.clv import ModifiedBetaGeo, customer_summary
from touchpoint.errors import BoundaryFitWarning, ValidationError
from touchpoint.frame import EventFrame
from touchpoint.scoring import CHURN_LEVELS, churn_risk

DAY0 = np.datetime64("2024-01-01T00:00", "s")


def purchases_until(start, window, lam, rng):
    """Poisson purchase times at rates ``lam`` in (start, start + window]: events."""
    k = rng.poisson(lam * window)
    who = np.repeat(np.arange(len(start)), k)
    t = start[who] + rng.uniform(0, 1, k.sum()) * window[who]
    return np.concatenate([np.arange(len(start)), who]), np.concatenate([start, t])


def as_events(who, t, horizon):
    times = DAY0 + (t * 86400).astype("timedelta64[s]")
    return {"customer": who, "time": times}, DAY0 + np.timedelta64(int(horizon * 86400), "s")


def leave_at_random_times(n, seed, r, alpha, s, beta, acquire=365.0, horizon=730.0):
    """Customers acquired over a year, buying at Gamma(r, alpha) daily rates, leaving
    after Exp(mu) days with mu ~ Gamma(s, beta) (s None: never); truth: left by horizon."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, acquire, n)
    lam = rng.gamma(r, 1 / alpha, n)
    life = np.full(n, np.inf) if s is None else rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    window = np.minimum(life, horizon - start)
    who, t = purchases_until(start, window, lam, rng)
    ev, asof = as_events(who, t, horizon)
    return ev, asof, life < horizon - start


def leave_after_a_purchase(n, seed, r=0.8, alpha=40.0, a=1.0, b=6.0, horizon=730.0):
    """The MBG/NBD story: after every purchase (the first too) leave with p ~ Beta(a, b)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 365.0, n)
    window = horizon - start
    k = rng.poisson(rng.gamma(r, 1 / alpha, n) * window)  # purchases had they stayed
    stays_for = rng.geometric(rng.beta(a, b, n)) - 1  # repeat purchases before leaving
    made = np.minimum(k, stays_for)
    who = np.repeat(np.arange(n), k)
    u = rng.uniform(0, 1, k.sum())
    order = np.lexsort((u, who))
    u = u[order]
    rank = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    keep = rank < made[who]  # the first `made` of the k arrival times
    t = start[who[keep]] + u[keep] * window[who[keep]]
    ev, asof = as_events(
        np.concatenate([np.arange(n), who[keep]]), np.concatenate([start, t]), horizon
    )
    return ev, asof, stays_for <= k  # left right after one of their purchases


def scored(ev, asof, truth):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryFitWarning)
        r = churn_risk(ev, asof=asof)
    return r, r["risk"], truth[r["customer"]]


def decile_gaps(risk, truth):
    """Mean predicted risk minus observed churn share, per decile of predicted risk."""
    order = np.argsort(risk, kind="stable")
    return np.array([risk[part].mean() - truth[part].mean() for part in np.array_split(order, 10)])


def test_customers_who_all_stay_are_not_called_lapsed():
    ev, asof, truth = leave_at_random_times(4000, seed=1, r=0.8, alpha=40.0, s=None, beta=None)
    assert not truth.any()
    r, risk, _ = scored(ev, asof, truth)
    level = np.array(r["level"].tolist())
    flagged = np.isin(level, ["likely_lapsed", "lapsed"])
    assert flagged.mean() <= 0.05
    few = (r["purchases"] >= 2) & (r["purchases"] <= 3)
    assert few.sum() > 300 and flagged[few].mean() <= 0.05
    assert risk.mean() <= 0.05


@pytest.mark.parametrize(
    ("r", "alpha", "s", "beta"),
    [
        (0.8, 40.0, 2.0, 700.0),  # a purchase every 50 days or so, lifetimes of a year
        (2.0, 60.0, 1.0, 500.0),  # regular buyers, more varied lifetimes
    ],
)
def test_risk_is_calibrated_when_customers_leave_at_random_times(r, alpha, s, beta):
    ev, asof, truth = leave_at_random_times(8000, seed=7, r=r, alpha=alpha, s=s, beta=beta)
    _, risk, truth = scored(ev, asof, truth)
    assert 0.3 < truth.mean() < 0.8
    gaps = decile_gaps(risk, truth)
    assert np.abs(gaps).max() <= 0.15, gaps.round(3)
    assert abs(risk.mean() - truth.mean()) <= 0.03
    high = risk >= 0.8
    assert high.sum() > 500 and truth[high].mean() >= 0.7
    # and the score sorts: the top decile has left far more often than the bottom one
    order = np.argsort(risk)
    assert truth[order[-800:]].mean() - truth[order[:800]].mean() > 0.6


def test_risk_is_calibrated_in_the_models_own_story():
    ev, asof, truth = leave_after_a_purchase(8000, seed=3)
    _, risk, truth = scored(ev, asof, truth)
    assert np.abs(decile_gaps(risk, truth)).max() <= 0.1
    assert abs(risk.mean() - truth.mean()) <= 0.03


def test_risk_is_one_minus_the_mbgnbd_probability_alive_of_the_purchase_days():
    ev, asof, truth = leave_at_random_times(2000, seed=4, r=0.8, alpha=40.0, s=2.0, beta=700.0)
    r, risk, _ = scored(ev, asof, truth)
    summary = customer_summary(ev, asof=asof, unit="D", amount=None)
    model = ModifiedBetaGeo().fit(summary)
    alive = model.probability_alive(summary).to_numpy()
    np.testing.assert_array_equal(summary["customer"], r["customer"])
    np.testing.assert_allclose(risk, 1 - alive, rtol=1e-9, atol=1e-12)


def test_a_longer_silence_means_a_higher_risk():
    ev, asof, _ = leave_at_random_times(2000, seed=5, r=0.8, alpha=40.0, s=2.0, beta=700.0)
    # two probes: the same first purchase and count, the last purchase 30 or 200 days ago
    horizon = (asof - DAY0) / np.timedelta64(1, "D")
    probes = {
        "customer": np.array([-1, -1, -1, -2, -2, -2]),
        "time": DAY0
        + (np.array([100, 300, horizon - 30, 100, 300, horizon - 200]) * 86400).astype(
            "timedelta64[s]"
        ),
    }
    both = {k: np.concatenate([ev[k], probes[k]]) for k in ev}
    r, _, _ = scored(both, asof, np.zeros(2002, dtype=bool))
    risk = dict(zip(r["customer"].tolist(), r["risk"].tolist(), strict=True))
    assert risk[-2] > risk[-1]


def test_one_purchase_long_ago_is_riskier_than_one_purchase_yesterday():
    """Under BG/NBD both would be alive with probability 1."""
    ev, asof, truth = leave_at_random_times(2000, seed=6, r=0.8, alpha=40.0, s=2.0, beta=700.0)
    r, risk, _ = scored(ev, asof, truth)
    single = r["purchases"] == 1
    recency = r["recency"][single]
    assert risk[single].min() > 0 and risk[single].max() < 1
    assert np.corrcoef(recency, risk[single])[0, 1] > 0.9


def customers_of(ev, asof):
    """Simulated events as a pandas table with string ids, amounts and outcomes."""
    df = pd.DataFrame(ev)
    df["customer"] = "c" + df["customer"].astype(str)
    df["amount"] = 10.0
    df["outcome"] = "purchase"
    return df


BASE_EVENTS, BASE_ASOF, _ = leave_at_random_times(300, seed=9, r=0.8, alpha=40.0, s=2.0, beta=700.0)
BASE = customers_of(BASE_EVENTS, BASE_ASOF)
ASOF = pd.Timestamp(BASE_ASOF)
T0 = ASOF - pd.Timedelta(days=400)


@st.composite
def histories(draw):
    """A base of simulated customers (so the model can be fitted) and random others:
    purchases, calls and complaints, with and without amounts, some after asof."""
    n = draw(st.integers(1, 30))

    def col(s):
        return draw(st.lists(s, min_size=n, max_size=n))

    extra = pd.DataFrame(
        {
            "customer": col(st.sampled_from(["a", "b", "c", "d"])),
            "time": T0 + pd.to_timedelta(col(st.integers(0, 420)), unit="D"),
            "amount": np.array(col(st.sampled_from([0.0, 10.0, 25.0, np.nan])), dtype=float),
            "outcome": col(st.sampled_from(["purchase", "call", "complaint", None])),
        }
    )
    return pd.concat([BASE, extra], ignore_index=True)


def reference(df, asof):
    """The descriptive columns with pandas: purchases by the rule, on or before asof."""
    bought = (df["outcome"] == "purchase") | (df["outcome"].isna() & (df["amount"] > 0))
    buys = df[bought & (df["time"] <= asof)]
    g = buys.groupby("customer")["time"]
    out = pd.DataFrame({"n": g.size(), "last": g.max()})
    days = buys.assign(day=buys["time"].dt.floor("D")).groupby("customer")["day"]
    span = (days.max() - days.min()).dt.days
    out["rhythm"] = span / (days.nunique() - 1)
    out.loc[days.nunique() < 2, "rhythm"] = np.nan
    out["recency"] = (asof - out["last"]).dt.total_seconds() / 86400
    return out


@given(histories())
@settings(max_examples=25, deadline=None)
def test_descriptive_columns_match_pandas_and_levels_come_from_the_risk(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryFitWarning)
        got = churn_risk(df, asof=ASOF).to_pandas().set_index("customer")
    ref = reference(df, ASOF)
    bounds = np.array(list(CHURN_LEVELS.values()))
    for c, row in got.iterrows():
        if c not in ref.index:
            assert row["purchases"] == 0 and row["level"] == "none" and np.isnan(row["risk"])
            continue
        r = ref.loc[c]
        assert row["purchases"] == r["n"]
        np.testing.assert_allclose(row["rhythm"], r["rhythm"], equal_nan=True)
        np.testing.assert_allclose(row["recency"], r["recency"])
        np.testing.assert_allclose(row["overdue"], r["recency"] / r["rhythm"], equal_nan=True)
        assert 0 <= row["risk"] <= 1
        expected = list(CHURN_LEVELS)[min(np.searchsorted(bounds, row["risk"], side="right"), 3)]
        assert row["level"] == expected


@pytest.fixture(scope="module")
def small_base():
    return BASE.drop(columns=["outcome"]), BASE_ASOF


def test_the_same_result_from_every_input_kind(small_base):
    df, asof = small_base

    def result(data):
        out = churn_risk(data, asof=asof).to_pandas()
        out["level"] = out["level"].astype(str)
        return out.sort_values("customer", ignore_index=True)

    want = result(df)
    for data in (
        df.to_dict("list"),
        pl.from_pandas(df),
        pa.Table.from_pandas(df),
        EventFrame.from_data(df),
    ):
        pd.testing.assert_frame_equal(result(data), want, check_exact=False, rtol=1e-12)


def test_only_purchases_count(small_base):
    df, asof = small_base
    want = churn_risk(df, asof=asof).to_pandas()
    # calls of every customer, and calls of a customer who never bought
    calls = df.sample(200, random_state=0).assign(amount=np.nan, outcome="call")
    calls = pd.concat(
        [
            calls,
            pd.DataFrame(
                {
                    "customer": ["caller"],
                    "time": [df["time"].min()],
                    "amount": [np.nan],
                    "outcome": ["call"],
                }
            ),
        ]
    )
    mixed = pd.concat([df.assign(outcome="purchase"), calls], ignore_index=True)
    got = churn_risk(mixed, asof=asof).to_pandas().set_index("customer")
    caller = got.loc["caller"]
    assert caller["level"] == "none" and caller["purchases"] == 0 and np.isnan(caller["risk"])
    got = got.drop(index="caller").loc[want["customer"]]
    np.testing.assert_allclose(got["risk"], want["risk"], rtol=1e-9)
    np.testing.assert_array_equal(got["purchases"], want["purchases"])
    # another label for purchases
    relabelled = mixed.assign(outcome=mixed["outcome"].replace("purchase", "order"))
    again = churn_risk(relabelled, asof=asof, purchases=("order",)).to_pandas()
    again = again.set_index("customer").drop(index="caller").loc[want["customer"]]
    np.testing.assert_allclose(again["risk"], want["risk"], rtol=1e-9)


def test_custom_levels(small_base):
    df, asof = small_base
    r = churn_risk(df, asof=asof, levels={"stays": 0.5, "gone": 1.0})
    level = np.array(r["level"].tolist())
    np.testing.assert_array_equal(level == "gone", r["risk"] >= 0.5)


@pytest.mark.parametrize(
    "levels",
    [{}, {"a": 0.5, "b": 0.9}, {"a": 0.6, "b": 0.5, "c": 1.0}, {"none": 1.0}, {"a": "x"}],
)
def test_bad_levels_are_rejected(small_base, levels):
    df, asof = small_base
    with pytest.raises(ValidationError, match="levels"):
        churn_risk(df, asof=asof, levels=levels)


def test_errors_name_the_problem():
    with pytest.raises(ValidationError, match=r"amount\[0\].*-1"):
        churn_risk({"customer": ["a"], "time": ["2026-01-01"], "amount": [-1.0]})
    with pytest.raises(ValidationError, match="two or more days"):
        churn_risk({"customer": ["a", "b"], "time": ["2026-01-01", "2026-01-05"]})
    with pytest.raises(ValidationError, match="when"):
        churn_risk({"customer": ["a"], "time": ["2026-01-01"]}, time="when")
