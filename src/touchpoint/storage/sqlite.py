"""Built-in plugin: ``sqlite:///path.db``, the embedded default storage (standard-library sqlite3).

One file, WAL journal (readers never block the writer), explicit transactions
(``isolation_level=None`` with ``BEGIN IMMEDIATE`` / ``COMMIT`` / ``ROLLBACK``), a busy
timeout, ``PRAGMA secure_delete=ON`` (so erased data is overwritten, whatever the SQLite
build's default) and a versioned schema (`touchpoint.storage._sqlite_schema`).

Interactions are rows of the ``event`` table, readable by plain SQL through the
``interactions`` view (``sqlite3 shop.db "select count(*) from interactions"``), and are
also kept in column blocks with dictionary-coded ids (the scan cache), so scanning moves
numpy arrays, not a Python object per row. A unique index on a 64-bit key of each event
id makes appends idempotent and fast with random ids. A storage keeps the dictionary ids
of the values it has written (up to `KNOWN_IDS` per column: 78 MiB for UUID-length
customer ids, more for longer ones), so returning customers need no lookup. WAL needs
the database on a local disk: on a network file system (NFS, SMB) use
``?journal=delete``.

URL: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``; options as query
parameters: ``busy_timeout`` (ms, default 5000), ``synchronous`` (``normal``, the
default in WAL mode, or ``full``), ``journal`` (``wal`` or ``delete``), ``erase_wait``
(seconds `forget` waits for other connections' readers, default 10; see
`touchpoint.storage._sqlite_privacy`).

Examples
--------
>>> import tempfile, os, numpy as np
>>> from touchpoint.storage.base import Batch
>>> path = os.path.join(tempfile.mkdtemp(), "shop.db")
>>> store = SqliteStorage(path)
>>> b = Batch.from_columns({"event_id": ["e1", "e2"], "customer": ["C1", "C2"],
...     "touchpoint": ["T1", "T2"], "time": np.array(["2026-01-01", "2026-01-02"], "datetime64[us]")})
>>> store.append(b).status.tolist(), store.append(b).status.tolist()
([0, 0], [1, 1])
>>> sorted(store.scan()["customer"].tolist())
['C1', 'C2']
>>> store._read("SELECT event_id, customer, time FROM interactions ORDER BY time_us")
[('e1', 'C1', '2026-01-01T00:00:00.000000Z'), ('e2', 'C2', '2026-01-02T00:00:00.000000Z')]
>>> store.schema_version
4
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from touchpoint.errors import StorageBusyError, StorageError
from touchpoint.plugins.hookspecs import hookimpl
from touchpoint.storage import (
    _sqlite_append,
    _sqlite_outbox,
    _sqlite_privacy,
    _sqlite_records,
    _sqlite_scan,
)
from touchpoint.storage._known_ids import KnownIds
from touchpoint.storage._sqlite_privacy import ERASE_WAIT, ErasureIncomplete
from touchpoint.storage._sqlite_schema import migrate
from touchpoint.storage.base import AppendResult, Batch, Rejection, Storage

__all__ = ["ErasureIncomplete", "SqliteStorage", "parse_url"]

log = logging.getLogger("touchpoint.storage")

#: Page cache of each connection, in KiB (SQLite's default is 2 MiB): measured in
#: ``benchmarks/bench_storage_sqlite.py``; memory is taken only as pages are read.
CACHE_KIB = 64 * 1024
#: Dictionaries (customer ids...) up to this many values are kept between scans.
DICT_CACHE_ROWS = 2_000_000
#: Dictionary ids of up to this many values per column are kept for writing (`_ids`): a
#: value seen before needs no lookup (78 MiB for UUID-length values, strings included:
#: ``benchmarks/prototypes/dictionary_ids.py``; an open transaction's new ones come on top).
KNOWN_IDS = 1 << 19


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (SQLITE_BUSY/LOCKED)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """The file path and options of a ``sqlite:///...`` URL.

    >>> parse_url("sqlite:///data/shop.db?busy_timeout=100")
    ('data/shop.db', {'busy_timeout': '100'})
    >>> parse_url("sqlite:////var/lib/shop.db")[0]
    '/var/lib/shop.db'
    """
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.netloc:
        raise StorageError(
            f"not a SQLite URL: {url!r}; use sqlite:///relative.db or sqlite:////absolute/path.db"
        )
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return unquote(parts.path[1:]), options


class SqliteStorage(
    _sqlite_records.RecordsMixin,
    _sqlite_privacy.PrivacyMixin,
    _sqlite_outbox.OutboxMixin,
    Storage,
):
    """Storage in one SQLite file (or in memory with ``path=":memory:"``).

    Parameters
    ----------
    path:
        The database file (created if missing) or ``":memory:"``.
    busy_timeout:
        Milliseconds to wait for another writer before giving up.
    synchronous:
        ``"normal"`` (default; with WAL a crash of the process never loses a committed
        batch, a power cut may lose the last ones) or ``"full"``.
    journal:
        ``"wal"`` (default) or ``"delete"`` (for network file systems).
    erase_wait:
        Seconds `forget` waits, at most, for other connections' read transactions to end
        so that no copy of an erased page stays in the ``-wal`` file (then it raises
        `ErasureIncomplete`, and the erasure stays pending until `finish_erasure`).
    """

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: int = 5000,
        synchronous: str = "normal",
        journal: str = "wal",
        erase_wait: float = ERASE_WAIT,
        url: str | None = None,
    ) -> None:
        self.path = str(path)
        self.url = url or ("memory://" if self.path == ":memory:" else f"sqlite:///{self.path}")
        if not erase_wait >= 0:
            raise StorageError(f"erase_wait must be a number of seconds >= 0, not {erase_wait!r}")
        self.erase_wait = float(erase_wait)
        self._busy_timeout = int(busy_timeout)
        self._wal = False
        self._lock = threading.RLock()
        # dictionary tables as read by scans: column -> (ids, values), and the erasure
        # generation they were read at (see _categories)
        self._dicts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._dicts_generation: str | None = None
        # dictionary ids for writing, at the erasure generation they were read at
        self._known = KnownIds(KNOWN_IDS)
        self._known_generation: str | None = None
        try:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the SQLite database {self.path!r}: {exc}") from exc
        self._con = con
        con.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")
        # large pages: column blocks are big blobs, read through fewer overflow pages
        # (takes effect only when the file is created)
        con.execute("PRAGMA page_size = 32768")
        if self.path != ":memory:":
            mode = con.execute(f"PRAGMA journal_mode = {journal.upper()}").fetchone()[0]
            if mode.lower() != journal.lower():
                raise StorageError(
                    f"{self.path!r}: could not set journal mode {journal!r} (got {mode!r})"
                )
            self._wal = mode.lower() == "wal"
        if synchronous.lower() not in ("normal", "full"):
            raise StorageError(f"synchronous must be 'normal' or 'full', not {synchronous!r}")
        con.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        con.execute("PRAGMA secure_delete = ON")
        con.execute("PRAGMA temp_store = MEMORY")
        # room for the key index: a batch sweeps it once, in key order (see _sqlite_append)
        con.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
        migrate(con, self.path)
        self._salt = bytes.fromhex(
            con.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
        )
        self._finish_quietly()  # an erasure left pending by an earlier forget

    @classmethod
    def from_url(cls, url: str) -> SqliteStorage:
        path, options = parse_url(url)
        known = {"busy_timeout", "synchronous", "journal", "erase_wait"}
        unknown = set(options) - known
        if unknown:
            raise StorageError(
                f"unknown option(s) {sorted(unknown)} in {url!r}; known: {sorted(known)}"
            )
        kwargs: dict[str, Any] = dict(options)
        try:
            if "busy_timeout" in kwargs:
                kwargs["busy_timeout"] = int(kwargs["busy_timeout"])
            if "erase_wait" in kwargs:
                kwargs["erase_wait"] = float(kwargs["erase_wait"])
        except ValueError as exc:
            raise StorageError(f"{url!r}: an option is not a number: {exc}") from None
        return cls(path, url=url, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def schema_version(self) -> int:
        """The schema version of the database (`touchpoint.storage._sqlite_schema`)."""
        return int(self._read("SELECT max(version) FROM schema_version")[0][0])

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, ``ROLLBACK`` on any error."""
        with self._lock:
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
                raise (StorageBusyError if busy else StorageError)(
                    f"{self.url}: cannot start a write transaction: {exc}"
                ) from exc
            self._check_known(con)
            try:
                yield con
            except BaseException as exc:
                self._known.rollback()
                con.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
                    raise (StorageBusyError if busy else StorageError)(
                        f"{self.url}: the write was rolled back: {exc}"
                    ) from exc
                raise
            else:
                try:
                    con.execute("COMMIT")
                except sqlite3.Error as exc:  # e.g. busy: never leave the transaction open
                    self._known.rollback()
                    con.execute("ROLLBACK")
                    busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
                    raise (StorageBusyError if busy else StorageError)(
                        f"{self.url}: the write was rolled back, nothing changed: {exc}"
                    ) from exc
                self._known.commit()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same committed state."""
        with self._lock:
            con = self._con
            if con.in_transaction:
                yield con
                return
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")

    def _hash(self, customer: str) -> str:
        return hashlib.blake2b(customer.encode(), key=self._salt, digest_size=20).hexdigest()

    def _suppressed_hashes(self, con: sqlite3.Connection) -> set[str]:
        return {h for (h,) in con.execute("SELECT hash FROM suppression")}

    @staticmethod
    def _dict_generation(con: sqlite3.Connection) -> str:
        """The ``meta`` row ``dict_generation``, which `forget` changes when it deletes
        dictionary values (whose ids may then be given to other values)."""
        row = con.execute("SELECT value FROM meta WHERE key = 'dict_generation'").fetchone()
        return str(row[0]) if row else "0"

    def _check_known(self, con: sqlite3.Connection) -> None:
        """Forget the kept dictionary ids if an erasure deleted values since they were read.

        Called by `_write` once it holds the write lock, so no erasure can commit
        between this check and the transaction's writes. (A forgotten customer's rows
        are refused from then on, so this is a safeguard.)
        """
        generation = self._dict_generation(con)
        if generation != self._known_generation:
            self._known.clear()
            self._known_generation = generation

    def _ids(self, con: sqlite3.Connection, column: str, values: Sequence[str]) -> np.ndarray:
        """Dictionary ids of ``values`` in ``dict_<column>``, adding the new ones.

        Values written before by this storage take their kept id (`KnownIds`); the
        others are looked up, and added if new.
        """
        n = len(values)
        out = np.empty(n, dtype=np.int64)
        if n == 0:
            return out
        out[:] = self._known.lookup(column, values)  # checked by `_write`
        todo = np.flatnonzero(out < 0)
        if not len(todo):
            return out
        missed = todo
        # the values travel as one JSON array (json_each), not as a row each: the known
        # ones are found in one pass, then the new ones are added and read back
        for adding in (False, True):
            text = json.dumps([values[i] for i in todo.tolist()])
            if adding:
                con.execute(
                    f"INSERT OR IGNORE INTO dict_{column} (value) "
                    "SELECT value FROM json_each(?) ORDER BY key",
                    (text,),
                )
            rows = con.execute(
                f"SELECT j.key, d.id FROM json_each(?) AS j "
                f"JOIN dict_{column} AS d ON d.value = j.value",
                (text,),
            ).fetchall()
            pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
            out[todo[pairs[:, 0]]] = pairs[:, 1]
            todo = np.delete(todo, pairs[:, 0])
            if not len(todo):
                break
        if len(todo):  # cannot be: every value was just added
            raise StorageError(f"dict_{column}: {len(todo)} values could not be stored")
        self._known.learn(column, [values[i] for i in missed.tolist()], out[missed])
        return out

    def _lookup(self, column: str, values: Iterable[str]) -> np.ndarray:
        """Ids of the ``values`` already in ``dict_<column>`` (unknown ones are left out)."""
        values = list(values)
        found: list[int] = []
        for i in range(0, len(values), 500):
            part = values[i : i + 500]
            marks = ",".join("?" * len(part))
            found += [
                r[0]
                for r in self._read(f"SELECT id FROM dict_{column} WHERE value IN ({marks})", part)
            ]
        return np.array(found, dtype=np.int64)

    def _categories(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The ids and values of ``dict_<column>`` (the values a fresh array each call).

        Kept between calls: dictionaries only grow (a new value gets an id above every
        other), except when `forget` deletes an entry, which bumps the ``meta`` row
        ``dict_generation``; then every dictionary is read again. Dictionaries of more
        than `DICT_CACHE_ROWS` values are read each time, not kept.
        """
        with self._snapshot() as con:
            generation = self._dict_generation(con)
            if generation != self._dicts_generation:
                self._dicts, self._dicts_generation = {}, generation
            ids, values = self._dicts.get(
                column, (np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
            )
            top = int(ids[-1]) if len(ids) else -(2**63)
            # the new rows as two JSON arrays (ids and values, aggregated in the same
            # order): one string each, 1.7x less CPU than a Python tuple per row at 100k
            # rows (benchmarks/prototypes/dictionary_ids.py)
            new_ids, new_values = con.execute(
                "SELECT json_group_array(id), json_group_array(value) "
                f"FROM (SELECT id, value FROM dict_{column} WHERE id > ? ORDER BY id)",
                (top,),
            ).fetchone()
        added = np.array(json.loads(new_ids), dtype=np.int64)
        if len(added):
            more = np.empty(len(added), dtype=object)
            more[:] = json.loads(new_values)
            if (np.diff(added) < 0).any():  # aggregates need not keep the subquery's order
                order = np.argsort(added, kind="stable")
                added, more = added[order], more[order]
            ids = np.concatenate([ids, added])
            values = np.concatenate([values, more])
            if len(ids) <= DICT_CACHE_ROWS:
                self._dicts[column] = (ids, values)
            else:
                self._dicts.pop(column, None)
        return ids, values.copy()

    # ------------------------------------------------------------------ interactions

    def append(
        self, batch: Batch, *, refuse: bool = True, quarantine: Sequence[Rejection] = ()
    ) -> AppendResult:
        try:
            with self._write() as con:
                result = _sqlite_append.append(
                    self, con, batch, refuse=refuse, quarantine=quarantine
                )
                if not result.committed:
                    raise _Refused(result)  # rolls the transaction back
        except _Refused as refused:
            return refused.result
        return result

    def scan(
        self,
        *,
        start: Any = None,
        end: Any = None,
        customers: Iterable[str] | None = None,
        touchpoints: Iterable[str] | None = None,
    ) -> Any:
        return _sqlite_scan.scan(
            self, start=start, end=end, customers=customers, touchpoints=touchpoints
        )

    def count(self) -> int:
        return int(self._read("SELECT coalesce(sum(n), 0) FROM chunk")[0][0])

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                try:
                    self._finish_quietly()
                except (sqlite3.Error, StorageError) as exc:
                    log.warning("%s: pending erasure not finished on close: %s", self.url, exc)
                self._con.close()
                self._con = None  # type: ignore[assignment]


class _Refused(Exception):
    """Internal: unwinds the write transaction of a refused batch (never escapes `append`)."""

    def __init__(self, result: AppendResult) -> None:
        self.result = result


@hookimpl
def register_storage(register: Any) -> None:
    register("sqlite", SqliteStorage.from_url)
