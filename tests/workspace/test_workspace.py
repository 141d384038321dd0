"""The Workspace facade: ingest reports, refuse vs quarantine, hooks with fault isolation."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint import templates
from touchpoint.channels import ChannelBackend, Message
from touchpoint.channels.console import ConsoleChannel
from touchpoint.errors import ValidationError
from touchpoint.model import Customer, Interaction
from touchpoint.plugins import Plugins, hookimpl
from touchpoint.testing import make_columns
from touchpoint.workspace import open_workspace


def _values(series):
    return [None if pd.isna(v) else v for v in series.tolist()]


def _frame(n=50, seed=0):
    cols = make_columns(n, seed=seed)
    return pd.DataFrame(
        {k: (v.astype(object) if v.dtype == object else v) for k, v in cols.items()}
    ), cols


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "dict"])
def test_batches_from_dataframes_arrow_and_dicts(tmp_path, kind):
    df, cols = _frame()
    data = {
        "pandas": df,
        "polars": pl.from_pandas(df),
        "arrow": pa.Table.from_pandas(df, preserve_index=False),
        "dict": cols,
    }[kind]
    with open_workspace(f"sqlite:///{tmp_path / 'ws.db'}") as ws:
        report = ws.record_batch(data)
        assert (report.accepted, report.duplicates, report.rejected) == (50, 0, 0)
        got = ws.interactions().to_pandas().set_index("event_id").sort_index()
    want = df.set_index("event_id").sort_index()
    for col in ("customer", "touchpoint", "channel", "direction", "outcome", "referrer"):
        assert _values(got[col]) == _values(want[col]), col
    np.testing.assert_array_equal(
        got["time"].to_numpy(dtype="datetime64[us]"), want["time"].to_numpy(dtype="datetime64[us]")
    )
    np.testing.assert_allclose(got["amount"].to_numpy(), want["amount"].to_numpy(), equal_nan=True)


def _mixed_batch():
    good = {"event_id": "g1", "customer": "C1", "touchpoint": "T1", "time": "2026-03-01T10:00"}
    return [
        good,
        {**good, "event_id": "g2", "amount": -3.0},  # bad amount
        {**good, "event_id": "g3"},
        {**good, "event_id": "g4", "time": "not a time"},  # bad time
        {**good, "event_id": "g5", "email": "li.na@example.com"},  # unknown (personal) field
    ]


def test_refuse_is_the_default_and_stores_nothing():
    ws = open_workspace("memory://")
    report = ws.record_batch(_mixed_batch())
    assert not report.committed and report.accepted == 0 and report.rejected == 5
    assert report.accepted + report.duplicates + report.rejected == report.total == 5
    reasons = {r.row: r.reason for r in report.rejections}
    assert reasons[1] == "records[1].amount: must be a finite number >= 0 (value: -3.0)"
    assert "records[3].time: must be a time (value: 'not a time')" in reasons[3]
    assert "records[4].email: is not an interaction field (value: 'l***@e***.com')" in reasons[4]
    assert "refused" in reasons[0] and "on_reject='quarantine'" in reasons[0]
    assert len(ws.interactions()) == 0


def test_quarantine_lands_the_good_ones_and_keeps_the_bad_with_reasons():
    ws = open_workspace("memory://")
    report = ws.record_batch(_mixed_batch(), on_reject="quarantine")
    assert report.committed and report.accepted_rows.tolist() == [0, 2]
    assert [r.row for r in report.rejections] == [1, 3, 4]
    assert sorted(ws.interactions()["event_id"].tolist()) == ["g1", "g3"]
    q = {item["row"]: item for item in ws.quarantined()}
    assert set(q) == {1, 3, 4}
    assert q[1]["record"]["amount"] == -3.0 and q[1]["reasons"][0]["path"] == "records[1].amount"
    # sending the same batch again: the good ones are duplicates now
    again = ws.record_batch(_mixed_batch(), on_reject="quarantine")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 3)


def test_a_repeated_event_with_other_values_is_a_rejected_conflict():
    ws = open_workspace("memory://")
    base = {
        "event_id": "e1",
        "customer": "C1",
        "touchpoint": "T1",
        "time": "2026-03-01",
        "amount": 10.0,
    }
    ws.record(base)
    report = ws.record_batch([{**base, "amount": 11.0}, {**base, "event_id": "e2"}])
    assert not report.committed and len(ws.interactions()) == 1
    assert (
        "conflicts with a stored event" in report.rejections[0].reason
        and "amount" in report.rejections[0].reason
    )
    assert ws.interactions()["amount"].tolist() == [10.0]


good_record = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from([f"e{i}" for i in range(8)]),
        "customer": st.sampled_from(["C1", "C2"]),
        "touchpoint": st.just("T1"),
        "time": st.just("2026-03-01"),
        "amount": st.one_of(st.none(), st.sampled_from([1.0, 2.0, -1.0, float("inf")])),
        "direction": st.sampled_from(["inbound", "outbound", "sideways"]),
    }
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(good_record, max_size=12), min_size=1, max_size=4),
    st.sampled_from(["refuse", "quarantine"]),
)
def test_counts_always_add_up(batches, mode):
    ws = open_workspace("memory://")
    stored: dict[str, tuple] = {}
    for records in batches:
        report = ws.record_batch(records, on_reject=mode)
        assert report.accepted + report.duplicates + report.rejected == len(records)
        rows = sorted(
            [
                *report.accepted_rows.tolist(),
                *report.duplicate_rows.tolist(),
                *(r.row for r in report.rejections),
            ]
        )
        assert rows == list(range(len(records)))  # every record exactly once
        for i in report.accepted_rows.tolist():
            r = records[i]
            stored[r["event_id"]] = (r["customer"], r["amount"], r["direction"])
    frame = ws.interactions()
    got = {
        e: (c, None if np.isnan(a) else a, d)
        for e, c, a, d in zip(
            frame["event_id"], frame["customer"], frame["amount"], frame["direction"], strict=True
        )
    }
    assert got == stored


def test_blueprint_checks_touchpoints_and_channels():
    name = "car-dealership"
    bp = templates.load(name)
    tp = next(iter(bp)).code
    ws = open_workspace("memory://", blueprint=name)
    assert ws.blueprint == bp
    report = ws.record_batch(
        [
            {
                "event_id": "a",
                "customer": "C1",
                "touchpoint": tp,
                "time": "2026-03-01",
                "channel": "store",
            },
            {"event_id": "b", "customer": "C1", "touchpoint": "NOPE", "time": "2026-03-01"},
            {
                "event_id": "c",
                "customer": "C1",
                "touchpoint": tp,
                "time": "2026-03-01",
                "channel": "carrier-pigeon",
            },
        ],
        on_reject="quarantine",
    )
    assert report.accepted_rows.tolist() == [0]
    assert (
        "records[1].touchpoint: is not a touchpoint of blueprint 'car-dealership'"
        in report.rejections[0].reason
    )
    assert "records[2].channel" in report.rejections[1].reason


def test_record_one_interaction_raises_on_bad_input():
    ws = open_workspace("memory://")
    i = Interaction(
        "e1", "C1", "T1", time=dt.datetime(2026, 3, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )
    assert ws.record(i).accepted == 1
    assert ws.interactions()["time"][0] == np.datetime64("2026-03-01T00:00", "us")  # UTC
    with pytest.raises(ValidationError, match=r"records\[0\].event_id"):
        ws.record(event_id="has space", customer="C1", touchpoint="T1", time="2026-03-01")


class _Counter:
    def __init__(self, name):
        self.__name__ = name
        self.reports = []

    @hookimpl
    def interactions_recorded(self, workspace, report):
        self.reports.append(report.accepted)


class _Crashes:
    __name__ = "crashes"

    @hookimpl
    def interactions_recorded(self, workspace, report):
        raise RuntimeError("downstream CRM is down")


def test_a_plugin_failing_in_a_hook_loses_nothing_and_stops_nobody(caplog):
    before, after = _Counter("before"), _Counter("after")
    plugins = Plugins(entry_points=False, extra=[before, _Crashes(), after])
    ws = open_workspace("memory://", plugins=plugins)
    with caplog.at_level(logging.ERROR):
        report = ws.record_batch(make_columns(20))
    assert report.committed and len(ws.interactions()) == 20  # the batch is stored
    assert before.reports == [20] and after.reports == [20]  # the others ran
    [failure] = report.hook_failures
    assert failure.plugin == "crashes" and "downstream CRM is down" in str(failure)
    assert "plugin 'crashes' failed in interactions_recorded" in caplog.text


class _Explodes(ChannelBackend):
    name = "explodes"

    def send(self, message):
        raise TimeoutError("gateway timed out")


class _Watch:
    __name__ = "watch"

    def __init__(self):
        self.sent, self.failed = [], []

    @hookimpl
    def contact_sent(self, workspace, message, delivery):
        self.sent.append(delivery.contact_id)

    @hookimpl
    def contact_failed(self, workspace, message, delivery):
        self.failed.append((delivery.contact_id, delivery.retryable))


def test_send_logs_contacts_and_fires_contact_hooks():
    watch = _Watch()
    ws = open_workspace("memory://", plugins=Plugins(entry_points=False, extra=[watch]))
    out = io.StringIO()
    ws.add_channel("console", ConsoleChannel(stream=out))
    ws.add_channel("explodes", _Explodes())
    msg = Message("k1", "C1", "li.na@example.com", "Your car is ready")
    assert ws.send(msg, channel="console").ok
    failed = ws.send(Message("k2", "C1", "li.na@example.com", "Reminder"), channel="explodes")
    assert not failed.ok and failed.retryable and "TimeoutError" in failed.detail
    assert watch.sent == ["k1"] and watch.failed == [("k2", True)]
    log = {c["contact_id"]: c for c in ws.storage.contacts(customer="C1")}
    assert (
        log["k1"]["status"] == "sent" and log["k2"]["status"] == "failed" and log["k2"]["retryable"]
    )
    assert "li.na@example.com" not in out.getvalue()
    # the outbox queues in storage
    queued = ws.send(Message("k3", "C1", "li.na@example.com", "Queued"), channel="outbox")
    assert (
        queued.status.value == "queued"
        and ws.storage.contacts(status="queued")[0]["body"] == "Queued"
    )


def test_forget_through_the_workspace_then_new_batches_are_rejected(tmp_path):
    ws = open_workspace(f"sqlite:///{tmp_path / 'ws.db'}")
    ws.storage.upsert_customers([Customer("C1", email="li.na@example.com")])
    ws.record_batch(make_columns(30))
    exported = json.loads(ws.export("C1"))
    assert exported["customer"]["email"] == "li.na@example.com"
    ws.forget("C1")
    report = ws.record_batch(
        [
            {"event_id": "z1", "customer": "C1", "touchpoint": "T1", "time": "2026-03-01"},
            {"event_id": "z2", "customer": "C2", "touchpoint": "T1", "time": "2026-03-01"},
        ],
        on_reject="quarantine",
    )
    assert report.accepted_rows.tolist() == [1]
    assert "records[0].customer: this customer was forgotten" in report.rejections[0].reason
    ws.close()
