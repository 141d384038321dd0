"""Forgetting and exporting a customer in SQLite.

``forget`` runs in one write transaction: it rewrites the column blocks holding the
customer's interactions without them (and blanks them as a referrer), deletes their event
ids, documents, contacts, quarantined records and score rows, deletes their dictionary
entries, and records a salted hash of the id in ``suppression``. With
``secure_delete=ON`` SQLite overwrites the freed content; the WAL is then checkpointed
with ``TRUNCATE`` so no old page copies remain beside the database file.

The salt lives in the same file, so the hash hides the id from a casual reader, not from
someone who can guess ids and has the file.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np

from touchpoint.plugins.storage._documents import as_plain, from_document
from touchpoint.plugins.storage._pack import pack, unpack

__all__ = ["PrivacyMixin"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class PrivacyMixin:
    """``forget``, ``export`` and ``is_suppressed`` for `SqliteStorage`."""

    def is_suppressed(self, customer: str) -> bool:
        rows = self._read("SELECT 1 FROM suppression WHERE hash = ?", (self._hash(customer),))  # type: ignore[attr-defined]
        return bool(rows)

    def forget(self, customer: str) -> dict[str, int]:
        from touchpoint.plugins.storage._sqlite_append import STORED

        removed = {
            "interactions": 0,
            "referrals": 0,
            "documents": 0,
            "contacts": 0,
            "outbox": 0,
            "quarantined": 0,
            "scores": 0,
        }
        with self._write() as con:  # type: ignore[attr-defined]
            cid = con.execute(
                "SELECT id FROM dict_customer WHERE value = ?", (customer,)
            ).fetchone()
            rid = con.execute(
                "SELECT id FROM dict_referrer WHERE value = ?", (customer,)
            ).fetchone()
            cid = -2 if cid is None else cid[0]
            rid = -2 if rid is None else rid[0]
            for chunk_id, blob in con.execute("SELECT id, data FROM chunk WHERE n > 0").fetchall():
                cols = unpack(blob)
                gone = cols["customer"] == cid
                referred = (cols["referrer"] == rid) & ~gone
                if not gone.any() and not referred.any():
                    continue
                removed["interactions"] += int(gone.sum())
                removed["referrals"] += int(referred.sum())
                con.executemany(
                    "DELETE FROM event_key WHERE event_id = ?",
                    ((e,) for e in cols["event_id"][gone].astype("U").tolist()),
                )
                keep = {k: np.array(cols[k][~gone]) for k in STORED}
                keep["referrer"][keep["referrer"] == rid] = -1
                n = len(keep["time"])
                if n == 0:
                    con.execute("DELETE FROM chunk WHERE id = ?", (chunk_id,))
                    continue
                first_gone = int(np.argmax(gone)) if gone.any() else n
                moved = keep["event_id"][first_gone:].astype("U").tolist()
                con.executemany(
                    "UPDATE event_key SET pos = ? WHERE event_id = ?",
                    zip(range(first_gone, n), moved, strict=True),
                )
                con.execute(
                    "UPDATE chunk SET n = ?, tmin = ?, tmax = ?, data = ? WHERE id = ?",
                    (n, int(keep["time"].min()), int(keep["time"].max()), pack(keep), chunk_id),
                )
            removed["documents"] = con.execute(
                "DELETE FROM document WHERE customer = ?", (customer,)
            ).rowcount
            removed["contacts"] = con.execute(
                "DELETE FROM contact WHERE customer = ?", (customer,)
            ).rowcount
            removed["outbox"] = con.execute(
                "DELETE FROM outbox WHERE customer = ?", (customer,)
            ).rowcount
            removed["quarantined"] = con.execute(
                "DELETE FROM quarantine WHERE customer = ?", (customer,)
            ).rowcount
            for name, blob in con.execute("SELECT name, data FROM score").fetchall():
                cols = unpack(blob)
                gone = cols["__customer"] == cid
                if gone.any():
                    removed["scores"] += int(gone.sum())
                    con.execute(
                        "UPDATE score SET data = ? WHERE name = ?",
                        (pack({k: np.array(v[~gone]) for k, v in cols.items()}), name),
                    )
            con.execute("DELETE FROM dict_customer WHERE id = ?", (cid,))
            con.execute("DELETE FROM dict_referrer WHERE id = ?", (rid,))
            con.execute(
                "INSERT INTO suppression (hash, at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
                (self._hash(customer), _now()),  # type: ignore[attr-defined]
            )
        with self._lock:  # type: ignore[attr-defined]
            busy, _, _ = self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[attr-defined]
        # busy: another connection was reading; its WAL frames are overwritten by later writes
        removed["wal_truncated"] = int(not busy)
        return removed

    def export(self, customer: str) -> str:
        frame = self.scan(customers=[customer])  # type: ignore[attr-defined]
        names = frame.column_names
        columns = {}
        for name in names:
            values = frame[name]
            if values.dtype.kind == "M":
                columns[name] = [None if np.isnat(v) else str(v) + "Z" for v in values]
            elif values.dtype.kind == "f":
                columns[name] = [None if np.isnan(v) else float(v) for v in values]
            else:
                columns[name] = values.tolist()
        interactions = [
            dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)
        ]
        docs = self._read(
            "SELECT kind, body FROM document WHERE customer = ? ORDER BY kind, id", (customer,)
        )  # type: ignore[attr-defined]
        by_kind: dict[str, list[Any]] = {"customer": [], "promise": [], "complaint": []}
        for kind, body in docs:
            by_kind[kind].append(as_plain(from_document(kind, body)))
        scores = {}
        for (name,) in self._read("SELECT name FROM score ORDER BY name"):  # type: ignore[attr-defined]
            cols = self.load_scores(name)  # type: ignore[attr-defined]
            hit = np.flatnonzero(cols["customer"] == customer)
            if len(hit):
                scores[name] = {k: _plain(v[hit[0]]) for k, v in cols.items() if k != "customer"}
        quarantined = [
            {
                "batch": b,
                "row": r,
                "reasons": json.loads(x),
                "record": None if rec is None else json.loads(rec),
            }
            for b, r, x, rec in self._read(  # type: ignore[attr-defined]
                "SELECT batch, row, reasons, record FROM quarantine WHERE customer = ? ORDER BY id",
                (customer,),
            )
        ]
        document = {
            "customer_id": customer,
            "exported_at": _now(),
            "customer": by_kind["customer"][0] if by_kind["customer"] else None,
            "interactions": interactions,
            "promises": by_kind["promise"],
            "complaints": by_kind["complaint"],
            "contacts": self.contacts(customer=customer),  # type: ignore[attr-defined]
            "outbox": [r for r in self.outbox() if r["customer"] == customer],  # type: ignore[attr-defined]
            "scores": scores,
            "quarantined": quarantined,
        }
        return json.dumps(document, ensure_ascii=False, indent=2, default=str)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
