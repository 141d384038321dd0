"""Vectorised customer scores: pure functions over columns, one calling convention.

Every score takes ``data`` (an `EventFrame`, a pandas or polars DataFrame, an Arrow
table or a dict of arrays) and keyword arguments naming its columns, and returns a
`touchpoint.frame.ScoreFrame` keyed by the original ids.

Examples
--------
>>> r = rfm({"customer": ["A", "A"], "time": ["2026-01-01", "2026-01-05"], "amount": [5, 7]},
...         asof="2026-01-06")
>>> r["monetary"].tolist()
[12.0]
"""

from touchpoint.scoring.churn import (
    CHURN_LEVELS,
    DEFAULT_REASONS,
    churn_kinds,
    churn_risk,
    churn_summary,
)
from touchpoint.scoring.compliance import ComplianceReport, compliance
from touchpoint.scoring.loyalty import (
    loyalty_index,
    percentile_rank,
    satisfied_but_defecting,
)
from touchpoint.scoring.programme import LoyaltyReport, loyalty_programme
from touchpoint.scoring.referral import referral
from touchpoint.scoring.rfm import DEFAULT_SEGMENTS, quantile_scores, rfm, rfm_scores, rfm_segments
from touchpoint.scoring.satisfaction import csat, nps, wilson_interval
from touchpoint.scoring.value import (
    lifetime_value,
    pareto,
    pyramid,
    pyramid_summary,
    simple_clv,
    top_share,
)

__all__ = [
    "CHURN_LEVELS",
    "DEFAULT_REASONS",
    "DEFAULT_SEGMENTS",
    "ComplianceReport",
    "LoyaltyReport",
    "churn_kinds",
    "churn_risk",
    "churn_summary",
    "compliance",
    "csat",
    "lifetime_value",
    "loyalty_index",
    "loyalty_programme",
    "nps",
    "pareto",
    "percentile_rank",
    "pyramid",
    "pyramid_summary",
    "quantile_scores",
    "referral",
    "rfm",
    "rfm_scores",
    "rfm_segments",
    "satisfied_but_defecting",
    "simple_clv",
    "top_share",
    "wilson_interval",
]
