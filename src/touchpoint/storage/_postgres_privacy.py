"""Forgetting and exporting a customer in PostgreSQL: every table, then the table files.

``forget`` takes an ``EXCLUSIVE`` lock on ``suppression`` (appends and other writes of
customer data hold ``SHARE`` on it, so they finish before and wait after), then in one
transaction deletes the customer's interactions, their dimension entries, documents,
contacts, outbox rows, quarantined records and score rows, blanks their id where other
customers' data names them (the ``referrer`` of others' interactions and customer
records, field and reason values in others' quarantined records), and records a salted
hash of the id in ``suppression``. When it commits, no table holds a value of the
customer.

PostgreSQL keeps deleted rows in the table files as dead row versions until ``VACUUM``
removes them, and ``VACUUM`` cannot remove a row version that a transaction older than
the erasure may still read. So, after the commit, ``forget`` waits (at most ``wait``
seconds, the ``erase_wait`` URL option, default 10) for the sessions whose snapshot is
older than the erasure, then runs, per the ``erase`` URL option:

- ``vacuum`` (default): ``VACUUM (INDEX_CLEANUP ON, ANALYZE)`` of the tables it changed:
  the dead rows and their index entries are removed and their space is reused by later
  rows; statistics (``pg_statistic``, which keeps sample values) are taken again. Freed
  bytes in a page are not zeroed until new rows overwrite them.
- ``rewrite``: ``VACUUM (FULL, ANALYZE)``: each changed table and its indexes are
  rewritten into new files holding the live rows only (the old files are deleted at the
  next checkpoint). It takes an ``ACCESS EXCLUSIVE`` lock on each table for the time
  of the rewrite: reads and writes of that table wait.
- ``defer``: nothing now; `finish_erasure` (a nightly job, say) does the ``vacuum``
  step for every erasure left pending.

The transaction that erased the data also wrote a **pending-erasure record** (a
``meta`` row ``erasure_pending:<token>`` with the tables to clean and the erasure's
transaction id; no personal value), deleted only once the cleaning step ran after
every older snapshot ended. If sessions hold older snapshots past ``wait``, ``forget``
raises `ErasureIncomplete` naming them; `finish_erasure` completes it later. Sessions of
other database roles are seen only by roles allowed to read their activity
(``pg_read_all_stats``).

What no storage can do from SQL is said in ``docs/plugins/storage.md``: the write-ahead
log, replicas, WAL archives and backups keep their copies until they are recycled or
rotated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from typing import Any

import numpy as np

from touchpoint.storage._documents import customer_export
from touchpoint.storage._pack import pack, unpack
from touchpoint.storage.sqlite import ErasureIncomplete

__all__ = ["ERASE_MODES", "ERASE_WAIT", "ErasureIncomplete", "PrivacyMixin"]

log = logging.getLogger("touchpoint.storage")

#: Seconds `forget` waits, by default, for sessions with snapshots older than the erasure.
ERASE_WAIT = 10.0
#: What `forget` does to the table files after the erasure commits.
ERASE_MODES = ("vacuum", "rewrite", "defer")
_PENDING = "erasure_pending:"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PrivacyMixin:
    """``forget``, ``finish_erasure``, ``export`` and ``is_suppressed`` for `PostgresStorage`."""

    def is_suppressed(self, customer: str) -> bool:
        rows = self._read("SELECT 1 FROM suppression WHERE hash = %s", [self._hash(customer)])  # type: ignore[attr-defined]
        return bool(rows)

    def forget(self, customer: str, *, wait: float | None = None) -> dict[str, int]:
        """Erase ``customer`` from every table, then clean the table files (see the module).

        Returns how many items of each kind were removed or blanked. ``wait`` (seconds;
        default: the storage's ``erase_wait``) bounds the time spent waiting for
        sessions reading a snapshot older than the erasure; past it, `ErasureIncomplete`
        says which and how to finish.
        """
        removed, token = self._erase(customer)
        if self.erase != "defer":  # type: ignore[attr-defined]
            self._settle(wait, customer=customer, removed=removed, tokens=[token])
        return removed

    def _erase(self, customer: str) -> tuple[dict[str, int], str]:
        removed = {
            "interactions": 0,
            "referrals": 0,
            "documents": 0,
            "referred_customers": 0,
            "contacts": 0,
            "outbox": 0,
            "quarantined": 0,
            "quarantine_scrubbed": 0,
            "scores": 0,
        }
        token = secrets.token_hex(8)
        with self._write(exclusive=True) as con:  # type: ignore[attr-defined]
            cid = con.execute("SELECT id FROM dim_customer WHERE value = %s", [customer]).fetchone()
            rid = con.execute("SELECT id FROM dim_referrer WHERE value = %s", [customer]).fetchone()
            touched = set()
            if cid is not None:
                removed["interactions"] = con.execute(
                    "DELETE FROM event WHERE customer = %s", [cid[0]]
                ).rowcount
                for name, blob in con.execute("SELECT name, data FROM score").fetchall():
                    cols = unpack(bytes(blob))  # one score set at a time
                    gone = np.asarray(cols["__customer"]) == cid[0]
                    if gone.any():
                        removed["scores"] += int(gone.sum())
                        con.execute(
                            "UPDATE score SET data = %s WHERE name = %s",
                            [pack({k: np.array(v[~gone]) for k, v in cols.items()}), name],
                        )
                        touched.add("score")
                con.execute("DELETE FROM dim_customer WHERE id = %s", [cid[0]])
                touched |= {"event", "dim_customer"}
            if rid is not None:
                removed["referrals"] = con.execute(
                    # the stored values change: the digest no longer holds (compared whole)
                    "UPDATE event SET referrer = NULL, digest = NULL WHERE referrer = %s",
                    [rid[0]],
                ).rowcount
                con.execute("DELETE FROM dim_referrer WHERE id = %s", [rid[0]])
                touched |= {"event", "dim_referrer"}
            removed["documents"] = con.execute(
                "DELETE FROM document WHERE customer = %s", [customer]
            ).rowcount
            removed["referred_customers"] = con.execute(
                "UPDATE document SET body = jsonb_set(body, '{referrer}', 'null') "
                "WHERE kind = 'customer' AND body->>'referrer' = %s",
                [customer],
            ).rowcount
            removed["contacts"] = con.execute(
                "DELETE FROM contact WHERE customer = %s", [customer]
            ).rowcount
            removed["outbox"] = con.execute(
                "DELETE FROM outbox WHERE customer = %s", [customer]
            ).rowcount
            removed["quarantined"], removed["quarantine_scrubbed"] = _scrub_quarantine(
                con, customer
            )
            for table, key in (
                ("document", "documents"),
                ("document", "referred_customers"),
                ("contact", "contacts"),
                ("outbox", "outbox"),
                ("quarantine", "quarantined"),
                ("quarantine", "quarantine_scrubbed"),
            ):
                if removed[key]:
                    touched.add(table)
            con.execute(
                "INSERT INTO suppression (hash, at) VALUES (%s, now()) ON CONFLICT (hash) DO NOTHING",
                [self._hash(customer)],  # type: ignore[attr-defined]
            )
            self._dims.drop("customer", customer)  # type: ignore[attr-defined]
            self._dims.drop("referrer", customer)  # type: ignore[attr-defined]
            xid = con.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
            con.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)",
                [
                    _PENDING + token,
                    json.dumps({"at": _now().isoformat(), "xid": xid, "tables": sorted(touched)}),
                ],
            )
        return removed, token

    # ------------------------------------------------------------------ the table files

    def pending_erasure(self) -> dict[str, Any] | None:
        """Erasures whose table files are not clean yet: ``{"forgets": n, "since": iso time,
        "tables": [...]}``, or None."""
        pending = self._pending()
        if not pending:
            return None
        tables = sorted({t for p in pending.values() for t in p["tables"]})
        return {
            "forgets": len(pending),
            "since": min(p["at"] for p in pending.values()),
            "tables": tables,
        }

    def finish_erasure(self, *, wait: float | None = None) -> bool:
        """Clean the table files of the pending erasures (``VACUUM``, or ``VACUUM FULL`` with
        ``erase=rewrite``), once the sessions older than them are done.

        Returns True if erasures were pending and are now complete, False if none was.
        Raises `ErasureIncomplete` if such sessions still run after ``wait`` seconds
        (default: the storage's ``erase_wait``).
        """
        pending = self._pending()
        if not pending:
            return False
        self._settle(wait, customer=None, removed=None, tokens=list(pending))
        return True

    def _pending(self) -> dict[str, dict[str, Any]]:
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT key, value FROM meta WHERE key LIKE %s ORDER BY key", [_PENDING + "%"]
        )
        return {k[len(_PENDING) :]: json.loads(v) for k, v in rows}

    def _settle(
        self,
        wait: float | None,
        *,
        customer: str | None,
        removed: dict[str, int] | None,
        tokens: list[str],
    ) -> None:
        """Wait for older snapshots, clean the tables of ``tokens``, clear their records."""
        wait = self.erase_wait if wait is None else float(wait)  # type: ignore[attr-defined]
        pending = {t: p for t, p in self._pending().items() if t in tokens}
        if not pending:
            return
        newest = max(p["xid"] for p in pending.values())
        older = self._wait_for_snapshots(newest, wait)
        if older:
            raise self._incomplete(wait, older, customer=customer, removed=removed)
        tables = sorted({t for p in pending.values() for t in p["tables"]})
        mode = "rewrite" if self.erase == "rewrite" else "vacuum"  # type: ignore[attr-defined]
        option = "(FULL, ANALYZE)" if mode == "rewrite" else "(INDEX_CLEANUP ON, ANALYZE)"
        for table in tables:  # the handful of tables the erasures changed
            self._maintenance(f"VACUUM {option} {table}")
        with self._write() as con:  # type: ignore[attr-defined]
            con.execute(
                "DELETE FROM meta WHERE key = ANY(%s::text[])",
                [[_PENDING + t for t in pending]],
            )

    def _wait_for_snapshots(self, xid: int, wait: float) -> list[dict[str, Any]]:
        """Sessions whose snapshot may still see rows the erasure ``xid`` deleted, after waiting.

        A snapshot taken before the erasure committed has an ``xmin`` at or below its
        transaction id (compared with ``age``, which handles wrap-around).
        """
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            rows = self._read(  # type: ignore[attr-defined]
                "SELECT pid, usename, application_name, state, xact_start "
                "FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND backend_xmin IS NOT NULL "
                "AND age(backend_xmin) >= age((%s::bigint %% 4294967296)::text::xid)",
                [int(xid)],
            )
            if not rows:
                return []
            if time.monotonic() >= deadline:
                return [
                    dict(zip(("pid", "user", "application", "state", "since"), r, strict=True))
                    for r in rows
                ]
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _incomplete(
        self,
        wait: float,
        older: list[dict[str, Any]],
        *,
        customer: str | None,
        removed: dict[str, int] | None,
    ) -> ErasureIncomplete:
        sessions = ", ".join(
            f"pid {s['pid']} ({s['application'] or 'no application name'}, {s['state']}, "
            f"transaction since {s['since']})"
            for s in older[:5]
        )
        more = f" and {len(older) - 5} more" if len(older) > 5 else ""
        who = f"customer {customer!r} is" if customer is not None else "the forgotten customers are"
        tables = (self.pending_erasure() or {}).get("tables", [])
        message = (
            f"{self.url}: {who} erased from every table and suppressed, but the erasure is "  # type: ignore[attr-defined]
            f"not complete in the table files: the deleted row versions stay in "
            f"{', '.join(tables) or 'the tables'} until VACUUM removes them, which it cannot "
            f"while sessions read a snapshot older than the erasure. After {wait:g} s these "
            f"still do: {sessions}{more}. The erasure is recorded as pending: once they are "
            "done, finish it with Workspace.finish_erasure() (or "
            "PostgresStorage.finish_erasure())."
        )
        return ErasureIncomplete(
            message, customer=customer, removed=removed, remaining=tuple(tables)
        )

    # ------------------------------------------------------------------ export

    def export(self, customer: str) -> str:
        frame = self.scan(customers=[customer])  # type: ignore[attr-defined]
        names = frame.column_names
        columns = {}
        for name in names:  # a dozen columns
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
        return customer_export(
            self,
            customer,
            exported_at=_now().isoformat(),
            interactions=interactions,
            documents=self._read(
                "SELECT kind, body::text FROM document WHERE customer = %s ORDER BY kind, id",
                [customer],
            ),  # type: ignore[attr-defined]
            quarantined=self._read(
                "SELECT batch, row, reasons::text, record::text FROM quarantine WHERE customer = %s ORDER BY id",
                [customer],
            ),  # type: ignore[attr-defined]
            score_names=[n for (n,) in self._read("SELECT name FROM score ORDER BY name")],  # type: ignore[attr-defined]
        )


def _scrub_quarantine(con: Any, customer: str) -> tuple[int, int]:
    """Delete the customer's quarantined records; blank their id in the others'.

    In another customer's quarantined record, a field equal to the id (the referrer,
    usually) and a reason's value equal to it become ``null``; the id quoted in a
    reason's path or message becomes ``null`` too. Returns (deleted, scrubbed).
    """
    deleted = con.execute("DELETE FROM quarantine WHERE customer = %s", [customer]).rowcount
    needle = json.dumps(customer)[1:-1]
    rows = con.execute(
        "SELECT id, event_id, reasons::text, record::text FROM quarantine "
        "WHERE event_id = %s OR strpos(reasons::text, %s) > 0 "
        "OR strpos(coalesce(record::text, ''), %s) > 0",
        [customer, needle, needle],
    ).fetchall()
    quoted = (repr(customer), json.dumps(customer))
    updates = []
    for row_id, event_id, reasons_text, record_text in rows:  # rows naming the id only
        record = None if record_text is None else json.loads(record_text)
        if isinstance(record, dict) and record.get("customer") == customer:
            con.execute("DELETE FROM quarantine WHERE id = %s", [row_id])
            deleted += 1
            continue
        if isinstance(record, dict):
            record = {k: (None if v == customer else v) for k, v in record.items()}
        reasons = json.loads(reasons_text)
        for reason in reasons:  # a reason or two per record
            if reason.get("value") == customer:
                reason["value"] = None
            for key in ("path", "message"):
                text = reason.get(key)
                if isinstance(text, str):
                    for q in quoted:
                        text = text.replace(q, "null")
                    reason[key] = text
        new_reasons = json.dumps(reasons, default=str)
        new_record = None if record is None else json.dumps(record, default=str)
        changed = (
            event_id == customer
            or json.loads(new_reasons) != json.loads(reasons_text)
            or (record_text is not None and json.loads(new_record) != json.loads(record_text))  # type: ignore[arg-type]
        )
        if changed:
            updates.append(
                (None if event_id == customer else event_id, new_reasons, new_record, row_id)
            )
    if updates:
        with con.cursor() as cur:
            cur.executemany(
                "UPDATE quarantine SET event_id = %s, reasons = %s::jsonb, record = %s::jsonb "
                "WHERE id = %s",
                updates,
            )
    return deleted, len(updates)
