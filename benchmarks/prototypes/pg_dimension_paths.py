"""Two ways to store a customer base's new dictionary values in PostgreSQL, side by side.

    python benchmarks/prototypes/pg_dimension_paths.py [values] [rounds]

Starts a throw-away PostgreSQL server with its crash-safe defaults and, in a fresh
schema each time, gives `Dimensions.ids` ``values`` new customer ids (86,000 by default:
the distinct customers of the storage benchmark's first batch of 200k events), inside
one transaction, committed. Two ways, alternated, best of ``rounds``:

- **staged** (the storage's way): a binary ``COPY`` into a temporary table, then one
  ``INSERT ... SELECT ... ORDER BY value ON CONFLICT (value) DO NOTHING RETURNING id,
  value`` joined back;
- **bulk** (`bulk_ids`, not adopted): ids drawn from the identity sequence
  (``nextval`` per value), and one binary ``COPY`` of (id, value) rows straight into
  ``dim_customer`` in value order, inside a savepoint (a stored value would make it
  fail; the storage would then take the staged way); the draw and the ``COPY`` are
  also timed alone;
- **staged, cache** and **bulk, cache**: the same with the identity sequence caching
  `CACHE` values per session (``ALTER TABLE ... ALTER COLUMN id SET CACHE``), in case
  ``nextval``'s cost were its buffer lock and WAL record.

Reports wall seconds, the client's and the server backend's CPU seconds, and checks
that both ways give every value its own id, read back from the table.

Session 12: bulk took 0.48 server CPU s against 0.58 staged (86k values, best of 3):
``nextval`` alone costs about 3.4 µs a value, half of the bulk way; drawing a block of
ids at once (``setval``) is not safe beside concurrent writers without a lock held to
commit. The sequence cache changed nothing (staged 0.57 -> 0.63, bulk 0.44 -> 0.43: the
cost is the call, not the sequence's page). Not adopted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_postgres import backend, client_cpu, server_cpu  # puts this checkout's src first

from touchpoint.storage._postgres_copy import array, copy_chunks
from touchpoint.storage._postgres_dims import copy_one, utf8
from touchpoint.storage._postgres_server import TemporaryServer
from touchpoint.storage.postgres import PostgresStorage

#: The identity sequence's per-session cache in the ", cache" ways.
CACHE = 1024


def bulk_ids(con, column: str, values: np.ndarray, split: dict[str, float]) -> np.ndarray:
    """Ids drawn from the sequence, then the rows COPYed in value order (in a savepoint)."""
    raw = utf8(values)
    order = np.argsort(raw, kind="stable")  # byte order: the unique index's ("C")
    s = time.perf_counter()
    fields = copy_one(
        con,
        "COPY (SELECT array_agg(nextval(s.seq)) FROM (SELECT pg_get_serial_sequence(%s, "
        "'id')::regclass AS seq) s, generate_series(1, %s)) TO STDOUT (FORMAT BINARY)",
        [f"dim_{column}", len(values)],
    )
    split["draw"] = time.perf_counter() - s
    drawn = np.sort(array(fields[0], ">i8"))
    s = time.perf_counter()
    sql = f"COPY dim_{column} (id, value) FROM STDIN (FORMAT BINARY)"
    with con.transaction(), con.cursor().copy(sql) as cp:  # in a savepoint
        for piece in copy_chunks([drawn.astype(">i4"), raw[order]]):
            cp.write(piece)
    split["copy"] = time.perf_counter() - s
    out = np.empty(len(values), dtype=np.int64)
    out[order] = drawn
    return out


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 86_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    values = np.array([f"C{i:07d}" for i in np.random.default_rng(0).permutation(n)], dtype=object)
    best: dict[str, tuple[float, float, float]] = {}
    with TemporaryServer(durable=True) as server:
        server.psql("CREATE DATABASE bench")
        for r in range(rounds):
            ways = ["staged", "staged, cache", "bulk", "bulk, cache"]
            for i, way in enumerate(ways if r % 2 == 0 else ways[::-1]):
                store = PostgresStorage(server.url("bench"), schema=f"w{i}r{r}")
                if way.endswith("cache"):
                    store._con.execute(
                        f"ALTER TABLE dim_customer ALTER COLUMN id SET CACHE {CACHE}"
                    )
                    store._con.commit()
                split: dict[str, float] = {}
                pid = backend(store._con)
                t, c, s = time.perf_counter(), client_cpu(), server_cpu(pid)
                with store._write() as con:
                    if way.startswith("staged"):
                        ids = store._dims.ids(con, "customer", values)
                    else:
                        ids = bulk_ids(con, "customer", values, split)
                wall, cpu, srv = time.perf_counter() - t, client_cpu() - c, server_cpu(pid) - s
                stored = dict(store._con.execute("SELECT value, id FROM dim_customer").fetchall())
                assert len(stored) == n and [stored[v] for v in values] == ids.tolist(), way
                store.close()
                parts = "".join(f" {k} {v:.3f}" for k, v in split.items())
                print(
                    f"round {r + 1} {way:14} wall {wall:.3f} client {cpu:.3f} server {srv:.3f}{parts}"
                )
                prior = best.get(way, (wall, cpu, srv))
                best[way] = (min(prior[0], wall), min(prior[1], cpu), min(prior[2], srv))
    print(f"\n{n:,} new values, best of {rounds}:")
    for way, (wall, cpu, srv) in best.items():
        print(f"{way:14} wall {wall:.3f} s  client CPU {cpu:.3f} s  server CPU {srv:.3f} s")


if __name__ == "__main__":
    main()
