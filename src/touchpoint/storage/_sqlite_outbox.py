"""The durable dispatch outbox of `SqliteStorage` (schema versions 2 and 3).

One row per idempotency key; every state change is its own write transaction, so a
process killed at any point leaves each row either as it was or fully moved on. Times
are integers: microseconds since the Unix epoch, UTC.

A dispatcher *claims* rows: one ``BEGIN IMMEDIATE`` transaction selects the due rows and
writes its ``lease_owner`` and ``lease_until`` on them, so two processes never claim the
same row while its lease runs (SQLite lets one writer at a time through ``BEGIN
IMMEDIATE``). A claim takes no row of a customer another owner holds a live lease on, so
one dispatcher at a time handles a customer and the send-time frequency caps see every
contact before them. Every outcome (``outbox_sent``, ``outbox_failed``,
``outbox_held``) checks the owner: a dispatcher whose lease expired and was taken over
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["LIVE_STATES", "OUTBOX_COLUMNS", "OutboxMixin"]

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
#: States of rows that may still be sent.
LIVE_STATES = ("pending", "retry")
_SELECT = f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox"
_LIVE = "state IN ('pending', 'retry')"
# The owner check of every outcome: any live row when no owner is given (the version 2
# contract), else only a row this owner holds the lease of.
_OWNED = f"key = ? AND {_LIVE} AND (? IS NULL OR lease_owner = ?)"


def _rows(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(OUTBOX_COLUMNS, r, strict=True)) for r in rows]


class OutboxMixin:
    """The outbox part of the `Storage` contract on SQLite."""

    def enqueue(self, rows: Iterable[Mapping[str, Any]], *, now: int) -> list[str]:
        rows = list(rows)
        params = [
            (
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
            for r in rows
        ]
        duplicates: list[str] = []
        with self._write() as con:  # type: ignore[attr-defined]
            self._check_not_forgotten(con, (p[1] for p in params), "queueing a contact")  # type: ignore[attr-defined]
            for p in params:
                cur = con.execute(
                    "INSERT INTO outbox (key, customer, channel, touchpoint, purpose, address, "
                    "subject, body, state, attempts, next_attempt_at, created_at, rule, on_cap) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    p,
                )
                if cur.rowcount == 0:
                    duplicates.append(p[0])
        return duplicates

    def due_outbox(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        sql = (
            f"{_SELECT} WHERE {_LIVE} AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, key"
        )
        params: list[Any] = [int(now), int(now)]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return _rows(self._read(sql, params))  # type: ignore[attr-defined]

    def claim_outbox(
        self, owner: str, *, now: int, lease_until: int, limit: int | None = None
    ) -> list[dict[str, Any]]:
        if int(lease_until) <= int(now):
            raise ValueError("lease_until must be after now")
        sql = (
            f"{_SELECT} AS o WHERE {_LIVE} AND next_attempt_at <= :now "
            "AND (lease_until IS NULL OR lease_until <= :now) "
            "AND NOT EXISTS (SELECT 1 FROM outbox AS b WHERE b.customer = o.customer "
            "AND b.state IN ('pending', 'retry') AND b.lease_until > :now "
            "AND b.lease_owner != :owner) "
            "ORDER BY next_attempt_at, key"
        )
        params: dict[str, Any] = {"now": int(now), "owner": str(owner)}
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = int(limit)
        with self._write() as con:  # type: ignore[attr-defined]
            rows = _rows(con.execute(sql, params).fetchall())
            con.executemany(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE key = ?",
                [(str(owner), int(lease_until), r["key"]) for r in rows],
            )
        for r in rows:
            r["lease_owner"], r["lease_until"] = str(owner), int(lease_until)
        return rows

    def renew_outbox(self, key: str, *, owner: str, lease_until: int) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                f"UPDATE outbox SET lease_until = ? WHERE {_OWNED}",
                (int(lease_until), key, str(owner), str(owner)),
            )
        return cur.rowcount == 1

    def outbox_sent(self, key: str, *, at: int, owner: str | None = None) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                f"last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE {_OWNED}",
                (int(at), key, owner, owner),
            )
        return cur.rowcount == 1

    def outbox_failed(
        self, key: str, *, error: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        state = "dead" if next_attempt_at is None else "retry"
        with self._write() as con:  # type: ignore[attr-defined]
            cur = con.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = coalesce(?, next_attempt_at), lease_owner = NULL, "
                f"lease_until = NULL WHERE {_OWNED}",
                (state, error, next_attempt_at, key, owner, owner),
            )
        return cur.rowcount == 1

    def outbox_held(
        self, key: str, *, reason: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        with self._write() as con:  # type: ignore[attr-defined]
            if next_attempt_at is None:
                sql = "UPDATE outbox SET state = 'held', reason = ?, lease_owner = NULL, "
                params: tuple[Any, ...] = (reason,)
            else:
                sql = "UPDATE outbox SET next_attempt_at = ?, reason = ?, lease_owner = NULL, "
                params = (int(next_attempt_at), reason)
            cur = con.execute(
                sql + f"lease_until = NULL WHERE {_OWNED}", (*params, key, owner, owner)
            )
        return cur.rowcount == 1

    def outbox(
        self, state: str | None = None, *, customer: str | None = None
    ) -> list[dict[str, Any]]:
        sql, params = f"{_SELECT} WHERE 1 = 1", []
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        if customer is not None:
            sql += " AND customer = ?"
            params.append(customer)
        return _rows(self._read(sql + " ORDER BY key", params))  # type: ignore[attr-defined]
