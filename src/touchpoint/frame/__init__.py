"""Columnar frames: events and per-customer scores as numpy columns with coded ids.

- `EventFrame`: one row per interaction; customers, touchpoints, channels... stored as
  int codes into their distinct values.
- `ScoreFrame`: one row per customer, keyed by the original customer ids.
- `read_columns`: numpy columns out of any supported table (the input adapter every
  score uses); `factorize`: values to dense codes.

Examples
--------
>>> f = EventFrame.from_data({"customer": ["C1", "C2", "C1"], "amount": [10.0, 5.0, 2.5]})
>>> len(f), f.categories["customer"].tolist()
(3, ['C1', 'C2'])
"""

from touchpoint.frame._codes import factorize
from touchpoint.frame._frame import CATEGORICAL, STANDARD, EventFrame, ScoreFrame
from touchpoint.frame._input import read_coded, read_columns
from touchpoint.frame._purchases import PURCHASE_OUTCOMES, purchase_columns, purchase_mask

__all__ = [
    "CATEGORICAL",
    "PURCHASE_OUTCOMES",
    "STANDARD",
    "EventFrame",
    "ScoreFrame",
    "factorize",
    "purchase_columns",
    "purchase_mask",
    "read_coded",
    "read_columns",
]
