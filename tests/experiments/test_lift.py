"""effect() and lift(): published and peer values, interval coverage, power and false positives.

Simulations are seeded; each replicate is one experiment. The margins are about three
binomial standard deviations of the rate over the replicates, so they do not flake.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from touchpoint.errors import ValidationError
from touchpoint.experiments import effect, holdout, lift, power, sample_size


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80,
    # method 10 (hybrid score): 0.0524 to 0.3339
    e = effect([1] * 56 + [0] * 14 + [1] * 48 + [0] * 32, [False] * 70 + [True] * 80)
    assert e.estimate == pytest.approx(0.2)
    assert e.lower == pytest.approx(0.0524, abs=5e-5)
    assert e.upper == pytest.approx(0.3339, abs=5e-5)
    assert e.method == "newcombe" and e.treated == 70 and e.holdout == 80
    assert e.relative == pytest.approx(0.2 / 0.6)
    # the pooled two-proportion z-test's p-value: chi-square without continuity correction
    table = [[56, 14], [48, 32]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert e.p_value == pytest.approx(chi2.pvalue, rel=1e-9)


def test_welch_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(60, 30, 80), rng.normal(50, 10, 25)
    e = effect(np.r_[a, b], np.r_[np.zeros(80, bool), np.ones(25, bool)], kind="mean")
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert e.estimate == pytest.approx(a.mean() - b.mean())
    assert (e.lower, e.upper) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-8)


def _proportion_runs(rng, p1, p0, n1, n0, runs=1000):
    held = np.r_[np.zeros(n1, bool), np.ones(n0, bool)]
    covered = detected = 0
    for _ in range(runs):
        v = np.r_[rng.random(n1) < p1, rng.random(n0) < p0]
        e = effect(v, held)
        covered += e.lower <= p1 - p0 <= e.upper
        detected += e.significant
    return covered / runs, detected / runs


def test_the_difference_of_rates_interval_covers_at_the_nominal_rate():
    # a small, unbalanced holdout (100 of 1000) and rates of 20% vs 25%
    coverage, _ = _proportion_runs(np.random.default_rng(11), 0.25, 0.20, 900, 100)
    assert abs(coverage - 0.95) <= 0.025, coverage


def test_power_at_the_documented_sample_size_and_false_positives_at_alpha():
    # repurchase 20% -> 24% with a 10% holdout: sample_size gives 80% power
    n = sample_size(0.04, baseline=0.20, share=0.1)
    assert power(0.04, baseline=0.20, treated=n.treated, holdout=n.holdout) >= 0.8
    rng = np.random.default_rng(12)
    _, detected = _proportion_runs(rng, 0.24, 0.20, n.treated, n.holdout)
    assert abs(detected - 0.80) <= 0.04, detected
    _, false_alarms = _proportion_runs(rng, 0.20, 0.20, n.treated, n.holdout)
    assert false_alarms <= 0.05 + 0.02, false_alarms  # Newcombe's is, if anything, conservative
    assert false_alarms >= 0.02, false_alarms


def test_welch_interval_covers_normal_outcomes_and_the_heavy_tail_figure_holds():
    rng = np.random.default_rng(13)
    held = np.r_[np.zeros(300, bool), np.ones(40, bool)]
    hits = sum(
        (
            e := effect(np.r_[rng.normal(55, 40, 300), rng.normal(50, 20, 40)], held, kind="mean")
        ).lower
        <= 5.0
        <= e.upper
        for _ in range(1000)
    )
    assert abs(hits / 1000 - 0.95) <= 0.025, hits
    # log-normal spend (sigma 1.5), 2000 treated / 200 held out: the documented shortfall
    held = np.r_[np.zeros(2000, bool), np.ones(200, bool)]
    hits = sum(
        (e := effect(rng.lognormal(3, 1.5, 2200), held, kind="mean")).lower <= 0.0 <= e.upper
        for _ in range(400)
    )
    assert 0.85 <= hits / 400 <= 0.96, hits


def _experiment(rng, ids, held, p_treated, p_held):
    """Purchases in the window [Mar 1, Jun 1) with the given rates, noise outside it."""
    p = np.where(held, p_held, p_treated)
    buyers = np.flatnonzero(rng.random(len(ids)) < p)
    second = buyers[rng.random(len(buyers)) < 0.3]  # some buy twice
    inside = np.r_[buyers, second]
    outside = rng.choice(len(ids), len(ids) // 2)  # purchases before the window
    day = np.datetime64("2026-03-01", "D")
    times = np.r_[
        day + rng.integers(0, 92, len(inside)),
        day - rng.integers(1, 200, len(outside)),
    ]
    who = np.r_[inside, outside]
    return pd.DataFrame(
        {
            "customer": np.asarray(ids, dtype=object)[who],
            "time": times.astype("datetime64[us]"),
            "amount": rng.gamma(2.0, 40.0, len(who)),
            "outcome": "purchase",
        }
    )


def test_a_care_rule_with_a_true_effect_is_detected_with_the_computed_power():
    ids = [f"C{i}" for i in range(3000)]
    held = holdout(ids, share=0.3, salt="win-back-2026")
    n_h = int(held.sum())
    expected = power(0.05, baseline=0.25, treated=len(ids) - n_h, holdout=n_h)
    assert 0.6 < expected < 0.9  # a realistic test: neither hopeless nor certain
    rng = np.random.default_rng(21)
    runs = 300
    detected = sum(
        lift(
            _experiment(rng, ids, held, 0.30, 0.25),
            customers=ids,
            held_out=held,
            start="2026-03-01",
            end="2026-06-01",
        ).significant
        for _ in range(runs)
    )
    assert abs(detected / runs - expected) <= 0.08, (detected / runs, expected)
    quiet = sum(
        lift(
            _experiment(rng, ids, held, 0.25, 0.25),
            customers=ids,
            held_out=held,
            start="2026-03-01",
            end="2026-06-01",
        ).significant
        for _ in range(runs)
    )
    assert quiet / runs <= 0.05 + 0.035, quiet / runs


def test_lift_outcomes_match_a_pandas_computation():
    rng = np.random.default_rng(5)
    ids = list(range(500))
    held = holdout(ids, share=0.3, salt="t")
    df = _experiment(rng, ids, held, 0.4, 0.3)
    df.loc[df.index[:40], "outcome"] = "call"  # not purchases: count for retention only
    df["customer"] = df["customer"].astype(int)
    start, end = pd.Timestamp("2026-03-01"), pd.Timestamp("2026-06-01")
    window = df[(df["time"] >= start) & (df["time"] < end)]
    bought = window[window["outcome"] == "purchase"]
    pop = pd.DataFrame({"customer": ids, "held": held})
    revenue = pop["customer"].map(bought.groupby("customer")["amount"].sum()).fillna(0.0)
    repurchase = pop["customer"].isin(bought["customer"]).astype(float)
    active = pop["customer"].isin(window["customer"]).astype(float)
    for metric, values in (("revenue", revenue), ("repurchase", repurchase), ("retention", active)):
        got = lift(df, customers=ids, held_out=held, start=start, end=end, metric=metric)
        assert got.treated_mean == pytest.approx(values[~held].mean())
        assert got.holdout_mean == pytest.approx(values[held].mean())
        want = effect(values, held, kind="mean" if metric == "revenue" else "proportion")
        assert (got.lower, got.upper) == (pytest.approx(want.lower), pytest.approx(want.upper))


def test_bad_arguments_are_named():
    data = {"customer": ["a"], "time": ["2026-03-02"], "amount": [5.0]}
    kw = dict(start="2026-03-01", end="2026-04-01")
    with pytest.raises(ValidationError, match=r"customers\[2\].*twice"):
        lift(data, customers=["a", "b", "a"], held_out=[True, False, False], **kw)
    with pytest.raises(ValidationError, match="held_out"):
        lift(data, customers=["a", "b"], held_out=[True], **kw)
    with pytest.raises(ValidationError, match="metric"):
        lift(data, customers=["a", "b"], held_out=[True, False], metric="joy", **kw)
    with pytest.raises(ValidationError, match="end"):
        lift(
            data, customers=["a", "b"], held_out=[True, False], start="2026-04-01", end="2026-03-01"
        )
    with pytest.raises(ValidationError, match="both groups"):
        lift(data, customers=["a", "b"], held_out=[False, False], **kw)
    with pytest.raises(ValidationError, match="0/1"):
        effect([0.5, 1.0], [True, False])
    with pytest.raises(ValidationError, match="kind"):
        effect([1, 0], [True, False], kind="median")
