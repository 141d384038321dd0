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

from touchpoint._deprecation import moved_modules
from touchpoint.scoring._churn import (
    CHURN_LEVELS,
    DEFAULT_REASONS,
    churn_kinds,
    churn_risk,
    churn_summary,
)
from touchpoint.scoring._compliance import ComplianceReport, compliance
from touchpoint.scoring._loyalty import loyalty_index, satisfied_but_defecting
from touchpoint.scoring._programme import LoyaltyReport, loyalty_programme
from touchpoint.scoring._referral import referral
from touchpoint.scoring._rfm import DEFAULT_SEGMENTS, rfm, rfm_scores, rfm_segments
from touchpoint.scoring._satisfaction import csat, nps
from touchpoint.scoring._value import (
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
    "pyramid",
    "pyramid_summary",
    "referral",
    "rfm",
    "rfm_scores",
    "rfm_segments",
    "satisfied_but_defecting",
    "simple_clv",
    "top_share",
]

# Old paths, kept for one release: the implementation modules are private now, and the
# helpers percentile_rank, quantile_scores and wilson_interval live in .parts.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}.parts", f"{__name__}._{module}")
        for module in (
            "churn",
            "compliance",
            "loyalty",
            "programme",
            "referral",
            "rfm",
            "satisfaction",
            "value",
        )
    },
    {
        name: f"{__name__}.parts"
        for name in ("percentile_rank", "quantile_scores", "wilson_interval")
    },
)
