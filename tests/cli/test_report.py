"""``touchpoint report URL --html FILE``: the report of a workspace made by init + import."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import touchpoint
from touchpoint import Customer, Workspace
from touchpoint.cli._commands import report
from touchpoint.cli._workspace import open_url
from touchpoint.storage.sqlite import SqliteStorage

from .test_care import DAY, estate  # noqa: F401 - the fixture
from .test_import import run, write_csv
from .test_privacy import ROWS, shop  # noqa: F401 - the fixture


def test_report_of_an_imported_purchase_log(capsys, shop, tmp_path: Path) -> None:  # noqa: F811
    url, _ = shop
    page = tmp_path / "report.html"
    code, out, err = run(capsys, "report", url, "--html", str(page), "--asof", "2026-04-01")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"wrote the report of {url} to {page}: customer pyramid, rfm")
    assert lines[1].startswith("left out: loyalty tiers (no loyalty programme)")
    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    # nothing to fetch: the one address is the SVG namespace of the inline charts
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert '<section id="customer-pyramid">' in html and '<section id="left-out">' in html
    for reason in ("no control indicators", "no ratings in the data", "no care rules"):
        assert reason in html
    code, out, _ = run(capsys, "report", url, "--html", str(page), "--asof", "2026-04-01", "--json")
    result = json.loads(out)
    # a purchase log: value sections; nothing needing ratings, indicators or care rules
    assert {"customer pyramid", "rfm segments", "pareto curve", "retention"} <= set(
        result["sections"]
    )
    assert {
        "loyalty tiers",
        "compliance",
        "satisfaction by stage",
        "care agenda",
        "satisfaction over time",
        "nps",
        "compliance by store and month",
        "care rule lift",
    } <= set(result["left_out"])
    assert not set(result["sections"]) & set(result["left_out"])
    # the pyramid covers every customer and every amount of the file, by pandas
    orders = pd.DataFrame(ROWS, columns=["customer", "time", "amount"])
    orders["amount"] = orders["amount"].astype(float)
    tiers = result["sections"]["customer pyramid"]
    assert sum(t["customers"] for t in tiers) == orders["customer"].nunique()
    assert abs(sum(t["value"] for t in tiers) - orders["amount"].sum()) < 1e-9
    assert abs(sum(t["value_share"] for t in tiers) - 1) < 1e-9


def test_report_with_care_rules_and_stored_customers(capsys, estate, tmp_path) -> None:  # noqa: F811
    page = tmp_path / "estate.html"
    code, out, err = run(capsys, "report", estate, "--html", str(page), "--asof", DAY, "--json")
    assert code == 0, err
    result = json.loads(out)
    care = {(r["rule"], r["status"]): r["contacts"] for r in result["sections"]["care agenda"]}
    # worked out by hand in test_care: A's visit is sent, everything else is blocked
    assert care == {
        ("visit-3m", "send"): 1,
        ("visit-3m", "blocked"): 1,
        ("community-events", "blocked"): 2,
        ("birthday", "blocked"): 1,
    }
    assert result["left_out"]["customer pyramid"] == "no interactions"
    assert '<section id="care-agenda">' in page.read_text("utf-8")


APRIL = dt.date(2026, 4, 1)


class CountingStorage(SqliteStorage):
    """A SQLite storage that counts the calls of its customer readers."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.calls: Counter[str] = Counter()

    def care_columns(self, anchors):
        self.calls["care_columns"] += 1
        return super().care_columns(anchors)

    def customers(self):
        self.calls["customers"] += 1
        return super().customers()

    def count_customers(self):
        self.calls["count_customers"] += 1
        return super().count_customers()


def _counted_sections(url: str, day: dt.date) -> tuple[tuple, Counter[str]]:
    """The report's sections of the workspace at ``url``, and the customer reads they made."""
    now = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    with open_url(url) as ws:
        blueprint, path = ws.blueprint, ws.storage.path
    store = CountingStorage(path)
    try:
        sections = report._sections(Workspace(store, blueprint=blueprint), day, now)
    finally:
        store.close()
    return sections, store.calls


def test_a_report_without_care_rules_counts_the_customers_without_reading_them(
    capsys,
    shop,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, db = shop
    with touchpoint.open(str(db)) as ws:
        ws.storage.upsert_customers([Customer("C1", tier="gold"), Customer("C9")])
    (done, left, stored), calls = _counted_sections(url, APRIL)
    assert calls == {"count_customers": 1}  # no care_columns, no Customer per record
    assert stored == 2 and left["care agenda"] == "no care rules"
    with open_url(url) as ws:  # the same sections as the report of the command line
        now = dt.datetime.combine(APRIL, dt.time(10), tzinfo=dt.UTC)
        assert report._sections(ws, APRIL, now) == (done, left, stored)


def test_a_report_with_care_rules_reads_the_care_columns_once(estate) -> None:  # noqa: F811
    (done, _, stored), calls = _counted_sections(estate, dt.date.fromisoformat(DAY))
    assert calls == {"count_customers": 1, "care_columns": 1}
    assert stored == 4 and done["care agenda"]  # A, B, D and E


def test_report_with_ratings_has_satisfaction_by_stage(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hotel.db'}"
    assert run(capsys, "init", url, "--template", "budget-hotel")[0] == 0
    from touchpoint import templates

    bp = templates.load("budget-hotel")
    tp = bp.touchpoints[0]
    rows = [(f"G{i}", "2026-05-01", tp.code, str(r)) for i, r in enumerate([5, 4, 2, 5])]
    csv = write_csv(
        tmp_path / "visits.csv", rows, header=("customer", "time", "touchpoint", "rating")
    )
    assert run(capsys, "import", url, str(csv))[0] == 0
    page = tmp_path / "hotel.html"
    out = run(capsys, "report", url, "--html", str(page), "--asof", "2026-05-02", "--json")[1]
    sat = json.loads(out)["sections"]["satisfaction by stage"]
    mine = [s for s in sat if s["stage"] == tp.stage]
    # 3 of 4 ratings are >= 4 (satisfied), by hand
    assert mine[0]["responses"] == 4 and abs(mine[0]["csat"] - 0.75) < 1e-12
    assert abs(mine[0]["mean_rating"] - 4.0) < 1e-12


def test_report_of_a_plain_path_reads_the_stored_blueprint(capsys, tmp_path: Path) -> None:
    """``touchpoint report FILE.db`` is ``sqlite:///FILE.db``: the blueprint kept by init
    (its 0-10 question marked) comes along, so NPS answers are not taken for CSAT."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, _, err = run(capsys, "demo", "--customers", "300", "--db", str(tmp_path / "demo.db"))
    assert code == 0, err
    by_url = json.loads(run(capsys, "report", url, "--html", str(tmp_path / "a.html"), "--json")[1])
    code, out, err = run(
        capsys, "report", str(tmp_path / "demo.db"), "--html", str(tmp_path / "b.html"), "--json"
    )
    assert code == 0, err
    by_path = json.loads(out)
    assert {"nps", "satisfaction by stage", "satisfaction over time", "loyalty tiers"} <= set(
        by_path["sections"]
    )
    assert by_path["sections"] == by_url["sections"]


def test_init_takes_a_plain_path_as_the_other_commands_do(capsys, tmp_path: Path) -> None:
    """``touchpoint init FILE.db`` makes ``sqlite:///FILE.db`` (a plain path was refused by
    init while report and open took it), keeps the blueprint, and refuses it a second time."""
    path = tmp_path / "crm.db"
    code, _, err = run(capsys, "init", str(path), "--template", "budget-hotel")
    assert code == 0, err
    from touchpoint.cli._workspace import open_url

    with open_url(f"sqlite:///{path}") as ws:
        assert ws.blueprint is not None and ws.blueprint.name == "budget-hotel"
    code, _, err = run(capsys, "init", str(path), "--template", "budget-hotel")
    assert code != 0 and "exists already" in err


@pytest.mark.parametrize(
    ("ratings", "shown", "advice"),
    [
        ([5, 9, 2, 10], "is 9.0", "scale 10"),  # 0-10 answers: mark the question
        ([5, 47.5, 2], "is 47.5", "check the data"),  # no 0-10 answer: no such advice
    ],
)
def test_ratings_off_the_csat_scale_leave_the_csat_sections_out_not_the_report(
    capsys, tmp_path: Path, ratings, shown, advice
) -> None:
    """Ratings off a touchpoint's 1-5 scale: the report is written, the two CSAT sections
    say why they are left out, with advice that fits the value."""
    url = f"sqlite:///{tmp_path / 'hotel.db'}"
    assert run(capsys, "init", url, "--template", "budget-hotel")[0] == 0
    from touchpoint import templates

    tp = templates.load("budget-hotel").touchpoints[0]
    rows = [(f"G{i}", "2026-05-01", tp.code, str(r)) for i, r in enumerate(ratings)]
    csv = write_csv(tmp_path / "v.csv", rows, header=("customer", "time", "touchpoint", "rating"))
    assert run(capsys, "import", url, str(csv))[0] == 0
    page = tmp_path / "hotel.html"
    code, out, err = run(
        capsys, "report", url, "--html", str(page), "--asof", "2026-05-02", "--json"
    )
    assert code == 0, err
    left = json.loads(out)["left_out"]
    for title in ("satisfaction by stage", "satisfaction over time"):
        assert "between 1 and 5" in left[title] and shown in left[title], left[title]
        assert advice in left[title]
        assert ("scale 10" in left[title]) == (advice == "scale 10")
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
