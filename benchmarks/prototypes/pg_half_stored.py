"""PostgreSQL ingest of batches half stored already, half new (random UUID4 event ids).

    python benchmarks/prototypes/pg_half_stored.py [rounds]

Starts a throw-away PostgreSQL server with its crash-safe defaults, stores 600k events
(batches of 200k), then times three batches of 200k, each 100k of those stored events
and 100k new ones, shuffled; every batch must report 100k accepted and 100k duplicates.
One fresh schema per round. Run it from each checkout to compare two versions: the
script imports the ``src`` next to it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_postgres import make, slices  # puts this checkout's src first

from touchpoint.storage._postgres_server import TemporaryServer
from touchpoint.storage.postgres import PostgresStorage
from touchpoint.workspace import Workspace


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    cols = make(1_200_000)
    stored = {k: v[:600_000] for k, v in cols.items()}
    fresh = {k: v[600_000:] for k, v in cols.items()}
    rng = np.random.default_rng(5)
    with TemporaryServer(durable=True) as server:
        server.psql("CREATE DATABASE bench")
        for r in range(rounds):
            ws = Workspace(PostgresStorage(server.url("bench"), schema=f"half{r}"))
            for part in slices(stored, 200_000):
                ws.record_batch(part)
            spent = 0.0
            for i in range(3):
                rows = slice(i * 100_000, (i + 1) * 100_000)
                batch = {k: np.concatenate([stored[k][rows], fresh[k][rows]]) for k in cols}
                order = rng.permutation(200_000)
                batch = {k: v[order] for k, v in batch.items()}
                t = time.perf_counter()
                report = ws.record_batch(batch)
                spent += time.perf_counter() - t
                assert report.accepted == 100_000 and report.duplicates == 100_000, report
            ws.close()
            print(
                f"round {r + 1}: 3 half-stored batches of 200k in {spent:.2f} s, "
                f"{600_000 / spent:,.0f} events/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
