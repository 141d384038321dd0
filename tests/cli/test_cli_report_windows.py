"""``touchpoint report`` of a large workspace reads its interactions a year at a time:
the report must be the one the whole read gives."""

from __future__ import annotations

import datetime as dt

import pytest

from touchpoint.cli._commands import report
from touchpoint.cli._workspace import open_url
from touchpoint.demo import run_demo

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "d.db"
    run_demo(customers=800, seed=4, db=path, today=TODAY)
    return path


def test_reading_a_year_at_a_time_gives_the_whole_reads_report(db, monkeypatch) -> None:
    with open_url(f"sqlite:///{db}") as ws:  # with the blueprint the demo kept in it
        whole = report._sections(ws, TODAY, NOW)
        events = report._interactions(ws, TODAY)
        monkeypatch.setattr(report, "WINDOWED_OVER", 0)  # every workspace is "large"
        by_year = report._interactions(ws, TODAY)
        windowed = report._sections(ws, TODAY, NOW)
        n = ws.storage.count()
    assert len(by_year) == len(events) == n
    # the same events (the demo's are stored in time order: the same rows in the same order)
    assert by_year == events  # every column, NaN equal to NaN
    assert "event_id" not in by_year.columns
    assert windowed == whole
    assert whole[0]["customer pyramid"] and whole[0]["compliance"]  # not vacuous
