"""``touchpoint complaints URL``: the complaint statistics of a workspace, as text and JSON.

The workspace is made by ``touchpoint init`` and filled through the public API; the
expected figures are worked out by hand from the complaints and purchases below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import touchpoint

from .test_import import run


@pytest.fixture
def shop(capsys, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert run(capsys, "init", url, "--template", "car-dealership")[0] == 0
    with touchpoint.open(url) as ws:
        # quick: answered in 2 h, resolved in 1 day; C1 buys again
        ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00", type="service")
        ws.respond_to_complaint("K1", at="2026-03-01T11:00")
        ws.resolve_complaint("K1", at="2026-03-02T09:00", resolution="repaired")
        # slow: answered in 48 h, resolved in 10 days; C2 does not come back
        ws.record_complaint(id="K2", customer="C2", opened_at="2026-03-01T09:00", type="price")
        ws.respond_to_complaint("K2", at="2026-03-03T09:00")
        ws.resolve_complaint("K2", at="2026-03-11T09:00")
        # never answered; C3 buys again anyway
        ws.record_complaint(id="K3", customer="C3", opened_at="2026-03-05T09:00", type="price")
        # the purchases (opened without the blueprint: any touchpoint code is accepted)
        ws.record_batch(
            {
                "event_id": ["p1", "p2", "p3"],
                "customer": ["C1", "C2", "C3"],
                "touchpoint": ["SHOP"] * 3,
                "time": ["2026-03-20", "2026-02-20", "2026-03-25"],
                "outcome": ["purchase"] * 3,
                "amount": [300.0, 80.0, 45.0],
            }
        )
    return url


def test_json_gives_every_figure(capsys, shop):
    code, out, err = run(capsys, "complaints", shop, "--asof", "2026-03-31", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["asof"] == "2026-04-01T00:00:00" and result["response_limit"] == "24 hours"
    rows = {r["type"]: r for r in result["rows"]}
    assert list(rows) == ["all", "price", "service"]
    assert [rows["all"][k] for k in ("complaints", "answered", "resolved")] == [3, 2, 2]
    # within 24 h: K1 only; K2 answered in 48 h, K3 unanswered for 26 days
    assert rows["all"]["response_within_limit"] == pytest.approx(1 / 3)
    assert rows["all"]["response_p50_hours"] == 25.0  # median of 2 h and 48 h
    assert rows["all"]["resolution_p50_hours"] == (24 + 240) / 2
    assert rows["all"]["came_back_quick"] == 1.0 and rows["all"]["came_back_slow"] == 0.0
    assert rows["all"]["came_back_unresolved"] == 1.0
    assert rows["service"]["came_back_slow"] is None  # no slow service complaint: null


def test_text_lists_each_type_and_the_shares(capsys, shop):
    code, out, _ = run(capsys, "complaints", shop, "--asof", "2026-03-31")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["type", "complaints", "answered", "resolved"]
    by_type = {line.split()[0]: line.split() for line in lines[1:4]}
    assert by_type["all"][1:5] == ["3", "2", "2", "33%"]
    assert by_type["price"][1:5] == ["2", "1", "1", "0%"]
    assert lines[-1].startswith("3 complaints as of the end of 2026-03-31; response limit 24 hours")


def test_a_response_limit_changes_the_share_in_limit(capsys, shop):
    code, out, _ = run(
        capsys, "complaints", shop, "--asof", "2026-03-31", "--response-limit", "2 days", "--json"
    )
    assert code == 0
    (all_types,) = [r for r in json.loads(out)["rows"] if r["type"] == "all"]
    assert all_types["response_within_limit"] == pytest.approx(2 / 3)  # K1 and K2 now


def test_an_earlier_day_sees_less(capsys, shop):
    code, out, _ = run(capsys, "complaints", shop, "--asof", "2026-03-01", "--json")
    assert code == 0
    (all_types,) = [r for r in json.loads(out)["rows"] if r["type"] == "all"]
    # at the end of 1 March: K1 and K2 open, K1 answered; nobody resolved
    assert [all_types[k] for k in ("complaints", "answered", "resolved")] == [2, 1, 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--asof", "31/03/2026"], "--asof: must be a date, YYYY-MM-DD"),
        (["--response-limit", "soon"], "--response-limit: must read like"),
    ],
)
def test_bad_options_are_named(capsys, shop, args, message):
    code, _, err = run(capsys, "complaints", shop, *args)
    assert code == 1 and message in err


def test_a_missing_workspace_is_an_error_not_a_new_file(capsys, tmp_path):
    code, _, err = run(capsys, "complaints", f"sqlite:///{tmp_path / 'nope.db'}")
    assert code == 1 and "no workspace at" in err and not (tmp_path / "nope.db").exists()
