"""``touchpoint init`` and ``touchpoint import``: real files into a real SQLite workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import touchpoint
from touchpoint.cli import main
from touchpoint.schema import load_blueprint

FULL = Path(__file__).parents[1] / "schema" / "data" / "full.toml"

ROWS = [
    ("C1", "2026-01-05", "30"),
    ("C1", "2026-01-05", "30"),  # the same purchase twice: two purchases
    ("C2", "2026-02-01", "12.5"),
    ("C3", "2026-02-03", ""),  # no amount
    ("C1", "2026-03-07", "8"),
    ("C1", "2026-01-05", "30"),  # a third time
    ("C4", "2026-03-09", "99.9"),
]


def write_csv(path: Path, rows, header=("customer", "time", "amount")) -> Path:
    path.write_text(
        ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def plain(tmp_path: Path) -> str:
    """A workspace without a blueprint, as an application makes it."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    touchpoint.open(url).close()
    return url


def stored(url: str) -> pd.DataFrame:
    with touchpoint.open(url) as ws:
        f = ws.interactions()
        return pd.DataFrame(
            {
                "event_id": f["event_id"].astype(str),
                "customer": f["customer"].astype(str),
                "time": f["time"],
                "amount": f["amount"],
                "touchpoint": f["touchpoint"].astype(str),
                "outcome": f["outcome"].astype(str),
            }
        )


def reference(path: Path) -> pd.DataFrame:
    """The file as pandas reads it, in the order the storage gives it back."""
    df = pd.read_csv(path, dtype={"customer": str})
    df["time"] = pd.to_datetime(df["time"])
    return df.sort_values(["time", "customer"], kind="stable").reset_index(drop=True)


def same_as_file(url: str, path: Path) -> None:
    got = stored(url).sort_values(["time", "customer"], kind="stable").reset_index(drop=True)
    want = reference(path)
    assert len(got) == len(want)
    assert got["customer"].tolist() == want["customer"].tolist()
    assert (got["time"].to_numpy() == want["time"].to_numpy()).all()
    # identical rows in a day sort in any order, but their amounts match as multisets
    for (c, t), g in got.groupby(["customer", "time"]):
        w = want[(want["customer"] == c) & (want["time"] == t)]
        assert sorted(np.nan_to_num(g["amount"], nan=-1)) == sorted(
            np.nan_to_num(w["amount"], nan=-1)
        )


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


# ---------------------------------------------------------------------------- init


def test_init_creates_a_workspace_holding_its_blueprint(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    code, out, err = run(capsys, "init", url, "--blueprint", str(FULL))
    assert code == 0 and err == ""
    assert out.strip() == f"created {url}: blueprint 'corner-shop', 5 touchpoints"
    from touchpoint.cli._workspace import open_url

    with open_url(url) as ws:
        assert ws.blueprint == load_blueprint(FULL)
        assert ws.storage.count() == 0


def test_init_refuses_an_existing_file_and_leaves_it_alone(capsys, tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    db.write_bytes(b"mine")
    code, out, err = run(capsys, "init", f"sqlite:///{db}", "--template", "car-dealership")
    assert code == 1 and out == "" and "exists already" in err
    assert db.read_bytes() == b"mine"


def test_init_errors(capsys, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    code, _, err = run(capsys, "init", url, "--template", "no-such")
    assert code == 1 and "no-such" in err and not (tmp_path / "crm.db").exists()
    assert run(capsys, "init", url)[0] == 2  # a template or a blueprint is required
    code, _, err = run(capsys, "init", "memory://", "--template", "car-dealership")
    assert code == 1 and "SQLite" in err
    code, out, _ = run(capsys, "init", url, "--template", "car-dealership", "--json")
    assert code == 0
    assert json.loads(out) == {"url": url, "blueprint": "car-dealership", "touchpoints": 28}


# ---------------------------------------------------------------------------- import


def test_import_twice_then_appended_stores_each_row_once(capsys, tmp_path, plain) -> None:
    path = write_csv(tmp_path / "orders.csv", ROWS)
    code, out, err = run(capsys, "import", plain, str(path), "--batch-size", "3")
    assert code == 0 and err == ""  # no progress bar: stderr is not a terminal
    assert last_line(out) == "accepted 7, duplicates 0, rejected 0"
    same_as_file(plain, path)
    # identical rows are separate purchases, each with its own id
    assert stored(plain)["event_id"].nunique() == 7
    assert (stored(plain)["outcome"] == "purchase").all()
    assert (stored(plain)["touchpoint"] == "purchase").all()
    ids = set(stored(plain)["event_id"])

    # the same file again (in other batches): all duplicates, nothing new
    code, out, _ = run(capsys, "import", plain, str(path), "--batch-size", "2")
    assert code == 0 and last_line(out) == "accepted 0, duplicates 7, rejected 0"
    assert set(stored(plain)["event_id"]) == ids

    # rows appended, one of them identical to earlier rows: only the new ones stored
    more = [*ROWS, ("C1", "2026-01-05", "30"), ("C5", "2026-04-01", "5")]
    write_csv(path, more)
    code, out, _ = run(capsys, "import", plain, str(path))
    assert code == 0 and last_line(out) == "accepted 2, duplicates 7, rejected 0"
    same_as_file(plain, path)
    assert ids < set(stored(plain)["event_id"])


def test_import_maps_columns_and_keeps_given_event_ids(capsys, tmp_path, plain) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [("o1", "A", "2026-01-02", "5", "T1"), ("o2", "B", "2026-01-03", "6", "T2")],
        header=("order", "client", "day", "total", "point"),
    )
    argv = ["import", plain, str(path), "--event-id", "order", "--customer", "client"]
    argv += ["--time", "day", "--amount", "total", "--touchpoint", "point"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and last_line(out) == "accepted 2, duplicates 0, rejected 0"
    got = stored(plain).sort_values("event_id")
    assert got["event_id"].tolist() == ["o1", "o2"]
    assert got["customer"].tolist() == ["A", "B"]
    assert got["touchpoint"].tolist() == ["T1", "T2"]
    assert got["amount"].tolist() == [5.0, 6.0]
    # a touchpoint column given: these are not purchases by default
    assert got["outcome"].tolist() == ["None", "None"]
    code, _, err = run(capsys, "import", plain, str(path), "--customer", "who")
    assert code == 1 and "--customer" in err and "'who'" in err and "client" in err


def test_import_bad_row_refused_or_quarantined(capsys, tmp_path, plain) -> None:
    path = write_csv(tmp_path / "bad.csv", [*ROWS[:3], ("C9", "not a date", "3"), ROWS[4]])
    code, out, _ = run(capsys, "import", plain, str(path))
    assert code == 1
    assert "row 4: time:" in out and "'not a date'" in out and "refused" in out
    assert last_line(out) == "accepted 0, duplicates 0, rejected 5"
    assert len(stored(plain)) == 0

    code, out, _ = run(capsys, "import", plain, str(path), "--on-reject", "quarantine")
    assert code == 0 and last_line(out) == "accepted 4, duplicates 0, rejected 1"
    assert sorted(stored(plain)["customer"]) == ["C1", "C1", "C1", "C2"]
    with touchpoint.open(plain) as ws:
        (kept,) = ws.quarantined()
    assert kept["record"]["customer"] == "C9" and kept["record"]["time"] == "not a date"


def test_import_json_report(capsys, tmp_path, plain) -> None:
    path = write_csv(tmp_path / "orders.csv", [*ROWS, ("C8", "2026-01-01", "-1")])
    code, out, _ = run(capsys, "import", plain, str(path), "--on-reject", "quarantine", "--json")
    report = json.loads(out)
    assert code == 0
    assert {k: report[k] for k in ("accepted", "duplicates", "rejected")} == {
        "accepted": 7,
        "duplicates": 0,
        "rejected": 1,
    }
    assert report["refused"] is False and report["rows"] == 8
    assert report["problems"] == ["row 8: amount: must be a finite number >= 0 (value: -1.0)"]


def test_import_from_stdin(tmp_path, plain) -> None:
    path = write_csv(tmp_path / "orders.csv", ROWS)
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint", "import", plain, "-"],
        input=path.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # redirected: no progress bar
    assert last_line(done.stdout) == "accepted 7, duplicates 0, rejected 0"
    same_as_file(plain, path)
    # stdin and the file give the same ids: importing the file stores nothing new
    assert main(["import", plain, str(path)]) == 0
    assert len(stored(plain)) == 7


def test_import_parquet(capsys, tmp_path, plain) -> None:
    csv_path = write_csv(tmp_path / "orders.csv", ROWS)
    df = pd.read_csv(csv_path, dtype={"customer": str})
    df["time"] = pd.to_datetime(df["time"])
    path = tmp_path / "orders.parquet"
    df.to_parquet(path)
    code, out, _ = run(capsys, "import", plain, str(path), "--batch-size", "4")
    assert code == 0 and last_line(out) == "accepted 7, duplicates 0, rejected 0"
    same_as_file(plain, csv_path)
    code, out, _ = run(capsys, "import", plain, str(path))
    assert last_line(out) == "accepted 0, duplicates 7, rejected 0"


def test_import_checks_against_the_blueprint_init_kept(capsys, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert run(capsys, "init", url, "--template", "telecom-hall")[0] == 0
    path = write_csv(tmp_path / "orders.csv", ROWS)
    code, out, err = run(capsys, "import", url, str(path))
    assert code == 1 and out == ""
    assert "no touchpoint 'purchase'" in err and "--touchpoint" in err
    visits = write_csv(
        tmp_path / "visits.csv",
        [("C1", "2026-01-02", "A102"), ("C2", "2026-01-02", "NOPE")],
        header=("customer", "time", "touchpoint"),
    )
    code, out, _ = run(capsys, "import", url, str(visits), "--on-reject", "quarantine")
    assert code == 0 and last_line(out) == "accepted 1, duplicates 0, rejected 1"
    assert "row 2: touchpoint:" in out and "'NOPE'" in out


def test_import_into_a_missing_workspace_is_an_error(capsys, tmp_path) -> None:
    path = write_csv(tmp_path / "orders.csv", ROWS)
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    code, _, err = run(capsys, "import", url, str(path))
    assert code == 1 and "touchpoint init" in err and not (tmp_path / "typo.db").exists()


def test_cdnow_log_keeps_its_identical_rows_as_separate_purchases(capsys, tmp_path, plain):
    from touchpoint.datasets import load_cdnow

    log = load_cdnow("transactions", sample=True, as_frame="pandas")
    path = tmp_path / "cdnow.csv"
    log[["customer", "time", "quantity", "amount"]].to_csv(
        path, index=False, date_format="%Y-%m-%d"
    )
    repeated = int(pd.read_csv(path).duplicated().sum())
    assert repeated > 0  # the sample repeats rows exactly, as the master log does
    code, out, _ = run(capsys, "import", plain, str(path), "--batch-size", "1000")
    assert code == 0 and last_line(out) == f"accepted {len(log)}, duplicates 0, rejected 0"
    got = stored(plain)
    assert len(got) == len(log)
    per_customer = got.groupby("customer").size()
    want = pd.read_csv(path, dtype={"customer": str}).groupby("customer").size()
    assert per_customer.sort_index().equals(want.sort_index())
    assert got["amount"].sum() == pytest.approx(log["amount"].sum())
