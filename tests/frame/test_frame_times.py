"""touchpoint.frame's times: every kind of time becomes the same naive-UTC instant pandas gives.

The reference is pandas (``Timestamp.tz_convert("UTC")``), independent of the code under
test; hypothesis draws instants and UTC offsets.
"""

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.frame import as_day, as_time, micros, naive_utc, naive_utc_series, parse_times

INSTANTS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)


def _pandas_utc(value) -> np.datetime64:
    """The reference: pandas' UTC instant of an aware value, without its zone."""
    return np.datetime64(pd.Timestamp(value).tz_convert("UTC").tz_localize(None), "us")


@settings(max_examples=200, deadline=None)
@given(INSTANTS, OFFSETS)
def test_an_aware_datetime_is_the_instant_pandas_gives(local, zone):
    aware = local.replace(tzinfo=zone)
    expected = _pandas_utc(aware)
    assert np.datetime64(naive_utc(aware), "us") == expected
    assert as_time(aware) == expected
    assert as_time(pd.Timestamp(aware)) == expected
    assert as_time(aware.isoformat()) == expected
    assert micros(aware) == int(expected.astype(np.int64))


@settings(max_examples=100, deadline=None)
@given(INSTANTS)
def test_a_naive_datetime_is_utc_already(local):
    assert naive_utc(local) is local
    assert as_time(local) == np.datetime64(local, "us")
    assert micros(local) == int(np.datetime64(local, "us").astype(np.int64))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(INSTANTS, OFFSETS), min_size=1, max_size=20))
def test_iso_text_with_offsets_parses_as_pandas_does(values):
    text = [local.replace(tzinfo=zone).isoformat() for local, zone in values]
    got, bad = parse_times(np.array(text, dtype=object))
    expected = pd.to_datetime(text, utc=True, format="ISO8601").tz_localize(None)
    assert bad.tolist() == []
    np.testing.assert_array_equal(got, expected.to_numpy().astype("datetime64[us]"))


def test_aware_pandas_and_polars_columns_become_naive_utc():
    text = ["2026-01-01T08:00+08:00", "2026-03-29T03:30+02:00", None]
    utc = pd.Series(pd.to_datetime(text, utc=True, format="ISO8601"))
    local = utc.dt.tz_convert("Europe/Paris")
    expected = utc.dt.tz_localize(None)
    pd.testing.assert_series_equal(naive_utc_series(local), expected)
    polars = naive_utc_series(pl.from_pandas(local))
    assert polars.dtype.time_zone is None
    np.testing.assert_array_equal(
        polars.to_numpy().astype("datetime64[us]"), expected.to_numpy().astype("datetime64[us]")
    )
    naive = expected.copy()
    assert naive_utc_series(naive) is naive


def test_conversions_do_not_warn():
    aware = dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_time(aware)
        as_time("2026-01-01T08:00+08:00")
        as_day(aware, name="asof")
        parse_times(np.array([aware, "2026-01-01T08:00+08:00"], dtype=object))


def test_as_day_is_the_utc_date():
    late = dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert as_day(late, name="asof") == np.datetime64("2026-03-03")
    assert as_day(dt.date(2026, 3, 2), name="asof") == np.datetime64("2026-03-02")
    assert as_day(pd.Timestamp("2026-03-02T12:00"), name="asof") == np.datetime64("2026-03-02")


@pytest.mark.parametrize("value", [None, "NaT", np.datetime64("NaT"), "soon", 3.5])
def test_a_value_that_is_no_time_is_an_error_naming_the_argument(value):
    with pytest.raises(ValidationError) as err:
        as_time(value, name="asof")
    (problem,) = err.value.problems
    assert problem.path == "asof"
    assert problem.value == repr(value)
    with pytest.raises(ValidationError, match="since: must be a date"):
        as_day(value, name="since")
