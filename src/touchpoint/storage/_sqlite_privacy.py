"""Forgetting and exporting a customer in SQLite, down to the bytes of every file.

``forget`` runs in one write transaction: it deletes the customer's interaction rows
and rewrites the scan-cache blocks holding them without them, deletes their documents,
contacts, outbox rows, quarantined records and score rows and their dictionary entries,
and records a salted hash of the id in ``suppression``. Where **other** customers' data
names them, the id is replaced by a missing value: the ``referrer`` of others'
interactions (NULL in ``event``, -1 in the cache) and of others' customer records (``None``), and any field or
reason value equal to the id in others' quarantined records (``null``).

With ``secure_delete=ON`` SQLite overwrites the freed content, but in WAL mode copies of
the old pages stay in the ``-wal`` file (and the main file keeps the old pages) until a
checkpoint copies the new pages in and the WAL is truncated. A connection reading an
older snapshot holds that back, so ``forget`` retries ``wal_checkpoint(TRUNCATE)`` for
a bounded time (``wait``, default `ERASE_WAIT` seconds, also the ``erase_wait`` URL
option). If the readers hold on past the bound, `forget` raises `ErasureIncomplete`
naming what is left and how to finish; the same transaction that erased the data left a
durable **pending-erasure record** (a ``meta`` row ``erasure_pending:<token>``, no
personal value), which `finish_erasure` (or the next open of the database) completes.

The salt lives in the same file, so the hash hides the id from a casual reader, not from
someone who can guess ids and has the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import sqlite3
import time
from typing import Any

import numpy as np

from touchpoint.errors import StorageError
from touchpoint.storage._documents import customer_export
from touchpoint.storage._pack import pack, unpack

__all__ = ["ERASE_WAIT", "ErasureIncomplete", "PrivacyMixin"]

log = logging.getLogger("touchpoint.storage")

#: Seconds `forget` waits, by default, for other connections' read transactions to end
#: so that no copy of an erased page is left in the ``-wal`` file.
ERASE_WAIT = 10.0
_PENDING = "erasure_pending:"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class ErasureIncomplete(StorageError):
    """The customer is erased from every table, but old page copies remain in a file.

    Raised by `SqliteStorage.forget` and `SqliteStorage.finish_erasure` when other
    connections kept reading an older snapshot for longer than the wait allowed. The
    message names the files and what they still hold; the erasure stays recorded as
    pending until `SqliteStorage.finish_erasure` (or the next open) completes it.

    Attributes
    ----------
    customer:
        The customer being forgotten (None from `finish_erasure`).
    removed:
        What `forget` removed (the counts it would have returned).
    remaining:
        The files that still hold copies of erased pages.
    """

    def __init__(
        self,
        message: str,
        *,
        customer: str | None = None,
        removed: dict[str, int] | None = None,
        remaining: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.customer = customer
        self.removed = dict(removed or {})
        self.remaining = tuple(remaining)


class PrivacyMixin:
    """``forget``, ``finish_erasure``, ``export`` and ``is_suppressed`` for `SqliteStorage`."""

    def is_suppressed(self, customer: str) -> bool:
        rows = self._read("SELECT 1 FROM suppression WHERE hash = ?", (self._hash(customer),))  # type: ignore[attr-defined]
        return bool(rows)

    def forget(self, customer: str, *, wait: float | None = None) -> dict[str, int]:
        """Erase ``customer`` from every table and every file of the database.

        Returns how many items of each kind were removed or blanked. ``wait`` (seconds;
        default: the storage's ``erase_wait``) bounds the time spent waiting for other
        connections' read transactions so that the WAL can be checkpointed and
        truncated; past it, `ErasureIncomplete` says what is left and how to finish.
        """
        removed = self._erase(customer)
        self._settle(wait, customer=customer, removed=removed)
        return removed

    def _erase(self, customer: str) -> dict[str, int]:
        from touchpoint.storage._sqlite_append import CACHED, write_block

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
        with self._write() as con:  # type: ignore[attr-defined]
            cid = con.execute(
                "SELECT id FROM dict_customer WHERE value = ?", (customer,)
            ).fetchone()
            rid = con.execute(
                "SELECT id FROM dict_referrer WHERE value = ?", (customer,)
            ).fetchone()
            cid = -2 if cid is None else cid[0]
            rid = -2 if rid is None else rid[0]
            # the rows: deleted, or their referrer blanked (secure_delete overwrites both)
            removed["interactions"] = con.execute(
                "DELETE FROM event WHERE customer = ?", (cid,)
            ).rowcount
            removed["referrals"] = con.execute(
                "UPDATE event SET referrer = NULL WHERE referrer = ?", (rid,)
            ).rowcount
            # the scan cache: one pass per column block, numpy within a block
            for chunk_id, blob in con.execute("SELECT id, data FROM chunk WHERE n > 0").fetchall():
                cols = unpack(blob)
                gone = cols["customer"] == cid
                referred = (cols["referrer"] == rid) & ~gone
                if not gone.any() and not referred.any():
                    continue
                keep = {k: np.array(cols[k][~gone]) for k in CACHED}
                keep["referrer"][keep["referrer"] == rid] = -1
                con.execute("DELETE FROM chunk WHERE id = ?", (chunk_id,))
                if len(keep["id"]):
                    write_block(con, keep, chunk_id)
            removed["documents"] = con.execute(
                "DELETE FROM document WHERE customer = ?", (customer,)
            ).rowcount
            removed["referred_customers"] = _blank_referrer_documents(con, customer)
            removed["contacts"] = con.execute(
                "DELETE FROM contact WHERE customer = ?", (customer,)
            ).rowcount
            removed["outbox"] = con.execute(
                "DELETE FROM outbox WHERE customer = ?", (customer,)
            ).rowcount
            removed["quarantined"], removed["quarantine_scrubbed"] = _scrub_quarantine(
                con, customer
            )
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
            # the dictionaries lost entries (their ids may be given again): readers that
            # keep them (SqliteStorage._categories) read them again
            con.execute(
                "INSERT INTO meta (key, value) VALUES ('dict_generation', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (secrets.token_hex(8),),
            )
            con.execute(
                "INSERT INTO suppression (hash, at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
                (self._hash(customer), _now()),  # type: ignore[attr-defined]
            )
            if self._wal:  # type: ignore[attr-defined]
                # durable with the erasure itself: a crash before the checkpoint leaves it
                con.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    (_PENDING + secrets.token_hex(8), _now()),
                )
        return removed

    # ------------------------------------------------------------------ the files

    def pending_erasure(self) -> dict[str, Any] | None:
        """Erasures not yet complete on disk: ``{"forgets": n, "since": iso time}``, or None.

        A `forget` whose WAL checkpoint could not complete (`ErasureIncomplete`) stays
        pending until `finish_erasure` or the next open of the database completes it.
        """
        rows = self._read(  # type: ignore[attr-defined]
            "SELECT count(*), min(value) FROM meta WHERE key LIKE ?", (_PENDING + "%",)
        )
        n, since = rows[0]
        return {"forgets": int(n), "since": since} if n else None

    def finish_erasure(self, *, wait: float | None = None) -> bool:
        """Complete the pending erasures: checkpoint and truncate the WAL, waiting up to ``wait``.

        Returns True if erasures were pending and are now complete, False if none was
        pending. Raises `ErasureIncomplete` if other connections still read an older
        snapshot after ``wait`` seconds (default: the storage's ``erase_wait``).
        """
        if not self._wal or self.pending_erasure() is None:  # type: ignore[attr-defined]
            return False
        self._settle(wait, customer=None, removed=None)
        return True

    def _pending_keys(self) -> list[str]:
        rows = self._read("SELECT key FROM meta WHERE key LIKE ?", (_PENDING + "%",))  # type: ignore[attr-defined]
        return [k for (k,) in rows]

    def _settle(
        self, wait: float | None, *, customer: str | None, removed: dict[str, int] | None
    ) -> None:
        """Checkpoint and truncate the WAL within ``wait`` seconds, then clear the pending records.

        Only the records committed before the checkpoint are cleared: their pages are
        the ones the checkpoint copied and the truncation removed.
        """
        if not self._wal:  # type: ignore[attr-defined]
            return
        wait = self.erase_wait if wait is None else float(wait)  # type: ignore[attr-defined]
        keys = self._pending_keys()
        done, state = self._checkpoint(wait)
        if done:
            self._clear_pending(keys)
            return
        raise self._incomplete(wait, state, customer=customer, removed=removed)

    def _checkpoint(self, wait: float) -> tuple[bool, dict[str, int]]:
        """Retry ``wal_checkpoint(TRUNCATE)`` until the WAL is empty or ``wait`` has passed."""
        deadline = time.monotonic() + max(0.0, wait)
        state = {"busy": 1, "frames": -1, "copied": -1, "wal_bytes": -1, "attempts": 0}
        while True:
            with self._lock:  # type: ignore[attr-defined]
                con = self._con  # type: ignore[attr-defined]
                if con is None:
                    raise StorageError(f"{self.url}: the storage is closed")  # type: ignore[attr-defined]
                step = max(0.0, min(deadline - time.monotonic(), 0.2))
                try:
                    # the busy handler waits for readers within one attempt; keep it short
                    con.execute(f"PRAGMA busy_timeout = {int(step * 1000)}")
                    row = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                except sqlite3.Error:
                    row = (1, -1, -1)
                finally:
                    con.execute(f"PRAGMA busy_timeout = {self._busy_timeout}")  # type: ignore[attr-defined]
            state.update(busy=row[0], frames=row[1], copied=row[2], wal_bytes=self._wal_bytes())
            state["attempts"] += 1
            if not row[0] and state["wal_bytes"] == 0:
                return True, state
            left = deadline - time.monotonic()
            if left <= 0:
                return False, state
            time.sleep(min(0.05, left))

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self.path + "-wal")  # type: ignore[attr-defined]
        except FileNotFoundError:
            return 0

    def _clear_pending(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            with self._write() as con:  # type: ignore[attr-defined]
                con.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])
        except StorageError as exc:  # the data is gone; the record only repeats a finished job
            log.warning("%s: erasure complete, but its pending record stays: %s", self.url, exc)  # type: ignore[attr-defined]
            return
        # the frames just written hold no erased data; leave the WAL empty when nobody reads
        self._checkpoint(0.0)

    def _incomplete(
        self,
        wait: float,
        state: dict[str, int],
        *,
        customer: str | None,
        removed: dict[str, int] | None,
    ) -> ErasureIncomplete:
        main = os.path.basename(self.path)  # type: ignore[attr-defined]
        wal = main + "-wal"
        frames, copied = state["frames"], state["copied"]
        if frames > 0 and 0 <= copied < frames:
            what = (
                f"the main file {main!r} still holds the pages as they were before the "
                f"erasure ({frames - copied} of {frames} WAL frames could not be copied into "
                f"it) and {wal!r} ({state['wal_bytes']} bytes) still holds copies of them"
            )
            remaining = (self.path, self.path + "-wal")  # type: ignore[attr-defined]
        else:
            what = (
                f"{wal!r} ({state['wal_bytes']} bytes) still holds copies of pages written "
                "before the erasure"
            )
            remaining = (self.path + "-wal",)  # type: ignore[attr-defined]
        who = f"customer {customer!r} is" if customer is not None else "the forgotten customers are"
        message = (
            f"{self.url}: {who} erased from every table and suppressed, but the erasure is "  # type: ignore[attr-defined]
            f"not complete on disk: {what}. Another connection kept a read transaction open "
            f"for more than {wait:g} s (busy after {state['attempts']} checkpoint attempts), "
            "so the WAL could not be checkpointed and truncated. The erasure is recorded as "
            "pending: once the readers are done, finish it with Workspace.finish_erasure() "
            "(or SqliteStorage.finish_erasure()); the next open of the database also "
            "finishes it."
        )
        return ErasureIncomplete(message, customer=customer, removed=removed, remaining=remaining)

    def _finish_quietly(self) -> None:
        """One attempt, no waiting, at pending erasures (on open and close); logs what is left."""
        if not self._wal or not self._pending_keys():  # type: ignore[attr-defined]
            return
        keys = self._pending_keys()
        done, state = self._checkpoint(0.0)
        if done:
            self._clear_pending(keys)
        else:
            log.warning("%s", self._incomplete(0.0, state, customer=None, removed=None))

    # ------------------------------------------------------------------ export

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
        return customer_export(
            self,
            customer,
            exported_at=_now(),
            interactions=interactions,
            documents=self._read(
                "SELECT kind, body FROM document WHERE customer = ? ORDER BY kind, id", (customer,)
            ),  # type: ignore[attr-defined]
            quarantined=self._read(
                "SELECT batch, row, reasons, record FROM quarantine WHERE customer = ? ORDER BY id",
                (customer,),
            ),  # type: ignore[attr-defined]
            score_names=[n for (n,) in self._read("SELECT name FROM score ORDER BY name")],  # type: ignore[attr-defined]
        )


def _blank_referrer_documents(con: sqlite3.Connection, customer: str) -> int:
    """Set ``referrer`` to None in other customers' records naming ``customer``."""
    needle = json.dumps(customer, ensure_ascii=False)
    rows = con.execute(
        "SELECT id, body FROM document WHERE kind = 'customer' AND instr(body, ?) > 0",
        (needle,),
    ).fetchall()
    changed = []
    for doc_id, body in rows:  # the few documents that mention the id at all
        data = json.loads(body)
        if data.get("referrer") == customer:
            data["referrer"] = None
            changed.append((json.dumps(data, ensure_ascii=False, sort_keys=True), doc_id))
    con.executemany("UPDATE document SET body = ? WHERE kind = 'customer' AND id = ?", changed)
    return len(changed)


def _scrub_quarantine(con: sqlite3.Connection, customer: str) -> tuple[int, int]:
    """Delete the customer's quarantined records; blank their id in the others'.

    In another customer's quarantined record, a field equal to the id (the referrer,
    usually) and a reason's value equal to it become ``null``. Returns (deleted, scrubbed).
    """
    deleted = con.execute("DELETE FROM quarantine WHERE customer = ?", (customer,)).rowcount
    needle = json.dumps(customer)[1:-1]  # as json.dumps wrote it (ASCII escapes)
    rows = con.execute(
        "SELECT id, event_id, reasons, record FROM quarantine "
        "WHERE event_id = ? OR instr(reasons, ?) > 0 OR instr(coalesce(record, ''), ?) > 0",
        (customer, needle, needle),
    ).fetchall()
    quoted = (repr(customer), json.dumps(customer))
    updates = []
    for row_id, event_id, reasons_text, record_text in rows:  # rows naming the id only
        record = None if record_text is None else json.loads(record_text)
        if isinstance(record, dict) and record.get("customer") == customer:
            con.execute("DELETE FROM quarantine WHERE id = ?", (row_id,))
            deleted += 1
            continue
        if isinstance(record, dict):
            record = {k: (None if v == customer else v) for k, v in record.items()}
        reasons = json.loads(reasons_text)
        for reason in reasons:
            if reason.get("value") == customer:
                reason["value"] = None
            for key in ("path", "message"):
                text = reason.get(key)
                if isinstance(text, str):
                    for q in quoted:
                        text = text.replace(q, "null")
                    reason[key] = text
        new = (
            None if event_id == customer else event_id,
            json.dumps(reasons, default=str),
            None if record is None else json.dumps(record, default=str),
        )
        if new != (event_id, reasons_text, record_text):
            updates.append((*new, row_id))
    con.executemany(
        "UPDATE quarantine SET event_id = ?, reasons = ?, record = ? WHERE id = ?", updates
    )
    return deleted, len(updates)
