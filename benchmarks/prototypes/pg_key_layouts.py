"""What the event table's key costs PostgreSQL on a binary ``COPY`` of new rows.

    python benchmarks/prototypes/pg_key_layouts.py [events] [batch] [rounds]

Starts a throw-away PostgreSQL server with its crash-safe defaults (``fsync``,
``full_page_writes``, ``synchronous_commit`` on, ``shared_buffers`` 128MB), makes
``events`` UUID4 events (1M by default) with the storage benchmark's ``make`` and sends
them, batches of ``batch`` (200k) in one transaction each, by one binary ``COPY`` each
(built with numpy as the storage builds it) into tables that differ only in their key:

- ``text pk``: the storage's ``event`` table as it is (schema version 2): ``event_id
  text COLLATE "C" PRIMARY KEY``, rows in event-id order;
- ``bigint key``: a 64-bit hash of the id (``_sqlite_keys.event_keys``) as the primary
  key and the id as a plain column, rows in key order;
- ``uuid pk``: the id as PostgreSQL's 16-byte ``uuid`` type (only UUID ids fit);
- ``no key``: the heap alone (the floor of any row table).

Tables are filled side by side, one batch of each in turn (the order turning each
batch), each in its own fresh table, ``rounds`` times. Reported per million events:
wall seconds, the server backend's CPU (user + system, from ``/proc``), and the WAL
bytes written (``pg_current_wal_lsn`` before and after), best of the rounds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_postgres import backend, make, server_cpu  # puts this checkout's src first

from touchpoint.storage._postgres_copy import copy_chunks
from touchpoint.storage._postgres_server import TemporaryServer
from touchpoint.storage._sqlite_keys import event_keys

PG_EPOCH_US = 946_684_800_000_000
COLUMNS = (
    "customer integer, touchpoint integer, channel integer, outcome integer, staff integer, "
    "store integer, referrer integer, indicator integer, time timestamptz NOT NULL, "
    "direction smallint NOT NULL, amount double precision, rating double precision, "
    "response_time double precision, batch bigint NOT NULL, digest bigint"
)
LAYOUTS = {
    "text pk": f'CREATE TABLE {{t}} (event_id text COLLATE "C" PRIMARY KEY, {COLUMNS})',
    "bigint key": f'CREATE TABLE {{t}} (key bigint PRIMARY KEY, event_id text COLLATE "C" NOT NULL, {COLUMNS})',
    "uuid pk": f"CREATE TABLE {{t}} (event_id uuid PRIMARY KEY, {COLUMNS})",
    "no key": f'CREATE TABLE {{t}} (event_id text COLLATE "C" NOT NULL, {COLUMNS})',
}


def fields(cols: dict[str, np.ndarray], ids: np.ndarray, layout: str) -> tuple[list, list]:
    """(columns, nulls) of a batch as the storage sends them, in the layout's key order."""
    n = len(ids)
    rng = np.random.default_rng(n)
    keys = event_keys(ids)
    order = np.argsort(keys if layout == "bigint key" else ids, kind="stable")
    head: list[np.ndarray] = []
    if layout == "bigint key":
        head = [keys[order].astype(">i8"), ids[order]]
    elif layout == "uuid pk":
        raw = np.frombuffer(
            bytes.fromhex("".join(np.char.decode(ids[order], "ascii").tolist()).replace("-", "")),
            dtype="V16",  # fixed width: "S" would drop trailing zero bytes
        )
        head = [raw]
    else:
        head = [ids[order]]
    codes = [rng.integers(1, 1000, n).astype(">i4") for _ in range(8)]
    time_ = (cols["time"][:n].astype(np.int64) - PG_EPOCH_US).astype(">i8")
    floats = [rng.random(n).astype(">f8") for _ in range(3)]
    body = [*codes, time_, rng.integers(0, 2, n).astype(">i2"), *floats]
    body += [np.full(n, 1, dtype=">i8"), rng.integers(-(2**62), 2**62, n).astype(">i8")]
    missing = np.isnan(np.asarray(cols["amount"][:n], dtype=np.float64))  # half the amounts
    nulls = [None] * (len(head) + 10) + [missing] + [None] * 4
    return head + body, nulls


def wal(con) -> int:
    return int(con.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


def main() -> None:
    import psycopg

    events = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    size = int(float(sys.argv[2])) if len(sys.argv) > 2 else 200_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    cols = make(events)
    ids = np.asarray(cols["event_id"]).astype("S")
    names = list(LAYOUTS)
    best: dict[str, list[float]] = {}
    with TemporaryServer(durable=True) as server:
        server.psql("CREATE DATABASE bench")
        for r in range(rounds):
            con = psycopg.connect(server.url("bench"), autocommit=False)
            pid = backend(con)
            tables = {name: f"t{r}_{i}" for i, name in enumerate(names)}
            for name, table in tables.items():
                con.execute(LAYOUTS[name].format(t=table))
            con.commit()
            spent = {name: [0.0, 0.0, 0.0] for name in names}
            for b, start in enumerate(range(0, events, size)):
                part = {k: v[start : start + size] for k, v in cols.items()}
                turn = names[b % len(names) :] + names[: b % len(names)]
                for name in turn:  # one batch of each layout in turn
                    columns, nulls = fields(part, ids[start : start + size], name)
                    w, s, t = wal(con), server_cpu(pid), time.perf_counter()
                    with con.cursor().copy(f"COPY {tables[name]} FROM STDIN (FORMAT BINARY)") as cp:
                        for piece in copy_chunks(columns, nulls):
                            cp.write(piece)
                    con.commit()
                    got = spent[name]
                    got[0] += time.perf_counter() - t
                    got[1] += server_cpu(pid) - s
                    got[2] += wal(con) - w
            con.close()
            server.psql("CHECKPOINT")
            for name, (wall, cpu, bytes_) in spent.items():
                print(
                    f"round {r + 1} {name:12} wall {wall:6.2f} server {cpu:5.2f} WAL {bytes_ / 2**20:6.0f} MiB",
                    flush=True,
                )
                prior = best.setdefault(name, [wall, cpu, bytes_])
                best[name] = [min(prior[0], wall), min(prior[1], cpu), min(prior[2], bytes_)]
    print(f"\n{events:,} UUID4 events, batches of {size:,}, best of {rounds}; per million events:")
    print(f"{'layout':12} {'wall s':>7} {'server CPU s':>12} {'WAL MiB':>8}")
    for name, (wall, cpu, bytes_) in best.items():
        k = 1e6 / events
        print(f"{name:12} {wall * k:7.2f} {cpu * k:12.2f} {bytes_ * k / 2**20:8.0f}")


if __name__ == "__main__":
    main()
