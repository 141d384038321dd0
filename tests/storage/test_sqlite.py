"""SQLite specifics: real files, pragmas, schema versions, erasure down to the file bytes."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.channels.base import Delivery, Message
from touchpoint.errors import StorageError
from touchpoint.model import Customer
from touchpoint.storage import AppendStatus, Batch, open_storage
from touchpoint.storage._sqlite_schema import SCHEMA_VERSION
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.testing import make_columns


@pytest.fixture
def path(tmp_path):
    return tmp_path / "shop.db"


def test_pragmas_and_schema_version(path):
    store = open_storage(f"sqlite:///{path}?busy_timeout=1234")
    con = store._con
    assert con.isolation_level is None
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_data_survives_reopening_and_a_second_connection_sees_it(path):
    cols = make_columns(500)
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
        with SqliteStorage(str(path)) as other:  # a second connection, as another process would
            assert other.count() == 500
    with SqliteStorage(str(path)) as store:
        frame = store.scan()
        assert sorted(frame["event_id"].tolist()) == sorted(cols["event_id"].tolist())
        assert np.nansum(frame["amount"]) == pytest.approx(np.nansum(cols["amount"]))


def test_a_database_from_a_newer_version_is_refused(path):
    SqliteStorage(str(path)).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="newer than this touchpoint understands"):
        SqliteStorage(str(path))


def test_bad_urls_say_what_to_write():
    with pytest.raises(StorageError, match=r"sqlite:///relative.db"):
        open_storage("sqlite://host/x.db")
    with pytest.raises(StorageError, match="unknown option"):
        open_storage("sqlite:///x.db?fast=yes")
    with pytest.raises(
        StorageError,
        match=r"no storage plugin for mysql:// \(known: memory://, postgres://, postgresql://, sqlite://\)",
    ):
        open_storage("mysql://db/x")


def test_the_same_100k_batch_twice_stores_100k_events(path):
    cols = make_columns(100_000, customers=5000)
    with SqliteStorage(str(path)) as store:
        first = store.append(Batch.from_columns(cols))
        second = store.append(Batch.from_columns(cols))
        assert (first.status == AppendStatus.ACCEPTED).all()
        assert (second.status == AppendStatus.DUPLICATE).all()
        assert store.count() == 100_000
        assert store._con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 100_000
        assert len(store.scan()) == 100_000


def _file_bytes(path):
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_forget_leaves_no_trace_in_the_file(path):
    email = "wang.fang.unique@example.com"
    cols = make_columns(3000, customers=20)
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
        store.upsert_customers(
            [
                Customer("C3", name="Wang Fang", email=email),
                Customer("C4", email="keep@example.com"),
            ]
        )
        store.log_contact(
            Message("k1", "C3", email, "Dear Wang Fang"), Delivery("k1", "smtp", "sent")
        )
        store.save_scores("value", ["C3", "C4"], {"v": np.array([1.0, 2.0])})
        store.enqueue(  # a queued contact holds the address and a personal body too
            [
                {
                    "key": "bday/C3/2026",
                    "customer": "C3",
                    "channel": "smtp",
                    "address": email,
                    "subject": "Happy birthday",
                    "body": "Dear Wang Fang",
                }
            ],
            now=0,
        )
        assert email.encode() in _file_bytes(path)
        assert store.forget("C3")["outbox"] == 1
        assert store.outbox() == []
        raw = _file_bytes(path)
        assert email.encode() not in raw and b"Wang Fang" not in raw
        assert b"keep@example.com" in raw  # other customers untouched
        assert path.with_name(path.name + "-wal").stat().st_size == 0  # WAL truncated
        later = make_columns(5, prefix="late")
        later["customer"][:] = "C3"
        result = store.append(Batch.from_columns(later))
        assert not result.committed and (result.status == AppendStatus.SUPPRESSED).all()
        assert "forgotten" in result.rejections[0].reason
    with SqliteStorage(str(path)) as store:  # reopened: still nothing about C3
        doc = json.loads(store.export("C3"))
        assert doc["customer"] is None and doc["interactions"] == [] and store.is_suppressed("C3")


def test_an_sqlite_with_a_low_parameter_limit_stores_every_row(path):
    """An SQLite built with few parameters per statement (999 before 3.32; 40 here)
    still stores every row, with the values plain SQL reads back."""
    cols = make_columns(1000, customers=30, seed=3)
    store = SqliteStorage(str(path))
    store._con.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
    assert (store.append(Batch.from_columns(cols)).status == AppendStatus.ACCEPTED).all()
    rows = dict(store._read("SELECT event_id, customer FROM interactions"))
    assert rows == dict(zip(cols["event_id"].tolist(), cols["customer"].tolist(), strict=True))
    store.close()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), min_size=0, max_size=40),
        min_size=1,
        max_size=5,
    )
)
def test_random_batches_store_the_first_version_of_each_event(batches):
    """Invariant: every event id is stored once, with the values it first arrived with."""
    store = SqliteStorage(":memory:")
    reference: dict[str, int] = {}
    for k, rows in enumerate(batches):
        ids = [f"e{i}" for i, _ in rows]
        variant = [v for _, v in rows]
        cols = {
            "event_id": np.array(ids, dtype=object),
            "customer": np.array([f"C{v}" for v in variant], dtype=object),
            "touchpoint": np.array(["T"] * len(rows), dtype=object),
            "time": np.full(len(rows), np.datetime64("2026-01-01", "us")),
        }
        if not rows:
            continue
        result = store.append(Batch.from_columns(cols), refuse=False)
        for j, (i, v) in enumerate(rows):
            eid = f"e{i}"
            if eid not in reference:
                assert result.status[j] == AppendStatus.ACCEPTED, (k, j)
                reference[eid] = v
            elif reference[eid] == v:
                assert result.status[j] == AppendStatus.DUPLICATE
            else:
                assert result.status[j] == AppendStatus.CONFLICT
    frame = store.scan()
    got = dict(zip(frame["event_id"].tolist(), frame["customer"].tolist(), strict=True))
    assert got == {e: f"C{v}" for e, v in reference.items()}
    assert store.count() == len(reference)


def test_a_version_1_database_migrates_to_the_outbox(tmp_path):
    """A database written before the outbox existed gains it on open, data intact."""
    from touchpoint.storage import _sqlite_schema

    path = tmp_path / "v1.db"
    con = sqlite3.connect(path, isolation_level=None)
    saved = _sqlite_schema.MIGRATIONS
    try:
        _sqlite_schema.MIGRATIONS = saved[:1]
        _sqlite_schema.migrate(con, str(path))
    finally:
        _sqlite_schema.MIGRATIONS = saved
    con.execute("INSERT INTO suppression VALUES ('h', '2026-01-01')")
    assert not con.execute("SELECT name FROM sqlite_master WHERE name = 'outbox'").fetchall()
    con.close()
    store = SqliteStorage(str(path))
    try:
        assert store.enqueue([{"key": "k/C1/1", "customer": "C1", "channel": "c"}], now=5) == []
        assert [r["state"] for r in store.outbox()] == ["pending"]
        assert store._read("SELECT hash FROM suppression") == [("h",)]
        versions = [(v,) for v, _ in _sqlite_schema.MIGRATIONS]
        assert store._read("SELECT version FROM schema_version ORDER BY version") == versions
    finally:
        store.close()


# --------------------------------------------------------------------------- schema 4


def _reference_key(event_id: str) -> int:
    """`event_keys` in plain Python integers, written from its docstring (an independent check)."""
    mask = 2**64 - 1

    def fmix(h: int) -> int:
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & mask
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & mask
        return h ^ (h >> 33)

    data = event_id.encode("ascii")
    h = fmix((len(data) * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) & mask)
    for j in range(0, len(data), 8):
        word = int.from_bytes(data[j : j + 8].ljust(8, b"\0"), "little")
        h = ((h ^ word) * 0xFF51AFD7ED558CCD) & mask
        h ^= h >> 29
    h = fmix(h)
    return h - 2**64 if h >= 2**63 else h


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text("abcXYZ0189-_./", min_size=1, max_size=41), min_size=1, max_size=30))
def test_event_keys_follow_their_definition_whatever_the_width(ids):
    from touchpoint.storage._sqlite_keys import event_keys

    keys = event_keys(np.array(ids, dtype="S"))
    assert keys.tolist() == [_reference_key(i) for i in ids]
    wide = event_keys(np.array(ids, dtype="S64"))  # the array's width does not matter
    assert wide.tolist() == keys.tolist()


def _uuid4s(n: int, seed: int) -> np.ndarray:
    """``n`` random UUID4 texts as an ``S36`` array, built with numpy."""
    rng = np.random.default_rng(seed)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[
        rng.integers(0, 16, (n, 32), dtype=np.uint8)
    ]
    digits[:, 12] = ord("4")
    digits[:, 16] = np.frombuffer(b"89ab", dtype=np.uint8)[rng.integers(0, 4, n)]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = digits
    return out.view("S36").reshape(n)


def test_event_keys_do_not_collide_on_a_million_uuids():
    import uuid

    from touchpoint.storage._sqlite_keys import event_keys

    ids = _uuid4s(1_000_000, 7)
    assert uuid.UUID(ids[0].decode()).version == 4
    keys = event_keys(ids)
    ordered = np.sort(keys)
    assert (ordered[1:] != ordered[:-1]).all()  # a collision here: one chance in 37 million
    # and the bits are even: each of the 64 is set in about half of the keys
    bits = keys.view(np.uint64)
    share = np.array([((bits >> np.uint64(j)) & np.uint64(1)).mean() for j in range(64)])
    assert np.abs(share - 0.5).max() < 0.003  # 6 standard errors of a fair bit


_PLAIN_READER = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
count = con.execute("select count(*) from interactions").fetchone()[0]
cur = con.execute("select * from interactions order by event_id")
names = [d[0] for d in cur.description]
print(json.dumps({"count": count, "names": names, "rows": cur.fetchall()}))
"""


def test_interactions_are_readable_by_plain_sql_without_touchpoint(path):
    """`select count(*) from interactions` and every value, from a process without touchpoint."""
    import subprocess
    import sys

    cols = make_columns(400, seed=11, customers=9)
    cols["time"][0] = np.datetime64("1969-12-31T23:59:58.250000", "us")  # before 1970
    cols["staff"] = np.array(["S1", None] * 200, dtype=object)
    cols["indicator"] = np.array([None, "NPS"] * 200, dtype=object)
    cols["customer"][1] = "客户-1"
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
    out = subprocess.run(  # -I: isolated, touchpoint is not importable
        [sys.executable, "-I", "-c", _PLAIN_READER, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["count"] == 400
    assert got["names"][:8] == [
        "event_id",
        "customer",
        "time",
        "touchpoint",
        "channel",
        "direction",
        "outcome",
        "amount",
    ]
    rows = [dict(zip(got["names"], r, strict=True)) for r in got["rows"]]
    order = np.argsort(cols["event_id"].astype(str))
    for row, i in zip(rows, order, strict=True):
        t = cols["time"][i].astype("datetime64[us]")
        want = {
            "event_id": cols["event_id"][i],
            "customer": cols["customer"][i],
            "time": str(t) + "Z",  # ISO 8601 text with microseconds
            "time_us": int(t.astype(np.int64)),
            "touchpoint": cols["touchpoint"][i],
            "channel": cols["channel"][i],
            "direction": cols["direction"][i],
            "outcome": cols["outcome"][i],
            "staff": cols["staff"][i],
            "indicator": cols["indicator"][i],
            "referrer": cols["referrer"][i],
        }
        for name in ("amount", "rating", "response_time"):
            v = float(cols[name][i])
            want[name] = None if np.isnan(v) else v
        assert {k: row[k] for k in want} == want
    assert rows[0]["time"] <= "9999"  # text, as SQLite's date functions read it


def _view_rows(store) -> dict[str, tuple]:
    rows = store._read("SELECT event_id, customer, referrer, amount, time_us FROM interactions")
    return {r[0]: r[1:] for r in rows}


def _scan_rows(store) -> dict[str, tuple]:
    f = store.scan()
    amount = [None if np.isnan(a) else float(a) for a in f["amount"]]
    times = f["time"].astype(np.int64).tolist()
    return {
        e: (c, r, a, t)
        for e, c, r, a, t in zip(
            f["event_id"].tolist(),
            f["customer"].tolist(),
            f["referrer"].tolist(),
            amount,
            times,
            strict=True,
        )
    }


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("append"),
                st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), max_size=25),
            ),
            st.tuples(st.just("forget"), st.integers(0, 3)),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([None, 5, 1]),
    st.sampled_from([256, 3, 1]),
    st.sampled_from([4096, 7]),
)
def test_rows_and_scan_cache_agree_whatever_happens(operations, modulus, per_insert, block):
    """Invariant: the SQL rows (`interactions`) and the scan are the same events, each
    stored once with its first values, also when keys collide (``modulus``: every key
    taken modulo 5, or one key for all; colliding rows may share one multi-row
    ``INSERT``: ``per_insert`` rows a statement) and after forget, over one scan-cache
    block or many (``block`` rows at most: ids of different widths in each)."""
    import touchpoint.storage._sqlite_append as appending

    real = appending.event_keys
    saved = appending.ROWS_PER_INSERT, appending.CHUNK_ROWS
    appending.ROWS_PER_INSERT, appending.CHUNK_ROWS = per_insert, block
    if modulus is not None:
        appending.event_keys = lambda ids: real(ids) % modulus
    try:
        store = SqliteStorage(":memory:")
        reference: dict[str, tuple] = {}
        forgotten: set[str] = set()
        for op, arg in operations:
            if op == "forget":
                who = f"C{arg}"
                store.forget(who)
                forgotten.add(who)
                reference = {
                    e: (c, None if r == who else r, a, t)
                    for e, (c, r, a, t) in reference.items()
                    if c != who
                }
                continue
            if not arg:
                continue
            ids = [f"e{i}" for i, _ in arg]
            who = [f"C{(i + v) % 4}" for i, v in arg]
            amount = [float(v) for _, v in arg]
            cols = {
                "event_id": np.array(ids, dtype=object),
                "customer": np.array(who, dtype=object),
                "touchpoint": np.array(["T"] * len(arg), dtype=object),
                "referrer": np.array([f"C{i % 4}" for i, _ in arg], dtype=object),
                "amount": np.array(amount),
                "time": np.array([1_000 * i for i, _ in arg]).astype("datetime64[us]"),
            }
            result = store.append(Batch.from_columns(cols), refuse=False)
            unmatched: set[str] = set()  # ids whose first row in this batch was suppressed
            seen: set[str] = set()
            for j, (e, c, r, a) in enumerate(zip(ids, who, cols["referrer"], amount, strict=True)):
                first_here = e not in seen
                seen.add(e)
                if c in forgotten or r in forgotten:
                    assert result.status[j] == AppendStatus.SUPPRESSED
                    if first_here:
                        unmatched.add(e)
                elif e in unmatched:  # a repeat of a row that was not stored: a conflict
                    assert result.status[j] == AppendStatus.CONFLICT
                elif e not in reference:
                    assert result.status[j] == AppendStatus.ACCEPTED
                    reference[e] = (c, r, a, 1_000 * int(e[1:]))
                elif reference[e][0] == c and reference[e][2] == a and reference[e][1] == r:
                    assert result.status[j] == AppendStatus.DUPLICATE
                else:
                    assert result.status[j] == AppendStatus.CONFLICT
        assert _view_rows(store) == reference
        assert _scan_rows(store) == reference
        assert store.count() == len(reference)
    finally:
        appending.event_keys = real
        appending.ROWS_PER_INSERT, appending.CHUNK_ROWS = saved


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=5),
    st.one_of(st.none(), st.integers(0, 200)),
    st.one_of(st.none(), st.integers(0, 200)),
    st.one_of(st.none(), st.sets(st.integers(0, 9), max_size=4)),
    st.one_of(st.none(), st.sets(st.integers(0, 4), max_size=3)),
)
def test_a_filtered_scan_is_the_plain_sql_rows_filtered(sizes, start, end, customers, touchpoints):
    """The scan, with any filter, gives the rows and values the ``interactions`` view
    gives filtered in Python: over several scan-cache blocks (some kept whole, some
    partly, some not at all), each batch with event ids of its own width (one to four
    digits after a prefix)."""
    import touchpoint.storage._sqlite_append as appending

    saved = appending.CHUNK_ROWS
    appending.CHUNK_ROWS = 16
    try:
        store = SqliteStorage(":memory:")
        at = 0
        for b, size in enumerate(sizes):
            i = np.arange(at, at + size)
            at += size
            store.append(
                Batch.from_columns(
                    {
                        "event_id": np.array([f"e{b}-{j}" for j in i * 37 % 10**b], dtype=object),
                        "customer": np.array([f"C{j % 10}" for j in i], dtype=object),
                        "touchpoint": np.array([f"T{j % 5}" for j in i], dtype=object),
                        "outcome": np.array([None, "won"] * size, dtype=object)[:size],
                        "amount": np.where(i % 3 == 0, np.nan, i * 0.5),
                        "time": (i * 7 % 211).astype("datetime64[us]"),
                        "direction": np.array(["inbound", "outbound", "outbound"] * size)[:size],
                    }
                ),
                refuse=False,
            )
        kw = {
            "start": None if start is None else np.datetime64(start, "us"),
            "end": None if end is None else np.datetime64(end, "us"),
            "customers": None if customers is None else [f"C{c}" for c in customers],
            "touchpoints": None if touchpoints is None else [f"T{t}" for t in touchpoints],
        }
        f = store.scan(**kw)
        got = sorted(
            zip(
                f["event_id"].tolist(),
                f["customer"].tolist(),
                f["touchpoint"].tolist(),
                f["outcome"].tolist(),
                [None if np.isnan(a) else float(a) for a in f["amount"]],
                f["time"].astype(np.int64).tolist(),
                f["direction"].tolist(),
                strict=True,
            )
        )
        want = sorted(
            r
            for r in store._read(
                "SELECT event_id, customer, touchpoint, outcome, amount, time_us, direction "
                "FROM interactions"
            )
            if (start is None or r[5] >= start)
            and (end is None or r[5] < end)
            and (kw["customers"] is None or r[1] in kw["customers"])
            and (kw["touchpoints"] is None or r[2] in kw["touchpoints"])
        )
        assert got == want
        assert f["event_id"].dtype.kind == "U"
        store.close()
    finally:
        appending.CHUNK_ROWS = saved


def test_a_colliding_event_comes_back_as_a_duplicate_after_its_key_holder_is_forgotten(
    path, monkeypatch
):
    """The overflow row is found by its full id even once the key is free again."""
    import touchpoint.storage._sqlite_append as appending

    monkeypatch.setattr(appending, "event_keys", lambda ids: np.zeros(len(ids), np.int64))

    def batch(ids, who):
        return Batch.from_columns(
            {
                "event_id": np.array(ids, dtype=object),
                "customer": np.array(who, dtype=object),
                "touchpoint": np.array(["T"] * len(ids), dtype=object),
                "time": np.full(len(ids), np.datetime64("2026-01-01", "us")),
            }
        )

    with SqliteStorage(str(path)) as store:
        assert store.append(batch(["a", "b"], ["C1", "C2"])).status.tolist() == [0, 0]
        assert store._read("SELECT event_id FROM event WHERE key IS NULL") == [("b",)]
        store.forget("C1")  # "a" held the key; now nobody does
        again = store.append(batch(["b", "c"], ["C2", "C3"]))
        assert again.status.tolist() == [AppendStatus.DUPLICATE, AppendStatus.ACCEPTED]
        assert sorted(store.scan()["event_id"].tolist()) == ["b", "c"]
        assert store._read("SELECT count(*) FROM interactions WHERE event_id = 'b'") == [(1,)]


def test_scans_see_dictionary_changes_made_by_other_connections(path):
    """The dictionaries a scan keeps are read again after a forget elsewhere, even when
    the forgotten customer's id number is given to a new customer."""

    def batch(ids, who):
        return Batch.from_columns(
            {
                "event_id": np.array(ids, dtype=object),
                "customer": np.array(who, dtype=object),
                "touchpoint": np.array(["T"] * len(ids), dtype=object),
                "time": np.full(len(ids), np.datetime64("2026-01-01", "us")),
            }
        )

    with SqliteStorage(str(path)) as reader, SqliteStorage(str(path)) as writer:
        writer.append(batch(["e1", "e2"], ["C1", "C2"]))
        assert sorted(reader.scan()["customer"].tolist()) == ["C1", "C2"]
        writer.append(batch(["e3"], ["C3"]))
        assert sorted(reader.scan()["customer"].tolist()) == ["C1", "C2", "C3"]
        (top,) = writer._read("SELECT max(id) FROM dict_customer")[0]
        writer.forget("C3")  # the highest id: SQLite gives it again to the next value
        writer.append(batch(["e4"], ["C4"]))
        assert writer._read("SELECT id FROM dict_customer WHERE value = 'C4'") == [(top,)]
        frame = reader.scan()
        assert sorted(frame["customer"].tolist()) == ["C1", "C2", "C4"]
        assert "C3" not in frame.categories["customer"].tolist()


def test_a_scan_cache_out_of_step_with_the_rows_is_a_clear_error(path):
    cols = make_columns(50)
    with SqliteStorage(str(path)) as store:
        store.append(Batch.from_columns(cols))
        store._con.execute("DELETE FROM chunk")  # what a hand-made change could do
        with pytest.raises(
            StorageError, match=r"scan cache \(table chunk\) does not hold every row"
        ):
            store.append(Batch.from_columns(cols))


def test_opening_an_up_to_date_file_takes_no_write_lock(tmp_path):
    """Found by the 4-writer test in CI: a writer opening the file while another process
    held the write lock failed in the schema check with a raw 'database is locked'."""
    path = tmp_path / "w.db"
    open_storage(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        store = open_storage(f"sqlite:///{path}?busy_timeout=50")  # impatient, yet it opens
        assert store.schema_version == SCHEMA_VERSION
        store.close()
        new = tmp_path / "new.db"
        sqlite3.connect(new).execute("PRAGMA journal_mode = WAL").fetchone()
        locker = sqlite3.connect(new, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:  # a file that still needs its schema must wait: a clear error, nothing changed
            with pytest.raises(StorageError, match="write lock to create or migrate"):
                open_storage(f"sqlite:///{new}?busy_timeout=50")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_score_set_naming_a_customer_the_file_lost_is_refused_not_misread(tmp_path):
    """Saved scores hold dictionary ids: if one is gone from the dictionary (an erasure
    between the two reads), loading says so instead of reading another customer's name."""
    path = tmp_path / "s.db"
    store = open_storage(f"sqlite:///{path}")
    store.save_scores("rfm", ["C1", "C2", "C3"], {"value": np.array([1.0, 2.0, 3.0])})
    assert store.load_scores("rfm")["customer"].tolist() == ["C1", "C2", "C3"]
    store.close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("DELETE FROM dict_customer WHERE value = 'C2'")  # what a lost id looks like
    raw.close()
    store = open_storage(f"sqlite:///{path}")
    with pytest.raises(StorageError, match=r"score set 'rfm' names 1 customer ids"):
        store.load_scores("rfm")
    store.close()
