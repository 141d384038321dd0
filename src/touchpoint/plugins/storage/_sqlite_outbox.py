"""The durable dispatch outbox of `SqliteStorage` (schema version 2).

One row per idempotency key; every state change is its own write transaction, so a
process killed at any point leaves each row either as it was or fully moved on. Times
are integers: microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["OUTBOX_COLUMNS", "OutboxMixin"]

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
)


class OutboxMixin:
    """`enqueue`, `due_outbox`, `outbox_sent`, `outbox_failed` and `outbox` on SQLite."""

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
            )
            for r in rows
        ]
        duplicates: list[str] = []
        with self._write() as con:  # type: ignore[attr-defined]
            for p in params:
                cur = con.execute(
                    "INSERT INTO outbox (key, customer, channel, touchpoint, purpose, address, "
                    "subject, body, state, attempts, next_attempt_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    p,
                )
                if cur.rowcount == 0:
                    duplicates.append(p[0])
        return duplicates

    def due_outbox(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        sql = (
            f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox WHERE state IN ('pending', 'retry') "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, key"
        )
        params: list[Any] = [int(now)]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._read(sql, params)  # type: ignore[attr-defined]
        return [dict(zip(OUTBOX_COLUMNS, r, strict=True)) for r in rows]

    def outbox_sent(self, key: str, *, at: int) -> None:
        with self._write() as con:  # type: ignore[attr-defined]
            con.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                "last_error = NULL WHERE key = ? AND state IN ('pending', 'retry')",
                (int(at), key),
            )

    def outbox_failed(self, key: str, *, error: str, next_attempt_at: int | None) -> None:
        state = "dead" if next_attempt_at is None else "retry"
        with self._write() as con:  # type: ignore[attr-defined]
            con.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = coalesce(?, next_attempt_at) "
                "WHERE key = ? AND state IN ('pending', 'retry')",
                (state, error, next_attempt_at, key),
            )

    def outbox(self, state: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox"
        params: list[Any] = []
        if state is not None:
            sql += " WHERE state = ?"
            params.append(state)
        rows = self._read(sql + " ORDER BY key", params)  # type: ignore[attr-defined]
        return [dict(zip(OUTBOX_COLUMNS, r, strict=True)) for r in rows]
