"""A first SQLite scan with numpy's huge-page advice on and off (``NUMPY_MADVISE_HUGEPAGE``).

    python benchmarks/prototypes/scan_hugepages.py [events] [rounds]

numpy advises the kernel to back its large arrays with transparent huge pages
(``madvise(MADV_HUGEPAGE)``, arrays of 4 MiB and more). Where the kernel's THP
``defrag`` setting is ``madvise`` (``/sys/kernel/mm/transparent_hugepage/defrag``, the
usual default), a fault in such an array may compact memory first to find a free
2 MiB page: when the page cache has filled memory (as a benchmark that writes files
leaves it), the first touch of a fresh array can stall. A first scan is mostly such
touches (the frame's columns, about 250 MB for 1M events, event ids as text the most).

The events (``bench_storage_sqlite.make``) are stored once; then each round runs a
first scan in a fresh process with the advice on (numpy's default), then off, and
prints wall and CPU seconds. Nothing here changes the library: the advice is numpy's
process-wide setting, the host application's to choose.

Session 11 (1M events, THP ``madvise``/``madvise``, right after the file was written):
with the advice 0.81, 0.30, 0.26, 0.21 s; without 1.30, 0.75, 0.38, 0.41 s (CPU equal
to wall: the time goes to the kernel's page faults, not to waiting). The same work
takes 0.2-1.3 s depending on the kernel's memory, which is why a first scan's rate
moves between 1.2M and 4.8M events/s on this VM (``benchmarks/README.md``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

FIRST_SCAN = """
import sys, time
from touchpoint.storage.sqlite import SqliteStorage
store = SqliteStorage(sys.argv[1])
w, c = time.perf_counter(), time.process_time()
frame = store.scan()
print(len(frame), time.perf_counter() - w, time.process_time() - c)
"""


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    from bench_storage_sqlite import batches, make

    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.workspace import Workspace

    db = Path(tempfile.mkdtemp()) / "scan.db"
    ws = Workspace(SqliteStorage(str(db)))
    for part in batches(make(n), 200_000):
        ws.record_batch(part)
    ws.close()
    thp = Path("/sys/kernel/mm/transparent_hugepage")
    settings = {
        f: (thp / f).read_text().strip() for f in ("enabled", "defrag") if (thp / f).exists()
    }
    print(f"{n:,} events; THP {settings or 'not available'}")
    print(f"{'round':>5} {'advice':>6} {'wall s':>7} {'cpu s':>6} {'events/s':>10}")
    for r in range(rounds):
        for advice in ("1", "0"):
            env = dict(os.environ, NUMPY_MADVISE_HUGEPAGE=advice)
            out = subprocess.run(
                [sys.executable, "-c", FIRST_SCAN, str(db)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            ).stdout.split()
            rows, wall, cpu = int(out[0]), float(out[1]), float(out[2])
            assert rows == n
            label = "on" if advice == "1" else "off"
            print(f"{r + 1:>5} {label:>6} {wall:7.3f} {cpu:6.3f} {n / wall:10,.0f}")
    db.unlink()


if __name__ == "__main__":
    main()
