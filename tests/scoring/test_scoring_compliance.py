"""Indicator compliance against a straightforward pandas / Python reference."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame
from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
from touchpoint.scoring import compliance

T0 = np.datetime64("2026-01-01", "us")


def _later_count(df, ev, ind, end):
    """Row by row: the customer's events at the counted touchpoints in (event time, end]."""
    later = df[
        (df["customer"] == ev["customer"])
        & df["touchpoint"].isin(ind.counts)
        & (df["time"] > ev["time"])
        & (df["time"] <= end)
    ]
    return len(later)


@st.composite
def interactions(draw):
    n = draw(st.integers(1, 40))

    def col(strategy):
        return draw(st.lists(strategy, min_size=n, max_size=n))

    hours = col(st.integers(0, 24 * 30))
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "customer": pd.Series(col(st.sampled_from(["c1", "c2", "c3"])), dtype=object),
            "touchpoint": pd.Series(col(st.sampled_from(["MAIL", "CALL", "SHOP"])), dtype=object),
            "time": T0 + np.array(hours, dtype="timedelta64[h]"),
            "response_time": np.array(
                col(st.one_of(st.none(), st.sampled_from([600.0, 86400.0]), st.floats(0, 2e5))),
                dtype=float,
            ),
            "rating": np.array(col(st.one_of(st.none(), st.integers(1, 5))), dtype=float),
            "indicator": pd.Series(col(st.sampled_from([None, "smile", "other"])), dtype=object),
            "outcome": pd.Series(col(st.sampled_from([None, "pass", "fail", "n/a"])), dtype=object),
            "store": pd.Series(col(st.sampled_from(["s1", "s2"])), dtype=object),
        }
    )


def reference(df, bp):
    """Per (indicator, store): (cases, met) and the set of breached event ids, row by row."""
    asof = df["time"].max()
    out, breaches = {}, set()
    for tp, ind in bp.indicators():
        for _, ev in df[df["touchpoint"] == tp.code].iterrows():
            if ind.kind == "time_limit":
                if np.isnan(ev["response_time"]):
                    continue
                ok = ind.meets(ev["response_time"])
            elif ind.kind == "rating":
                if np.isnan(ev["rating"]):
                    continue
                ok = ev["rating"] >= ind.target
            elif ind.kind == "checklist":
                if ev["indicator"] != ind.code or ev["outcome"] not in ("pass", "fail"):
                    continue
                ok = ev["outcome"] == "pass"
            else:
                end = ev["time"] + pd.Timedelta(ind.within)
                if end > asof:
                    continue
                ok = _later_count(df, ev, ind, end) >= ind.target
            key = (ind.code, ev["store"])
            cases, met = out.get(key, (0, 0))
            out[key] = (cases + 1, met + int(ok))
            if not ok:
                breaches.add((ind.code, ev["event_id"]))
    return out, breaches


@given(interactions())
def test_compliance_by_store_matches_reference(blueprint, df):
    report = compliance(df, blueprint, by="store")
    ref, ref_breaches = reference(df, blueprint)
    s = report.summary
    got = {}
    for code, store, cases, met, share in zip(
        s["indicator"], s["store"], s["cases"], s["met"], s["compliance"], strict=True
    ):
        if cases:
            got[(code, store)] = (int(cases), int(met))
            assert share == pytest.approx(met / cases)
        else:
            assert np.isnan(share)
    assert got == ref
    b = report.breaches
    assert set(zip(b["indicator"].tolist(), b["event_id"].tolist(), strict=True)) == ref_breaches
    assert len(b) == len(ref_breaches)


def test_hand_worked_three_follow_up_calls(blueprint):
    t = lambda s: np.datetime64(s, "us")  # noqa: E731
    df = {
        "customer": ["a", "a", "a", "a", "b", "b", "a"],
        "touchpoint": ["MAIL", "CALL", "CALL", "CALL", "MAIL", "CALL", "MAIL"],
        "time": np.array(
            [
                t("2026-01-01"),
                t("2026-01-02"),
                t("2026-01-05"),
                t("2026-01-08"),
                t("2026-01-01"),
                t("2026-01-03"),
                t("2026-01-20"),
            ]
        ),
        "response_time": [3600.0, np.nan, np.nan, np.nan, 100_000.0, np.nan, np.nan],
    }
    r = compliance(EventFrame.from_data(df), blueprint)
    calls = r.summary.to_pandas().set_index("indicator").loc["calls"]
    # a's letter: 3 calls by Jan 8 (exactly 7 days is within); b's: 1 call; a's Jan 20 letter still open
    assert (calls["events"], calls["cases"], calls["met"]) == (3, 2, 1)
    reply = r.summary.to_pandas().set_index("indicator").loc["reply-24h"]
    assert (reply["cases"], reply["met"]) == (2, 1)
    b = r.breaches.to_pandas()
    assert sorted(b["indicator"].astype(str)) == ["calls", "reply-24h"]
    assert b.set_index("indicator").loc["calls", "measured"] == 1.0


def test_strict_touchpoints_and_periods(blueprint):
    df = {
        "touchpoint": ["SHOP", "NOPE"],
        "rating": [5.0, 2.0],
        "time": ["2026-01-01", "2026-02-01"],
        "customer": ["a", "b"],
    }
    with pytest.raises(ValidationError, match=r"touchpoint.*unknown touchpoint code.*'NOPE'"):
        compliance(df, blueprint)
    r = compliance(df, blueprint, strict=False, period="month")
    csat = r.summary.to_pandas().query("indicator == 'csat'")
    assert csat["period"].tolist() == ["2026-01"] and csat["met"].tolist() == [1]
    with pytest.raises(ValidationError, match=r"response_time\[0\].*-5"):
        compliance(
            {
                "touchpoint": ["MAIL"],
                "response_time": [-5.0],
                "customer": ["a"],
                "time": ["2026-01-01"],
            },
            blueprint,
        )


def test_each_indicator_has_a_row_without_grouping(blueprint):
    r = compliance({"touchpoint": ["CALL"], "customer": ["a"], "time": ["2026-01-01"]}, blueprint)
    assert r.summary["indicator"].tolist() == [ind.code for _, ind in blueprint.indicators()]
    assert r.summary["stage"].tolist()[:2] == ["awareness", "awareness"]
    assert (r.summary["cases"] == 0).all() and np.isnan(r.summary["compliance"]).all()


@st.composite
def stacked(draw):
    """A blueprint with several indicators of one kind per touchpoint (stacked in layers by
    the score), every comparison, checklist items shared across touchpoints, and data
    with touchpoints the blueprint does not know."""
    tps = []
    for i in range(3):
        inds = []
        for j in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["time_limit", "rating", "checklist", "count"]))
            code = f"item{draw(st.integers(0, 2))}" if kind == "checklist" else f"k{i}{j}"
            if code in [ind.code for ind in inds]:
                continue
            extra = {
                "time_limit": {"target": draw(st.integers(1, 30)), "unit": "hours"},
                "rating": {"target": draw(st.integers(1, 5))},
                "checklist": {"target": 1},
                "count": {
                    "target": draw(st.integers(0, 2)),
                    "counts": [f"T{draw(st.integers(0, 2))}"],
                    "within": f"{draw(st.integers(1, 4))} days",
                },
            }[kind]
            comparison = draw(st.sampled_from(["<=", "<", ">=", ">", "=="]))
            inds.append(ControlIndicator(code, code, kind=kind, comparison=comparison, **extra))
        tps.append(
            Touchpoint(
                code=f"T{i}",
                name=f"Touchpoint {i}",
                category="channel",
                stage="transaction",
                line="service",
                channels=["store"],
                indicators=inds,
            )
        )
    bp = Blueprint(name="stacked", stages=["transaction"], touchpoints=tps)
    n = draw(st.integers(0, 60))

    def col(strategy):
        return draw(st.lists(strategy, min_size=n, max_size=n))

    df = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "customer": pd.Series(col(st.sampled_from(["a", "b", None])), dtype=object),
            "touchpoint": pd.Series(col(st.sampled_from(["T0", "T1", "T2", "XX"])), dtype=object),
            "time": T0 + np.array(col(st.integers(0, 24 * 20)), dtype="timedelta64[h]"),
            "response_time": np.array(
                col(st.one_of(st.none(), st.integers(0, 40).map(lambda h: h * 3600.0))),
                dtype=float,
            ),
            "rating": np.array(col(st.one_of(st.none(), st.integers(1, 5))), dtype=float),
            "indicator": pd.Series(
                col(st.sampled_from([None, "item0", "ITEM1", "item2"])), dtype=object
            ),
            "outcome": pd.Series(col(st.sampled_from([None, "pass", "FAIL", "n/a"])), dtype=object),
            "store": pd.Series(col(st.sampled_from(["s1", "s2", None])), dtype=object),
        }
    )
    return bp, df


def judged_rows(df, bp):
    """Row by row: (indicator position, row, met, measured) of every case, in blueprint order."""
    asof = df["time"].max()
    out = []
    for i, (tp, ind) in enumerate(bp.indicators()):
        for row in np.flatnonzero((df["touchpoint"] == tp.code).to_numpy()):
            ev = df.iloc[row]
            if ind.kind == "time_limit" or ind.kind == "rating":
                value = ev["response_time" if ind.kind == "time_limit" else "rating"]
                if np.isnan(value):
                    continue
            elif ind.kind == "checklist":
                outcome = str(ev["outcome"]).lower()
                if str(ev["indicator"]).lower() != ind.code or outcome not in ("pass", "fail"):
                    continue
                value = 1.0 if outcome == "pass" else 0.0
            else:
                end = ev["time"] + pd.Timedelta(ind.within)
                if ev["customer"] is None or end > asof:
                    continue
                value = float(_later_count(df, ev, ind, end))
            out.append((i, int(row), bool(ind.meets(value)), value))
    return out


@settings(max_examples=40, deadline=None)
@given(stacked())
def test_stacked_indicators_and_breach_order_match_row_by_row(case):
    import touchpoint.scoring._compliance as impl
    from touchpoint._threads import set_threads

    bp, df = case
    pairs = list(bp.indicators())
    cases = judged_rows(df, bp)
    # tiny chunks: several chunks per pass, placed by several threads
    with pytest.MonkeyPatch.context() as m:
        m.setattr(impl, "CHUNK", 7)
        with set_threads(1):
            one = compliance(df, bp, by="store", strict=False)
        with set_threads(3):
            many = compliance(df, bp, by="store", strict=False)
            # (touchpoint, group) combinations numbered as found, not by their product
            m.setattr(impl, "DIRECT_BINS", 0)
            m.setattr(impl, "DIRECT_PER_ROW", 0)
            numbered = compliance(df, bp, by="store", strict=False)
    # the thread count and the bin numbering change nothing, to the bit
    for other in (many, numbered):
        pd.testing.assert_frame_equal(one.summary.to_pandas(), other.summary.to_pandas())
        pd.testing.assert_frame_equal(one.breaches.to_pandas(), other.breaches.to_pandas())
    s = one.summary.to_pandas()
    store = df["store"].to_numpy()
    for i, (tp, ind) in enumerate(pairs):
        mine = s[(s["touchpoint"] == tp.code) & (s["indicator"] == ind.code)]
        for _, r in mine.iterrows():
            if pd.isna(r["store"]):
                rows_here = (df["touchpoint"] == tp.code) & df["store"].isna()
                at = [c for c in cases if c[0] == i and store[c[1]] is None]
            else:
                rows_here = (df["touchpoint"] == tp.code) & (df["store"] == r["store"])
                at = [c for c in cases if c[0] == i and store[c[1]] == r["store"]]
            assert r["events"] == rows_here.sum() > 0
            assert (r["cases"], r["met"]) == (len(at), sum(c[2] for c in at))
        assert mine["cases"].sum() == sum(1 for c in cases if c[0] == i)
    # breaches: by indicator in blueprint order, then by row, with what was measured
    b = one.breaches.to_pandas()
    expected = [c for c in cases if not c[2]]
    assert b["row"].tolist() == [c[1] for c in expected]
    assert b["indicator"].astype(str).tolist() == [pairs[c[0]][1].code for c in expected]
    assert b["touchpoint"].astype(str).tolist() == [pairs[c[0]][0].code for c in expected]
    assert b["measured"].tolist() == [c[3] for c in expected]
    assert b["event_id"].tolist() == [f"e{c[1]}" for c in expected]


def test_small_integer_codes_with_many_groups(blueprint):
    # int16 touchpoint codes times ~40,000 (store, staff) groups overflow 16 bits: the
    # bin codes must not
    rng = np.random.default_rng(3)
    n = 40_000
    tp = rng.integers(0, 3, n).astype(np.int16)
    store, staff = rng.integers(0, 20_000, n), rng.integers(0, 10, n)
    rating = rng.integers(1, 6, n).astype(float)
    frame = EventFrame(
        {
            "touchpoint": tp,
            "store": store,
            "staff": staff,
            "rating": rating,
            "customer": rng.integers(0, 50, n),
            "time": T0 + rng.integers(0, 1000, n).astype("timedelta64[h]"),
        },
        {
            "customer": np.array([f"c{i}" for i in range(50)], dtype=object),
            "touchpoint": np.array(["MAIL", "CALL", "SHOP"], dtype=object),
            "store": np.array([f"s{i:05d}" for i in range(20_000)], dtype=object),
            "staff": np.array([f"p{i}" for i in range(10)], dtype=object),
        },
    )
    r = compliance(frame, blueprint, by=["store", "staff"])
    s = r.summary.to_pandas().query("indicator == 'csat'")
    at = tp == 2
    shop = pd.DataFrame(
        {"store": [f"s{i:05d}" for i in store[at]], "staff": [f"p{i}" for i in staff[at]]}
    ).assign(ok=rating[at] >= 4)
    ref = shop.groupby(["store", "staff"])["ok"].agg(["size", "sum"])
    got = s.astype({"store": str, "staff": str}).set_index(["store", "staff"]).sort_index()
    assert got.index.tolist() == ref.index.tolist()
    assert got["cases"].tolist() == ref["size"].tolist()
    assert got["met"].tolist() == ref["sum"].tolist()
