"""Notification hooks receive what their typed specifications say; a breach is a frozen `Breach`."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import json
import typing
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest

from touchpoint import (
    Blueprint,
    ControlIndicator,
    LoyaltyProgramme,
    LoyaltyTier,
    Promise,
    Touchpoint,
    open_workspace,
)
from touchpoint.channels import Capabilities, ChannelBackend, Delivery, Message
from touchpoint.plugins import Plugins, hookimpl, hookspecs
from touchpoint.scoring import compliance
from touchpoint.workspace import Breach, _breaches

HOUR = 3600.0


def blueprint() -> Blueprint:
    reply = ControlIndicator(
        "reply-24h", "Reply within 24 h", kind="time_limit", target=24, unit="hours"
    )
    return Blueprint(
        name="shop",
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
        loyalty=LoyaltyProgramme([LoyaltyTier("member", 0), LoyaltyTier("gold", 100)]),
    )


EVENTS = {
    "event_id": ["e1", "e2", "e3", "e4"],
    "customer": ["C1", "C2", "C3", "C2"],
    "touchpoint": ["MAIL"] * 4,
    "time": np.array(
        ["2026-03-01T09:00", "2026-03-02T10:00", "2026-03-03T11:00", "2026-03-05T12:00"],
        dtype="datetime64[us]",
    ),
    # met, breached (30 h), not observed, breached (50 h)
    "response_time": [1 * HOUR, 30 * HOUR, np.nan, 50 * HOUR],
    "amount": [10.0, 60.0, 0.0, 70.0],
}


class Recorder:
    """A plugin implementing every notification hook, keeping each call's arguments."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def _keep(self, hook, **args):
        self.calls.append((hook, args))

    @hookimpl
    def interactions_recorded(self, workspace, report):
        self._keep("interactions_recorded", workspace=workspace, report=report)

    @hookimpl
    def indicator_breached(self, workspace, breach):
        self._keep("indicator_breached", workspace=workspace, breach=breach)

    @hookimpl
    def tier_changed(self, workspace, customer, old, new):
        self._keep("tier_changed", workspace=workspace, customer=customer, old=old, new=new)

    @hookimpl
    def promise_overdue(self, workspace, promise):
        self._keep("promise_overdue", workspace=workspace, promise=promise)

    @hookimpl
    def complaint_overdue(self, workspace, complaint):
        self._keep("complaint_overdue", workspace=workspace, complaint=complaint)

    @hookimpl
    def contact_sent(self, workspace, message, delivery):
        self._keep("contact_sent", workspace=workspace, message=message, delivery=delivery)

    @hookimpl
    def contact_failed(self, workspace, message, delivery):
        self._keep("contact_failed", workspace=workspace, message=message, delivery=delivery)


class Refusing(ChannelBackend):
    name = "refusing"
    capabilities = Capabilities(address="email")

    def send(self, message):
        return Delivery.failed(message, self.name, "mailbox full", retryable=True)


@pytest.fixture
def fired():
    """Every notification hook fired once or more by ordinary workspace calls."""
    recorder = Recorder()
    plugins = Plugins(entry_points=False, extra=[recorder], hook_timeout=None)
    with open_workspace("memory://", blueprint=blueprint(), plugins=plugins) as ws:
        ws.record_batch(EVENTS)
        report = ws.check_compliance()
        ws.check_tiers(since="2026-01-01", asof="2026-04-01")
        made = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        ws.storage.add_promises(
            [Promise("P1", "C1", "Call back", made_at=made, due=made + dt.timedelta(days=2))]
        )
        ws.check_promises(made + dt.timedelta(days=5))
        ws.record_complaint(id="K1", customer="C1", opened_at=made)
        ws.check_complaints(asof=made + dt.timedelta(days=2))
        ws.add_channel("refusing", Refusing())
        ws.send(Message("c1", "C1", "li.na@example.com", "hello"), channel="console")
        ws.send(Message("c2", "C1", "li.na@example.com", "hello"), channel="refusing")
        yield ws, recorder.calls, report


def resolved_hints(name):
    """The hook's annotations as types, through the specification's TYPE_CHECKING imports."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    (block,) = [
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    ]
    names: dict = {}
    exec(compile(ast.Module(block.body, type_ignores=[]), hookspecs.__file__, "exec"), names)
    return typing.get_type_hints(getattr(hookspecs, name), globalns={**vars(hookspecs), **names})


def test_every_notification_hook_receives_the_types_its_specification_names(fired):
    ws, calls, _ = fired
    assert {hook for hook, _ in calls} == set(hookspecs.NOTIFICATION_HOOKS)
    for hook, args in calls:
        hints = resolved_hints(hook)
        assert set(args) == set(inspect.signature(getattr(hookspecs, hook)).parameters)
        for arg, value in args.items():
            assert isinstance(value, hints[arg]), f"{hook}({arg}={value!r}) is not {hints[arg]}"
        assert args["workspace"] is ws


def test_each_breach_is_a_row_of_the_report_with_plain_values(fired):
    _, calls, report = fired
    breaches = [args["breach"] for hook, args in calls if hook == "indicator_breached"]
    # hand-computed: e2 took 30 h and e4 50 h against a 24 h limit; e1 met it, e3 unobserved
    assert [(b.event_id, b.customer, b.measured, b.target) for b in breaches] == [
        ("e2", "C2", 30 * HOUR, 24 * HOUR),
        ("e4", "C2", 50 * HOUR, 24 * HOUR),
    ]
    assert [b.row for b in breaches] == report.breaches["row"].tolist()
    assert {(b.touchpoint, b.indicator) for b in breaches} == {("MAIL", "reply-24h")}
    assert breaches[0].time == dt.datetime(2026, 3, 2, 10, 0)
    for b in breaches:
        assert type(b.measured) is float and type(b.row) is int and type(b.customer) is str
        json.dumps(b.to_dict(), default=str)  # plain values: a host can log or forward it


def test_a_breach_is_frozen_and_compared_by_value():
    b = Breach("MAIL", "reply-24h", measured=2.0, target=1.0, row=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        b.measured = 0.0
    assert b == Breach("MAIL", "reply-24h", measured=2.0, target=1.0, row=0)
    assert len({b, attrs.evolve(b)}) == 1
    assert (b.event_id, b.customer, b.time) == (None, None, None)


def test_data_without_ids_gives_breaches_without_them():
    report = compliance(
        {"touchpoint": ["MAIL", "MAIL"], "response_time": [HOUR, 30 * HOUR]}, blueprint()
    )
    (breach,) = _breaches(report.breaches)
    assert breach == Breach("MAIL", "reply-24h", measured=30 * HOUR, target=24 * HOUR, row=1)


def test_a_plugin_reading_the_breach_as_a_dict_still_works_and_is_warned():
    """Written for the dict the hook received before: works for one release, with a warning."""

    class OldStyle:
        def __init__(self):
            self.seen = []

        @hookimpl
        def indicator_breached(self, workspace, breach):
            self.seen.append(
                (breach["event_id"], breach.get("measured"), breach.get("nope", "-"), dict(breach))
            )

    old = OldStyle()
    plugins = Plugins(entry_points=False, extra=[old], hook_timeout=None)
    with open_workspace("memory://", blueprint=blueprint(), plugins=plugins) as ws:
        ws.record_batch(EVENTS)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ws.check_compliance()
    event_id, measured, missing, as_dict = old.seen[0]
    assert (event_id, measured, missing) == ("e2", 30 * HOUR, "-")
    assert as_dict == Breach(**as_dict).to_dict() and as_dict["customer"] == "C2"
    messages = {str(w.message) for w in caught if w.category is DeprecationWarning}
    assert any(
        m.startswith("breach['event_id']: a breach is a touchpoint.workspace.Breach now")
        for m in messages
    )
    assert all(w.filename == __file__ for w in caught if w.category is DeprecationWarning)
    with pytest.warns(DeprecationWarning), pytest.raises(KeyError):
        Breach("T", "I", measured=1.0, target=0.0, row=0)["nope"]
