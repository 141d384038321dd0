"""Where PostgreSQL's all-duplicates pass goes, and cheaper ways to tell a re-sent row.

    python benchmarks/prototypes/pg_probe_forms.py [events] [rounds]

Starts a throw-away PostgreSQL server with its crash-safe defaults, stores ``events``
UUID4 events (1M by default, batches of 200k) through `PostgresStorage`, then reads back
the stored rows whose id sorts before ``"33333333"`` (a fifth of them, about 200k) as
the storage would stage them and times, best of ``rounds``, each way of finding them
stored again (every one a duplicate):

- the storage's staged path: the 15-column binary ``COPY`` into the staging table
  (`_stage`) and the probe (`_probe`: one primary-key lookup per staged row,
  PostgreSQL comparing 12 columns into a mask);
- forms of that probe on the same staged rows: the lookups alone; one row comparison
  with the mask only where rows differ; the stored values fetched back (to compare in
  numpy); the probe with ``jit = off``; the probe over an ``UNLOGGED`` copy of the
  staged rows, which allows a parallel plan (temporary tables do not);
- the digest path (`_same_as_stored`, schema version 2): the 3-column ``COPY`` of ids
  and digests, and the lookup comparing one integer a row.

The figures behind the session-10 tables in ``benchmarks/README.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench_storage_postgres import make, slices  # puts this checkout's src first

from touchpoint.storage import _postgres_append as A
from touchpoint.storage._postgres_copy import copy_chunks
from touchpoint.storage._postgres_server import TemporaryServer
from touchpoint.storage.base import CATEGORICAL, FLOATS
from touchpoint.storage.postgres import PostgresStorage
from touchpoint.workspace import Workspace

JOIN = "FROM {t} s JOIN event e ON e.event_id = s.event_id"


def staged_rows(con: Any) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(ids, stored columns as `stored_columns` gives them, digests) of a fifth of the rows."""
    names = [f"coalesce({c}, -1)" for c in CATEGORICAL]
    names += ["(extract(epoch FROM time) * 1000000)::bigint", "direction"]
    names += [f"coalesce({c}, 'NaN')" for c in FLOATS]
    rows = con.execute(
        f"SELECT event_id, {', '.join(names)}, digest FROM event "
        "WHERE event_id < '33333333' ORDER BY event_id"
    ).fetchall()
    columns = list(zip(*rows, strict=True))
    ids = np.array([e.encode("ascii") for e in columns[0]])
    cols = {c: np.array(columns[1 + i], dtype=np.int64) for i, c in enumerate(CATEGORICAL)}
    k = 1 + len(CATEGORICAL)
    cols["time"] = np.array(columns[k], dtype=np.int64)
    cols["direction"] = np.array(columns[k + 1], dtype=np.int8)
    for i, c in enumerate(FLOATS):
        cols[c] = np.array(columns[k + 2 + i], dtype=np.float64)
    return ids, cols, np.array(columns[-1], dtype=np.int64)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def fetch(con: Any, sql: str) -> Any:
    """Run ``sql`` with hash and merge joins off (a lookup per staged row), as the storage does."""
    return A._nested_loop(con, f"COPY ({sql}) TO STDOUT (FORMAT BINARY)")


def main() -> None:
    events = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    row_differs = "(" + ", ".join(f"e.{c}" for c in A.COMPARED) + ") IS DISTINCT FROM ("
    row_differs += ", ".join(A._stored_value(c) for c in A.COMPARED) + ")"
    forms = {
        "the lookups alone": "SELECT count(*) " + JOIN,
        "one row comparison, the mask only where rows differ": (
            f"SELECT count(*), array_agg(s.pos) FILTER (WHERE {row_differs}), "
            f"array_agg(s.pos) " + JOIN
        ),
        "the stored values fetched back (to compare in numpy)": (
            "SELECT array_agg(s.pos), "
            + ", ".join(f"array_agg(e.{c})" for c in A.COMPARED)
            + " "
            + JOIN
        ),
    }
    probe = f"SELECT count(*), array_agg(s.pos), array_agg({A._DIFF_MASK}) " + JOIN
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    with TemporaryServer(durable=True) as server:
        server.psql("CREATE DATABASE bench")
        url = server.url("bench")
        ws = Workspace(PostgresStorage(url, schema="probe"))
        for part in slices(make(events), 200_000):
            ws.record_batch(part)
        con = ws.storage._con
        ids, cols, digest = staged_rows(con)
        n = len(ids)
        fields = [np.arange(n, dtype=">i4"), ids, digest.astype(">i8")]
        for _ in range(rounds):
            with con.transaction():
                keep(
                    "staged: the 15-column COPY into the staging table",
                    timed(lambda: A._stage(con, ids, cols, digest)),
                )
                keep(
                    "staged: the storage's probe (12 columns compared, a mask)",
                    timed(lambda: A._probe(con)),
                )
                for name, sql in forms.items():
                    keep(f"  {name}", timed(lambda sql=sql: fetch(con, sql.format(t=A.STAGE))))
                con.execute("SET LOCAL jit = off")
                keep(
                    "  the probe with jit = off", timed(lambda: fetch(con, probe.format(t=A.STAGE)))
                )
                con.execute("SET LOCAL jit = on")
                con.execute(f"CREATE UNLOGGED TABLE unlogged AS SELECT * FROM {A.STAGE}")
                con.execute("ANALYZE unlogged")
                keep(
                    "  the probe over an UNLOGGED copy (a parallel plan)",
                    timed(lambda: fetch(con, probe.format(t="unlogged"))),
                )
                con.execute("DROP TABLE unlogged")
            with con.transaction():
                keep(
                    "digest: the 3-column COPY of ids and digests",
                    timed(
                        lambda: A._send(
                            con,
                            f"COPY {A.KEYS} FROM STDIN (FORMAT BINARY)",
                            copy_chunks(fields, ordered=False),
                        )
                    ),
                )
                found = fetch(
                    con,
                    f"SELECT count(*) FROM {A.KEYS} s JOIN event e ON e.event_id = s.event_id AND e.digest = s.digest",
                )
                assert int.from_bytes(bytes(found[0]), "big") == n, "every row is a duplicate"
                keep(
                    "digest: one lookup and one integer comparison a row",
                    timed(
                        lambda: fetch(
                            con,
                            f"SELECT count(*), array_agg(s.pos) FROM {A.KEYS} s JOIN event e ON e.event_id = s.event_id AND e.digest = s.digest",
                        )
                    ),
                )
        ws.close()
    print(f"{n:,} stored rows staged again out of {events:,}; best of {rounds}, seconds:")
    for name, seconds in best.items():
        print(f"{seconds:7.3f}  {name}")


if __name__ == "__main__":
    main()
