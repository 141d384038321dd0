"""Where the ``event`` row insert of a 200k `record_batch` goes, and ways round it (issue 16).

    python benchmarks/prototypes/sqlite_insert_paths.py [events] [repeats]

One batch of UUID4 events (``bench_storage_sqlite.make``), validated and coded as the
storage stores it (dictionary ids, 64-bit keys, sorted by key), then inserted into a
fresh schema-4 file (32 KiB pages, WAL, ``synchronous=NORMAL``, 64 MiB cache) in one
transaction, each way in turn, interleaved, best of N (CPU seconds of the process, wall
beside). Ways:

- ``storage _insert``: the storage's own ``executemany`` (tuples zipped from lists,
  ``NULLIF(?, -1)``, ``CAST(? AS TEXT)``);
- ``tuples ready``: the same statement from a pre-built list of tuples (the tuple
  building timed apart): Python-side binding + SQLite;
- ``no indexes``: the same rows into ``event`` without its two indexes;
- ``temp, no index``: into an index-less ``TEMP`` table (memory): binding + row build;
- ``one param per row``: only the row id bound (the other columns NULL): the fixed cost
  of a row through ``executemany``;
- ``str ids, NULL not NULLIF``: event ids bound as ``str`` and missing ids as ``None``
  (no ``CAST``/``NULLIF`` in SQL);
- ``cte text``: one statement whose rows SQLite decodes from fixed-width text
  parameters with ``substr`` over a recursive-CTE counter (integers only; floats
  through ``executemany``-free text would need exact text-to-real, so they are left
  NULL here: a lower bound for the route);
- ``json_each``: rows from one JSON text per batch.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_sqlite import make

from touchpoint.schema import validate_columns
from touchpoint.storage import _sqlite_append as ap
from touchpoint.storage._pack import ascii_text
from touchpoint.storage._sqlite_keys import event_keys
from touchpoint.storage._sqlite_schema import _V4
from touchpoint.storage.base import CATEGORICAL, FLOATS
from touchpoint.storage.sqlite import SqliteStorage

EVENT_SQL = _V4[0]
assert isinstance(EVENT_SQL, str)


def fresh(path: Path, *, indexes: bool = True) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size = 32768")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA temp_store = MEMORY")
    con.execute("PRAGMA cache_size = -65536")
    for name in CATEGORICAL:
        con.execute(f"CREATE TABLE dict_{name} (id INTEGER PRIMARY KEY, value TEXT)")
    con.execute(EVENT_SQL)
    if indexes:
        con.execute("CREATE UNIQUE INDEX event_by_key ON event (key)")
        con.execute("CREATE UNIQUE INDEX event_overflow ON event (event_id) WHERE key IS NULL")
    return con


def coded(n: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    batch, _ = validate_columns(make(n))
    tmp = Path(tempfile.mkdtemp())
    store = SqliteStorage(str(tmp / "dicts.db"))
    with store._write() as con:
        cols = ap._stored_columns(store, con, batch, np.arange(len(batch)))
    store.close()
    keys = event_keys(cols["event_id"])
    order = np.argsort(keys, kind="stable")
    return {k: v[order] for k, v in cols.items()}, keys[order]


def used_columns(cols: dict[str, np.ndarray]) -> list[str]:
    names = ["event_id"]
    for name in ap.STORED[1:]:
        c = cols[name]
        if name in CATEGORICAL and not (c >= 0).any():
            continue
        if name in FLOATS and np.isnan(c).all():
            continue
        names.append(name)
    return names


def tuples(
    cols: dict[str, np.ndarray],
    keys: np.ndarray,
    *,
    str_ids: bool = False,
    nones: bool | None = None,
) -> list:
    n = len(keys)
    names = used_columns(cols)
    lists = [list(range(1, n + 1)), keys.tolist()]
    for name in names:
        c = cols[name]
        if name == "event_id" and str_ids:
            lists.append(ascii_text(c).tolist())
        elif (str_ids if nones is None else nones) and name in CATEGORICAL and (c < 0).any():
            obj = c.astype(object)
            obj[c < 0] = None
            lists.append(obj.tolist())
        else:
            lists.append(c.tolist())
    return list(zip(*lists, strict=True))


def insert_sql(
    cols: dict[str, np.ndarray],
    *,
    plain: bool = False,
    table: str = "event",
    cast: bool | None = None,
    nullif: bool | None = None,
) -> str:
    names = used_columns(cols)
    values = []
    for name in names:
        if name == "event_id" and (not plain if cast is None else cast):
            values.append("CAST(? AS TEXT)")
        elif name in CATEGORICAL and (not plain if nullif is None else nullif):
            values.append("NULLIF(?, -1)")
        else:
            values.append("?")
    return (
        f"INSERT INTO {table} (id, key, {', '.join(names)}) VALUES (?, ?, {', '.join(values)})"
        + (" ON CONFLICT (key) DO NOTHING" if table == "event" else "")
    )


def multirow(
    con: sqlite3.Connection, cols: dict[str, np.ndarray], keys: np.ndarray, per: int
) -> None:
    """``per`` rows per ``INSERT ... VALUES (...), (...)``: parameters flattened row-major."""
    n = len(keys)
    names = used_columns(cols)
    lists = [range(1, n + 1), keys.tolist()]
    for name in names:
        c = cols[name]
        lists.append(ascii_text(c).tolist() if name == "event_id" else c.tolist())
    k = len(lists)
    flat: list = [None] * (n * k)
    for j, values in enumerate(lists):  # a loop over columns
        flat[j::k] = values
    row = (
        "("
        + ", ".join(
            "NULLIF(?, -1)" if name in CATEGORICAL else "?" for name in ["id", "key", *names]
        )
        + ")"
    )
    head = f"INSERT INTO event (id, key, {', '.join(names)}) VALUES "
    tail = " ON CONFLICT (key) DO NOTHING"
    full = n // per
    step = per * k
    con.executemany(
        head + ", ".join([row] * per) + tail, (flat[i * step : (i + 1) * step] for i in range(full))
    )
    if n - full * per:
        con.execute(head + ", ".join([row] * (n - full * per)) + tail, flat[full * step :])
    assert con.execute("SELECT count(*) FROM event").fetchone()[0] == n


def cte_insert(con: sqlite3.Connection, cols: dict[str, np.ndarray], keys: np.ndarray) -> None:
    """Rows decoded by SQLite from fixed-width text: one statement, GIL released throughout."""
    n = len(keys)
    names = [k for k in used_columns(cols) if k not in FLOATS]
    params: list[bytes | int] = []
    picks = []

    def number(values: np.ndarray) -> None:
        text = values.astype(np.int64).astype("S")
        w = text.dtype.itemsize
        blob = text.astype(f"S{w}").tobytes().replace(b"\0", b" ")
        params.append(blob)  # a blob: substr on text walks the characters from the start
        picks.append(f"CAST(substr(?{len(params)}, i * {w} + 1, {w}) AS INTEGER)")

    number(np.arange(1, n + 1))
    number(keys)
    for name in names:
        c = cols[name]
        if name == "event_id":
            w = c.dtype.itemsize
            params.append(c.tobytes())
            picks.append(f"CAST(substr(?{len(params)}, i * {w} + 1, {w}) AS TEXT)")
        else:
            number(c)
            if name in CATEGORICAL:
                picks[-1] = f"NULLIF({picks[-1]}, -1)"
    params.append(n)
    sql = (
        f"WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < ?{len(params)}) "
        f"INSERT INTO event (id, key, {', '.join(names)}) SELECT {', '.join(picks)} FROM r WHERE true "
        "ON CONFLICT (key) DO NOTHING"
    )
    con.execute(sql, params)


def json_insert(con: sqlite3.Connection, cols: dict[str, np.ndarray], keys: np.ndarray) -> None:
    rows = tuples(cols, keys, str_ids=True)
    names = used_columns(cols)
    text = json.dumps([[None if v != v else v for v in r] for r in rows])  # NaN: null
    picks = ", ".join(f"value ->> {j}" for j in range(len(names) + 2))
    con.execute(
        f"INSERT INTO event (id, key, {', '.join(names)}) SELECT {picks} FROM json_each(?) "
        "WHERE true ON CONFLICT DO NOTHING",
        (text,),
    )


def run(label: str, fn, tmp: Path, results: dict, *, indexes: bool = True) -> None:
    path = tmp / f"{len(results.setdefault(label, []))}-{abs(hash(label))}.db"
    con = fresh(path, indexes=indexes)
    c0, w0 = time.process_time(), time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    fn(con)
    con.execute("COMMIT")
    results[label].append((time.process_time() - c0, time.perf_counter() - w0))
    con.close()
    path.unlink()


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 200_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cols, keys = coded(n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    rows = np.arange(n)
    ready = tuples(cols, keys)
    ready_str = tuples(cols, keys, str_ids=True)
    str_nullif = tuples(cols, keys, str_ids=True, nones=False)
    bytes_none = tuples(cols, keys, nones=True)
    sql = insert_sql(cols)
    tmp = Path(tempfile.mkdtemp())
    results: dict[str, list[tuple[float, float]]] = {}
    temp_sql = insert_sql(cols, table="t")
    ways = {
        "storage _insert": (lambda con: ap._insert(con, cols, rows, ids, keys), True),
        "tuples ready": (lambda con: con.executemany(sql, ready), True),
        "tuples ready, generator": (lambda con: con.executemany(sql, iter(ready)), True),
        "no indexes": (lambda con: con.executemany(sql.split(" ON")[0], ready), False),
        "temp, no index": (
            lambda con: (
                con.execute("CREATE TEMP TABLE IF NOT EXISTS t AS SELECT * FROM event WHERE 0"),
                con.executemany(temp_sql, ready),
            ),
            True,
        ),
        "one param per row": (
            lambda con: con.executemany(
                "INSERT INTO event (id, key, event_id, time, direction) VALUES (?1, ?1, '', 0, 0)",
                ((i,) for i in range(1, n + 1)),
            ),
            True,
        ),
        "str ids, NULL not NULLIF": (
            lambda con: con.executemany(insert_sql(cols, plain=True), ready_str),
            True,
        ),
        "str ids, NULLIF": (
            lambda con: con.executemany(insert_sql(cols, cast=False, nullif=True), str_nullif),
            True,
        ),
        "bytes CAST, None not NULLIF": (
            lambda con: con.executemany(insert_sql(cols, cast=True, nullif=False), bytes_none),
            True,
        ),
        "multi-row VALUES, 16 rows": (lambda con: multirow(con, cols, keys, 16), True),
        "multi-row VALUES, 64 rows": (lambda con: multirow(con, cols, keys, 64), True),
        "multi-row VALUES, 256 rows": (lambda con: multirow(con, cols, keys, 256), True),
        "cte text (no floats)": (lambda con: cte_insert(con, cols, keys), True),
        "json_each": (lambda con: json_insert(con, cols, keys), True),
    }
    builds = {}
    for label, kw in (
        ("bytes", {}),
        ("str ids", {"str_ids": True, "nones": False}),
        ("str ids + None", {"str_ids": True}),
    ):
        c0 = time.process_time()
        tuples(cols, keys, **kw)
        builds[label] = round(time.process_time() - c0, 3)
    build = builds
    for _ in range(repeats):
        for label, (fn, indexes) in ways.items():
            run(label, fn, tmp, results, indexes=indexes)
    print(f"{n:,} events; building the tuples alone (CPU s): {build}")
    print(f"{'way':32} {'cpu s':>6} {'wall s':>6} {'us/row cpu':>10}")
    for label, got in results.items():
        cpu = min(c for c, _ in got)
        wall = min(w for _, w in got)
        print(f"{label:32} {cpu:6.3f} {wall:6.3f} {cpu / n * 1e6:10.2f}")
    print("load average", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
