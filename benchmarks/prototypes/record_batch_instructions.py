"""Instructions one SQLite `record_batch` of 200k UUID4 events runs, counted by callgrind.

    python benchmarks/prototypes/record_batch_instructions.py [batch]

CPU seconds on a shared 2-core VM move by 10-20% between runs of the same code, more
than a change worth making; valgrind's callgrind counts instructions, the same count on
every run. Two runs of one script under callgrind, one storing 2 batches and one 3
(``bench_storage_sqlite.make``, 1M events' worth generated in each), give by their
difference the third batch alone: no start-up, import or first-batch work in it. Printed:
the difference in all, and per shared object (SQLite, numpy, the interpreter, libc,
...), from ``callgrind_annotate``. About 10-15 minutes (valgrind runs 30-50x slower).

Session 11: 5.30G instructions a 200k batch (SQLite 1.94G, numpy 0.87G, the interpreter
0.85G, libc 0.85G, pandas' hash table 0.23G, the sqlite3 module 0.20G), from about 5.9G
before (``benchmarks/README.md``). ``memset``/``memcpy`` are counted by the byte
(``rep stos``/``rep movs``), so libc's share overstates its time.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))


def store_batches(k: int, size: int) -> None:
    from bench_storage_sqlite import batches, make

    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.workspace import Workspace

    parts = batches(make(5 * size), size)
    ws = Workspace(SqliteStorage(str(Path(tempfile.mkdtemp()) / "i.db")))
    for part in parts[:k]:
        ws.record_batch(part)
    ws.close()


def by_object(out_file: Path) -> dict[str, int]:
    """Instructions per shared object, from ``callgrind_annotate``'s function list."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(out_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
        if m and "PROGRAM TOTALS" not in line:
            obj = re.search(r"\[([^\]]*)\]\s*$", m.group(2))
            name = obj.group(1).rsplit("/", 1)[-1] if obj else "(unattributed)"
            counts[name] = counts.get(name, 0) + int(m.group(1).replace(",", ""))
    return counts


def main() -> None:
    if sys.argv[1:2] == ["--store"]:
        store_batches(int(sys.argv[2]), int(sys.argv[3]))
        return
    size = int(float(sys.argv[1])) if len(sys.argv) > 1 else 200_000
    tmp = Path(tempfile.mkdtemp())
    runs = {}
    for k in (2, 3):  # one after the other: two at once would share 2 cores, not counts
        out = tmp / f"callgrind.{k}"
        log = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--store",
                str(k),
                str(size),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        total = int(re.search(r"Collected : (\d+)", log).group(1))
        runs[k] = (total, by_object(out))
    (t2, o2), (t3, o3) = runs[2], runs[3]
    print(f"one record_batch of {size:,} events (the third): {(t3 - t2) / 1e9:.2f}G instructions")
    diff = sorted(((o3.get(k, 0) - o2.get(k, 0), k) for k in set(o2) | set(o3)), reverse=True)
    for count, name in diff[:10]:
        print(f"  {count / 1e9:6.2f}G  {name}")


if __name__ == "__main__":
    main()
