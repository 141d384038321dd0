"""The PostgreSQL storage on a real server: plain SQL, ingest under races, scans, outbox locks,
schema versions, failures, and erasure down to the table files.

The server is the session's throw-away cluster (`conftest.postgres_server`); the storage
runs as an ordinary role (``app``) that owns its database, as an application would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import touchpoint
from touchpoint.channels.base import Delivery, Message
from touchpoint.errors import MissingExtraError, StorageError
from touchpoint.model import Complaint, Consent, Customer, Promise
from touchpoint.storage import (
    AppendStatus,
    Batch,
    _postgres_append,
    _postgres_copy,
    _postgres_scan,
    open_storage,
)
from touchpoint.storage._postgres_copy import CHUNK_ROWS
from touchpoint.storage._postgres_schema import SCHEMA_VERSION
from touchpoint.storage.postgres import ErasureIncomplete, PostgresStorage
from touchpoint.testing.storage import make_columns

T0 = np.datetime64("2026-03-01T00:00:00", "us")


def psycopg():
    import psycopg as module

    return module


def schema_of(url: str) -> str:
    return url.rsplit("schema=", 1)[1].split("&", 1)[0]


def plain(url: str):
    """A plain psycopg connection to the storage's schema (what a user of psql has)."""
    conninfo = url.split("?", 1)[0]
    con = psycopg().connect(conninfo, autocommit=True)
    con.execute(f"SET search_path TO {schema_of(url)}")
    return con


def uuids(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(
        [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)], dtype=object
    )


# ---------------------------------------------------------------------- opening


def test_open_by_url_reports_the_schema_version_and_hides_the_password(postgres_server):
    url = postgres_server.url("touchpoint", user="app", schema="opened")
    ws = touchpoint.open(url.replace("app@", "app:s3cret@"), blueprint="car-dealership")
    try:
        assert isinstance(ws.storage, PostgresStorage)
        assert ws.storage.schema_version == SCHEMA_VERSION == 2
        assert "s3cret" not in repr(ws.storage) and "app:***@" in ws.storage.url
        with plain(url) as con:
            rows = con.execute("SELECT version, description FROM schema_version").fetchall()
        assert [r[0] for r in rows] == [1, 2] and all(r[1] for r in rows)
    finally:
        ws.close()
    # ``postgres://`` is the same storage; reopening migrates nothing again
    again = open_storage(url.replace("postgresql://", "postgres://"))
    assert again.schema_version == 2 and again.count() == 0
    again.close()


def test_a_newer_schema_is_refused_not_misread(postgres_url):
    PostgresStorage.from_url(postgres_url).close()
    with plain(postgres_url) as con:
        con.execute("INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    with pytest.raises(StorageError, match=r"schema version 99, newer .* upgrade touchpoint"):
        open_storage(postgres_url)


def test_processes_opening_a_new_schema_at_once_all_succeed(postgres_url):
    code = (
        "import sys; from touchpoint.storage import open_storage; "
        "s = open_storage(sys.argv[1]); print(s.schema_version); s.close()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url], stdout=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60)[0].decode().strip() for p in procs]
    assert outs == ["2"] * 4 and all(p.returncode == 0 for p in procs)
    with plain(postgres_url) as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 2


def test_bad_urls_and_options_are_named(postgres_server):
    with pytest.raises(StorageError, match="schema must be a lowercase identifier"):
        open_storage(postgres_server.url("touchpoint", user="app", schema="Robert'); DROP"))
    with pytest.raises(StorageError, match="erase must be one of vacuum, rewrite, defer"):
        open_storage(postgres_server.url("touchpoint", user="app", erase="never"))
    with pytest.raises(StorageError, match=r"cannot connect to postgresql://app@127\.0\.0\.1:1/"):
        open_storage("postgresql://app@127.0.0.1:1/touchpoint?connect_timeout=2")


def test_importing_touchpoint_and_its_plugins_imports_no_psycopg():
    code = (
        "import sys, touchpoint\n"
        "from touchpoint.plugins.manager import Plugins\n"
        "p = Plugins(entry_points=False)\n"
        "assert {'postgresql', 'postgres'} <= set(p.storages())\n"
        "print('psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_the_extra_opening_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg fails
    with pytest.raises(MissingExtraError, match=r"pip install 'touchpoint-ctm\[postgres\]'"):
        open_storage("postgresql://app@127.0.0.1:5432/touchpoint")


def test_the_server_runs_as_an_unprivileged_user(postgres_server):
    with open(os.path.join(postgres_server.datadir, "postmaster.pid")) as f:
        pid = int(f.readline())
    uid = os.stat(f"/proc/{pid}").st_uid if os.path.exists(f"/proc/{pid}") else os.getuid()
    assert uid != 0
    # and the storage's role is not a superuser either
    assert (
        postgres_server.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'app'").strip() == "f"
    )


# ---------------------------------------------------------------------- plain SQL


def test_interactions_are_a_plain_sql_view_with_the_original_values(postgres_url, postgres_server):
    cols = make_columns(300, seed=4)
    cols["customer"][:2] = ["Zoë", "北京-7"]  # non-ASCII ids come back as they were
    store = open_storage(postgres_url)
    assert store.append(Batch.from_columns(cols)).committed
    store.close()
    with plain(postgres_url) as con:
        rows = con.execute(
            "SELECT event_id, customer, time, touchpoint, channel, outcome, amount, rating, "
            "response_time, direction, referrer FROM interactions"
        ).fetchall()
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == 300
    for i, eid in enumerate(cols["event_id"]):  # the reference: the input, row by row
        want_time = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            microseconds=int(cols["time"][i].astype(np.int64))
        )
        amount = None if np.isnan(cols["amount"][i]) else float(cols["amount"][i])
        rating = None if np.isnan(cols["rating"][i]) else float(cols["rating"][i])
        assert got[eid] == (
            cols["customer"][i],
            want_time,
            cols["touchpoint"][i],
            cols["channel"][i],
            cols["outcome"][i],
            amount,
            rating,
            None,
            cols["direction"][i],
            cols["referrer"][i],
        )
    # the psql client reads it too
    count = postgres_server.psql(
        f"SET search_path TO {schema_of(postgres_url)}; SELECT count(*) FROM interactions",
        "touchpoint",
        user="app",
    )
    assert count.strip().splitlines()[-1] == "300"


def test_customers_are_readable_as_a_view(postgres_url):
    store = open_storage(postgres_url)
    store.upsert_customers(
        [
            Customer(
                "C1",
                name="Li Na",
                email="li@example.com",
                tier="gold",
                consents=[Consent("email", "service")],
            ),
            Customer("C2", referrer="C1", do_not_contact=True),
        ]
    )
    store.close()
    with plain(postgres_url) as con:
        rows = con.execute(
            "SELECT customer, name, email, tier, referrer, do_not_contact, "
            "consents->0->>'channel' FROM customers ORDER BY customer"
        ).fetchall()
    assert rows == [
        ("C1", "Li Na", "li@example.com", "gold", None, False, "email"),
        ("C2", None, None, None, "C1", True, None),
    ]


# ---------------------------------------------------------------------- ingest


def _frame_rows(frame) -> dict[str, tuple]:
    names = [n for n in frame.column_names if n != "event_id"]
    out = {}
    cols = {n: frame[n] for n in names}
    for i, eid in enumerate(frame["event_id"].tolist()):
        values = []
        for n in names:
            v = cols[n][i]
            if isinstance(v, float) and v != v:
                v = None
            values.append(v.item() if isinstance(v, np.generic) else v)
        out[eid] = tuple(values)
    return out


batches = st.lists(
    st.tuples(
        st.integers(1, 40),  # rows
        st.integers(0, 2**16),  # seed
        st.floats(0, 1),  # share of ids taken from the shared pool (repeats, duplicates)
        st.booleans(),  # refuse
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def shared_pg(postgres_server):
    """One schema for the property test's examples (each example uses its own ids)."""
    url = postgres_server.url("touchpoint", user="app", schema=f"h_{uuid.uuid4().hex[:10]}")
    store = open_storage(url)
    yield store
    store.close()


_examples = iter(range(10**9))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=batches)
def test_appends_agree_with_the_memory_storage_row_for_row(shared_pg, plan):
    """Random batches with repeats, duplicates and conflicts: PostgreSQL gives the same
    statuses, reasons, quarantine and stored rows as the embedded engine (an independent
    implementation of the same contract)."""
    pg, mem = shared_pg, open_storage("memory://")
    tag = f"x{next(_examples)}-"  # this example's ids, apart from the others'
    seen = len(pg.quarantined())
    try:
        pool = [f"{tag}p{i}" for i in range(25)]
        for rows, seed, share, refuse in plan:  # a handful of batches
            rng = np.random.default_rng(seed)
            cols = make_columns(rows, seed=seed, prefix=f"{tag}b{seed}-", customers=4)
            shared = rng.random(rows) < share
            cols["event_id"][shared] = rng.choice(pool, int(shared.sum()))
            # values of pooled ids mostly agree between batches (a few conflicts)
            same = shared & (rng.random(rows) < 0.8)
            cols["amount"][same] = 10.0
            cols["rating"][same] = np.nan
            batch = Batch.from_columns(cols)
            a, b = pg.append(batch, refuse=refuse), mem.append(batch, refuse=refuse)
            assert a.committed == b.committed
            assert a.status.tolist() == b.status.tolist()
            assert sorted((r.row, r.reason) for r in a.rejections) == sorted(
                (r.row, r.reason) for r in b.rejections
            )
        mine = {k: v for k, v in _frame_rows(pg.scan()).items() if k.startswith(tag)}
        assert mine == _frame_rows(mem.scan())
        ours = [{**q, "batch": None} for q in pg.quarantined()[seen:]]
        theirs = [{**q, "batch": None} for q in mem.quarantined()]

        def key(q):
            return json.dumps(q, sort_keys=True)

        assert sorted(ours, key=key) == sorted(theirs, key=key)
    finally:
        mem.close()


def test_a_large_batch_partly_stored_is_probed_whole(postgres_url):
    """More rows than the probe's sample, some stored already (one with other values)."""
    store = open_storage(postgres_url)
    ids = uuids(3000, seed=1)
    cols = make_columns(3000, seed=2)
    cols["event_id"] = ids
    first = {k: v[2000:] for k, v in cols.items()}  # the last third, stored first
    store.append(Batch.from_columns(first))
    cols["amount"][2999] = 77777.0 if cols["amount"][2999] != 77777.0 else 1.0
    result = store.append(Batch.from_columns(cols), refuse=False)
    want = np.zeros(3000, dtype=int)
    want[2000:] = AppendStatus.DUPLICATE
    want[2999] = AppendStatus.CONFLICT
    assert result.status.tolist() == want.tolist()
    assert "amount" in result.rejections[0].reason
    assert store.count() == 3000
    store.close()


def test_a_stored_id_the_sample_misses_is_still_found_and_compared(postgres_url):
    """New data goes in by one bulk COPY when a sample of the batch's ids finds none
    stored; a stored id outside the sample makes that COPY fail, and the batch is then
    probed whole: the stored event is reported (a conflict: its values differ), every
    other row is stored once, with its missing values as NULL."""
    store = open_storage(postgres_url)
    n = 3000
    cols = make_columns(n, seed=21)
    cols["event_id"] = uuids(n, seed=22)
    cols["amount"][::3] = np.nan  # missing numbers and ids travel as NULL
    cols["outcome"] = np.where(np.arange(n) % 4 == 0, None, cols["outcome"]).astype(object)
    by_id = np.argsort(np.asarray(cols["event_id"]).astype("S"), kind="stable")
    hidden = int(by_id[1])  # second in id order: the sample takes every 5th from the first
    one = {k: v[hidden : hidden + 1].copy() for k, v in cols.items()}
    one["amount"][0] = 4242.0
    store.append(Batch.from_columns(one))
    result = store.append(Batch.from_columns(cols), refuse=False)
    want = np.zeros(n, dtype=int)
    want[hidden] = AppendStatus.CONFLICT
    assert result.status.tolist() == want.tolist()
    assert store.count() == n
    with plain(postgres_url) as con:
        nulls = con.execute(
            "SELECT count(*) FILTER (WHERE amount IS NULL), "
            "count(*) FILTER (WHERE outcome IS NULL) FROM interactions"
        ).fetchone()
    others = np.arange(n) != hidden
    assert nulls == (
        int(np.isnan(cols["amount"][others]).sum()),
        int(sum(v is None for v in cols["outcome"][others])),
    )
    store.close()


def _several_pieces(seed: int) -> tuple[dict[str, np.ndarray], int, int]:
    """A batch of three COPY pieces; the rows whose ids sort last and next to last."""
    n = 2 * CHUNK_ROWS + 1_000
    cols = make_columns(n, seed=seed, customers=500)
    cols["event_id"] = uuids(n, seed=seed)
    by_id = np.argsort(np.asarray(cols["event_id"]).astype("S"), kind="stable")
    return cols, int(by_id[-1]), int(by_id[-2])


def test_a_stored_id_in_the_last_piece_of_the_stream_is_found_and_compared(postgres_server):
    """New data is streamed in pieces (each encoded once the last was written); a stored
    id in the last piece, which the sample misses, fails the COPY after the server took
    the first pieces: the savepoint drops them and the batch is probed whole, with the
    same statuses as the memory storage and one copy of each row."""
    url = postgres_server.url("touchpoint", user="app", schema=f"p_{uuid.uuid4().hex[:8]}")
    store, mem = open_storage(url), open_storage("memory://")
    cols, last, second = _several_pieces(seed=31)
    stored = {k: v[[second, last]].copy() for k, v in cols.items()}
    stored["amount"][1] = 4242.0 if stored["amount"][1] != 4242.0 else 1.0  # last: a conflict
    for s in (store, mem):
        s.append(Batch.from_columns(stored))
    batch = Batch.from_columns(cols)
    result, reference = store.append(batch, refuse=False), mem.append(batch, refuse=False)
    assert result.status.tolist() == reference.status.tolist()
    assert result.status[second] == AppendStatus.DUPLICATE
    assert result.status[last] == AppendStatus.CONFLICT
    assert [r.reason for r in result.rejections] == [r.reason for r in reference.rejections]
    assert store.count() == mem.count() == len(cols["event_id"])
    assert _frame_rows(store.scan()) == _frame_rows(mem.scan())
    refused = {k: v.copy() for k, v in cols.items()}
    refused["event_id"] = uuids(len(refused["event_id"]), seed=32)
    refused["event_id"][last] = cols["event_id"][last]  # the stored conflict again
    assert not store.append(Batch.from_columns(refused), refuse=True).committed
    assert store.count() == len(cols["event_id"])  # every piece rolled back
    store.close()
    mem.close()


def test_an_error_between_two_pieces_rolls_the_whole_append_back(postgres_url, monkeypatch):
    """The client fails after the server took the first piece (here: encoding the
    second raises): nothing of the batch stays, and the storage goes on working."""
    store = open_storage(postgres_url)
    cols, _, _ = _several_pieces(seed=34)
    encode, calls = _postgres_copy._in_order, []

    def fails_on_the_second_piece(*args):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("injected: encoding the second piece failed")
        return encode(*args)

    monkeypatch.setattr(_postgres_copy, "_in_order", fails_on_the_second_piece)
    with pytest.raises(MemoryError, match="second piece"):
        store.append(Batch.from_columns(cols))
    monkeypatch.undo()
    assert store.count() == 0
    with plain(postgres_url) as con:
        assert con.execute("SELECT count(*) FROM batch").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM dim_customer").fetchone() == (0,)
    assert store.append(Batch.from_columns(cols)).committed
    assert store.count() == len(cols["event_id"])
    store.close()


def test_values_stored_before_this_process_and_new_ones_get_their_ids(postgres_url):
    """A fresh process knows no dictionary ids: the values another storage stored come
    back from a lookup, the new ones from the insert itself, and every row reads back
    with its own values in plain SQL."""
    first, second = (
        make_columns(200, seed=41, customers=30),
        make_columns(200, seed=42, prefix="f", customers=60),
    )
    writer = open_storage(postgres_url)
    writer.append(Batch.from_columns(first))
    writer.close()
    fresh = open_storage(postgres_url)  # its cache is empty
    assert fresh.append(Batch.from_columns(second)).committed
    fresh.close()
    with plain(postgres_url) as con:
        got = dict(con.execute("SELECT event_id, customer FROM interactions").fetchall())
        dims = con.execute("SELECT count(*), count(DISTINCT value) FROM dim_customer").fetchone()
    want = dict(zip(first["event_id"], first["customer"], strict=True))
    want.update(zip(second["event_id"], second["customer"], strict=True))
    assert got == want
    distinct = len(set(first["customer"]) | set(second["customer"]))
    assert dims == (distinct, distinct)


def test_a_repeat_of_a_stored_event_is_compared_with_the_stored_values(postgres_url):
    store = open_storage(postgres_url)
    cols = make_columns(3, seed=7)
    cols["amount"][:] = [1.0, 2.0, 3.0]
    store.append(Batch.from_columns(cols))
    again = {k: np.concatenate([v, v[:1], v[:1]]) for k, v in cols.items()}
    again["amount"][0] = 5.0  # the first copy of e0 conflicts with the stored e0...
    again["amount"][3] = 1.0  # ...the second copy equals the stored one: a duplicate
    again["amount"][4] = 5.0  # ...the third equals the conflicting copy: a conflict too
    result = store.append(Batch.from_columns(again), refuse=False)
    assert result.status.tolist() == [
        AppendStatus.CONFLICT,
        AppendStatus.DUPLICATE,
        AppendStatus.DUPLICATE,
        AppendStatus.DUPLICATE,
        AppendStatus.CONFLICT,
    ]
    store.close()


def test_a_batch_sent_again_is_settled_by_digest_and_the_rest_by_value(postgres_url, monkeypatch):
    """Rows stored with a digest and sent again unchanged are duplicates without their
    values being staged; a changed value (the digest differs) and rows stored without a
    digest (before schema version 2) are compared column by column."""
    store = open_storage(postgres_url)
    n = 3000
    cols = make_columns(n, seed=31)
    cols["event_id"] = uuids(n, seed=32)
    cols["amount"][0] = 0.0
    store.append(Batch.from_columns(cols))
    undigested = cols["event_id"][1000:2000].tolist()
    with plain(postgres_url) as con:
        assert con.execute("SELECT count(*) FROM event WHERE digest IS NULL").fetchone()[0] == 0
        con.execute("UPDATE event SET digest = NULL WHERE event_id = ANY(%s)", [undigested])
    again = {k: v.copy() for k, v in cols.items()}
    again["amount"][0] = -0.0  # equal to 0.0 in PostgreSQL: a duplicate
    again["amount"][10] = 9999.5  # a digested row with another value: a conflict
    again["amount"][1500] = 9999.5  # an undigested row with another value: a conflict
    extra = make_columns(7, seed=33, prefix="new-")
    extra["event_id"][5:] = [cols["event_id"][20], cols["event_id"][21]]
    extra["amount"][5:] = [12345.0, cols["amount"][21]]  # repeats: one differs
    for name in extra:
        if name not in ("event_id", "amount"):
            extra[name][5:] = cols[name][20:22]
    again = {k: np.concatenate([again[k], extra[k]]) for k in again}
    staged: list[int] = []
    real = _postgres_append._stage

    def counted(con, ids, part, digest):
        staged.append(len(ids))
        return real(con, ids, part, digest)

    monkeypatch.setattr(_postgres_append, "_stage", counted)
    result = store.append(Batch.from_columns(again), refuse=False)
    want = np.full(n + 7, AppendStatus.DUPLICATE)
    want[[10, 1500, n + 5]] = AppendStatus.CONFLICT
    want[n : n + 5] = AppendStatus.ACCEPTED
    assert result.status.tolist() == want.tolist()
    assert staged == [1000 + 1 + 5]  # the undigested, the changed one and the new ones
    assert [r.row for r in result.rejections] == [10, 1500, n + 5]
    assert all("amount" in r.reason for r in result.rejections[:2])
    assert store.count() == n + 5
    with plain(postgres_url) as con:
        nulls = con.execute("SELECT count(*) FROM event WHERE digest IS NULL").fetchone()[0]
    assert nulls == 1000  # the new rows were stored with their digests
    store.close()


def test_repeats_of_changed_ids_beside_rows_settled_by_digest_agree_with_memory(postgres_url):
    """Once rows are settled by digest, the staged rows are numbered apart from the
    batch's: an id stored with other values and repeated in the batch (once as stored,
    once as changed) is still compared with the stored values, as the embedded engine
    does, whether the stored row has a digest or not."""
    pg, mem = open_storage(postgres_url), open_storage("memory://")
    n = 2000
    cols = make_columns(n, seed=61)
    cols["event_id"] = uuids(n, seed=62)
    for store in (pg, mem):
        store.append(Batch.from_columns(cols))
    with plain(postgres_url) as con:  # the second half as stored before version 2
        con.execute(
            "UPDATE event SET digest = NULL WHERE event_id = ANY(%s)",
            [cols["event_id"][1000:].tolist()],
        )
    again = {k: v.copy() for k, v in cols.items()}
    for row in (100, 1500):  # one digested, one not
        again["amount"][row] = 31337.0
    take = np.array([100, 100, 1500, 1500, 7])
    repeats = {k: v[take].copy() for k, v in cols.items()}
    repeats["amount"][[1, 3]] = 31337.0  # as changed; rows 0 and 2 as stored
    batch = {k: np.concatenate([again[k], repeats[k]]) for k in cols}
    a = pg.append(Batch.from_columns(batch), refuse=False)
    b = mem.append(Batch.from_columns(batch), refuse=False)
    assert a.status.tolist() == b.status.tolist()
    assert [(r.row, r.reason) for r in a.rejections] == [(r.row, r.reason) for r in b.rejections]
    want = np.full(n + 5, AppendStatus.DUPLICATE)
    want[[100, 1500, n + 1, n + 3]] = AppendStatus.CONFLICT
    assert a.status.tolist() == want.tolist()
    assert pg.count() == n
    pg.close()
    mem.close()


def test_a_schema_of_version_1_is_migrated_and_its_rows_compared_by_value(
    postgres_url, monkeypatch
):
    """Version 1 had no digest: opening adds the column, every row survives, and a batch
    sent again is still told apart row by row (duplicates, one conflict), without a
    digest pass that could find nothing."""
    store = open_storage(postgres_url)
    cols = make_columns(800, seed=41)
    cols["event_id"] = uuids(800, seed=42)
    store.append(Batch.from_columns(cols))
    before = _frame_rows(store.scan())
    store.close()
    with plain(postgres_url) as con:  # back to what version 1 wrote
        con.execute("ALTER TABLE event DROP COLUMN digest")
        con.execute("DELETE FROM schema_version WHERE version = 2")
    store = open_storage(postgres_url)
    assert store.schema_version == 2
    assert _frame_rows(store.scan()) == before
    again = {k: v.copy() for k, v in cols.items()}
    again["rating"][7] = 4.0 if again["rating"][7] != 4.0 else 2.0
    passes: list[int] = []
    real = _postgres_append._same_as_stored
    monkeypatch.setattr(
        _postgres_append, "_same_as_stored", lambda *a: passes.append(1) or real(*a)
    )
    result = store.append(Batch.from_columns(again), refuse=False)
    assert passes == []
    want = np.full(800, AppendStatus.DUPLICATE)
    want[7] = AppendStatus.CONFLICT
    assert result.status.tolist() == want.tolist()
    assert "rating" in result.rejections[0].reason
    assert _frame_rows(store.scan()) == before
    store.close()


def test_erasing_a_referrer_drops_the_digest_of_the_rows_it_changes(postgres_url):
    store = open_storage(postgres_url)
    cols = make_columns(300, seed=51)  # referrer "C0" on about a quarter of the rows
    # C0's own events are deleted; the others C0 referred keep their row, not C0
    pairs = zip(cols["referrer"], cols["customer"], strict=True)
    referred = int(sum(r == "C0" != c for r, c in pairs))
    store.append(Batch.from_columns(cols))
    store.forget("C0")
    with plain(postgres_url) as con:
        rows = con.execute(
            "SELECT count(*) FILTER (WHERE digest IS NULL), count(*) FILTER (WHERE referrer "
            "IS NULL AND digest IS NOT NULL) FROM event"
        ).fetchone()
    # the changed rows lost their digest; those that never had a referrer kept theirs
    assert rows[0] == referred > 0
    assert rows[0] + rows[1] == store.count()
    store.close()


def test_ids_of_many_lengths_and_text_with_control_characters_round_trip(postgres_url):
    store = open_storage(postgres_url)
    n = 50
    cols = make_columns(n, seed=3)
    cols["event_id"] = np.array([f"e{'x' * (i % 9)}{i}" for i in range(n)], dtype=object)
    cols["touchpoint"] = np.array(
        [
            ["tab\there", "new\nline", "back\\slash", "quote'\"", "emoji 🎉"][i % 5]
            for i in range(n)
        ],
        dtype=object,
    )
    store.append(Batch.from_columns(cols))
    frame = store.scan()
    got = dict(zip(frame["event_id"].tolist(), frame["touchpoint"].tolist(), strict=True))
    assert got == dict(zip(cols["event_id"].tolist(), cols["touchpoint"].tolist(), strict=True))
    store.close()


def test_two_writers_racing_on_the_same_ids_store_each_once(postgres_url):
    """Writer A inserted ids and has not committed; writer B, with some of the same ids
    (one with other values), waits on them and then reports them as duplicates and a
    conflict: nothing doubled, nothing lost, nothing overwritten."""
    a, b = PostgresStorage.from_url(postgres_url), PostgresStorage.from_url(postgres_url)
    cols = make_columns(200, seed=11)
    cols["event_id"] = uuids(200, seed=12)
    mine = {k: v[:120] for k, v in cols.items()}
    theirs = {k: v[80:].copy() for k, v in cols.items()}
    theirs["amount"][0] = 55555.0  # e80 differs from A's copy
    a_pid = a._con.execute("SELECT pg_backend_pid()").fetchone()[0]
    b_pid = b._con.execute("SELECT pg_backend_pid()").fetchone()[0]
    hold, results = threading.Event(), {}
    real = _postgres_append.write_quarantine

    def paused(store, con, batch_id, rejections):
        if store is a:
            hold.wait(30)  # A's rows are in, not committed
        return real(store, con, batch_id, rejections)

    _postgres_append.write_quarantine = paused
    try:
        ta = threading.Thread(
            target=lambda: results.setdefault("a", a.append(Batch.from_columns(mine)))
        )
        ta.start()
        watcher = plain(postgres_url)
        _wait_until(lambda: _inserted(watcher, a_pid))
        tb = threading.Thread(
            target=lambda: results.setdefault(
                "b", b.append(Batch.from_columns(theirs), refuse=False)
            )
        )
        tb.start()
        _wait_until(lambda: _waiting_on_a_lock(watcher, b_pid))
        hold.set()
        ta.join(30)
        tb.join(30)
    finally:
        _postgres_append.write_quarantine = real
        hold.set()
    assert results["a"].committed and (results["a"].status == AppendStatus.ACCEPTED).all()
    status = results["b"].status
    assert status[0] == AppendStatus.CONFLICT and "amount" in results["b"].rejections[0].reason
    assert (status[1:40] == AppendStatus.DUPLICATE).all()
    assert (status[40:] == AppendStatus.ACCEPTED).all()
    frame = a.scan()
    assert sorted(frame["event_id"].tolist()) == sorted(cols["event_id"].tolist())
    stored = dict(zip(frame["event_id"].tolist(), frame["amount"].tolist(), strict=True))
    assert stored[cols["event_id"][80]] == cols["amount"][80] or np.isnan(cols["amount"][80])
    watcher.close()
    a.close()
    b.close()


def _wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def _inserted(con, pid) -> bool:
    row = con.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return (
        row is not None
        and row[0] == "idle in transaction"
        and "quarantine" not in row[1]
        and "UPDATE batch" in row[1]
    )


def _waiting_on_a_lock(con, pid) -> bool:
    row = con.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()
    return row is not None and row[0] == "Lock"


# ---------------------------------------------------------------------- scans


def test_scans_across_blocks_keep_storage_order_and_filters(postgres_url, monkeypatch):
    monkeypatch.setattr(_postgres_scan, "SCAN_PAGES", 2)  # many blocks
    store = open_storage(postgres_url)
    parts = [make_columns(400, seed=s, prefix=f"s{s}-") for s in (1, 2)]
    for cols in parts:
        store.append(Batch.from_columns(cols))
    frame = store.scan()
    # storage order: batch by batch, and within a batch by event id (the insert order)
    want = [e for cols in parts for e in sorted(cols["event_id"].tolist())]
    assert frame["event_id"].tolist() == want
    start, end = T0 + np.timedelta64(3, "D"), T0 + np.timedelta64(9, "D")
    sub = store.scan(start=str(start), end=end.astype(dt.datetime), customers=["C2", "C5"])
    expect = {
        e
        for cols in parts
        for e, t, c in zip(cols["event_id"], cols["time"], cols["customer"], strict=True)
        if start <= t < end and c in ("C2", "C5")
    }
    assert set(sub["event_id"].tolist()) == expect and len(sub) == len(expect)
    # a filtered frame carries only the categories its rows use
    assert set(sub.categories["customer"].tolist()) == {"C2", "C5"} & {
        c for cols in parts for c in cols["customer"].tolist()
    }
    store.close()


# ---------------------------------------------------------------------- outbox


def _row(key: str, send_at: int = 100) -> dict:
    return {
        "key": key,
        "customer": key.split("/")[1],
        "channel": "hook",
        "purpose": "service",
        "address": "c@example.com",
        "body": "Hello",
        "send_at": send_at,
    }


def test_a_claim_skips_rows_another_transaction_locks_instead_of_waiting(postgres_url):
    store = open_storage(postgres_url + "&lock_timeout=30000")
    store.enqueue([_row(f"k{i}/C{i}/2026") for i in range(4)], now=0)
    other = plain(postgres_url)
    other.execute("BEGIN")
    other.execute("SELECT key FROM outbox WHERE key = 'k0/C0/2026' FOR UPDATE")
    t = time.monotonic()
    got = store.claim_outbox("A", now=200, lease_until=900)
    assert time.monotonic() - t < 5  # no wait on the locked row
    assert [r["key"] for r in got] == ["k1/C1/2026", "k2/C2/2026", "k3/C3/2026"]
    other.execute("ROLLBACK")
    assert [r["key"] for r in store.claim_outbox("B", now=200, lease_until=900)] == ["k0/C0/2026"]
    other.close()
    store.close()


def test_enqueue_reports_repeated_keys_of_one_call_as_duplicates(postgres_url):
    store = open_storage(postgres_url)
    rows = [_row("a/C1/1"), _row("b/C2/1"), _row("a/C1/1"), _row("c/C3/1")]
    assert store.enqueue(rows, now=0) == ["a/C1/1"]
    assert store.enqueue([_row("c/C3/1"), _row("d/C4/1")], now=0) == ["c/C3/1"]
    assert [r["key"] for r in store.outbox()] == ["a/C1/1", "b/C2/1", "c/C3/1", "d/C4/1"]
    store.close()


# ---------------------------------------------------------------------- failures


def test_a_lock_held_past_lock_timeout_fails_clearly_and_changes_nothing(postgres_url):
    store = open_storage(postgres_url + "&lock_timeout=300")
    store.append(Batch.from_columns(make_columns(10, seed=1)))
    other = plain(postgres_url)
    other.execute("BEGIN")
    other.execute("LOCK TABLE event IN ACCESS EXCLUSIVE MODE")
    t = time.monotonic()
    with pytest.raises(
        StorageError, match=r"held a lock for more than 300 ms .*nothing was changed"
    ):
        store.append(Batch.from_columns(make_columns(10, seed=2, prefix="x")))
    assert time.monotonic() - t < 10
    other.execute("ROLLBACK")
    assert store.count() == 10  # the refused batch left nothing, not even half
    assert store.append(Batch.from_columns(make_columns(10, seed=2, prefix="x"))).committed
    assert store.count() == 20
    other.close()
    store.close()


def test_a_lost_connection_fails_one_call_then_reconnects(postgres_url, postgres_server):
    store = open_storage(postgres_url)
    store.append(Batch.from_columns(make_columns(5, seed=1)))
    pid = store._con.execute("SELECT pg_backend_pid()").fetchone()[0]
    postgres_server.psql(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(StorageError, match="reading failed"):
        store.count()
    assert store.count() == 5  # a new connection, the same data
    assert store.append(Batch.from_columns(make_columns(5, seed=2, prefix="y"))).committed
    assert store.count() == 10
    store.close()


# ---------------------------------------------------------------------- erasure


PERSON = {
    "id": "CUST-ZX-4711",
    "name": "Zoë Quartermaine",
    "email": "zoe.quartermaine@example.org",
    "phone": "+86 139 0471 1000",
}


def _needles() -> list[bytes]:
    out = []
    for value in PERSON.values():  # four values, a few encodings each
        out += [value.encode(), json.dumps(value).encode()[1:-1]]
    return sorted(set(out))


def _fill_with_the_person(store) -> dict:
    who = PERSON["id"]
    cols = make_columns(120, seed=21, customers=5)
    cols["customer"][:30] = who
    cols["referrer"][:] = None
    cols["referrer"][30:40] = who  # others referred by them
    cols["event_id"][:3] = [f"birthday/{who}/{y}" for y in (2024, 2025, 2026)]  # dispatch keys
    store.append(Batch.from_columns(cols))
    bad = {
        k: v[[0, 35]].copy() for k, v in cols.items()
    }  # quarantined: theirs, and one naming them
    bad["amount"][:] = [1e6, 2e6]
    store.append(Batch.from_columns(bad), refuse=False)
    store.upsert_customers(
        [
            Customer(
                who,
                name=PERSON["name"],
                email=PERSON["email"],
                phone=PERSON["phone"],
                consents=[Consent("email", "service")],
            ),
            Customer("C9", name="Other Person", referrer=who),
        ]
    )
    store.add_promises(
        [
            Promise(
                "P1",
                who,
                f"call {PERSON['name']}",
                made_at=dt.datetime(2026, 3, 1),
                due=dt.datetime(2026, 3, 9),
            )
        ]
    )
    store.add_complaints(
        [Complaint("K1", who, opened_at=dt.datetime(2026, 3, 2), cause=PERSON["phone"])]
    )
    store.log_contact(
        Message("m1", who, PERSON["email"], f"Dear {PERSON['name']}"),
        Delivery("m1", "smtp", "sent"),
    )
    store.enqueue([{**_row(f"b/{who}/2026"), "address": PERSON["email"]}], now=0)
    store.save_scores("value", [who, "C1"], {"v": np.array([1.0, 2.0])})
    return cols


def _table_texts(url: str) -> dict[str, str]:
    with plain(url) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema_of(url)]
            ).fetchall()
        ]
        return {
            t: "\n".join(r[0] for r in con.execute(f"SELECT x::text FROM {t} AS x").fetchall())
            for t in tables
        }


def _relation_files(url: str, server) -> list[str]:
    with plain(url) as con:
        paths = [
            r[0]
            for r in con.execute(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'i', 't') "
                "UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.reltoastrelid <> 0 "
                "UNION SELECT pg_relation_filepath(i.indexrelid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_index i ON i.indrelid = c.reltoastrelid WHERE n.nspname = %s",
                [schema_of(url)] * 3,
            ).fetchall()
            if r[0]
        ]
    files = []
    for rel in paths:  # each relation's segments and forks
        base = os.path.join(server.datadir, rel)
        folder = os.path.dirname(base)
        files += [
            os.path.join(folder, f)
            for f in os.listdir(folder)
            if f == os.path.basename(base) or f.startswith(os.path.basename(base) + ".")
        ]
    return files


def _found_in(files: list[str]) -> list[str]:
    hits = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        hits += [f"{os.path.basename(path)}: {n!r}" for n in _needles() if n in data]
    return hits


def test_forget_leaves_no_personal_value_in_any_table(postgres_url):
    store = open_storage(postgres_url)
    cols = _fill_with_the_person(store)
    before = _table_texts(postgres_url)
    assert any(PERSON["email"] in text for text in before.values())  # the search can find it
    removed = store.forget(PERSON["id"])
    assert removed["interactions"] == 30 and removed["referrals"] == 10
    assert removed["documents"] == 3 and removed["referred_customers"] == 1
    assert removed["contacts"] == 1 and removed["outbox"] == 1 and removed["scores"] == 1
    assert removed["quarantined"] == 1 and removed["quarantine_scrubbed"] == 1
    for table, text in _table_texts(postgres_url).items():  # every row of every table
        for value in PERSON.values():
            assert value not in text, f"{value!r} still in table {table}"
    assert store.count() == 90 and store.customer("C9").referrer is None
    assert store.is_suppressed(PERSON["id"]) and store.pending_erasure() is None
    frame = store.scan()
    assert set(frame["event_id"].tolist()) == set(cols["event_id"][30:].tolist())
    store.close()


def test_forget_with_rewrite_leaves_no_byte_of_them_in_the_table_files(postgres_server):
    url = postgres_server.url(
        "touchpoint", user="app", schema=f"e_{uuid.uuid4().hex[:10]}", erase="rewrite"
    )
    store = open_storage(url)
    _fill_with_the_person(store)
    postgres_server.psql("CHECKPOINT")
    assert _found_in(_relation_files(url, postgres_server))  # there before
    store.forget(PERSON["id"])
    postgres_server.psql("CHECKPOINT")  # old files of rewritten tables are removed here
    assert _found_in(_relation_files(url, postgres_server)) == []
    store.close()


def test_forget_waits_for_older_snapshots_and_finish_erasure_completes_it(postgres_server):
    url = postgres_server.url(
        "touchpoint", user="app", schema=f"w_{uuid.uuid4().hex[:10]}", erase="rewrite"
    )
    store = open_storage(url)
    _fill_with_the_person(store)
    reader = plain(url)
    reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    assert reader.execute("SELECT count(*) FROM event").fetchone()[0] > 0  # snapshot taken
    reader_pid = reader.execute("SELECT pg_backend_pid()").fetchone()[0]
    t = time.monotonic()
    with pytest.raises(ErasureIncomplete, match=rf"pid {reader_pid} .*finish_erasure") as info:
        store.forget(PERSON["id"], wait=0.5)
    assert 0.5 <= time.monotonic() - t < 5
    assert info.value.customer == PERSON["id"] and info.value.removed["interactions"] == 30
    # the tables are erased already (for everyone but the old snapshot)
    for text in _table_texts(url).values():
        assert PERSON["email"] not in text
    assert store.pending_erasure()["forgets"] == 1
    with pytest.raises(ErasureIncomplete):
        store.finish_erasure(wait=0.2)
    reader.execute("ROLLBACK")
    assert store.finish_erasure(wait=5) is True
    assert store.pending_erasure() is None and store.finish_erasure() is False
    postgres_server.psql("CHECKPOINT")
    assert _found_in(_relation_files(url, postgres_server)) == []
    reader.close()
    store.close()


def test_forget_with_defer_leaves_the_files_to_finish_erasure(postgres_server):
    url = postgres_server.url(
        "touchpoint", user="app", schema=f"d_{uuid.uuid4().hex[:10]}", erase="defer"
    )
    store = open_storage(url)
    _fill_with_the_person(store)
    store.forget(PERSON["id"])
    pending = store.pending_erasure()
    assert pending["forgets"] == 1 and "event" in pending["tables"]
    assert store.finish_erasure() is True and store.pending_erasure() is None
    store.close()


def test_an_erasure_waits_for_appends_in_flight_and_later_ones_see_it(postgres_url):
    """A writer holding a batch open delays forget; once forget commits, the customer's
    new rows are refused: nothing of theirs lands after the erasure."""
    who = PERSON["id"]
    writer, eraser = PostgresStorage.from_url(postgres_url), PostgresStorage.from_url(postgres_url)
    hold, done = threading.Event(), {}
    real = _postgres_append.write_quarantine

    def paused(store, con, batch_id, rejections):
        if store is writer:
            hold.wait(30)
        return real(store, con, batch_id, rejections)

    cols = make_columns(20, seed=5)
    cols["customer"][:] = who
    cols["referrer"][:] = None
    _postgres_append.write_quarantine = paused
    try:
        tw = threading.Thread(
            target=lambda: done.setdefault("w", writer.append(Batch.from_columns(cols)))
        )
        tw.start()
        time.sleep(0.3)
        tf = threading.Thread(target=lambda: done.setdefault("f", eraser.forget(who)))
        tf.start()
        time.sleep(0.3)
        assert "f" not in done  # forget waits for the batch in flight
        hold.set()
        tw.join(30)
        tf.join(30)
    finally:
        _postgres_append.write_quarantine = real
        hold.set()
    assert done["w"].committed and done["f"]["interactions"] == 20  # erased after it landed
    later = make_columns(3, seed=6, prefix="late")
    later["customer"][:] = who
    later["referrer"][:] = None
    result = writer.append(Batch.from_columns(later), refuse=False)
    assert (result.status == AppendStatus.SUPPRESSED).all() and writer.count() == 0
    writer.close()
    eraser.close()


def test_a_key_value_connection_string_is_masked_too(postgres_server):
    conninfo = (
        f"host=127.0.0.1 port={postgres_server.port} dbname=touchpoint user=app password='x y'"
    )
    store = PostgresStorage(conninfo, schema="kv")
    try:
        assert "x y" not in store.url and "password=***" in store.url
    finally:
        store.close()


def test_a_schema_that_cannot_be_created_is_named(postgres_server):
    postgres_server.psql("CREATE ROLE guest LOGIN")
    url = postgres_server.url("touchpoint", user="guest", schema="guest_space")
    with pytest.raises(
        StorageError, match=r"cannot create or migrate the tables in schema 'guest_space'"
    ):
        open_storage(url)
