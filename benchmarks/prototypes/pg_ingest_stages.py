"""Where a PostgreSQL `record_batch` of new UUID4 events goes, and two ways to overlap it.

    python benchmarks/prototypes/pg_ingest_stages.py [events] [rounds]

Starts a throw-away PostgreSQL server with its crash-safe defaults, makes ``events``
UUID4 events (1M by default) with the storage benchmark's ``make`` and stores them in
batches of 200k into a fresh schema, ``rounds`` times each way, the ways alternated:

- **record_batch**: `Workspace.record_batch` per batch, as the storage benchmark does;
  the steps of `_postgres_append.append` are timed too (wall, this process's CPU, the
  server backend's CPU): dictionary ids (`Dimensions._fetch`: the server inserting new
  values), the sort by id, the digest, the sample probe and the binary ``COPY`` into
  ``event``; validation is `record_batch` minus `append`;
- **queued writer**: the same, with psycopg's ``QueuedLibpqWriter`` sending each
  ``COPY`` from a thread of its own, so that the client encodes the next piece while
  the last one is being sent;
- **pipelined validation**: a thread validates batch k+1 while the main thread stores
  batch k (`Storage.append` directly): what an API taking a stream of batches could
  overlap.

Prints each run and the best of each way (events/s of wall time).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_postgres import backend, client_cpu, make, server_cpu, slices  # src first

from touchpoint.schema import validate_columns
from touchpoint.storage import _postgres_append as A
from touchpoint.storage import _postgres_dims as D
from touchpoint.storage._postgres_server import TemporaryServer
from touchpoint.storage.postgres import PostgresStorage
from touchpoint.workspace import Workspace

STEPS = {
    (D.Dimensions, "_fetch"): "dictionary ids (new values)",
    (A, "id_order"): "sort by event id",
    (A, "row_digest"): "digest",
    (A, "_sampled"): "sample probe",
    (A, "_copy_new"): "binary COPY into event",
    (A, "append"): "append, all",
}


def timing(spent: dict[str, list[float]], pid: list[int]) -> list[tuple[Any, str, Any]]:
    """Wrap each step to add its wall, client and server seconds to ``spent``."""
    undo = []
    for (owner, name), label in STEPS.items():
        fn = getattr(owner, name)

        def timed(*args: Any, _fn: Callable[..., Any] = fn, _label: str = label, **kw: Any) -> Any:
            t, c, s = time.perf_counter(), client_cpu(), server_cpu(pid[0])
            try:
                return _fn(*args, **kw)
            finally:
                got = spent.setdefault(_label, [0.0, 0.0, 0.0])
                got[0] += time.perf_counter() - t
                got[1] += client_cpu() - c
                got[2] += server_cpu(pid[0]) - s

        setattr(owner, name, functools.wraps(fn)(timed))
        undo.append((owner, name, fn))
    return undo


def queued_send(con: Any, sql: str, pieces: Any) -> None:
    """`_postgres_append._send` with psycopg's writer thread."""
    from psycopg.copy import QueuedLibpqWriter

    cur = con.cursor()
    with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
        for piece in pieces:
            copy.write(piece)


def run(way: str, url: str, schema: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    ws = Workspace(PostgresStorage(url, schema=schema))
    pid = [backend(ws.storage._con)]
    spent: dict[str, list[float]] = {}
    undo = timing(spent, pid) if way != "pipelined validation" else []
    send = A._send
    if way == "queued writer":
        A._send = queued_send
    t, c, s = time.perf_counter(), client_cpu(), server_cpu(pid[0])
    try:
        if way == "pipelined validation":
            with ThreadPoolExecutor(1) as pool:
                next_batch = pool.submit(validate_columns, parts[0])
                for k in range(len(parts)):
                    batch, rejected = next_batch.result()
                    if k + 1 < len(parts):
                        next_batch = pool.submit(validate_columns, parts[k + 1])
                    ws.storage.append(batch, refuse=True, quarantine=rejected)
        else:
            for part in parts:
                ws.record_batch(part)
        out = {
            "wall": time.perf_counter() - t,
            "client": client_cpu() - c,
            "server": server_cpu(pid[0]) - s,
        }
    finally:
        A._send = send
        for owner, name, fn in undo:
            setattr(owner, name, fn)
    assert ws.storage.count() == sum(len(p["event_id"]) for p in parts)
    ws.close()
    out["steps"] = spent
    return out


def main() -> None:
    events = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    parts = slices(make(events), 200_000)
    ways = ["record_batch", "queued writer", "pipelined validation"]
    best: dict[str, dict[str, Any]] = {}
    with TemporaryServer(durable=True) as server:
        server.psql("CREATE DATABASE bench")
        url = server.url("bench")
        warm = PostgresStorage(url, schema="warm")  # imports and the first COPY, once
        Workspace(warm).record_batch({k: v[:1000] for k, v in make(1000, seed=9).items()})
        warm.close()
        for r in range(rounds):
            for i, way in enumerate(ways if r % 2 == 0 else ways[::-1]):
                got = run(way, url, f"r{r}_{i}", parts)
                server.psql("CHECKPOINT")
                print(
                    f"round {r + 1} {way:22} {events / got['wall']:9,.0f}/s wall "
                    f"{got['wall']:.2f} client {got['client']:.2f} server {got['server']:.2f}",
                    flush=True,
                )
                if way not in best or got["wall"] < best[way]["wall"]:
                    best[way] = got
    print(f"\n{events:,} UUID4 events, batches of 200,000, best of {rounds}:")
    for way, got in best.items():
        print(
            f"{way:22} {events / got['wall']:9,.0f}/s  wall {got['wall']:.2f}  "
            f"client CPU {got['client']:.2f}  server CPU {got['server']:.2f}"
        )
    steps = best["record_batch"]["steps"]
    total = best["record_batch"]
    print(
        f"\nrecord_batch, its best run, by step (seconds):\n{'step':30} {'wall':>6} {'client':>6} {'server':>6}"
    )
    append = steps.get("append, all", [0.0, 0.0, 0.0])
    for label, (wall, cpu, srv) in steps.items():
        print(f"{label:30} {wall:6.2f} {cpu:6.2f} {srv:6.2f}")
    rest = [total["wall"] - append[0], total["client"] - append[1], total["server"] - append[2]]
    print(f"{'validation and the rest':30} {rest[0]:6.2f} {rest[1]:6.2f} {rest[2]:6.2f}")


if __name__ == "__main__":
    main()
