"""Complaints in the workspace: record, respond, resolve, the overdue hook and the statistics.

Expected values are computed by hand, by a few lines of pandas over the generated input,
or are the known truth of a simulated population; never read back from the code.
"""

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint import Complaint, ValidationError, open_workspace
from touchpoint.plugins import Plugins, hookimpl

UTC = dt.UTC
OPENED = dt.datetime(2026, 3, 1, 9, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)


class Watch:
    """A plugin keeping the complaints it is told are overdue."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def complaint_overdue(self, workspace, complaint):
        self.seen.append(complaint.id)


class Broken:
    @hookimpl
    def complaint_overdue(self, workspace, complaint):
        raise RuntimeError("pager down")


@pytest.fixture(params=["memory", "sqlite"])
def url(request, tmp_path):
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"


def plugins(*extra):
    return Plugins(entry_points=False, extra=list(extra), hook_timeout=None)


# --------------------------------------------------------------------------- recording


def test_record_respond_resolve_round_trip(url, tmp_path):
    with open_workspace(url) as ws:
        k = ws.record_complaint(
            id="K1",
            customer="C1",
            opened_at="2026-03-01T09:00",
            type="delivery",
            cause="parcel late",
            channel="phone",
        )
        assert k.opened_at == OPENED and k.first_response_at is None and k.resolved_at is None
        answered = ws.respond_to_complaint("K1", at="2026-03-01T11:30")
        assert answered.first_response_time == 2.5 * HOUR
        done = ws.resolve_complaint("K1", at="2026-03-02T09:00", resolution="re-sent")
        assert done.resolution_time == 24 * HOUR and done.resolution == "re-sent"
        assert done.first_response_at == OPENED + 2.5 * HOUR  # the response is kept
        assert ws.storage.complaints() == [done]
        assert ws.storage.complaints("C1")[0].cause == "parcel late"
    if url.startswith("sqlite"):  # the file keeps it after closing
        with open_workspace(url) as again:
            assert again.storage.complaints() == [done]


def test_a_complaint_object_and_times_with_offsets_are_accepted():
    with open_workspace("memory://") as ws:
        k = Complaint("K1", "C1", opened_at=dt.datetime(2026, 3, 1, 9), type="price")
        assert ws.record_complaint(k) == k
        # 18:00 in Beijing is 10:00 UTC
        got = ws.respond_to_complaint("K1", at="2026-03-01T18:00+08:00")
        assert got.first_response_at == OPENED + HOUR


def test_recording_the_same_complaint_again_is_idempotent(url):
    with open_workspace(url) as ws:
        fields = {"customer": "C1", "opened_at": "2026-03-01T09:00", "type": "service"}
        first = ws.record_complaint(**fields)
        assert ws.record_complaint(**fields) == first  # the derived id is the same
        assert ws.record_complaint(dict(fields, cause="rude")).id != first.id
        ws.record_complaint(id="K1", **fields)
        ws.record_complaint(id="K1", **fields)
        assert sorted(c.id for c in ws.storage.complaints()) == sorted(
            [first.id, "K1", ws.record_complaint(dict(fields, cause="rude")).id]
        )
        # new values under the same id (a ticket system's export) replace the old ones
        later = ws.record_complaint(id="K1", first_response_at="2026-03-01T10:00", **fields)
        assert [c for c in ws.storage.complaints() if c.id == "K1"] == [later]


def test_an_id_used_by_another_complaint_is_refused_naming_it():
    with open_workspace("memory://") as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00")
        with pytest.raises(ValidationError) as caught:
            ws.record_complaint(id="K1", customer="C2", opened_at="2026-03-05")
        paths = [p.path for p in caught.value.problems]
        assert paths == ["complaints['K1'].customer", "complaints['K1'].opened_at"]
        assert caught.value.problems[0].value == "C2"
        assert [c.customer for c in ws.storage.complaints()] == ["C1"]


def test_a_resolution_or_response_before_the_opening_is_refused_naming_the_complaint(url):
    with open_workspace(url) as ws:
        ws.record_complaint(id="K7", customer="C1", opened_at="2026-03-01T09:00")
        with pytest.raises(ValidationError) as caught:
            ws.resolve_complaint("K7", at="2026-03-01T08:59", resolution="refund")
        (problem,) = caught.value.problems
        assert problem.path == "complaints['K7'].resolved_at"
        assert "before the complaint was opened" in problem.message
        assert problem.value == "2026-03-01T08:59:00+00:00"
        with pytest.raises(ValidationError, match=r"complaints\['K7'\].first_response_at"):
            ws.respond_to_complaint("K7", at=dt.datetime(2026, 2, 1))
        assert ws.storage.complaints()[0].resolved_at is None  # nothing stored
        with pytest.raises(ValidationError, match=r"complaints\['K9'\]: no complaint recorded"):
            ws.resolve_complaint("K9")


def test_bad_fields_are_each_named_with_their_value_and_personal_values_masked():
    with open_workspace("memory://") as ws:
        with pytest.raises(ValidationError) as caught:
            ws.record_complaint(
                id="K1",
                customer="",
                opened_at="not a date",
                type="furious",
                cause=42,
                phone="+86 138 0013 8000",
            )
        found = {p.path: p for p in caught.value.problems}
        assert set(found) == {
            "complaints['K1'].phone",
            "complaints['K1'].customer",
            "complaints['K1'].opened_at",
            "complaints['K1'].type",
            "complaints['K1'].cause",
        }
        assert found["complaints['K1'].phone"].value == "***00"
        assert "138" not in str(caught.value)
        assert found["complaints['K1'].type"].value == "furious"
        assert "not a date" in str(found["complaints['K1'].opened_at"].value)
        with pytest.raises(ValidationError, match=r"complaint.opened_at: is required"):
            ws.record_complaint(customer="C1")
        # a response before the opening given when recording is named as well
        with pytest.raises(ValidationError, match=r"complaints\['K2'\].first_response_at"):
            ws.record_complaint(
                id="K2", customer="C1", opened_at="2026-03-02", first_response_at="2026-03-01"
            )
        assert ws.storage.complaints() == []


def test_a_resolution_without_a_response_answers_the_complaint():
    with open_workspace("memory://") as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at=OPENED)
        done = ws.resolve_complaint("K1", at=OPENED + 3 * HOUR)
        assert done.first_response_at == OPENED + 3 * HOUR
        # a later response does not move the first one; an earlier one does
        assert ws.respond_to_complaint("K1", at=OPENED + 5 * HOUR).first_response_at == (
            OPENED + 3 * HOUR
        )
        assert ws.respond_to_complaint("K1", at=OPENED + HOUR).first_response_at == OPENED + HOUR
        # resolving again with other values is a correction; the same values change nothing
        fixed = ws.resolve_complaint("K1", at=OPENED + 4 * HOUR, resolution="refund")
        assert ws.storage.complaints() == [fixed] and fixed.first_response_at == OPENED + HOUR


# --------------------------------------------------------------------------- the hook


def test_each_overdue_complaint_fires_the_hook_once_per_check(url):
    watch = Watch()
    with open_workspace(url, plugins=plugins(watch)) as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at=OPENED)  # 30 h old: overdue
        ws.record_complaint(id="K2", customer="C2", opened_at=OPENED)
        ws.respond_to_complaint("K2", at=OPENED + 26 * HOUR)  # answered late: not pending
        ws.record_complaint(id="K3", customer="C3", opened_at=OPENED)
        ws.resolve_complaint("K3", at=OPENED + 2 * HOUR)
        ws.record_complaint(id="K4", customer="C4", opened_at=OPENED + 6 * HOUR)  # exactly 24 h
        ws.record_complaint(id="K5", customer="C5", opened_at=OPENED + 20 * HOUR)  # 10 h
        asof = OPENED + 30 * HOUR
        late = ws.check_complaints(asof=asof)
        assert [k.id for k in late] == ["K1"] and watch.seen == ["K1"]
        # every call reports what is overdue then, once each
        ws.check_complaints(asof=asof)
        assert watch.seen == ["K1", "K1"]
        watch.seen.clear()
        late = ws.check_complaints(asof=asof, response_limit="8 hours")
        assert [k.id for k in late] == ["K1", "K4", "K5"] and watch.seen == ["K1", "K4", "K5"]
        watch.seen.clear()
        ws.respond_to_complaint("K1", at=asof)
        assert ws.check_complaints(asof=asof) == [] and watch.seen == []


def test_a_failing_plugin_neither_stops_the_others_nor_the_check(caplog):
    watch = Watch()
    with open_workspace("memory://", plugins=plugins(Broken(), watch)) as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at=OPENED)
        ws.record_complaint(id="K2", customer="C2", opened_at=OPENED)
        with caplog.at_level(logging.WARNING):
            late = ws.check_complaints(asof=OPENED + 48 * HOUR)
        assert [k.id for k in late] == ["K1", "K2"] and watch.seen == ["K1", "K2"]
        assert "pager down" in caplog.text and "complaint_overdue" in caplog.text
        failures = ws.notify("complaint_overdue", complaint=late[0])
        assert [(f.hook, str(f.error)) for f in failures] == [("complaint_overdue", "pager down")]


def test_a_bad_response_limit_is_named():
    with open_workspace("memory://") as ws, pytest.raises(ValidationError, match="response_limit"):
        ws.check_complaints(asof=OPENED, response_limit="soon")


# --------------------------------------------------------------------------- statistics


def _events(rows):
    """Interactions as columns from (customer, time, outcome, amount) rows."""
    return {
        "event_id": [f"e{i}" for i in range(len(rows))],
        "customer": [r[0] for r in rows],
        "touchpoint": ["SHOP"] * len(rows),
        "time": [r[1] for r in rows],
        "outcome": [r[2] for r in rows],
        "amount": [r[3] for r in rows],
    }


def test_stats_of_a_hand_computed_case(url):
    with open_workspace(url) as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00", type="service")
        ws.respond_to_complaint("K1", at="2026-03-01T10:00")  # 1 h
        ws.resolve_complaint("K1", at="2026-03-02T09:00")  # 24 h: quick
        ws.record_complaint(id="K2", customer="C2", opened_at="2026-03-01T09:00", type="service")
        ws.respond_to_complaint("K2", at="2026-03-02T15:00")  # 30 h: past the limit
        ws.resolve_complaint("K2", at="2026-03-08T09:00")  # 168 h: slow
        ws.record_complaint(id="K3", customer="C3", opened_at="2026-03-02T09:00", type="price")
        ws.record_complaint(id="K4", customer="C4", opened_at="2026-03-31T20:00", type="price")
        # opened after the report's moment: not counted
        ws.record_complaint(id="K5", customer="C5", opened_at="2026-04-02", type="price")
        ws.record_batch(
            _events(
                [
                    ("C1", "2026-03-05", "purchase", 30.0),  # C1 came back
                    ("C2", "2026-03-03", "purchase", 20.0),  # before K2's resolution
                    ("C2", "2026-03-10", "call", None),  # not a purchase
                    ("C3", "2026-03-20", None, 12.0),  # no outcome, money paid: a purchase
                    ("C4", "2026-04-05", "purchase", 9.0),  # after the report's moment
                ]
            )
        )
        s = ws.complaint_stats(asof="2026-04-01")
    assert s["type"].tolist() == ["all", "price", "service"]
    assert s["complaints"].tolist() == [4, 2, 2]
    assert s["answered"].tolist() == [2, 0, 2] and s["resolved"].tolist() == [2, 0, 2]
    assert s["resolution_rate"].tolist() == [0.5, 0.0, 1.0]
    # within 24 h: K1; observed: K1, K2, K3 (28 days unanswered); K4 is 4 h old
    assert s["response_within_limit"].tolist() == pytest.approx([1 / 3, 0.0, 0.5])
    assert s["response_p50_hours"][[0, 2]].tolist() == [15.5, 15.5]
    assert s["response_p90_hours"][0] == pytest.approx(1 + 0.9 * 29)
    assert s["resolution_p50_hours"][0] == 96.0
    assert np.isnan(s["response_p50_hours"][1])
    assert s["came_back_quick"][[0, 2]].tolist() == [1.0, 1.0]
    assert s["came_back_slow"][[0, 2]].tolist() == [0.0, 0.0]
    assert s["came_back_unresolved"][[0, 1]].tolist() == [0.5, 0.5]


def test_stats_see_the_complaints_as_they_stood_at_asof():
    with open_workspace("memory://") as ws:
        ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00")
        ws.resolve_complaint("K1", at="2026-03-10T09:00")
        before = ws.complaint_stats(asof="2026-03-05")
        after = ws.complaint_stats(asof="2026-03-11")
    assert (before["answered"][0], before["resolved"][0]) == (0, 0)
    assert (after["answered"][0], after["resolved"][0]) == (1, 1)
    assert before["response_within_limit"][0] == 0.0  # unanswered for 4 days then


HOURS = st.integers(min_value=0, max_value=24 * 20)


@st.composite
def histories(draw):
    n = draw(st.integers(1, 10))
    complaints = [
        {
            "customer": draw(st.sampled_from(["C0", "C1", "C2", "C3"])),
            "type": draw(st.sampled_from(["price", "service", "delivery"])),
            "opened": draw(HOURS),
            "response": draw(st.none() | HOURS),
            "resolved": draw(st.none() | HOURS),
        }
        for _ in range(n)
    ]
    events = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["C0", "C1", "C2", "C3", "C9"]),
                st.integers(0, 24 * 40),
                st.sampled_from(["purchase", "call", None]),
                st.sampled_from([None, 0.0, 15.0]),
            ),
            max_size=15,
        )
    )
    asof = draw(st.integers(24 * 5, 24 * 45))
    limit = draw(st.sampled_from([4, 24, 72]))
    return complaints, events, asof, limit


def _reference(complaints, events, asof, limit, quick=72):
    """The statistics in pandas, from their definitions (times in hours)."""
    k = pd.DataFrame(complaints)
    k["response_at"] = k["opened"] + k["response"]
    k["resolved_at"] = k["opened"] + k["resolved"]
    k = k[k["opened"] <= asof].copy()
    k.loc[k["response_at"] > asof, "response_at"] = np.nan
    k.loc[k["resolved_at"] > asof, "resolved_at"] = np.nan
    e = pd.DataFrame(events, columns=["customer", "time", "outcome", "amount"])
    bought = (e["outcome"] == "purchase") | (e["outcome"].isna() & (e["amount"] > 0))
    e = e[bought & (e["time"] <= asof)]
    mark = k["resolved_at"].fillna(k["opened"])
    k["back"] = [
        bool(((e["customer"] == c) & (e["time"] > m)).any())
        for c, m in zip(k["customer"], mark, strict=True)
    ]
    answered = k["response_at"].notna()
    k["observed"] = answered | (asof - k["opened"] > limit)
    k["within"] = answered & (k["response_at"] - k["opened"] <= limit)
    resolved = k["resolved_at"].notna()
    k["quick"] = resolved & (k["resolved_at"] - k["opened"] <= quick)
    k["slow"] = resolved & ~k["quick"]
    k["open"] = ~resolved

    def share(num, den):
        return num.sum() / den.sum() if den.sum() else np.nan

    rows = {}
    for name, g in [("all", k), *sorted(k.groupby("type"))]:
        rows[name] = {
            "complaints": len(g),
            "answered": int(g["response_at"].notna().sum()),
            "resolved": int(g["resolved_at"].notna().sum()),
            "resolution_rate": share(g["resolved_at"].notna(), g["opened"].notna()),
            "response_within_limit": share(g["within"], g["observed"]),
            "response_p50_hours": (g["response_at"] - g["opened"]).median(),
            "came_back_quick": share(g["quick"] & g["back"], g["quick"]),
            "came_back_slow": share(g["slow"] & g["back"], g["slow"]),
            "came_back_unresolved": share(g["open"] & g["back"], g["open"]),
        }
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_stats_equal_a_pandas_reference(history):
    complaints, events, asof, limit = history
    t0 = np.datetime64("2026-03-01T00:00", "us")

    def at(hours):
        return str(t0 + np.timedelta64(hours, "h"))

    with open_workspace("memory://") as ws:
        for i, c in enumerate(complaints):
            ws.record_complaint(
                id=f"K{i}",
                customer=c["customer"],
                type=c["type"],
                opened_at=at(c["opened"]),
                first_response_at=None
                if c["response"] is None
                else at(c["opened"] + c["response"]),
                resolved_at=None if c["resolved"] is None else at(c["opened"] + c["resolved"]),
            )
        if events:
            rows = [(c, at(h), o, np.nan if a is None else a) for c, h, o, a in events]
            ws.record_batch(_events(rows))
        got = ws.complaint_stats(asof=at(asof), response_limit=f"{limit} hours")
    want = _reference(complaints, events, asof, limit)
    assert got["type"].tolist() == list(want)
    for i, name in enumerate(got["type"].tolist()):
        for column, value in want[name].items():
            assert got[column][i] == pytest.approx(value, nan_ok=True), (name, column)


# --------------------------------------------------------------------------- the 95/60 rule


def _population(seed, back, n=3000):
    """Complainants whose chance of buying again is known: ``back[kind]`` by resolution.

    Each customer has one complaint, resolved quickly (within 3 days), slowly (4 to 20
    days) or not at all, purchases before it (which must not count), and calls after it
    (not purchases).
    """
    rng = np.random.default_rng(seed)
    opened = np.datetime64("2026-01-01T08:00", "us") + rng.integers(0, 60 * 24, n).astype(
        "timedelta64[h]"
    )
    kind = rng.choice(np.array(["quick", "slow", "open"]), n, p=[0.4, 0.35, 0.25])
    hours = np.where(kind == "quick", rng.integers(1, 72, n), rng.integers(96, 480, n))
    resolved = np.where(
        kind == "open", np.datetime64("NaT", "us"), opened + hours.astype("timedelta64[h]")
    )
    p = np.select([kind == "quick", kind == "slow"], [back["quick"], back["slow"]], back["open"])
    came_back = rng.random(n) < p
    mark = np.where(kind == "open", opened, resolved)
    complaints = [
        Complaint(
            f"K{i}",
            f"C{i}",
            opened_at=opened[i].astype(dt.datetime),
            first_response_at=None if kind[i] == "open" else opened[i].astype(dt.datetime),
            resolved_at=None if kind[i] == "open" else resolved[i].astype(dt.datetime),
        )
        for i in range(n)  # building the records of a simulated population
    ]
    who = np.arange(n)
    before = opened - rng.integers(1, 30 * 24, n).astype("timedelta64[h]")
    after = mark + rng.integers(1, 60 * 24, n).astype("timedelta64[h]")
    customers = np.concatenate([who, who[came_back], who])
    events = {
        "event_id": np.array([f"e{i}" for i in range(len(customers))], dtype=object),
        "customer": np.array([f"C{i}" for i in customers], dtype=object),
        "touchpoint": np.full(len(customers), "SHOP", dtype=object),
        "time": np.concatenate([before, after[came_back], after + np.timedelta64(1, "h")]),
        "outcome": np.array(
            ["purchase"] * n + ["purchase"] * int(came_back.sum()) + ["call"] * n, dtype=object
        ),
        "amount": np.concatenate(
            [np.full(n, 20.0), np.full(int(came_back.sum()), 35.0), np.full(n, np.nan)]
        ),
    }
    truth = {k: float(came_back[kind == k].mean()) for k in ("quick", "slow", "open")}
    sizes = {k: int((kind == k).sum()) for k in ("quick", "slow", "open")}
    return complaints, events, truth, sizes


@pytest.mark.parametrize(
    "back",
    [
        {"quick": 0.95, "slow": 0.60, "open": 0.15},  # the material's rule of thumb
        {"quick": 0.70, "slow": 0.70, "open": 0.70},  # complaints change nothing
    ],
)
def test_the_came_back_figures_recover_a_known_population(back):
    complaints, events, _, sizes = _population(17, back)
    with open_workspace("memory://") as ws:
        ws.storage.add_complaints(complaints)
        ws.record_batch(events)
        s = ws.complaint_stats(asof="2027-01-01")
    got = {
        "quick": s["came_back_quick"][0],
        "slow": s["came_back_slow"][0],
        "open": s["came_back_unresolved"][0],
    }
    for kind, p in back.items():
        se = np.sqrt(p * (1 - p) / sizes[kind])
        assert abs(got[kind] - p) < 4 * se, (kind, got[kind], p)
    if back["quick"] == back["slow"] == back["open"]:
        assert max(got.values()) - min(got.values()) < 0.08  # no gap made up
    else:
        assert got["quick"] - got["slow"] > 0.25 and got["slow"] - got["open"] > 0.35
