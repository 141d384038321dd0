"""Retention and lifetimes on a Dask cluster equal the in-memory results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from daskdata import partitioned, same_rows

from touchpoint import templates
from touchpoint.demo import synthetic_base
from touchpoint.errors import ValidationError
from touchpoint.journeys import lifetimes, retention

pytestmark = pytest.mark.slow  # a real Dask LocalCluster (tests/scale/conftest.py)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    ev = synthetic_base(templates.load("car-dealership"), customers=400, seed=17).events
    df = pd.DataFrame({name: ev[name] for name in ("customer", "time")})
    return df.sort_values("time", kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("period", ["W", "M"])
def test_retention_equals_in_memory(client, events, period):
    want = retention(events, period=period, inactive_after=45)
    got = retention(partitioned(events, npartitions=5), period=period, inactive_after=45)
    assert got.table == want.table
    assert got.survival == want.survival
    same_rows(got.lifetimes.to_pandas(), want.lifetimes.to_pandas())


def test_lifetimes_is_lazy_and_equal(client, events):
    asof = np.datetime64("2026-10-01")
    got = lifetimes(partitioned(events, npartitions=4), asof=asof, inactive_after=30)
    assert type(got).__module__.startswith("dask")
    same_rows(got.compute(), lifetimes(events, asof=asof, inactive_after=30).to_pandas())


def test_bad_arguments_fail_as_in_memory(client, events):
    with pytest.raises(ValidationError, match="period"):
        retention(partitioned(events), period="month")
    with pytest.raises(ValidationError, match="inactive_after"):
        lifetimes(partitioned(events), inactive_after=-3)
