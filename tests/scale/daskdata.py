"""Data for the Dask tests: pandas tables cut into partitions in chosen places.

Imported by the test modules as ``from daskdata import ...`` (a name of its own, so it
never clashes with another folder's ``conftest``).
"""

from __future__ import annotations

import itertools

import dask.dataframe as dd
import numpy as np
import pandas as pd
from hypothesis import strategies as st


def partitioned(df: pd.DataFrame, cuts: list[int] | None = None, npartitions: int = 3):
    """``df`` as a Dask DataFrame cut at the given row positions (empty partitions allowed).

    Rows keep their order, so a customer's events may start in one partition and end in
    another, as they do in files written by month.
    """
    if cuts is None:
        cuts = list(np.linspace(0, len(df), npartitions + 1).astype(int)[1:-1])
    bounds = [0, *sorted(cuts), len(df)]
    parts = [df.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(bounds)]
    return dd.from_map(lambda p: p, parts, meta=df.iloc[:0], enforce_metadata=False)


@st.composite
def cut_points(draw, n_rows: int, max_parts: int = 6) -> list[int]:
    """Row positions to cut at: repeated positions and 0 / n make empty partitions."""
    k = draw(st.integers(0, max_parts - 1))
    return sorted(draw(st.lists(st.integers(0, n_rows), min_size=k, max_size=k)))


def same_rows(got: pd.DataFrame, want: pd.DataFrame, key: str = "customer", **kw) -> None:
    """Assert two per-customer tables are equal whatever their row order."""
    got = got.sort_values(key, kind="stable").reset_index(drop=True)
    want = want.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, **kw)
