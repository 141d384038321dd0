"""power() and sample_size(): textbook formulas, and consistency with each other."""

import math

import pytest

from touchpoint.errors import ValidationError
from touchpoint.experiments import power, sample_size

ZA, ZB = 1.959963984540054, 0.8416212335729143


def test_equal_groups_of_means_give_the_textbook_size():
    # n per group = 2 (z_a + z_b)^2 sd^2 / d^2
    n = sample_size(10.0, sd=50.0, share=0.5)
    assert n.holdout == math.ceil(2 * (ZA + ZB) ** 2 * 50.0**2 / 10.0**2)
    assert n.treated == n.holdout and n.total == 2 * n.holdout


def test_equal_groups_of_proportions_give_fleiss_size():
    # Fleiss: n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p0 q0))^2 / d^2 per group
    p0, p1 = 0.30, 0.36
    pbar = (p0 + p1) / 2
    want = ZA * math.sqrt(2 * pbar * (1 - pbar)) + ZB * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    assert sample_size(0.06, baseline=p0, share=0.5).holdout == math.ceil((want / 0.06) ** 2)


@pytest.mark.parametrize("share", [0.05, 0.1, 0.3])
def test_the_sample_size_reaches_the_power_and_one_less_does_not(share):
    for kw in ({"baseline": 0.2}, {"sd": 80.0}):
        effect = 0.03 if "baseline" in kw else 6.0
        n = sample_size(effect, share=share, power=0.9, **kw)
        assert power(effect, treated=n.treated, holdout=n.holdout, **kw) >= 0.9
        assert n.holdout / n.total == pytest.approx(share, abs=0.002)
        fewer = power(effect, treated=n.treated - 50, holdout=n.holdout - 5, **kw)
        assert fewer < 0.9


def test_a_smaller_holdout_needs_more_customers():
    totals = [sample_size(0.02, baseline=0.1, share=s).total for s in (0.5, 0.2, 0.05)]
    assert totals == sorted(totals)


def test_bad_arguments_are_named():
    with pytest.raises(ValidationError, match="baseline"):
        sample_size(0.1)
    with pytest.raises(ValidationError, match="baseline"):
        sample_size(0.1, baseline=0.2, sd=3.0)
    with pytest.raises(ValidationError, match="effect"):
        sample_size(0.9, baseline=0.2)
    with pytest.raises(ValidationError, match="effect"):
        sample_size(0.0, sd=1.0)
    with pytest.raises(ValidationError, match="power"):
        sample_size(0.1, baseline=0.2, power=1.2)
    with pytest.raises(ValidationError, match="share"):
        sample_size(0.1, baseline=0.2, share=0.0)
    with pytest.raises(ValidationError, match="holdout"):
        power(0.1, baseline=0.2, treated=10, holdout=0)
