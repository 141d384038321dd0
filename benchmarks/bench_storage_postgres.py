"""PostgreSQL storage: ingest with random UUID event ids and scans, against plain psycopg.

    python benchmarks/bench_storage_postgres.py --events 1_000_000 --batch 200_000 --rounds 3

The script starts a throw-away PostgreSQL server (``initdb`` + ``pg_ctl`` in a temporary
directory, PostgreSQL's crash-safe defaults: ``fsync``, ``full_page_writes`` and
``synchronous_commit`` on), generates the interactions once with the SQLite benchmark's
``make`` (random UUID4 event ids unless ``--ids`` says otherwise, 100k customers, 200
touchpoints, half the amounts missing) and runs each contender in its own fresh
process, on its own fresh tables, interleaved: round 1 runs touchpoint,
then the peers; round 2 the peers first; and so on. It reports the best of the rounds
for each step, with each process's peak RSS and the machine's load average around
each run. Contenders:

- **touchpoint**: ``Workspace.record_batch`` on a dict of numpy arrays (validation,
  dimension ids, then new data by one binary ``COPY`` straight into the event table, or
  for a batch with stored ids a binary ``COPY`` of the ids and value digests, matched
  against the stored rows' digests, and the rest through a staging table and one
  ``INSERT ... ON CONFLICT DO NOTHING``), then the same batches again (all duplicates), then
  ``Workspace.interactions()`` (binary ``COPY`` into numpy columns), first and best of 3;
  the validation alone is timed too, to show the split;
- **psycopg executemany**: the rows as tuples into one ordinary 14-column table with a
  ``TEXT`` primary key, ``executemany`` of ``INSERT ... ON CONFLICT (event_id) DO
  NOTHING``, one transaction per batch (psycopg 3 pipelines it), tuples built from the
  columns included; then the same batches again; then ``SELECT *`` + ``fetchall`` +
  numpy columns;
- **psycopg COPY**: the same table, ``COPY ... FROM STDIN`` with ``write_row`` per row:
  the fastest way plain psycopg loads rows, but not idempotent (a repeated id aborts the
  batch), so it has no second pass: the floor for any ingest that keeps a primary key.

``--server-candidates`` instead measures server-side ways in for the same rows (already
coded as integers, numpy-built binary ``COPY``; client and server CPU per million
events, batches interleaved): ``COPY`` into a ``TEMP`` staging table then ``INSERT ...
SELECT ... ON CONFLICT`` into a TEXT primary key; the same with an ``UNLOGGED`` staging
table and an anti-join; a ``bigint`` 64-bit hash key as the primary key instead of the
text id; binary ``COPY`` straight into the TEXT-keyed table (touchpoint's path for new
data); and the staging ``COPY`` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# the same interactions, id shapes and customer skews as the SQLite benchmark
from bench_storage_sqlite import NAMES, make  # noqa: E402

PLAIN_TABLE = (
    "CREATE TABLE events (event_id TEXT PRIMARY KEY, customer TEXT, touchpoint TEXT, "
    "channel TEXT, time BIGINT, direction TEXT, amount DOUBLE PRECISION, "
    "rating DOUBLE PRECISION, response_time DOUBLE PRECISION, outcome TEXT, staff TEXT, "
    "store TEXT, referrer TEXT, indicator TEXT)"
)


def save(cols: dict[str, np.ndarray], path: Path) -> None:
    """Columns to an ``.npz`` without pickles (text as fixed-width unicode, None as '')."""
    out = {}
    for k, v in cols.items():
        if v.dtype == object:
            out[k] = np.where(v == None, "", v).astype("U")  # noqa: E711 - elementwise
            out[k + ".null"] = v == None  # noqa: E711
        else:
            out[k] = v
    np.savez(path, **out)


def load(path: Path) -> dict[str, np.ndarray]:
    data = np.load(path)
    cols = {}
    for k in NAMES:
        v = data[k]
        if v.dtype.kind == "U":
            obj = v.astype(object)
            obj[data[k + ".null"]] = None
            v = obj
        cols[k] = v
    return cols


def slices(cols: dict[str, np.ndarray], size: int) -> list[dict[str, np.ndarray]]:
    n = len(cols["event_id"])
    return [{k: v[s : s + size] for k, v in cols.items()} for s in range(0, n, size)]


def rows_of(cols: dict[str, np.ndarray]) -> list[tuple]:
    """Columns to row tuples as a user of plain psycopg would (times as integer microseconds)."""
    lists = []
    for k in NAMES:
        v = cols[k]
        if v.dtype.kind == "M":
            v = v.astype(np.int64)
        if v.dtype.kind == "f":
            lists.append([None if x != x else x for x in v.tolist()])
        else:
            lists.append(v.tolist())
    return list(zip(*lists, strict=True))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def backend(con) -> int:
    return int(con.execute("SELECT pg_backend_pid()").fetchone()[0])


def server_cpu(pid: int) -> float:
    """CPU seconds of a server backend (from /proc; NaN where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(fn, pid: int, out: dict, key: str):
    """Run ``fn``; record its wall time, this process's CPU and the server backend's CPU."""
    c, s = client_cpu(), server_cpu(pid)
    result, wall = timed(fn)
    out[key] = wall
    out[key + "_cpu"] = client_cpu() - c
    out[key + "_srv"] = server_cpu(pid) - s
    return result


# ---------------------------------------------------------------------- contenders


def run_touchpoint(url: str, schema: str, parts: list[dict[str, np.ndarray]]) -> dict[str, float]:
    from touchpoint.schema import validate_columns
    from touchpoint.storage.postgres import PostgresStorage
    from touchpoint.workspace import Workspace

    warm = PostgresStorage(url, schema=f"warm_{schema}")
    Workspace(warm).record_batch({k: v[:1000] for k, v in make(1000, seed=9).items()})
    warm.close()  # imports, first connection, first COPY: once per process
    _, s_validate = timed(lambda: [validate_columns(p) for p in parts])
    ws = Workspace(PostgresStorage(url, schema=schema))
    pid = backend(ws.storage._con)
    out: dict[str, float] = {"validate": s_validate}
    n = sum(len(p["event_id"]) for p in parts)
    reports = measured(lambda: [ws.record_batch(p) for p in parts], pid, out, "ingest")
    assert sum(r.accepted for r in reports) == n, "not every event was accepted"
    again = measured(lambda: [ws.record_batch(p) for p in parts], pid, out, "again")
    assert sum(r.duplicates for r in again) == n and ws.storage.count() == n
    frame = measured(ws.interactions, pid, out, "scan")
    assert len(frame) == n
    del frame
    best: dict[str, float] = {}
    for _ in range(3):  # best of 3 more scans
        trial: dict[str, float] = {}
        measured(ws.interactions, pid, trial, "scan_best")
        if not best or trial["scan_best"] < best["scan_best"]:
            best = trial
    out.update(best)
    ws.close()
    return out


def plain_connection(url: str, schema: str):
    import psycopg

    con = psycopg.connect(url)
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"SET search_path TO {schema}")
    return con


def run_executemany(url: str, schema: str, parts: list[dict[str, np.ndarray]]) -> dict[str, float]:
    sql = f"INSERT INTO events VALUES ({', '.join(['%s'] * 14)}) ON CONFLICT (event_id) DO NOTHING"
    out: dict[str, float] = {}
    with plain_connection(url, schema) as con:
        con.execute(PLAIN_TABLE)
        con.commit()
        pid = backend(con)

        def ingest() -> None:
            for p in parts:
                rows = rows_of(p)
                with con.cursor() as cur:
                    cur.executemany(sql, rows)
                con.commit()

        measured(ingest, pid, out, "ingest")
        measured(ingest, pid, out, "again")
        n = sum(len(p["event_id"]) for p in parts)
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == n

        def scan() -> dict[str, np.ndarray]:
            rows = con.execute("SELECT * FROM events").fetchall()
            columns = list(zip(*rows, strict=True))
            cols = {}
            for k, values in zip(NAMES, columns, strict=True):
                if k == "time":
                    cols[k] = np.array(values, dtype=np.int64).view("datetime64[us]")
                elif k in ("amount", "rating", "response_time"):
                    cols[k] = np.array(values, dtype=float)
                else:
                    cols[k] = np.array(values, dtype=object)
            return cols

        frame = measured(scan, pid, out, "scan")
        assert len(frame["event_id"]) == n
        del frame
        con.rollback()
    return out


def run_copy(url: str, schema: str, parts: list[dict[str, np.ndarray]]) -> dict[str, float]:
    out: dict[str, float] = {}
    with plain_connection(url, schema) as con:
        con.execute(PLAIN_TABLE)
        con.commit()
        pid = backend(con)

        def ingest() -> None:
            for p in parts:
                rows = rows_of(p)
                with con.cursor().copy(f"COPY events ({', '.join(NAMES)}) FROM STDIN") as copy:
                    for row in rows:  # what a user of plain psycopg writes
                        copy.write_row(row)
                con.commit()

        measured(ingest, pid, out, "ingest")
    return out


CONTENDERS = {
    "touchpoint": run_touchpoint,
    "psycopg executemany": run_executemany,
    "psycopg COPY": run_copy,
}


def child(name: str, url: str, schema: str, data: str, batch: int) -> None:
    cols = load(Path(data))
    parts = slices(cols, batch)
    base = rss_mib()
    load0 = os.getloadavg()[0]
    result = CONTENDERS[name](url, schema, parts)
    result.update(rss=rss_mib(), rss_base=base, load=[load0, os.getloadavg()[0]])
    print(json.dumps(result))


# ---------------------------------------------------------------------- server side


def server_candidates(url: str, cols: dict[str, np.ndarray], size: int) -> None:
    """Server-side ways in, on plain tables, batches interleaved (see the module docstring)."""
    import psycopg

    from touchpoint.storage._postgres_copy import copy_parts
    from touchpoint.storage._sqlite_keys import event_keys

    n = len(cols["event_id"])
    ids = np.asarray(cols["event_id"]).astype("S")
    keys = event_keys(ids)
    rng = np.random.default_rng(0)
    ints = [rng.integers(0, 1000, n).astype(">i4") for _ in range(8)]  # dictionary ids
    tm = (cols["time"].astype(np.int64) - 946_684_800_000_000).astype(">i8")
    dr = rng.integers(0, 2, n).astype(">i2")
    fl = [rng.random(n).astype(">f8") for _ in range(3)]
    con = psycopg.connect(url)
    con.execute("CREATE SCHEMA cand")
    con.execute("SET search_path TO cand")
    pid = backend(con)
    spec = ", ".join(f"c{i} integer" for i in range(8))
    spec += ", time timestamptz, direction smallint, a float8, r float8, rt float8"
    names = ", ".join(f"c{i}" for i in range(8)) + ", time, direction, a, r, rt"
    con.execute(
        f'CREATE TEMP TABLE stage (pos integer, key bigint, event_id text COLLATE "C", {spec}) '
        "ON COMMIT DELETE ROWS"
    )
    con.execute(
        f'CREATE UNLOGGED TABLE ustage (pos integer, key bigint, event_id text COLLATE "C", {spec})'
    )
    for table in ("t_text", "t_anti", "t_copy"):
        con.execute(f'CREATE TABLE {table} (event_id text COLLATE "C" PRIMARY KEY, {spec})')
    con.execute(f'CREATE TABLE t_key (key bigint PRIMARY KEY, event_id text COLLATE "C", {spec})')
    con.commit()
    spent: dict[str, list[float]] = {}

    def measure(label: str, fn: Any) -> None:
        c, s = client_cpu(), server_cpu(pid)
        fn()
        con.commit()
        got = spent.setdefault(label, [0.0, 0.0])
        got[0] += client_cpu() - c
        got[1] += server_cpu(pid) - s

    for again in (False, True):
        for start in range(0, n, size):  # interleaved: one batch of each way in turn
            sl = slice(start, start + size)
            by_id = np.argsort(ids[sl], kind="stable")
            by_key = np.argsort(keys[sl], kind="stable")

            def fields(order: np.ndarray, sl: slice = sl) -> list[np.ndarray]:
                out = [np.arange(len(order), dtype=">i4"), keys[sl][order].astype(">i8")]
                out += [ids[sl][order], *(x[sl][order] for x in ints), tm[sl][order]]
                return [*out, dr[sl][order], *(x[sl][order] for x in fl)]

            def copy(table: str, columns: list[np.ndarray]) -> None:
                with con.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as cp:
                    for part in copy_parts(columns):
                        cp.write(part)

            tag = "again: " if again else ""
            measure(
                tag + "TEMP stage + INSERT ... ON CONFLICT, TEXT primary key",
                lambda by_id=by_id, fields=fields, copy=copy: (
                    copy("stage", fields(by_id)),
                    con.execute(
                        f"INSERT INTO t_text SELECT event_id, {names} FROM stage ORDER BY pos "
                        "ON CONFLICT (event_id) DO NOTHING"
                    ),
                ),
            )
            measure(
                tag + "UNLOGGED stage + anti-join INSERT, TEXT primary key",
                lambda by_id=by_id, fields=fields, copy=copy: (
                    con.execute("TRUNCATE ustage"),
                    copy("ustage", fields(by_id)),
                    con.execute(
                        f"INSERT INTO t_anti SELECT event_id, {names} FROM ustage s WHERE NOT "
                        "EXISTS (SELECT 1 FROM t_anti e WHERE e.event_id = s.event_id) "
                        "ORDER BY pos ON CONFLICT DO NOTHING"
                    ),
                ),
            )
            measure(
                tag + "TEMP stage + INSERT ... ON CONFLICT, bigint hash key",
                lambda by_key=by_key, fields=fields, copy=copy: (
                    copy("stage", fields(by_key)),
                    con.execute(
                        f"INSERT INTO t_key SELECT key, event_id, {names} FROM stage "
                        "ORDER BY pos ON CONFLICT (key) DO NOTHING"
                    ),
                ),
            )
            if not again:  # a plain COPY fails on a stored id: no second pass
                measure(
                    "binary COPY straight into the TEXT-keyed table",
                    lambda by_id=by_id, fields=fields, copy=copy: copy("t_copy", fields(by_id)[2:]),
                )
            measure(
                tag + "TEMP stage COPY alone",
                lambda by_id=by_id, fields=fields, copy=copy: copy("stage", fields(by_id)),
            )
    con.close()
    print(f"\n{'server-side way in (per million events)':62} {'client CPU':>10} {'server CPU':>10}")
    for label, (c, s) in spent.items():
        print(f"{label:62} {c * 1e6 / n:10.2f} {s * 1e6 / n:10.2f}")


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--batch", type=lambda s: int(s.replace("_", "")), default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ids", choices=("uuid4", "sequential", "codes"), default="uuid4")
    parser.add_argument("--customers", choices=("uniform", "skewed"), default="uniform")
    parser.add_argument("--only", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--server-candidates", action="store_true")
    parser.add_argument("--child", nargs=5, metavar=("NAME", "URL", "SCHEMA", "DATA", "BATCH"))
    args = parser.parse_args()
    if args.child:
        name, url, schema, data, batch = args.child
        child(name, url, schema, data, int(batch))
        return

    from touchpoint.storage._postgres_server import TemporaryServer

    n = args.events
    with tempfile.TemporaryDirectory() as tmp, TemporaryServer(durable=True) as server:
        data = Path(tmp) / "events.npz"
        save(make(n, ids=args.ids, customers=args.customers), data)
        version = server.psql("SHOW server_version")
        settings = {
            k: server.psql(f"SHOW {k}").strip()
            for k in (
                "shared_buffers",
                "max_wal_size",
                "fsync",
                "synchronous_commit",
                "full_page_writes",
            )
        }
        server.psql("CREATE DATABASE bench")
        if args.server_candidates:
            print(f"{n:,} events, batches of {args.batch:,}; load average {os.getloadavg()[0]:.1f}")
            server_candidates(
                server.url("bench"), make(n, ids=args.ids, customers=args.customers), args.batch
            )
            print(f"load average after: {os.getloadavg()[0]:.1f}")
            return
        results: dict[str, list[dict]] = {k: [] for k in args.only}
        for r in range(args.rounds):  # interleaved: the order turns every round
            order = list(args.only) if r % 2 == 0 else list(reversed(args.only))
            for i, name in enumerate(order):
                schema = f"run{r}_{i}"
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        name,
                        server.url("bench"),
                        schema,
                        str(data),
                        str(args.batch),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode:
                    raise SystemExit(f"{name} failed:\n{out.stderr}")
                results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"round {r + 1} {name}: {results[name][-1]}", flush=True)
                server.psql("CHECKPOINT")

    print()
    print(
        f"{n:,} events ({args.ids} ids, {args.customers} customers), batches of {args.batch:,}, best of {args.rounds} "
        f"interleaved rounds; PostgreSQL {version.strip()} ({', '.join(f'{k}={v}' for k, v in settings.items())}); "
        f"psycopg {__import__('psycopg').__version__}; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    loads = [x for rs in results.values() for r in rs for x in r["load"]]
    print(f"load average (1 min) during the runs: {min(loads):.1f} to {max(loads):.1f}")
    print(
        "seconds and events/s: wall clock, best of the rounds; CPU: seconds of this client "
        "process and of its server backend in that run; RSS: the process's peak, above the "
        "input it loaded"
    )
    head = f"{'contender / step':52} {'seconds':>8} {'events/s':>10} {'client CPU':>10} {'server CPU':>10} {'RSS MiB':>8}"
    print(head)
    best: dict[tuple[str, str], float] = {}
    labels = {
        "ingest": "ingest",
        "validate": "  of which validation (record_batch's own step)",
        "again": "same batches again (all duplicates)",
        "scan": "scan to numpy columns, first",
        "scan_best": "scan, best of 3 more",
    }
    for name, rs in results.items():
        rss = max(r["rss"] - r["rss_base"] for r in rs)
        for key, label in labels.items():
            if key not in rs[0]:
                continue
            run = min(rs, key=lambda r, key=key: r[key])
            best[name, key] = run[key]
            cpu = (
                f"{run[key + '_cpu']:10.2f} {run[key + '_srv']:10.2f}"
                if key + "_cpu" in run
                else " " * 21
            )
            print(
                f"{name + ': ' + label:52} {run[key]:8.2f} {n / run[key]:10,.0f} {cpu} {rss:8.0f}"
            )
    if ("touchpoint", "ingest") in best and ("psycopg executemany", "ingest") in best:
        tp, ex = best["touchpoint", "ingest"], best["psycopg executemany", "ingest"]
        print(f"ingest ratio touchpoint / psycopg executemany: {ex / tp:.2f}x")
        print(
            f"again / first (touchpoint): {best['touchpoint', 'again'] / tp:.2f} "
            "(below 1: the duplicate pass is faster)"
        )
    if ("touchpoint", "ingest") in best and ("psycopg COPY", "ingest") in best:
        print(
            f"touchpoint ingest / plain COPY time: {best['touchpoint', 'ingest'] / best['psycopg COPY', 'ingest']:.2f}"
        )


if __name__ == "__main__":
    main()
