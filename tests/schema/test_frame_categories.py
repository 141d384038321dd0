"""A slice of an `EventFrame` keeps the whole frame's categories; validating it checks
only the values its rows use, and gives what the same rows given as plain text give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.frame import EventFrame
from touchpoint.schema import validate_columns

CUSTOMERS = np.array(["C1", "C2", " ", "C4", "", "C6", "C\x007", "C8"], dtype=object)
TOUCHPOINTS = np.array(["T1", "T 2", "T3", "T4"], dtype=object)


def _frame(customer: np.ndarray, touchpoint: np.ndarray) -> EventFrame:
    n = len(customer)
    return EventFrame(
        {
            "event_id": np.arange(1, n + 1),
            "customer": customer,
            "touchpoint": touchpoint,
            "time": np.arange(n).astype("datetime64[D]").astype("datetime64[us]"),
            "amount": np.where(np.arange(n) % 4 == 3, -1.0, 2.0),
        },
        {"customer": CUSTOMERS, "touchpoint": TOUCHPOINTS},
    )


def _plain(frame: EventFrame) -> dict[str, np.ndarray]:
    """The frame's rows as plain columns (decoded text): the reference input."""
    return {
        "event_id": np.array([str(i) for i in frame.columns["event_id"]], dtype=object),
        "customer": np.asarray(frame["customer"], dtype=object),
        "touchpoint": np.asarray(frame["touchpoint"], dtype=object),
        "time": frame["time"],
        "amount": frame["amount"],
    }


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, len(CUSTOMERS) - 1), st.integers(0, len(TOUCHPOINTS) - 1)),
        min_size=1,
        max_size=25,
    )
)
def test_a_slice_validates_as_its_rows_given_as_text(rows):
    frame = _frame(np.array([c for c, _ in rows]), np.array([t for _, t in rows]))
    batch, rejected = validate_columns(frame)
    ref_batch, ref_rejected = validate_columns(_plain(frame))
    assert batch.row.tolist() == ref_batch.row.tolist()
    assert batch.event_id.tolist() == ref_batch.event_id.tolist()
    for name in ("customer", "touchpoint"):
        ours = batch.categories[name][batch.codes[name]]
        theirs = ref_batch.categories[name][ref_batch.codes[name]]
        assert ours.tolist() == theirs.tolist()
        # only the values the rows use are kept: no unused category reaches the storage
        assert set(batch.categories[name]) <= set(_plain(frame)[name])
    assert [r.row for r in rejected] == [r.row for r in ref_rejected]
    shown = [[(p.path, p.message, p.value) for p in r.problems] for r in rejected]
    assert shown == [[(p.path, p.message, p.value) for p in r.problems] for r in ref_rejected]


def test_unused_bad_categories_are_not_problems():
    # rows use C1 and C4 only: the frame's blank and NUL customers are no row's problem
    frame = _frame(np.array([0, 3, 0]), np.array([0, 2, 3]))
    batch, rejected = validate_columns(frame)
    assert rejected == [] and batch.row.tolist() == [0, 1, 2]
    assert sorted(batch.categories["customer"]) == ["C1", "C4"]
