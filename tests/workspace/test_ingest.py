"""Ingest keeps what it should and refuses what it must (issue 12, item 8).

Through the call a host application makes, ``touchpoint.open(...).record_batch(...)``:
ratings outside the scale of their touchpoint are rejected; one unreadable time is that
row's problem under every input type; a batch without a required column is refused
with the library's error naming each missing column, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import touchpoint
from touchpoint.errors import ValidationError
from touchpoint.model import Blueprint, ControlIndicator, Touchpoint

REQUIRED = ("event_id", "customer", "touchpoint", "time")


def _tp(code, *indicators):
    return Touchpoint(
        code,
        f"Touchpoint {code}",
        category="channel",
        stage="transaction",
        line="service",
        channels=["store"],
        indicators=list(indicators),
    )


def _rating(code, scale):
    return ControlIndicator(code, f"Rating {code}", kind="rating", target=1, scale=scale)


#: Touchpoints with a 1-5 scale, a 0-10 (NPS) scale, both, and none stated.
BLUEPRINT = Blueprint(
    name="ratings",
    stages=["transaction"],
    touchpoints=[
        _tp("STARS", _rating("csat", 5)),
        _tp("NPS", _rating("nps", 10)),
        _tp("BOTH", _rating("csat", 5), _rating("nps", 10)),
        _tp("FREE", ControlIndicator("said", "Any rating", kind="rating", target=1)),
        _tp("PLAIN"),
    ],
)
#: The scales the test expects, written out by hand (not read from the code).
SCALES = {"STARS": (1, 5), "NPS": (0, 10), "BOTH": (0, 10)}


def _batch(touchpoints, ratings):
    n = len(ratings)
    return {
        "event_id": [f"e{i}" for i in range(n)],
        "customer": ["C1"] * n,
        "touchpoint": list(touchpoints),
        "time": ["2026-03-01T10:00"] * n,
        "rating": list(ratings),
    }


# ------------------------------------------------------------------ ratings


def test_a_rating_of_11_on_a_1_to_5_scale_is_rejected_naming_record_field_and_value():
    ws = touchpoint.open("memory://", blueprint="budget-hotel")
    tp = next(tp for tp in ws.blueprint if any(i.kind == "rating" for i in tp.indicators))
    data = _batch([tp.code] * 3, [11.0, 4.0, 5.0])
    refused = ws.record_batch(data)
    assert not refused.committed and len(ws.interactions()) == 0
    report = ws.record_batch(data, on_reject="quarantine")
    assert report.accepted_rows.tolist() == [1, 2]
    assert report.rejections[0].reason == (
        f"records[0].rating: must be between 1 and 5, the rating scale of touchpoint "
        f"{tp.code!r} (value: 11.0)"
    )
    assert sorted(ws.interactions()["rating"].tolist()) == [4.0, 5.0]
    (kept,) = ws.quarantined()
    assert kept["record"]["rating"] == 11.0 and kept["reasons"][0]["path"] == "records[0].rating"


def test_the_bottom_of_each_scale_one_for_stars_zero_for_nps():
    ws = touchpoint.open("memory://", blueprint=BLUEPRINT)
    cases = [
        ("STARS", 1.0, True),
        ("STARS", 5.0, True),
        ("STARS", 0.0, False),
        ("STARS", 5.5, False),
        ("NPS", 0.0, True),
        ("NPS", 10.0, True),
        ("NPS", 11.0, False),
        ("NPS", -1.0, False),
        ("BOTH", 0.0, True),
        ("BOTH", 9.0, True),
        ("FREE", 11.0, True),  # its indicator states no scale
        ("PLAIN", -3.0, True),  # no rating indicator at all
    ]
    report = ws.record_batch(
        _batch([c[0] for c in cases], [c[1] for c in cases]), on_reject="quarantine"
    )
    want = [i for i, c in enumerate(cases) if c[2]]
    assert report.accepted_rows.tolist() == want


def test_without_a_blueprint_any_finite_rating_is_kept():
    ws = touchpoint.open("memory://")
    report = ws.record_batch(_batch(["T1", "T1"], [11.0, -2.0]))
    assert report.accepted == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["STARS", "NPS", "BOTH", "FREE", "PLAIN"]),
            st.one_of(st.none(), st.floats(-3, 13, allow_nan=False).map(lambda x: round(x, 1))),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["dict", "pandas", "records"]),
)
def test_rejected_ratings_match_a_pandas_reference(rows, kind):
    tps, ratings = zip(*rows, strict=True)
    data = _batch(tps, [np.nan if r is None else r for r in ratings])
    # the reference: a merge with the hand-written scales, in pandas
    df = pd.DataFrame({"tp": tps, "rating": [np.nan if r is None else r for r in ratings]})
    scales = pd.DataFrame(
        [(k, lo, hi) for k, (lo, hi) in SCALES.items()], columns=["tp", "lo", "hi"]
    )
    merged = df.merge(scales, on="tp", how="left")
    bad = merged["rating"].notna() & (
        (merged["rating"] < merged["lo"]) | (merged["rating"] > merged["hi"])
    )
    given_data = {
        "dict": data,
        "pandas": pd.DataFrame(data),
        "records": [
            dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)
        ],
    }[kind]
    if kind == "records":  # a record leaves a missing rating out
        given_data = [
            {k: v for k, v in r.items() if not (k == "rating" and v != v)} for r in given_data
        ]
    ws = touchpoint.open("memory://", blueprint=BLUEPRINT)
    report = ws.record_batch(given_data, on_reject="quarantine")
    assert [r.row for r in report.rejections] == np.flatnonzero(bad.to_numpy()).tolist()
    assert all("rating scale of touchpoint" in r.reason for r in report.rejections)


# ------------------------------------------------------------------ times

GOOD_TIMES = ["2026-03-01T10:00", "2026-03-02T11:30:15", "2026-03-03"]


def _time_batch(times):
    n = len(times)
    return {
        "event_id": [f"t{i}" for i in range(n)],
        "customer": [f"C{i}" for i in range(n)],
        "touchpoint": ["T1"] * n,
        "time": list(times),
        "amount": [float(i) for i in range(n)],
    }


def _as(kind, data):
    """The same batch as each input type the workspace accepts."""
    if kind == "dict of lists":
        return data
    if kind == "dict of arrays":
        return {k: np.asarray(v) for k, v in data.items()}
    if kind == "pandas":
        return pd.DataFrame(data)
    if kind == "pandas object":
        return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    if kind == "polars":
        return pl.DataFrame(data)
    if kind == "arrow":
        return pa.table(data)
    if kind == "records":
        return [dict(zip(data, row, strict=True)) for row in zip(*data.values(), strict=True)]
    raise AssertionError(kind)


KINDS = ["dict of lists", "dict of arrays", "pandas", "pandas object", "polars", "arrow", "records"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_unreadable_time_is_quarantined_and_the_rest_land(kind):
    times = [GOOD_TIMES[0], "not a date", GOOD_TIMES[1], GOOD_TIMES[2]]
    ws = touchpoint.open("memory://")
    report = ws.record_batch(_as(kind, _time_batch(times)), on_reject="quarantine")
    assert report.committed and report.accepted_rows.tolist() == [0, 2, 3]
    (rejection,) = report.rejections
    assert rejection.row == 1
    assert rejection.reason == "records[1].time: must be a time (value: 'not a date')"
    stored = ws.interactions().to_pandas().set_index("event_id")
    want = np.array(GOOD_TIMES, dtype="datetime64[us]")
    np.testing.assert_array_equal(
        stored.loc[["t0", "t2", "t3"], "time"].to_numpy(dtype="datetime64[us]"), want
    )
    (kept,) = ws.quarantined()
    assert kept["record"]["time"] == "not a date" and kept["record"]["event_id"] == "t1"


@pytest.mark.parametrize("kind", KINDS)
def test_under_refuse_one_unreadable_time_refuses_the_batch_and_says_which(kind):
    times = [GOOD_TIMES[0], GOOD_TIMES[1], "2026-13-45"]
    ws = touchpoint.open("memory://")
    report = ws.record_batch(_as(kind, _time_batch(times)))
    assert not report.committed and report.rejected == 3 and len(ws.interactions()) == 0
    reasons = {r.row: r.reason for r in report.rejections}
    assert reasons[2] == "records[2].time: must be a time (value: '2026-13-45')"
    assert "refused" in reasons[0]


def test_aware_naive_and_offset_times_mixed_in_one_column_land_in_utc():
    plus8 = dt.timezone(dt.timedelta(hours=8))
    given_times = [
        dt.datetime(2026, 3, 1, 8, 0, tzinfo=plus8),  # aware
        dt.datetime(2026, 3, 1, 8, 0),  # naive: UTC
        "2026-03-01T08:00:00-05:00",  # text with an offset
        "2026-03-01T08:00:00Z",
        pd.Timestamp("2026-03-01 08:00", tz="Europe/Paris"),
        dt.date(2026, 3, 2),
        "not a date",
        None,  # missing: is required
        1_772_352_000,  # a number is not a time (numpy would read it as microseconds)
        "20260101",  # digits only: numpy reads year 20260101, beyond any datetime
    ]
    # the reference: Python's own conversion to UTC, value by value
    want = []
    for v in given_times[:6]:
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v)
        if not isinstance(v, dt.datetime):
            v = dt.datetime(v.year, v.month, v.day)
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        want.append(np.datetime64(v, "us"))
    for kind in ("dict of lists", "pandas object", "records"):
        ws = touchpoint.open("memory://")
        data = _as(kind, _time_batch(given_times))
        if kind == "records":
            data[7].pop("time")
        report = ws.record_batch(data, on_reject="quarantine")
        assert report.accepted_rows.tolist() == [0, 1, 2, 3, 4, 5], kind
        reasons = {r.row: r.reason for r in report.rejections}
        assert reasons[6] == "records[6].time: must be a time (value: 'not a date')"
        assert reasons[7] == "records[7].time: is required (value: None)"
        assert reasons[8] == "records[8].time: must be a time (value: 1772352000)"
        assert reasons[9] == "records[9].time: must be a time (value: '20260101')"
        stored = ws.interactions().to_pandas().set_index("event_id")
        got = stored.loc[[f"t{i}" for i in range(6)], "time"].to_numpy(dtype="datetime64[us]")
        np.testing.assert_array_equal(got, np.array(want), err_msg=kind)


@pytest.mark.parametrize("kind", ["dict of arrays", "pandas object", "records"])
def test_an_unreadable_amount_is_that_rows_problem_too(kind):
    data = _time_batch(GOOD_TIMES)
    data["amount"] = [1.0, "lots", 3.0]
    ws = touchpoint.open("memory://")
    report = ws.record_batch(_as(kind, data), on_reject="quarantine")
    assert report.accepted_rows.tolist() == [0, 2]
    assert report.rejections[0].reason.startswith("records[1].amount: must be a number")
    assert "'lots'" in report.rejections[0].reason


def test_many_bad_times_among_many_good_ones():
    rng = np.random.default_rng(7)
    n = 20_000
    days = rng.integers(0, 365, n)
    times = (np.datetime64("2026-01-01") + days.astype("timedelta64[D]")).astype(str).astype(object)
    bad = np.sort(rng.choice(n, 37, replace=False))
    times[bad] = "soon"
    ws = touchpoint.open("memory://")
    report = ws.record_batch(pd.DataFrame(_time_batch(times.tolist())), on_reject="quarantine")
    assert [r.row for r in report.rejections] == bad.tolist()
    assert report.accepted == n - len(bad)
    got = ws.interactions()
    order = np.argsort(got["amount"])
    good = np.setdiff1d(np.arange(n), bad)
    want = np.datetime64("2026-01-01", "us") + days[good].astype("timedelta64[D]")
    np.testing.assert_array_equal(got["time"][order], want)


# ------------------------------------------------------------------ missing columns


@pytest.mark.parametrize(
    "missing",
    [c for k in range(1, 5) for c in itertools.combinations(REQUIRED, k)],
    ids=lambda c: "-".join(c),
)
def test_a_batch_without_required_columns_is_refused_naming_each_one(missing):
    ws = touchpoint.open("memory://")
    ws.record_batch(_time_batch(GOOD_TIMES[:1]))
    data = {k: v for k, v in _time_batch(GOOD_TIMES).items() if k not in missing}
    with pytest.raises(ValidationError) as err:
        ws.record_batch(data, on_reject="quarantine")
    paths = [p.path for p in err.value.problems]
    assert paths == list(missing)
    available = ", ".join(repr(c) for c in data) or "none"
    for p in err.value.problems:
        assert f"(available: {available})" in p.message
    assert ws.interactions()["event_id"].tolist() == ["t0"]  # the earlier batch is kept
    assert ws.quarantined() == []


@pytest.mark.parametrize("kind", ["dict of arrays", "pandas", "polars", "arrow"])
def test_missing_columns_in_every_table_type(kind):
    data = {k: v for k, v in _time_batch(GOOD_TIMES).items() if k not in ("customer", "time")}
    ws = touchpoint.open("memory://")
    with pytest.raises(ValidationError) as err:
        ws.record_batch(_as(kind, data))
    assert [p.path for p in err.value.problems] == ["customer", "time"]
    assert len(ws.interactions()) == 0


def test_a_renamed_column_that_is_not_there_is_named():
    ws = touchpoint.open("memory://")
    with pytest.raises(ValidationError, match="'paid'"):
        ws.record_batch(_time_batch(GOOD_TIMES), names={"amount": "paid"})


# ------------------------------------------------------------------ field sizes and text (issue 13)


def _rows(n, **column):
    data = {
        "event_id": [f"e{i}" for i in range(n)],
        "customer": [f"C{i}" for i in range(n)],
        "touchpoint": ["T1"] * n,
        "time": ["2026-03-01T10:00"] * n,
        "amount": [1.0] * n,
    }
    for name, (row, value) in column.items():
        data[name] = list(data.get(name, [None] * n))
        data[name][row] = value
    return data


@pytest.mark.parametrize("field", ["event_id", "customer", "touchpoint", "staff"])
def test_one_huge_id_in_20k_rows_costs_no_memory_and_is_that_rows_problem(field):
    """20,000 characters in one row built U20000 arrays: 1.6 GB (MemoryError under 1.5 GiB)."""
    import tracemalloc

    data = _rows(20_000, **{field: (12_345, "x" * 20_000)})
    ws = touchpoint.open("memory://")
    tracemalloc.start()
    try:
        report = ws.record_batch(data, on_reject="quarantine")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MiB"  # measured: about 12 MiB
    assert report.accepted == 19_999 and len(ws.interactions()) == 19_999
    (problem,) = report.rejections[0].problems
    assert problem.path == f"records[12345].{field}"
    assert problem.message == "is too long: 20000 characters, the limit is 256"
    assert problem.value.endswith("… (20000 characters)") and len(problem.value) < 100


def test_the_id_limit_is_256_characters_inclusive():
    report = touchpoint.open("memory://").record_batch(
        {
            "event_id": ["e" * 256, "f" * 257],
            "customer": ["c" * 256, "C2"],
            "touchpoint": ["T1", "T1"],
            "time": ["2026-03-01", "2026-03-01"],
        },
        on_reject="quarantine",
    )
    assert report.accepted_rows.tolist() == [0]
    assert [p.path for r in report.rejections for p in r.problems] == ["records[1].event_id"]
    assert touchpoint.frame.MAX_ID_LENGTH == 256


@pytest.mark.parametrize("on_reject", ["quarantine", "refuse"])
def test_a_lone_surrogate_or_bytes_is_a_rows_problem_and_quarantine_stores_it_in_sqlite(
    tmp_path, on_reject
):
    """SQLite cannot write a lone surrogate to TEXT: the quarantined record is escaped."""
    ws = touchpoint.open(f"sqlite:///{tmp_path / 'ws.db'}")
    report = ws.record_batch(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "customer": ["C1", "C" + chr(0xD800), b"C3", "C4"],
            "touchpoint": ["T1"] * 4,
            "time": ["2026-03-01"] * 4,
            "staff": ["s1", "s2", "s3", "s" + chr(0xDFFF)],
        },
        on_reject=on_reject,
    )
    problems = {p.path: p for r in report.rejections for p in r.problems if p.has_value}
    assert problems["records[1].customer"].message.startswith("is not valid text")
    assert problems["records[2].customer"].message == "must be text (a str), not bytes"
    assert problems["records[3].staff"].value == "s" + chr(0xDFFF)
    if on_reject == "refuse":
        assert not report.committed and len(ws.interactions()) == 0
        return
    assert report.accepted_rows.tolist() == [0]
    assert ws.interactions().categories["customer"].tolist() == ["C1"]
    kept = {q["row"]: q["record"] for q in ws.quarantined()}
    assert kept[1]["customer"] == "C\\ud800" and kept[2]["customer"] == "b'C3'"
    assert kept[3]["staff"] == "s\\udfff"


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, "", "  "]
)
def test_a_missing_customer_is_never_stored_as_text(missing):
    ws = touchpoint.open("memory://")
    report = ws.record_batch(
        [
            {"event_id": "e1", "customer": "C1", "touchpoint": "T1", "time": "2026-03-01"},
            {"event_id": "e2", "customer": missing, "touchpoint": "T1", "time": "2026-03-01"},
        ],
        on_reject="quarantine",
    )
    assert [p.path for r in report.rejections for p in r.problems] == ["records[1].customer"]
    assert ws.interactions().categories["customer"].tolist() == ["C1"]


@pytest.mark.parametrize("value", [2**1100, -(2**1100)])
def test_an_integer_too_large_for_a_float_is_a_rows_problem(value):
    for data in (
        [
            {
                "event_id": "e1",
                "customer": "C1",
                "touchpoint": "T1",
                "time": "2026-03-01",
                "amount": value,
            }
        ],
        {
            "event_id": ["e1"],
            "customer": ["C1"],
            "touchpoint": ["T1"],
            "time": ["2026-03-01"],
            "amount": [value],
        },
    ):
        report = touchpoint.open("memory://").record_batch(data, on_reject="quarantine")
        (problem,) = report.rejections[0].problems
        assert problem.path == "records[0].amount"
        assert problem.message == "must be a finite number (too large for a float)"
        assert problem.value == "<a whole number of about 332 digits>"
