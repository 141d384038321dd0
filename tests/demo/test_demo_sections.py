"""The report's sections over what the library sells: present in the demo's text and HTML,
with numbers equal to calling the scores directly (and a few worked out by hand)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import warnings

import numpy as np
import pytest

from touchpoint import clv, experiments, journeys, scoring
from touchpoint.demo import html_report, run_demo, text_report
from touchpoint.demo._blueprint import nps_touchpoints
from touchpoint.demo._sections import SECTION_TITLES

TODAY = dt.date(2026, 11, 23)
ASOF = np.datetime64(TODAY + dt.timedelta(days=1), "us")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import touchpoint

    db = tmp_path_factory.mktemp("demo") / "d.db"
    result = run_demo(customers=2_000, seed=5, db=db, today=TODAY)
    with touchpoint.open(f"sqlite:///{db}") as ws:
        events = ws.interactions()
    shopper = np.strings.startswith(events.categories["customer"].astype(str), "MS-")
    own = events.take(np.flatnonzero(~shopper[events.codes("customer")]))
    return result, events, own


def test_every_section_is_in_the_text_and_the_html(run) -> None:
    result, _, _ = run
    assert set(result.sections) == set(SECTION_TITLES), result.left_out
    text, page = text_report(result), html_report(result)
    for title in SECTION_TITLES:
        assert f"\n{title}\n" in text
        assert title.capitalize().replace("(", "(") in page.replace("&#x27;", "'")
    # time axes: the monthly sections are drawn as lines, compliance and cohorts as grids
    assert page.count("<polyline") >= 3
    assert page.count("<svg") >= 12


def test_rfm_segments_and_pareto_equal_the_scores(run) -> None:
    result, _, own = run
    values = scoring.rfm(own, asof=ASOF)
    values = values.take(np.flatnonzero(np.asarray(values["frequency"]) > 0))
    segments = np.asarray(scoring.rfm_scores(values)["segment"]).astype(str)
    rows = result.sections["RFM SEGMENTS"]["rows"]
    assert {r["segment"]: r["customers"] for r in rows} == dict(
        zip(*np.unique(segments, return_counts=True), strict=True)
    )
    assert sum(r["value"] for r in rows) == pytest.approx(float(np.nansum(own["amount"])))
    # the Pareto curve at 20%, by hand: the top fifth of customers by spend
    spend = np.sort(np.asarray(values["monetary"], float))[::-1]
    top = spend[: round(0.2 * len(spend))].sum() / spend.sum()
    curve = {
        round(r["customer_share"], 2): r["value_share"]
        for r in result.sections["PARETO CURVE"]["rows"]
    }
    assert curve[0.2] == pytest.approx(top, abs=0.01)
    assert (
        f"{100 * scoring.top_share(values, top=0.2):.1f}%"
        in result.sections["PARETO CURVE"]["note"]
    )


def test_clv_and_churn_equal_the_models(run) -> None:
    result, _, own = run
    summary = clv.customer_summary(own, asof=ASOF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = clv.BetaGeo().fit(summary)
        alive = np.asarray(model.probability_alive(summary)["probability_alive"])
        value = clv.GammaGamma().fit(summary).customer_lifetime_value(model, summary, periods=12)
    rows = result.sections["CLV AND P(ALIVE)"]["rows"]
    assert sum(r["customers"] for r in rows) == len(alive)
    low = next(r for r in rows if r["p_alive"] == "0.0-0.2")
    assert low["customers"] == int((alive < 0.2).sum())
    total = float(np.nansum(value["customer_lifetime_value"]))
    assert sum(r["clv"] for r in rows) == pytest.approx(total, rel=1e-9)
    levels = np.asarray(scoring.churn_risk(own, asof=ASOF)["level"]).astype(str)
    churn = {r["level"]: r["customers"] for r in result.sections["CHURN RISK"]["rows"]}
    for level, count in churn.items():
        assert count == int((levels == level).sum())


def test_funnel_and_retention_equal_the_journeys(run) -> None:
    result, _, own = run
    from touchpoint.demo._blueprint import demo_blueprint

    f = journeys.funnel(own, blueprint=demo_blueprint("car-dealership"))
    rows = result.sections["FUNNEL"]["rows"]
    assert [r["customers"] for r in rows] == np.asarray(f["customers"]).tolist()
    assert all(a["customers"] >= b["customers"] for a, b in itertools.pairwise(rows))
    table = journeys.retention(own, period="Q", asof=ASOF).table
    cohorts = result.sections["RETENTION"]["rows"]
    last = cohorts[-3]
    mine = np.asarray(table["cohort"]).astype("datetime64[M]").astype(str) == last["cohort"]
    assert last["customers"] == int(
        np.asarray(table["customers"])[mine & (np.asarray(table["offset"]) == 0)][0]
    )
    assert last["q1"] == pytest.approx(
        float(np.asarray(table["share"])[mine & (np.asarray(table["offset"]) == 1)][0])
    )


def test_csat_and_nps_by_month_equal_the_scores(run) -> None:
    result, events, _ = run
    ten = np.isin(events["touchpoint"], [tp.code for tp in nps_touchpoints(result_blueprint())])
    rated = ~np.isnan(events["rating"])
    # NPS by hand over every 0-10 answer: % of 9-10 minus % of 0-6
    answers = events["rating"][rated & ten]
    by_hand = 100 * ((answers >= 9).mean() - (answers <= 6).mean())
    assert f"{by_hand:.1f}" in result.sections["NPS"]["note"]
    sat = scoring.csat(events.take(np.flatnonzero(rated & ~ten)), by=None, period="month")
    expect = dict(
        zip(np.asarray(sat["period"]).tolist(), np.asarray(sat["csat"]).tolist(), strict=True)
    )
    for row in result.sections["SATISFACTION OVER TIME"]["rows"]:
        assert row["csat"] == pytest.approx(expect[row["period"]])
    months = [r["period"] for r in result.sections["SATISFACTION OVER TIME"]["rows"]]
    assert months == sorted(months) and months[-1] == "2026-11"  # a time axis, to the day


def result_blueprint():
    from touchpoint.demo._blueprint import demo_blueprint

    return demo_blueprint("car-dealership")


def test_compliance_by_store_and_month_equals_the_score(run) -> None:
    result, events, _ = run
    s = scoring.compliance(events, result_blueprint(), by="store", period="month").summary
    store = np.asarray(s["store"]).astype(str)
    period = np.asarray(s["period"]).astype(str)
    rows = {r["store"]: r for r in result.sections["COMPLIANCE BY STORE AND MONTH"]["rows"]}
    for name in ("ST001", result.story["slip_store"]):
        mine = (store == name) & (period == "2026-09")
        met, cases = np.asarray(s["met"])[mine].sum(), np.asarray(s["cases"])[mine].sum()
        assert rows[name]["2026-09"] == pytest.approx(met / cases)
    assert result.story["slip_store"] in result.sections["COMPLIANCE BY STORE AND MONTH"]["note"]


def test_the_care_rule_lift_equals_experiments_lift(run) -> None:
    result, events, _ = run
    from touchpoint.demo._run import read_experiment

    with _open(result.db) as ws:
        experiment = read_experiment(ws)
    ids = experiment["customers"]
    held = experiments.holdout(ids, share=experiment["share"], salt=experiment["salt"])
    r = experiments.lift(
        events, customers=ids, held_out=held, start=experiment["start"], end=experiment["end"]
    )
    row = result.sections["CARE RULE LIFT"]["rows"][0]
    assert (row["lift"], row["lower"], row["upper"]) == pytest.approx(
        (r.estimate, r.lower, r.upper)
    )
    assert (row["treated"], row["holdout"]) == (r.treated, r.holdout)
    assert "true effect is +10.0 points" in result.sections["CARE RULE LIFT"]["note"]


def _open(db):
    import touchpoint

    return touchpoint.open(f"sqlite:///{db}")


def test_every_held_contact_has_its_reason(run) -> None:
    result, _, _ = run
    held = result.held_contacts
    statuses = sum(v for k, v in result.agenda_by_status.items() if k != "send")
    assert len(held) == statuses
    assert all(h["reason"] for h in held)
    for h in held:
        if h["status"] == "held":  # the win-back rule's holdout, by experiments.holdout
            assert h["rule"] == "win-back" and "holdout" in h["reason"]
            assert experiments.holdout([h["customer"]], share=0.2, salt="demo:win-back")[0]
    text = text_report(result)
    assert all(re.search(re.escape(h["reason"][:30]), text) for h in held)


@pytest.mark.parametrize("customers", [1, 60])
def test_a_tiny_base_leaves_out_what_it_cannot_measure_and_says_why(customers, tmp_path) -> None:
    result = run_demo(customers=customers, seed=0, db=tmp_path / "tiny.db", today=TODAY)
    assert set(result.sections) | set(result.left_out) == set(SECTION_TITLES)
    assert not set(result.sections) & set(result.left_out)
    assert all(why for why in result.left_out.values())
    text = text_report(result)
    for title, why in result.left_out.items():
        assert f"{title}\n  left out: {why}" in text
