"""``touchpoint agenda`` on a workspace whose template enables the built-in flows.

The mother-baby template's win-back rule fires 180 days after a family's last purchase
and its new-customer rule 7 days after a first purchase; both are worked out by hand
from the purchases stored below.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import touchpoint
from touchpoint import Consent, Customer
from touchpoint.cli import main

UTC = dt.UTC


def _purchase(event_id, customer, day):
    return {
        "event_id": event_id,
        "customer": customer,
        "touchpoint": "MB-STORE",
        "time": dt.datetime.fromisoformat(day).replace(hour=11, tzinfo=UTC),
        "channel": "store",
        "outcome": "purchase",
        "amount": 30.0,
    }


def test_agenda_plans_the_template_flows_from_stored_purchases(capsys, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'mb.db'}"
    assert main(["init", url, "--template", "mother-baby"]) == 0
    phone = [Consent("phone", "marketing", True, dt.datetime(2026, 1, 1, tzinfo=UTC))]
    sms = [Consent("sms", "service", True, dt.datetime(2026, 1, 1, tzinfo=UTC))]
    with touchpoint.open(url) as ws:
        ws.storage.upsert_customers(
            [
                Customer("LAPSED", phone="+8613800000001", consents=phone),
                Customer("NO-CONSENT", phone="+8613800000002"),
                Customer("NEW", phone="+8613800000003", consents=sms),
                Customer("RECENT", phone="+8613800000004", consents=phone),
            ]
        )
        report = ws.record_batch(
            [
                # last purchases on 2 January: 180 days later is 1 July
                _purchase("p1", "LAPSED", "2026-01-02"),
                _purchase("p2", "NO-CONSENT", "2026-01-02"),
                # a first purchase on 24 June: welcomed 7 days later, 1 July
                _purchase("p3", "NEW", "2026-06-24"),
                # bought on 2 January and again in May: not lapsed on 1 July
                _purchase("p4", "RECENT", "2026-01-02"),
                _purchase("p5", "RECENT", "2026-05-20"),
            ]
        )
        assert report.ok
    capsys.readouterr()
    assert main(["agenda", url, "--asof", "2026-07-01", "--json", "--queue"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["key"]: (r["status"], r["reason"], r["channel"]) for r in out["rows"]}
    assert rows == {
        "win-back/LAPSED/2026-07-01": ("send", "", "phone"),
        "win-back/NO-CONSENT/2026-07-01": ("blocked", "no marketing consent on phone, sms", "None"),
        "new-customer/NEW/2026-07-01": ("send", "", "sms"),
    }
    assert out["outbox"]["queued"] == 2 and out["outbox"]["blocked"] == 1

    # The call to LAPSED fails for good (as a dispatcher records a dead letter).
    with touchpoint.open(url) as ws:
        assert ws.storage.outbox_failed(
            "win-back/LAPSED/2026-07-01", error="number not in service", next_attempt_at=None
        )
    # Two weeks later: the win-back reminders, which read their previous step's outcome.
    assert main(["agenda", url, "--asof", "2026-07-15", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["key"]: (r["status"], r["reason"]) for r in out["rows"]}
    assert rows == {
        "win-back/LAPSED/2026-07-01/remind": (
            "blocked",
            "previous step 'win-back' was not delivered: number not in service",
        ),
        # blocked by its own consent first (the reminder goes by phone too)
        "win-back/NO-CONSENT/2026-07-01/remind": ("blocked", "no marketing consent on phone"),
    }

    # Running the first day again queues nothing new: the same keys.
    assert main(["agenda", url, "--asof", "2026-07-01", "--json", "--queue"]) == 0
    again = json.loads(capsys.readouterr().out)["outbox"]
    assert (again["queued"], again["duplicate"]) == (0, 2)
    with touchpoint.open(url) as ws:
        states = {r["key"]: r["state"] for r in ws.storage.outbox()}
    assert states == {
        "win-back/LAPSED/2026-07-01": "dead",
        "new-customer/NEW/2026-07-01": "pending",
    }
