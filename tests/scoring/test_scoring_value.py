"""Pyramid, Pareto curve and simple lifetime value against independent references."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint._threads import set_threads
from touchpoint.errors import ValidationError
from touchpoint.scoring import _ties as ties
from touchpoint.scoring import _value as value_module
from touchpoint.scoring import (
    lifetime_value,
    pareto,
    pyramid,
    pyramid_summary,
    simple_clv,
    top_share,
)
from touchpoint.scoring._value import DEFAULT_SHARES as DEFAULT_SHARES_
from touchpoint.scoring.parts import tie_hash

values = st.lists(
    st.one_of(st.none(), st.sampled_from([0.0, 10.0, 50.0]), st.floats(0, 1e6)), max_size=60
)
CONFIGS = [
    ((0.01, 0.04, 0.15, 0.80), ("key", "major", "ordinary", "small")),
    ((0.2, 0.3, 0.5), ("a", "b", "c")),
    ((0.25, 0.0, 0.75), ("a", "empty", "c")),
    ((1.0,), ("all",)),
    ((0.05,) * 20, tuple(f"t{i:02d}" for i in range(20))),  # past 16 cuts: binary search
]
MASK = (1 << 64) - 1


def splitmix64(x):
    """SplitMix64's output function, in plain Python integers (the documented hash)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_hash(customer):
    if isinstance(customer, int | np.integer):
        return splitmix64(int(customer) & MASK)
    h = 0xCBF29CE484222325
    for ch in str(customer).rstrip("\x00"):  # FNV-1a over the code points
        h = ((h ^ ord(ch)) * 0x100000001B3) & MASK
    return splitmix64(h)


def reference_pyramid(ids, v, shares, names):
    """Sort everyone by (value desc, hash, id) and cut at round(n * cumulative share)."""
    rows = [(i, x) for i, x in zip(ids, v, strict=True) if not np.isnan(x)]
    rows.sort(key=lambda r: (-r[1], reference_hash(r[0]), r[0]))
    n = len(rows)
    bounds = [int(np.floor(n * c + 0.5)) for c in np.cumsum(shares)[:-1]]
    tier = {i: names[sum(pos >= b for b in bounds)] for pos, (i, _) in enumerate(rows)}
    rank = {i: pos + 1 for pos, (i, _) in enumerate(rows)}
    return [tier.get(i, "none") for i in ids], [rank.get(i, 0) for i in ids]


@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),
    st.lists(st.integers(0, 2**64 - 1), max_size=20),
    st.lists(st.text(max_size=6), max_size=20),
)
def test_tie_hash_is_its_documented_definition(signed, unsigned, texts):
    got = tie_hash(np.array(signed, dtype=np.int64)).tolist()
    assert got == [splitmix64(x & MASK) for x in signed]
    assert tie_hash(np.array(unsigned, dtype=np.uint64)).tolist() == list(map(splitmix64, unsigned))
    assert tie_hash(np.array(texts, dtype=object)).tolist() == [reference_hash(t) for t in texts]


@given(values, st.sampled_from(CONFIGS), st.booleans())
def test_pyramid_matches_reference(v, config, text_ids):
    shares, names = config
    arr = np.array([np.nan if x is None else x for x in v], dtype=float)
    ids = [f"C{i:03d}" for i in range(len(arr))] if text_ids else list(range(len(arr)))
    id_col = np.array(ids, dtype=object) if text_ids else np.arange(len(arr))
    p = pyramid({"customer": id_col, "monetary": arr}, shares=shares, tiers=names, ranks=True)
    tiers, ranks = reference_pyramid(ids, arr, shares, names)
    assert p["tier"].tolist() == tiers
    assert p["rank"].tolist() == ranks


@given(
    st.lists(st.one_of(st.sampled_from([1.0, 2.0, 2.0, 7.0]), st.floats(0, 100), st.just(np.nan))),
    st.sampled_from(CONFIGS),
    st.randoms(use_true_random=False),
)
def test_pyramid_keeps_its_shares_under_any_ties_in_any_row_order(v, config, rnd):
    shares, names = config
    arr = np.array(v, dtype=float)
    ids = np.arange(len(arr)) * 7 + 3
    p = pyramid({"customer": ids, "monetary": arr}, shares=shares, tiers=names)
    n = int((~np.isnan(arr)).sum())
    bounds = np.floor(n * np.cumsum(shares)[:-1] + 0.5).astype(int)
    sizes = np.diff(np.r_[0, bounds, n])  # round(n x cumulative share) differences
    counts = pd.Series(p["tier"]).value_counts()
    assert [int(counts.get(name, 0)) for name in names] == sizes.tolist()
    assert int(counts.get("none", 0)) == len(arr) - n
    # another row order: every customer keeps their tier
    perm = list(range(len(arr)))
    rnd.shuffle(perm)
    q = pyramid({"customer": ids[perm], "monetary": arr[perm]}, shares=shares, tiers=names)
    assert dict(zip(q["customer"].tolist(), q["tier"].tolist(), strict=True)) == dict(
        zip(p["customer"].tolist(), p["tier"].tolist(), strict=True)
    )
    # and a higher value never sits in a lower tier
    order = {name: i for i, name in enumerate([*names, "none"])}
    code = np.array([order[t] for t in p["tier"].tolist()])
    ok = ~np.isnan(arr)
    higher = arr[ok][:, None] > arr[ok][None, :]
    assert not (higher & (code[ok][:, None] > code[ok][None, :])).any()


def test_pyramid_default_shares_on_1000_distinct_customers():
    v = np.arange(1000, dtype=float)[::-1]  # customer i has value 999 - i
    p = pyramid({"customer": np.arange(1000), "monetary": v})
    counts = pd.Series(p["tier"]).value_counts()
    assert counts.to_dict() == {"small": 800, "ordinary": 150, "major": 40, "key": 10}
    assert set(p["tier"][:10]) == {"key"}


def test_the_issues_ties_keep_the_shares():
    """100 equal customers were 100% key; 3 tied at the top and 97 below made 97 major."""
    equal = pyramid({"customer": np.arange(100), "monetary": np.full(100, 5.0)})
    counts = pd.Series(equal["tier"].tolist()).value_counts().to_dict()
    assert counts == {"key": 1, "major": 4, "ordinary": 15, "small": 80}
    v = np.r_[np.full(3, 10.0), np.full(97, 1.0)]
    two = pyramid({"customer": [f"c{i}" for i in range(100)], "monetary": v}).to_pandas()
    assert two["tier"].astype(str).value_counts().to_dict() == counts
    top = two[two["value"] == 10.0]["tier"].astype(str).value_counts().to_dict()
    assert top == {"key": 1, "major": 2}  # the three best customers come first


def test_pyramid_ties_are_split_by_the_id_hash():
    ids = ["a", "b", "c", "d"]
    p = pyramid(
        {"customer": ids, "monetary": [5.0, 5.0, 5.0, 1.0]},
        shares=[0.25, 0.75],
        tiers=["top", "rest"],
    )
    first = min(ids[:3], key=reference_hash)  # the smallest hash among the tied three
    assert p["tier"].tolist() == ["top" if i == first else "rest" for i in ids]


def test_pyramid_value_shares_agree_with_the_pareto_curve():
    """With exact tier sizes, the top tiers' share of value is the curve at their share."""
    rng = np.random.default_rng(4)
    v = np.round(rng.pareto(1.1, 2000) * 20)  # whole amounts: many ties, most at 0
    data = {"customer": np.arange(2000), "monetary": v}
    s = pyramid_summary(pyramid(data))
    curve = pareto(data, points=2001)["value_share"]
    bounds = np.floor(2000 * np.cumsum(DEFAULT_SHARES_) + 0.5).astype(int)
    cumulative = np.cumsum(s["value_share"][:4])
    np.testing.assert_allclose(cumulative, curve[bounds], rtol=1e-12)


@given(
    st.lists(st.sampled_from([1.0, 2.0, 3.0]), max_size=40),
    st.sampled_from(CONFIGS),
    st.randoms(use_true_random=False),
)
def test_equal_hashes_are_ordered_by_id(v, config, rnd):
    """A weak hash (three values) makes hash collisions common: the id then decides."""
    real = ties.tie_hash
    shares, names = config
    arr = np.array(v)
    ids = [f"id{i:02d}" for i in range(len(arr))]
    rnd.shuffle(ids)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ties, "tie_hash", lambda ids: real(ids) % np.uint64(3))
        p = pyramid({"customer": ids, "monetary": arr}, shares=shares, tiers=names, ranks=True)
    rows = sorted(zip(arr, ids, strict=True), key=lambda r: (-r[0], reference_hash(r[1]) % 3, r[1]))
    n = len(rows)
    bounds = [int(np.floor(n * c + 0.5)) for c in np.cumsum(shares)[:-1]]
    want = {i: names[sum(pos >= b for b in bounds)] for pos, (_, i) in enumerate(rows)}
    assert p["tier"].tolist() == [want[i] for i in ids]
    assert p["rank"].tolist() == [1 + [r[1] for r in rows].index(i) for i in ids]


def test_a_repeated_customer_splitting_a_tie_is_an_error():
    with pytest.raises(ValidationError, match="more than one row") as err:
        pyramid(
            {"customer": [7, 7, 8], "monetary": [5.0, 5.0, 1.0]},
            shares=[0.34, 0.66],
            tiers=["top", "rest"],
        )
    assert err.value.problems[0].value == 7


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


chunked_values = st.lists(
    st.one_of(st.sampled_from([0.0, -0.0, 1.0, 10.0, 1e300, np.inf]), st.floats(0, 1e6)),
    min_size=1,
    max_size=80,
)


@given(chunked_values, st.integers(1, 7))
def test_pareto_top_sums_from_sorted_chunks_equal_the_sorted_prefix_sums(v, parts):
    """The curve's top-i sums, read from separately sorted chunks without merging them,
    equal the sums of the i highest values of one sorted copy, for every i (ties,
    zeros, -0.0, infinities and huge values included)."""
    arr = np.array(v) + 0.0
    chunks = [np.sort(c) for c in np.array_split(arr, parts)]
    i = np.arange(len(arr) + 1)
    got = value_module._top_sums(chunks, i)
    desc = np.sort(arr)[::-1]
    with np.errstate(invalid="ignore"):
        expected = np.concatenate(([0.0], np.cumsum(desc)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_pareto_is_the_same_on_one_thread_and_on_all(monkeypatch):
    """Chunks depend on the data size only: 1 thread and 4 give bit-equal curves."""
    monkeypatch.setattr(value_module, "_SORT_CHUNK", 1000)
    rng = np.random.default_rng(8)
    v = np.round(rng.pareto(1.16, 20_000) * 100, 2)
    v[rng.random(len(v)) < 0.01] = np.nan
    data = {"customer": np.arange(len(v)), "monetary": v}
    with set_threads(1):
        one = pareto(data, points=1001)["value_share"]
    with set_threads(4):
        four = pareto(data, points=1001)["value_share"]
    np.testing.assert_array_equal(one, four)
    kept = np.sort(v[~np.isnan(v)])[::-1]
    n = len(kept)
    expected = np.interp(
        np.linspace(0, 1, 1001), np.arange(n + 1) / n, np.concatenate(([0.0], np.cumsum(kept)))
    )
    np.testing.assert_allclose(one, expected / kept.sum(), rtol=1e-12)
