"""The pure steps the scores are made of, for `touchpoint.scale` and for extensions.

A score reads its columns, reduces them and finishes a result; where a score runs on
Dask, `touchpoint.scale` runs these same steps partition by partition, or between
reductions of its own, so that a distributed result is the in-memory one. They are
defined next to the score they belong to (the private modules of `touchpoint.scoring`)
and gathered here, the one public place `touchpoint.scale` imports them from. They are
building blocks rather than scores: their arguments are positional and terse, and they
may change with the scores they serve.

- value tiers: `read_values`, `tier_counts`, `pyramid_frame`, `tier_sums`,
  `tier_shares`, `pareto_shares`, `pareto_frame`, `read_curve`, `check_top`;
- ranks and ties: `tie_hash`, `resolve_cuts`, `order_and_count`, `Cut`, `Source`;
- RFM scores: `quantile_scores`, `METHODS`, `check_k`, `dimension_methods`,
  `score_keys`, `scores_frame`, `score_counts`, `score_positions`;
- satisfaction: `GroupScore`, `csat_steps`, `nps_steps`, `wilson_interval`, `nps_interval`;
- churn: `check_levels`, `churn_history`, `fit_churn`, `churn_frame`, `MODEL_INPUTS`;
- loyalty and referral: `percentile_rank`, `defecting_windows`, `rate_parts`, `rate_cv_of`,
  `first_referrer`;
- compliance: `indicator_kinds`, `summary_frame`, `SUMMARY_COLUMNS`, `Groups`.

Examples
--------
>>> quantile_scores(np.array([10., 20., 20., 30.]), 4).tolist()
[1, 2, 2, 4]
>>> tier_counts(10, [0.1, 0.2, 0.7], ["top", "mid", "rest"])
(array([1, 3]), 0)
"""

import numpy as np  # noqa: F401 (the examples use it)

from touchpoint.scoring._churn import (
    MODEL_INPUTS,
    check_levels,
    churn_frame,
    churn_history,
    fit_churn,
)
from touchpoint.scoring._compliance import SUMMARY_COLUMNS, indicator_kinds, summary_frame
from touchpoint.scoring._groups import Groups
from touchpoint.scoring._loyalty import defecting_windows, percentile_rank, rate_cv_of, rate_parts
from touchpoint.scoring._referral import first_referrer
from touchpoint.scoring._rfm import (
    METHODS,
    check_k,
    dimension_methods,
    quantile_scores,
    score_counts,
    score_keys,
    score_positions,
    scores_frame,
)
from touchpoint.scoring._satisfaction import (
    GroupScore,
    csat_steps,
    nps_interval,
    nps_steps,
    wilson_interval,
)
from touchpoint.scoring._ties import Cut, Source, order_and_count, resolve_cuts, tie_hash
from touchpoint.scoring._value import (
    check_top,
    pareto_frame,
    pareto_shares,
    pyramid_frame,
    read_curve,
    read_values,
    tier_counts,
    tier_shares,
    tier_sums,
)

__all__ = [
    "METHODS",
    "MODEL_INPUTS",
    "SUMMARY_COLUMNS",
    "Cut",
    "GroupScore",
    "Groups",
    "Source",
    "check_k",
    "check_levels",
    "check_top",
    "churn_frame",
    "churn_history",
    "csat_steps",
    "defecting_windows",
    "dimension_methods",
    "first_referrer",
    "fit_churn",
    "indicator_kinds",
    "nps_interval",
    "nps_steps",
    "order_and_count",
    "pareto_frame",
    "pareto_shares",
    "percentile_rank",
    "pyramid_frame",
    "quantile_scores",
    "rate_cv_of",
    "rate_parts",
    "read_curve",
    "read_values",
    "resolve_cuts",
    "score_counts",
    "score_keys",
    "score_positions",
    "scores_frame",
    "summary_frame",
    "tie_hash",
    "tier_counts",
    "tier_shares",
    "tier_sums",
    "wilson_interval",
]
