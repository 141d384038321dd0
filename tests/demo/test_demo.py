"""``touchpoint demo`` end to end: a real SQLite file, the text report, the HTML page."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
from html import escape
from pathlib import Path

import numpy as np
import pytest

from touchpoint import templates
from touchpoint.cli import main
from touchpoint.demo import synthetic_base
from touchpoint.demo._blueprint import DEMO_LOYALTY, demo_blueprint, nps_touchpoints
from touchpoint.demo._report import SECTIONS

pytestmark = pytest.mark.slow  # the demo end to end; one test opens its report in chromium

N = 500
SEED = 3
TODAY = dt.date(2026, 11, 23)
CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get update && apt-get install -y chromium"


def _demo(capsys, db: Path, *extra: str) -> tuple[str, str]:
    code = main(["demo", "--customers", str(N), "--seed", str(SEED), "--db", str(db), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def _section(report: str, title: str) -> str:
    start = report.index(f"\n{title}\n") + len(title) + 2
    end = report.find("\n\n", start)
    return report[start:end]


def _table_rows(text: str) -> list[list[str]]:
    """Rows of the first aligned table in ``text`` (the lines after its ``----`` rule)."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.strip().startswith("--"))
    rows = []
    for line in lines[rule + 1 :]:
        if not line.startswith("  ") or line.strip().endswith(":"):
            break
        rows.append(line.split())
    return rows


def _number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("%"))


@pytest.fixture(scope="module")
def base():
    # the demo's blueprint: the template with a loyalty programme, win-back rule and NPS
    return synthetic_base(demo_blueprint("car-dealership"), customers=N, seed=SEED, end=TODAY)


@pytest.fixture
def demo_run(tmp_path, capsys):
    db = tmp_path / "demo.db"
    html = tmp_path / "report.html"
    out, err = _demo(capsys, db, "--html", str(html))
    return db, html, out, err


def test_every_section_is_reported(demo_run) -> None:
    _, _, out, err = demo_run
    for title in SECTIONS:
        assert f"\n{title}\n" in out
    assert err == ""  # stderr is not a terminal here: no progress bar (tests/cli has the bar)
    # car-dealership has no loyalty programme of its own: the demo adds its example one
    shown = [row[0] for row in _table_rows(_section(out, "LOYALTY TIERS"))]
    assert shown and set(shown) <= {t.name for t in DEMO_LOYALTY.tiers}


def test_numbers_agree_with_the_data(demo_run, base) -> None:
    db, _, out, _ = demo_run
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
        queued = con.execute("SELECT count(*) FROM contact WHERE status = 'queued'").fetchone()[0]
    assert stored == len(base.events)
    assert f"{stored:,} interactions stored" in out

    tiers = _table_rows(_section(out, "VALUE PYRAMID"))
    assert [t[0] for t in tiers] == ["key", "major", "ordinary", "small", "none"]
    counted = sum(int(_number(t[1])) for t in tiers)
    real = ~np.strings.startswith(
        base.events["customer"].astype(str), "MS-"
    )  # not mystery shoppers
    assert counted == np.unique(base.events.codes("customer")[real]).size
    assert sum(_number(t[4]) for t in tiers) == pytest.approx(100, abs=0.2)
    spent = np.nansum(base.events["amount"])
    assert sum(_number(t[2]) for t in tiers) == pytest.approx(spent, abs=len(tiers))

    stages = _table_rows(_section(out, "SATISFACTION BY STAGE"))
    responses = sum(int(_number(s[1])) for s in stages)
    ten = np.isin(base.events["touchpoint"], [tp.code for tp in nps_touchpoints(base.blueprint)])
    assert ten.any()  # the 0-10 answers are the NPS's, not the 1-5 CSAT's
    assert responses == int((~np.isnan(base.events["rating"]) & ~ten).sum())

    agenda = _section(out, "TODAY'S AGENDA")
    match = re.search(r"([\d,]+) contacts due .*; ([\d,]+) queued in the outbox", agenda)
    assert match, agenda
    assert int(match[2].replace(",", "")) == queued

    promises = _section(out, "OVERDUE PROMISES")
    now = np.datetime64("2026-11-23T10:00", "us")
    late = int(((base.promises["status"] == "open") & (base.promises["due"] < now)).sum())
    assert f"{late:,} open promises past their due date" in promises

    compliance = _section(out, "INDICATOR COMPLIANCE")
    assert "worst breaches" in compliance and "%" in compliance


def test_rerun_changes_nothing(demo_run, capsys) -> None:
    db, html, first, _ = demo_run
    with sqlite3.connect(db) as con:
        before = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
        contacts = con.execute("SELECT count(*) FROM contact").fetchone()[0]
    second, _ = _demo(capsys, db, "--html", str(html))
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM interactions").fetchone()[0] == before
        assert con.execute("SELECT count(*) FROM contact").fetchone()[0] == contacts
    assert f"0 new interactions, {before:,} already stored" in second
    # everything after the "recorded this run" line is identical
    assert second.split("\n", 2)[2] == first.split("\n", 2)[2]


def test_another_base_in_the_same_file_is_refused(demo_run) -> None:
    from touchpoint.demo import run_demo
    from touchpoint.errors import ValidationError

    db = demo_run[0]
    with pytest.raises(ValidationError, match="use a new --db"):
        run_demo(customers=N, seed=SEED + 1, db=db, today=TODAY)


def test_html_is_one_self_contained_page(demo_run) -> None:
    _, html, _, _ = demo_run
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 5
    for title in SECTIONS:
        assert escape(title.capitalize()) in page
    # nothing to fetch: no scripts, no linked assets, no remote addresses besides the SVG namespace
    assert not re.search(r"<script|<link|<img|src=|url\(", page)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_html_charts_render_in_a_headless_browser(demo_run, tmp_path) -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(f"chromium is needed for this test and is missing: install it with `{INSTALL}`")
    _, html, _, _ = demo_run
    browser = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert dom.count("<svg") >= 5 and "<rect" in dom
    assert "Value pyramid" in dom and "Satisfaction by stage" in dom


def test_a_blueprint_with_a_loyalty_programme_reports_its_tiers(tmp_path, capsys) -> None:
    code = main(
        [
            "demo",
            "--template",
            "budget-hotel",
            "--customers",
            "400",
            "--db",
            str(tmp_path / "h.db"),
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    tiers = templates.load("budget-hotel").loyalty.tiers
    section = _section(out, "LOYALTY TIERS")
    assert any(t.name in section for t in tiers)
    counts = [int(_number(row[1])) for row in _table_rows(section)]
    pyramid = sum(int(_number(t[1])) for t in _table_rows(_section(out, "VALUE PYRAMID")))
    assert sum(counts) == pyramid, "every customer in the pyramid has a tier"


@pytest.mark.parametrize("template", templates.names())
def test_the_demo_runs_on_every_built_in_template(template, tmp_path, capsys) -> None:
    # b2b-marketing's care rule is anchored on the day a customer entered their stage and
    # restricted by stage: the synthetic customers must carry both, or the demo stops
    db = tmp_path / "t.db"
    code = main(["demo", "--template", template, "--customers", "300", "--db", str(db), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert all(f"\n{title}\n" in out for title in SECTIONS)


def test_synthetic_customers_carry_their_current_stage_and_when_they_entered_it(base) -> None:
    ev = base.events
    cust = ev.columns["customer"]
    day = ev.columns["time"].astype("datetime64[D]")
    tp_stage = np.array([tp.stage.value for tp in templates.load("car-dealership").touchpoints])
    stage = tp_stage[ev.columns["touchpoint"]]
    c = base.customers
    order = [s.value for s in templates.load("car-dealership").stages]
    for i in range(0, N, 7):
        mine = np.flatnonzero(cust == i)
        # the customer had an event in their stage on the day they entered it, none in
        # that stage before it, and nothing in a later stage of the journey
        here = mine[stage[mine] == c["stage"][i]]
        assert day[here].min() == c["stage_entered"][i]
        later = order[order.index(c["stage"][i]) + 1 :]
        assert not np.isin(stage[mine], later).any() or c["stage"][i] == order[-1]
