"""SQLite storage: idempotent ingest with real event ids and scans, next to plain sqlite3.

    python benchmarks/bench_storage_sqlite.py --events 1_000_000 --batch 200_000
    python benchmarks/bench_storage_sqlite.py --ids sequential --customers skewed
    python benchmarks/bench_storage_sqlite.py --part candidates
    git archive 306fe4c src | tar -x -C /tmp/v3 && \\
        python benchmarks/bench_storage_sqlite.py --baseline-src /tmp/v3/src

Every contender runs in its own process on the same generated events (loaded from a
file, not timed), in rounds: one run of each contender per round, ``--repeat`` rounds,
so that a change in the machine's load hits all of them alike; each figure is the best
of the rounds. Peak memory is the process's peak resident set above its size once the
events are loaded (``VmHWM - VmRSS``, after resetting the peak through
``/proc/self/clear_refs``). The load average is printed before and after.

``--part ingest`` (with ``scan``, the default ``all``):

- ``touchpoint``: ``Workspace.record_batch`` of the columns (numpy arrays) in batches of
  ``--batch`` (validation + storage), then the same batches again (all duplicates); a
  scan to an `EventFrame` in a fresh process (first scan) and the best of three more;
  ``select count(*) from interactions`` and ``select * from interactions`` fetched into
  numpy columns through plain sqlite3 on the same file;
- ``plain rowid`` and ``plain without rowid``: the same rows as tuples into a 14-column
  table whose primary key is ``event_id TEXT`` (an ordinary table, and ``WITHOUT ROWID``),
  ``executemany`` of ``INSERT ... ON CONFLICT (event_id) DO NOTHING``, one transaction
  per batch, WAL and ``synchronous=NORMAL`` like touchpoint; tuples built from the
  columns (timed apart and reported both ways); the same batches again; ``SELECT *`` into
  numpy columns;
- ``baseline v3`` (with ``--baseline-src``): the same as ``touchpoint`` with the code of
  an older checkout (schema version 3: column blocks and an event-id key table).

``--part stages``: where one ``record_batch`` of ``--batch`` events goes, stage by stage
(CPU seconds of the process, wall seconds beside): validation and coding in Python, the
64-bit key hashing, the dictionary ids, the ``event`` insert (tuples and
``executemany``, key index included), the scan-cache write and the commit; then the
same batch again (all duplicates).

``--part scan``: the events stored once, then ``--repeat`` rounds of a scan in a fresh
process (first scan, then the best of three more), with ``--baseline-src`` alternating
with an older checkout's code on the same file (same schema); median and best of the
first scans, CPU and wall, and peak memory.

``--part candidates``: the storage layouts the issue names, on plain tables in one
process (rows built outside the timing), batches interleaved: a TEXT primary key
(rowid table, ``WITHOUT ROWID``, batch sorted by key or not), larger pages and cache,
a 64-bit key with a unique index (batch sorted by key or not), the 64-bit key as the
table's ``INTEGER PRIMARY KEY`` (rowid = key, no separate index), the rows without any
key (the cost of the row insert alone), rows moved in through ``json_each`` (one JSON
text per batch instead of a tuple per row), and ``synchronous=FULL``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

T0 = np.datetime64("2026-01-01", "us")
NAMES = (
    "event_id",
    "customer",
    "touchpoint",
    "channel",
    "time",
    "direction",
    "amount",
    "rating",
    "response_time",
    "outcome",
    "staff",
    "store",
    "referrer",
    "indicator",
)
FLOAT_NAMES = ("amount", "rating", "response_time")
MiB = 2**20


# --------------------------------------------------------------------------- data


def make(n: int, *, ids: str = "uuid4", customers: str = "uniform", seed: int = 0) -> dict:
    """``n`` interactions: 10 per customer on average, 200 touchpoints, half the amounts missing.

    ``ids``: ``uuid4`` (random UUIDs, as real systems produce them), ``sequential``
    (``ev000000001``... in arrival order) or ``codes`` (``E0001234``... in random order).
    ``customers``: ``uniform`` or ``skewed`` (Zipf, exponent 1.2: a few customers with
    most of the events).
    """
    rng = np.random.default_rng(seed)
    ncust = max(n // 10, 1)
    cust_ids = np.array([f"C{i:07d}" for i in range(ncust)], dtype=object)
    skewed = customers == "skewed"
    who = (rng.zipf(1.2, n) - 1) % ncust if skewed else rng.integers(0, ncust, n)
    if ids == "uuid4":
        raw = rng.bytes(16 * n)
        event_id = np.array(
            [str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)) for i in range(n)],
            dtype=object,
        )
    elif ids == "sequential":
        event_id = np.array([f"ev{i:09d}" for i in range(n)], dtype=object)
    else:
        event_id = np.array([f"E{i:07d}" for i in rng.permutation(n)], dtype=object)
    amount = np.round(rng.gamma(2.0, 150.0, n), 2)
    amount[rng.random(n) < 0.5] = np.nan
    return {
        "event_id": event_id,
        "customer": cust_ids[who],
        "touchpoint": np.array([f"A{i:03d}" for i in range(200)], dtype=object)[
            rng.integers(0, 200, n)
        ],
        "channel": np.array(["store", "phone", "email", "app"], dtype=object)[
            rng.integers(0, 4, n)
        ],
        "time": T0 + rng.integers(0, 365 * 86_400_000_000, n).astype("timedelta64[us]"),
        "direction": np.array(["inbound", "outbound"], dtype=object)[rng.integers(0, 2, n)],
        "amount": amount,
        "rating": np.where(rng.random(n) < 0.3, rng.integers(1, 6, n), np.nan).astype(float),
        "response_time": np.full(n, np.nan),
        "outcome": np.array(["purchase", "visit", None], dtype=object)[rng.integers(0, 3, n)],
        "staff": np.array([f"S{i}" for i in range(50)], dtype=object)[rng.integers(0, 50, n)],
        "store": np.array([f"shop{i}" for i in range(20)], dtype=object)[rng.integers(0, 20, n)],
        "referrer": np.full(n, None, dtype=object),
        "indicator": np.full(n, None, dtype=object),
    }


def save(cols: dict, path: Path) -> None:
    np.savez(path, **{k: np.asarray(v) for k, v in cols.items()})


def load(path: Path) -> dict:
    with np.load(path, allow_pickle=True) as data:
        return {k: data[k] for k in data.files}


def batches(cols: dict, size: int) -> list[dict]:
    n = len(cols["event_id"])
    return [{k: v[s : s + size] for k, v in cols.items()} for s in range(0, n, size)]


# --------------------------------------------------------------------------- measuring


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Peak:
    """Peak RSS above the size at ``start()`` (MiB), across steps."""

    def start(self) -> None:
        self.base = _status_kib("VmRSS")
        with contextlib.suppress(OSError):  # resets the kernel's peak RSS (Linux)
            Path("/proc/self/clear_refs").write_text("5")

    def mib(self) -> float:
        return (_status_kib("VmHWM") - self.base) / 1024


def timed(fn: Any) -> tuple[Any, float]:
    """``fn()`` and its wall time; its CPU time (user + system) goes to `CPU`."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    CPU.append(time.process_time() - c)
    return out, time.perf_counter() - t


#: CPU seconds of the `timed` calls of this process, in order (a shared machine's load
#: stretches wall time; the CPU time a contender needs moves much less).
CPU: list[float] = []


# --------------------------------------------------------------------------- plain sqlite3


def plain_table(path: Path, *, without_rowid: bool) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute(
        "CREATE TABLE events (event_id TEXT PRIMARY KEY, customer TEXT, touchpoint TEXT, "
        "channel TEXT, time INTEGER, direction TEXT, amount REAL, rating REAL, "
        "response_time REAL, outcome TEXT, staff TEXT, store TEXT, referrer TEXT, "
        "indicator TEXT)" + (" WITHOUT ROWID" if without_rowid else "")
    )
    return con


def rows_of(cols: dict) -> list[tuple]:
    """Columns to row tuples as a user of plain sqlite3 would (times as integer microseconds)."""
    lists = []
    for k in NAMES:
        v = cols[k]
        if v.dtype.kind == "M":
            v = v.astype("datetime64[us]").astype(np.int64)
        lists.append(v.tolist())  # NaN binds as NULL
    return list(zip(*lists, strict=True))


def plain_insert(con: sqlite3.Connection, rows: list[tuple]) -> int:
    before = con.total_changes
    con.execute("BEGIN IMMEDIATE")
    con.executemany(
        f"INSERT INTO events VALUES ({', '.join('?' * 14)}) ON CONFLICT (event_id) DO NOTHING",
        rows,
    )
    con.execute("COMMIT")
    return con.total_changes - before


def select_columns(con: sqlite3.Connection, sql: str) -> dict[str, np.ndarray]:
    """``SELECT`` into numpy columns, as a user of plain sqlite3 would."""
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    columns = list(zip(*cur.fetchall(), strict=True))
    out = {}
    for k, values in zip(names, columns, strict=True):
        if k in ("time", "time_us") and isinstance(values[0], int):
            out[k] = np.array(values, dtype=np.int64).view("datetime64[us]")
        elif k in FLOAT_NAMES:
            out[k] = np.array(values, dtype=float)
        else:
            out[k] = np.array(values, dtype=object)
    return out


# --------------------------------------------------------------------------- workers


def worker_touchpoint(data: Path, db: Path, size: int) -> dict:
    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.workspace import Workspace

    cols = load(data)
    n = len(cols["event_id"])
    parts = batches(cols, size)
    # warm-up: the first batch of a process imports pandas (string factorizing)
    Workspace(SqliteStorage(str(db) + ".warm")).record_batch(batches(cols, 1000)[0])
    peak = Peak()
    peak.start()
    ws = Workspace(SqliteStorage(str(db)))
    reports, first = timed(lambda: [ws.record_batch(p) for p in parts])
    assert sum(r.accepted for r in reports) == n, "not every event was stored"
    mem_first = peak.mib()
    peak.start()
    again, dup = timed(lambda: [ws.record_batch(p) for p in parts])
    assert sum(r.duplicates for r in again) == n and ws.storage.count() == n
    out = {"ingest": first, "again": dup, "mem_ingest": mem_first, "mem_again": peak.mib()}
    out["cpu_ingest"], out["cpu_again"] = CPU[-2:]
    out["version"] = getattr(ws.storage, "schema_version", 3)
    ws.close()
    out["file_mib"] = db.stat().st_size / MiB
    return out


def worker_scan(db: Path) -> dict:
    from touchpoint.storage.sqlite import SqliteStorage

    store = SqliteStorage(str(db))
    peak = Peak()
    peak.start()
    frame, first = timed(store.scan)
    cpu_first = CPU[-1]
    n = len(frame)
    del frame
    mem = peak.mib()
    best = min(timed(store.scan)[1] for _ in range(3))
    out = {"scan_first": first, "scan_best": best, "mem_scan": mem, "rows": n}
    out["cpu_scan_first"], out["cpu_scan_best"] = cpu_first, min(CPU[-3:])
    store.close()
    return out


def worker_migrate(db: Path) -> dict:
    """Open a file of an older schema with the current code: the in-place migration."""
    from touchpoint.storage.sqlite import SqliteStorage

    peak = Peak()
    peak.start()
    store, seconds = timed(lambda: SqliteStorage(str(db)))
    out = {"migrate": seconds, "mem_migrate": peak.mib(), "migrated_rows": store.count()}
    out["migrated_version"] = store.schema_version
    store.close()
    return out


def worker_sql(db: Path) -> dict:
    """Plain sqlite3 on touchpoint's file: the interactions view, as a SQL user reads it."""
    con = sqlite3.connect(db)
    (count,), seconds = timed(lambda: con.execute("SELECT count(*) FROM interactions").fetchone())
    peak = Peak()
    peak.start()
    cols, select = timed(lambda: select_columns(con, "SELECT * FROM interactions"))
    assert len(cols["event_id"]) == count
    return {"count": seconds, "select": select, "mem_select": peak.mib(), "rows": count}


def worker_plain(data: Path, db: Path, size: int, without_rowid: bool) -> dict:
    cols = load(data)
    n = len(cols["event_id"])
    parts = batches(cols, size)
    peak = Peak()
    peak.start()
    con = plain_table(db, without_rowid=without_rowid)
    ready, build = timed(lambda: [rows_of(p) for p in parts])
    stored, first = timed(lambda: sum([plain_insert(con, r) for r in ready]))
    cpu_build, cpu_first = CPU[-2:]
    assert stored == n
    mem = peak.mib()
    ready.clear()  # free the tuples before the next step
    peak.start()
    again, dup = timed(lambda: sum(plain_insert(con, rows_of(p)) for p in parts))
    assert again == 0
    out = {
        "build": build,
        "ingest": first,
        "again": dup,
        "cpu_build": cpu_build,
        "cpu_ingest": cpu_first,
        "cpu_again": CPU[-1],
        "mem_ingest": mem,
        "mem_again": peak.mib(),
        "file_mib": db.stat().st_size / MiB,
    }
    peak.start()
    got, out["scan_first"] = timed(lambda: select_columns(con, "SELECT * FROM events"))
    out["cpu_scan_first"] = CPU[-1]
    assert len(got["event_id"]) == n
    out["mem_scan"] = peak.mib()
    con.close()
    return out


def run_worker(kind: str, args: list[str], pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- candidates


def candidates(cols: dict, size: int, tmp: Path) -> list[tuple[str, float, float, float]]:
    """Plain-table layouts side by side, batches interleaved: (name, /s, /cpu-s, again /s)."""
    from touchpoint.storage._sqlite_keys import event_keys

    n = len(cols["event_id"])
    ids_b = np.asarray(cols["event_id"]).astype("S")
    keys = event_keys(ids_b)
    coded = {}
    for k in NAMES:
        v = cols[k]
        if v.dtype == object and k != "event_id":
            _, codes = np.unique(v.astype(str), return_inverse=True)
            coded[k] = np.where(v == None, -1, codes)  # noqa: E711 - elementwise
        elif v.dtype.kind == "M":
            coded[k] = v.astype("datetime64[us]").astype(np.int64)
        else:
            coded[k] = v

    def text_rows(sl: slice, order: np.ndarray | None) -> list[tuple]:
        part = {k: v[sl] for k, v in cols.items()}
        if order is not None:
            part = {k: v[order] for k, v in part.items()}
        return rows_of(part)

    def key_rows(sl: slice, order: np.ndarray | None, base: int) -> list[tuple]:
        idx = np.arange(sl.start, sl.stop)
        if order is not None:
            idx = idx[order]
        lists = [range(base, base + len(idx)), keys[idx].tolist()]
        for k in NAMES:
            v = coded[k][idx]
            if v.dtype == object or v.dtype.kind in "iu":
                v = np.where(np.asarray(v) == -1, None, v) if k != "event_id" else v
            lists.append(np.asarray(v).tolist())
        return list(zip(*lists, strict=True))

    def connect(name: str, page: int, cache: int | None, sync: str) -> sqlite3.Connection:
        con = sqlite3.connect(tmp / f"{name}.db", isolation_level=None)
        con.execute(f"PRAGMA page_size = {page}")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute(f"PRAGMA synchronous = {sync}")
        if cache:
            con.execute(f"PRAGMA cache_size = {-cache}")
        return con

    specs = [
        # name, layout, sorted, page, cache KiB, synchronous
        ("TEXT key, rowid table (plain)", "text", False, 4096, None, "NORMAL"),
        ("TEXT key, WITHOUT ROWID (plain)", "text_wr", False, 4096, None, "NORMAL"),
        ("TEXT key, WITHOUT ROWID, sorted batch", "text_wr", True, 4096, None, "NORMAL"),
        ("TEXT key, WITHOUT ROWID, 64 MiB cache", "text_wr", False, 4096, 65536, "NORMAL"),
        (
            "TEXT key, rowid, 32 KiB pages, 64 MiB cache, sorted",
            "text",
            True,
            32768,
            65536,
            "NORMAL",
        ),
        ("64-bit key index, unsorted", "key", False, 4096, None, "NORMAL"),
        ("64-bit key index, sorted", "key", True, 4096, None, "NORMAL"),
        (
            "64-bit key index, sorted, 32 KiB pages, 64 MiB cache",
            "key",
            True,
            32768,
            65536,
            "NORMAL",
        ),
        ("  same, synchronous=FULL", "key", True, 32768, 65536, "FULL"),
        (
            "64-bit key as INTEGER PRIMARY KEY, sorted, 32 KiB",
            "keypk",
            True,
            32768,
            65536,
            "NORMAL",
        ),
        ("  same, 8 KiB pages", "keypk", True, 8192, 65536, "NORMAL"),
        ("  same, 64 KiB pages", "keypk", True, 65536, 65536, "NORMAL"),
        ("  same, unsorted, 32 KiB pages", "keypk", False, 32768, 65536, "NORMAL"),
        ("rows with no key at all (the row insert alone)", "nokey", True, 32768, 65536, "NORMAL"),
        ("64-bit key index, sorted, rows via json_each", "json", True, 32768, 65536, "NORMAL"),
    ]
    cons = {}
    for name, layout, _, page, cache, sync in specs:
        con = connect(f"c{len(cons)}", page, cache, sync)
        if layout == "keypk":
            con.execute(
                "CREATE TABLE events (key INTEGER PRIMARY KEY, event_id TEXT, "
                "customer INTEGER, touchpoint INTEGER, channel INTEGER, time INTEGER, "
                "direction INTEGER, amount REAL, rating REAL, response_time REAL, "
                "outcome INTEGER, staff INTEGER, store INTEGER, referrer INTEGER, "
                "indicator INTEGER)"
            )
        elif layout in ("key", "nokey", "json"):
            con.execute(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, key INTEGER, event_id TEXT, "
                "customer INTEGER, touchpoint INTEGER, channel INTEGER, time INTEGER, "
                "direction INTEGER, amount REAL, rating REAL, response_time REAL, "
                "outcome INTEGER, staff INTEGER, store INTEGER, referrer INTEGER, "
                "indicator INTEGER)"
            )
            if layout != "nokey":
                con.execute("CREATE UNIQUE INDEX events_key ON events (key)")
        else:
            con.execute(
                "CREATE TABLE events (event_id TEXT PRIMARY KEY, customer TEXT, touchpoint TEXT, "
                "channel TEXT, time INTEGER, direction TEXT, amount REAL, rating REAL, "
                "response_time REAL, outcome TEXT, staff TEXT, store TEXT, referrer TEXT, "
                "indicator TEXT)" + (" WITHOUT ROWID" if layout == "text_wr" else "")
            )
        cons[name] = con
    totals = {name: [0.0, 0.0] for name, *_ in specs}
    cpu = {name: [0.0, 0.0] for name, *_ in specs}
    for again in (0, 1):
        base = {name: 1 for name in cons}
        for start in range(0, n, size):  # interleaved: one batch of each layout in turn
            sl = slice(start, min(start + size, n))
            for name, layout, is_sorted, *_ in specs:
                params: Any = None
                if layout in ("key", "keypk", "nokey", "json"):
                    order = np.argsort(keys[sl], kind="stable") if is_sorted else None
                    rows = key_rows(sl, order, base[name])
                    base[name] += len(rows)
                    width = 16
                    if layout == "keypk":
                        rows = [r[1:] for r in rows]
                        width = 15
                    sql = f"INSERT INTO events VALUES ({', '.join('?' * width)})"
                    sql += "" if layout == "nokey" else " ON CONFLICT DO NOTHING"
                    if layout == "nokey" and again:
                        continue  # no key: nothing to make the second pass idempotent
                    if layout == "json":  # one JSON text, read by SQLite's json_each
                        text = json.dumps(
                            [[None if v != v else v for v in r] for r in rows]  # NaN: null
                        )
                        picks = ", ".join(f"value ->> {j}" for j in range(16))
                        sql = (
                            f"INSERT INTO events SELECT {picks} FROM json_each(?) WHERE true "
                            "ON CONFLICT DO NOTHING"
                        )
                        params = (text,)
                else:
                    order = np.argsort(ids_b[sl], kind="stable") if is_sorted else None
                    rows = text_rows(sl, order)
                    sql = f"INSERT INTO events VALUES ({', '.join('?' * 14)}) ON CONFLICT (event_id) DO NOTHING"
                con = cons[name]
                t, c = time.perf_counter(), time.process_time()
                con.execute("BEGIN IMMEDIATE")
                if params is not None:
                    con.execute(sql, params)
                else:
                    con.executemany(sql, rows)
                con.execute("COMMIT")
                totals[name][again] += time.perf_counter() - t
                cpu[name][again] += time.process_time() - c
    out = []
    for name, *_ in specs:
        (count,) = cons[name].execute("SELECT count(*) FROM events").fetchone()
        assert count == n, (name, count)
        cons[name].close()
        again_rate = n / totals[name][1] if totals[name][1] else float("nan")
        out.append((name, n / totals[name][0], n / cpu[name][0], again_rate))
    return out


# --------------------------------------------------------------------------- stages


def stages(cols: dict, size: int, tmp: Path) -> list[tuple[str, float, float, float, float]]:
    """One ``record_batch`` of ``size`` events, then the same again: CPU and wall per stage.

    Each stage is a function of the storage code wrapped with a timer (process CPU time
    and wall time): (stage, first cpu, first wall, again cpu, again wall).
    """
    import functools

    import touchpoint.schema as schema
    from touchpoint.storage import _sqlite_append as appending
    from touchpoint.storage import sqlite as sqlite_mod
    from touchpoint.storage.sqlite import SqliteStorage
    from touchpoint.workspace import Workspace

    spent: dict[str, list[float]] = {}

    def wrap(module: Any, name: str, label: str) -> None:
        fn = getattr(module, name)

        @functools.wraps(fn)
        def timed_fn(*a: Any, **k: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                got = spent.setdefault(label, [0.0, 0.0])
                got[0] += time.process_time() - c
                got[1] += time.perf_counter() - t

        setattr(module, name, timed_fn)

    wrap(schema, "validate_columns", "validation and coding (Python, numpy)")
    wrap(appending, "event_keys", "64-bit key hashing")
    wrap(appending, "_suppressed_rows", "forgotten customers check")
    wrap(appending, "_stored_columns", "dictionary ids (json_each)")
    wrap(appending, "_holders", "stored-key lookups (duplicates)")
    wrap(appending, "_insert", "event insert: tuples + executemany + key index")
    wrap(appending, "cached_rows", "stored values of duplicates (scan cache)")
    wrap(appending, "_write_block", "scan-cache block write")
    wrap(appending, "append", "storage append, all")
    original = sqlite_mod.SqliteStorage._write

    @contextlib.contextmanager
    def write(self: Any) -> Any:
        with original(self) as con:
            yield con
            mark = (time.perf_counter(), time.process_time())
        got = spent.setdefault("commit (WAL, synchronous=NORMAL)", [0.0, 0.0])
        got[0] += time.process_time() - mark[1]
        got[1] += time.perf_counter() - mark[0]

    sqlite_mod.SqliteStorage._write = write  # type: ignore[method-assign]
    part = batches(cols, size)[0]
    Workspace(SqliteStorage(str(tmp / "warm.db"))).record_batch(batches(cols, 1000)[0])
    ws = Workspace(SqliteStorage(str(tmp / "stages.db")))
    passes = []
    for _ in range(2):  # the batch, then the same batch again
        spent.clear()
        t, c = time.perf_counter(), time.process_time()
        ws.record_batch(part)
        spent["record_batch, all"] = [time.process_time() - c, time.perf_counter() - t]
        passes.append(dict(spent))
    ws.close()
    labels = list(passes[0]) + [k for k in passes[1] if k not in passes[0]]
    zero = [0.0, 0.0]
    return [
        (k, *passes[0].get(k, zero), *passes[1].get(k, zero))  # type: ignore[misc]
        for k in labels
    ]


# --------------------------------------------------------------------------- main


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    number = lambda s: int(s.replace("_", ""))  # noqa: E731
    parser.add_argument("--events", type=number, default=1_000_000)
    parser.add_argument("--batch", type=number, default=200_000)
    parser.add_argument("--ids", choices=("uuid4", "sequential", "codes"), default="uuid4")
    parser.add_argument("--customers", choices=("uniform", "skewed"), default="uniform")
    parser.add_argument(
        "--part", choices=("all", "ingest", "candidates", "stages", "scan"), default="all"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; figures are the best")
    parser.add_argument("--baseline-src", help="the src directory of an older checkout")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:  # ------------------------------------------------- in a subprocess
        data, db = Path(args.data or "."), Path(args.db or ".")
        if args.worker == "touchpoint":
            result = worker_touchpoint(data, db, args.batch)
        elif args.worker == "scan":
            result = worker_scan(db)
        elif args.worker == "sql":
            result = worker_sql(db)
        elif args.worker == "migrate":
            result = worker_migrate(db)
        else:
            result = worker_plain(data, db, args.batch, args.worker == "plain_without_rowid")
        print(json.dumps(result))
        return

    n = args.events
    print(
        f"{n:,} events ({args.ids} ids, {args.customers} customers), batches of "
        f"{args.batch:,}; sqlite {sqlite3.sqlite_version}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {os.cpu_count()} cores; load average {_load_average()}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cols = make(n, ids=args.ids, customers=args.customers)
        if args.part == "stages":
            rows = stages(cols, args.batch, tmp)
            m = min(args.batch, n)
            print(f"{'stage':50} {'cpu s':>6} {'wall s':>6} {'again cpu':>9} {'wall':>6}")
            for name, c1, w1, c2, w2 in rows:
                print(f"{name:50} {c1:6.3f} {w1:6.3f} {c2:9.3f} {w2:6.3f}")
            total = rows[-1]
            print(
                f"record_batch: {m / total[1]:,.0f} events per CPU second "
                f"({m / total[2]:,.0f}/s wall); again {m / total[3]:,.0f}/cpu-s "
                f"({m / total[4]:,.0f}/s wall); load average after: {_load_average()}"
            )
            return
        if args.part == "candidates":
            print(
                f"{'layout (plain tables, rows built outside the timing)':58} "
                f"{'events/s':>9} {'/cpu-s':>9} {'again/s':>9}"
            )
            for name, first, per_cpu, again in candidates(cols, args.batch, tmp):
                print(f"{name:58} {first:9,.0f} {per_cpu:9,.0f} {again:9,.0f}")
            print(f"load average after: {_load_average()}")
            return
        data = tmp / "events.npz"
        save(cols, data)
        del cols
        if args.part == "scan":
            scans(data, tmp, args.batch, args.repeat, args.baseline_src, n)
            return
        contenders = ["touchpoint", "plain_rowid", "plain_without_rowid"]
        if args.baseline_src:
            contenders.append("baseline_v3")
        best: dict[str, dict[str, float]] = {}
        for round_ in range(args.repeat):
            for who in contenders:
                db = tmp / f"{who}-{round_}.db"
                common = ["--data", str(data), "--db", str(db), "--batch", str(args.batch)]
                if who in ("touchpoint", "baseline_v3"):
                    src = args.baseline_src if who == "baseline_v3" else None
                    result = run_worker("touchpoint", common, src)
                    result.update(run_worker("scan", ["--db", str(db)], src))
                    if who == "touchpoint":
                        result.update(run_worker("sql", ["--db", str(db)]))
                    else:  # the old file, opened (and migrated) by the current code
                        result.update(run_worker("migrate", ["--db", str(db)]))
                else:
                    result = run_worker(who, common)
                for key, value in result.items():
                    keep = best.setdefault(who, {})
                    kept_max = ("mem", "file", "rows", "version", "migrated")
                    better = max if key.startswith(kept_max) else min
                    keep[key] = better(keep.get(key, value), value)
                for leftover in tmp.glob(f"{who}-{round_}.db*"):
                    leftover.unlink()
            print(f"round {round_ + 1} done; load average {_load_average()}", file=sys.stderr)

    labels = {
        "touchpoint": "touchpoint (schema 4)",
        "baseline_v3": "touchpoint before (schema 3)",
        "plain_rowid": "plain sqlite3, TEXT primary key",
        "plain_without_rowid": "plain sqlite3, TEXT primary key, WITHOUT ROWID",
    }
    report(best, contenders, labels, n, args.repeat)


def scans(data: Path, tmp: Path, size: int, repeat: int, baseline: str | None, n: int) -> None:
    """First and warm scans of one stored file, each in a fresh process, alternated."""
    db = tmp / "scan.db"
    run_worker("touchpoint", ["--data", str(data), "--db", str(db), "--batch", str(size)])
    runs: dict[str, list[dict]] = {"touchpoint": []}
    if baseline:
        runs["baseline"] = []
    for _ in range(repeat):
        for who in runs:
            runs[who].append(
                run_worker("scan", ["--db", str(db)], baseline if who == "baseline" else None)
            )
    print(
        f"{'scan, fresh process':20} {'first cpu s: median':>19} {'best':>6} {'wall median':>11} "
        f"{'warm cpu s':>10} {'first /cpu-s':>12} {'MiB':>5}"
    )
    for who, got in runs.items():
        cpu = sorted(r["cpu_scan_first"] for r in got)
        wall = sorted(r["scan_first"] for r in got)
        warm = min(r["cpu_scan_best"] for r in got)
        mem = max(r["mem_scan"] for r in got)
        median = float(np.median(cpu))
        print(
            f"{who:20} {median:19.3f} {cpu[0]:6.3f} {float(np.median(wall)):11.3f} "
            f"{warm:10.3f} {_rate(n, median):>12} {mem:5.0f}"
        )
    print(f"load average after: {_load_average()}")


def report(
    best: dict[str, dict[str, float]],
    contenders: list[str],
    labels: dict[str, str],
    n: int,
    repeat: int,
) -> None:
    """The tables: rates per second of wall time and of CPU time, peak memory."""
    print(
        f"\nbest of {repeat} rounds; /s: events per second of wall time; /cpu-s: per second "
        "of the process's CPU time; MiB: peak resident set above the loaded events"
    )
    head = f"{'ingest, then the same batches again':48} {'/s':>9} {'/cpu-s':>9} {'MiB':>4}"
    print(f"{head} {'again/s':>9} {'/cpu-s':>9} {'MiB':>4} {'file MiB':>8}")
    for who in contenders:
        r = best[who]
        print(
            f"{labels[who]:48} {_rate(n, r['ingest']):>9} {_rate(n, r['cpu_ingest']):>9} "
            f"{r['mem_ingest']:4.0f} {_rate(n, r['again']):>9} {_rate(n, r['cpu_again']):>9} "
            f"{r['mem_again']:4.0f} {r['file_mib']:8.0f}"
        )
        if "build" in r:
            wall, cpu = r["ingest"] + r["build"], r["cpu_ingest"] + r["cpu_build"]
            print(f"{'  incl. building the tuples':48} {_rate(n, wall):>9} {_rate(n, cpu):>9}")
    print(
        f"\n{'scan to numpy columns':48} {'first/s':>9} {'/cpu-s':>9} {'MiB':>4} "
        f"{'best/s':>9} {'/cpu-s':>9}"
    )
    for who in contenders:
        r = best[who]
        best_scan = _rate(n, r["scan_best"]) if "scan_best" in r else ""
        best_cpu = _rate(n, r["cpu_scan_best"]) if "cpu_scan_best" in r else ""
        print(
            f"{labels[who]:48} {_rate(n, r['scan_first']):>9} "
            f"{_rate(n, r['cpu_scan_first']):>9} {r['mem_scan']:4.0f} {best_scan:>9} "
            f"{best_cpu:>9}"
        )
    r = best["touchpoint"]
    print(
        f"{'touchpoint file, plain SELECT * FROM interactions':48} "
        f"{_rate(n, r['select']):>9} {'':>9} {r['mem_select']:4.0f}"
    )
    print(f"select count(*) from interactions: {r['count'] * 1000:.0f} ms")
    if "baseline_v3" in best:
        m = best["baseline_v3"]
        print(
            f"migration of the schema-3 file to schema {m['migrated_version']:.0f} on open: "
            f"{m['migrate']:.1f} s ({_rate(n, m['migrate'])} events/s), "
            f"{m['mem_migrate']:.0f} MiB; {m['migrated_rows']:,.0f} events after"
        )
    peers = ("plain_rowid", "plain_without_rowid")
    wall = min(best[p]["ingest"] for p in peers) / r["ingest"]
    cpu = min(best[p]["cpu_ingest"] for p in peers) / r["cpu_ingest"]
    print(
        f"\ningest ratio to the faster plain peer (tuples ready): wall {wall:.2f}x, "
        f"CPU {cpu:.2f}x; again/first: wall {r['ingest'] / r['again']:.2f}x, "
        f"CPU {r['cpu_ingest'] / r['cpu_again']:.2f}x"
    )
    print(
        f"peak RSS of this (parent) process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"load average after: {_load_average()}"
    )


if __name__ == "__main__":
    main()
