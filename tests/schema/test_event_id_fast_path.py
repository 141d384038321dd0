"""The fast path of the event-id checks (`_clean_event_ids`) gives what the general checks give.

A batch whose event ids are all clean codes skips the per-value checks; any other batch
takes them. Hypothesis draws batches mixing clean ids with every kind of bad one and
compares `validate_columns` with the general path forced (``fast=False``): same rows
kept, same bytes, same rejections with the same messages and values.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.schema import validate_columns
from touchpoint.schema._records import _clean_event_ids, _validate

CLEAN = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_./-]{0,40}\Z")
BAD = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "a b",
            "-x",
            "_x",
            ".x",
            "é1",
            "e1\x00",
            "e\x001",
            "\x00",
            "e1\t",
            "\ud800",
            "x" * 257,
            "y" * 300,
            "日本",
        ]
    ),
    st.none(),
    st.just(float("nan")),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.binary(max_size=5),
    st.text(max_size=6),
)


def _batch(ids: list, directions: list | None = None, *, bad_amounts: bool = False) -> dict:
    n = len(ids)
    data = {
        "event_id": np.fromiter(ids, dtype=object, count=n),
        "customer": np.array([f"C{i % 7}" for i in range(n)], dtype=object),
        "touchpoint": np.array(["T1", "T2"] * (n // 2) + ["T1"] * (n % 2), dtype=object),
        "time": np.array(["2026-01-01"] * n, dtype="datetime64[us]"),
        # with bad_amounts, every fifth row is rejected for its amount, whatever its id
        "amount": np.where((np.arange(n) % 5 == 3) & bad_amounts, -1.0, np.arange(n)),
    }
    if directions is not None:
        data["direction"] = np.fromiter(directions, dtype=object, count=n)
    return data


def _same(a, b) -> None:
    (ba, ra), (bb, rb) = a, b
    assert ba.event_id.tolist() == bb.event_id.tolist()
    assert ba.row.tolist() == bb.row.tolist()
    assert ba.time.tolist() == bb.time.tolist()
    assert ba.direction.tolist() == bb.direction.tolist()
    for k in ba.codes:
        assert ba.codes[k].tolist() == bb.codes[k].tolist()
        assert ba.categories[k].tolist() == bb.categories[k].tolist()
    assert [r.row for r in ra] == [r.row for r in rb]
    assert [[str(p) for p in r.problems] for r in ra] == [[str(p) for p in r.problems] for r in rb]
    assert [list(r.record.items()) for r in ra] == [list(r.record.items()) for r in rb]


DIRECTION = st.one_of(
    st.sampled_from(["inbound", "outbound"]),
    st.sampled_from(["inbound", "outbound"]),
    st.sampled_from(["Inbound", "out", "", " inbound", None, float("nan"), 1, b"inbound"]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(CLEAN, CLEAN, BAD), DIRECTION), min_size=1, max_size=30),
    st.booleans(),
    st.booleans(),
)
def test_the_fast_path_and_the_general_checks_agree_on_any_ids(rows, with_direction, as_list):
    ids = [i for i, _ in rows]
    data = _batch(ids, [d for _, d in rows] if with_direction else None, bad_amounts=True)
    if as_list:  # the CLI's import passes Python lists
        data = {k: v.tolist() for k, v in data.items()}
    _same(_validate(data, None, None, fast=True), _validate(data, None, None, fast=False))


@pytest.mark.parametrize(
    ("odd", "kept"),
    [
        ("", False),
        ("a b", False),
        ("-x", False),
        ("é1", False),
        ("e1\x00", False),
        ("e\x001", False),
        ("x" * 257, False),
        (None, False),
        (b"e1", False),
        (True, False),
        (7, True),  # a number is an id, read as its text
        (1.5, True),
    ],
)
def test_one_odd_id_among_clean_ones_sends_the_batch_to_the_general_checks(odd, kept):
    ids = ["e1", "e2", odd, "e4"]
    column = {"event_id": np.array(ids, dtype=object)}
    assert _clean_event_ids(column, {"event_id": "event_id"}) is None
    batch, rejected = validate_columns(_batch(ids))
    if kept:
        assert batch.row.tolist() == [0, 1, 2, 3] and rejected == []
        assert batch.event_id[2] == str(odd).encode()
    else:
        assert batch.row.tolist() == [0, 1, 3]
        assert [r.row for r in rejected] == [2]
        assert rejected[0].problems[0].path == "records[2].event_id"


def test_uuid_ids_are_kept_as_their_ascii_bytes_in_every_table_type():
    rng = np.random.default_rng(5)
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(500)]
    data = _batch(ids)
    expected = [i.encode("ascii") for i in ids]  # the reference: Python's own encoding
    for given_as in (data, pd.DataFrame(data), {k: list(v) for k, v in data.items()}):
        assert _clean_event_ids(given_as, {"event_id": "event_id"}) is not None
        batch, rejected = validate_columns(given_as)
        assert rejected == []
        assert batch.event_id.tolist() == expected
        assert batch.row.tolist() == list(range(500))


def test_columns_of_different_lengths_are_still_refused_naming_them():
    data = _batch(["e1", "e2", "e3"])
    data["event_id"] = data["event_id"][:2]
    with pytest.raises(Exception, match="columns differ in length") as fast:
        validate_columns(data)
    with pytest.raises(Exception, match="columns differ in length") as general:
        _validate(data, None, None, fast=False)
    assert str(fast.value) == str(general.value)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30),
    st.sampled_from([np.int64, np.int32, np.uint32, np.uint64]),
)
def test_integer_ids_take_the_fast_path_with_the_bytes_of_their_text(values, dtype):
    info = np.iinfo(dtype)
    ids = np.array([min(max(v, info.min), info.max) for v in values], dtype=dtype)
    data = _batch(list(ids))
    data["event_id"] = ids
    fast = _validate(data, None, None, fast=True)
    _same(fast, _validate(data, None, None, fast=False))
    kept = [str(int(v)).encode() for v in ids if v >= 0]  # the reference: Python's int text
    assert fast[0].event_id.tolist() == kept
    assert (_clean_event_ids(data, {"event_id": "event_id"}) is None) == bool((ids < 0).any())
