import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import Promise, ValidationError
from touchpoint.care import overdue_promises


@given(
    st.lists(
        st.tuples(st.integers(-40, 40), st.sampled_from(["open", "fulfilled", "broken"])),
        max_size=25,
    )
)
def test_overdue_is_exactly_the_open_promises_past_due_per_the_domain_object(rows):
    now = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
    made = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    objects = [
        Promise(
            f"P{i}",
            f"C{i % 3}",
            "x",
            made_at=made,
            due=now + dt.timedelta(days=d, hours=1 if d == 0 else 0),
            status=s,
        )
        for i, (d, s) in enumerate(rows)
    ]
    data = {
        "id": [p.id for p in objects],
        "customer": [p.customer for p in objects],
        "due": np.array([p.due.replace(tzinfo=None) for p in objects], dtype="datetime64[us]"),
        "status": [p.status.value for p in objects],
    }
    late = overdue_promises(data, asof=np.datetime64(now.replace(tzinfo=None), "us"))
    assert set(late["id"].tolist()) == {p.id for p in objects if p.is_overdue(now)}
    assert list(late["days_overdue"]) == sorted(late["days_overdue"], reverse=True)
    assert all(d > 0 for d in late["days_overdue"])


def test_unknown_status_names_the_row():
    with pytest.raises(
        ValidationError,
        match=r"status\[0\]: must be one of open, fulfilled, broken \(value: 'late'\)",
    ):
        overdue_promises(
            {
                "id": ["P1"],
                "customer": ["C1"],
                "due": np.array(["2026-01-01"], dtype="datetime64[us]"),
                "status": ["late"],
            },
            asof="2026-03-01",
        )
