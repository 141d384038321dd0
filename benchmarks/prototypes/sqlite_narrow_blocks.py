"""Narrower scan-cache columns: a smaller SQLite file, but a faster ingest? (issue 16)

    python benchmarks/prototypes/sqlite_narrow_blocks.py [rounds]

The scan cache stores dictionary ids as int32 and floats as float64 in every block. Here
the storage's ``pack`` is wrapped for one of two contenders so that each block stores a
categorical column in the narrowest of int8/int16/int32 holding its values, and a float
column as float16 or float32 when that gives back every value exactly (NaN as NaN):
ratings 1-5 and all-NaN columns shrink, amounts with cents do not. Nothing reads the
narrow blocks back here (the ingest path reads a block only to merge a small tail), so
this is the write side alone; the storage would need a reader that widens.

1M events (``bench_storage_sqlite.make``), batches of 200k, each contender in its own
fresh process, interleaved, ``rounds`` rounds; wall and CPU rate of the ingest and the
file's size.

Session 11 (3 rounds, VM slow phase): as stored 185-209k events/s, narrow 177-203k/s;
file 209 -> 178 MiB. No gain: not adopted.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))


def narrow(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from touchpoint.storage.base import CATEGORICAL, FLOATS

    out = {}
    for name, values in columns.items():
        if name in CATEGORICAL and len(values):
            lo, hi = int(values.min()), int(values.max())
            for small in (np.int8, np.int16, np.int32):
                if np.iinfo(small).min <= lo and hi <= np.iinfo(small).max:
                    values = values.astype(small)
                    break
        elif name in FLOATS:
            for small in (np.float16, np.float32):
                shrunk = values.astype(small)
                if np.array_equal(shrunk.astype(np.float64), values, equal_nan=True):
                    values = shrunk
                    break
        out[name] = values
    return out


def ingest(kind: str, data: Path) -> None:
    from bench_storage_sqlite import batches, load

    from touchpoint.storage import _sqlite_append
    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.workspace import Workspace

    if kind == "narrow":
        pack = _sqlite_append.pack
        _sqlite_append.pack = lambda columns: pack(narrow(columns))
    cols = load(data)
    parts = batches(cols, 200_000)
    tmp = Path(tempfile.mkdtemp())
    Workspace(SqliteStorage(str(tmp / "warm.db"))).record_batch(batches(cols, 1000)[0])
    ws = Workspace(SqliteStorage(str(tmp / "t.db")))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
    for part in parts:
        ws.record_batch(part)
    wall = time.perf_counter() - wall0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    ws.close()
    n = len(cols["event_id"])
    size = (tmp / "t.db").stat().st_size / 2**20
    print(f"{kind:>9} {n / wall:10,.0f} {n / cpu:10,.0f} {size:8.0f}")


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        ingest(sys.argv[2], Path(sys.argv[3]))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    from bench_storage_sqlite import make, save

    data = Path(tempfile.mkdtemp()) / "events.npz"
    save(make(1_000_000), data)
    print(f"{'blocks':>9} {'events/s':>10} {'per cpu-s':>10} {'file MiB':>8}")
    for _ in range(rounds):
        for kind in ("as stored", "narrow"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(data)],
                capture_output=True,
                text=True,
                check=True,
            )
            print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
