"""The demo scores the events it generated instead of reading them back: its figures must
be the ones the scores give on the stored workspace."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import touchpoint
from touchpoint.demo import run_demo
from touchpoint.demo._blueprint import demo_blueprint
from touchpoint.demo._run import figures, read_experiment

TODAY = dt.date(2026, 11, 23)
N, SEED = 1_500, 11


def _stored_figures(db):
    """The report's figures computed again from what the file holds."""
    with touchpoint.open(f"sqlite:///{db}") as ws:
        events = ws.interactions()
        experiment = read_experiment(ws)
    experiment["start"] = dt.date.fromisoformat(experiment["start"])
    experiment["end"] = dt.date.fromisoformat(experiment["end"])
    return events, figures(events, demo_blueprint("car-dealership"), TODAY, experiment)


def _shown(result):
    keys = ("pyramid", "loyalty", "compliance", "worst_breaches", "breaches")
    return {k: getattr(result, k) for k in keys} | {
        "key_touchpoints": result.key_touchpoints,
        "satisfaction": result.satisfaction,
    }


def test_the_figures_equal_the_scores_of_the_stored_workspace(tmp_path) -> None:
    db = tmp_path / "d.db"
    result = run_demo(customers=N, seed=SEED, db=db, today=TODAY)
    events, (scores, sections, left_out) = _stored_figures(db)
    assert result.events == len(events) == result.recorded["accepted"]
    assert _shown(result) == {k: scores[k] for k in _shown(result)}
    assert result.sections == sections
    assert result.left_out == left_out
    assert result.pyramid and result.compliance and result.key_touchpoints  # not vacuous


def test_a_file_holding_more_events_is_scored_as_stored(tmp_path) -> None:
    db = tmp_path / "d.db"
    first = run_demo(customers=N, seed=SEED, db=db, today=TODAY)
    # someone records one more purchase of a known customer into the demo's file
    with touchpoint.open(f"sqlite:///{db}") as ws:
        stored = ws.interactions()
        bought = np.flatnonzero(np.asarray(stored["outcome"]).astype(str) == "purchase")
        one = stored.take(bought[:1])  # a purchase: its touchpoint sells
        who = str(one["customer"][0])
        extra = {
            "event_id": np.array(["extra-1"], dtype=object),
            "customer": np.array([who], dtype=object),
            "time": np.array([np.datetime64("2026-11-20T10:00", "us")]),
            "touchpoint": np.array([str(one["touchpoint"][0])], dtype=object),
            "channel": np.array([str(one["channel"][0])], dtype=object),
            "outcome": np.array(["purchase"], dtype=object),
            "amount": np.array([123_456.0]),
        }
        report = ws.record_batch(extra)
        assert report.accepted == 1
    again = run_demo(customers=N, seed=SEED, db=db, today=TODAY)
    events, (scores, sections, _) = _stored_figures(db)
    assert again.events == len(events) == first.events + 1
    assert again.recorded["duplicates"] == first.events
    assert _shown(again) == {k: scores[k] for k in _shown(again)}
    assert again.sections == sections
    # the extra purchase is in the value figures
    assert sum(r["value"] for r in again.pyramid) == pytest.approx(
        sum(r["value"] for r in first.pyramid) + 123_456.0
    )
