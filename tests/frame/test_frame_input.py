"""read_columns / read_coded: the same numpy columns from every kind of table."""

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.frame import EventFrame, parse_numbers, parse_times, read_coded, read_columns

NAMES = {"customer": "cust", "time": "ts", "amount": "paid", "touchpoint": "tp"}


def _pandas():
    return pd.DataFrame(
        {
            "cust": ["c1", "c2", None, "c1"],
            "ts": pd.to_datetime(
                [
                    "2026-01-01T08:00+08:00",
                    "2026-01-02T00:00+00:00",
                    "2026-01-03T01:30+01:00",
                    "2026-01-04T00:00Z",
                ],
                utc=True,
            ).tz_convert("Asia/Shanghai"),
            "paid": [1.5, None, 3.0, 4.0],
            "tp": pd.Categorical(["A102", "A201", "A102", None]),
        }
    )


EXPECTED_TIMES = np.array(
    ["2026-01-01T00:00", "2026-01-02T00:00", "2026-01-03T00:30", "2026-01-04T00:00"],
    dtype="datetime64[us]",
)


def _tables():
    df = _pandas()
    pf = pl.from_pandas(df)
    return {
        "pandas": df,
        "polars": pf,
        "arrow": pa.table(pf),
        "frame": EventFrame.from_data(df, **NAMES),
    }


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "frame"])
def test_same_columns_from_every_table(kind):
    data = _tables()[kind]
    names = NAMES if kind != "frame" else {k: k for k in NAMES}
    cols = read_columns(data, names, required=list(NAMES))
    assert cols["customer"].tolist() == ["c1", "c2", None, "c1"]
    assert cols["time"].dtype == np.dtype("datetime64[us]")
    np.testing.assert_array_equal(cols["time"], EXPECTED_TIMES)
    assert cols["amount"].dtype == np.float64
    np.testing.assert_array_equal(cols["amount"], [1.5, np.nan, 3.0, 4.0])
    assert cols["touchpoint"].tolist() == ["A102", "A201", "A102", None]
    coded, cats = read_coded(data, names, categorical=["customer", "touchpoint"])
    assert cats["customer"][coded["customer"][[0, 1, 3]]].tolist() == ["c1", "c2", "c1"]
    assert coded["customer"][2] == -1 and coded["touchpoint"][3] == -1


def test_arrow_c_stream_object_is_read():
    class Stream:
        def __init__(self, table):
            self.table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self.table.__arrow_c_stream__(requested_schema)

    cols = read_columns(Stream(pa.table({"paid": [1, 2]})), {"amount": "paid"})
    assert cols["amount"].tolist() == [1.0, 2.0]


def test_numeric_pandas_column_is_zero_copy():
    df = pd.DataFrame({"paid": np.arange(5, dtype=np.float64)})
    cols = read_columns(df, {"amount": "paid"})
    assert np.shares_memory(cols["amount"], df["paid"].to_numpy())


def test_dict_with_datetimes_and_strings():
    aware = dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    cols = read_columns(
        {"t": [aware, dt.datetime(2026, 1, 2)], "s": ["2026-01-01", "2026-01-02T12:00"]},
        {"time": "t", "start": "s"},
    )
    assert cols["time"].tolist() == [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)]
    assert cols["start"][1] == np.datetime64("2026-01-02T12:00", "us")


def test_missing_column_names_it_and_lists_available():
    with pytest.raises(ValidationError) as err:
        read_columns(
            {"cust": [1], "ts": [2]}, {"customer": "cust", "amount": "paid"}, required=["amount"]
        )
    text = str(err.value)
    assert "'paid'" in text and "'cust'" in text and "'ts'" in text


def test_optional_missing_column_is_left_out():
    assert list(read_columns({"cust": [1]}, {"customer": "cust", "amount": "paid"})) == ["customer"]


def test_mismatched_lengths_name_columns_and_lengths():
    with pytest.raises(ValidationError) as err:
        read_columns({"cust": [1, 2, 3], "paid": [1.0]}, {"customer": "cust", "amount": "paid"})
    text = str(err.value)
    assert "'cust' has 3" in text and "'paid' has 1" in text


def test_non_numeric_amount_names_column_and_value():
    with pytest.raises(ValidationError) as err:
        read_columns({"paid": np.array([1.0, "lots"], dtype=object)}, {"amount": "paid"})
    assert "paid" in str(err.value) and "lots" in str(err.value)


def test_unsupported_container():
    with pytest.raises(ValidationError, match="expected an EventFrame"):
        read_columns(42, {"amount": "x"})


def test_import_touchpoint_imports_no_dataframe_library():
    code = (
        "import sys, touchpoint, touchpoint.frame, touchpoint.scoring;"
        "print(sorted(m for m in ('pandas', 'polars', 'pyarrow', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pandas_nullable_columns():
    df = pd.DataFrame(
        {
            "paid": pd.array([1, None, 3], dtype="Int64"),
            "n": pd.array([1, 2, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
        }
    )
    cols = read_columns(df, {"amount": "paid", "count": "n", "flag": "flag"})
    np.testing.assert_array_equal(cols["amount"], [1.0, np.nan, 3.0])
    assert cols["count"].dtype == np.int64 and cols["count"].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(cols["flag"], [1.0, np.nan, 0.0])


# ------------------------------------------------------------------ unreadable values

_TEXTS = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(
        lambda d: d.isoformat()
    ),
    st.sampled_from(["not a date", "2026-13-01", "2026-02-30", "soon", "12:00", "2026/01/01"]),
    st.sampled_from(["", "NaT"]),
)


def _reference_time(text):
    """One value at a time with the standard library: (time or None, readable)."""
    if text in ("", "NaT"):
        return None, True
    try:
        return np.datetime64(dt.datetime.fromisoformat(text), "us"), True
    except ValueError:
        return None, False


@settings(max_examples=80, deadline=None)
@given(st.lists(_TEXTS, max_size=60), st.sampled_from(["str", "object"]))
def test_parse_times_finds_exactly_the_unreadable_values(texts, dtype):
    arr = np.array(texts, dtype=str if dtype == "str" else object)
    if dtype == "str" and not len(texts):
        arr = np.array([], dtype="<U1")
    got, bad = parse_times(arr)
    ref = [_reference_time(t) for t in texts]
    assert bad.tolist() == [i for i, (_, ok) in enumerate(ref) if not ok]
    want = np.array(
        [np.datetime64("NaT", "us") if v is None else v for v, _ in ref], dtype="datetime64[us]"
    )
    np.testing.assert_array_equal(got, want)


def test_parse_times_of_datetimes_with_and_without_zones():
    plus2 = dt.timezone(dt.timedelta(hours=2))
    values = [dt.datetime(2026, 1, 1, 12, tzinfo=plus2), dt.datetime(2026, 1, 1, 12), None, 7]
    got, bad = parse_times(np.array(values, dtype=object))
    assert got[:2].tolist() == [dt.datetime(2026, 1, 1, 10), dt.datetime(2026, 1, 1, 12)]
    assert np.isnat(got[2]) and bad.tolist() == [3]  # a number is not a time


def test_parse_times_refuses_a_column_of_numbers():
    with pytest.raises(ValidationError, match="must hold times"):
        parse_times(np.array([1, 2]), "ts")


def test_strict_reading_names_the_row_and_value_of_a_bad_time():
    with pytest.raises(ValidationError) as err:
        read_columns({"ts": ["2026-01-01", "2026-01-02", "later", "never"]}, {"time": "ts"})
    (problem,) = err.value.problems
    assert problem.path == "ts[2]" and problem.value == "later"
    assert "2 values cannot" in problem.message


def test_read_coded_reports_unreadable_values_instead_of_raising():
    df = pd.DataFrame({"ts": ["2026-01-01", "soon", None], "paid": [1.0, "lots", None]})
    unreadable = {}
    cols, _ = read_coded(df, {"time": "ts", "amount": "paid"}, unreadable=unreadable)
    assert unreadable["time"][0].tolist() == [1] and unreadable["time"][1].tolist() == ["soon"]
    assert unreadable["amount"][0].tolist() == [1]
    assert np.isnat(cols["time"][1:]).all() and np.isnan(cols["amount"][1:]).all()


def test_parse_numbers():
    x, bad = parse_numbers(np.array([1, "2", None, "x", 3.5], dtype=object))
    np.testing.assert_array_equal(x, [1.0, 2.0, np.nan, np.nan, 3.5])
    assert bad.tolist() == [3]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "é", ""])), max_size=30),
    st.lists(st.text(max_size=2), max_size=5),
    st.sampled_from([True, False, None]),
    st.booleans(),
    st.integers(1, 3),
)
def test_polars_categorical_and_enum_codes_equal_their_arrow_dictionary(
    values, seen_before, sort, enum, chunks
):
    """The codes read from a polars Categorical / Enum's physical codes are the ones its
    ``to_arrow()`` dictionary gives (used categories in first-appearance order for a
    Categorical, every category for an Enum), whatever other strings the process-wide
    categories already hold and however the column is chunked."""
    pl.Series(seen_before, dtype=pl.String).cast(pl.Categorical)  # other global categories
    dtype = pl.Enum(["d", "c", "b", "a", "é", "", "z"]) if enum else pl.Categorical
    col = pl.Series("c", values, dtype=pl.String).cast(dtype)
    if chunks > 1 and len(values) > 1:
        cut = len(values) // chunks
        col = col[:cut].append(col[cut:])
    names = {"customer": "c"}
    got = read_coded(pl.DataFrame({"c": col}), names, categorical=["customer"], sort=sort)
    ref = read_coded(pa.table({"c": col.to_arrow()}), names, categorical=["customer"], sort=sort)
    np.testing.assert_array_equal(got[0]["customer"], ref[0]["customer"])
    assert got[1]["customer"].tolist() == ref[1]["customer"].tolist()
    decoded = [None if c < 0 else got[1]["customer"][c] for c in got[0]["customer"].tolist()]
    assert decoded == values
