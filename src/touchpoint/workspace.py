"""`Workspace`: what an application holds: a blueprint, a storage, channels and the plugins.

`open_workspace` (re-exported as ``touchpoint.open``) picks the storage by URL, records
interactions one by one or in batches, reads them back as columns, sends messages through
channels, and fires the notification hooks with fault isolation.

Every record of a batch ends accepted, duplicate (already stored, same values) or
rejected (with a reason naming the record, the field and the value), and the
`IngestReport` says which: ``accepted + duplicates + rejected == total`` always. A value
that cannot be read (a time of ``"not a date"``), a value out of bounds (a negative
amount, a rating outside the scale of its touchpoint's rating indicators) or unknown to
the blueprint is its record's problem, not the batch's. With ``on_reject="refuse"`` (the
default) a batch with any rejected record stores nothing; with
``on_reject="quarantine"`` the good records land and the rejected ones are kept in the
storage's quarantine, as given, with their reasons. Only a batch that is wrong as a
whole (a required column missing, columns of different lengths) raises a
`touchpoint.errors.ValidationError`, before anything is written.

Examples
--------
>>> import touchpoint.workspace as tw
>>> ws = tw.open_workspace("memory://")
>>> report = ws.record_batch({"event_id": ["e1", "e2"], "customer": ["C1", "C2"],
...                           "touchpoint": ["T1", "T1"], "time": ["2026-03-01", "2026-03-02"],
...                           "amount": [120.0, -5.0]}, on_reject="quarantine")
>>> report.accepted, report.duplicates, report.rejected
(1, 0, 1)
>>> print(report.rejections[0].reason)
records[1].amount: must be a finite number >= 0 (value: -5.0)
>>> ws.record({"event_id": "e1", "customer": "C1", "touchpoint": "T1",
...            "time": "2026-03-01", "amount": 120.0}).duplicates
1
>>> len(ws.interactions())
1
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, cast

import attrs
import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.channels.base import Delivery, Message, deliver
from touchpoint.errors import ChannelError, Problem, StorageError, TouchpointError, ValidationError
from touchpoint.frame import PURCHASE_OUTCOMES, naive_utc
from touchpoint.model import Complaint
from touchpoint.plugins.manager import HookFailure, Plugins, default_plugins
from touchpoint.storage import (
    AppendResult,
    AppendStatus,
    Rejection,
    Storage,
    open_storage,
)

__all__ = ["DEFAULT_RESPONSE_LIMIT", "Breach", "IngestReport", "Workspace", "open_workspace"]

log = logging.getLogger("touchpoint.workspace")

OnReject = Literal["refuse", "quarantine"]

#: The response limit `Workspace.check_complaints` and `Workspace.complaint_stats` use
#: unless given one (that of `touchpoint.care.complaint_stats`).
DEFAULT_RESPONSE_LIMIT = "24 hours"


@attrs.frozen(eq=False)
class IngestReport:
    """What became of each record of a batch.

    Attributes
    ----------
    total:
        Records given.
    accepted_rows, duplicate_rows:
        Positions (in the input) of the records stored now, and of those stored already.
    rejections:
        One `Rejection` per rejected record (position, problems, values), by position.
    committed:
        Whether anything was written (False when the batch was refused).
    hook_failures:
        Plugins that raised in ``interactions_recorded`` (the batch is stored regardless).
    """

    total: int
    accepted_rows: np.ndarray
    duplicate_rows: np.ndarray
    rejections: tuple[Rejection, ...]
    committed: bool
    batch_id: int | None = None
    hook_failures: tuple[HookFailure, ...] = ()

    @property
    def accepted(self) -> int:
        """How many records were stored (or would have been, had the batch been refused)."""
        return len(self.accepted_rows)

    @property
    def duplicates(self) -> int:
        """How many records the storage already held (same event id and content)."""
        return len(self.duplicate_rows)

    @property
    def rejected(self) -> int:
        """How many records were rejected; `rejections` says why for each."""
        return len(self.rejections)

    @property
    def ok(self) -> bool:
        """No record rejected."""
        return not self.rejections

    def raise_for_rejected(self) -> None:
        """Raise a `ValidationError` listing every rejected record's problems, if any."""
        if self.rejections:
            raise ValidationError([p for r in self.rejections for p in r.problems])

    def __repr__(self) -> str:
        state = "committed" if self.committed else "refused"
        return (
            f"IngestReport(total={self.total}, accepted={self.accepted}, duplicates={self.duplicates}, "
            f"rejected={self.rejected}, {state})"
        )


@attrs.frozen
class Breach:
    """One case that did not meet a control indicator, as ``indicator_breached`` receives it.

    A row of `touchpoint.scoring.ComplianceReport.breaches`, with plain Python values.
    The hook used to receive a dict; reading a breach like one (``breach["measured"]``,
    ``breach.get(...)``, ``dict(breach)``) still works for one release and emits a
    `DeprecationWarning`: use the attributes, or `to_dict`.

    Attributes
    ----------
    touchpoint, indicator:
        The codes of the touchpoint and of its control indicator.
    measured, target:
        What was observed and what the indicator asks for: seconds for time limits,
        counts, ratings, 1/0 for checklists.
    row:
        Position of the interaction in the data that was checked.
    event_id, customer, time:
        The interaction's id, customer and time, when the data has them (else None).

    Examples
    --------
    >>> b = Breach("MAIL", "reply-24h", measured=108000.0, target=86400.0, row=1,
    ...            event_id="e2", customer="C2")
    >>> b.measured > b.target, b.to_dict()["event_id"]
    (True, 'e2')
    """

    touchpoint: str
    indicator: str
    measured: float
    target: float
    row: int
    event_id: str | None = None
    customer: str | None = None
    time: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (``row``, ``event_id``, ``touchpoint``...)."""
        return attrs.asdict(self)

    # the dict interface the hook used to receive, kept for one release

    def __getitem__(self, key: str) -> Any:
        _mapping_deprecated(f"breach[{key!r}]", f"breach.{key}")
        if key not in _BREACH_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        _mapping_deprecated(f"breach.get({key!r})", f"breach.{key}")
        return getattr(self, key) if key in _BREACH_FIELDS else default

    def keys(self) -> list[str]:
        _mapping_deprecated("breach.keys()", "breach.to_dict()")
        return list(_BREACH_FIELDS)

    def items(self) -> Iterator[tuple[str, Any]]:
        _mapping_deprecated("breach.items()", "breach.to_dict().items()")
        return iter(self.to_dict().items())


_BREACH_FIELDS = tuple(f.name for f in attrs.fields(Breach))


def _mapping_deprecated(used: str, instead: str) -> None:
    warnings.warn(
        f"{used}: a breach is a touchpoint.workspace.Breach now, not a dict; use {instead} "
        "(reading it as a dict goes away in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )


def _breaches(rows: Any) -> list[Breach]:
    """The rows of a compliance report's ``breaches`` as `Breach` objects, in order."""
    columns = {name: rows[name] for name in rows.column_names if name in _BREACH_FIELDS}
    # one object per breach: each is announced by its own hook call
    return [Breach(**{k: _plain(v[i]) for k, v in columns.items()}) for i in range(len(rows))]


class Workspace:
    """The object an application holds; build it with `open_workspace`."""

    def __init__(
        self,
        storage: Storage,
        *,
        blueprint: Any = None,
        plugins: Plugins | None = None,
        hook_timeout: float | None = None,
    ) -> None:
        self.storage = storage
        self.blueprint = blueprint
        self.plugins = plugins if plugins is not None else default_plugins()
        #: Seconds each notification hook call may take (None: the plugins' ``hook_timeout``).
        self.hook_timeout = hook_timeout
        self._channels: dict[str, Any] = {}

    def __repr__(self) -> str:
        bp = getattr(self.blueprint, "name", None)
        return f"Workspace(storage={self.storage!r}, blueprint={bp!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the storage (its connections and files); the workspace is not used after."""
        self.storage.close()

    # ------------------------------------------------------------------ interactions

    def record_batch(
        self,
        data: Any,
        *,
        on_reject: OnReject = "refuse",
        names: Mapping[str, str] | None = None,
    ) -> IngestReport:
        """Validate and store a batch given as columns or as a list of records.

        Parameters
        ----------
        data:
            A pandas or polars DataFrame, an Arrow table, a dict of arrays (validated
            column-wise with numpy), or a list of dicts / `touchpoint.Interaction`.
        on_reject:
            ``"refuse"`` (default): if any record is rejected, store nothing (every other
            record is reported rejected too, with the reason "refused with the batch").
            ``"quarantine"``: store the good records, keep the rejected ones in quarantine.
        names:
            Field name -> column name, for columns named differently.

        Raises
        ------
        touchpoint.errors.ValidationError
            Before anything is written, when the batch is wrong as a whole: a required
            column (``event_id``, ``customer``, ``touchpoint``, ``time``) or a column
            named in ``names`` is missing (each one named, with the columns the batch
            has), or the columns differ in length.

        Examples
        --------
        >>> ws = open_workspace("memory://")
        >>> ws.record_batch({"event_id": ["e1"], "time": ["2026-03-01"]})
        Traceback (most recent call last):
        ...
        touchpoint.errors.ValidationError: 2 problems in the records:
          - customer: no such column for 'customer' (available: 'event_id', 'time') (value: 'customer')
          - touchpoint: no such column for 'touchpoint' (available: 'event_id', 'time') (value: 'touchpoint')
        """
        from touchpoint.schema import validate_columns, validate_records

        if on_reject not in ("refuse", "quarantine"):
            raise ValueError(f"on_reject must be 'refuse' or 'quarantine', not {on_reject!r}")
        if isinstance(data, list | tuple):
            batch, rejections = validate_records(data, blueprint=self.blueprint)
            total = len(data)
        else:
            batch, rejections = validate_columns(data, names=names, blueprint=self.blueprint)
            total = len(batch) + len(rejections)
        refuse = on_reject == "refuse"
        if refuse and rejections:
            return self._refused(total, rejections, None)
        result = self._append(batch, refuse=refuse, quarantine=rejections)
        status = result.status
        if not result.committed:
            return self._refused(total, [*rejections, *result.rejections], None)
        all_rejections = tuple(sorted([*rejections, *result.rejections], key=lambda r: r.row))
        report = IngestReport(
            total,
            batch.row[status == AppendStatus.ACCEPTED],
            batch.row[status == AppendStatus.DUPLICATE],
            all_rejections,
            committed=True,
            batch_id=result.batch_id,
        )
        if report.accepted:
            failures = self.notify("interactions_recorded", report=report)
            if failures:
                report = attrs.evolve(report, hook_failures=tuple(failures))
        return report

    def _refused(
        self, total: int, rejections: list[Rejection], batch_id: int | None
    ) -> IngestReport:
        bad = {r.row for r in rejections}
        n_bad = len(bad)
        # Rejection converts its problems with ``tuple``, which type checkers cannot follow
        refused = [
            Rejection(
                i,
                cast(
                    Any,
                    [
                        Problem(
                            f"records[{i}]",
                            f"not stored: the batch was refused because {n_bad} record(s) were rejected; fix them or use on_reject='quarantine'",
                        )
                    ],
                ),
            )
            for i in range(total)
            if i not in bad
        ]
        merged = tuple(sorted([*rejections, *refused], key=lambda r: r.row))
        empty = np.empty(0, dtype=np.int64)
        return IngestReport(total, empty, empty, merged, committed=False, batch_id=batch_id)

    def record(self, interaction: Any = None, /, **fields: Any) -> IngestReport:
        """Store one interaction (an `Interaction`, a dict, or keyword fields).

        Raises `touchpoint.errors.ValidationError` if it is rejected; a duplicate is fine.
        """
        item = interaction if interaction is not None else fields
        report = self.record_batch([item])
        report.raise_for_rejected()
        return report

    def interactions(
        self,
        *,
        start: Any = None,
        end: Any = None,
        customers: Iterable[str] | None = None,
        touchpoints: Iterable[str] | None = None,
    ) -> Any:
        """Stored interactions as a `touchpoint.frame.EventFrame` (see `Storage.scan`)."""
        from touchpoint.frame import EventFrame

        frame = self.storage.scan(
            start=start, end=end, customers=customers, touchpoints=touchpoints
        )
        return self._checked("scan", frame, isinstance(frame, EventFrame), "an EventFrame")

    def quarantined(self) -> list[dict[str, Any]]:
        """Rejected records kept in quarantine, with their reasons."""
        rows = self.storage.quarantined()
        ok = isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
        result: list[dict[str, Any]] = self._checked("quarantined", rows, ok, "a list of dicts")
        return result

    # ------------------------------------------------------------------ storage results

    def _storage_plugin(self) -> str:
        """The plugin that registered this workspace's storage (for error messages)."""
        scheme = str(getattr(self.storage, "url", "")).split("://", 1)[0].lower()
        entry = self.plugins.storages().get(scheme)
        if entry is not None:
            return entry.plugin
        kind = type(self.storage)
        return f"{kind.__module__}.{kind.__qualname__}"

    def _checked(self, method: str, value: Any, ok: bool, expected: str) -> Any:
        """``value`` if ``ok``; else a `StorageError` naming the plugin, the method and the type."""
        if ok:
            return value
        raise StorageError(
            f"storage plugin {self._storage_plugin()!r} returned {_shape(value)} from "
            f"{method}(), not {expected}: the plugin is faulty (check it with "
            "touchpoint.testing.StorageContract)"
        )

    def _append(self, batch: Any, **options: Any) -> AppendResult:
        """`Storage.append`, with its result checked before the workspace relies on it."""
        result = self.storage.append(batch, **options)
        given: object = result  # a plugin's backend may return anything
        if not isinstance(given, AppendResult):
            self._checked("append", given, False, "an AppendResult")
        status = result.status
        ok = (
            isinstance(status, np.ndarray)
            and status.ndim == 1
            and len(status) == len(batch)
            and status.dtype.kind in "iu"
            and bool(np.isin(status, list(AppendStatus)).all())
        )
        self._checked(
            "append",
            status,
            ok,
            f"one AppendStatus per row of the batch ({len(batch)} integers from 0 to 3)",
        )
        rows = result.rejections
        ok = isinstance(rows, tuple | list) and all(isinstance(r, Rejection) for r in rows)
        self._checked("append", rows, ok, "rejections as a tuple of Rejection")
        return result

    # ------------------------------------------------------------------ privacy

    def forget(self, customer: str, *, wait: float | None = None) -> dict[str, int]:
        """Erase a customer everywhere the storage keeps data; later data for them is refused.

        When this returns, the customer's data is gone from every file of the storage.
        ``wait`` bounds, in seconds, how long the SQLite storage waits for other
        connections' readers (default: its ``erase_wait``); past it, it raises
        `touchpoint.storage.sqlite.ErasureIncomplete` saying what is left, and
        `finish_erasure` completes the erasure later.
        """
        if wait is None:
            removed = self.storage.forget(customer)
        else:
            removed = self.storage.forget(customer, wait=wait)  # type: ignore[call-arg]
        ok = isinstance(removed, dict) and all(
            isinstance(k, str) and isinstance(v, int) for k, v in removed.items()
        )
        result: dict[str, int] = self._checked("forget", removed, ok, "a dict of counts")
        return result

    def finish_erasure(self, *, wait: float | None = None) -> bool:
        """Complete erasures that `forget` left pending (readers held old copies of pages).

        Returns True if erasures were pending and are now complete, False if none was
        (storages that erase synchronously never leave one). Raises
        `touchpoint.storage.sqlite.ErasureIncomplete` if readers still hold on
        after ``wait`` seconds.
        """
        finish = getattr(self.storage, "finish_erasure", None)
        if finish is None:
            return False
        return bool(finish() if wait is None else finish(wait=wait))

    def export(self, customer: str) -> str:
        """Everything stored about a customer, as JSON."""
        text = self.storage.export(customer)
        result: str = self._checked("export", text, isinstance(text, str), "a JSON string")
        return result

    # ------------------------------------------------------------------ channels

    def add_channel(
        self, name: str, channel: Any = None, /, *, kind: str | None = None, **settings: Any
    ) -> Any:
        """Configure a channel under ``name``: an object, or a registered ``kind`` with settings.

        >>> ws = open_workspace("memory://")
        >>> ws.add_channel("mail", kind="smtp", host="localhost", sender="shop@example.com").name
        'mail'
        """
        if channel is None:
            channel = self._build(kind or name, name=name, **settings)
        attach = getattr(channel, "attach", None)
        if callable(attach):
            attach(self.storage)
        self._channels[name] = channel
        return channel

    def _build(self, kind: str, *, name: str, **settings: Any) -> Any:
        kinds = self.plugins.channels()
        if kind not in kinds:
            raise ChannelError(
                f"no channel kind {kind!r} (registered: {', '.join(sorted(kinds)) or 'none'})"
            )
        channel = kinds[kind].obj(**settings)
        if name != kind:
            channel.name = name
        return channel

    def channel(self, name: str) -> Any:
        """The channel configured as ``name``, or a registered kind that needs no settings."""
        if name not in self._channels:
            self.add_channel(name, kind=name)
        return self._channels[name]

    def send(self, message: Message, *, channel: str) -> Delivery:
        """Send a message through a channel, log the contact, and fire ``contact_sent``/``contact_failed``.

        A channel that raises or times out leaves the contact logged as failed and
        retryable; hook failures are logged with the plugin's name.
        """
        backend = self.channel(channel)
        delivery = deliver(backend, message)
        if not (getattr(backend, "logs_contacts", False) and delivery.ok):
            self.storage.log_contact(message, delivery)
        hook = "contact_failed" if not delivery.ok else "contact_sent"
        self.notify(hook, message=message, delivery=delivery)
        return delivery

    @staticmethod
    def new_contact_id() -> str:
        """A new random contact id (32 hex digits) for a `Message` sent by hand."""
        return uuid.uuid4().hex

    # ------------------------------------------------------------------ hooks

    # ------------------------------------------------------------------ promises
    def record_promise(self, promise: Any) -> Any:
        """Store a `touchpoint.Promise` if it keeps to the blueprint's bottom line.

        A promise beyond ``blueprint.promise_policy`` (too costly, too far ahead) is
        refused with a `ValidationError` that says why, and nothing is stored.

        >>> import datetime as dt
        >>> from touchpoint import Blueprint, Promise, PromisePolicy, Touchpoint
        >>> bp = Blueprint("shop", stages=["transaction"], promise_policy=PromisePolicy(max_value=500),
        ...     touchpoints=[Touchpoint("T", "Till", category="channel", stage="transaction",
        ...                             line="service", channels=["store"])])
        >>> ws = open_workspace("memory://", blueprint=bp)
        >>> day = dt.datetime(2026, 3, 1)
        >>> ws.record_promise(Promise("P1", "C1", "Free wash", made_at=day, due=day, value=900))
        Traceback (most recent call last):
        ...
        touchpoint.errors.ValidationError: 1 problem in the records:
          - promises['P1'].value: exceeds the bottom line of 500 (value: 900)
        """
        policy = getattr(self.blueprint, "promise_policy", None)
        problems = policy.problems(promise) if policy is not None else []
        if problems:
            raise ValidationError(
                [
                    Problem(f"promises[{promise.id!r}].{p.path}", p.message, p.value)
                    for p in problems
                ]
            )
        self.storage.add_promises([promise])
        return promise

    # ------------------------------------------------------------------ checks
    @renamed(now="asof")
    def check_promises(self, asof: Any) -> list[Any]:
        """Open promises past their due date at ``asof``; fires ``promise_overdue`` for each.

        Promises are few, so this goes through the stored `Promise` objects one by one.
        Every call reports every promise that is overdue then; a host that wants one
        alert per promise keeps track of the ones it has seen.
        """
        promises = self.storage.promises()
        ok = isinstance(promises, list) and all(
            callable(getattr(p, "is_overdue", None)) for p in promises
        )
        self._checked("promises", promises, ok, "a list of touchpoint.Promise")
        late = [p for p in promises if p.is_overdue(asof)]
        for promise in late:
            self.notify("promise_overdue", promise=promise)
        return late

    # ------------------------------------------------------------------ complaints
    def record_complaint(self, complaint: Any = None, /, **fields: Any) -> Complaint:
        """Record a `touchpoint.Complaint` (an object, a dict, or keyword fields); returns it.

        Fields are those of `touchpoint.Complaint`: ``customer`` and ``opened_at`` are
        required; ``id`` is derived from the complaint's content when not given (the same
        customer, opening time, type, cause, touchpoint and channel give the same id, so
        recording it again adds nothing); times are datetimes, dates or ISO text (naive
        is UTC). Recording a complaint again under the same id is idempotent: the same
        values change nothing, new values (a response or resolution from a ticket
        system) replace the stored ones. A record under an id already used by another
        customer, or with another opening time, is refused.

        Raises
        ------
        touchpoint.errors.ValidationError
            Naming the complaint, the field and the value (personal values masked): a
            missing or unreadable field, an unknown field, a response or resolution
            before the opening, a clash with the complaint stored under that id.

        Examples
        --------
        >>> ws = open_workspace("memory://")
        >>> k = ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00",
        ...                         type="delivery", cause="parcel late")
        >>> ws.respond_to_complaint("K1", at="2026-03-01T11:00").first_response_time
        datetime.timedelta(seconds=7200)
        >>> ws.resolve_complaint("K1", at="2026-03-02T09:00", resolution="refunded").resolution
        'refunded'
        >>> ws.record_complaint(customer="C2", opened_at="2026-03-02", email="li.na@example.com")
        Traceback (most recent call last):
        ...
        touchpoint.errors.ValidationError: 1 problem in the records:
          - complaint.email: is not a field of a complaint (value: 'l***@e***.com')
        """
        if complaint is not None and fields:
            raise TypeError("record_complaint takes a complaint or keyword fields, not both")
        given = complaint if complaint is not None else fields
        new = given if isinstance(given, Complaint) else _complaint_from(given)
        stored = self._find_complaint(new.id)
        if stored is not None:
            clash = [
                Problem(
                    f"complaints[{new.id!r}].{name}",
                    f"differs from the complaint recorded under this id ({mine})",
                    theirs,
                )
                for name, theirs, mine in (
                    ("customer", new.customer, stored.customer),
                    ("opened_at", new.opened_at.isoformat(), stored.opened_at.isoformat()),
                )
                if theirs != mine
            ]
            if clash:
                raise ValidationError(clash)
            if stored == new:
                return stored
        self.storage.add_complaints([new])
        return new

    def respond_to_complaint(self, complaint_id: str, *, at: Any = None) -> Complaint:
        """Record the first response to a complaint at ``at`` (default: now); returns it.

        A complaint keeps its earliest response: responding again later changes nothing.
        A response before the complaint was opened is refused with a `ValidationError`
        naming the complaint; so is an id never recorded.
        """
        stored = self._complaint(complaint_id)
        when = _moment(at, f"complaints[{complaint_id!r}].first_response_at")
        self._not_before_opening(stored, "first_response_at", when)
        if stored.first_response_at is not None and stored.first_response_at <= when:
            return stored
        updated = attrs.evolve(stored, first_response_at=when)
        self.storage.add_complaints([updated])
        return updated

    def resolve_complaint(
        self, complaint_id: str, *, at: Any = None, resolution: str = ""
    ) -> Complaint:
        """Record that a complaint was resolved at ``at`` (default: now), and how; returns it.

        The resolution reaches the customer, so a complaint without an earlier response
        counts as answered at its resolution. Resolving again replaces the time and the
        text (a correction); the same values change nothing. A resolution before the
        complaint was opened is refused with a `ValidationError` naming the complaint.
        """
        stored = self._complaint(complaint_id)
        where = f"complaints[{complaint_id!r}]"
        when = _moment(at, f"{where}.resolved_at")
        self._not_before_opening(stored, "resolved_at", when)
        if not isinstance(resolution, str):
            raise ValidationError([Problem(f"{where}.resolution", "must be text")])
        first = stored.first_response_at
        updated = attrs.evolve(
            stored,
            resolved_at=when,
            resolution=resolution,
            first_response_at=when if first is None or when < first else first,
        )
        if updated != stored:
            self.storage.add_complaints([updated])
        return updated

    def _find_complaint(self, complaint_id: str) -> Complaint | None:
        """The stored complaint with this id, if there is one."""
        found = self.storage.complaint(complaint_id)
        ok = found is None or (isinstance(found, Complaint) and found.id == complaint_id)
        result: Complaint | None = self._checked(
            "complaint", found, ok, f"a touchpoint.Complaint with id {complaint_id!r}, or None"
        )
        return result

    def _complaint(self, complaint_id: str) -> Complaint:
        """The stored complaint with this id; a `ValidationError` naming it if there is none."""
        found = self._find_complaint(complaint_id)
        if found is None:
            raise ValidationError(
                [Problem(f"complaints[{complaint_id!r}]", "no complaint recorded under this id")]
            )
        return found

    def _stored_complaints(self) -> list[Complaint]:
        complaints = self.storage.complaints()
        ok = isinstance(complaints, list) and all(isinstance(c, Complaint) for c in complaints)
        result: list[Complaint] = self._checked(
            "complaints", complaints, ok, "a list of touchpoint.Complaint"
        )
        return result

    @staticmethod
    def _not_before_opening(complaint: Any, field: str, when: dt.datetime) -> None:
        if when < complaint.opened_at:
            raise ValidationError(
                [
                    Problem(
                        f"complaints[{complaint.id!r}].{field}",
                        f"is before the complaint was opened ({complaint.opened_at.isoformat()})",
                        when.isoformat(),
                    )
                ]
            )

    def check_complaints(self, *, asof: Any = None, response_limit: Any = None) -> list[Complaint]:
        """Complaints without a first response past their response limit at ``asof``.

        Fires ``complaint_overdue`` for each, in the order of their ids, and returns
        them. A complaint is overdue when it has neither a first response nor a
        resolution and was opened more than ``response_limit`` before ``asof`` (default:
        now). ``response_limit`` is a `datetime.timedelta` or text such as
        ``"4 hours"``; the default, `DEFAULT_RESPONSE_LIMIT` (24 hours), is that of
        `touchpoint.care.complaint_stats` (a blueprint has no complaint policy). As
        `check_promises`, every call reports every complaint overdue then; a host that
        wants one alert per complaint keeps track of the ids it has seen. A plugin that
        fails in the hook is logged with its name (`touchpoint.plugins.HookFailure`) and
        stops neither the others nor the check.

        Examples
        --------
        >>> ws = open_workspace("memory://")
        >>> _ = ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00")
        >>> _ = ws.record_complaint(id="K2", customer="C2", opened_at="2026-03-02T08:00")
        >>> [k.id for k in ws.check_complaints(asof="2026-03-02T10:00")]
        ['K1']
        >>> [k.id for k in ws.check_complaints(asof="2026-03-02T10:00", response_limit="1 hour")]
        ['K1', 'K2']
        """
        when = _moment(asof, "asof")
        limit = _duration(
            DEFAULT_RESPONSE_LIMIT if response_limit is None else response_limit, "response_limit"
        )
        # complaints are records of people, read as objects (as promises are)
        late = [
            c
            for c in self._stored_complaints()
            if c.first_response_at is None and c.resolved_at is None and when - c.opened_at > limit
        ]
        for complaint in late:  # one notification per overdue complaint
            self.notify("complaint_overdue", complaint=complaint)
        return late

    def complaint_stats(
        self,
        *,
        asof: Any = None,
        response_limit: Any = DEFAULT_RESPONSE_LIMIT,
        quick_resolution: Any = "3 days",
        outcome: str = "outcome",
        purchases: Any = PURCHASE_OUTCOMES,
        percentiles: Any = (50, 90),
    ) -> Any:
        """`touchpoint.care.complaint_stats` of the recorded complaints, as they stood at ``asof``.

        The complaints are those recorded (opened at or before ``asof``; a response or
        resolution after ``asof`` counts as not yet given); whether a complainant came
        back is read from the workspace's interactions up to ``asof``, counting an
        interaction as a purchase by the shared rule (`touchpoint.frame.purchase_mask`:
        ``outcome`` in ``purchases``, or no outcome and an amount > 0). ``asof``
        defaults to now. Returns a `touchpoint.frame.ScoreFrame` keyed by complaint type
        (``all`` first), with the columns of `touchpoint.care.complaint_stats`, including
        ``came_back_quick`` / ``came_back_slow`` / ``came_back_unresolved``: the
        material's rule of thumb is about 95% / 60% / much less.

        Examples
        --------
        >>> ws = open_workspace("memory://")
        >>> _ = ws.record_complaint(id="K1", customer="C1", opened_at="2026-03-01T09:00",
        ...                         first_response_at="2026-03-01T10:00",
        ...                         resolved_at="2026-03-01T12:00", type="service")
        >>> _ = ws.record(event_id="e1", customer="C1", touchpoint="SHOP",
        ...               time="2026-03-10", amount=25.0, outcome="purchase")
        >>> s = ws.complaint_stats(asof="2026-04-01")
        >>> s["type"].tolist(), s["resolution_rate"].tolist(), s["came_back_quick"].tolist()
        (['all', 'service'], [1.0, 1.0], [1.0, 1.0])
        """
        from touchpoint.care import complaint_stats
        from touchpoint.frame import as_time, purchase_columns, purchase_mask, read_coded

        now = _moment(asof, "asof")
        now64 = as_time(now, name="asof")
        recorded = [c for c in self._stored_complaints() if c.opened_at <= now]

        def times(name: str) -> np.ndarray:
            # one pass over the records to turn them into a column (as customer_columns)
            values = [getattr(c, name) for c in recorded]
            out = np.array(
                [
                    np.datetime64(naive_utc(v), "us") if v else np.datetime64("NaT", "us")
                    for v in values
                ],
                dtype="datetime64[us]",
            )
            return np.where(out <= now64, out, np.datetime64("NaT", "us"))

        complaints = {
            "customer": np.array([c.customer for c in recorded], dtype=object),
            "type": np.array([str(c.type) for c in recorded], dtype=object),
            "opened_at": times("opened_at"),
            "first_response_at": times("first_response_at"),
            "resolved_at": times("resolved_at"),
        }
        frame = self.interactions(end=None, customers=sorted(set(complaints["customer"].tolist())))
        cols, cats = read_coded(
            frame,
            {
                "customer": "customer",
                "time": "time",
                "amount": "amount",
                **purchase_columns(frame, outcome=outcome, purchases=purchases),
            },
            required=("customer", "time"),
            categorical=("customer", "outcome"),
        )
        bought = purchase_mask(cols, cats, purchases)
        keep = (cols["time"] <= now64) & (cols["customer"] >= 0)
        if bought is not None:
            keep &= bought
        labels = np.asarray(cats["customer"], dtype=object)
        bought_by = {
            "customer": labels[cols["customer"][keep]] if len(labels) else np.array([], object),
            "time": cols["time"][keep],
        }
        return complaint_stats(
            complaints,
            purchases=bought_by,
            asof=now64,
            response_limit=_duration(response_limit, "response_limit"),
            quick_resolution=_duration(quick_resolution, "quick_resolution"),
            percentiles=percentiles,
        )

    def check_compliance(
        self, *, start: Any = None, end: Any = None, notify: bool = True, **options: Any
    ) -> Any:
        """Compliance of the stored interactions with the blueprint's control indicators.

        Returns `touchpoint.scoring.ComplianceReport`; with ``notify``, fires
        ``indicator_breached`` once per breach, in the report's order, with the breach as
        a `Breach` (``touchpoint``, ``indicator``, ``measured``, ``target``, ``row``,
        ``event_id``, ``customer``, ``time``). ``options`` go to
        `touchpoint.scoring.compliance` (``by``, ``period``...).
        """
        from touchpoint.scoring import compliance

        if self.blueprint is None:
            raise TouchpointError("check_compliance needs a workspace opened with a blueprint")
        report = compliance(self.interactions(start=start, end=end), self.blueprint, **options)
        if notify and len(report.breaches):
            for breach in _breaches(report.breaches):  # one notification per breach
                self.notify("indicator_breached", breach=breach)
        return report

    def check_tiers(self, *, since: Any, asof: Any = None, notify: bool = True) -> Any:
        """Run the blueprint's loyalty programme over the stored interactions.

        Returns `touchpoint.scoring.LoyaltyReport`; with ``notify``, fires ``tier_changed``
        for every transition at or after ``since`` (so a daily job passes the last run's
        time and each change is announced once).
        """
        from touchpoint.scoring import loyalty_programme

        if self.blueprint is None or self.blueprint.loyalty is None:
            raise TouchpointError("check_tiers needs a blueprint with a loyalty programme")
        report = loyalty_programme(self.interactions(), self.blueprint.loyalty, asof=asof)
        if notify:
            moves = report.transitions
            recent = np.flatnonzero(moves["time"] >= np.datetime64(since, "us"))
            old, new, who = moves["from_tier"], moves["to_tier"], moves["customer"]
            for i in recent:  # one notification per tier change
                self.notify("tier_changed", customer=who[i], old=old[i], new=new[i])
        return report

    def notify(self, hook: str, **kwargs: Any) -> list[HookFailure]:
        """Fire a notification hook; each plugin isolated and given `hook_timeout` seconds.

        Failures (exceptions and calls that ran too long) are logged and returned as
        `touchpoint.plugins.HookFailure` objects naming the plugin.
        """
        return self.plugins.notify(hook, workspace=self, timeout=self.hook_timeout, **kwargs)


_COMPLAINT_TIMES = ("opened_at", "first_response_at", "resolved_at")
_COMPLAINT_TEXTS = ("cause", "touchpoint", "channel", "resolution")


def _moment(value: Any, name: str) -> dt.datetime:
    """``value`` (a date, datetime, datetime64 or ISO text; None: now) as an aware UTC datetime."""
    from touchpoint.frame import as_time

    if value is None:
        return dt.datetime.now(dt.UTC)
    naive: dt.datetime = as_time(value, name=name).astype(dt.datetime)
    return naive.replace(tzinfo=dt.UTC)


def _duration(value: Any, name: str) -> dt.timedelta:
    """``value`` (a timedelta or text such as ``"24 hours"``) or a `ValidationError` naming ``name``."""
    from touchpoint.model import parse_timedelta

    try:
        return parse_timedelta(value)
    except TouchpointError as exc:
        message = "; ".join(p.message for p in getattr(exc, "problems", [])) or str(exc)
        raise ValidationError([Problem(name, message, value)]) from None


def _complaint_id(fields: Mapping[str, Any]) -> str:
    """An id derived from what the complaint says: the same complaint, the same id."""
    import hashlib
    import json

    parts = [
        str(fields.get(k) or "") for k in ("customer", "type", "cause", "touchpoint", "channel")
    ]
    parts.append(fields["opened_at"].isoformat())
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()
    return f"K-{digest[:16]}"


def _complaint_from(given: Any) -> Complaint:
    """A `touchpoint.Complaint` from a mapping of fields, or a `ValidationError` naming each problem."""
    from touchpoint._privacy import mask_value
    from touchpoint.errors import BlueprintError
    from touchpoint.model import CODE_PATTERN, ComplaintType

    if not isinstance(given, Mapping):
        raise ValidationError(
            [
                Problem(
                    "complaint",
                    "must be a touchpoint.Complaint, a dict of its fields or keyword fields",
                    type(given).__name__,
                )
            ]
        )
    fields = dict(given)
    cid = fields.get("id")
    where = f"complaints[{cid!r}]" if cid is not None else "complaint"
    known = {f.name for f in attrs.fields(Complaint)}
    problems = [
        Problem(f"{where}.{name}", "is not a field of a complaint", mask_value(name, value))
        for name, value in fields.items()
        if name not in known
    ]
    if cid is not None and not (isinstance(cid, str) and CODE_PATTERN.match(cid)):
        message = "must be a non-empty code of letters, digits, '-', '_', '.' or '/' (no spaces)"
        problems.append(Problem(f"{where}.id", message, cid))
    if fields.get("type") is not None:
        try:
            fields["type"] = ComplaintType(fields["type"])
        except ValueError:
            allowed = ", ".join(repr(t.value) for t in ComplaintType)
            problems.append(Problem(f"{where}.type", f"must be one of {allowed}", fields["type"]))
    customer = fields.get("customer")
    if not isinstance(customer, str) or not customer.strip():
        problems.append(Problem(f"{where}.customer", "must be a customer id (text)", customer))
    if fields.get("opened_at") is None:
        problems.append(Problem(f"{where}.opened_at", "is required"))
    for name in _COMPLAINT_TIMES:  # a loop over the three time fields
        if fields.get(name) is not None:
            try:
                fields[name] = _moment(fields[name], f"{where}.{name}")
            except ValidationError as exc:
                problems += exc.problems
    for name in _COMPLAINT_TEXTS:  # free text may hold personal data: not shown
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(f"{where}.{name}", "must be text"))
    if problems:
        raise ValidationError(problems)
    if cid is None:
        fields["id"] = _complaint_id(fields)
        where = f"complaints[{fields['id']!r}]"
    try:
        return Complaint(**{k: v for k, v in fields.items() if v is not None})
    except (ValidationError, BlueprintError) as exc:
        raise ValidationError(
            [
                Problem(f"{where}.{p.path}", p.message, p.value)
                if p.has_value
                else Problem(f"{where}.{p.path}", p.message)
                for p in exc.problems
            ]
        ) from None


def open_workspace(
    url: str = "memory://",
    *,
    blueprint: Any = None,
    disable_plugins: Iterable[str] = (),
    plugins: Plugins | None = None,
    hook_timeout: float | None = None,
) -> Workspace:
    """Open a workspace on the storage at ``url`` (``memory://``, ``sqlite:///file.db``, a plugin's).

    Parameters
    ----------
    blueprint:
        A `touchpoint.Blueprint`, or the name of a registered template; interactions are
        then checked against its touchpoints and channels.
    disable_plugins:
        Plugin names to leave out (also read from ``TOUCHPOINT_DISABLE_PLUGINS``).
        Faulty plugins are left out on their own (see `touchpoint.plugins.Plugins.faulty`).
    hook_timeout:
        Seconds each notification hook call may take before it is reported as a
        `touchpoint.plugins.HookFailure` (default: ``TOUCHPOINT_HOOK_TIMEOUT``, else 10).
    """
    if plugins is None:
        plugins = default_plugins(disable_plugins) if disable_plugins else default_plugins()
    if isinstance(blueprint, str):
        templates = plugins.blueprints()
        if blueprint not in templates:
            raise ValidationError(
                [
                    Problem(
                        "blueprint",
                        f"no blueprint template of that name (known: {', '.join(sorted(templates))})",
                        blueprint,
                    )
                ]
            )
        blueprint = templates[blueprint].obj()
    return Workspace(
        open_storage(url, plugins=plugins),
        blueprint=blueprint,
        plugins=plugins,
        hook_timeout=hook_timeout,
    )


def _shape(value: Any) -> str:
    """What a value is, for an error message, without showing the value (it may be personal)."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    if isinstance(value, list | tuple | dict):
        return f"a {kind} of {len(value)} items"
    return "None" if value is None else f"a {kind}"


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value a host expects (``np.float64(2.0)`` -> ``2.0``)."""
    return value.item() if hasattr(value, "item") and type(value).__module__ == "numpy" else value
