"""`validate_records` builds its columns field by field; it must say what the row-by-row
version said (reference below: the previous implementation, kept verbatim) on any records."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import Problem
from touchpoint.schema._records import (
    _FLOAT_MAX,
    FIELDS,
    FLOATS,
    REQUIRED,
    _as_mapping,
    _rejection,
    _shown,
    mask_value,
    validate_columns,
    validate_records,
)


def _reference(records, *, blueprint=None):
    """The row-by-row `validate_records` before the column-wise rewrite."""
    rows = [_as_mapping(r) for r in records]
    extra: dict[int, list[Problem]] = {}
    columns: dict[str, list] = {f: [] for f in FIELDS}
    allowed = set(FIELDS)
    for i, row in enumerate(rows):
        for key in row:
            if key not in allowed:
                extra.setdefault(i, []).append(
                    Problem(
                        f"records[{i}].{key}",
                        "is not an interaction field",
                        mask_value(key, row[key]),
                    )
                )
        for f in FIELDS:
            value = row.get(f)
            if f in FLOATS and value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    extra.setdefault(i, []).append(
                        Problem(f"records[{i}].{f}", "must be a number", _shown(f, value))
                    )
                    value = None
                elif isinstance(value, int) and abs(value) > _FLOAT_MAX:
                    extra.setdefault(i, []).append(
                        Problem(
                            f"records[{i}].{f}",
                            "must be a finite number (too large for a float)",
                            _shown(f, value),
                        )
                    )
                    value = None
            columns[f].append(value)
    data = {}
    for f, values in columns.items():
        if f in REQUIRED or any(v is not None for v in values):
            if f in FLOATS:
                data[f] = np.array(
                    [np.nan if v is None else float(v) for v in values], dtype=np.float64
                )
            else:
                data[f] = np.fromiter(values, dtype=object, count=len(values))
    batch, rejections = validate_columns(data, blueprint=blueprint)
    if extra:
        by_row = {r.row: r for r in rejections}
        for i, problems in extra.items():
            old = by_row.get(i)
            by_row[i] = _rejection(i, [*problems, *(old.problems if old else ())], rows[i])
        keep = ~np.isin(batch.row, list(extra))
        batch = batch.take(keep)
        rejections = [by_row[i] for i in sorted(by_row)]
    return batch, rejections


NUMBER = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-5, max_value=1e6),
    st.integers(-(10**6), 10**6),
    st.integers(min_value=2**1024, max_value=2**1100),
    st.booleans(),
    st.sampled_from(["12", "lots", b"5", np.float64(2.5), np.int64(3), [1]]),
)
RECORD = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.sampled_from(["e1", "e2", "e3", "e 4"]), st.none()),
        "customer": st.sampled_from(["C1", "C2", "", None]),
        "touchpoint": st.sampled_from(["T1", "T2", "bad tp"]),
        "time": st.sampled_from(["2026-01-01", "2026-02-03T10:00", "not a date", None]),
    },
    optional={
        "amount": NUMBER,
        "rating": NUMBER,
        "response_time": NUMBER,
        "channel": st.sampled_from(["store", "app", None]),
        "direction": st.sampled_from(["inbound", "outbound", "sideways", None]),
        "colour": st.sampled_from(["red", None]),
        "email": st.just("someone@example.com"),
    },
)


def _shown_all(result):
    batch, rejections = result
    return (
        batch.row.tolist(),
        batch.event_id.tolist(),
        {k: v.tolist() for k, v in batch.floats.items()},
        [(r.row, [str(p) for p in r.problems], list(dict(r.record).items())) for r in rejections],
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=12))
def test_column_wise_records_say_what_the_row_by_row_version_said(records):
    expected = _shown_all(_reference(records))
    got = _shown_all(validate_records(records))
    np.testing.assert_equal(got, expected)  # NaN == NaN here


def test_a_column_of_refused_amounts_only_adds_no_amount_to_other_records():
    records = [
        {
            "event_id": "e1",
            "customer": "C1",
            "touchpoint": "T1",
            "time": "2026-01-01",
            "amount": "x",
        },
        {"event_id": "e 2", "customer": "C1", "touchpoint": "T1", "time": "2026-01-01"},
    ]
    _, rejected = validate_records(records)
    assert [r.row for r in rejected] == [0, 1]
    assert str(rejected[0].problems[0]) == "records[0].amount: must be a number (value: 'x')"
    assert "amount" not in rejected[1].record  # as given: that record had no amount
