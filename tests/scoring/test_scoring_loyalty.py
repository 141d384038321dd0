"""Percentile ranks against pandas, and the loyalty scores' input checks.

Churn risk: test_scoring_churn_risk.py; loyalty_index and satisfied_but_defecting against
their references and simulations: test_scoring_loyalty_index.py and
test_scoring_defecting.py."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.scoring import satisfied_but_defecting
from touchpoint.scoring.parts import percentile_rank


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=30), st.booleans())
def test_percentile_rank_matches_pandas_average_rank(values, higher):
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    s = pd.Series(v if higher else -v)
    n = s.notna().sum()
    expected = (s.rank(method="average") - 1) / (n - 1) if n > 1 else s.where(s.isna(), 0.5)
    np.testing.assert_allclose(
        percentile_rank(v, higher_is_better=higher), expected, equal_nan=True
    )


def test_negative_amount_and_missing_rating_column():
    with pytest.raises(ValidationError, match="rating"):
        satisfied_but_defecting({"customer": ["a"], "time": ["2026-01-01"], "amount": [1.0]})
