"""satisfied_but_defecting: ratings on their own scales, an exact test that allows for count
noise, checked against pandas + scipy references and seeded simulations with known truth.

Simulations: customers buy as Poisson processes (heterogeneous rates). With rates
constant over time, at most ``alpha`` of them may be flagged (issue 12, item 4: the old
"recent <= half of previous" rule flagged about a third of them); when the rate halves,
or stops, at the start of the recent window, the share flagged must match the exact
power of the test, computed here independently with scipy.
"""

import datetime as dt
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from touchpoint.errors import ValidationError
from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
from touchpoint.scoring import satisfied_but_defecting
from touchpoint.scoring._counts import (
    count_cdf,
    lgamma,
    lgamma_ratio,
    pooled_concentration,
    zero_probability,
)

DAY = np.timedelta64(86_400_000_000, "us")
ASOF = np.datetime64("2026-12-31T00:00", "us")


def survey_blueprint() -> Blueprint:
    """A shop with a 1-5 rating at the counter and a 0-10 NPS question after the sale."""

    def tp(code, line, scale):
        return Touchpoint(
            code=code,
            name=code.title(),
            category="channel",
            stage="transaction" if code == "SHOP" else "cooperation",
            line=line,
            channels=["store"],
            indicators=[
                ControlIndicator(
                    "rated", "Rated well", kind="rating", target=scale - 1, scale=scale
                )
            ],
        )

    return Blueprint(
        name="survey-shop",
        stages=["transaction", "cooperation"],
        touchpoints=[tp("SHOP", "product", 5), tp("NPS", "service", 10)],
    )


# --------------------------------------------------------------------------- the exact tail


@given(
    st.integers(0, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.001, 0.999),
)
def test_binomial_cdf_matches_scipy(kn, p):
    k, n = kn
    want = stats.binom.cdf(k, n, p)
    got = count_cdf([k], [n], [p])[0]
    if want > 1e-250:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    else:
        assert got < 1e-240


def test_binomial_cdf_vectorised_over_mixed_tails():
    rng = np.random.default_rng(3)
    n = rng.integers(0, 3000, 5000)
    k = (rng.random(5000) * (n + 1)).astype(np.int64)
    p = rng.random(5000)
    got = count_cdf(k, n, p)
    np.testing.assert_allclose(got, stats.binom.cdf(k, n, p), rtol=1e-8, atol=1e-13)
    assert np.isnan(count_cdf([1], [2], [np.nan])[0])
    # the ends: p = 1 puts everything on n, p = 0 on 0; n = 0 is certain
    edges = count_cdf([0, 2, 3, 0, 0], [3, 3, 3, 3, 0], [1.0, 1.0, 1.0, 0.0, 0.5])
    assert edges.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]


@settings(max_examples=200)
@given(
    st.integers(0, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(0.001, 0.999),
    st.floats(0.05, 1e5),
)
def test_beta_binomial_cdf_matches_scipy(kn, p, concentration):
    k, n = kn
    want = stats.betabinom.cdf(k, n, p * concentration, (1 - p) * concentration)
    got = count_cdf([k], [n], [p], [concentration])[0]
    if want > 1e-250:
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-14)
    else:
        assert got < 1e-240


def test_beta_binomial_tends_to_the_binomial_and_its_zero_term_is_exact():
    rng = np.random.default_rng(8)
    n = rng.integers(0, 400, 3000)
    k = (rng.random(3000) * (n + 1)).astype(np.int64)
    p = rng.uniform(0.01, 0.99, 3000)
    # rates that hardly vary: the beta-binomial is the binomial (scipy's betabinom loses
    # precision here; ours keeps it through log-gamma differences)
    np.testing.assert_allclose(count_cdf(k, n, p, 1e12), stats.binom.cdf(k, n, p), atol=1e-9)
    conc = np.exp(rng.uniform(-2, 9, 3000))
    np.testing.assert_allclose(
        zero_probability(n, p, conc),
        stats.betabinom.pmf(0, n, p * conc, (1 - p) * conc),
        rtol=1e-8,
    )
    np.testing.assert_allclose(zero_probability(n, p), stats.binom.pmf(0, n, p), rtol=1e-12)
    x = np.exp(rng.uniform(np.log(1e-3), np.log(1e14), 500))
    m = rng.integers(0, 50, 500)
    exact = np.array(
        [math.fsum(math.log(a + i) for i in range(b)) for a, b in zip(x, m, strict=True)]
    )
    np.testing.assert_allclose(lgamma_ratio(x, m), exact, rtol=1e-12, atol=1e-12)


def test_lgamma_matches_the_standard_library():
    x = np.exp(np.linspace(np.log(1e-8), np.log(1e9), 2001))
    want = np.array([math.lgamma(v) for v in x])
    np.testing.assert_allclose(lgamma(x), want, rtol=1e-13, atol=1e-13)


def test_pooled_concentration_recovers_a_known_dirichlet_multinomial():
    # customers' 3 sub-window counts from a Dirichlet-multinomial with concentration 6
    rng = np.random.default_rng(4)
    n = rng.integers(2, 60, 40_000)
    shares = rng.dirichlet([2.0, 2.0, 2.0], len(n))
    counts = np.array([rng.multinomial(m, s) for m, s in zip(n, shares, strict=True)])
    x2 = (3 * (counts**2).sum(axis=1) / n - n).sum()
    assert pooled_concentration(x2, n.sum(), len(n), 3) == pytest.approx(6.0, rel=0.05)
    # even splits (no more uneven than multinomial): no extra variation at all
    even = np.array([rng.multinomial(m, [1 / 3] * 3) for m in n])
    x2 = (3 * (even**2).sum(axis=1) / n - n).sum()
    assert pooled_concentration(x2, n.sum(), len(n), 3) > 200 or np.isinf(
        pooled_concentration(x2, n.sum(), len(n), 3)
    )


# --------------------------------------------------------------------------- pandas reference


@st.composite
def events(draw):
    n = draw(st.integers(1, 60))

    def col(s):
        return draw(st.lists(s, min_size=n, max_size=n))

    return pd.DataFrame(
        {
            "customer": pd.Series(col(st.sampled_from(["a", "b", "c", "d"])), dtype=object),
            "time": pd.Timestamp("2025-06-01")
            + pd.to_timedelta(col(st.integers(0, 600)), unit="D"),
            "touchpoint": pd.Series(
                col(st.sampled_from(["SHOP", "NPS", "WEB", None])), dtype=object
            ),
            "outcome": pd.Series(col(st.sampled_from(["purchase", "call", None])), dtype=object),
            "amount": np.array(col(st.sampled_from([np.nan, 0.0, 12.0])), dtype=float),
            "rating": np.array(
                col(st.sampled_from([np.nan, np.nan, 1.0, 3.0, 4.0, 5.0])), dtype=float
            ),
        }
    )


def reference(df, asof, period, baseline, alpha, scales, rate_cv, share=0.5):
    """Counts, exposures, the rate-variation estimate, p-values (scipy) and flags,
    customer by customer in pandas."""
    asof = pd.Timestamp(asof)
    d = df[df["time"] <= asof]
    buys = d[(d["outcome"] == "purchase") | (d["outcome"].isna() & (d["amount"] > 0))]
    split = asof - pd.Timedelta(days=period)
    begin = split - pd.Timedelta(days=baseline)
    rated = d.dropna(subset=["rating"])
    top = rated["touchpoint"].map(lambda tp: scales.get(tp, (1, 5))[1])
    low = rated["touchpoint"].map(lambda tp: scales.get(tp, (1, 5))[0])
    width = top - low
    threshold = np.where(width < 4, top, top - np.maximum(1, width / 10))
    happy = (rated["rating"] >= threshold).groupby(rated["customer"]).mean()
    windows, x2, total, counted = {}, 0.0, 0, 0
    cells = max(2, round(baseline / period))
    edges = [begin + (split - begin) * i / cells for i in range(cells + 1)]
    for c in sorted(df["customer"].unique()):
        mine = buys[buys["customer"] == c]["time"]
        if mine.empty:
            continue
        first = mine.min()
        s_r, s_b = max(first, split), max(first, begin)
        r = int(((mine > s_r) & (mine <= asof)).sum())
        b = int(((mine > s_b) & (mine <= split)).sum())
        rd = (asof - s_r).total_seconds() / 86400
        bd = max((split - s_b).total_seconds(), 0) / 86400
        windows[c] = (r, b, rd, bd)
        if first <= begin and b >= 2:
            sub = np.array(
                [((mine > lo) & (mine <= hi)).sum() for lo, hi in itertools.pairwise(edges)]
            )
            x2 += ((sub - b / cells) ** 2 / (b / cells)).sum()
            total, counted = total + b, counted + 1
    if rate_cv == "estimate":
        if counted == 0:
            rate_cv = np.nan
        elif x2 <= (cells - 1) * counted * (1 + 1e-9):  # steady up to rounding
            rate_cv = 0.0
        else:
            concentration = max(((cells - 1) * total - x2) / (x2 - (cells - 1) * counted), 1e-9)
            rate_cv = np.sqrt(cells / concentration)
    kappa = np.inf if np.isnan(rate_cv) or rate_cv == 0 else 1 / (rate_cv**2 * period)
    rows = {}
    for c in sorted(df["customer"].unique()):
        sat = happy.get(c, np.nan)
        row = {"satisfied": bool(sat >= share), "satisfied_share": sat, "rate_cv": rate_cv}
        r, b, rd, bd = windows.get(c, (0, 0, np.nan, 0.0))
        if bd > 0 and np.isinf(kappa):
            p = stats.binom.cdf(r, r + b, rd / (rd + bd))
        elif bd > 0:
            p = stats.betabinom.cdf(r, r + b, kappa * rd, kappa * bd)
        else:
            p = np.nan
        row.update(recent=r, previous=b, p_value=p, falling=bool(p <= alpha))
        rows[c] = row
    return pd.DataFrame(rows).T


@settings(max_examples=100, deadline=None)
@given(
    events(),
    st.sampled_from([30, 90]),
    st.sampled_from([None, 60, 200]),
    st.sampled_from([0.0, 0.4, "estimate"]),
)
def test_matches_pandas_and_scipy(df, period, baseline, rate_cv):
    df = df.assign(rating=np.where(df["touchpoint"] == "NPS", df["rating"] * 2, df["rating"]))
    got = satisfied_but_defecting(
        df,
        asof="2026-12-31",
        period=f"{period} days",
        baseline=baseline,
        blueprint=survey_blueprint(),
        rate_cv=rate_cv,
    )
    got = got.to_pandas().set_index("customer")
    want = reference(
        df,
        "2026-12-31",
        period,
        baseline or 3 * period,
        0.05,
        {"SHOP": (1, 5), "NPS": (0, 10)},
        rate_cv,
    )
    for c, w in want.iterrows():
        g = got.loc[c]
        assert (g["recent"], g["previous"]) == (w["recent"], w["previous"])
        np.testing.assert_allclose(g["rate_cv"], float(w["rate_cv"]), rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(g["p_value"], float(w["p_value"]), rtol=1e-7, equal_nan=True)
        np.testing.assert_allclose(
            g["satisfied_share"], float(w["satisfied_share"]), equal_nan=True
        )
        assert g["satisfied"] == w["satisfied"] and g["falling"] == w["falling"]
        assert g["satisfied_but_defecting"] == (w["satisfied"] and w["falling"])


# --------------------------------------------------------------------------- ratings on their scales


def answers(ratings, touchpoints=None):
    n = len(ratings)
    ev = {
        "customer": [f"c{i}" for i in range(n)],
        "time": np.full(n, ASOF),
        "rating": np.array(ratings, dtype=float),
    }
    if touchpoints is not None:
        ev["touchpoint"] = touchpoints
    return ev


def test_a_nps_answer_of_5_is_not_satisfied():
    ev = answers([5, 8, 9, 10])
    got = satisfied_but_defecting(ev, scale=10)
    assert got["satisfied"].tolist() == [False, False, True, True]  # detractor, passive, promoters
    assert got["rating_level"].tolist() == [0.5, 0.8, 0.9, 1.0]
    # the same answers read through the blueprint's 0-10 NPS indicator
    got = satisfied_but_defecting(answers([5, 8, 9, 10], ["NPS"] * 4), blueprint=survey_blueprint())
    assert got["satisfied"].tolist() == [False, False, True, True]


def test_each_touchpoint_keeps_its_own_scale():
    ev = answers([4, 4, 9, 5], ["SHOP", "NPS", "NPS", "WEB"])
    got = satisfied_but_defecting(ev, blueprint=survey_blueprint())
    # 4 of 5 satisfied; 4 of 10 not; 9 of 10 satisfied; WEB is not in the blueprint: 1-5
    assert got["satisfied"].tolist() == [True, False, True, True]
    got = satisfied_but_defecting(ev, blueprint=survey_blueprint(), scale={"WEB": 10})
    assert got["satisfied"].tolist() == [True, False, True, False]
    # an explicit share of the scale: 0.75 -> 4 of 1-5, 7.5 of 0-10
    got = satisfied_but_defecting(
        answers([3, 4, 7, 8], ["SHOP", "SHOP", "NPS", "NPS"]),
        blueprint=survey_blueprint(),
        satisfied=0.75,
    )
    assert got["satisfied"].tolist() == [False, True, False, True]


def test_other_scales_by_the_documented_rule():
    # 1-7: the top two boxes; 0-1 (thumbs): the top box; 0-100: the top tenth
    assert satisfied_but_defecting(answers([5, 6, 7]), scale=7)["satisfied"].tolist() == [
        False,
        True,
        True,
    ]
    assert satisfied_but_defecting(answers([0, 1]), scale=(0, 1))["satisfied"].tolist() == [
        False,
        True,
    ]
    assert satisfied_but_defecting(answers([89, 90]), scale=100)["satisfied"].tolist() == [
        False,
        True,
    ]


def test_a_customer_is_satisfied_when_enough_of_their_ratings_are():
    ev = {
        "customer": ["a", "a", "b", "b", "b", "c"],
        "time": np.full(6, ASOF),
        "rating": [5.0, 2.0, 5.0, 2.0, 1.0, np.nan],
    }
    got = satisfied_but_defecting(ev)
    assert got["satisfied_share"][:2].tolist() == [0.5, 1 / 3]
    assert got["satisfied"].tolist() == [True, False, False]
    assert got["satisfied"].tolist() == satisfied_but_defecting(ev, share=0.5)["satisfied"].tolist()
    assert satisfied_but_defecting(ev, share=0.3)["satisfied"].tolist() == [True, True, False]
    assert got["ratings"].tolist() == [2, 3, 0]


@pytest.mark.parametrize(
    ("ratings", "touchpoints", "kw", "row", "value"),
    [
        ([5, 9], None, {}, 1, 9.0),  # default 1-5
        ([5, 0], None, {}, 1, 0.0),
        ([10, 11], None, {"scale": 10}, 1, 11.0),
        ([9, 6], ["NPS", "SHOP"], {"blueprint": survey_blueprint()}, 1, 6.0),
    ],
)
def test_ratings_outside_their_scale_are_refused(ratings, touchpoints, kw, row, value):
    with pytest.raises(ValidationError, match=rf"rating\[{row}\].*outside.*scale.*{value}"):
        satisfied_but_defecting(answers(ratings, touchpoints), **kw)


def test_bad_arguments_are_named():
    ev = answers([5])
    for kw, name in [
        ({"scale": "ten"}, "scale"),
        ({"scale": (5, 1)}, "scale"),
        ({"satisfied": 4.0}, "satisfied"),
        ({"share": 2}, "share"),
        ({"alpha": 0}, "alpha"),
        ({"drop": -0.1}, "drop"),
        ({"period": "soon"}, "period"),
        ({"baseline": -3}, "baseline"),
        ({"purchases": "purchase"}, "purchases"),
    ]:
        with pytest.raises(ValidationError, match=name):
            satisfied_but_defecting(ev, **kw)
    with pytest.raises(ValidationError, match="touchpoint"):
        satisfied_but_defecting(ev, blueprint=survey_blueprint())
    with pytest.raises(ValidationError, match="rating"):
        satisfied_but_defecting({"customer": ["a"], "time": ["2026-01-01"]})


def test_purchases_follow_the_shared_rule():
    # calls and ratings are not purchases; a money event without an outcome is
    ev = {
        "customer": ["a"] * 6,
        "time": [
            "2026-01-10",
            "2026-02-10",
            "2026-03-10",
            "2026-11-01",
            "2026-12-01",
            "2026-12-02",
        ],
        "outcome": ["purchase", "purchase", "purchase", "call", None, "call"],
        "amount": [10.0, 10.0, 10.0, 50.0, 20.0, np.nan],
        "rating": [5.0] * 6,
    }
    got = satisfied_but_defecting(ev, asof="2026-12-31")
    assert (got["recent"][0], got["previous"][0]) == (1, 2)  # the first purchase is the origin
    got = satisfied_but_defecting(ev, asof="2026-12-31", purchases=None)  # every event
    assert (got["recent"][0], got["previous"][0]) == (3, 2)


# --------------------------------------------------------------------------- simulations


def poisson_events(rate_per_day, start, end, rng):
    """Purchases of Poisson buyers: customer i at rate_per_day[i] on (start[i], end)."""
    span = (end - start) / DAY
    counts = rng.poisson(rate_per_day * span)
    who = np.repeat(np.arange(len(counts)), counts)
    at = start[who] + (rng.random(len(who)) * span[who] * DAY / np.timedelta64(1, "us")).astype(
        np.int64
    ).astype("timedelta64[us]")
    return who, at


def score(who, at, n, **kw):
    ev = {
        "customer": np.concatenate([who, np.arange(n)]),
        "time": np.concatenate([at, np.full(n, ASOF)]),  # and one 5-of-5 rating each, at asof
        "outcome": np.array(["purchase"] * len(who) + ["survey"] * n, dtype=object),
        "amount": np.concatenate([np.full(len(who), 10.0), np.full(n, np.nan)]),
        "rating": np.concatenate([np.full(len(who), np.nan), np.full(n, 5.0)]),
    }
    got = satisfied_but_defecting(ev, asof=ASOF, **kw)
    order = np.argsort(got["customer"])
    return {k: got[k][order] for k in got.column_names}


def exact_power(mu, ratio, m=3, alpha=0.05):
    """P(flag) for R ~ Poisson(ratio * mu), B ~ Poisson(m * mu), by scipy over the grid."""
    r = np.arange(0, int(ratio * mu + 12 * np.sqrt(ratio * mu + 1) + 10))[:, None]
    b = np.arange(0, int(m * mu + 12 * np.sqrt(m * mu + 1) + 10))[None, :]
    flag = stats.binom.cdf(r, r + b, 1 / (1 + m)) <= alpha
    weight = stats.poisson.pmf(r, ratio * mu) * stats.poisson.pmf(b, m * mu)
    return float((weight * flag).sum())


def test_steady_satisfied_buyers_are_rarely_flagged():
    """All alive, all satisfied, rates from 0.2 to 60 expected purchases per 90 days, and
    a third of them joined during the baseline: at most alpha = 5% may be flagged (the
    old rule flagged ~30%)."""
    rng = np.random.default_rng(20261231)
    n = 12_000
    mu = np.exp(rng.uniform(np.log(0.2), np.log(60), n))  # expected purchases per 90 days
    joined = ASOF - (rng.uniform(100, 720, n) * DAY).astype("timedelta64[us]")
    who, at = poisson_events(mu / 90, joined, ASOF, rng)
    got = score(who, at, n)
    assert got["satisfied"].all()
    flagged = got["satisfied_but_defecting"]
    assert flagged.mean() <= 0.05
    # and in every band of purchase rates, within sampling error
    for lo, hi in [(0.2, 2), (2, 8), (8, 20), (20, 60)]:
        band = (mu >= lo) & (mu < hi)
        share = flagged[band].mean()
        assert share <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / band.sum()), (lo, hi, share)


@pytest.mark.parametrize("ratio", [0.5, 0.0])
def test_power_against_a_real_fall_matches_the_exact_power(ratio):
    """Customers at fixed expected counts per 90 days halve (or stop) their buying when
    the recent window starts; with a steady rate assumed (rate_cv=0) the share flagged
    must be the test's exact power, and estimating rate_cv must cost little of it."""
    rng = np.random.default_rng(7 + int(ratio * 10))
    levels = np.array([2, 5, 10, 20, 40, 80], dtype=float)
    per = 1500
    mu = np.repeat(levels, per)
    n = len(mu)
    split = ASOF - 90 * DAY
    start = np.full(n, ASOF - 1000 * DAY)
    w1, t1 = poisson_events(mu / 90, start, np.full(n, split), rng)
    w2, t2 = poisson_events(ratio * mu / 90, np.full(n, split), np.full(n, ASOF), rng)
    who, at = np.concatenate([w1, w2]), np.concatenate([t1, t2])
    got = score(who, at, n, rate_cv=0)
    estimated = score(who, at, n)
    assert estimated["rate_cv"][0] < 0.05  # steady rates: next to no variation found
    measured = {}
    for i, level in enumerate(levels):
        band = slice(i * per, (i + 1) * per)
        flagged = got["satisfied_but_defecting"][band].mean()
        want = exact_power(level, ratio)
        measured[level] = flagged
        se = np.sqrt(max(want * (1 - want), 0.01) / per)
        assert abs(flagged - want) <= 4 * se, (level, flagged, want)
        assert estimated["satisfied_but_defecting"][band].mean() >= flagged - 0.03
    if ratio == 0.5:
        assert measured[40] >= 0.85 and measured[80] >= 0.99  # a halving: from ~30 per period
    else:
        assert measured[5] >= 0.85 and measured[10] >= 0.99  # a stop: from ~5 per period


def bursty_events(mu, cv_month, rng, months=15):
    """Buyers whose rate varies from month to month (gamma, coefficient of variation
    ``cv_month``) around ``mu`` purchases per 90 days, with no trend: nothing happened."""
    n = len(mu)
    who, at = [], []
    for m in range(months):  # a loop over the months
        start = ASOF - (30 * (months - m)) * DAY
        shape = 1 / cv_month**2
        wobble = rng.gamma(shape, 1 / shape, n)
        w, t = poisson_events(
            mu * wobble / 90, np.full(n, start), np.full(n, start + 30 * DAY), rng
        )
        who.append(w)
        at.append(t)
    return np.concatenate(who), np.concatenate(at)


def test_rates_that_drift_are_allowed_for_by_the_estimated_variation():
    """Steady on average but bursty buyers: a test that assumes a constant rate flags far
    more than alpha of them; with rate_cv estimated from the baseline it stays within
    alpha, and the estimate is the variation that was simulated."""
    rng = np.random.default_rng(31)
    mu = np.repeat([10.0, 30.0], 4000)
    who, at = bursty_events(mu, 0.5, rng)
    poisson = score(who, at, len(mu), rate_cv=0)
    estimated = score(who, at, len(mu))
    # monthly cv 0.5 -> over 90 days (3 independent months) 0.5 / sqrt(3)
    assert estimated["rate_cv"][0] == pytest.approx(0.5 / np.sqrt(3), abs=0.03)
    heavy = mu == 30
    assert poisson["satisfied_but_defecting"][heavy].mean() > 0.12
    for band in (mu == 10, heavy):
        assert estimated["satisfied_but_defecting"][band].mean() <= 0.05 + 3 * np.sqrt(
            0.05 * 0.95 / band.sum()
        )


def test_testable_says_when_even_a_stop_could_not_be_seen():
    # equal windows: a stop is significant at 5% only with >= 5 baseline purchases (2^-5);
    # both first bought before the baseline window, which is then observed in full
    a = np.array([-200, -170, -150, -130, -110, -100])
    b = np.array([-200, -150, -130, -110, -100])
    ev = {
        "customer": ["a"] * len(a) + ["b"] * len(b),
        "time": ASOF + np.concatenate([a, b]) * DAY,
        "rating": np.full(len(a) + len(b), 5.0),
    }
    got = satisfied_but_defecting(ev, asof=ASOF, period=90, baseline=90, rate_cv=0)
    for same in ("90 days", np.timedelta64(90, "D"), dt.timedelta(days=90)):
        again = satisfied_but_defecting(ev, asof=ASOF, period=same, baseline=same, rate_cv=0)
        assert again["p_value"].tolist() == got["p_value"].tolist()
    assert got["previous"].tolist() == [5, 4] and got["recent"].tolist() == [0, 0]
    assert got["previous_days"].tolist() == [90.0, 90.0]
    assert got["testable"].tolist() == [True, False]
    np.testing.assert_allclose(got["p_value"], [0.5**5, 0.5**4], rtol=1e-12)
    assert got["satisfied_but_defecting"].tolist() == [True, False]
