"""Scoring past one machine: the same scores on Dask, and event sources past SQLite.

The scores marked to run on Dask (the table `touchpoint.frame.distributed_scores`
lists them, and how each runs) accept a Dask DataFrame as ``data`` with the same
column keywords: this package registers their distributed plans, which run the
in-memory code on each partition, so a per-customer score returns a lazy Dask DataFrame
with one row per customer whose ``.compute()`` equals the in-memory result (row order
aside). The scores import nothing from here: importing this package registers the
plans, and the frame layer imports it the first time a Dask DataFrame arrives. Nothing
here imports Dask until it is used; without the ``dask`` extra, using it raises
`touchpoint.errors.MissingExtraError` naming the extra.

- `by_customer`: events partitioned by customer (a hash shuffle), the layout every
  per-customer score runs on, one pandas partition at a time.
- `order_statistics`: exact order statistics of a distributed column in three passes
  over small per-partition summaries (the global step behind value tiers).
- `read_parquet`: events from a Parquet dataset (a directory of files, e.g. one
  folder per month), in memory as an `EventFrame` or lazily as a Dask DataFrame.

See the "Scaling out" page of the docs.
"""

from touchpoint._deprecation import moved_modules
from touchpoint.frame import is_dask
from touchpoint.scale import (  # noqa: F401 (imported to register their plans with the frame layer)
    _attribution,
    _clv,
    _compliance,
    _customers,
    _groups,
    _journeys,
    _programme,
    _value,
)
from touchpoint.scale._dask import by_customer
from touchpoint.scale._order import order_statistics
from touchpoint.scale._parquet import read_parquet

# none of these modules imports Dask, pandas or pyarrow until a function runs
__all__ = ["by_customer", "is_dask", "order_statistics", "read_parquet"]

# Old path, kept for one release: the implementation module is private now.
__getattr__ = moved_modules(__name__, {"parquet": (__name__, f"{__name__}._parquet")})
