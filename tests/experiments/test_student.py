"""The t distribution behind Welch's interval agrees with scipy's."""

import pytest
from scipy import stats

from touchpoint.experiments._student import t_quantile, t_sf


@pytest.mark.parametrize("df", [1.0, 2.0, 3.5, 10.0, 57.3, 1000.0, 1e5])
def test_quantiles_and_tails_agree_with_scipy(df):
    for p in (0.6, 0.9, 0.975, 0.995, 0.025):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-8, abs=1e-9)
    for t in (-3.0, 0.1, 2.0, 10.0):
        assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-8, abs=1e-14)
