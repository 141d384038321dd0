"""The report's customer columns at scale: objects vs documents, collector on vs paused.

    python benchmarks/prototypes/care_columns_gc.py --customers 1_000_000

Makes a demo workspace of ``--customers`` in a temporary directory (about 2-3 minutes at a
million), then times, each in this process after the other:

- ``objects``: ``customer_columns(storage.customers(), anchors)`` (a `Customer` per record);
- ``documents, collector on``: ``storage.care_columns(anchors)``, the cyclic collector
  running;
- ``documents``: ``stored_customer_columns(storage, anchors)`` as the report calls it
  (the collector paused while parsing).

The figures behind benchmarks/README.md's "touchpoint report of that 1M workspace"
table and the comment in ``touchpoint.cli._care.stored_customer_columns``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from touchpoint.cli._care import stored_customer_columns
from touchpoint.demo import run_demo
from touchpoint.storage.base import customer_columns
from touchpoint.storage.sqlite import SqliteStorage

ANCHORS = {"birthday", "child_birth", "last_purchase", "move_in", "purchase", "warranty_end"}


def timed(label: str, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:28s} wall {time.perf_counter() - t:7.2f} s  cpu {time.process_time() - c:7.2f} s  peak so far {peak:7.0f} MiB"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=lambda s: int(float(s)), default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        timed("demo workspace", lambda: run_demo(customers=args.customers, db=db))
        store = SqliteStorage(db)

        fast = timed("documents", lambda: stored_customer_columns(store, ANCHORS))
        on = timed("documents, collector on", lambda: store.care_columns(ANCHORS))[0]
        slow = timed("objects", lambda: customer_columns(store.customers(), ANCHORS))
        assert all(
            np.array_equal(fast[0][k], slow[0][k], equal_nan=True) for k in fast[0] if k in ANCHORS
        )
        assert (
            fast[0]["customer"].tolist() == on["customer"].tolist() == slow[0]["customer"].tolist()
        )


if __name__ == "__main__":
    main()
