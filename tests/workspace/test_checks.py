"""The workspace fires promise_overdue and indicator_breached for what it finds."""

import datetime as dt

import numpy as np
import pytest

from touchpoint import (
    Blueprint,
    ControlIndicator,
    Promise,
    Touchpoint,
    TouchpointError,
    open_workspace,
)
from touchpoint.plugins import Plugins, hookimpl


class Watch:
    def __init__(self):
        self.seen = []

    @hookimpl
    def promise_overdue(self, workspace, promise):
        self.seen.append(("promise", promise.id))

    @hookimpl
    def indicator_breached(self, workspace, breach):
        self.seen.append(("breach", breach.event_id, breach.indicator, breach.measured))


def blueprint():
    reply = ControlIndicator(
        "reply-24h", "Reply within 24 hours", kind="time_limit", target=24, unit="hours"
    )
    return Blueprint(
        name="mail",
        stages=["consultation"],
        touchpoints=[
            Touchpoint(
                "MAIL",
                "E-mail enquiry",
                category="channel",
                stage="consultation",
                line="service",
                channels=["email"],
                key=True,
                indicators=[reply],
            )
        ],
    )


@pytest.fixture
def ws_and_watch(tmp_path):
    watch = Watch()
    ws = open_workspace(
        f"sqlite:///{tmp_path / 'crm.db'}",
        blueprint=blueprint(),
        plugins=Plugins(entry_points=False, extra=[watch]),
    )
    yield ws, watch
    ws.close()


def test_breaches_are_reported_once_each_with_what_was_measured(ws_and_watch):
    ws, watch = ws_and_watch
    ws.record_batch(
        {
            "event_id": ["e1", "e2", "e3"],
            "customer": ["C1", "C2", "C3"],
            "touchpoint": ["MAIL"] * 3,
            "time": np.array(["2026-03-01T09:00"] * 3, dtype="datetime64[us]"),
            "response_time": [3600.0, 30 * 3600.0, np.nan],  # met, breached, not observed
        }
    )
    report = ws.check_compliance()
    assert report.breaches["event_id"].tolist() == ["e2"]
    assert [s for s in watch.seen if s[0] == "breach"] == [
        ("breach", "e2", "reply-24h", 30 * 3600.0)
    ]
    watch.seen.clear()
    ws.check_compliance(notify=False)
    assert watch.seen == []


def test_overdue_promises_fire_the_hook(ws_and_watch):
    ws, watch = ws_and_watch
    made = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    ws.storage.add_promises(
        [
            Promise(
                "P1", "C1", "Call back with a quote", made_at=made, due=made + dt.timedelta(days=2)
            ),
            Promise(
                "P2", "C1", "Deliver the manual", made_at=made, due=made + dt.timedelta(days=20)
            ),
            Promise(
                "P3",
                "C2",
                "Refund",
                made_at=made,
                due=made + dt.timedelta(days=1),
                status="fulfilled",
            ),
        ]
    )
    late = ws.check_promises(made + dt.timedelta(days=5))
    assert [p.id for p in late] == ["P1"] and watch.seen == [("promise", "P1")]


def test_compliance_needs_a_blueprint():
    with (
        open_workspace("memory://") as ws,
        pytest.raises(TouchpointError, match="needs a workspace opened with a blueprint"),
    ):
        ws.check_compliance()


def test_tier_changes_since_the_last_run_fire_the_hook(tmp_path):
    from touchpoint import LoyaltyProgramme, LoyaltyTier

    class Tiers:
        def __init__(self):
            self.seen = []

        @hookimpl
        def tier_changed(self, workspace, customer, old, new):
            self.seen.append((customer, old, new))

    bp = Blueprint(
        name="shop",
        stages=["transaction"],
        touchpoints=[
            Touchpoint(
                "BUY",
                "Purchase",
                category="channel",
                stage="transaction",
                line="product",
                channels=["store"],
            )
        ],
        loyalty=LoyaltyProgramme([LoyaltyTier("member", 0), LoyaltyTier("gold", 100)]),
    )
    watch = Tiers()
    with open_workspace(
        "memory://", blueprint=bp, plugins=Plugins(entry_points=False, extra=[watch])
    ) as ws:
        ws.record_batch(
            {
                "event_id": ["e1", "e2"],
                "customer": ["C1", "C2"],
                "touchpoint": ["BUY", "BUY"],
                "time": np.array(["2026-01-10", "2026-03-10"], dtype="datetime64[us]"),
                "amount": [150.0, 500.0],
            }
        )
        report = ws.check_tiers(since="2026-03-01", asof="2026-05-01")
        assert len(report.transitions) == 2
        assert watch.seen == [("C2", "member", "gold")], (
            "C1's February upgrade was announced before"
        )


def test_a_promise_beyond_the_bottom_line_is_refused_and_not_stored(tmp_path):
    import attrs

    from touchpoint import PromisePolicy, ValidationError

    bp = attrs.evolve(blueprint(), promise_policy=PromisePolicy(max_value=500, max_days=30))
    made = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with open_workspace(f"sqlite:///{tmp_path / 'p.db'}", blueprint=bp) as ws:
        ok = Promise(
            "P1", "C1", "Free wash", made_at=made, due=made + dt.timedelta(days=7), value=100
        )
        ws.record_promise(ok)
        too_much = Promise(
            "P2",
            "C1",
            "Free service for a year",
            made_at=made,
            due=made + dt.timedelta(days=90),
            value=900,
        )
        with pytest.raises(ValidationError) as err:
            ws.record_promise(too_much)
        assert [p.path for p in err.value.problems] == [
            "promises['P2'].value",
            "promises['P2'].due",
        ]
        assert "exceeds the bottom line of 500" in str(err.value)
        assert [p.id for p in ws.storage.promises()] == ["P1"]
