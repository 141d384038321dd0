"""loyalty_index: the material's measures as the data shows them, unknown kept unknown, and a
relative index next to an absolute one, against a pandas reference and a simulated truth.

Issue 12, item 7: a customer without a recorded enquiry before the first purchase used
to get 0 days to choose and the best score; the second measure was referrals instead of
trust in the service; and the only index was relative (percentile ranks).
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
from touchpoint.scoring import loyalty_index

ASOF = pd.Timestamp("2026-12-31")
MIDS = {"repeat": 2.0, "choose": 7.0, "recommend": 1.0}


def shop_blueprint() -> Blueprint:
    """Counter service rated 1-5 (service line), a 0-10 after-sales call (service), and
    the product rated 1-5 (product line: not a trust measure)."""

    def tp(code, line, scale, stage="transaction"):
        return Touchpoint(
            code=code,
            name=code.title(),
            category="people",
            stage=stage,
            line=line,
            channels=["store"],
            indicators=[ControlIndicator("rated", "Rated", kind="rating", target=1, scale=scale)],
        )

    return Blueprint(
        name="loyal-shop",
        stages=["consultation", "transaction", "cooperation"],
        touchpoints=[
            tp("COUNTER", "service", 5),
            tp("AFTERCALL", "service", 10, "cooperation"),
            tp("PRODUCT", "product", 5),
            Touchpoint(
                code="ENQUIRY",
                name="Enquiry",
                category="channel",
                stage="consultation",
                line="promotion",
                channels=["phone"],
            ),
        ],
    )


SCALES = {"COUNTER": (1, 5), "AFTERCALL": (0, 10), "PRODUCT": (1, 5)}


@st.composite
def events(draw):
    n = draw(st.integers(1, 50))

    def col(s):
        return draw(st.lists(s, min_size=n, max_size=n))

    tps = col(st.sampled_from(["COUNTER", "AFTERCALL", "PRODUCT", "ENQUIRY"]))
    ratings = [
        draw(
            st.sampled_from(
                [np.nan, 0.0, 3.0, 7.0, 10.0] if tp == "AFTERCALL" else [np.nan, 1.0, 4.0, 5.0]
            )
        )
        if tp != "ENQUIRY"
        else np.nan
        for tp in tps
    ]
    return pd.DataFrame(
        {
            "customer": pd.Series(col(st.sampled_from(["a", "b", "c", "d", "e"])), dtype=object),
            "time": ASOF - pd.to_timedelta(col(st.integers(-20, 400)), unit="D"),
            "touchpoint": pd.Series(tps, dtype=object),
            "outcome": pd.Series(
                col(st.sampled_from(["purchase", "purchase", "call", None])), dtype=object
            ),
            "amount": np.array(col(st.sampled_from([np.nan, 0.0, 30.0])), dtype=float),
            "rating": np.array(ratings, dtype=float),
            "promo": pd.Series(col(st.sampled_from([True, False, None])), dtype=object),
            "referrer": pd.Series(col(st.sampled_from([None, None, "a", "b", "x"])), dtype=object),
        }
    )


def prank(s, higher=True):
    # equal to 10 decimals is a tie (a mean summed in another order differs in its last bit)
    s = s.astype(float).round(10)
    s = s if higher else -s
    k = s.notna().sum()
    return (s.rank(method="average") - 1) / (k - 1) if k > 1 else s.where(s.isna(), 0.5)


def reference(df, asof, weights, service=("COUNTER", "AFTERCALL")):
    d = df[df["time"] <= asof]
    customers = pd.Index(df["customer"].unique())
    is_buy = (d["outcome"] == "purchase") | (d["outcome"].isna() & (d["amount"] > 0))
    buys = d[is_buy]
    n = buys.groupby("customer").size().reindex(customers, fill_value=0)
    repeat = (n - 1).clip(lower=0).astype(float)
    rated = d[d["rating"].notna() & d["touchpoint"].isin(service)]
    low = rated["touchpoint"].map(lambda tp: SCALES[tp][0])
    top = rated["touchpoint"].map(lambda tp: SCALES[tp][1])
    trust = ((rated["rating"] - low) / (top - low)).groupby(rated["customer"]).mean()
    trust = trust.reindex(customers)
    known_promo = buys[buys["promo"].notna()]
    promo = known_promo["promo"].astype(float).groupby(known_promo["customer"]).mean()
    promo = promo.reindex(customers)
    first_buy = buys.groupby("customer")["time"].min().reindex(customers).astype("<M8[ns]")
    before = d[~is_buy & (d["time"] < d["customer"].map(first_buy))]
    first_contact = before.groupby("customer")["time"].min().reindex(customers)
    choose = (first_buy - first_contact.astype("<M8[ns]")) / pd.Timedelta(days=1)
    first_ref = (
        d.dropna(subset=["referrer"])
        .sort_values("time", kind="stable")
        .groupby("customer")["referrer"]
        .first()
    )
    referred = first_ref.value_counts().reindex(customers, fill_value=0).astype(float)
    raw = {
        "repeat": repeat,
        "trust": trust,
        "price": promo,
        "choose": choose,
        "recommend": referred,
    }
    higher = {"repeat": True, "trust": True, "price": False, "choose": False, "recommend": True}
    absolute = {
        "repeat": repeat / (repeat + MIDS["repeat"]),
        "trust": trust,
        "price": 1 - promo,
        "choose": MIDS["choose"] / (MIDS["choose"] + choose),
        "recommend": referred / (referred + MIDS["recommend"]),
    }
    rel = pd.DataFrame({m: prank(v, higher[m]) for m, v in raw.items()})
    ab = pd.DataFrame(absolute)
    w = pd.Series({m: weights.get(m, 0.0) for m in raw})
    known = pd.DataFrame(raw).notna() & (w > 0)
    wsum = known.mul(w).sum(axis=1)
    out = pd.DataFrame(
        {
            "repeat": repeat,
            "trust": trust,
            "promo_share": promo,
            "days_to_choose": choose,
            "referred": referred,
            "measures": known.sum(axis=1),
            "loyalty_index": 100 * rel.where(known, 0).mul(w).sum(axis=1) / wsum,
            "loyalty_absolute": 100 * ab.where(known, 0).mul(w).sum(axis=1) / wsum,
        }
    )
    for m in raw:
        out[f"{m}_rank"] = rel[m]
        out[f"{m}_absolute"] = ab[m]
    return out


@settings(max_examples=80, deadline=None)
@given(
    events(),
    st.sampled_from(
        [
            {"repeat": 1, "trust": 1, "price": 1, "choose": 1},
            {"repeat": 2, "trust": 0.5, "price": 0, "choose": 1, "recommend": 1},
        ]
    ),
)
def test_matches_pandas(df, weights):
    got = loyalty_index(df, asof=ASOF, blueprint=shop_blueprint(), weights=weights)
    got = got.to_pandas().set_index("customer")
    want = reference(df, ASOF, weights)
    for name in want.columns:
        np.testing.assert_allclose(
            got.loc[want.index, name].astype(float),
            want[name].astype(float),
            rtol=1e-12,
            equal_nan=True,
            err_msg=name,
        )


def test_an_enquiry_not_recorded_is_unknown_not_the_best():
    # a asked on Jan 1 and bought on Jan 8; b's enquiry was not recorded; c has no purchase
    ev = {
        "customer": ["a", "a", "a", "b", "b", "c"],
        "time": [
            "2026-01-01",
            "2026-01-08",
            "2026-03-01",
            "2026-01-08",
            "2026-03-01",
            "2026-01-02",
        ],
        "outcome": ["enquiry", "purchase", "purchase", "purchase", "purchase", "enquiry"],
    }
    li = loyalty_index(ev)
    assert li["days_to_choose"][0] == 7.0
    assert np.isnan(li["days_to_choose"][1]) and np.isnan(li["days_to_choose"][2])
    assert li["measures"].tolist() == [2, 1, 1]
    assert np.isnan(li["choose_rank"][1])
    # b's index is their repeat purchases alone: tied with a there (0.75), nothing better
    assert li["loyalty_index"][1] == 75.0
    assert li["loyalty_absolute"][1] == pytest.approx(100 * 1 / 3)
    # a: repeat 0.75 and choose 0.5 (the only one known) -> 62.5; absolute (1/3 + 7/14) / 2
    assert li["loyalty_index"][0] == 62.5
    assert li["loyalty_absolute"][0] == pytest.approx(100 * (1 / 3 + 0.5) / 2)


def test_recording_enquiries_does_not_make_a_store_look_less_loyal():
    """Two stores with the same customers; one records enquiries (a week before buying),
    the other does not. The unrecorded store's customers must not gain the best
    time-to-choose for it."""
    rng = np.random.default_rng(12)
    n = 200
    bought = pd.Timestamp("2026-02-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    again = rng.integers(0, 4, n)
    rows = []
    for store in ("records", "does-not"):  # a loop over two stores
        ids = [f"{store}-{i}" for i in range(n)]
        rows.append(pd.DataFrame({"customer": ids, "time": bought, "outcome": "purchase"}))
        rows.append(
            pd.DataFrame(
                {
                    "customer": np.repeat(ids, again),
                    "time": np.repeat(bought, again) + pd.to_timedelta(30, unit="D"),
                    "outcome": "purchase",
                }
            )
        )
        if store == "records":
            rows.append(
                pd.DataFrame(
                    {"customer": ids, "time": bought - pd.Timedelta(days=7), "outcome": "enquiry"}
                )
            )
    li = loyalty_index(pd.concat(rows, ignore_index=True)).to_pandas()
    store = li["customer"].str.split("-").str[0]
    by_store = li.groupby(store)
    assert by_store["days_to_choose"].count().to_dict() == {"does": 0, "records": n}
    # the unrecorded store's customers are ranked on what is known: their repeat purchases
    nope = li[store == "does"]
    np.testing.assert_allclose(nope["loyalty_index"], 100 * nope["repeat_rank"])


def test_trust_reads_service_ratings_on_their_own_scales():
    bp = shop_blueprint()
    ev = {
        "customer": ["a", "a", "a", "b", "b"],
        "time": ["2026-01-01"] * 5,
        "touchpoint": ["COUNTER", "AFTERCALL", "PRODUCT", "AFTERCALL", "PRODUCT"],
        "rating": [5.0, 5.0, 1.0, 9.0, 5.0],
    }
    li = loyalty_index(ev, blueprint=bp)
    # a: counter 5 of 1-5 -> 1.0, after-sales 5 of 0-10 -> 0.5; the product rating is not service
    assert li["trust"].tolist() == [0.75, 0.9]
    # without a blueprint every rating counts, all on the 1-5 default: a 9 is refused
    with pytest.raises(ValidationError, match=r"rating\[3\].*outside.*1-5.*9"):
        loyalty_index(ev)
    li = loyalty_index(ev, scale={"AFTERCALL": 10}, service=["AFTERCALL"])
    assert li["trust"].tolist() == [0.5, 0.9]
    li = loyalty_index({k: v for k, v in ev.items() if k != "rating"}, blueprint=bp)
    assert "trust" not in li and li["measures"].tolist() == [1, 1]


def test_promotion_flags_unknown_stay_unknown():
    ev = pd.DataFrame(
        {
            "customer": ["a"] * 4 + ["b"] * 2 + ["c"],
            "time": pd.Timestamp("2026-01-01"),
            "promo": pd.Series([True, None, False, False, None, None, "yes"], dtype=object),
        }
    )
    li = loyalty_index(ev)
    np.testing.assert_allclose(li["promo_share"], [1 / 3, np.nan, 1.0])
    assert li["measures"].tolist() == [2, 1, 2]
    discounts = loyalty_index(ev.assign(promo=[5.0, np.nan, 0.0, 0.0, np.nan, np.nan, 2.5]))
    np.testing.assert_allclose(discounts["promo_share"], [1 / 3, np.nan, 1.0])
    nullable = loyalty_index(ev.assign(promo=pd.array([1, None, 0, 0, None, None, 1], "boolean")))
    np.testing.assert_allclose(nullable["promo_share"], [1 / 3, np.nan, 1.0])
    with pytest.raises(ValidationError, match=r"promo\[2\].*promotion.*maybe"):
        loyalty_index(ev.assign(promo=[True, None, "maybe", False, None, None, True]))


def test_a_transaction_log_has_no_time_to_choose():
    ev = {
        "customer": ["a", "a", "b"],
        "time": ["2026-01-01", "2026-02-01", "2026-01-03"],
        "amount": [0.0, 10.0, 5.0],
    }
    li = loyalty_index(ev)  # no outcome column: every event is a purchase
    assert li["repeat"].tolist() == [1, 0] and np.isnan(li["days_to_choose"]).all()
    assert li["loyalty_index"].tolist() == [100.0, 0.0]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"weights": {"repeat": 1, "recommendations": 1}}, "recommendations"),
        ({"weights": {"repeat": -1}}, r"weights\['repeat'\]"),
        ({"weights": {"repeat": 0}}, "at least one"),
        ({"midpoints": {"choose": 0}}, r"midpoints\['choose'\]"),
        ({"midpoints": {"trust": 1}}, r"midpoints\['trust'\]"),
        ({"purchases": "purchase"}, "purchases"),
        ({"service": "COUNTER"}, "service"),
    ],
)
def test_bad_arguments_are_named(kw, match):
    ev = {"customer": ["a"], "time": ["2026-01-01"], "rating": [4.0], "touchpoint": ["COUNTER"]}
    with pytest.raises(ValidationError, match=match):
        loyalty_index(ev, **kw)


def test_service_ratings_need_the_touchpoint_column():
    ev = {"customer": ["a"], "time": ["2026-01-01"], "rating": [4.0]}
    for kw in ({"service": ["COUNTER"]}, {"blueprint": shop_blueprint()}):
        with pytest.raises(ValidationError, match="touchpoint"):
            loyalty_index(ev, **kw)


# --------------------------------------------------------------------------- relative and absolute


@settings(max_examples=60, deadline=None)
@given(events(), st.sets(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1))
def test_the_absolute_index_depends_on_the_customer_alone(df, keep):
    """Scoring a subset of customers (one store) leaves each one's absolute index as it
    was in the whole population; the relative one is a place among whoever is scored."""
    df = df.assign(referrer=None)  # referrals are counted from other customers' events
    part = df[df["customer"].isin(keep)]
    if part.empty:
        return
    bp = shop_blueprint()
    whole = loyalty_index(df, asof=ASOF, blueprint=bp).to_pandas().set_index("customer")
    some = loyalty_index(part, asof=ASOF, blueprint=bp).to_pandas().set_index("customer")
    cols = [
        "loyalty_absolute",
        "repeat_absolute",
        "trust_absolute",
        "price_absolute",
        "choose_absolute",
        "measures",
    ]
    pd.testing.assert_frame_equal(some[cols], whole.loc[some.index, cols], check_exact=True)


def simulated_store(n, a, b, rng, prefix):
    """Customers with a known loyalty L ~ Beta(a, b) that drives every measure."""
    loyal = rng.beta(a, b, n)
    ids = np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    first = ASOF - pd.to_timedelta(rng.uniform(200, 365, n), unit="D")
    buys = 1 + rng.poisson(0.5 + 8 * loyal)
    who = np.repeat(np.arange(n), buys)
    offset = np.where(
        np.r_[True, who[1:] != who[:-1]], 0.0, rng.uniform(1, 180, len(who))
    )  # the first purchase first, the others after it
    t_buy = first[who] + pd.to_timedelta(offset, unit="D")
    promo = rng.random(len(who)) < 0.8 - 0.6 * loyal[who]
    recorded = rng.random(n) < 0.7  # an enquiry on record for 70% of customers
    days = rng.exponential(1 + 30 * (1 - loyal))
    rated = rng.random(n) < 0.8
    level = np.clip(np.round(1 + 4 * loyal + rng.normal(0, 0.7, n)), 1, 5)
    return loyal, pd.concat(
        [
            pd.DataFrame(
                {
                    "customer": ids[who],
                    "time": t_buy,
                    "outcome": "purchase",
                    "promo": promo,
                    "touchpoint": "PRODUCT",
                    "rating": np.nan,
                }
            ),
            pd.DataFrame(
                {
                    "customer": ids[recorded],
                    "time": first[recorded] - pd.to_timedelta(days[recorded], unit="D"),
                    "outcome": "enquiry",
                    "promo": None,
                    "touchpoint": "ENQUIRY",
                    "rating": np.nan,
                }
            ),
            pd.DataFrame(
                {
                    "customer": ids[rated],
                    "time": first[rated] + pd.Timedelta(days=1),
                    "outcome": "survey",
                    "promo": None,
                    "touchpoint": "COUNTER",
                    "rating": level[rated],
                }
            ),
        ],
        ignore_index=True,
    )


def test_a_simulated_truth_the_absolute_index_compares_stores_the_relative_cannot():
    rng = np.random.default_rng(2026)
    bp = shop_blueprint()
    truth_a, store_a = simulated_store(1500, 5, 2, rng, "A")  # mostly loyal customers
    truth_b, store_b = simulated_store(1500, 2, 5, rng, "B")  # mostly not
    a = loyalty_index(store_a, asof=ASOF, blueprint=bp)
    b = loyalty_index(store_b, asof=ASOF, blueprint=bp)
    # each store ranked on its own averages ~50 whatever its customers are like
    assert abs(np.mean(a["loyalty_index"]) - 50) < 2 and abs(np.mean(b["loyalty_index"]) - 50) < 2
    # the absolute index sees the difference, in the direction of the truth
    assert np.mean(a["loyalty_absolute"]) - np.mean(b["loyalty_absolute"]) > 15
    # and follows each customer's loyalty (rank correlation with the truth)
    both = loyalty_index(pd.concat([store_a, store_b]), asof=ASOF, blueprint=bp).to_pandas()
    truth = pd.Series(np.r_[truth_a, truth_b], index=[*a["customer"], *b["customer"]])
    rho = both.set_index("customer")["loyalty_absolute"].corr(truth, method="spearman")
    assert rho > 0.7
    np.testing.assert_allclose(both["loyalty_absolute"][: len(truth_a)], a["loyalty_absolute"])


def test_referrals_from_an_event_frame_with_shared_categories():
    from touchpoint.frame import EventFrame

    ids = np.array(["a", "b", "c", "d"], dtype=object)
    cust = np.array([0, 1, 2, 3, 3])
    ref = np.array([-1, 0, 0, 1, -1])
    times = np.array(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"])
    shared = EventFrame(
        {"customer": cust, "referrer": ref, "time": times.astype("datetime64[us]")},
        {"customer": ids, "referrer": ids},
    )
    plain = {"customer": ids[cust], "referrer": [None, "a", "a", "b", None], "time": times}
    assert loyalty_index(shared)["referred"].tolist() == [2, 1, 0, 0]
    assert loyalty_index(plain)["referred"].tolist() == [2, 1, 0, 0]


def test_equal_mean_ratings_tie_whatever_the_summation_order():
    # a's trust is the mean of 1, 1, 0.7, 0.7 (0.8500000000000001 summed in that order)
    # and e's of 1, 0.7 (0.85): equal means must share the mid-rank (found by hypothesis)
    ev = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "a", "e", "e"],
            "time": pd.to_datetime(["2026-12-31"] * 6),
            "touchpoint": ["COUNTER", "COUNTER", "AFTERCALL", "AFTERCALL", "COUNTER", "AFTERCALL"],
            "outcome": ["purchase"] * 6,
            "rating": [5.0, 5.0, 7.0, 7.0, 5.0, 7.0],
            "promo": [True] * 6,
        }
    )
    got = loyalty_index(ev, asof=ASOF, blueprint=shop_blueprint()).to_pandas()
    got = got.set_index("customer")
    assert got.loc["a", "trust"] == pytest.approx(0.85, rel=1e-12)
    assert got.loc["e", "trust"] == pytest.approx(0.85, rel=1e-12)
    assert got.loc["a", "trust_rank"] == got.loc["e", "trust_rank"] == 0.5


def test_percentile_rank_ties_values_equal_to_ten_decimals():
    from touchpoint.scoring.parts import percentile_rank

    values = np.array([0.85, (1 + 1 + 0.7 + 0.7) / 4, 0.1, np.nan])  # 0.85 and 0.85 + 1 ulp
    assert percentile_rank(values).tolist()[:3] == [0.75, 0.75, 0.0]
    assert percentile_rank(values, higher_is_better=False).tolist()[:3] == [0.25, 0.25, 1.0]
