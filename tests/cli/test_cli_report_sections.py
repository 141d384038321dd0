"""``touchpoint report``: the sections it shares with the demo, on a demo's workspace and on
one made by ``init`` + ``import`` (where the sections the data cannot feed are left out)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from touchpoint.demo import run_demo
from touchpoint.demo._sections import SECTION_TITLES

from .test_import import run, write_csv

DAY = "2026-11-23"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    import datetime as dt

    db = tmp_path_factory.mktemp("rep") / "demo.db"
    result = run_demo(customers=1_500, seed=8, db=db, today=dt.date(2026, 11, 23))
    return db, result


def test_the_report_of_a_demo_workspace_has_the_demos_sections(capsys, demo_db, tmp_path) -> None:
    db, result = demo_db
    page = tmp_path / "r.html"
    code, out, err = run(
        capsys, "report", f"sqlite:///{db}", "--html", str(page), "--asof", DAY, "--json"
    )
    assert code == 0, err
    sections = json.loads(out)["sections"]
    for title in SECTION_TITLES:
        assert title.lower() in sections, title
    # the same experiment (kept in the file) gives the same lift as the demo's report
    assert sections["care rule lift"]["rows"] == result.sections["CARE RULE LIFT"]["rows"]
    assert (
        sections["compliance by store and month"]["rows"]
        == (result.sections["COMPLIANCE BY STORE AND MONTH"]["rows"])
    )
    # every held contact with its reason, the win-back holdout among the reasons it knows
    held = sections["held contacts"]
    assert all(h["reason"] for h in held)
    html = page.read_text("utf-8")
    assert html.count("<svg") >= 9 and '<section id="compliance-by-store-and-month">' in html


def test_the_report_of_an_imported_log_keeps_what_the_data_allows(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert run(capsys, "init", url, "--template", "car-dealership")[0] == 0
    rng = np.random.default_rng(4)
    n = 400
    who = rng.integers(0, 120, n)
    days = np.datetime64("2025-01-01") + rng.integers(0, 600, n)
    rows = [
        (f"K{w:03d}", str(d), f"{a:.2f}", "TX-CONTRACT")
        for w, d, a in zip(who, days, rng.lognormal(4, 1, n), strict=True)
    ]
    csv = write_csv(
        tmp_path / "orders.csv", rows, header=("customer", "time", "amount", "touchpoint")
    )
    assert run(capsys, "import", url, str(csv))[0] == 0
    page = tmp_path / "shop.html"
    code, out, err = run(capsys, "report", url, "--html", str(page), "--asof", DAY, "--json")
    assert code == 0, err
    result = json.loads(out)
    done, left = result["sections"], result["left_out"]
    assert {"rfm segments", "pareto curve", "churn risk", "retention"} <= set(done)
    assert left["nps"].startswith("no 0-10 ratings") or left["nps"].startswith("no touchpoint")
    assert left["care rule lift"].startswith("no care-rule experiment")
    assert "satisfaction over time" in left
    # the Pareto curve by pandas: the top fifth of customers' share of all spend
    orders = pd.DataFrame(rows, columns=["customer", "time", "amount", "touchpoint"])
    orders = orders.astype({"amount": float})
    spend = orders.groupby("customer")["amount"].sum().sort_values(ascending=False)
    top = spend.iloc[: round(0.2 * len(spend))].sum() / spend.sum()
    curve = {round(r["customer_share"], 2): r["value_share"] for r in done["pareto curve"]["rows"]}
    assert curve[0.2] == pytest.approx(top, abs=0.01)
    segments = done["rfm segments"]["rows"]
    assert sum(r["customers"] for r in segments) == orders["customer"].nunique()
    assert sum(r["value"] for r in segments) == pytest.approx(orders["amount"].sum())
    html = page.read_text("utf-8")
    assert "Left out" in html and "no care-rule experiment" in html
