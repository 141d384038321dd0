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
