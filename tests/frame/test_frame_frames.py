"""EventFrame / ScoreFrame: construction, validation, export round trips, display."""

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame, ScoreFrame
from touchpoint.model import Interaction


def _frame():
    return EventFrame.from_records(
        [
            {
                "event_id": "e1",
                "customer": "C1",
                "touchpoint": "A102",
                "time": dt.datetime(2026, 1, 1),
                "amount": 10.0,
                "rating": 5,
            },
            {
                "event_id": "e2",
                "customer": "C2",
                "touchpoint": "A201",
                "time": dt.datetime(2026, 1, 2),
            },
            {
                "event_id": "e3",
                "customer": "C1",
                "touchpoint": "A102",
                "time": dt.datetime(2026, 1, 3),
                "amount": 2.5,
                "store": "<Shop & Co>",
            },
        ]
    )


def test_from_records_codes_categoricals_and_types():
    f = _frame()
    assert len(f) == 3
    assert f.codes("customer").tolist() == [0, 1, 0]
    assert f.categories["customer"].tolist() == ["C1", "C2"]
    assert f["time"].dtype == np.dtype("datetime64[us]")
    np.testing.assert_array_equal(f["amount"], [10.0, np.nan, 2.5])
    np.testing.assert_array_equal(f["rating"], [5.0, np.nan, np.nan])
    assert f["store"].tolist() == [None, None, "<Shop & Co>"]


def test_from_interactions():
    recs = [
        Interaction(
            event_id="e1",
            customer="C9",
            touchpoint="A102",
            time=dt.datetime(2026, 1, 1, 8),
            amount=3.0,
            direction="outbound",
        ),
    ]
    f = EventFrame.from_records(recs)
    assert f["customer"].tolist() == ["C9"]
    assert f["direction"].tolist() == ["outbound"]
    assert f["time"][0] == np.datetime64("2026-01-01T08:00", "us")


@pytest.mark.parametrize("export", ["to_pandas", "to_polars", "to_arrow"])
def test_round_trip_through_each_library(export):
    f = _frame()
    table = getattr(f, export)()
    back = EventFrame.from_data(table)
    assert back == f
    assert back.column_names == f.column_names


def test_exports_have_native_types():
    f = _frame()
    df = f.to_pandas()
    assert isinstance(df, pd.DataFrame) and df["customer"].dtype == "category"
    assert df["customer"].tolist() == ["C1", "C2", "C1"]
    pf = f.to_polars()
    assert isinstance(pf, pl.DataFrame) and pf["customer"].to_list() == ["C1", "C2", "C1"]
    tbl = f.to_arrow()
    assert isinstance(tbl, pa.Table) and pa.types.is_dictionary(tbl.schema.field("customer").type)
    assert pa.table(f).num_rows == 3  # the PyCapsule stream interface


def test_constructor_validates_codes_and_lengths():
    with pytest.raises(ValidationError, match="code out of range"):
        EventFrame({"customer": np.array([0, 2])}, {"customer": np.array(["a", "b"], dtype=object)})
    with pytest.raises(ValidationError, match="differ in length"):
        EventFrame({"customer": np.array([0]), "amount": np.array([1.0, 2.0])})
    with pytest.raises(ValidationError, match="integer codes"):
        EventFrame({"customer": np.array(["a"])}, {"customer": np.array(["a"])})


def test_html_and_text_show_first_rows_escaped():
    f = _frame()
    html = f._repr_html_()
    assert "<table>" in html and "&lt;Shop &amp; Co&gt;" in html and "C2" in html
    big = ScoreFrame({"customer": np.arange(25), "x": np.zeros(25)})
    assert "15 more rows" in repr(big)


def test_score_frame_from_pandas_codes_strings_and_keeps_key():
    s = ScoreFrame.from_data(
        pd.DataFrame({"customer": ["a", "b"], "tier": ["gold", "gold"], "v": [1.0, 2.0]})
    )
    assert s.categories["tier"].tolist() == ["gold"]
    assert s["customer"].tolist() == ["a", "b"]
    assert s.row("b") == {"customer": "b", "tier": "gold", "v": 2.0}
    assert s.to_pandas()["tier"].tolist() == ["gold", "gold"]
