"""Built-in plugin: ``postgresql://user@host:port/db``, storage in a PostgreSQL database (psycopg 3).

Install the extra: ``pip install 'touchpoint-ctm[postgres]'`` (psycopg 3, imported only when
a storage is opened). Open it like any storage::

    ws = touchpoint.open("postgresql://app@db.internal:5432/crm", blueprint=...)

Every table lives in one PostgreSQL schema, ``public`` unless the URL names another
(``?schema=touchpoint``), created and migrated on open
(`touchpoint.storage._postgres_schema`); ``select count(*) from interactions`` in
``psql`` reads the interactions without the library. Many processes, on many machines,
may use one database at once: appends are idempotent under concurrency (a primary key on
the event id), the outbox is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``, and an
erasure waits for the writes in flight and makes the later ones see it.

Appends go through a binary ``COPY`` into a temporary staging table and one
``INSERT ... ON CONFLICT (event_id) DO NOTHING`` per batch
(`touchpoint.storage._postgres_append`); scans come back through binary ``COPY`` into
numpy columns, never a Python object per interaction.

URL: ``postgresql://`` or ``postgres://``, any libpq connection URI
(``postgresql://user:secret@host:5432/db?sslmode=require``; a password may also come
from ``PGPASSWORD`` or ``~/.pgpass``). touchpoint's own options, taken out of the
query string before it reaches libpq:

- ``schema`` (default ``public``): the PostgreSQL schema holding the tables (a lowercase
  identifier; created if missing);
- ``lock_timeout`` (milliseconds, default 60000): how long a write waits for a lock
  another session holds before it fails with a `touchpoint.errors.StorageError`
  (``0``: wait without limit);
- ``erase`` (``vacuum``, the default, ``rewrite`` or ``defer``) and ``erase_wait``
  (seconds, default 10): what `PostgresStorage.forget` does to the table files after
  the erasure commits (`touchpoint.storage._postgres_privacy`).

Examples
--------
>>> parse_url("postgresql://app:secret@db:5432/crm?schema=shop&sslmode=require")
('postgresql://app:secret@db:5432/crm?sslmode=require', {'schema': 'shop'})
>>> masked("postgresql://app:secret@db:5432/crm?schema=shop")
'postgresql://app:***@db:5432/crm?schema=shop'
>>> masked("host=db user=app password='se cret' dbname=crm")
'host=db user=app password=*** dbname=crm'
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from touchpoint._extras import require
from touchpoint.errors import StorageError
from touchpoint.plugins.hookspecs import hookimpl
from touchpoint.storage import (
    _postgres_append,
    _postgres_dims,
    _postgres_privacy,
    _postgres_records,
    _postgres_scan,
)
from touchpoint.storage._postgres_privacy import ERASE_MODES, ERASE_WAIT, ErasureIncomplete
from touchpoint.storage._postgres_schema import SCHEMA_VERSION, lock_key, migrate
from touchpoint.storage.base import AppendResult, Batch, Rejection, Storage

__all__ = ["SCHEMA_VERSION", "ErasureIncomplete", "PostgresStorage", "masked", "parse_url"]

log = logging.getLogger("touchpoint.storage")

#: touchpoint's own URL options (the rest of the query string goes to libpq).
OPTIONS = ("schema", "lock_timeout", "erase", "erase_wait")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI of a ``postgresql://`` URL, and touchpoint's options taken out of it."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StorageError(
            f"not a PostgreSQL URL: {masked(url)!r}; use postgresql://user@host:port/database"
        )
    ours, theirs = {}, []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in OPTIONS:
            ours[key] = value
        else:
            theirs.append((key, value))
    conninfo = urlunsplit(parts._replace(query=urlencode(theirs)))
    return conninfo, ours


def masked(url: str) -> str:
    """``url`` (or a ``key=value`` connection string) with its password replaced by ``***``."""
    if "://" not in url:
        return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class PostgresStorage(
    _postgres_records.RecordsMixin,
    _postgres_privacy.PrivacyMixin,
    _postgres_records.OutboxMixin,
    Storage,
):
    """Storage in a PostgreSQL database (one schema of it), through psycopg 3.

    Parameters
    ----------
    conninfo:
        A libpq connection string or URI (``postgresql://user@host:5432/db``).
    schema:
        The PostgreSQL schema of the tables (created and migrated if needed).
    lock_timeout:
        Milliseconds a statement waits for a lock before failing (0: no limit).
    erase:
        ``"vacuum"``, ``"rewrite"`` or ``"defer"``: what `forget` does to the table
        files once the erasure committed (see `touchpoint.storage._postgres_privacy`).
    erase_wait:
        Seconds `forget` waits, at most, for sessions with older snapshots.
    url:
        The URL to report (with the password masked); built from the rest if omitted.

    One connection per storage object, used by one thread at a time (a lock); open one
    storage per process (or per thread that needs its own transactions).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "public",
        lock_timeout: int = 60_000,
        erase: str = "vacuum",
        erase_wait: float = ERASE_WAIT,
        url: str | None = None,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise StorageError(
                f"schema must be a lowercase identifier (letters, digits, _), not {schema!r}"
            )
        if erase not in ERASE_MODES:
            raise StorageError(f"erase must be one of {', '.join(ERASE_MODES)}, not {erase!r}")
        if not erase_wait >= 0:
            raise StorageError(f"erase_wait must be a number of seconds >= 0, not {erase_wait!r}")
        if not lock_timeout >= 0:
            raise StorageError(f"lock_timeout must be milliseconds >= 0, not {lock_timeout!r}")
        self.conninfo = conninfo
        self.schema = schema
        self.lock_timeout = int(lock_timeout)
        self.erase = erase
        self.erase_wait = float(erase_wait)
        self.url = masked(url or conninfo)
        self._lock = threading.RLock()
        self._lock_ns = zlib.crc32(lock_key(schema).encode()) & 0x7FFFFFFF
        self._psycopg = require("psycopg", extra="postgres", feature="the PostgreSQL storage")
        self._dims = _postgres_dims.Dimensions()
        self._con: Any = None
        self._con = self._connect()
        try:
            migrate(self._con, schema, self.url)
        except self._psycopg.Error as exc:
            self.close()
            raise StorageError(
                f"{self.url}: cannot create or migrate the tables in schema {schema!r}: "
                f"{_reason(exc)}"
            ) from None
        except BaseException:
            self.close()
            raise
        salt = self._read("SELECT value FROM meta WHERE key = 'salt'")[0][0]
        self._salt = bytes.fromhex(salt)

    @classmethod
    def from_url(cls, url: str) -> PostgresStorage:
        conninfo, options = parse_url(url)
        kwargs: dict[str, Any] = dict(options)
        try:
            if "lock_timeout" in kwargs:
                kwargs["lock_timeout"] = int(kwargs["lock_timeout"])
            if "erase_wait" in kwargs:
                kwargs["erase_wait"] = float(kwargs["erase_wait"])
        except ValueError as exc:
            raise StorageError(f"{masked(url)!r}: an option is not a number: {exc}") from None
        return cls(conninfo, url=url, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def schema_version(self) -> int:
        """The version of the schema in the database (`SCHEMA_VERSION` once opened)."""
        return int(self._read("SELECT coalesce(max(version), 0) FROM schema_version")[0][0])

    # ------------------------------------------------------------------ plumbing

    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            named = "application_name" in self.conninfo
            extra = {} if named else {"application_name": "touchpoint"}
            con = psycopg.connect(self.conninfo, autocommit=True, **extra)
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.url}: {_reason(exc)}") from None
        try:
            con.execute("SELECT set_config('search_path', %s, false)", [f'"{self.schema}"'])
            con.execute("SET TIME ZONE 'UTC'")
            con.execute("SET client_encoding = 'UTF8'")
            con.execute(f"SET lock_timeout = {self.lock_timeout}")
            con.execute("SET temp_buffers = '64MB'")
            con.execute(_postgres_append.stage_ddl())
            con.execute(_postgres_append.keys_ddl())
            con.execute(_postgres_dims.VALUES_DDL)
        except psycopg.Error as exc:
            con.close()
            raise StorageError(f"{self.url}: cannot prepare the session: {_reason(exc)}") from None
        return con

    def _connection(self) -> Any:
        con = self._con
        if con is None:
            raise StorageError(f"{self.url}: the storage is closed")
        if con.closed or con.broken:
            log.warning("%s: the connection was lost; connecting again", self.url)
            self._con = con = self._connect()
        return con

    def _error(self, exc: Exception, what: str) -> StorageError:
        psycopg = self._psycopg
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StorageError(
                f"{self.url}: {what}: another session held a lock for more than "
                f"{self.lock_timeout} ms (the lock_timeout option); nothing was changed"
            )
        return StorageError(f"{self.url}: {what}: {_reason(exc)}")

    @contextmanager
    def _write(self, *, exclusive: bool = False, guard: bool = True) -> Iterator[Any]:
        """One write transaction; rolled back whole on any error.

        ``guard`` takes a ``SHARE`` lock on ``suppression`` (writes of customer data:
        a `forget` cannot commit in between), ``exclusive`` an ``EXCLUSIVE`` one (`forget`).
        """
        psycopg = self._psycopg
        with self._lock:
            con = self._connection()
            try:
                with con.transaction():
                    if exclusive:
                        con.execute("LOCK TABLE suppression IN EXCLUSIVE MODE")
                    elif guard:
                        con.execute("LOCK TABLE suppression IN SHARE MODE")
                    yield con
            except psycopg.Error as exc:
                self._dims.rollback()
                raise self._error(exc, "the write was rolled back, nothing changed") from exc
            except BaseException:
                self._dims.rollback()
                raise
            self._dims.commit()

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        psycopg = self._psycopg
        with self._lock:
            con = self._connection()
            try:
                return con.execute(sql, params or None).fetchall()  # type: ignore[no-any-return]
            except psycopg.Error as exc:
                raise self._error(exc, "reading failed") from exc

    @contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """A read-only ``REPEATABLE READ`` transaction: every statement sees one snapshot."""
        psycopg = self._psycopg
        with self._lock:
            con = self._connection()
            try:
                con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                try:
                    yield con
                finally:
                    con.execute("COMMIT" if not con.broken else "SELECT 1")
            except psycopg.Error as exc:
                if not con.broken:
                    con.execute("ROLLBACK")
                raise self._error(exc, "reading failed") from exc

    def _maintenance(self, sql: str) -> None:
        """A statement that cannot run in a transaction (``VACUUM``)."""
        psycopg = self._psycopg
        with self._lock:
            con = self._connection()
            try:
                con.execute(sql)
            except psycopg.Error as exc:
                raise self._error(exc, f"{sql.split(' (')[0]} failed") from exc

    def _hash(self, customer: str) -> str:
        return hashlib.blake2b(customer.encode(), key=self._salt, digest_size=20).hexdigest()

    def _suppressed_hashes(self, con: Any) -> set[str]:
        return {h for (h,) in con.execute("SELECT hash FROM suppression").fetchall()}

    # ------------------------------------------------------------------ interactions

    def append(
        self, batch: Batch, *, refuse: bool = True, quarantine: Sequence[Rejection] = ()
    ) -> AppendResult:
        try:
            with self._write() as con:
                result = _postgres_append.append(
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
        return _postgres_scan.scan(
            self, start=start, end=end, customers=customers, touchpoints=touchpoints
        )

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM event")[0][0])

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


class _Refused(Exception):
    """Internal: unwinds the write transaction of a refused batch (never escapes `append`)."""

    def __init__(self, result: AppendResult) -> None:
        self.result = result


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@hookimpl
def register_storage(register: Any) -> None:
    register("postgresql", PostgresStorage.from_url)
    register("postgres", PostgresStorage.from_url)
