"""The pure steps of the journey functions, for `touchpoint.scale` and for extensions.

`touchpoint.scale` runs `touchpoint.journeys.retention` on Dask with these: the events
partitioned by customer, `cohort_counts` on each partition (the non-zero cells of the
cohort table, which add up over disjoint customers), the cells summed and finished by
`cohort_frame`; `lifetimes` per customer, then `kaplan_meier` in memory.

Examples
--------
>>> t = np.array(["2026-01-05", "2026-02-01", "2026-01-09"], dtype="datetime64[us]")
>>> cohort, offset, n = cohort_counts(np.array([0, 0, 1]), t.view(np.int64), "M")
>>> offset.tolist(), n.tolist()
([0, 1], [2, 1])
>>> cohort_frame(cohort, offset, n, int(t.max().view(np.int64)), "M")["share"].tolist()
[1.0, 0.5]
"""

import numpy as np  # noqa: F401 (the examples use it)

from touchpoint.journeys._km import kaplan_meier
from touchpoint.journeys._periods import PERIODS, check_period, period_index, period_start
from touchpoint.journeys._retention import (
    Retention,
    cohort_counts,
    cohort_frame,
    lifetimes,
    window_us,
)

__all__ = [
    "PERIODS",
    "Retention",
    "check_period",
    "cohort_counts",
    "cohort_frame",
    "kaplan_meier",
    "lifetimes",
    "period_index",
    "period_start",
    "window_us",
]
