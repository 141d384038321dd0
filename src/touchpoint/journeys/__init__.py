"""Customer journeys: where customers stop, who comes back, which paths convert.

The first question of the five customer stages is where customers stop. This package
answers it over event columns, vectorised like the scores (same calling convention:
``data`` and keyword arguments naming its columns):

- `funnel`: customers reaching each stage in order, the conversion from the previous
  stage and the median time it took, by touchpoint, store or entry period;
- `retention`: the cohort table (customers of each first-activity period still active
  k periods later) and a Kaplan-Meier survival curve of customer lifetimes with its
  confidence band (`kaplan_meier` on durations directly);
- `lifetimes`: each customer's first and last event, lifetime and whether they left;
- `paths`: the most frequent touchpoint paths to conversion (a purchase) and to
  drop-out, and drop-off per touchpoint.

`retention` and `lifetimes` run on a Dask DataFrame too (see `touchpoint.scale`).

Examples
--------
>>> events = {"customer": [1, 1, 2], "time": ["2026-01-02", "2026-02-10", "2026-01-20"],
...           "touchpoint": ["ad", "store", "ad"], "outcome": [None, "purchase", None]}
>>> retention(events, period="M").table["customers"].tolist()
[2, 1]
>>> paths(events).conversion["path"].tolist()
[('ad', 'store')]
"""

from touchpoint.journeys._funnel import funnel
from touchpoint.journeys._km import kaplan_meier
from touchpoint.journeys._paths import PathReport, paths
from touchpoint.journeys._periods import PERIODS
from touchpoint.journeys._retention import Retention, lifetimes, retention

__all__ = [
    "PERIODS",
    "PathReport",
    "Retention",
    "funnel",
    "kaplan_meier",
    "lifetimes",
    "paths",
    "retention",
]
