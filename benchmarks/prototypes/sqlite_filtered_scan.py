"""Filtered SQLite scans: this checkout's `_sqlite_scan.scan` against an older copy of it.

    git show 139ebec:src/touchpoint/storage/_sqlite_scan.py > /tmp/old_scan.py
    python benchmarks/prototypes/sqlite_filtered_scan.py /tmp/old_scan.py [events] [rounds]

Stores ``events`` UUID4 events (2M by default, ``bench_storage_sqlite.make``, batches of
200k: one scan-cache block each) in a fresh SQLite file, then scans it with each
filter shape, the older copy and this checkout's code alternated, ``rounds`` times each
(5 by default; a first scan of each shape is run before, not timed), in one process: no filter; the later half of the time range; 1% of the customers; 10
customers; the later half and 1% of the customers. Prints the best CPU seconds of
each (fresh columns take page faults whose cost moves a lot on this VM: see
``scan_hugepages.py``), the peak of numpy's traced allocations (``tracemalloc``: the untouched pages of
a large ``np.empty`` count there but take no memory) and the ratio, and checks that
both give the same rows.

Session 12 (2M events, quiet machine, best of 5), before -> after the change that reads
a block's filter columns first through the same blob handle and copies kept rows once:
no filter 0.168 -> 0.154 s (code unchanged: the spread of a run), later half 0.242 ->
0.228 s, 1% of the customers 0.097 -> 0.094 s, 10 customers 0.071 -> 0.073 s, both
0.081 -> 0.078 s: within the runs' spread. A first form that read every block's filter
columns in a pass of their own, to allocate the frame at its size, was slower on
selective filters (0.106 -> 0.145 s; its blob reads 0.44 s against 0.29 over five scans in a
profile: most likely the second blob handle walking the overflow pages again).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_sqlite import make  # puts this checkout's src first

from touchpoint.storage import _sqlite_scan as new
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.workspace import Workspace


def main() -> None:
    spec = importlib.util.spec_from_file_location("old_scan", sys.argv[1])
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    n = int(float(sys.argv[2])) if len(sys.argv) > 2 else 2_000_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    cols = make(n)
    store = SqliteStorage(os.path.join(tempfile.mkdtemp(), "scan.db"))
    ws = Workspace(store)
    for s in range(0, n, 200_000):
        ws.record_batch({k: v[s : s + 200_000] for k, v in cols.items()})
    t0, t1 = cols["time"].min(), cols["time"].max()
    mid = t0 + (t1 - t0) // 2
    customers = np.unique(cols["customer"])
    cases = {
        "no filter": {},
        "later half": {"start": mid},
        "1% of customers": {"customers": list(customers[::100])},
        "10 customers": {"customers": list(customers[:10])},
        "later half, 1%": {"start": mid, "customers": list(customers[::100])},
    }
    print(f"{n:,} events; CPU s best of {rounds}, traced peak MiB")
    for name, kw in cases.items():
        best: dict[str, tuple[float, float]] = {}
        frames = {"old": old.scan(store, **kw), "new": new.scan(store, **kw)}  # not timed
        for label, module in [("old", old), ("new", new)] * rounds:
            tracemalloc.start()
            t = time.process_time()
            frames[label] = module.scan(store, **kw)
            cpu = time.process_time() - t
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            prior = best.get(label, (cpu, peak))
            best[label] = (min(prior[0], cpu), max(prior[1], peak))
        a, b = frames["old"], frames["new"]
        for column in ("event_id", "customer", "touchpoint", "time", "direction", "amount"):
            x, y = np.asarray(a[column]), np.asarray(b[column])
            same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y
            assert len(x) == len(y) and same.all(), (name, column)
        (o, om), (w, wm) = best["old"], best["new"]
        print(
            f"{name:16} rows {len(b):>9,}  old {o:.3f} s {om:5.0f} MiB  "
            f"new {w:.3f} s {wm:5.0f} MiB  {o / w:.2f}x"
        )
    store.close()


if __name__ == "__main__":
    main()
