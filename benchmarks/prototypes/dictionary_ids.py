"""Dictionary ids in memory: what `KnownIds` holds, and reading a dictionary back.

    python benchmarks/prototypes/dictionary_ids.py

- The memory `touchpoint.storage._known_ids.KnownIds` holds for 2^19 (its SQLite limit
  per column) UUID-length values, strings included (tracemalloc).
- Reading a 100k-value dictionary table back: one Python tuple per row against the two
  JSON arrays `SqliteStorage._categories` reads (CPU s, best of 3).

The figures behind the ``KNOWN_IDS`` and ``_categories`` comments in
``touchpoint.storage.sqlite``.
"""

from __future__ import annotations

import json
import sqlite3
import time
import tracemalloc
import uuid

import numpy as np

from touchpoint.storage._known_ids import KnownIds
from touchpoint.storage.sqlite import KNOWN_IDS


def main() -> None:
    tracemalloc.start()
    values = [str(uuid.uuid4()) for _ in range(KNOWN_IDS)]
    known = KnownIds(KNOWN_IDS)
    known.learn("customer", values, np.arange(1, KNOWN_IDS + 1))
    known.commit()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"KnownIds of {KNOWN_IDS:,} UUID-length values: {held / 2**20:.0f} MiB")

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, value TEXT)")
    con.executemany("INSERT INTO d (value) VALUES (?)", [(v,) for v in values[:100_000]])

    def tuples() -> None:
        con.execute("SELECT id, value FROM d ORDER BY id").fetchall()

    def arrays() -> None:
        ids, text = con.execute(
            "SELECT json_group_array(id), json_group_array(value) "
            "FROM (SELECT id, value FROM d ORDER BY id)"
        ).fetchone()
        json.loads(ids), json.loads(text)

    for name, run in (("a tuple per row", tuples), ("two JSON arrays", arrays)):
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
        print(f"100k dictionary rows, {name}: {best:.3f} CPU s")


if __name__ == "__main__":
    main()
