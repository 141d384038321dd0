"""kaplan_meier(): a hand-computed case, and band coverage by seeded simulation."""

import numpy as np
import pytest

from touchpoint.errors import ValidationError
from touchpoint.journeys import kaplan_meier

Z = 1.959963984540054


def test_a_hand_computed_curve_and_greenwood_log_log_band():
    km = kaplan_meier([2, 3, 3, 5, 8], [True, True, False, False, True])
    assert km["time"].tolist() == [2.0, 3.0, 5.0, 8.0]
    assert km["at_risk"].tolist() == [5, 4, 2, 1]
    assert km["events"].tolist() == [1, 1, 0, 1]
    assert km["censored"].tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(km["survival"], [0.8, 0.6, 0.6, 0.0])
    # at t = 3 by hand: V = 1/(5*4) + 1/(4*3) = 0.133333; se = sqrt(V) / |ln 0.6| = 0.714818
    # lower = 0.6 ** exp(1.96 se) = 0.12572, upper = 0.6 ** exp(-1.96 se) = 0.88176
    assert km["lower"][1] == pytest.approx(0.12572, abs=2e-5)
    assert km["upper"][1] == pytest.approx(0.88176, abs=2e-5)
    assert km["lower"][2] == km["lower"][1] and km["upper"][2] == km["upper"][1]
    assert km["lower"][3] == km["upper"][3] == 0.0


def test_no_event_keeps_survival_one_with_a_flat_band():
    km = kaplan_meier([1.0, 4.0], [False, False])
    assert km["survival"].tolist() == km["lower"].tolist() == km["upper"].tolist() == [1.0, 1.0]


def at(km, t):
    i = np.searchsorted(km["time"], t, side="right") - 1
    return (1.0, 1.0, 1.0) if i < 0 else (km["survival"][i], km["lower"][i], km["upper"][i])


def test_the_95_percent_band_covers_the_true_survival_about_95_percent_of_the_time():
    """Exponential lifetimes (mean 100 days), uniform censoring on [0, 250]: 1000 seeded runs
    of 200 customers; the band must cover exp(-t/100) at t = 25, 70, 140 in 95% +- 2.5 pp."""
    rng = np.random.default_rng(20261201)
    points = (25.0, 70.0, 140.0)
    hits = np.zeros(len(points))
    runs = 1000
    for _ in range(runs):
        life = rng.exponential(100.0, 200)
        censor = rng.uniform(0.0, 250.0, 200)
        km = kaplan_meier(np.minimum(life, censor), life <= censor)
        for j, t in enumerate(points):
            _, lo, hi = at(km, t)
            hits[j] += lo <= np.exp(-t / 100.0) <= hi
    coverage = hits / runs
    assert np.all(np.abs(coverage - 0.95) <= 0.025), coverage


def test_bad_input_is_named():
    with pytest.raises(ValidationError, match=r"durations\[1\]"):
        kaplan_meier([1.0, -2.0], [True, True])
    with pytest.raises(ValidationError, match="observed"):
        kaplan_meier([1.0], [True, False])
    with pytest.raises(ValidationError, match="observed"):
        kaplan_meier([1.0], [1])
    with pytest.raises(ValidationError, match="confidence"):
        kaplan_meier([1.0], [True], confidence=95)
