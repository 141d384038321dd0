"""CPU seconds of each `record_batch` of a 1M-event SQLite ingest, and of its storage steps.

    python benchmarks/prototypes/sqlite_ingest_per_batch.py [events] [batch]

Run it with ``PYTHONPATH`` set to the tree before and after a change, alternately, for
an A/B in the same minutes: UUID4 events from ``bench_storage_sqlite.make``, one
``Workspace.record_batch`` per batch into a fresh file (after a 1,000-event warm-up in
another file), each batch's process CPU time with the storage functions' own CPU time
beside (``_insert``: the ``event`` row insert; ``_stored_columns``: dictionary ids;
``_write_block``: the scan-cache block), then the totals.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_sqlite import batches, make

from touchpoint.storage import _sqlite_append as appending
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.workspace import Workspace

STEPS = ("_insert", "_stored_columns", "_write_block", "append")
spent: dict[str, float] = {}


def _timed(name: str) -> None:
    fn = getattr(appending, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        c = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - c

    setattr(appending, name, wrapper)


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    size = int(float(sys.argv[2])) if len(sys.argv) > 2 else 200_000
    for name in STEPS:
        _timed(name)
    cols = make(n)
    tmp = tempfile.mkdtemp()
    Workspace(SqliteStorage(os.path.join(tmp, "warm.db"))).record_batch(batches(cols, 1000)[0])
    ws = Workspace(SqliteStorage(os.path.join(tmp, "ingest.db")))
    totals = dict.fromkeys(("record_batch", *STEPS), 0.0)
    for part in batches(cols, size):
        spent.clear()
        c = time.process_time()
        ws.record_batch(part)
        spent["record_batch"] = time.process_time() - c
        print("  ".join(f"{k} {spent.get(k, 0.0):.3f}" for k in totals))
        for k in totals:
            totals[k] += spent.get(k, 0.0)
    ws.close()
    print("total  " + "  ".join(f"{k} {v:.3f}" for k, v in totals.items()))
    print(
        f"{n / totals['record_batch']:,.0f} events per CPU second; load average",
        " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    )


if __name__ == "__main__":
    main()
