"""Make the old-file fixtures of ``test_migration.py`` with an OLD checkout of touchpoint.

Run it with the old code first on the path (see README.md in this folder)::

    git archive 306fe4c src | tar -x -C /tmp/v3
    PYTHONPATH=/tmp/v3/src python tests/storage/data/make_fixtures.py tests/storage/data

It writes ``v1.db.gz``, ``v2.db.gz`` and ``v3.db.gz`` (SQLite files of schema versions
1, 2 and 3, gzipped) and, next to each, ``vN.expected.json.gz``: everything the old code
reads back from that file (interactions, customers, promises, complaints, contacts,
outbox, scores, quarantine, suppression, meta, batches). The test opens each file with
the current code and compares with that, so the expected values come from the code
that wrote the file, not from the code under test.

Versions 1 and 2 are made by the same old code with its list of migrations cut to the
first one or two (as the project's own migration tests do); version 2 outbox rows are
written in the version 2 columns directly, since the old ``enqueue`` writes version 3
columns.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import numpy as np

from touchpoint.channels.base import Delivery, Message
from touchpoint.model import Complaint, Consent, Customer, Promise
from touchpoint.storage import _sqlite_schema
from touchpoint.storage._documents import as_plain
from touchpoint.storage.base import Batch
from touchpoint.storage.sqlite import SqliteStorage

T0 = np.datetime64("2026-03-01T08:00:00", "us")
GONE = "C-GONE-9"  # forgotten (versions 2 and 3)


def events(n: int, seed: int, prefix: str, *, uuid_ids: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    if uuid_ids:
        raw = rng.integers(0, 16, (n, 32))
        hexed = ["".join("0123456789abcdef"[d] for d in row) for row in raw]
        ids = [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}" for h in hexed]
    else:
        ids = [f"{prefix}{i:06d}" for i in range(n)]
    ids[:3] = [f"{prefix}/long.id_{'x' * 80}", f"{prefix}.dotted/and_under-score", ids[2]]
    amount = np.round(rng.gamma(2.0, 150.0, n), 2)
    amount[rng.random(n) < 0.3] = np.nan
    rating = np.where(rng.random(n) < 0.4, rng.integers(1, 6, n), np.nan).astype(float)
    response = np.where(rng.random(n) < 0.2, np.round(rng.exponential(30.0, n), 3), np.nan)
    pick = lambda values: np.array(values, dtype=object)[rng.integers(0, len(values), n)]  # noqa: E731
    return {
        "event_id": np.array(ids, dtype=object),
        "customer": np.array([f"C{i}" for i in rng.integers(0, 25, n)], dtype=object),
        "touchpoint": pick(["T-BUY", "T-VISIT", "T-SURVEY", "T-CALL"]),
        "channel": pick(["store", "phone", "email", None]),
        "time": T0
        + rng.integers(-400 * 86_400_000_000, 60 * 86_400_000_000, n).astype("timedelta64[us]"),
        "direction": pick(["inbound", "outbound"]),
        "amount": amount,
        "rating": rating,
        "response_time": response,
        "outcome": pick(["purchase", "visit", None]),
        "staff": pick(["S1", "S2", None]),
        "store": pick(["Shanghai-1", "北京-2", None]),
        "referrer": pick([None, None, None, "C3", GONE]),
        "indicator": pick([None, "IND-NPS", "IND-CSAT"]),
    }


def fill(store: SqliteStorage, version: int) -> None:
    a = events(300, 1, "a", uuid_ids=True)
    a["customer"][:12] = GONE
    store.append(Batch.from_columns(a))
    b = events(40, 2, "b")
    b["time"][0] = np.datetime64("1969-12-31T23:59:59.500001", "us")  # before 1970
    store.append(Batch.from_columns(b))  # merged into the last block
    # a block of its own (the last block would pass 4096 rows), plain values: small files
    c = events(3800, 3, "c")
    c["time"] = T0 + np.arange(3800).astype("timedelta64[s]").astype("timedelta64[us]")
    for name in ("amount", "rating", "response_time"):
        c[name][:] = np.nan
    c["amount"][::50] = 99.5
    for name in ("channel", "staff", "store", "referrer", "indicator", "outcome"):
        c[name][:] = None
    c["customer"] = np.array([f"C{i % 25}" for i in range(3800)], dtype=object)
    store.append(Batch.from_columns(c))
    # quarantine: a conflicting copy of a stored event and a repeat of one in the batch
    bad = {k: v[[20, 21, 21]].copy() for k, v in a.items()}
    bad["amount"][:] = [11111.0, 22222.0, 33333.0]
    bad["event_id"][1:] = "a-new-in-quarantine-batch"
    store.append(Batch.from_columns(bad), refuse=False)
    day = dt.datetime(2026, 3, 1, 9, 30)
    store.upsert_customers(
        [
            Customer(
                "C1",
                name="Li Na",
                email="li.na@example.com",
                phone="+86 138 0000 0001",
                timezone="Asia/Shanghai",
                consents=[Consent("email", "marketing", granted=False), Consent("sms", "service")],
                preferred_channels=["sms"],
                dates={"birthday": dt.date(1990, 5, 1), "moved_in": dt.date(2024, 9, 15)},
                segment="family",
                tier="gold",
                referrer="C3",
            ),
            Customer("C2", name="王芳", do_not_contact=True),
            Customer("C3"),
            Customer(GONE, email="gone@example.com", referrer="C1"),
            Customer("C4", referrer=GONE),
            Customer("C7", email="seven@example.com"),  # forgotten, erasure left pending (v3)
        ]
    )
    store.add_promises(
        [
            Promise(
                "P1", "C1", "free service", made_at=day, due=day + dt.timedelta(days=7), value=300
            ),
            Promise("P2", GONE, "call back", made_at=day, due=day),
        ]
    )
    store.add_complaints(
        [Complaint("K1", "C2", opened_at=day, type="service"), Complaint("K2", GONE, opened_at=day)]
    )
    store.log_contact(
        Message("k1", "C1", "li.na@example.com", "Your car is ready", subject="Service"),
        Delivery("k1", "smtp", "failed", "timeout", retryable=True),
    )
    store.log_contact(
        Message("k1", "C1", "li.na@example.com", "Your car is ready", subject="Service"),
        Delivery("k1", "smtp", "sent"),
    )
    store.log_contact(
        Message("k2", GONE, "gone@example.com", "Hello"), Delivery("k2", "smtp", "sent")
    )
    store.save_scores(
        "rfm",
        ["C1", "C2", GONE],
        {"r": np.array([5, 3, 1]), "segment": np.array(["champion", None, "lost"], dtype=object)},
    )
    store.save_scores("value", ["C3", "C1"], {"v": np.array([1.5, np.nan])})
    if version == 2:
        store._con.executemany(
            "INSERT INTO outbox (key, customer, channel, touchpoint, purpose, address, subject, "
            "body, state, attempts, next_attempt_at, last_error, created_at, sent_at) "
            "VALUES (?, ?, 'hook', 'T-BUY', 'service', 'x@example.com', 's', 'b', ?, ?, ?, ?, 5, ?)",
            [
                ("o/C1/1", "C1", "pending", 0, 100, None, None),
                ("o/C2/1", "C2", "retry", 2, 200, "HTTP 500", None),
                ("o/C3/1", "C3", "sent", 1, 100, None, 150),
                ("o/C4/1", "C4", "dead", 5, 100, "HTTP 400", None),
                (f"o/{GONE}/1", GONE, "pending", 0, 100, None, None),
            ],
        )
    if version == 3:
        row = {"channel": "hook", "touchpoint": "T-BUY", "address": "x@example.com", "body": "b"}
        store.enqueue(
            [
                {
                    **row,
                    "key": f"o/{c}/1",
                    "customer": c,
                    "send_at": 100,
                    "rule": "r1",
                    "on_cap": "skip",
                }
                for c in ("C1", "C2", "C3", "C4", "C5", "C6", GONE)
            ],
            now=5,
        )
        store.outbox_failed("o/C2/1", error="HTTP 500", next_attempt_at=200)
        store.outbox_sent("o/C3/1", at=150)
        store.outbox_failed("o/C4/1", error="HTTP 400", next_attempt_at=None)
        store.claim_outbox("A", now=100, lease_until=900, limit=2)  # C1 leased (and GONE's)
        store.claim_outbox("B", now=100, lease_until=900)  # ... and the others due
        store.outbox_held("o/C5/1", reason="no marketing consent", next_attempt_at=None, owner="B")
        store.outbox_held("o/C6/1", reason="quiet hours", next_attempt_at=700, owner="B")
    if version >= 2:
        store.forget(GONE)


def read_back(store: SqliteStorage, version: int) -> dict:
    frame = store.scan()
    columns = {name: frame[name] for name in frame.column_names}
    interactions = []
    for i in range(len(frame)):
        record = {}
        for name, values in columns.items():
            v = values[i]
            if isinstance(v, np.datetime64):
                v = str(v.astype("datetime64[us]")) + "Z"
            elif isinstance(v, np.floating):
                v = None if np.isnan(v) else float(v)
            elif isinstance(v, np.generic):
                v = v.item()
            record[name] = v
        interactions.append(record)
    scores = {}
    for (name,) in store._read("SELECT name FROM score ORDER BY name"):
        cols = store.load_scores(name)
        scores[name] = {
            k: [None if isinstance(x, float) and x != x else x for x in v.tolist()]
            for k, v in cols.items()
        }
    out = {
        "schema_version": version,
        "count": store.count(),
        "interactions": interactions,
        "customers": [as_plain(c) for c in store.customers()],
        "promises": [as_plain(p) for p in store.promises()],
        "complaints": [as_plain(k) for k in store.complaints()],
        "contacts": store.contacts(),
        "scores": scores,
        "quarantined": store.quarantined(),
        "suppression": [h for (h,) in store._read("SELECT hash FROM suppression ORDER BY hash")],
        "forgotten": GONE if version >= 2 else None,
        "meta": dict(store._read("SELECT key, value FROM meta ORDER BY key")),
        "batches": [list(r) for r in store._read("SELECT * FROM batch ORDER BY id")],
        "outbox": _outbox(store, version),
    }
    return json.loads(json.dumps(out, default=str))


def _outbox(store: SqliteStorage, version: int) -> list[dict]:
    if version == 3:
        return store.outbox()
    if version == 2:  # the version 2 columns (the old outbox() reads version 3 ones)
        names = (
            "key, customer, channel, touchpoint, purpose, address, subject, body, state, "
            "attempts, next_attempt_at, last_error, created_at, sent_at"
        )
        rows = store._read(f"SELECT {names} FROM outbox ORDER BY key")
        return [dict(zip(names.split(", "), r, strict=True)) for r in rows]
    return []


def make(version: int, folder: Path) -> None:
    saved = _sqlite_schema.MIGRATIONS
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"v{version}.db"
        _sqlite_schema.MIGRATIONS = [m for m in saved if m[0] <= version]
        try:
            store = SqliteStorage(str(path))
            fill(store, version)
            if version == 3:
                # a forget whose checkpoint a reader held back: the pending-erasure record
                reader = sqlite3.connect(path, isolation_level=None)
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM chunk").fetchone()
                try:
                    store.forget("C7", wait=0)
                except Exception as exc:  # ErasureIncomplete
                    print(f"v3: pending erasure left as intended: {type(exc).__name__}")
                assert store.pending_erasure() is not None
            expected = read_back(store, version)
            store._con.close()  # no close(): that would finish the pending erasure
            store._con = None
            if version == 3:
                reader.execute("COMMIT")
                reader.close()  # the last connection: checkpoints and removes the WAL
        finally:
            _sqlite_schema.MIGRATIONS = saved
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        assert not Path(str(path) + "-wal").exists()
        with open(path, "rb") as src, gzip.open(folder / f"v{version}.db.gz", "wb", 9) as dst:
            shutil.copyfileobj(src, dst)
    text = json.dumps(expected, ensure_ascii=False, sort_keys=True) + "\n"
    with gzip.open(folder / f"v{version}.expected.json.gz", "wt", 9, encoding="utf-8") as out:
        out.write(text)
    print(f"v{version}: {expected['count']} interactions, {len(expected['outbox'])} outbox rows")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
    for version in (1, 2, 3):
        make(version, folder)
