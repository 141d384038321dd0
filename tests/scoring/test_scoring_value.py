"""Pyramid, Pareto curve and simple lifetime value against independent references."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scoring import (
    lifetime_value,
    pareto,
    pyramid,
    pyramid_summary,
    simple_clv,
    top_share,
)

values = st.lists(
    st.one_of(st.none(), st.sampled_from([0.0, 10.0, 50.0]), st.floats(0, 1e6)), max_size=60
)


def reference_pyramid(v, shares, names):
    s = pd.Series(v, dtype=float)
    n = s.notna().sum()
    bounds = [int(np.floor(n * c + 0.5)) for c in np.cumsum(shares)[:-1]]
    first_rank = s.rank(method="min", ascending=False)  # 1 + number of strictly greater values
    tiers = []
    for r in first_rank:
        if np.isnan(r):
            tiers.append("none")
        else:
            tiers.append(names[sum(int(r) - 1 >= b for b in bounds)])
    return tiers, first_rank.fillna(0).astype(int).tolist()


@given(
    values,
    st.sampled_from(
        [
            ((0.01, 0.04, 0.15, 0.80), ("key", "major", "ordinary", "small")),
            ((0.2, 0.3, 0.5), ("a", "b", "c")),
            ((1.0,), ("all",)),
        ]
    ),
)
def test_pyramid_matches_reference(v, config):
    shares, names = config
    arr = np.array([np.nan if x is None else x for x in v], dtype=float)
    p = pyramid(
        {"customer": np.arange(len(arr)), "monetary": arr}, shares=shares, tiers=names, ranks=True
    )
    tiers, ranks = reference_pyramid(arr, shares, names)
    assert p["tier"].tolist() == tiers
    assert p["rank"].tolist() == ranks


def test_pyramid_default_shares_on_1000_distinct_customers():
    v = np.arange(1000, dtype=float)[::-1]  # customer i has value 999 - i
    p = pyramid({"customer": np.arange(1000), "monetary": v})
    counts = pd.Series(p["tier"]).value_counts()
    assert counts.to_dict() == {"small": 800, "ordinary": 150, "major": 40, "key": 10}
    assert set(p["tier"][:10]) == {"key"}


def test_pyramid_ties_never_split():
    p = pyramid(
        {"customer": list("abcd"), "monetary": [5.0, 5.0, 5.0, 1.0]},
        shares=[0.25, 0.75],
        tiers=["top", "rest"],
    )
    assert p["tier"].tolist() == ["top", "top", "top", "rest"]


def test_pyramid_summary_adds_up():
    rng = np.random.default_rng(3)
    v = rng.pareto(1.2, 500) * 100
    p = pyramid({"customer": np.arange(500), "monetary": v})
    s = pyramid_summary(p)
    ref = pd.DataFrame({"tier": p["tier"], "v": v}).groupby("tier")["v"].agg(["size", "sum"])
    for name, customers, total in zip(s["tier"], s["customers"], s["value"], strict=True):
        if name == "none":
            assert customers == 0
        else:
            assert customers == ref.loc[name, "size"]
            assert total == pytest.approx(ref.loc[name, "sum"], rel=1e-12)
    assert s["value_share"].sum() == pytest.approx(1.0)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=40))
def test_pareto_at_exact_points_is_sum_of_top_values(v):
    arr = np.array(v)
    n = len(arr)
    c = pareto({"customer": np.arange(n), "monetary": arr}, points=n + 1)
    total = arr.sum()
    top = np.sort(arr)[::-1]
    for i in range(n + 1):
        expected = top[:i].sum() / total if total else i / n
        assert c["value_share"][i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert np.all(np.diff(c["value_share"]) >= -1e-12)


def test_top_share_and_bad_values():
    v = {"customer": list("abcdefghij"), "monetary": [60, 20, 5, 5, 2, 2, 2, 2, 1, 1]}
    assert top_share(v, top=0.2) == pytest.approx(0.8)
    with pytest.raises(ValidationError, match=r"monetary\[1\].*-3"):
        pareto({"customer": [1, 2], "monetary": [1.0, -3.0]})
    with pytest.raises(ValidationError, match="sum to 1"):
        pyramid(v, shares=[0.5, 0.4], tiers=["a", "b"])


def test_the_materials_lifetime_value_is_exact():
    assert lifetime_value(40, 52, 30) == 62_400
    out = simple_clv({"customer": ["shopper"], "average": [40.0], "frequency": [52]}, lifespan=30)
    assert out["clv"].tolist() == [62_400.0]


def test_discounted_lifetime_value_is_the_sum_of_discounted_years():
    reference = sum(40 * 52 / 1.08**t for t in range(1, 31))
    assert lifetime_value(40, 52, 30, discount_rate=0.08) == pytest.approx(reference, rel=1e-12)


def test_simple_clv_per_customer_lifespan_column_and_years_observed():
    data = {
        "customer": ["a", "b"],
        "average": [10.0, np.nan],
        "frequency": [24, 6],
        "life": [2.0, 5.0],
    }
    out = simple_clv(data, lifespan="life", years_observed=2.0)
    assert out["annual_value"][0] == 120.0 and out["clv"][0] == 240.0
    assert np.isnan(out["clv"][1])
    with pytest.raises(ValidationError, match="spend"):
        lifetime_value(-1, 2, 3)
