"""Missing dictionary ids in the ``event`` insert: ``NULLIF(?, -1)``, ``None`` or NaN bound.

    python benchmarks/prototypes/sqlite_null_ids.py [events] [repeats]
    python benchmarks/prototypes/sqlite_null_ids.py --instructions [events]

One batch of UUID4 events (``bench_storage_sqlite.make``: a third of the outcomes
missing), coded and sorted by key as the storage stores it
(`sqlite_insert_paths.coded`), inserted into a fresh schema-4 file in one
transaction, 256 rows a statement, 64 statements' parameters built at a time (as the
storage does). Ways:

- ``NULLIF everywhere``: every categorical column through ``NULLIF(?, -1)`` (the
  storage until session 11): SQLite calls a function per value;
- ``None bound``: a plain ``?`` everywhere, ``None`` bound for a missing id (an object
  array with ``None`` put in): sqlite3 sends every ``None`` through its adaptation
  protocol (``__adapt__``/``__conform__`` lookups that fail: an exception raised and
  cleared per value);
- ``NaN bound``: the columns missing some id as floats with NaN (SQLite stores NaN as
  NULL and an integral REAL as INTEGER in an INTEGER column);
- ``storage _insert``: the storage now: ``NULLIF(?, -1)`` only in the columns missing
  some id, a plain ``?`` elsewhere.

CPU seconds on this 2-core VM move by 10-20% between runs, more than the differences
here; ``--instructions`` counts each way's instructions instead, under valgrind's
callgrind (deterministic; a run without an insert is subtracted). Session 11, 100k
events: NULLIF everywhere 1.704G, None bound 1.636G, storage 1.549G (-9%), NaN bound
1.520G (``benchmarks/README.md``).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from sqlite_insert_paths import coded, fresh, used_columns

from touchpoint.storage import _sqlite_append as ap
from touchpoint.storage._pack import ascii_text
from touchpoint.storage.base import CATEGORICAL

PER = 256


def insert(con: Any, cols: dict, ids: np.ndarray, keys: np.ndarray, way: str) -> None:
    """The storage's multi-row insert with ``way``'s handling of missing ids."""
    names = used_columns(cols)
    arrays, marks = [ids, keys], ["?", "?"]
    for name in names:
        column, mark = cols[name], "?"
        missing = column < 0 if name in CATEGORICAL else None
        if missing is not None and (way == "NULLIF everywhere" or missing.any()):
            if way == "NULLIF everywhere":
                mark = "NULLIF(?, -1)"
            elif way == "None bound":
                column = column.astype(object)
                column[missing] = None
            elif way == "NaN bound":
                column = np.where(missing, np.nan, column.astype(np.float64))
        arrays.append(column)
        marks.append(mark)
    width, m = len(arrays), len(ids)
    row = f"({', '.join(marks)})"
    head = f"INSERT INTO event (id, key, {', '.join(names)}) VALUES "
    tail = " ON CONFLICT (key) DO NOTHING"
    statement = head + ", ".join([row] * PER) + tail
    for start in range(0, m, PER * 64):
        n = min(PER * 64, m - start)
        flat: list = [None] * (n * width)
        for j, values in enumerate(arrays):
            values = values[start : start + n]
            flat[j::width] = (ascii_text(values) if values.dtype.kind == "S" else values).tolist()
        full, step = n // PER, PER * width
        con.executemany(statement, (flat[i * step : (i + 1) * step] for i in range(full)))
        if n > full * PER:
            con.execute(head + ", ".join([row] * (n - full * PER)) + tail, flat[full * step :])


WAYS = ("NULLIF everywhere", "None bound", "NaN bound", "storage _insert")


def run(way: str, cols: dict, keys: np.ndarray, path: Path) -> float:
    n = len(keys)
    ids = np.arange(1, n + 1, dtype=np.int64)
    con = fresh(path)
    c0 = time.process_time()
    con.execute("BEGIN IMMEDIATE")
    if way == "storage _insert":
        ap._insert(con, cols, np.arange(n), ids, keys)
    elif way != "nothing":
        insert(con, cols, ids, keys, way)
    con.execute("COMMIT")
    spent = time.process_time() - c0
    if way != "nothing":  # every way stores the same: NULL for a missing id, else an integer
        got = con.execute(
            "SELECT count(*), count(outcome), sum(typeof(outcome) = 'integer') FROM event"
        ).fetchone()
        assert got == (n, int((cols["outcome"] >= 0).sum()), got[1]), got
    con.close()
    path.unlink()
    return spent


def instructions(n: int) -> None:
    counts = {}
    for way in ("nothing", *WAYS):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--one",
                way,
                str(n),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        counts[way] = int(re.search(r"Collected : (\d+)", out).group(1))
    print(f"{n:,} events; instructions of the insert (callgrind, a run without it subtracted)")
    for way in WAYS:
        print(f"{way:20} {(counts[way] - counts['nothing']) / 1e9:7.3f}G")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--one"]:
        cols, keys = coded(int(float(args[2])))
        run(args[1], cols, keys, Path(tempfile.mkdtemp()) / "one.db")
        return
    if args[:1] == ["--instructions"]:
        instructions(int(float(args[1])) if len(args) > 1 else 100_000)
        return
    n = int(float(args[0])) if args else 1_000_000
    repeats = int(args[1]) if len(args) > 1 else 5
    cols, keys = coded(n)
    tmp = Path(tempfile.mkdtemp())
    cpu: dict[str, list[float]] = {way: [] for way in WAYS}
    for r in range(repeats):
        for i, way in enumerate(WAYS):
            cpu[way].append(run(way, cols, keys, tmp / f"{r}-{i}.db"))
    print(f"{n:,} events, {repeats} repeats; CPU s of the insert")
    for way, got in cpu.items():
        print(f"{way:20} best {min(got):6.3f}  median {statistics.median(got):6.3f}")
    print("load average", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
