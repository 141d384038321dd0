"""The storage contract: what every storage backend does, built for columns.

A backend stores interactions (appended in batches, idempotent on the event id, one
transaction per batch), customers with their consent, promises, complaints, the contact
log, saved scores and the quarantine of rejected records; it forgets and exports a
customer. `touchpoint.testing` checks a backend against this contract.

Interactions travel as a `Batch`: validated numpy columns where every categorical column
is int codes into its distinct values (as `touchpoint.frame.EventFrame` holds them), so a
backend maps each distinct value once, never each row.

Examples
--------
>>> import numpy as np
>>> b = Batch.from_columns({"event_id": ["e1", "e2"], "customer": ["C1", "C2"],
...                         "touchpoint": ["T1", "T1"],
...                         "time": np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[us]")})
>>> len(b), b.value("customer", 1), b.record(0)["touchpoint"]
(2, 'C2', 'T1')
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem

__all__ = [
    "CATEGORICAL",
    "DIRECTIONS",
    "FLOATS",
    "AppendResult",
    "AppendStatus",
    "Batch",
    "Rejection",
    "Storage",
    "customer_columns",
]

#: Categorical event columns, stored through dictionaries of distinct values.
CATEGORICAL = (
    "customer",
    "touchpoint",
    "channel",
    "outcome",
    "staff",
    "store",
    "referrer",
    "indicator",
)
#: Float event columns (NaN = missing).
FLOATS = ("amount", "rating", "response_time")
#: Direction codes: 0 inbound, 1 outbound.
DIRECTIONS = np.array(["inbound", "outbound"], dtype=object)

_EPOCH = np.datetime64(0, "us")


class AppendStatus(enum.IntEnum):
    """What became of one row of a batch in storage."""

    ACCEPTED = 0
    DUPLICATE = 1
    CONFLICT = 2
    SUPPRESSED = 3


@attrs.frozen(eq=False)
class Batch:
    """Validated interactions as columns, ready for a backend.

    ``event_id`` is an array of ASCII byte strings; each name in `CATEGORICAL` has int64
    codes in ``codes`` (-1 missing) into ``categories``; ``time`` is int64 microseconds
    since 1970-01-01 UTC; ``direction`` int8 (0 inbound, 1 outbound); `FLOATS` are float64
    with NaN for missing; ``row`` gives each row's position in the caller's input.
    """

    event_id: np.ndarray
    codes: dict[str, np.ndarray]
    categories: dict[str, np.ndarray]
    time: np.ndarray
    direction: np.ndarray
    floats: dict[str, np.ndarray]
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.event_id)

    def take(self, index: np.ndarray) -> Batch:
        """The rows at ``index`` (positions or a boolean mask); categories are shared."""
        return Batch(
            self.event_id[index],
            {k: v[index] for k, v in self.codes.items()},
            self.categories,
            self.time[index],
            self.direction[index],
            {k: v[index] for k, v in self.floats.items()},
            self.row[index],
        )

    def value(self, name: str, i: int) -> Any:
        """The value of column ``name`` at row ``i`` as a Python object (None if missing)."""
        if name == "event_id":
            return self.event_id[i].decode("ascii")
        if name in self.codes:
            code = int(self.codes[name][i])
            return None if code < 0 else str(self.categories[name][code])
        if name == "time":
            return str(np.datetime64(int(self.time[i]), "us")) + "Z"
        if name == "direction":
            return str(DIRECTIONS[int(self.direction[i])])
        v = float(self.floats[name][i])
        return None if np.isnan(v) else v

    def record(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a dict of Python values (for quarantine and error messages)."""
        names = ("event_id", *CATEGORICAL, "time", "direction", *FLOATS)
        return {n: self.value(n, i) for n in names}

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> Batch:
        """A batch from already valid columns (values, not codes); for tests and backends.

        Applications go through `touchpoint.schema.records.validate_columns`, which
        checks every value and reports the bad ones.
        """
        from touchpoint.frame import factorize

        n = len(columns["event_id"])
        codes, cats = {}, {}
        for name in CATEGORICAL:
            values = columns.get(name)
            if values is None:
                codes[name] = np.full(n, -1, dtype=np.int64)
                cats[name] = np.empty(0, dtype=object)
            else:
                codes[name], cats[name] = factorize(np.asarray(values, dtype=object), sort=False)
        time = np.asarray(columns["time"]).astype("datetime64[us]")
        direction = np.asarray(
            columns.get("direction", np.full(n, "inbound", dtype=object)), dtype=object
        )
        return cls(
            np.asarray(columns["event_id"], dtype=object).astype("S"),
            codes,
            cats,
            (time - _EPOCH).astype(np.int64),
            (direction == "outbound").astype(np.int8),
            {f: np.asarray(columns.get(f, np.full(n, np.nan)), dtype=np.float64) for f in FLOATS},
            np.arange(n, dtype=np.int64),
        )


@attrs.frozen
class Rejection:
    """A record that was not stored: its position in the input, why, and its values.

    ``record`` is kept in quarantine so nothing is lost; it is None when keeping it is not
    allowed (a forgotten customer's events).
    """

    row: int
    problems: tuple[Problem, ...] = attrs.field(converter=tuple)
    record: dict[str, Any] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def reason(self) -> str:
        """The problems as one line of text, ``"; "``-separated."""
        return "; ".join(str(p) for p in self.problems)


@attrs.frozen(eq=False)
class AppendResult:
    """What a backend did with a batch: one `AppendStatus` per row, and whether it committed.

    ``rejections`` gives the reason of every ``CONFLICT`` and ``SUPPRESSED`` row.
    """

    status: np.ndarray
    committed: bool
    batch_id: int | None = None
    rejections: tuple[Rejection, ...] = ()


class Storage(abc.ABC):
    """Base class of storage backends; `touchpoint.testing` holds the contract tests.

    Times are UTC; money is float64 currency units. Every write method is one
    transaction: it lands whole or not at all. The abstract methods are required; the
    dispatch outbox (`enqueue` ... `outbox`) is optional: without it the methods raise
    `NotImplementedError`, `touchpoint.care.dispatch` cannot run on the storage, and its
    contract tests declare ``unsupported = {"outbox"}`` (see
    `touchpoint.testing.OPTIONAL_PARTS`). The page "Write a storage plugin" of the
    documentation gives every method's semantics and builds a complete backend.
    """

    url: str = ""

    @property
    def schema_version(self) -> int:
        """The version of the schema the storage keeps its data in (read-only).

        A storage with a versioned schema (tables it creates and migrates) returns the
        version its data is in now: after opening, the newest one it knows, since an
        older database is migrated on open. A storage without a schema returns 0.
        """
        return 0

    # ---------------------------------------------------------------- interactions

    @abc.abstractmethod
    def append(
        self, batch: Batch, *, refuse: bool = True, quarantine: Sequence[Rejection] = ()
    ) -> AppendResult:
        """Store a batch in one transaction, idempotent on the event id.

        Each row ends `AppendStatus.ACCEPTED` (stored), ``DUPLICATE`` (the same event with
        the same values is stored already, or earlier in this batch), ``CONFLICT`` (the
        event id is stored with different values: never overwritten) or ``SUPPRESSED``
        (the customer, or the referrer, was forgotten). With ``refuse`` a batch with any
        conflict or suppressed row is rolled back whole (``committed`` False); otherwise
        those rows are left out and put in quarantine with their reasons, together with
        the ``quarantine`` rejections the caller found (values of forgotten customers are
        never kept).
        """

    @abc.abstractmethod
    def scan(
        self,
        *,
        start: Any = None,
        end: Any = None,
        customers: Iterable[str] | None = None,
        touchpoints: Iterable[str] | None = None,
    ) -> Any:
        """Interactions as a `touchpoint.frame.EventFrame`, in storage order.

        ``start`` (inclusive) and ``end`` (exclusive) are datetimes or ISO strings (UTC);
        ``customers`` and ``touchpoints`` restrict to those ids.
        """

    @abc.abstractmethod
    def count(self) -> int:
        """Number of interactions stored."""

    @abc.abstractmethod
    def quarantined(self) -> list[dict[str, Any]]:
        """Records kept in quarantine: batch, row, record values and reasons."""

    # ---------------------------------------------------------------- customers & co

    @abc.abstractmethod
    def upsert_customers(self, customers: Iterable[Any]) -> int:
        """Insert or replace `touchpoint.Customer` objects (with their consent); returns how many."""

    @abc.abstractmethod
    def customer(self, customer_id: str) -> Any:
        """The stored `touchpoint.Customer`, or None."""

    @abc.abstractmethod
    def customers(self) -> list[Any]:
        """Every stored customer."""

    def count_customers(self) -> int:
        """Number of stored customers: ``len(customers())`` without reading them.

        This default reads every customer (`customers`); the built-in storages count
        their rows, and a plugin with many customers should too.
        """
        return len(self.customers())

    def care_columns(
        self, anchors: set[str]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(customers, consents): the stored customers as the columns the care agenda reads.

        What `customer_columns` makes of `customers`, in their order: ``customer``,
        ``timezone``, ``segment``, ``tier``, ``do_not_contact``, ``preferred_channel``
        (the first preferred channel) and one ``datetime64[D]`` column per name in
        ``anchors`` (NaT: no such date); the consents one row each (``customer``,
        ``channel``, ``purpose``, ``granted``, ``time`` in naive UTC). This default
        makes a `touchpoint.Customer` per record; the built-in SQLite and PostgreSQL
        storages read their stored documents straight into columns.

        Examples
        --------
        >>> import datetime as dt
        >>> from touchpoint import Customer
        >>> from touchpoint.storage import open_storage
        >>> store = open_storage("memory://")
        >>> _ = store.upsert_customers([Customer("C1", dates={"birthday": dt.date(1990, 5, 1)})])
        >>> people, consents = store.care_columns({"birthday"})
        >>> people["customer"].tolist(), people["birthday"].tolist(), len(consents["customer"])
        (['C1'], [datetime.date(1990, 5, 1)], 0)
        """
        return customer_columns(self.customers(), anchors)

    @abc.abstractmethod
    def add_promises(self, promises: Iterable[Any]) -> int:
        """Insert or replace `touchpoint.Promise` objects."""

    @abc.abstractmethod
    def promises(self, customer: str | None = None) -> list[Any]:
        """Promises, of one customer or all."""

    @abc.abstractmethod
    def add_complaints(self, complaints: Iterable[Any]) -> int:
        """Insert or replace `touchpoint.Complaint` objects."""

    @abc.abstractmethod
    def complaints(self, customer: str | None = None) -> list[Any]:
        """Complaints, of one customer or all."""

    def complaint(self, complaint_id: str) -> Any:
        """The stored `touchpoint.Complaint` with this id, or None.

        The workspace reads a complaint this way before recording a response or a
        resolution. This default reads every complaint (`complaints`); the built-in
        storages look it up by its key, and a plugin with many complaints should too.
        """
        return next((c for c in self.complaints() if c.id == complaint_id), None)

    @abc.abstractmethod
    def log_contact(self, message: Any, delivery: Any) -> None:
        """Record a contact attempt (a `Message` and its `Delivery`); the latest attempt wins."""

    @abc.abstractmethod
    def contacts(
        self, customer: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """The contact log, of one customer or all, optionally with one status."""

    @abc.abstractmethod
    def save_scores(self, name: str, customers: Any, columns: Mapping[str, Any]) -> None:
        """Save a score set: customer ids and one array per score column (replaces ``name``)."""

    @abc.abstractmethod
    def load_scores(self, name: str) -> dict[str, np.ndarray]:
        """A saved score set as columns (``customer`` plus the score columns)."""

    # ---------------------------------------------------------------- privacy

    @abc.abstractmethod
    def forget(self, customer: str) -> dict[str, int]:
        """Erase everything about ``customer`` in one transaction and suppress the id.

        Returns how many items of each kind were removed. Later events, customers,
        promises or complaints with that id are refused with a reason.
        """

    @abc.abstractmethod
    def export(self, customer: str) -> str:
        """Everything stored about ``customer`` as a JSON document."""

    @abc.abstractmethod
    def is_suppressed(self, customer: str) -> bool:
        """Whether ``customer`` was forgotten."""

    # ----------------------------------------------------------------- outbox
    # Optional: backends without a durable outbox cannot run `touchpoint.care.dispatch`.
    # Times are integer microseconds since the Unix epoch (UTC). A row is a dict with the
    # keys of `touchpoint.storage._sqlite_outbox.OUTBOX_COLUMNS`: ``key``,
    # ``customer``, ``channel``, ``touchpoint``, ``purpose``, ``address``, ``subject``,
    # ``body``, ``state``, ``attempts``, ``next_attempt_at``, ``last_error``,
    # ``created_at``, ``sent_at``, ``rule``, ``on_cap``, ``lease_owner``, ``lease_until``
    # and ``reason``.
    #
    # States: ``pending`` and ``retry`` are live (may still be sent); ``sent``, ``dead``
    # (given up: ``last_error`` says why) and ``held`` (closed by the contact policy at
    # send time: ``reason`` says why) are final and never change again.
    #
    # Leases: a dispatcher *claims* live rows with `claim_outbox` before sending them. Any
    # number of dispatchers, in any number of processes, may claim at once: a row is held
    # by at most one owner while its lease runs, and every outcome method given an
    # ``owner`` changes a row only while that owner holds it, so a dispatcher that lost
    # its lease (it expired and someone else claimed the row) cannot overwrite the newer
    # owner's outcome. Outcome methods called without an owner (the version 2 contract)
    # change any live row.

    def enqueue(self, rows: Iterable[Mapping[str, Any]], *, now: int) -> list[str]:
        """Add outbox rows as ``pending``, due at their ``send_at`` (default ``now``).

        Each row has ``key``, ``customer``, ``channel``, ``send_at``, the message fields
        (``touchpoint``, ``purpose``, ``address``, ``subject``, ``body``) and optionally
        ``rule`` and ``on_cap``. A key already present is left alone. Returns the
        duplicate keys. Raises `touchpoint.errors.StorageError` (and stores nothing) if a
        row's customer was forgotten.
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def due_outbox(self, now: int, limit: int | None = None) -> list[dict[str, Any]]:
        """Live rows due at ``now`` and not under a running lease, earliest first.

        A read only: two processes may get the same rows. Send through `claim_outbox`.
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def claim_outbox(
        self, owner: str, *, now: int, lease_until: int, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due rows to ``owner`` until ``lease_until``; return them.

        In **one transaction** (atomic with respect to every other claim, in any process):
        select the live rows with ``next_attempt_at <= now`` whose lease is free or expired
        (``lease_until <= now``; a running lease is respected whoever holds it, the claimer
        included), leaving out every row of a customer on whom another owner
        holds a running lease; order them by ``next_attempt_at`` then ``key``; write
        ``lease_owner = owner`` and ``lease_until`` on them. An expired lease is
        reclaimable: that is how the rows of a crashed dispatcher are retried.
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def renew_outbox(self, key: str, *, owner: str, lease_until: int) -> bool:
        """Extend ``owner``'s lease on a live row; False if ``owner`` no longer holds it."""
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def outbox_sent(self, key: str, *, at: int, owner: str | None = None) -> bool:
        """Move a live row to ``sent`` at ``at`` (attempts + 1, lease cleared).

        Returns whether the row moved: False if it is not live or (with ``owner``) is not
        held by ``owner``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def outbox_failed(
        self, key: str, *, error: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        """Record a failed attempt: ``retry`` at ``next_attempt_at``, or ``dead`` if None.

        Attempts + 1, ``last_error = error``, lease cleared; returns whether the row moved
        (as `outbox_sent`).
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def outbox_held(
        self, key: str, *, reason: str, next_attempt_at: int | None, owner: str | None = None
    ) -> bool:
        """Record that the contact policy held a row at send time (attempts unchanged).

        With ``next_attempt_at`` the row stays live and waits until then (quiet hours, a
        frequency cap); with None it is closed as ``held`` and never sent (consent
        withdrawn, do not contact). ``reason`` is stored either way; lease cleared; returns
        whether the row moved (as `outbox_sent`).
        """
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def outbox(
        self, state: str | None = None, *, customer: str | None = None
    ) -> list[dict[str, Any]]:
        """Outbox rows by key, optionally of one state and/or one customer."""
        raise NotImplementedError(f"{type(self).__name__} has no dispatch outbox")

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release resources (connections, files)."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def customer_columns(
    people: Sequence[Any], anchors: set[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(customers, consents) as columns, from `touchpoint.Customer` records.

    The conversion behind `Storage.care_columns`: one pass over the records, as a
    storage's reader turns rows into columns; one ``datetime64[D]`` column per anchor.

    Examples
    --------
    >>> from touchpoint.model import Consent, Customer
    >>> people, consents = customer_columns(
    ...     [Customer("C1", consents=[Consent("sms", "service")]), Customer("C2")], {"birthday"})
    >>> people["customer"].tolist(), people["birthday"].dtype, consents["channel"].tolist()
    (['C1', 'C2'], dtype('<M8[D]'), ['sms'])
    """
    from touchpoint.frame import naive_utc

    dates = [dict(p.dates) for p in people]
    customers: dict[str, np.ndarray] = {
        "customer": np.array([p.id for p in people], dtype=object),
        "timezone": np.array([p.timezone for p in people], dtype=object),
        "segment": np.array([p.segment for p in people], dtype=object),
        "tier": np.array([p.tier for p in people], dtype=object),
        "do_not_contact": np.array([p.do_not_contact for p in people], dtype=bool),
        "preferred_channel": np.array(
            [p.preferred_channels[0] if p.preferred_channels else None for p in people],
            dtype=object,
        ),
    }
    for anchor in sorted(anchors):  # one column per anchor the care rules use
        customers[anchor] = np.array([d.get(anchor) for d in dates], dtype="datetime64[D]")
    rows = [(p.id, c) for p in people for c in p.consents]
    consents: dict[str, np.ndarray] = {
        "customer": np.array([who for who, _ in rows], dtype=object),
        "channel": np.array([c.channel for _, c in rows], dtype=object),
        "purpose": np.array(
            [str(getattr(c.purpose, "value", c.purpose)) for _, c in rows], dtype=object
        ),
        "granted": np.array([c.granted for _, c in rows], dtype=bool),
        "time": np.array([naive_utc(c.at) for _, c in rows], dtype="datetime64[us]"),
    }
    return customers, consents
