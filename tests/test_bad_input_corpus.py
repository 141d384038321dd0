"""Hostile input never crashes and never loses accepted rows (issue 13, items 12 and 14).

A corpus of bad values, each put in one row of a three-row batch, run through
``touchpoint.open(...).record_batch`` (as a dict of lists, a list of records and a pandas
DataFrame; quarantine and refuse; in memory and in a SQLite file), through the column
scores (`rfm`, `csat`, `compliance`) and through the blueprint loader (hostile TOML,
JSON and YAML files). Every case must end in the library's error naming the field and
the value, or in the result the docs ("Bad input" in docs/operations.md) promise; any
other exception is a crash, and the tests count crashes and assert there are none. In
quarantine mode the two good rows of every batch must be in storage, counted there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

import touchpoint
from touchpoint.errors import BlueprintError, ValidationError
from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
from touchpoint.schema import load_blueprint
from touchpoint.scoring import compliance, csat, rfm

SURROGATE = chr(0xD800)
NUL = chr(0)
LONG = "x" * 20_000
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

REJECT, ACCEPT = "reject", "accept"

#: (field, bad value, what happens): the value goes in row 1 of a three-row batch.
#: REJECT: row 1 is rejected with a problem at ``records[1].<field>``; ACCEPT: stored.
CASES: list[tuple[str, object, str]] = [
    # ids: bytes, lone surrogates, NUL and other controls, too long, missing, wrong types
    *[
        (field, value, REJECT)
        for field in ("event_id", "customer", "touchpoint")
        for value in (
            b"C1",
            "C" + SURROGATE,
            "C1" + NUL,
            "C1\n",
            "C" * 257,
            LONG,
            None,
            float("nan"),
            pd.NA,
            "",
            "   ",
            True,
            {"a": {"b": [1]}},
            [1, 2],
            dt.datetime(2026, 1, 1),
        )
    ],
    ("event_id", "e 1", REJECT),  # codes have no spaces
    ("event_id", "e" * 256, ACCEPT),  # the limit itself is allowed
    ("customer", "C" * 256, ACCEPT),
    ("customer", "王小明", ACCEPT),  # any text is a customer id
    ("customer", 7, ACCEPT),  # a number is read as its text
    ("customer", 2**70, ACCEPT),  # an integer beyond int64, as text
    *[
        (field, value, REJECT)
        for field in ("channel", "outcome", "staff", "store", "referrer", "indicator")
        for value in (b"x", "x" + SURROGATE, "x" + NUL, "x" * 257, {"k": "v"}, [1], False)
    ],
    *[(field, None, ACCEPT) for field in ("channel", "outcome", "staff", "store", "referrer")],
    ("direction", "sideways", REJECT),
    ("direction", b"inbound", REJECT),
    ("direction", 1, REJECT),
    ("direction", "outbound", ACCEPT),
    # times: out of range, unreadable, numbers, missing, zones
    ("time", "0000-01-01", REJECT),
    ("time", "10000-01-01", REJECT),
    ("time", "not a date", REJECT),
    ("time", 5, REJECT),
    ("time", 2**70, REJECT),
    ("time", None, REJECT),
    ("time", float("nan"), REJECT),
    ("time", {"a": 1}, REJECT),
    ("time", b"2026-03-01", REJECT),
    ("time", LONG, REJECT),
    ("time", "2026-03-01T10:00+08:00", ACCEPT),  # aware among naive: read as UTC
    ("time", dt.datetime(2026, 3, 1, 10, tzinfo=SHANGHAI), ACCEPT),
    ("time", pd.Timestamp("2026-03-01 10:00", tz="Asia/Shanghai"), ACCEPT),
    # numbers: negative, NaN, infinite, too large for a float, wrong types
    *[
        (field, value, REJECT)
        for field in ("amount", "response_time")
        for value in (-1.0, float("inf"), float("-inf"), 2**1100, -(2**1100), "1e400", "lots")
    ],
    *[
        (field, value, REJECT)
        for field in ("amount", "rating", "response_time")
        for value in (True, [1.0], {"a": 1}, b"5", LONG)
    ],
    ("rating", float("inf"), REJECT),
    ("rating", 2**1100, REJECT),
    ("amount", float("nan"), ACCEPT),  # missing
    ("amount", None, ACCEPT),
    ("amount", 2**70, ACCEPT),  # beyond int64, within float64
    ("rating", float("nan"), ACCEPT),
    ("rating", -3.0, ACCEPT),  # no blueprint: any finite rating
]


def _id(case):
    field, value, _ = case
    shown = repr(value)
    return f"{field}={shown[:24]}"


def _batch(field, value):
    rows = [
        {
            "event_id": f"e{i}",
            "customer": f"C{i}",
            "touchpoint": "T1",
            "time": f"2026-03-0{i + 1}T10:00",
            "amount": 10.0,
        }
        for i in range(3)
    ]
    rows[1][field] = value
    return rows


def _as(kind, rows):
    if kind == "records":
        return rows
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {k: [r.get(k) for r in rows] for k in names}
    if kind == "columns":
        return columns
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    return frame


@pytest.fixture(params=["memory", "sqlite"])
def url(request, tmp_path):
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ws.db'}"


_FILES = itertools.count()


def _fresh(url):
    """The same kind of storage, empty: a new SQLite file for each batch."""
    if url.startswith("sqlite:///"):
        return url.removesuffix(".db") + f"-{next(_FILES)}.db"
    return url


def _run(url, data, mode):
    """(outcome, detail): 'report' with the report and storage count, or the exception."""
    with touchpoint.open(_fresh(url)) as ws:
        try:
            report = ws.record_batch(data, on_reject=mode)
        except ValidationError as exc:
            return "error", exc
        except Exception as exc:  # a crash: counted, not raised
            return "crash", exc
        return "report", (report, len(ws.interactions()), ws.quarantined())


@pytest.mark.parametrize(
    ("store", "kind"),
    [
        ("memory", "columns"),
        ("memory", "records"),
        ("memory", "pandas"),
        ("sqlite", "columns"),
        # a SQLite file per batch, about 20 s a table kind: the quick loop runs one
        pytest.param("sqlite", "records", marks=pytest.mark.slow),
        pytest.param("sqlite", "pandas", marks=pytest.mark.slow),
    ],
)
def test_record_batch_never_crashes_and_keeps_the_good_rows(store, kind, tmp_path):
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'ws.db'}"
    crashes, wrong = [], []
    for case in CASES:  # a loop over the corpus, a few hundred batches of three rows
        field, value, expect = case
        data = _as(kind, _batch(field, value))
        for mode in ("quarantine", "refuse"):
            outcome, detail = _run(url, data, mode)
            if outcome == "crash":
                crashes.append(f"{_id(case)} {mode}: {type(detail).__name__}: {detail}")
                continue
            if outcome == "error":
                wrong.append(f"{_id(case)} {mode}: refused as a whole: {detail}")
                continue
            report, stored, quarantined = detail
            problem = _problem(report, field)
            if expect == ACCEPT:
                if report.rejected or stored != 3:
                    wrong.append(f"{_id(case)} {mode}: expected accepted, got {report}")
                continue
            if problem is None:
                wrong.append(f"{_id(case)} {mode}: row 1 not rejected at {field}: {report}")
                continue
            if value is not None and not _missing(value) and not problem.has_value:
                wrong.append(f"{_id(case)} {mode}: the problem does not show the value")
            shown = str(problem)
            if len(shown) > 400:
                wrong.append(f"{_id(case)} {mode}: a message of {len(shown)} characters")
            if mode == "quarantine":
                # the two good rows are stored, the bad one kept with its reason
                if not report.committed or report.accepted != 2 or stored != 2:
                    wrong.append(f"{_id(case)}: good rows lost: {report}, {stored} stored")
                if [q["row"] for q in quarantined] != [1]:
                    wrong.append(f"{_id(case)}: quarantine holds {quarantined}")
            elif report.committed or stored != 0 or report.rejected != 3:
                wrong.append(f"{_id(case)} refuse: not refused whole: {report}, {stored}")
    assert crashes == [], f"{len(crashes)} crashes:\n" + "\n".join(crashes)
    assert wrong == [], "\n".join(wrong)


def _problem(report, field):
    for rejection in report.rejections:
        if rejection.row == 1:
            for p in rejection.problems:
                if p.path == f"records[1].{field}":
                    return p
    return None


def _missing(value):
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def test_a_value_that_merged_with_another_id_is_refused_and_the_ids_stay_apart(url):
    """'C1\\x00' became 'C1' in a fixed-width array: one customer out of two."""
    with touchpoint.open(url) as ws:
        report = ws.record_batch(
            {
                "event_id": ["e1", "e2", "e1" + NUL],
                "customer": ["C1", "C1" + NUL, "C2"],
                "touchpoint": ["T1"] * 3,
                "time": ["2026-03-01"] * 3,
            },
            on_reject="quarantine",
        )
        assert [r.row for r in report.rejections] == [1, 2]
        stored = ws.interactions()
        assert stored.categories["customer"].tolist() == ["C1"]
        assert len(stored) == 1 and [q["row"] for q in ws.quarantined()] == [1, 2]


def test_duplicate_event_ids_within_a_batch(url):
    """The same event twice is one event; the same id with other values is a conflict."""
    with touchpoint.open(url) as ws:
        report = ws.record_batch(
            {
                "event_id": ["e1", "e1", "e1", "e2"],
                "customer": ["C1", "C1", "C9", "C2"],
                "touchpoint": ["T1"] * 4,
                "time": ["2026-03-01"] * 4,
            },
            on_reject="quarantine",
        )
        assert report.accepted_rows.tolist() == [0, 3]
        assert report.duplicate_rows.tolist() == [1]
        assert [r.row for r in report.rejections] == [2]
        assert "records[2].event_id" in report.rejections[0].reason
        assert len(ws.interactions()) == 2


def test_a_column_that_is_a_list_of_dicts_rejects_every_row_naming_each(url):
    with touchpoint.open(url) as ws:
        report = ws.record_batch(
            {
                "event_id": ["e1", "e2"],
                "customer": [{"id": "C1"}, {"id": "C2"}],
                "touchpoint": ["T1", "T1"],
                "time": ["2026-03-01", "2026-03-02"],
            },
            on_reject="quarantine",
        )
        assert [str(p) for r in report.rejections for p in r.problems] == [
            "records[0].customer: must be text (a str), not dict (value: \"{'id': 'C1'}\")",
            "records[1].customer: must be text (a str), not dict (value: \"{'id': 'C2'}\")",
        ]
        assert len(ws.interactions()) == 0 and len(ws.quarantined()) == 2


def test_unknown_fields(url):
    """A record with an unknown field is rejected; an unknown column of a table is not read."""
    with touchpoint.open(url) as ws:
        rows = _batch("customer", "C1")
        rows[1]["colour"] = {"deeply": {"nested": [1, 2, {"x": None}]}}
        report = ws.record_batch(rows, on_reject="quarantine")
        assert [p.path for r in report.rejections for p in r.problems] == ["records[1].colour"]
        columns = _as("columns", _batch("customer", "C1"))
        columns["colour"] = [[1], {"a": 2}, None]
        assert ws.record_batch(columns).accepted == 1  # e0 and e2 were stored already
        assert len(ws.interactions()) == 3


# ------------------------------------------------------------------ scores

#: Values for a score's id column; ids are not checked by the scores (documented):
#: they are kept as given and distinct values stay distinct.
SCORE_IDS = [
    b"C1",
    "C" + SURROGATE,
    "C1" + NUL,
    LONG,
    7,
    2**70,
    None,
    float("nan"),
    pd.NA,
    {"a": 1},
    [1, 2],
    True,
]
#: Values for a score's number column (amounts, ratings).
SCORE_NUMBERS = [
    -1.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    2**1100,
    2**70,
    "1e400",
    "lots",
    None,
    True,
    [1.0],
    {"a": 1},
    b"5",
]
#: Values for a score's time column.
SCORE_TIMES = [
    "0000-01-01",
    "10000-01-01",
    "not a date",
    5,
    None,
    {"a": 1},
    dt.datetime(2026, 3, 1, tzinfo=SHANGHAI),
    b"2026-01-01",
]

BLUEPRINT = Blueprint(
    name="shop",
    stages=["transaction"],
    touchpoints=[
        Touchpoint(
            "T1",
            "Till",
            category="channel",
            stage="transaction",
            line="service",
            channels=["store"],
            indicators=[
                ControlIndicator("csat", "Rated", kind="rating", target=4, scale=5),
                ControlIndicator("fast", "Answered", kind="time_limit", target=60, unit="seconds"),
            ],
        )
    ],
)


def _score_data(field, value):
    columns = {
        "event_id": ["e0", "e1", "e2"],
        "customer": ["C0", "C1", "C2"],
        "touchpoint": ["T1", "T1", "T1"],
        "time": ["2026-03-01", "2026-03-02", "2026-03-03"],
        "amount": [10.0, 20.0, 30.0],
        "rating": [4.0, 5.0, 3.0],
        "response_time": [30.0, 90.0, 10.0],
    }
    columns[field] = [*columns[field][:1], value, *columns[field][2:]]
    return columns


SCORES = {
    "rfm": lambda d: rfm(d, asof="2026-04-01"),
    "csat": lambda d: csat(d, scale=(1, 5)),
    "compliance": lambda d: compliance(d, BLUEPRINT),
}
SCORE_CASES = [
    *[("customer", v) for v in SCORE_IDS],
    *[("touchpoint", v) for v in SCORE_IDS],
    *[(f, v) for f in ("amount", "rating", "response_time") for v in SCORE_NUMBERS],
    *[("time", v) for v in SCORE_TIMES],
]


@pytest.mark.parametrize("kind", ["columns", "pandas"])
def test_scores_give_the_librarys_error_or_a_result_never_a_crash(kind):
    crashes, unnamed = [], []
    for name, score in SCORES.items():  # a loop over three scores
        for field, value in SCORE_CASES:  # and the corpus of column values
            data = _score_data(field, value)
            if kind == "pandas":
                data = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
            try:
                score(data)
            except ValidationError as exc:
                if not any(field in p.path or p.path.startswith(field) for p in exc.problems):
                    unnamed.append(f"{name} {field}={value!r:.30}: {exc}")
            except Exception as exc:  # a crash: counted
                crashes.append(f"{name} {field}={value!r:.30}: {type(exc).__name__}: {exc}")
    assert crashes == [], f"{len(crashes)} crashes:\n" + "\n".join(crashes)
    assert unnamed == [], "errors that do not name the column:\n" + "\n".join(unnamed)


@pytest.mark.parametrize(
    "ids",
    [
        ["C1", "C1" + NUL, "C2"],
        np.array(["C1", "C1" + NUL, "C2"], dtype=object),
        pd.Series(["C1", "C1" + NUL, "C2"]),
        pd.Series(["C1", "C1" + NUL, "C2"], dtype="string"),
    ],
    ids=["list", "object-array", "pandas", "pandas-string"],
)
def test_a_score_keeps_ids_that_differ_by_a_nul_apart(ids):
    """Scores do not check id text; they keep distinct ids distinct (documented)."""
    out = rfm(
        {"customer": ids, "time": ["2026-03-01"] * 3, "amount": [1.0, 2.0, 4.0]},
        asof="2026-04-01",
    )
    got = dict(zip(out["customer"].tolist(), out["monetary"].tolist(), strict=True))
    assert got == {"C1": 1.0, "C1" + NUL: 2.0, "C2": 4.0}


def test_a_score_given_a_dict_as_an_id_names_the_column_row_and_value():
    with pytest.raises(ValidationError) as err:
        rfm({"customer": ["C1", {"a": 1}], "time": ["2026-03-01"] * 2, "amount": [1.0, 2.0]})
    (problem,) = err.value.problems
    assert problem.path == "customer[1]" and "not dict" in problem.message
    assert problem.value == "{'a': 1}"


# ------------------------------------------------------------------ blueprint files

_TP = {
    "code": "T1",
    "name": "Checkout",
    "category": "channel",
    "stage": "transaction",
    "line": "service",
    "channels": ["store"],
}


def _bp(**over):
    data = {"name": "mini", "stages": ["transaction"], "touchpoints": [dict(_TP)]}
    data.update(over)
    return data


def _tp(**over):
    return _bp(touchpoints=[{**_TP, **over}])


_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(8)
    )
    + "name: *i\n"
)

#: (file name, text, what the loader must do): an error naming ``where`` (a path in the
#: file, "" for the file as a whole), or ACCEPT.
BLUEPRINT_FILES = [
    ("huge-name.json", json.dumps(_bp(title="x" * 5_000_000)), ACCEPT),
    ("huge-code.json", json.dumps(_tp(code="T" * 1_000_000)), "touchpoints[0].code"),
    ("nul-code.json", json.dumps(_tp(code="T1\u0000")), "touchpoints[0].code"),
    ("surrogate.json", '{"name": "\\ud800", "stages": ["transaction"]}', "name"),
    ("nan-weight.json", json.dumps(_tp(weight=float("nan"))), "touchpoints[0].weight"),
    ("inf-weight.json", json.dumps(_tp(weight=float("inf"))), "touchpoints[0].weight"),
    ("huge-weight.json", json.dumps(_tp(weight=10**400)), "touchpoints[0].weight"),
    ("nan-weight.toml", "", "touchpoints[0].weight"),  # written below as TOML
    ("wrong-types.json", json.dumps(_bp(touchpoints="x")), "touchpoints"),
    ("name-list.json", json.dumps(_bp(name=["x"])), "name"),
    ("unknown-key.json", json.dumps(_bp(colour="red")), "colour"),
    (
        "nested-unknown.json",
        json.dumps(_tp(extra={"a": {"b": {"c": [1] * 1000}}})),
        "touchpoints[0].extra",
    ),
    ("deep.json", "[" * 100_000 + "]" * 100_000, ""),
    ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000, ""),
    ("not-utf8.toml", b"name = '\xff'", ""),
    ("billion-laughs.yaml", _LAUGHS, ""),
    ("empty.json", "", ""),
    ("null.json", "null", ""),
    ("array.json", "[1, 2, 3]", ""),
]


def test_the_blueprint_loader_never_crashes_on_hostile_files(tmp_path):
    crashes, wrong = [], []
    for name, text, expect in BLUEPRINT_FILES:  # a loop over the hostile files
        path = tmp_path / name
        if name == "nan-weight.toml":
            text = (
                'name = "mini"\nstages = ["transaction"]\n[[touchpoints]]\ncode = "T1"\n'
                'name = "C"\ncategory = "channel"\nstage = "transaction"\n'
                'line = "service"\nchannels = ["store"]\nweight = nan\n'
            )
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            bp = load_blueprint(path)
        except BlueprintError as exc:
            if expect == ACCEPT:
                wrong.append(f"{name}: refused: {exc}")
            elif not any(p.path == expect for p in exc.problems):
                wrong.append(f"{name}: no problem at {expect!r}: {exc}")
            elif str(path) not in str(exc):
                wrong.append(f"{name}: the message does not name the file")
            elif len(str(exc)) > 2000:
                wrong.append(f"{name}: a message of {len(str(exc))} characters")
        except Exception as exc:  # a crash: counted
            crashes.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            if expect != ACCEPT:
                wrong.append(f"{name}: accepted, expected a problem at {expect!r}")
            else:
                assert isinstance(bp, Blueprint)
    assert crashes == [], f"{len(crashes)} crashes:\n" + "\n".join(crashes)
    assert wrong == [], "\n".join(wrong)
