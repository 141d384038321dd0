"""rfm / rfm_scores / rfm_segments against a straightforward pandas reference."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import touchpoint
from touchpoint._threads import available_cores, set_threads
from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame, _grouped
from touchpoint.scoring import DEFAULT_SEGMENTS, rfm, rfm_scores, rfm_segments
from touchpoint.scoring.parts import METHODS, quantile_scores, tie_hash

BASE = np.datetime64("2026-01-01T00:00", "us")


@st.composite
def events(draw):
    n = draw(st.integers(0, 40))
    cust = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 60), min_size=n, max_size=n))
    amounts = draw(
        st.lists(
            st.one_of(st.just(float("nan")), st.sampled_from([0.0, 5.0, 10.0]), st.floats(0, 1e4)),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame(
        {
            "cust": pd.Series(cust, dtype=object),
            "ts": BASE + np.array(minutes, dtype="timedelta64[m]"),
            "paid": np.array(amounts, dtype=float),
        }
    )


def reference_rfm(df, asof):
    df = df[df["ts"] <= asof]
    g = df.groupby("cust")
    out = pd.DataFrame(
        {
            "frequency": g.size(),
            "monetary": g["paid"].apply(lambda s: s.fillna(0).sum()),
            "last": g["ts"].max(),
            "amount_missing": g["paid"].apply(lambda s: s.isna().sum()),
        }
    )
    out["recency"] = [float((asof - t).days) for t in out["last"]]
    out["average"] = out["monetary"] / out["frequency"]
    return out


@given(events(), st.integers(0, 70))
def test_rfm_matches_pandas(df, asof_day):
    asof = pd.Timestamp("2026-01-01") + pd.Timedelta(days=asof_day, hours=7)
    got = rfm(df, customer="cust", time="ts", amount="paid", asof=asof.to_pydatetime()).to_pandas()
    got = got.set_index("customer")
    ref = reference_rfm(df, asof)
    # every customer of the input appears; those with no event before asof are empty
    assert sorted(got.index) == sorted(df["cust"].unique())
    empty = got.loc[~got.index.isin(ref.index)]
    assert (
        (empty["frequency"] == 0).all()
        and empty["recency"].isna().all()
        and (empty["monetary"] == 0).all()
    )
    got = got.loc[ref.index]
    np.testing.assert_array_equal(got["frequency"], ref["frequency"])
    np.testing.assert_array_equal(got["recency"], ref["recency"])
    np.testing.assert_allclose(got["monetary"], ref["monetary"], rtol=1e-12)
    np.testing.assert_allclose(got["average"], ref["average"], rtol=1e-12)
    np.testing.assert_array_equal(got["amount_missing"], ref["amount_missing"])
    np.testing.assert_array_equal(got["last"].to_numpy(), ref["last"].to_numpy())


def test_hand_worked_single_customer_and_default_asof():
    r = rfm(
        {
            "customer": ["only"] * 3,
            "time": ["2026-03-01", "2026-03-05T23:00", "2026-03-02"],
            "amount": [10, 20, 30],
        }
    )
    assert r.row("only")["recency"] == 0.0
    assert r.row("only")["frequency"] == 3 and r.row("only")["monetary"] == 60.0
    assert r.row("only")["average"] == 20.0


def test_coded_frame_and_polars_give_the_same_result():
    df = pd.DataFrame(
        {
            "customer": ["x", "y", "x"],
            "time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    a = rfm(df, asof="2026-01-10")
    b = rfm(EventFrame.from_data(df), asof="2026-01-10")
    c = rfm(pl.from_pandas(df), asof=np.datetime64("2026-01-10"))
    assert a == b == c


def test_empty_groups_from_frame_categories():
    frame = EventFrame(
        {
            "customer": np.array([1, 1]),
            "time": np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[us]"),
            "amount": np.array([1.0, 2.0]),
        },
        {"customer": np.array(["never", "twice"], dtype=object)},
    )
    r = rfm(frame, asof="2026-01-03")
    assert r.row("never")["frequency"] == 0 and np.isnan(r.row("never")["recency"])
    assert r.row("twice")["recency"] == 1.0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {"customer": ["a", "b"], "time": ["2026-01-01"] * 2, "amount": [1.0, -2.0]},
            r"amount\[1\].*-2",
        ),
        (
            {"customer": ["a", None], "time": ["2026-01-01"] * 2, "amount": [1.0, 2.0]},
            r"customer\[1\]",
        ),
        (
            {"customer": ["a", "b"], "time": ["2026-01-01", "NaT"], "amount": [1.0, 2.0]},
            r"time\[1\]",
        ),
        (
            {"customer": ["a", "b", "c"], "time": ["2026-01-01"] * 2, "amount": [1.0, 2.0]},
            "differ in length",
        ),
    ],
)
def test_bad_input_names_column_and_value(data, match):
    with pytest.raises(ValidationError, match=match):
        rfm(data, asof="2026-02-01")


# ------------------------------------------------------------------ purchases only


def test_rfm_of_a_workspace_counts_purchases_not_calls():
    """Issue 12, item 9: one 10.00 purchase and two calls is one purchase of 10.00."""
    ws = touchpoint.open("memory://")
    ws.record_batch(
        {
            "event_id": ["p1", "c1", "c2", "p2"],
            "customer": ["C1", "C1", "C1", "C2"],
            "touchpoint": ["T1", "T2", "T2", "T1"],
            "time": ["2026-03-01", "2026-03-04", "2026-03-11", "2026-03-05"],
            "amount": [10.0, None, None, 7.5],
            "outcome": ["purchase", "call", "call", "purchase"],
        }
    ).raise_for_rejected()
    r = rfm(ws.interactions())
    assert r.row("C1")["frequency"] == 1
    assert r.row("C1")["monetary"] == 10.0 and r.row("C1")["average"] == 10.0
    # the default asof is the latest event of any kind (the call of 11 March)
    assert r.row("C1")["recency"] == 10.0 and r.row("C2")["recency"] == 6.0
    assert r.row("C1")["last"] == np.datetime64("2026-03-01", "us")
    every = rfm(ws.interactions(), purchases=None)
    assert every.row("C1")["frequency"] == 3 and every.row("C1")["amount_missing"] == 2


PURCHASE_LABELS = ("purchase", "renewal")


@st.composite
def events_with_outcomes(draw):
    df = draw(events())
    n = len(df)
    outcomes = draw(
        st.lists(
            st.sampled_from(["purchase", "renewal", "call", "redeem", None]),
            min_size=n,
            max_size=n,
        )
    )
    return df.assign(result=pd.Series(outcomes, dtype=object))


def reference_purchases(df, labels):
    """The rule, written out in pandas: a listed outcome, or no outcome and money paid."""
    if labels is None:
        return df
    listed = df["result"].isin(list(labels))
    return df[listed | (df["result"].isna() & (df["paid"] > 0))]


@given(
    events_with_outcomes(),
    st.integers(0, 70),
    st.sampled_from([("purchase",), PURCHASE_LABELS, None]),
    st.sampled_from(["pandas", "polars", "frame"]),
)
def test_rfm_of_purchases_matches_pandas(df, asof_day, labels, kind):
    asof = pd.Timestamp("2026-01-01") + pd.Timedelta(days=asof_day, hours=7)
    data = {
        "pandas": df,
        "polars": pl.from_pandas(df),
        "frame": EventFrame.from_data(
            df, customer="cust", time="ts", amount="paid", outcome="result"
        ),
    }[kind]
    names = (
        {"customer": "cust", "time": "ts", "amount": "paid", "outcome": "result"}
        if kind != "frame"
        else {}
    )
    got = rfm(data, **names, purchases=labels, asof=asof.to_pydatetime()).to_pandas()
    got = got.set_index("customer")
    ref = reference_rfm(reference_purchases(df, labels), asof)
    assert sorted(got.index) == sorted(df["cust"].unique())
    others = got.loc[~got.index.isin(ref.index)]
    assert (others["frequency"] == 0).all() and others["recency"].isna().all()
    got = got.loc[ref.index]
    np.testing.assert_array_equal(got["frequency"], ref["frequency"])
    np.testing.assert_array_equal(got["recency"], ref["recency"])
    np.testing.assert_allclose(got["monetary"], ref["monetary"], rtol=1e-12)
    np.testing.assert_array_equal(got["amount_missing"], ref["amount_missing"])


def test_the_default_asof_is_the_latest_event_of_any_kind():
    df = pd.DataFrame(
        {
            "customer": ["a", "a", "b"],
            "time": pd.to_datetime(["2026-01-01", "2026-01-21", "2026-01-11"]),
            "amount": [5.0, np.nan, 3.0],
            "outcome": ["purchase", "call", "purchase"],
        }
    )
    r = rfm(df)
    assert r.row("a")["recency"] == 20.0 and r.row("b")["recency"] == 10.0


def test_a_bad_row_that_is_not_a_purchase_does_not_matter_and_a_purchase_is_named():
    data = {
        "customer": ["a", None, "b", None],
        "time": ["2026-01-01", "2026-01-02", "NaT", "2026-01-03"],
        "amount": [1.0, np.nan, np.nan, 2.0],
        "outcome": ["purchase", "call", "call", "purchase"],
    }
    with pytest.raises(ValidationError, match=r"customer\[3\]"):
        rfm(data, asof="2026-02-01")
    data["customer"][3] = "c"
    assert rfm(data, asof="2026-02-01")["frequency"].tolist() == [1, 0, 1]


def test_a_frame_whose_rows_are_all_purchases_and_one_with_a_row_without_outcome():
    labels = np.array(["purchase", "call"], dtype=object)  # "call" is a category no row uses
    frame = EventFrame(
        {
            "customer": np.array([0, 1, 0]),
            "time": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], dtype="datetime64[us]"),
            "amount": np.array([1.0, 2.0, 4.0]),
            "outcome": np.array([0, 0, 0]),
        },
        {"customer": np.array(["x", "y"], dtype=object), "outcome": labels},
    )
    assert rfm(frame)["monetary"].tolist() == [5.0, 2.0]
    # a row without an outcome is a purchase when money changed hands, else not
    frame.columns["outcome"][:] = [0, -1, -1]
    frame.columns["amount"][:] = [1.0, 0.0, 4.0]
    r = rfm(frame)
    assert r["frequency"].tolist() == [2, 0] and r["monetary"].tolist() == [5.0, 0.0]


def test_purchases_must_be_labels():
    data = {"customer": ["a"], "time": ["2026-01-01"], "amount": [1.0], "outcome": ["purchase"]}
    with pytest.raises(ValidationError, match="purchases"):
        rfm(data, purchases="purchase")


def reference_scores(values, k, higher_is_better, method="min", ids=None):
    """Scores from pandas' rank: 1 + floor(k * (rank - 1) / n), n the values ranked; for
    "first" the rank is the place in the order by value, then id hash (the smaller the
    better; integer ids never share a hash), best last."""
    s = pd.Series(values, dtype=float)
    key = s if higher_is_better else -s
    if method == "first":
        order = sorted(
            (i for i in range(len(s)) if not np.isnan(key[i])),
            key=lambda i: (key[i], -int(tie_hash(ids[i : i + 1])[0])),
        )
        ranks = pd.Series(np.nan, index=s.index)
        ranks[order] = np.arange(1, len(order) + 1)
        n = len(order)
    else:
        ranks = key.rank(method=method)
        n = key.nunique() if method == "dense" else key.notna().sum()
    return np.where(s.isna(), 0, 1 + np.floor((ranks - 1) * k / max(n, 1))).astype(int)


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=50),
    st.integers(1, 7),
    st.booleans(),
    st.sampled_from(METHODS),
)
def test_quantile_scores_match_pandas_rank(values, k, higher, method):
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    ids = np.arange(len(arr)) * 3 + 1
    got = quantile_scores(arr, k, higher_is_better=higher, method=method, ids=ids)
    np.testing.assert_array_equal(got, reference_scores(arr, k, higher, method, ids))
    if len(arr):
        assert got.min() >= 0 and got.max() <= k


@given(
    st.lists(st.one_of(st.integers(0, 4), st.floats(0, 100)), max_size=60),
    st.one_of(st.integers(1, 9), st.integers(17, 40)),  # past 16 cuts: binary search
    st.randoms(use_true_random=False),
)
def test_tie_rules(values, k, rnd):
    arr = np.array(values, dtype=float)
    ids = np.array([f"c{i}" for i in range(len(arr))], dtype=object)
    got = {m: quantile_scores(arr, k, method=m, ids=ids) for m in METHODS}
    n = len(arr)
    # "first" keeps each score's share exactly: ceil(s n / k) - ceil((s - 1) n / k)
    sizes = [-((-s * n) // k) + ((-(s - 1) * n) // k) for s in range(1, k + 1)]
    assert [int((got["first"] == s).sum()) for s in range(1, k + 1)] == sizes
    # "min" and "dense" give equal values equal scores; "dense" uses every score it can
    for m in ("min", "dense"):
        for x in np.unique(arr):
            assert len(set(got[m][arr == x])) == 1
    assert len(set(got["dense"])) == min(k, len(np.unique(arr)))
    # every rule keeps the order of values, and without ties all three agree
    for m in METHODS:
        later = arr[:, None] > arr[None, :]
        assert not (later & (got[m][:, None] < got[m][None, :])).any()
    if len(np.unique(arr)) == n:
        assert (got["min"] == got["dense"]).all() and (got["min"] == got["first"]).all()
    # and nothing depends on the row order
    perm = list(range(n))
    rnd.shuffle(perm)
    for m in METHODS:
        again = quantile_scores(arr[perm], k, method=m, ids=ids[perm])
        np.testing.assert_array_equal(again, got[m][perm])


def test_quantile_scores_ignore_row_order():
    rng = np.random.default_rng(1)
    v = rng.integers(0, 10, 200).astype(float)
    perm = rng.permutation(200)
    np.testing.assert_array_equal(quantile_scores(v)[perm], quantile_scores(v[perm]))


def one_time_heavy_base(seed=1, n=3000):
    """Purchases of a shop where 70% of customers buy once: repeat buyers buy 2 + a
    geometric number more over an active spell that may end (churn) before the end."""
    rng = np.random.default_rng(seed)
    once = rng.random(n) < 0.7
    freq = np.where(once, 1, 1 + rng.geometric(0.3, n))
    start = rng.uniform(0, 730, n)
    end = np.where(once, start, np.minimum(start + rng.exponential(250, n), 730))
    cust = np.repeat(np.arange(n), freq)
    day = start[cust] + rng.random(len(cust)) * (end[cust] - start[cust])
    return {
        "customer": cust,
        "time": np.datetime64("2024-07-01", "s") + (day * 86400).astype("timedelta64[s]"),
        "amount": np.round(rng.gamma(2.0, 30.0, len(cust)), 2),
    }


def test_segments_of_a_one_time_heavy_base():
    feats = rfm(one_time_heavy_base(), asof="2026-07-01")
    assert (feats["frequency"] == 1).mean() == pytest.approx(0.7, abs=0.02)
    on_2_3 = ("potential_loyalists", "need_attention", "at_risk")  # built on f = 2..3
    # "min", as documented: one-time buyers 1, two-time buyers 4, the rest 5
    s = rfm_scores(feats).to_pandas()
    assert set(s["f_score"]) == {1, 4, 5}
    assert (s.loc[feats["frequency"] == 2, "f_score"] == 4).all()
    assert not s["segment"].isin(on_2_3[:2]).any()
    # "dense": equal frequencies share a score, every score is used, and the segments
    # built on 2-3 are no longer empty
    d = rfm_scores(feats, method="dense").to_pandas()
    assert set(d["f_score"]) == {1, 2, 3, 4, 5}
    assert d.groupby(feats["frequency"])["f_score"].nunique().max() == 1
    assert all((d["segment"] == name).any() for name in on_2_3)
    # "first": exactly 600 customers per score, and every default segment has customers
    f = rfm_scores(feats, method="first").to_pandas()
    assert f["f_score"].value_counts().tolist() == [600] * 5
    assert set(f["segment"].astype(str)) == set(DEFAULT_SEGMENTS)
    # one rule per dimension: dense frequency, quantile recency and monetary
    mixed = rfm_scores(feats, method={"frequency": "dense", "monetary": "first"}).to_pandas()
    assert mixed["r_score"].tolist() == s["r_score"].tolist()
    assert mixed["f_score"].tolist() == d["f_score"].tolist()
    assert mixed["m_score"].tolist() == f["m_score"].tolist()
    # segments computed afresh from the scores agree, whichever the method
    for scores in (s, d, f, mixed):
        assert rfm_segments(scores)["segment"].tolist() == scores["segment"].tolist()


def test_an_unknown_method_and_first_without_ids():
    with pytest.raises(ValidationError, match=r"method.*'min', 'dense', 'first'"):
        rfm_scores(
            {"customer": [1], "recency": [1.0], "frequency": [1], "monetary": [1.0]},
            method="average",
        )
    with pytest.raises(ValidationError, match="ids"):
        quantile_scores(np.array([1.0, 2.0]), method="first")
    feats = {"customer": [1], "recency": [1.0], "frequency": [1], "monetary": [1.0]}
    with pytest.raises(ValidationError, match=r"recency, frequency or monetary.*'freq'"):
        rfm_scores(feats, method={"freq": "dense"})
    with pytest.raises(ValidationError, match="'mean'"):
        rfm_scores(feats, method={"frequency": "mean"})


@given(events())
def test_scores_and_segments_follow_the_mapping(df):
    feats = rfm(df, customer="cust", time="ts", amount="paid", asof="2026-03-15")
    s = rfm_scores(feats)
    r, f, seg = s["r_score"], s["f_score"], s["segment"]
    for ri, fi, name in zip(r, f, seg, strict=True):
        expected = next(
            (
                n
                for n, ((r0, r1), (f0, f1)) in DEFAULT_SEGMENTS.items()
                if r0 <= ri <= r1 and f0 <= fi <= f1
            ),
            "other",
        )
        assert name == expected
    np.testing.assert_array_equal(s["m_score"], reference_scores(feats["monetary"], 5, True))
    assert rfm_segments(s)["segment"].tolist() == seg.tolist()


def test_custom_segment_mapping_and_k():
    feats = {
        "customer": [1, 2, 3],
        "recency": [1.0, 2.0, np.nan],
        "frequency": [5, 1, 0],
        "monetary": [9.0, 1.0, 0.0],
    }
    s = rfm_scores(feats, k=2, segments={"best": ((2, 2), (2, 2)), "rest": ((1, 2), (1, 2))})
    assert s["segment"].tolist() == ["best", "rest", "none"]
    assert s["rfm"].tolist() == [222, 111, 0]
    with pytest.raises(ValidationError, match="k = 5"):
        rfm_scores(feats, k=3)


@settings(max_examples=60, deadline=None)
@given(events(), st.integers(0, 70), st.booleans())
def test_rfm_in_chunks_on_threads_matches_pandas_and_one_thread(df, asof_day, in_time_order):
    """Events split into several chunks (as 10M events are) reduced on the thread pool:
    the same result as pandas, and bit for bit the same on one thread as on many; in
    time order the latest time comes from the last-row assignment path."""
    if in_time_order:
        df = df.sort_values("ts", kind="stable").reset_index(drop=True)
    asof = (pd.Timestamp("2026-01-01") + pd.Timedelta(days=asof_day)).to_pydatetime()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_grouped, "_CHUNK_ROWS", 4)
        mp.setattr(_grouped, "_ROWS_PER_CODE", 0)
        with set_threads(1):
            one = rfm(df, customer="cust", time="ts", amount="paid", asof=asof).to_pandas()
        with set_threads(max(4, available_cores())):
            many = rfm(df, customer="cust", time="ts", amount="paid", asof=asof).to_pandas()
    pd.testing.assert_frame_equal(one, many, check_exact=True)
    got = one.set_index("customer")
    ref = reference_rfm(df, pd.Timestamp(asof))
    got = got.loc[ref.index]
    np.testing.assert_array_equal(got["frequency"], ref["frequency"])
    np.testing.assert_array_equal(got["last"].to_numpy(), ref["last"].to_numpy())
    np.testing.assert_allclose(got["monetary"], ref["monetary"], rtol=1e-12)
