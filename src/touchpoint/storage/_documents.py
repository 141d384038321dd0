"""Customers, promises and complaints as JSON documents, and back.

Backends keep these configuration-sized records as documents keyed by kind and id.

Examples
--------
>>> import datetime as dt
>>> from touchpoint.model import Consent, Customer
>>> c = Customer("C1", email="a@b.cn", consents=[Consent("email", "service")],
...              dates={"birthday": dt.date(1990, 5, 1)})
>>> from_document("customer", to_document(c)) == c
True
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.model import Complaint, Consent, Customer, Promise

__all__ = [
    "KINDS",
    "care_columns",
    "customer_documents",
    "from_document",
    "kind_of",
    "to_document",
]

KINDS: dict[str, type] = {"customer": Customer, "promise": Promise, "complaint": Complaint}


def kind_of(obj: Any) -> str:
    for kind, cls in KINDS.items():
        if isinstance(obj, cls):
            return kind
    raise TypeError(
        f"cannot store a {type(obj).__name__}; expected a Customer, Promise or Complaint"
    )


#: Types whose values are their own JSON form (exact types: a str enum is not one).
_SCALARS = frozenset({str, int, float, bool, type(None)})
#: attrs class -> its field names, read once per class instead of once per object.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:  # most fields: no isinstance chain
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if attrs.has(kind):
        names = _FIELD_NAMES.get(kind)
        if names is None:
            names = _FIELD_NAMES[kind] = tuple(f.name for f in attrs.fields(kind))
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def to_document(obj: Any) -> str:
    """JSON text of a `Customer`, `Promise` or `Complaint`."""
    return json.dumps(_plain(obj), ensure_ascii=False, sort_keys=True)


def as_plain(obj: Any) -> Any:
    """The JSON-ready form of a domain object (for exports)."""
    return json.loads(to_document(obj))


def from_document(kind: str, text: str) -> Any:
    """The domain object back from `to_document` text."""
    data = _restore(json.loads(text))
    if kind == "customer":
        data["consents"] = [Consent(**c) for c in data.get("consents", [])]
        data["dates"] = {name: day for name, day in data.get("dates", [])}
    return KINDS[kind](**data)


def keyset_pages(con: Any, sql: str, page: int) -> Iterator[list[str]]:
    """The document bodies of ``sql`` a page at a time, by keyset (no OFFSET rescans).

    ``sql`` selects ``(id, body)`` with ``id > <param 1>`` ordered by id, ``LIMIT <param
    2>``, in the connection's parameter style; each page starts after the last id seen.
    """
    last = ""
    while rows := con.execute(sql, (last, page)).fetchall():
        last = rows[-1][0]
        yield [body for _, body in rows]


def care_columns(
    pages: Iterable[list[str]], anchors: set[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(customers, consents): the columns the care agenda reads, from stored customer
    documents (`to_document` text, in pages of a few thousand) without a `Customer`
    object per record.

    The same columns, in the same order, as `touchpoint.storage.base.customer_columns`
    of the restored records (tested): id, timezone, segment, tier, do_not_contact,
    preferred_channel and one ``datetime64[D]`` column per anchor date; the consents
    one row each with the time in naive UTC. A record of another shape than
    `to_document` writes (a date stored as a datetime) is restored as an object. A
    page at a time is parsed, so memory holds the columns and one page's documents.

    >>> body = to_document(Customer("C1", dates={"birthday": dt.date(1990, 5, 1)}))
    >>> people, consents = care_columns([[body]], {"birthday", "purchase"})
    >>> people["customer"].tolist(), people["birthday"].tolist(), people["purchase"].tolist()
    (['C1'], [datetime.date(1990, 5, 1)], [None])
    """
    people: list[dict[str, np.ndarray]] = []
    consents: list[dict[str, np.ndarray]] = []
    for bodies in pages:
        a, b = _care_page(bodies, anchors)
        people.append(a)
        consents.append(b)
    if not people:
        return _care_page([], anchors)
    return (
        {name: np.concatenate([p[name] for p in people]) for name in people[0]},
        {name: np.concatenate([c[name] for c in consents]) for name in consents[0]},
    )


def _care_page(
    bodies: list[str], anchors: set[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`care_columns` of one page of documents."""
    from touchpoint.frame import to_us

    records = [json.loads(b) for b in bodies]
    dates: list[dict[str, Any]] = []
    for r in records:
        try:
            dates.append({name: v["$date"] for name, v in r.get("dates") or ()})
        except (KeyError, TypeError):  # not the shape to_document writes: as an object
            dates.append(dict(from_document("customer", json.dumps(r)).dates))
    customers: dict[str, np.ndarray] = {
        "customer": np.array([r["id"] for r in records], dtype=object),
        "timezone": np.array([r.get("timezone") for r in records], dtype=object),
        "segment": np.array([r.get("segment") for r in records], dtype=object),
        "tier": np.array([r.get("tier") for r in records], dtype=object),
        "do_not_contact": np.array([bool(r.get("do_not_contact")) for r in records], dtype=bool),
        "preferred_channel": np.array(
            [(r.get("preferred_channels") or [None])[0] for r in records], dtype=object
        ),
    }
    for anchor in sorted(anchors):  # one column per anchor the care rules use
        customers[anchor] = np.array([d.get(anchor) for d in dates], dtype="datetime64[D]")
    rows = [(r["id"], c) for r in records for c in r.get("consents") or ()]
    granted: dict[str, np.ndarray] = {
        "customer": np.array([who for who, _ in rows], dtype=object),
        "channel": np.array([c["channel"] for _, c in rows], dtype=object),
        "purpose": np.array([str(c["purpose"]) for _, c in rows], dtype=object),
        "granted": np.array([bool(c["granted"]) for _, c in rows], dtype=bool),
        # ISO texts, one numpy parse (offsets to UTC), not a datetime per consent
        "time": to_us(
            np.array(
                [None if (w := c.get("at")) is None else w["$datetime"] for _, c in rows],
                dtype=object,
            )
        ),
    }
    return customers, granted


def _cell(value: Any) -> Any:
    """A numpy scalar as plain JSON: NaN is None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def customer_export(
    storage: Any,
    customer: str,
    *,
    exported_at: Any,
    interactions: list[dict[str, Any]],
    documents: Any,
    quarantined: Any,
    score_names: Any,
) -> str:
    """The right-of-access document of one customer, as JSON, from what a storage read.

    The storages read with their own SQL: ``documents`` are ``(kind, body)`` rows of the
    customer's records, ``quarantined`` are ``(batch, row, reasons, record)`` rows with
    JSON text, ``score_names`` the saved score sets; scores, contacts and outbox rows come
    through the storage's own methods (``load_scores``, ``contacts``, ``outbox``).
    """
    by_kind: dict[str, list[Any]] = {"customer": [], "promise": [], "complaint": []}
    for kind, body in documents:
        by_kind[kind].append(as_plain(from_document(kind, body)))
    scores = {}
    for name in score_names:
        cols = storage.load_scores(name)
        hit = np.flatnonzero(cols["customer"] == customer)
        if len(hit):
            scores[name] = {k: _cell(v[hit[0]]) for k, v in cols.items() if k != "customer"}
    document = {
        "customer_id": customer,
        "exported_at": exported_at,
        "customer": by_kind["customer"][0] if by_kind["customer"] else None,
        "interactions": interactions,
        "promises": by_kind["promise"],
        "complaints": by_kind["complaint"],
        "contacts": storage.contacts(customer=customer),
        "outbox": storage.outbox(customer=customer),
        "scores": scores,
        "quarantined": [
            {
                "batch": batch,
                "row": row,
                "reasons": json.loads(reasons),
                "record": None if record is None else json.loads(record),
            }
            for batch, row, reasons, record in quarantined
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)


# ---------------------------------------------------------------- customers as columns

#: The text fields of a `Customer` read from columns of the same name (None if absent).
_TEXT_FIELDS = ("address", "email", "name", "phone", "referrer", "segment", "tier")
_SPECIAL = re.compile(r'[\x00-\x1f"\\]')  # what json.dumps escapes (ensure_ascii=False)
_CODES = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_.\-/]*\n)*\Z")  # ids, one per line
_S = np.dtypes.StringDType(na_object=None)


def _json_text_parts(
    values: Any, what: str, *, null: str = "null", left: str = "", right: str = ""
) -> list[Any]:
    """``left + json.dumps(value) + right`` per row (``null`` for None), as `_concat` parts.

    A column without None needs no new string per row: its quotes go into the constant
    pieces around it. A column mixing None and text makes one string per present value;
    one holding a character JSON escapes (a quote, a backslash, a control character) is
    encoded value by value with json.dumps: the rare column that needs it.

    >>> _json_text_parts(np.array(["a", "b"], dtype=object), "f")
    ['"', ['a', 'b'], '"']
    >>> _json_text_parts(np.array(["a", None], dtype=object), "f")[0].tolist()
    ['"a"', 'null']
    """
    v = np.asarray(values, dtype=object)
    try:  # one C loop; a type test per value is a Python loop
        missing = np.equal(v, None)
    except (TypeError, ValueError):  # a value that cannot say whether it equals None
        missing = np.array([x is None for x in v.tolist()], dtype=bool)
    present = v[~missing].tolist() if missing.any() else v.tolist()
    try:  # str.join refuses any value that is not text, with no Python test per value
        joined = "".join(present)
    except TypeError:
        row = next(i for i, x in enumerate(v.tolist()) if x is not None and type(x) is not str)
        raise ValidationError([Problem(f"{what}[{row}]", "must be text or None", v[row])]) from None
    if not present:
        return [null]
    if _SPECIAL.search(joined):  # escaping needed somewhere: json.dumps per value
        quoted = [f"{left}{json.dumps(x, ensure_ascii=False)}{right}" for x in present]
    elif not missing.any():
        return [f'{left}"', present, f'"{right}']
    else:
        quoted = list(map(f'{left}"{{}}"{right}'.format, present))
    out = np.full(len(v), null, dtype=object)
    out[~missing] = quoted
    return [out]


def _concat(parts: list[Any], n: int) -> list[str]:
    """Element-wise concatenation of ``n``-long string columns and constant strings.

    Adjacent constants are merged first; the columns become lists of Python strings
    once and each row is joined by ``str.join`` driven from C (``map`` over ``zip``):
    one string built per row, with no intermediate string per piece.
    """
    import itertools

    merged: list[Any] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        elif not (isinstance(p, str) and not p):
            merged.append(p)
    columns = [
        itertools.repeat(p, n) if isinstance(p, str) else p if isinstance(p, list) else p.tolist()
        for p in merged
    ]
    return list(map("".join, zip(*columns, strict=False)))


def _group_table(group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(order, position, width): rows sorted by ``group`` (stable), each row's position
    within its group, and the largest group's size (0: no rows)."""
    if not len(group):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    grouped = bool((group[1:] >= group[:-1]).all())  # a customer's rows together, in order
    order = np.arange(len(group)) if grouped else np.argsort(group, kind="stable")
    g = group[order]
    start = np.searchsorted(g, np.arange(n))
    position = np.arange(len(g)) - start[g]
    return order, position, int(position.max()) + 1


def _iso_datetimes(t: np.ndarray) -> np.ndarray:
    """``datetime.isoformat()`` of naive datetime64 values (microseconds only when not 0)."""
    us = t.astype("datetime64[us]")
    exact = us.astype(np.int64) % 1_000_000 == 0
    out = np.empty(len(us), dtype=_S)
    out[exact] = np.datetime_as_string(us[exact], unit="s")
    out[~exact] = np.datetime_as_string(us[~exact], unit="us")
    return out


def _spread(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """An ``n``-long object column of ``""`` with ``values`` at ``rows``."""
    out = np.full(n, "", dtype=object)
    out[rows] = values
    return out


@attrs.frozen
class _ConsentText:
    """The consents' JSON as a few distinct texts and a code per consent row.

    A consent's text is ``at[at_code] + tail[tail_code]``: ``'{"at": AT'`` per distinct
    time, ``', "channel": ..., "purpose": ...}'`` per distinct (channel, granted,
    purpose); ``at_next`` is ``at`` after a separator (a customer's second consent on).
    """

    at: np.ndarray
    at_next: np.ndarray
    tail: np.ndarray
    at_code: np.ndarray
    tail_code: np.ndarray
    row: np.ndarray  #: each consent's customer row

    def parts(self, lo: int, hi: int) -> list[Any]:
        """`_concat` parts of the consents' JSON arrays of customer rows ``lo:hi``.

        A column per position in a customer's list (a loop over positions, not over
        customers), each a gather of the distinct texts: no new string per consent.
        """
        mine = np.flatnonzero((self.row >= lo) & (self.row < hi))
        k = hi - lo
        order, position, width = _group_table(self.row[mine] - lo, k)
        if not width:
            return ["[]"]
        rows = mine[order]
        who = self.row[rows] - lo
        parts: list[Any] = ["["]
        for p in range(width):  # the few positions of a customer's consents
            here = np.flatnonzero(position == p)
            at = (self.at_next if p else self.at)[self.at_code[rows[here]]]
            tail = self.tail[self.tail_code[rows[here]]]
            if len(here) < k:  # some customers have fewer consents: "" there
                at, tail = _spread(at, who[here], k), _spread(tail, who[here], k)
            parts += [at, tail]  # (a full position is in customer order: rows sorted)
        parts.append("]")
        return parts


def _distinct_runs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(t, return_inverse=True)`` of times that repeat in runs (a customer's
    consents given at once): the runs' first values are sorted, not every row.

    >>> x = np.array([5, 5, 3, 3, 5], "datetime64[us]")
    >>> [a.tolist() for a in _distinct_runs(x)] == [a.tolist() for a in np.unique(x, return_inverse=True)]
    True
    """
    if not len(t):
        return np.unique(t, return_inverse=True)
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    # (NaT != NaT: every NaT starts a run; np.unique makes them one value, as on all rows)
    values, code = np.unique(t[starts], return_inverse=True)
    return values, np.repeat(code.ravel(), np.diff(np.append(starts, len(t))))


def _consent_text(consents: Mapping[str, Any], ids: np.ndarray) -> _ConsentText:
    """The `_ConsentText` of consent columns, checked (customer, purpose, channel)."""
    from touchpoint.frame import factorize
    from touchpoint.model import Purpose

    who = np.asarray(consents["customer"], dtype=object)
    n = len(ids)
    # A customer's consents usually come one after the other: hash the first id of each
    # run only (a sixth of the rows for six consents each), with the ids, in one pass
    # (ids are distinct: their codes are 0..n-1), then spread each run's row over it.
    starts = np.flatnonzero(np.concatenate(([True], who[1:] != who[:-1]))) if len(who) else []
    heads = who[starts]
    codes, _ = factorize(np.concatenate((ids, heads)), sort=False)
    row = np.full(int(codes.max()) + 2 if len(codes) else 1, -1, dtype=np.int64)
    row[codes[:n]] = np.arange(n)
    head_row = np.where(codes[n:] >= 0, row[codes[n:]], -1)
    mine = np.repeat(head_row, np.diff(np.append(starts, len(who)).astype(np.int64)))
    if len(mine) and mine.min() < 0:
        bad = int(np.flatnonzero(mine < 0)[0])
        raise ValidationError(
            [Problem(f"consents.customer[{bad}]", "is not one of the customers", who[bad])]
        )
    m = len(who)
    purpose = np.asarray(consents.get("purpose", np.full(m, "service")), dtype=object)
    known = {p.value for p in Purpose}
    for value in set(purpose.tolist()):  # the few distinct purposes
        if value not in known:
            bad = int(np.flatnonzero(purpose == value)[0])
            raise ValidationError(
                [Problem(f"consents.purpose[{bad}]", f"must be one of {sorted(known)}", value)]
            )
    granted = np.asarray(consents.get("granted", np.ones(m, bool)), dtype=bool)
    if "time" in consents:
        t = np.asarray(consents["time"]).astype("datetime64[us]")
        times, t_code = _distinct_runs(t)
        known_t = ~np.isnat(times)
        at = np.full(len(times), '{"at": null', dtype=_S)
        at[known_t] = np.strings.add(
            np.strings.add('{"at": {"$datetime": "', _iso_datetimes(times[known_t])), '"}'
        )
    else:
        at, t_code = np.array(['{"at": null'], _S), np.zeros(m, np.int64)
    channel = np.asarray(consents["channel"], dtype=object)
    # few distinct values: factorize hashes them in one table per chunk
    ch_code, channels = factorize(channel, sort=False)
    pu_code, purposes = factorize(purpose, sort=False)
    _json_text_parts(channels, "consents.channel")  # the distinct channels are text
    if len(ch_code) and ch_code.min() < 0:
        bad = int(np.flatnonzero(ch_code < 0)[0])
        raise ValidationError([Problem(f"consents.channel[{bad}]", "is missing", None)])
    key = (ch_code.astype(np.int64) * len(purposes) + pu_code) * 2 + granted
    combos, combo_code = np.unique(key, return_inverse=True)
    tail = []
    for combo in combos.tolist():  # the few distinct (channel, purpose, granted)
        ch = str(channels[combo // 2 // len(purposes)])
        pu = str(purposes[combo // 2 % len(purposes)])
        tail.append(
            f', "channel": {json.dumps(ch, ensure_ascii=False)}, '
            f'"granted": {"true" if combo % 2 else "false"}, '
            f'"purpose": {json.dumps(pu, ensure_ascii=False)}}}'
        )
    # object arrays of Python strings: a gather copies pointers, no string is made
    at_text = at.astype(object)
    return _ConsentText(
        at_text,
        np.add(", ", at_text) if len(at_text) else at_text,
        np.array(tail, dtype=object),
        t_code.ravel(),
        combo_code.ravel(),
        mine,
    )


def _date_parts(dates: Mapping[str, Any], lo: int, hi: int) -> list[Any]:
    """`_concat` parts of the anchor dates' JSON list of rows ``lo:hi``: one column per
    anchor, gathered from the texts of its distinct days (no new string per row)."""
    k = hi - lo
    parts: list[Any] = ["["]
    some = np.zeros(k, dtype=bool)
    for name in sorted(dates):  # the few anchor dates, in the order Customer sorts them
        day = np.asarray(dates[name])[lo:hi].astype("datetime64[D]")
        ok = ~np.isnat(day)
        days, code = np.unique(day[ok], return_inverse=True)
        head = json.dumps(name, ensure_ascii=False)
        iso = np.datetime_as_string(days, unit="D").tolist()
        first = np.array([f'[{head}, {{"$date": "{d}"}}]' for d in iso], dtype=object)
        piece = np.full(k, "", dtype=object)
        if len(days):
            piece[ok] = np.where(some[ok], np.add(", ", first)[code], first[code])
        parts.append(piece)
        some |= ok
    parts.append("]")
    return parts


def _check_ids(ids: np.ndarray) -> None:
    listed = ids.tolist()
    try:  # str.join refuses any value that is not text, with no Python test per id
        joined = "\n".join(listed)
    except TypeError:
        joined = None
    if (
        joined is not None
        and joined.count("\n") == max(len(listed) - 1, 0)  # no id holds a line break
        and _CODES.match(f"{joined}\n" if listed else "")
    ):
        return
    for row, value in enumerate(ids.tolist()):  # find the first bad id (error path only)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*", value):
            raise ValidationError(
                [
                    Problem(
                        f"customer[{row}]",
                        "must be a non-empty code of letters, digits, '-', '_', '.' or '/' "
                        "(no spaces)",
                        value,
                    )
                ]
            )


def customer_documents(
    columns: Mapping[str, Any], *, chunk: int = 100_000
) -> Iterator[tuple[list[str], list[str]]]:
    """Customers given as columns, as (ids, JSON bodies) chunks, without a `Customer` each.

    Each body is the text `to_document` writes for the `Customer` of that row, built
    with numpy string operations over whole columns.

    Parameters
    ----------
    columns:
        ``customer`` (the ids); optionally the text fields ``name``, ``email``,
        ``phone``, ``address``, ``segment``, ``tier``, ``referrer`` (None: unknown),
        ``timezone`` (IANA name, default UTC), ``preferred_channel`` (one channel or
        None per customer), ``do_not_contact`` (booleans), ``dates`` (a mapping of
        anchor name to a ``datetime64[D]`` column; NaT: no such date) and ``consents``
        (a mapping of columns ``customer``, ``channel``, ``purpose``, ``granted``,
        ``time``: a customer's consents in the order of its rows).
    chunk:
        Customers per chunk (the bodies of one chunk are held in memory at a time).

    Raises
    ------
    touchpoint.errors.ValidationError
        An id that is not a code, an unknown time zone, a consent of an unknown
        customer or purpose, a text field holding something else than text: the same
        checks `Customer` makes, naming the column and row.

    Examples
    --------
    >>> cols = {"customer": np.array(["C1", "C2"], dtype=object),
    ...         "email": np.array(["a@b.cn", None], dtype=object),
    ...         "dates": {"birthday": np.array(["1990-05-01", "NaT"], "datetime64[D]")}}
    >>> (ids, bodies), = customer_documents(cols)
    >>> bodies[0] == to_document(Customer("C1", email="a@b.cn",
    ...                                   dates={"birthday": dt.date(1990, 5, 1)}))
    True
    """
    import zoneinfo

    from touchpoint.frame import factorize

    ids = np.asarray(columns["customer"], dtype=object)
    n = len(ids)
    _check_ids(ids)
    own, _ = factorize(ids, sort=False)
    if n and int(own.max()) + 1 != n:  # first-appearance codes: distinct ids are 0..n-1
        first = np.full(n, n, dtype=np.int64)
        np.minimum.at(first, own, np.arange(n))
        twice = int(np.flatnonzero(first[own] != np.arange(n))[0])
        raise ValidationError([Problem(f"customer[{twice}]", "appears twice", ids[twice])])
    zones = np.asarray(columns.get("timezone", np.full(n, "UTC")), dtype=object)
    for zone in set(zones.tolist()):  # the few distinct time zones
        try:
            zoneinfo.ZoneInfo(zone)
        except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
            row = int(np.flatnonzero(zones == zone)[0])
            raise ValidationError(
                [
                    Problem(
                        f"timezone[{row}]",
                        f"customer {ids[row]!r}: is not a known IANA time zone",
                        zone,
                    )
                ]
            ) from None
    consents = columns.get("consents")
    consent_text = (
        _consent_text(consents, ids)
        if consents is not None and len(np.asarray(consents["customer"]))
        else None
    )
    dates = dict(columns.get("dates") or {})
    dnc = np.asarray(columns.get("do_not_contact", np.zeros(n, bool)), dtype=bool)
    true_false = np.array(["false", "true"], dtype=object)
    for lo in range(0, max(n, 1), chunk):  # chunks of customers, to bound memory
        hi = min(lo + chunk, n)
        k = hi - lo
        if k <= 0:
            break
        text = {
            f: _json_text_parts(np.asarray(columns[f], dtype=object)[lo:hi], f)
            if f in columns
            else ["null"]
            for f in _TEXT_FIELDS
        }
        if "preferred_channel" in columns:
            channels = _json_text_parts(
                np.asarray(columns["preferred_channel"], dtype=object)[lo:hi],
                "preferred_channel",
                null="[]",
                left="[",
                right="]",
            )
        else:
            channels = ["[]"]
        parts: list[Any] = [
            '{"address": ', *text["address"],
            ', "consents": ', *(consent_text.parts(lo, hi) if consent_text else ["[]"]),
            ', "dates": ', *_date_parts(dates, lo, hi),
            ', "do_not_contact": ', true_false[dnc[lo:hi].view(np.int8)],
            ', "email": ', *text["email"],
            ', "id": ', *_json_text_parts(ids[lo:hi], "customer"),
            ', "name": ', *text["name"],
            ', "phone": ', *text["phone"],
            ', "preferred_channels": ', *channels,
            ', "referrer": ', *text["referrer"],
            ', "segment": ', *text["segment"],
            ', "tier": ', *text["tier"],
            ', "timezone": ', *_json_text_parts(zones[lo:hi], "timezone"),
            "}",
        ]  # fmt: skip
        body = _concat(parts, k)  # one string per document, joined from C
        yield ids[lo:hi].tolist(), body
