"""Customers from a table (a CRM export): one `touchpoint.model.Customer` per row, merged
with what is stored.

`customers_from_columns` reads columns named like the customer's fields:

- ``customer`` (the id; required), ``name``, ``email``, ``phone``, ``address``,
  ``timezone`` (IANA), ``segment``, ``tier``, ``referrer``;
- ``do_not_contact``: ``true``/``false`` (also ``yes``/``no``, ``1``/``0``);
- ``preferred_channels``: channel codes separated by ``;`` or ``,`` (or one
  ``preferred_channel``);
- the date columns named in ``dates`` (ISO dates: ``birthday``, ``move_in``...): the
  anchors care rules count from;
- ``consent:CHANNEL:PURPOSE`` (e.g. ``consent:email:marketing``): ``true`` or ``false``.

An empty cell is "not in this file": it keeps what is stored for that customer (a new
customer gets the field's default). A consent cell records a new `Consent` only when it
differs from the customer's current answer for that channel and purpose, so the consent
history is kept and importing the same file twice changes nothing. Any other column is
returned in ``ignored``. A row that cannot be read (a bad id, an unknown time zone, an
e-mail without ``@``, a date that is not a date, a customer who was forgotten) is
rejected on its own, naming the row, the field and the value, personal values masked.

Examples
--------
>>> read = customers_from_columns(
...     {"customer": ["C1", "C2"], "email": ["wei@example.com", "not-an-address"],
...      "birthday": ["1990-05-01", None], "consent:email:marketing": ["yes", "no"]},
...     dates=["birthday"])
>>> [c.id for c in read.customers], read.customers[0].allows("email", "marketing")
(['C1'], True)
>>> [str(p) for _, problems in read.rejected for p in problems]
["rows[1].email: is not an e-mail address (value: 'n***')"]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from touchpoint._privacy import mask_value
from touchpoint.errors import Problem, ValidationError
from touchpoint.model import Consent, Customer, Purpose

__all__ = ["CUSTOMER_FIELDS", "CustomerRows", "customers_from_columns"]

#: Text fields read as they are (an empty cell keeps the stored value).
_TEXT = ("name", "email", "phone", "address", "timezone", "segment", "tier", "referrer")
#: Every column name read as a customer field, besides dates and consents.
CUSTOMER_FIELDS = ("customer", *_TEXT, "do_not_contact", "preferred_channels", "preferred_channel")

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,}$")


@attrs.frozen
class CustomerRows:
    """What `customers_from_columns` read: the customers to store, the rejected rows
    (row number, problems) and the columns it did not read."""

    customers: list[Customer]
    rejected: list[tuple[int, list[Problem]]]
    ignored: list[str]
    #: Rows equal to what is stored already (not in ``customers``: nothing to write).
    unchanged: int = 0


def _consent_column(name: str) -> tuple[str, Purpose] | Problem | None:
    parts = name.split(":")
    if len(parts) != 3 or parts[0] != "consent":
        return None
    channel, purpose = parts[1], parts[2]
    if not channel or purpose not in {p.value for p in Purpose}:
        return Problem(
            name,
            "a consent column is named consent:CHANNEL:PURPOSE with PURPOSE one of "
            + ", ".join(p.value for p in Purpose),
            name,
        )
    return channel, Purpose(purpose)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a DataFrame: missing
        return None
    text = str(value).strip()
    return text or None


def _boolean(value: str) -> bool | None:
    low = value.lower()
    return True if low in _TRUE else False if low in _FALSE else None


def _read_row(
    row: Mapping[str, str | None],
    *,
    dates: Sequence[str],
    consents: Mapping[str, tuple[str, Purpose]],
    stored: Customer | None,
    consent_at: dt.datetime,
) -> tuple[Customer | None, list[Problem]]:
    problems: list[Problem] = []
    changes: dict[str, Any] = {}
    for field in _TEXT:
        value = row.get(field)
        if value is None:
            continue
        if field == "email" and not _EMAIL.match(value):
            problems.append(Problem(field, "is not an e-mail address", mask_value(field, value)))
        elif field == "phone" and not _PHONE.match(value):
            problems.append(Problem(field, "is not a phone number", mask_value(field, value)))
        changes[field] = value
    flag = row.get("do_not_contact")
    if flag is not None:
        answer = _boolean(flag)
        if answer is None:
            problems.append(Problem("do_not_contact", "must be true or false", flag))
        changes["do_not_contact"] = answer
    channels = row.get("preferred_channels") or row.get("preferred_channel")
    if channels is not None:
        changes["preferred_channels"] = tuple(
            c.strip() for c in re.split(r"[;,]", channels) if c.strip()
        )
    new_dates: dict[str, dt.date] = {}
    for name in dates:
        value = row.get(name)
        if value is None:
            continue
        try:
            new_dates[name] = dt.date.fromisoformat(value[:10])
        except ValueError:
            problems.append(Problem(name, "is not a date (YYYY-MM-DD)", value))
    new_consents: list[Consent] = []
    base = stored if stored is not None else None
    for column, (channel, purpose) in consents.items():
        value = row.get(column)
        if value is None:
            continue
        answer = _boolean(value)
        if answer is None:
            problems.append(Problem(column, "must be true or false", value))
            continue
        current = _current_consent(base, channel, purpose)
        if current is not answer:
            new_consents.append(Consent(channel, purpose, granted=answer, at=consent_at))
    if problems:
        return None, problems
    customer_id = row["customer"]
    assert customer_id is not None
    try:
        if stored is None:
            return (
                Customer(
                    customer_id,
                    **changes,
                    dates=new_dates,
                    consents=new_consents,
                ),
                [],
            )
        merged_dates = {**dict(stored.dates), **new_dates}
        return (
            attrs.evolve(
                stored,
                **changes,
                dates=merged_dates,
                consents=(*stored.consents, *new_consents),
            ),
            [],
        )
    except ValidationError as error:
        return None, [_unprefixed(p) for p in error.problems]


def _current_consent(customer: Customer | None, channel: str, purpose: Purpose) -> bool | None:
    """The latest recorded answer for channel and purpose (None: never asked)."""
    answer = None
    for consent in customer.consents if customer is not None else ():
        if consent.channel == channel and consent.purpose == purpose:
            answer = consent.granted
    return answer


def _unprefixed(problem: Problem) -> Problem:
    """A `Customer` problem without its ``customer 'C1': `` prefix (the row names it)."""
    message = re.sub(r"^customer '.*?': ", "", problem.message)
    if problem.has_value:
        return Problem(problem.path, message, problem.value)
    return Problem(problem.path, message)


def customers_from_columns(
    columns: Mapping[str, Sequence[Any]],
    *,
    dates: Iterable[str] = (),
    stored: Callable[[str], Customer | None] | None = None,
    forgotten: Callable[[str], bool] | None = None,
    consent_at: dt.datetime | None = None,
    first_row: int = 0,
    seen: set[str] | None = None,
) -> CustomerRows:
    """Customers from columns (see the module docstring for the columns read).

    Parameters
    ----------
    columns
        Column name -> values, one row per customer (a dict of lists or arrays).
    dates
        The columns that hold anchor dates (``birthday``, ``move_in``...).
    stored
        Looks up the stored customer by id (e.g. ``storage.customer``): the row is merged
        into it. Without it every row is a new customer.
    forgotten
        Whether an id was erased (e.g. ``storage.is_suppressed``): such rows are rejected.
    consent_at
        The time new consent records carry (default: now, UTC).
    first_row
        The number of the first row, for the rows named in problems.
    seen
        Ids read from earlier batches of the same file (updated): an id that appears
        twice in a file is rejected the second time, whichever batch it is in.

    Raises
    ------
    ValidationError
        Without a ``customer`` column, or with a consent column named wrongly (the file's
        layout is wrong: no row is read).
    """
    names = list(columns)
    if "customer" not in names:
        raise ValidationError(
            [Problem("customer", f"no customer id column (columns: {', '.join(names)})")]
        )
    dates = list(dates)
    consents: dict[str, tuple[str, Purpose]] = {}
    layout: list[Problem] = []
    ignored: list[str] = []
    for name in names:
        kind = _consent_column(name)
        if isinstance(kind, Problem):
            layout.append(kind)
        elif kind is not None:
            consents[name] = kind
        elif name not in CUSTOMER_FIELDS and name not in dates:
            ignored.append(name)
    if layout:
        raise ValidationError(layout)
    read = [n for n in names if n not in ignored]
    values = {n: list(columns[n]) for n in read}
    count = len(values["customer"])
    at = consent_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    customers: list[Customer] = []
    rejected: list[tuple[int, list[Problem]]] = []
    seen = set() if seen is None else seen
    unchanged = 0
    # one Customer object per row: customers are documents, not columns (see docs/cli.md)
    for i in range(count):
        row = {n: _text(values[n][i]) for n in read}
        where = f"rows[{first_row + i}]"
        customer_id = row["customer"]
        if customer_id is None:
            rejected.append((first_row + i, [Problem(f"{where}.customer", "is empty")]))
            continue
        if customer_id in seen:
            problem = Problem(f"{where}.customer", "appears twice in the file", customer_id)
            rejected.append((first_row + i, [problem]))
            continue
        if forgotten is not None and forgotten(customer_id):
            problem = Problem(
                f"{where}.customer",
                "was forgotten (erased): their data may not be stored again",
                customer_id,
            )
            rejected.append((first_row + i, [problem]))
            continue
        previous = stored(customer_id) if stored is not None else None
        customer, problems = _read_row(
            row, dates=dates, consents=consents, stored=previous, consent_at=at
        )
        if customer is None:
            rejected.append((first_row + i, [p.under(where) for p in problems]))
            continue
        seen.add(customer_id)
        if customer == previous:
            unchanged += 1
        else:
            customers.append(customer)
    return CustomerRows(
        customers=customers, rejected=rejected, ignored=ignored, unchanged=unchanged
    )
