"""Columnar frames, and the one place that reads and checks columns and times.

- `EventFrame`: one row per interaction; customers, touchpoints, channels... stored as
  int codes into their distinct values.
- `ScoreFrame`: one row per customer (or touchpoint, group...), keyed by the original ids.
- `read_columns` / `read_coded`: numpy columns out of any supported table, the input
  every score reads; `factorize`: values to dense codes.
- the checks every score states its requirements with (`check_codes`, `check_times`,
  `check_nonnegative`, `check_finite`, `check_range`, `require_columns`...), whose
  errors name the column, the row and the value; `text_problems` and `MAX_ID_LENGTH`,
  what ingest accepts as an id, and `text_message` / `short_value`, how a refused value
  is named;
- times (`as_time`, `as_day`, `parse_times`, `naive_utc`...): every conversion of a time
  to naive UTC;
- the purchase rule (`purchase_mask`) every score that counts purchases shares;
- the scores that run on Dask: `distributed` marks a score, `touchpoint.scale`
  registers its plan (`register_plan`), `distributed_scores` lists them.

Examples
--------
>>> f = EventFrame.from_data({"customer": ["C1", "C2", "C1"], "amount": [10.0, 5.0, 2.5]})
>>> len(f), f.categories["customer"].tolist()
(3, ['C1', 'C2'])
"""

from touchpoint.frame._codes import factorize
from touchpoint.frame._dispatch import distributed, distributed_scores, is_dask, register_plan
from touchpoint.frame._frame import CATEGORICAL, STANDARD, EventFrame, ScoreFrame
from touchpoint.frame._grouped import code_time_order, group_stats, minimum, nondecreasing
from touchpoint.frame._input import FLOAT_NAMES, TIME_NAMES, column_names, parse_numbers
from touchpoint.frame._purchases import PURCHASE_OUTCOMES, purchase_columns, purchase_mask
from touchpoint.frame._times import (
    DAY_US,
    as_day,
    as_time,
    micros,
    naive_utc,
    naive_utc_series,
    parse_times,
    to_us,
)
from touchpoint.frame._validation import (
    MAX_ID_LENGTH,
    as_float64,
    check_codes,
    check_finite,
    check_nonnegative,
    check_range,
    check_times,
    first_row,
    read_coded,
    read_columns,
    require_columns,
    short_value,
    text_message,
    text_problems,
)

__all__ = [
    "CATEGORICAL",
    "DAY_US",
    "FLOAT_NAMES",
    "MAX_ID_LENGTH",
    "PURCHASE_OUTCOMES",
    "STANDARD",
    "TIME_NAMES",
    "EventFrame",
    "ScoreFrame",
    "as_day",
    "as_float64",
    "as_time",
    "check_codes",
    "check_finite",
    "check_nonnegative",
    "check_range",
    "check_times",
    "code_time_order",
    "column_names",
    "distributed",
    "distributed_scores",
    "factorize",
    "first_row",
    "group_stats",
    "is_dask",
    "micros",
    "minimum",
    "naive_utc",
    "naive_utc_series",
    "nondecreasing",
    "parse_numbers",
    "parse_times",
    "purchase_columns",
    "purchase_mask",
    "read_coded",
    "read_columns",
    "register_plan",
    "require_columns",
    "short_value",
    "text_message",
    "text_problems",
    "to_us",
]
