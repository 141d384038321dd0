"""``touchpoint forget`` and ``touchpoint export`` on a real SQLite workspace (init + import)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .test_import import run, write_csv

#: A customer id that appears nowhere else, so its bytes in a file are its own traces.
GONE = "GONE-7f3a9c"
ROWS = [
    (GONE, "2026-01-05", "30"),
    ("KEPT-1", "2026-01-06", "12.5"),
    (GONE, "2026-02-07", "8"),
    ("KEPT-2", "2026-03-01", "99"),
]


@pytest.fixture
def shop(capsys, tmp_path: Path) -> tuple[str, Path]:
    """A workspace made by ``touchpoint init`` with a purchase log imported."""
    db = tmp_path / "shop.db"
    url = f"sqlite:///{db}"
    blueprint = tmp_path / "shop.toml"
    blueprint.write_text(
        'name = "shop"\nstages = ["transaction"]\n\n[[touchpoints]]\ncode = "purchase"\n'
        'name = "Purchase"\nstage = "transaction"\ncategory = "channel"\nline = "product"\n'
        'channels = ["store"]\n',
        encoding="utf-8",
    )
    assert run(capsys, "init", url, "--blueprint", str(blueprint))[0] == 0
    code, _, err = run(capsys, "import", url, str(write_csv(tmp_path / "orders.csv", ROWS)))
    assert code == 0, err
    return url, db


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def test_export_shows_what_the_file_holds(capsys, shop) -> None:
    url, _ = shop
    code, out, err = run(capsys, "export", url, GONE)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["customer_id"] == GONE
    mine = [(r[1], float(r[2])) for r in ROWS if r[0] == GONE]
    got = [(r["time"][:10], r["amount"]) for r in doc["interactions"]]
    assert sorted(got) == sorted(mine)
    assert {r["customer"] for r in doc["interactions"]} == {GONE}


def test_export_to_a_file(capsys, shop, tmp_path: Path) -> None:
    url, _ = shop
    out_file = tmp_path / "gone.json"
    code, out, err = run(capsys, "export", url, GONE, "--out", str(out_file))
    assert code == 0 and out == "" and str(out_file) in err
    assert len(json.loads(out_file.read_text("utf-8"))["interactions"]) == 2


def test_forget_erases_from_the_export_and_the_file_bytes(capsys, shop) -> None:
    url, db = shop
    assert GONE.encode() in file_bytes(db)  # the check below can fail
    code, out, err = run(capsys, "forget", url, GONE, "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["complete"] is True and result["customer"] == GONE
    assert result["removed"]["interactions"] == 2
    assert GONE.encode() not in file_bytes(db)
    code, out, _ = run(capsys, "export", url, GONE)
    doc = json.loads(out)
    assert doc["interactions"] == [] and doc["customer"] is None and doc["scores"] == {}
    # the others are untouched
    kept = json.loads(run(capsys, "export", url, "KEPT-1")[1])
    assert [r["amount"] for r in kept["interactions"]] == [12.5]
    # later data about the forgotten customer is refused
    code, out, _ = run(capsys, "import", url, str(write_csv(db.parent / "again.csv", ROWS[:1])))
    assert "accepted 0" in out or code == 1


def test_forget_text_names_what_was_removed(capsys, shop) -> None:
    url, _ = shop
    code, out, _ = run(capsys, "forget", url, GONE)
    assert code == 0
    assert out.strip() == (
        f"forgot {GONE} in {url}: interactions 2; later data for {GONE} is refused"
    )
    code, out, _ = run(capsys, "forget", url, "NOBODY")
    assert code == 0 and "nothing was stored about them" in out


def test_forget_with_a_reader_holding_the_file_exits_3_then_finishes(capsys, shop) -> None:
    url, db = shop
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM meta").fetchone()
    try:
        code, out, err = run(capsys, "forget", url, GONE, "--wait", "0.3", "--json")
        assert code == 3
        result = json.loads(out)
        assert result["complete"] is False and result["removed"]["interactions"] == 2
        assert f"touchpoint forget {url} {GONE}' again" in err
        assert "Traceback" not in err
    finally:
        reader.execute("COMMIT")
        reader.close()
    code, _, err = run(capsys, "forget", url, GONE)
    assert code == 0, err
    assert GONE.encode() not in file_bytes(db)


def test_forget_and_export_need_an_existing_workspace(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    for command in ("forget", "export"):
        code, out, err = run(capsys, command, url, "C1")
        assert code == 1 and out == "" and "touchpoint init" in err
    assert not (tmp_path / "none.db").exists()
