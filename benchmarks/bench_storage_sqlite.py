"""SQLite storage: append from columns and scan to columns, against plain sqlite3, side by side.

    python benchmarks/bench_storage_sqlite.py --events 1_000_000

Measured in one process on files in a temporary directory (local disk):

- touchpoint append: ``Workspace.record_batch`` on a dict of numpy arrays (column-wise
  validation + dictionary coding + idempotent insert of event ids + column blocks), in
  batches of ``--batch`` events, and the storage step alone on validated batches;
- plain executemany: the same rows as tuples into one ordinary 14-column table with an
  event-id primary key (``INSERT ... ON CONFLICT(event_id) DO NOTHING``), one
  transaction per batch, building the tuples from the columns included and excluded;
- the same batches appended again (all duplicates);
- scan: ``Storage.scan()`` to an `EventFrame` against ``SELECT *`` + ``fetchall`` + numpy
  columns from the plain table;

with peak Python memory (tracemalloc) per step and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from touchpoint.schema import validate_columns
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.workspace import Workspace

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


def make(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    customers = np.array([f"C{i:07d}" for i in range(max(n // 10, 1))], dtype=object)
    touchpoints = np.array([f"A{i:03d}" for i in range(200)], dtype=object)
    amount = np.round(rng.gamma(2.0, 150.0, n), 2)
    amount[rng.random(n) < 0.5] = np.nan
    return {
        "event_id": np.array([f"ev{i:09d}" for i in range(n)], dtype=object),
        "customer": customers[rng.integers(0, len(customers), n)],
        "touchpoint": touchpoints[rng.integers(0, len(touchpoints), n)],
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


def slices(cols: dict[str, np.ndarray], size: int):
    n = len(cols["event_id"])
    for start in range(0, n, size):
        yield {k: v[start : start + size] for k, v in cols.items()}


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def peak_memory(fn) -> int:
    """Peak Python allocations of ``fn`` (tracemalloc slows Python down: never timed)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def rows_of(cols: dict[str, np.ndarray]) -> list[tuple]:
    """Columns to row tuples as a user of plain sqlite3 would (times as integer microseconds)."""
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


def plain_table(path: Path, key: bool = True) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute(
        f"CREATE TABLE events (event_id TEXT {'PRIMARY KEY' if key else ''}, customer TEXT, "
        "touchpoint TEXT, channel TEXT, time INTEGER, direction TEXT, amount REAL, rating REAL, "
        "response_time REAL, outcome TEXT, staff TEXT, store TEXT, referrer TEXT, indicator TEXT)"
        + (" WITHOUT ROWID" if key else "")
    )
    return con


def plain_append(con: sqlite3.Connection, batches: list[list[tuple]], upsert: bool = True) -> None:
    sql = f"INSERT INTO events VALUES ({', '.join('?' * 14)})"
    if upsert:
        sql += " ON CONFLICT(event_id) DO NOTHING"
    for rows in batches:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows)
        con.execute("COMMIT")


def plain_scan(con: sqlite3.Connection) -> dict[str, np.ndarray]:
    rows = con.execute("SELECT * FROM events").fetchall()
    columns = list(zip(*rows, strict=True))
    out = {}
    for k, values in zip(NAMES, columns, strict=True):
        if k == "time":
            out[k] = np.array(values, dtype=np.int64).view("datetime64[us]")
        elif k in ("amount", "rating", "response_time"):
            out[k] = np.array(values, dtype=float)
        else:
            out[k] = np.array(values, dtype=object)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--batch", type=lambda s: int(s.replace("_", "")), default=100_000)
    args = parser.parse_args()
    n = args.events
    cols = make(n)
    parts = list(slices(cols, args.batch))
    MB = 2**20

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results: list[tuple[str, float, int]] = []

        # warm-up: the first batch imports pandas (factorizing strings), once per process
        Workspace(SqliteStorage(str(tmp / "warm.db"))).record_batch(slices(cols, 1000).__next__())
        ws = Workspace(SqliteStorage(str(tmp / "touchpoint.db")))
        reports, s_ws = timed(lambda: [ws.record_batch(p) for p in parts])
        assert sum(r.accepted for r in reports) == n
        m_ws = peak_memory(
            lambda: Workspace(SqliteStorage(str(tmp / "m1.db"))).record_batch(parts[0])
        )
        results.append(("touchpoint record_batch (validate + store)", s_ws, m_ws))

        store2 = SqliteStorage(str(tmp / "touchpoint2.db"))
        batches = [validate_columns(p)[0] for p in parts]
        _, s_store = timed(lambda: [store2.append(b) for b in batches])
        m_store = peak_memory(lambda: SqliteStorage(str(tmp / "m2.db")).append(batches[0]))
        results.append(("touchpoint storage.append (validated)", s_store, m_store))

        again, s_dup = timed(lambda: [ws.record_batch(p) for p in parts])
        assert sum(r.duplicates for r in again) == n and ws.storage.count() == n
        m_dup = peak_memory(lambda: ws.record_batch(parts[0]))
        results.append(("touchpoint record_batch again (all duplicates)", s_dup, m_dup))

        con = plain_table(tmp / "plain.db")
        rows, s_rows = timed(lambda: [rows_of(p) for p in parts])
        _, s_plain = timed(lambda: plain_append(con, rows))
        con_m = plain_table(tmp / "m3.db")
        m_plain = peak_memory(lambda: plain_append(con_m, [rows_of(parts[0])]))
        results.append(("plain executemany (tuples ready)", s_plain, m_plain))
        results.append(("plain executemany incl. columns -> tuples", s_plain + s_rows, m_plain))
        con_nokey = plain_table(tmp / "nokey.db", key=False)
        _, s_nokey = timed(lambda: plain_append(con_nokey, rows, upsert=False))
        results.append(("plain executemany, no key (not idempotent)", s_nokey, m_plain))

        frame, s_scan = timed(lambda: ws.storage.scan())
        assert len(frame) == n
        del frame
        s_scan_best = min(timed(lambda: ws.storage.scan())[1] for _ in range(3))
        m_scan = peak_memory(lambda: ws.storage.scan())
        results.append(("touchpoint scan -> EventFrame (first)", s_scan, m_scan))
        results.append(("touchpoint scan -> EventFrame (best of 3 more)", s_scan_best, m_scan))
        plain, s_pscan = timed(lambda: plain_scan(con))
        assert len(plain["event_id"]) == n
        del plain
        m_pscan = peak_memory(lambda: plain_scan(con))
        results.append(("plain SELECT * -> numpy columns (first)", s_pscan, m_pscan))
        size_tp = (tmp / "touchpoint.db").stat().st_size
        size_plain = (tmp / "plain.db").stat().st_size

    print(f"{n:,} events, batches of {args.batch:,}, sqlite {sqlite3.sqlite_version}")
    print("peak MiB: Python allocations of one batch (append steps) or of the whole scan")
    print(f"{'step':48} {'seconds':>8} {'events/s':>12} {'peak MiB':>9}")
    for name, sec, peak in results:
        print(f"{name:48} {sec:8.2f} {n / sec:12,.0f} {peak / MB:9.0f}")
    print(f"append ratio touchpoint/plain (tuples ready): {s_plain / s_ws:.2f}")
    print(f"append ratio touchpoint/plain (incl. tuples): {(s_plain + s_rows) / s_ws:.2f}")
    print(f"append ratio touchpoint/plain without key (tuples ready): {s_nokey / s_ws:.2f}")
    print(f"scan ratio touchpoint/plain (first scans): {s_pscan / s_scan:.1f}x faster")
    print(f"file size: touchpoint {size_tp / MB:.0f} MiB, plain table {size_plain / MB:.0f} MiB")
    print(
        f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
