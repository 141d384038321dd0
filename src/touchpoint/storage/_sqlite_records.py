"""SQLite storage of customers, promises, complaints, the contact log, scores and quarantine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from touchpoint.errors import StorageError
from touchpoint.storage._documents import (
    care_columns,
    from_document,
    keyset_pages,
    kind_of,
    to_document,
)
from touchpoint.storage._pack import code_table, pack, unpack

__all__ = ["RecordsMixin"]

#: Customer documents read at a time by `care_columns`.
_PAGE = 20_000

_CONTACT_COLUMNS = (
    "contact_id",
    "customer",
    "channel",
    "touchpoint",
    "address",
    "subject",
    "body",
    "status",
    "detail",
    "retryable",
    "attempts",
    "at",
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class RecordsMixin:
    """Documents, contacts, scores and quarantine for `SqliteStorage` (uses its plumbing)."""

    _con: Any

    def _check_not_forgotten(self, con: Any, customers: Iterable[str], what: str) -> None:
        hashes = self._suppressed_hashes(con)  # type: ignore[attr-defined]
        if not hashes:
            return
        for customer in set(customers):
            if self._hash(customer) in hashes:  # type: ignore[attr-defined]
                raise StorageError(
                    f"{what} of customer {customer!r} refused: this customer was forgotten and "
                    "their data may not be stored again"
                )

    def _put_documents(self, objects: Iterable[Any]) -> int:
        items = list(objects)
        rows = [
            (kind_of(o), o.id, o.id if kind_of(o) == "customer" else o.customer, to_document(o))
            for o in items
        ]
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, (r[2] for r in rows), "storing data")
            con.executemany(
                "INSERT INTO document (kind, id, customer, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, id) DO UPDATE SET customer = excluded.customer, body = excluded.body",
                rows,
            )
        return len(rows)

    def _get_documents(self, kind: str, customer: str | None) -> list[Any]:
        sql, params = "SELECT body FROM document WHERE kind = ?", [kind]
        if customer is not None:
            sql += " AND customer = ?"
            params.append(customer)
        return [from_document(kind, b) for (b,) in self._read(sql + " ORDER BY id", params)]  # type: ignore[attr-defined]

    def upsert_customers(self, customers: Iterable[Any] | Mapping[str, Any]) -> int:
        """Insert or replace customers: `Customer` objects, or columns.

        Columns (a mapping, see `touchpoint.storage._documents.customer_documents`) are
        stored without a `Customer` object per row, chunk by chunk, in one transaction;
        what is stored is the same document the objects would give.
        """
        if not isinstance(customers, Mapping):
            return self._put_documents(customers)
        from touchpoint.storage._documents import customer_documents

        count = 0
        with self._write() as con:  # type: ignore[attr-defined]
            for ids, bodies in customer_documents(customers):
                self._check_not_forgotten(con, ids, "storing data")
                con.executemany(
                    "INSERT INTO document (kind, id, customer, body) VALUES ('customer', ?, ?, ?) "
                    "ON CONFLICT (kind, id) DO UPDATE SET customer = excluded.customer, "
                    "body = excluded.body",
                    zip(ids, ids, bodies, strict=True),
                )
                count += len(ids)
        return count

    def customer(self, customer_id: str) -> Any:
        rows = self._read(
            "SELECT body FROM document WHERE kind = 'customer' AND id = ?", (customer_id,)
        )  # type: ignore[attr-defined]
        return from_document("customer", rows[0][0]) if rows else None

    def customers(self) -> list[Any]:
        return self._get_documents("customer", None)

    def count_customers(self) -> int:
        """Number of stored customers, counted by the database (no document is read)."""
        rows = self._read("SELECT count(*) FROM document WHERE kind = 'customer'")  # type: ignore[attr-defined]
        return int(rows[0][0])

    def care_columns(self, anchors: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(customers, consents): the columns the care agenda reads, of the stored
        customers in the order of `customers`, made from their documents a page at a
        time in one read transaction, without a `Customer` object per record
        (`touchpoint.storage._documents.care_columns`)."""
        sql = "SELECT id, body FROM document WHERE kind = 'customer' AND id > ? ORDER BY id LIMIT ?"
        with self._snapshot() as con:  # type: ignore[attr-defined]
            return care_columns(keyset_pages(con, sql, _PAGE), anchors)

    def add_promises(self, promises: Iterable[Any]) -> int:
        return self._put_documents(promises)

    def promises(self, customer: str | None = None) -> list[Any]:
        return self._get_documents("promise", customer)

    def add_complaints(self, complaints: Iterable[Any]) -> int:
        return self._put_documents(complaints)

    def complaints(self, customer: str | None = None) -> list[Any]:
        return self._get_documents("complaint", customer)

    def complaint(self, complaint_id: str) -> Any:
        rows = self._read(
            "SELECT body FROM document WHERE kind = 'complaint' AND id = ?", (complaint_id,)
        )  # type: ignore[attr-defined]
        return from_document("complaint", rows[0][0]) if rows else None

    # ------------------------------------------------------------------ contact log

    def log_contact(self, message: Any, delivery: Any) -> None:
        row = (
            message.contact_id,
            message.customer,
            delivery.channel,
            message.touchpoint,
            message.address,
            message.subject,
            message.body,
            str(delivery.status),
            delivery.detail,
            int(delivery.retryable),
            int(delivery.attempts),
            delivery.at.isoformat(),
        )
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, [message.customer], "logging a contact")
            con.execute(
                f"INSERT INTO contact ({', '.join(_CONTACT_COLUMNS)}) VALUES ({', '.join('?' * 12)}) "
                "ON CONFLICT (contact_id) DO UPDATE SET channel = excluded.channel, "
                "status = excluded.status, detail = excluded.detail, retryable = excluded.retryable, "
                "attempts = contact.attempts + excluded.attempts, at = excluded.at",
                row,
            )

    def contacts(
        self, customer: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(_CONTACT_COLUMNS)} FROM contact WHERE 1 = 1", []
        if customer is not None:
            sql += " AND customer = ?"
            params.append(customer)
        if status is not None:
            sql += " AND status = ?"
            params.append(str(status))
        rows = self._read(sql + " ORDER BY at, contact_id", params)  # type: ignore[attr-defined]
        out = [dict(zip(_CONTACT_COLUMNS, r, strict=True)) for r in rows]
        for item in out:
            item["retryable"] = bool(item["retryable"])
        return out

    # ------------------------------------------------------------------ scores

    def save_scores(self, name: str, customers: Any, columns: Mapping[str, Any]) -> None:
        ids = np.asarray(customers, dtype=object)
        cols = {k: np.asarray(v) for k, v in columns.items()}
        for k, v in cols.items():
            if len(v) != len(ids):
                raise StorageError(
                    f"score set {name!r}: column {k!r} has {len(v)} values for {len(ids)} customers"
                )
            if k == "customer" or k.startswith("__"):
                raise StorageError(f"score set {name!r}: column name {k!r} is reserved")
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, ids.tolist(), "saving scores")
            codes = self._ids(con, "customer", [str(c) for c in ids.tolist()])  # type: ignore[attr-defined]
            blob = pack({"__customer": codes, **cols})
            con.execute(
                "INSERT INTO score (name, saved_at, data) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET saved_at = excluded.saved_at, data = excluded.data",
                (name, _now(), blob),
            )

    def load_scores(self, name: str) -> dict[str, np.ndarray]:
        rows = self._read("SELECT data FROM score WHERE name = ?", (name,))  # type: ignore[attr-defined]
        if not rows:
            known = [r[0] for r in self._read("SELECT name FROM score ORDER BY name")]  # type: ignore[attr-defined]
            raise StorageError(f"no saved score set {name!r} (saved: {', '.join(known) or 'none'})")
        cols = dict(unpack(rows[0][0]))
        codes = cols.pop("__customer")
        ids, values = self._categories("customer")  # type: ignore[attr-defined]
        at = code_table(ids, top=int(codes.max()) if len(codes) else 0)[codes]
        if (at < 0).any():  # never a wrong customer: position -1 would read the last one
            raise StorageError(
                f"score set {name!r} names {int((at < 0).sum())} customer ids the file no "
                "longer has (erased while it was read?): load it again"
            )
        return {"customer": values[at], **{k: np.array(v) for k, v in cols.items()}}

    # ------------------------------------------------------------------ quarantine

    def quarantined(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT batch, row, reasons, record FROM quarantine ORDER BY id")  # type: ignore[attr-defined]
        return [
            {
                "batch": b,
                "row": r,
                "reasons": json.loads(reasons),
                "record": None if record is None else json.loads(record),
            }
            for b, r, reasons, record in rows
        ]
