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
from typing import Any

import attrs
import numpy as np

from touchpoint.model import Complaint, Consent, Customer, Promise

__all__ = ["KINDS", "from_document", "kind_of", "to_document"]

KINDS: dict[str, type] = {"customer": Customer, "promise": Promise, "complaint": Complaint}


def kind_of(obj: Any) -> str:
    for kind, cls in KINDS.items():
        if isinstance(obj, cls):
            return kind
    raise TypeError(
        f"cannot store a {type(obj).__name__}; expected a Customer, Promise or Complaint"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
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
