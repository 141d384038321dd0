"""``touchpoint agenda`` and ``touchpoint dispatch``: the daily job on a workspace from init.

The customers are a small hand-made set stored through the public API, with dates chosen
so that which care rules of the real-estate template fall due on the day is worked out
by hand from the template's rules (offsets from ``move_in`` and ``birthday``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import touchpoint
from touchpoint import Consent, Customer

from .test_import import run

DAY = "2026-06-15"


@pytest.fixture
def estate(capsys, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    assert run(capsys, "init", url, "--template", "real-estate")[0] == 0
    granted = [Consent("phone", "service", True, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))]
    people = [
        # moved in 3 months ago: visit-3m (phone, visit) and community-events (quarterly
        # from 3 months; sms, im): consent for phone only
        Customer(
            "A",
            name="Ann",
            phone="+8613800000001",
            consents=granted,
            dates={"move_in": dt.date(2026, 3, 15)},
        ),
        # birthday today: the birthday rule; no consent at all
        Customer("B", name="Bo", phone="+8613800000002", dates={"birthday": dt.date(1990, 6, 15)}),
        # like A, but do-not-contact
        Customer(
            "D",
            name="Di",
            phone="+8613800000004",
            consents=granted,
            dates={"move_in": dt.date(2026, 3, 15)},
            do_not_contact=True,
        ),
        # moved in a day later: nothing due today
        Customer(
            "E",
            name="Ed",
            phone="+8613800000005",
            consents=granted,
            dates={"move_in": dt.date(2026, 3, 16)},
        ),
    ]
    with touchpoint.open(url) as ws:
        ws.storage.upsert_customers(people)
    return url


def test_agenda_lists_the_contacts_due_and_their_decisions(capsys, estate) -> None:
    code, out, err = run(capsys, "agenda", estate, "--asof", DAY, "--json")
    assert code == 0, err
    result = json.loads(out)
    got = {(r["rule"], r["customer"]): r for r in result["rows"]}
    assert set(got) == {
        ("visit-3m", "A"),
        ("community-events", "A"),
        ("birthday", "B"),
        ("visit-3m", "D"),
        ("community-events", "D"),
    }
    assert all(r["due"] == DAY for r in result["rows"])
    assert got["visit-3m", "A"]["status"] == "send" and got["visit-3m", "A"]["channel"] == "phone"
    assert got["visit-3m", "A"]["send_at"] == f"{DAY}T10:00Z"
    for blocked in [("community-events", "A"), ("birthday", "B"), ("visit-3m", "D")]:
        assert got[blocked]["status"] == "blocked" and got[blocked]["reason"]
    assert result["by_status"] == {"send": 1, "blocked": 4}
    # the text output ends with the same counts
    code, out, _ = run(capsys, "agenda", estate, "--asof", DAY)
    assert out.strip().splitlines()[-1] == (
        f"5 care contacts due on {DAY}: send 1, deferred 0, blocked 4"
    )
    # a day later nothing is due
    code, out, _ = run(capsys, "agenda", estate, "--asof", "2026-06-14", "--json")
    assert json.loads(out)["contacts"] == 0


def test_queue_then_dispatch_sends_once(capsys, estate) -> None:
    code, out, err = run(capsys, "agenda", estate, "--asof", DAY, "--queue")
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "outbox: queued 1, already queued 0, blocked 4"
    # queued again: nothing twice
    out = run(capsys, "agenda", estate, "--asof", DAY, "--queue", "--json")[1]
    assert json.loads(out)["outbox"] == {"queued": 0, "duplicate": 1, "blocked": 4}
    code, out, err = run(
        capsys, "dispatch", estate, "--asof", DAY, "--channel", "phone=outbox", "--json"
    )
    assert code == 0, err
    counts = json.loads(out)
    assert (counts["sent"], counts["retry"], counts["dead"], counts["held"]) == (1, 0, 0, 0)
    # the contact is an outbound interaction of A at the visit touchpoint, keyed by the contact
    with touchpoint.open(estate) as ws:
        f = ws.interactions()
        mine = np.flatnonzero(f["customer"].astype(str) == "A")
        assert f["touchpoint"][mine].astype(str).tolist() == ["RE-VISIT-3M"]
        assert f["event_id"][mine].astype(str)[0].startswith("visit-3m/A")
        sent = [r for r in ws.storage.outbox() if r["customer"] == "A"]
        assert [r["state"] for r in sent] == ["sent"]
    # nothing is due any more
    code, out, _ = run(capsys, "dispatch", estate, "--asof", DAY, "--channel", "phone=outbox")
    assert out.strip() == "sent 0, retry 0, dead 0, held 0, waiting 0, lost 0"


def test_dispatch_without_the_channel_dead_letters(capsys, estate) -> None:
    run(capsys, "agenda", estate, "--asof", DAY, "--queue")
    code, out, _ = run(capsys, "dispatch", estate, "--asof", DAY, "--json")
    assert code == 0 and json.loads(out)["dead"] == 1 and json.loads(out)["sent"] == 0


def test_agenda_errors(capsys, tmp_path: Path, estate) -> None:
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    touchpoint.open(plain).close()
    code, out, err = run(capsys, "agenda", plain)
    assert code == 1 and out == "" and "no care rules" in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert run(capsys, "init", empty, "--template", "real-estate")[0] == 0
    code, out, err = run(capsys, "agenda", empty, "--asof", DAY)
    assert code == 0 and "0 care contacts" in out and "no customer records" in err
    code, _, err = run(capsys, "agenda", estate, "--asof", "15/06/2026")
    assert code == 1 and "--asof" in err
    code, _, err = run(capsys, "dispatch", estate, "--channel", "phone")
    assert code == 1 and "NAME=KIND" in err
