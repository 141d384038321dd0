"""PostgreSQL storage of customers, promises, complaints, the contact log, scores, quarantine
and the dispatch outbox.

The outbox claim (`OutboxMixin.claim_outbox`) runs in one transaction:

1. ``SELECT ... ORDER BY next_attempt_at, key LIMIT n FOR UPDATE SKIP LOCKED`` picks the
   due live rows that are not under a running lease and of no customer another owner
   holds a running lease on; rows another claim is locking right now are skipped,
   never waited for;
2. a transaction-scoped advisory lock per customer (``pg_try_advisory_xact_lock``,
   never waiting) makes the claims of one customer take turns: a claim that does not
   get the lock leaves that customer's rows to the claim that has it;
3. with the locks held, the customers are checked again for a lease another owner
   committed meanwhile;
4. ``UPDATE`` writes ``lease_owner`` and ``lease_until`` on the rows kept.

So any number of dispatchers, on any number of machines, hold a row (and a customer) one
at a time while the lease runs; outcomes change a row only while its owner holds it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from touchpoint._distinct import distinct
from touchpoint.errors import StorageError
from touchpoint.storage._documents import (
    care_columns,
    from_document,
    keyset_pages,
    kind_of,
    to_document,
)
from touchpoint.storage._pack import pack, unpack

__all__ = ["LIVE", "OUTBOX_COLUMNS", "OutboxMixin", "RecordsMixin"]

#: Customer documents read at a time by `care_columns`.
_PAGE = 20_000

CONTACT_COLUMNS = (
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
OUTBOX_COLUMNS = (
    "key",
    "customer",
    "channel",
    "touchpoint",
    "purpose",
    "address",
    "subject",
    "body",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
    "rule",
    "on_cap",
    "lease_owner",
    "lease_until",
    "reason",
)
LIVE = "state IN ('pending', 'retry')"
_SELECT = f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox"
# The owner check of every outcome: any live row when no owner is given (the version 2
# contract), else only a row this owner holds the lease of.
_OWNED = f"key = %s AND {LIVE} AND (%s::text IS NULL OR lease_owner = %s)"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rows(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(OUTBOX_COLUMNS, r, strict=True)) for r in rows]


class RecordsMixin:
    """Documents, contacts, scores and quarantine for `PostgresStorage` (uses its plumbing)."""

    def _check_not_forgotten(self, con: Any, customers: Iterable[str], what: str) -> None:
        hashes = self._suppressed_hashes(con)  # type: ignore[attr-defined]
        if not hashes:
            return
        for customer in sorted(set(customers)):  # distinct customers
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
            with con.cursor() as cur:
                cur.executemany(
                    "INSERT INTO document (kind, id, customer, body) VALUES (%s, %s, %s, %s::jsonb) "
                    "ON CONFLICT (kind, id) DO UPDATE SET customer = excluded.customer, "
                    "body = excluded.body",
                    rows,
                )
        return len(rows)

    def _get_documents(self, kind: str, customer: str | None) -> list[Any]:
        sql, params = "SELECT body::text FROM document WHERE kind = %s", [kind]
        if customer is not None:
            sql += " AND customer = %s"
            params.append(customer)
        rows = self._read(sql + " ORDER BY id", params)  # type: ignore[attr-defined]
        return [from_document(kind, b) for (b,) in rows]

    def upsert_customers(self, customers: Iterable[Any] | Mapping[str, Any]) -> int:
        """Insert or replace customers: `Customer` objects, or columns (as SQLite's)."""
        if not isinstance(customers, Mapping):
            return self._put_documents(customers)
        from touchpoint.storage._documents import customer_documents

        count = 0
        with self._write() as con:  # type: ignore[attr-defined]
            for ids, bodies in customer_documents(customers):
                self._check_not_forgotten(con, ids, "storing data")
                with con.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO document (kind, id, customer, body) "
                        "VALUES ('customer', %s, %s, %s::jsonb) "
                        "ON CONFLICT (kind, id) DO UPDATE SET customer = excluded.customer, "
                        "body = excluded.body",
                        list(zip(ids, ids, bodies, strict=True)),
                    )
                count += len(ids)
        return count

    def customer(self, customer_id: str) -> Any:
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT body::text FROM document WHERE kind = 'customer' AND id = %s", [customer_id]
        )
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
        sql = (
            "SELECT id, body::text FROM document WHERE kind = 'customer' AND id > %s "
            "ORDER BY id LIMIT %s"
        )
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
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT body::text FROM document WHERE kind = 'complaint' AND id = %s", [complaint_id]
        )
        return from_document("complaint", rows[0][0]) if rows else None

    # ------------------------------------------------------------------ contact log

    def log_contact(self, message: Any, delivery: Any) -> None:
        at = delivery.at if delivery.at.tzinfo else delivery.at.replace(tzinfo=dt.UTC)
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
            bool(delivery.retryable),
            int(delivery.attempts),
            at,
        )
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, [message.customer], "logging a contact")
            con.execute(
                f"INSERT INTO contact ({', '.join(CONTACT_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * 12)}) "
                "ON CONFLICT (contact_id) DO UPDATE SET channel = excluded.channel, "
                "status = excluded.status, detail = excluded.detail, "
                "retryable = excluded.retryable, "
                "attempts = contact.attempts + excluded.attempts, at = excluded.at",
                row,
            )

    def contacts(
        self, customer: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        sql, params = f"SELECT {', '.join(CONTACT_COLUMNS)} FROM contact WHERE true", []
        if customer is not None:
            sql += " AND customer = %s"
            params.append(customer)
        if status is not None:
            sql += " AND status = %s"
            params.append(str(status))
        rows = self._read(sql + " ORDER BY at, contact_id", params)  # type: ignore[attr-defined]
        out = [dict(zip(CONTACT_COLUMNS, r, strict=True)) for r in rows]
        for item in out:
            item["at"] = item["at"].astimezone(dt.UTC).isoformat()
        return out

    # ------------------------------------------------------------------ scores

    def save_scores(self, name: str, customers: Any, columns: Mapping[str, Any]) -> None:
        ids = np.asarray(customers, dtype=object)
        cols = {k: np.asarray(v) for k, v in columns.items()}
        for k, v in cols.items():  # a handful of score columns
            if len(v) != len(ids):
                raise StorageError(
                    f"score set {name!r}: column {k!r} has {len(v)} values for {len(ids)} customers"
                )
            if k == "customer" or k.startswith("__"):
                raise StorageError(f"score set {name!r}: column name {k!r} is reserved")
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, [str(c) for c in ids.tolist()], "saving scores")
            codes = self._dims.ids(  # type: ignore[attr-defined]
                con, "customer", np.array([str(c) for c in ids.tolist()], dtype=object)
            )
            blob = pack({"__customer": codes, **cols})
            con.execute(
                "INSERT INTO score (name, saved_at, data) VALUES (%s, now(), %s) "
                "ON CONFLICT (name) DO UPDATE SET saved_at = excluded.saved_at, data = excluded.data",
                [name, blob],
            )

    def load_scores(self, name: str) -> dict[str, np.ndarray]:
        rows = self._read("SELECT data FROM score WHERE name = %s", [name])  # type: ignore[attr-defined]
        if not rows:
            known = [r[0] for r in self._read("SELECT name FROM score ORDER BY name")]  # type: ignore[attr-defined]
            raise StorageError(f"no saved score set {name!r} (saved: {', '.join(known) or 'none'})")
        cols = dict(unpack(bytes(rows[0][0])))
        codes = np.asarray(cols.pop("__customer"), dtype=np.int64)
        found = self._read(  # type: ignore[attr-defined]
            "SELECT id, value FROM dim_customer WHERE id = ANY(%s::integer[])",
            [distinct(codes).tolist()],
        )
        lookup = dict(found)
        values = np.empty(len(codes), dtype=object)
        values[:] = [lookup[c] for c in codes.tolist()]  # one per customer of the score set
        return {"customer": values, **{k: np.array(v) for k, v in cols.items()}}

    # ------------------------------------------------------------------ quarantine

    def quarantined(self) -> list[dict[str, Any]]:
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT batch, row, reasons::text, record::text FROM quarantine ORDER BY id"
        )
        return [
            {
                "batch": b,
                "row": r,
                "reasons": json.loads(reasons),
                "record": None if record is None else json.loads(record),
            }
            for b, r, reasons, record in rows
        ]


class OutboxMixin:
    """The outbox part of the `Storage` contract on PostgreSQL."""

    def enqueue(self, rows: Iterable[Mapping[str, Any]], *, now: int) -> list[str]:
        rows = list(rows)
        columns: list[list[Any]] = [[] for _ in range(12)]
        for r in rows:  # one row per contact to queue
            values = (
                str(r["key"]),
                str(r["customer"]),
                str(r["channel"]),
                r.get("touchpoint"),
                str(r.get("purpose") or "service"),
                r.get("address"),
                r.get("subject"),
                r.get("body"),
                int(r.get("send_at", now)),
                int(now),
                r.get("rule"),
                r.get("on_cap"),
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        if not rows:
            return []
        types = ["text"] * 8 + ["bigint", "bigint", "text", "text"]
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, columns[1], "queueing a contact")  # type: ignore[attr-defined]
            inserted = con.execute(
                "INSERT INTO outbox (key, customer, channel, touchpoint, purpose, address, "
                "subject, body, state, attempts, next_attempt_at, created_at, rule, on_cap) "
                "SELECT k, c, ch, tp, pu, ad, su, bo, 'pending', 0, na, ca, ru, oc "
                f"FROM unnest({unnest}) WITH ORDINALITY "
                "AS u(k, c, ch, tp, pu, ad, su, bo, na, ca, ru, oc, ord) "
                # key order: every writer takes the index's row locks in the same order,
                # so two writers queueing overlapping keys wait for each other instead of
                # deadlocking; among repeats of a key the first offered goes in
                "ORDER BY k, ord ON CONFLICT (key) DO NOTHING RETURNING key",
                columns,
            ).fetchall()
        fresh = {k for (k,) in inserted}
        duplicates = []
        for key in columns[0]:  # the keys offered, in order
            if key in fresh:
                fresh.discard(key)  # the first occurrence went in; a repeat is a duplicate
            else:
                duplicates.append(key)
        return duplicates

    def due_outbox(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        sql = (
            f"{_SELECT} WHERE {LIVE} AND next_attempt_at <= %s "
            "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at, key"
        )
        params: list[Any] = [int(now), int(now)]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(int(limit))
        return _rows(self._read(sql, params))  # type: ignore[attr-defined]

    def claim_outbox(
        self, owner: str, *, now: int, lease_until: int, limit: int | None = None
    ) -> list[dict[str, Any]]:
        if int(lease_until) <= int(now):
            raise ValueError("lease_until must be after now")
        owner, now, until = str(owner), int(now), int(lease_until)
        free = (
            f"{LIVE} AND next_attempt_at <= %(now)s "
            "AND (lease_until IS NULL OR lease_until <= %(now)s) "
            "AND NOT EXISTS (SELECT 1 FROM outbox AS b WHERE b.customer = o.customer "
            "AND b.state IN ('pending', 'retry') AND b.lease_until > %(now)s "
            "AND b.lease_owner <> %(owner)s)"
        )
        params: dict[str, Any] = {"now": now, "owner": owner, "seen": [], "ns": self._lock_ns}  # type: ignore[attr-defined]
        taken: list[dict[str, Any]] = []
        with self._write() as con:  # type: ignore[attr-defined]
            while limit is None or len(taken) < limit:  # rounds while rows were left to others
                want = None if limit is None else int(limit) - len(taken)
                sql = (
                    f"{_SELECT} AS o WHERE {free} AND NOT (key = ANY(%(seen)s::text[])) "
                    "ORDER BY next_attempt_at, key"
                    + ("" if want is None else f" LIMIT {want}")
                    + " FOR UPDATE SKIP LOCKED"
                )
                rows = _rows(con.execute(sql, params).fetchall())
                if not rows:
                    break
                params["seen"] = params["seen"] + [r["key"] for r in rows]
                customers = sorted({r["customer"] for r in rows})
                held = {
                    c
                    for (c,) in con.execute(
                        "SELECT c FROM unnest(%(customers)s::text[]) AS u(c) "
                        "WHERE pg_try_advisory_xact_lock(%(ns)s, hashtext(c))",
                        {**params, "customers": customers},
                    ).fetchall()
                }
                busy = {
                    c
                    for (c,) in con.execute(
                        "SELECT DISTINCT customer FROM outbox WHERE customer = ANY(%(held)s::text[]) "
                        "AND state IN ('pending', 'retry') AND lease_until > %(now)s "
                        "AND lease_owner <> %(owner)s",
                        {**params, "held": sorted(held)},
                    ).fetchall()
                }
                kept = [r for r in rows if r["customer"] in held and r["customer"] not in busy]
                taken += kept
                if len(kept) == len(rows):
                    break  # nothing was left to another claim: these are all there is
            if taken:
                con.execute(
                    "UPDATE outbox SET lease_owner = %s, lease_until = %s WHERE key = ANY(%s::text[])",
                    [owner, until, [r["key"] for r in taken]],
                )
        taken.sort(key=lambda r: (r["next_attempt_at"], r["key"].encode()))
        for r in taken:
            r["lease_owner"], r["lease_until"] = owner, until
        return taken

    def renew_outbox(self, key: str, *, owner: str, lease_until: int) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                f"UPDATE outbox SET lease_until = %s WHERE {_OWNED}",
                [int(lease_until), key, str(owner), str(owner)],
            )
        return cur.rowcount == 1

    def outbox_sent(self, key: str, *, at: int, owner: str | None = None) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = %s, "
                f"last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE {_OWNED}",
                [int(at), key, owner, owner],
            )
        return cur.rowcount == 1

    def outbox_failed(
        self, key: str, *, error: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        state = "dead" if next_attempt_at is None else "retry"
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                "UPDATE outbox SET state = %s, attempts = attempts + 1, last_error = %s, "
                "next_attempt_at = coalesce(%s, next_attempt_at), lease_owner = NULL, "
                f"lease_until = NULL WHERE {_OWNED}",
                [state, error, next_attempt_at, key, owner, owner],
            )
        return cur.rowcount == 1

    def outbox_held(
        self, key: str, *, reason: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            if next_attempt_at is None:
                sql = "UPDATE outbox SET state = 'held', reason = %s, lease_owner = NULL, "
                params: list[Any] = [reason]
            else:
                sql = "UPDATE outbox SET next_attempt_at = %s, reason = %s, lease_owner = NULL, "
                params = [int(next_attempt_at), reason]
            cur = con.execute(
                sql + f"lease_until = NULL WHERE {_OWNED}", [*params, key, owner, owner]
            )
        return cur.rowcount == 1

    def outbox(
        self, state: str | None = None, *, customer: str | None = None
    ) -> list[dict[str, Any]]:
        sql, params = f"{_SELECT} WHERE true", []
        if state is not None:
            sql += " AND state = %s"
            params.append(state)
        if customer is not None:
            sql += " AND customer = %s"
            params.append(customer)
        return _rows(self._read(sql + " ORDER BY key", params))  # type: ignore[attr-defined]
