"""A validated `Batch` owns its columns: changing the caller's arrays afterwards changes nothing.

A clean batch's columns are copied rather than gathered by the good rows (the usual
case, and the cheaper one); a column may be the caller's own float array or a frame's
codes, so without the copy a batch would change when its caller reuses a buffer.
"""

from __future__ import annotations

import numpy as np
import pytest

from touchpoint.schema import validate_columns
from touchpoint.storage.memory import MemoryStorage


def _columns(bad_row: bool) -> dict[str, np.ndarray]:
    amount = np.array([10.0, 20.0, 30.0])
    if bad_row:
        amount[1] = -5.0  # refused: must be >= 0
    return {
        "event_id": np.array(["e1", "e2", "e3"], dtype=object),
        "customer": np.array(["C1", "C2", "C3"], dtype=object),
        "touchpoint": np.array(["T1", "T1", "T2"], dtype=object),
        "time": np.array(["2026-01-01", "2026-01-02", "2026-01-03"], dtype="datetime64[us]"),
        "amount": amount,
        "rating": np.array([4.0, np.nan, 5.0]),
    }


@pytest.mark.parametrize("bad_row", [False, True], ids=["clean", "one row refused"])
def test_changing_the_callers_arrays_after_validation_changes_no_batch(bad_row):
    cols = _columns(bad_row)
    batch, rejections = validate_columns(cols)
    assert len(rejections) == int(bad_row)
    kept_amounts = batch.floats["amount"].copy()
    kept_times = batch.time.copy()
    cols["amount"][:] = 999.0
    cols["rating"][:] = 1.0
    cols["time"][:] = np.datetime64("2030-01-01", "us")
    assert np.array_equal(batch.floats["amount"], kept_amounts)
    assert not np.isin(999.0, batch.floats["amount"])
    assert not np.shares_memory(batch.floats["rating"], cols["rating"])
    assert np.array_equal(batch.time, kept_times)


def test_a_stored_batch_keeps_its_values_when_the_caller_reuses_its_arrays():
    cols = _columns(False)
    store = MemoryStorage()
    batch, _ = validate_columns(cols)
    store.append(batch)
    cols["amount"][:] = 0.0  # the host reuses its buffer for the next batch
    frame = store.scan()
    assert sorted(frame["amount"].tolist()) == [10.0, 20.0, 30.0]
