"""``touchpoint demo --db``: never into a workspace the demo did not create; bars on terminals only."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import touchpoint
from touchpoint.cli import main


def test_demo_refuses_a_workspace_made_by_init(capsys, tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert main(["init", f"sqlite:///{db}", "--template", "car-dealership"]) == 0
    orders = tmp_path / "orders.csv"
    orders.write_text("customer,time,touchpoint\nC1,2026-01-02,FAC-ACCESS\n", encoding="utf-8")
    assert main(["import", f"sqlite:///{db}", str(orders)]) == 0
    capsys.readouterr()
    before = db.read_bytes()
    code = main(["demo", "--customers", "50", "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "was not created by the demo" in err and "use a new --db" in err
    assert "Traceback" not in err
    assert db.read_bytes() == before
    with touchpoint.open(f"sqlite:///{db}") as ws:
        assert ws.storage.count() == 1


def test_demo_refuses_an_applications_workspace_and_any_other_file(capsys, tmp_path) -> None:
    app = tmp_path / "app.db"
    touchpoint.open(f"sqlite:///{app}").close()
    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE notes (x)")
    for db in (app, other):
        assert main(["demo", "--customers", "50", "--db", str(db)]) == 1
        assert "was not created by the demo" in capsys.readouterr().err


def test_demo_reuses_its_own_file(capsys, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    argv = ["demo", "--customers", "60", "--db", str(db)]
    assert main(argv) == 0
    with sqlite3.connect(db) as con:
        marker = con.execute("SELECT value FROM meta WHERE key = 'touchpoint.created_by'")
        assert marker.fetchone() == ("demo",)
        events = con.execute("SELECT count(*) FROM interactions").fetchone()[0]
    assert main(argv) == 0
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM interactions").fetchone()[0] == events


def test_progress_bar_only_on_a_terminal(capsys, tmp_path: Path, monkeypatch) -> None:
    argv = ["demo", "--customers", "40", "--db", str(tmp_path / "a.db")]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # captured, as in a log: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([*argv[:-1], str(tmp_path / "b.db")]) == 0
    err = capsys.readouterr().err
    assert "\r[" in err and "done" in err
    path = tmp_path / "o.csv"
    path.write_text("customer,time\nC1,2026-01-01\n", encoding="utf-8")
    touchpoint.open(f"sqlite:///{tmp_path / 'c.db'}").close()
    assert main(["import", f"sqlite:///{tmp_path / 'c.db'}", str(path)]) == 0
    assert "\rimporting: 1 rows read" in capsys.readouterr().err
