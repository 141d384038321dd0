"""``--json`` on templates, show, validate and demo: the same information, read by ``json``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import attrs

from touchpoint import templates
from touchpoint.schema import load_blueprint, loads_blueprint

from .test_cli import FULL, MISTAKES, run


def test_templates_json_matches_the_loaded_templates(capsys) -> None:
    code, out, _ = run(capsys, "templates", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [t["name"] for t in listed] == templates.names()
    for t in listed:
        bp = templates.load(t["name"])
        assert t["title"] == bp.title and t["touchpoints"] == len(bp.touchpoints)
        assert t["key_touchpoints"] == [tp.code for tp in bp.key_touchpoints]


def test_show_json_is_the_blueprint(capsys) -> None:
    for name in ("telecom-hall", str(FULL)):
        code, out, _ = run(capsys, "show", name, "--json")
        assert code == 0
        data = json.loads(out)
        want = templates.load(name) if name == "telecom-hall" else load_blueprint(FULL)
        assert data["name"] == want.name
        assert [t["code"] for t in data["touchpoints"]] == [t.code for t in want.touchpoints]
        assert loads_blueprint(out, format="json") == want  # nothing lost


def test_validate_json_ok_and_problems(capsys) -> None:
    code, out, err = run(capsys, "validate", str(FULL), "--json")
    bp = load_blueprint(FULL)
    assert code == 0 and err == ""
    assert json.loads(out) == {
        "ok": True,
        "file": str(FULL),
        "blueprint": bp.name,
        "touchpoints": len(bp),
        "key_touchpoints": len(bp.key_touchpoints),
        "indicators": sum(1 for _ in bp.indicators()),
    }
    code, out, err = run(capsys, "validate", str(MISTAKES), "--json")
    assert code == 1 and err == ""
    result = json.loads(out)
    assert result["ok"] is False
    paths = [p["path"] for p in result["problems"]]
    assert "touchpoints[0].weight" in paths and "currency" in paths
    weight = next(p for p in result["problems"] if p["path"] == "touchpoints[0].weight")
    assert weight["value"] == -1 and ">= 0" in weight["message"]


def test_demo_json_holds_what_the_report_shows(capsys, tmp_path: Path) -> None:
    from touchpoint.demo import run_demo

    db = tmp_path / "demo.db"
    argv = ["demo", "--customers", "300", "--seed", "2", "--db", str(db), "--quiet", "--json"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    got = json.loads(out)
    # the same demo again on the same file stores nothing new and reports the same
    again = run_demo(customers=300, seed=2, db=db, today=dt.date(2026, 11, 23))
    want = attrs.asdict(again, recurse=False)
    assert set(got) == set(want) | {"html"}
    assert got["today"] == "2026-11-23" and got["customers"] == 300
    for field in ("events", "pyramid", "loyalty", "compliance", "agenda_by_status", "sent"):
        assert got[field] == json.loads(json.dumps(want[field])), field
    assert got["recorded"]["accepted"] == want["recorded"]["duplicates"]
