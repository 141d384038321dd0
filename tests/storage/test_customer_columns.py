"""Customers upserted as columns: the same stored customers as `Customer` objects give."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint.errors import ValidationError
from touchpoint.model import Consent, Customer
from touchpoint.storage._documents import customer_documents, to_document
from touchpoint.storage.memory import MemoryStorage
from touchpoint.storage.sqlite import SqliteStorage

ZONES = ["UTC", "Asia/Shanghai", "Europe/London"]
CHANNELS = ["sms", "email", "phone", 'we"chat', "line\\1"]
code = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,8}", fullmatch=True)
text = st.one_of(st.none(), st.text(max_size=12))  # any text: quotes, controls, CJK
day = st.one_of(st.none(), st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)))
moment = st.one_of(
    st.none(),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1)),
)


@st.composite
def people(draw):
    ids = draw(st.lists(code, min_size=1, max_size=12, unique=True))
    n = len(ids)
    cols = {
        "customer": np.array(ids, dtype=object),
        "name": np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
        "email": np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
        "phone": np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
        "segment": np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
        "referrer": np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype=object),
        "timezone": np.array(
            draw(st.lists(st.sampled_from(ZONES), min_size=n, max_size=n)), dtype=object
        ),
        "preferred_channel": np.array(
            draw(st.lists(st.one_of(st.none(), st.sampled_from(CHANNELS)), min_size=n, max_size=n)),
            dtype=object,
        ),
        "do_not_contact": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        "dates": {
            name: np.array(
                [
                    np.datetime64("NaT") if d is None else np.datetime64(d, "D")
                    for d in draw(st.lists(day, min_size=n, max_size=n))
                ],
                dtype="datetime64[D]",
            )
            for name in draw(
                st.lists(
                    st.sampled_from(["birthday", "move_in", "purchase"]), unique=True, max_size=3
                )
            )
        },
    }
    m = draw(st.integers(0, 3 * n))
    who = draw(st.lists(st.sampled_from(ids), min_size=m, max_size=m))
    times = draw(st.lists(moment, min_size=m, max_size=m))
    cols["consents"] = {
        "customer": np.array(who, dtype=object),
        "channel": np.array(
            draw(st.lists(st.sampled_from(CHANNELS), min_size=m, max_size=m)), dtype=object
        ),
        "purpose": np.array(
            draw(st.lists(st.sampled_from(["service", "marketing"]), min_size=m, max_size=m)),
            dtype=object,
        ),
        "granted": np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool),
        "time": np.array(
            [np.datetime64("NaT") if t is None else np.datetime64(t, "us") for t in times],
            dtype="datetime64[us]",
        ),
    }
    return cols


def objects(cols):
    """The same customers as `Customer` objects, the way a caller builds them by hand."""
    k = cols["consents"]
    consents: dict[str, list[Consent]] = {}
    for who, ch, pu, ok, at in zip(
        k["customer"], k["channel"], k["purpose"], k["granted"], k["time"].tolist(), strict=True
    ):
        consents.setdefault(who, []).append(Consent(ch, pu, bool(ok), at))
    out = []
    for i, who in enumerate(cols["customer"]):
        pref = cols["preferred_channel"][i]
        out.append(
            Customer(
                who,
                name=cols["name"][i],
                email=cols["email"][i],
                phone=cols["phone"][i],
                timezone=cols["timezone"][i],
                consents=consents.get(who, ()),
                preferred_channels=() if pref is None else (pref,),
                dates={d: v[i].item() for d, v in cols["dates"].items() if not np.isnat(v[i])},
                segment=cols["segment"][i],
                referrer=cols["referrer"][i],
                do_not_contact=bool(cols["do_not_contact"][i]),
            )
        )
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cols=people(), chunk=st.integers(1, 5))
def test_columns_give_the_documents_of_the_objects(cols, chunk) -> None:
    chunks = list(customer_documents(cols, chunk=chunk))
    ids = [i for part, _ in chunks for i in part]
    bodies = [b for _, part in chunks for b in part]
    assert ids == list(cols["customer"])
    assert bodies == [to_document(c) for c in objects(cols)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cols=people())
def test_a_storage_keeps_the_same_customers_from_columns_and_objects(cols) -> None:
    by_columns, by_objects = MemoryStorage(), MemoryStorage()
    assert by_columns.upsert_customers(cols) == len(cols["customer"])
    by_objects.upsert_customers(objects(cols))
    assert by_columns.customers() == by_objects.customers()
    first = str(cols["customer"][0])
    assert by_columns.customer(first) == by_objects.customer(first)


def test_columns_replace_stored_customers_on_a_sqlite_file(tmp_path) -> None:
    store = SqliteStorage(tmp_path / "c.db")
    store.upsert_customers([Customer("C1", tier="silver"), Customer("C2")])
    cols = {"customer": np.array(["C1"], dtype=object), "email": np.array(["a@b.cn"], dtype=object)}
    assert store.upsert_customers(cols) == 1
    assert store.customer("C1") == Customer("C1", email="a@b.cn")  # replaced, tier gone
    assert store.customer("C2") == Customer("C2")


@pytest.mark.parametrize(
    ("cols", "where"),
    [
        ({"customer": np.array(["C1", "bad id"], dtype=object)}, "customer[1]"),
        ({"customer": np.array(["C1", "C2", 7], dtype=object)}, "customer[2]"),  # not text
        ({"customer": np.array(["C1", None], dtype=object)}, "customer[1]"),
        ({"customer": np.array(["C1", ""], dtype=object)}, "customer[1]"),
        ({"customer": np.array(["C1", "C2\nC3"], dtype=object)}, "customer[1]"),  # two lines
        ({"customer": np.array(["C1\n"], dtype=object)}, "customer[0]"),
        (
            {"customer": np.array(["C1"], dtype=object), "timezone": np.array(["Mars/Base"])},
            "timezone[0]",
        ),
        (
            {
                "customer": np.array(["C1"], dtype=object),
                "consents": {"customer": np.array(["C9"]), "channel": np.array(["sms"])},
            },
            "consents.customer[0]",
        ),
        (
            {
                "customer": np.array(["C1"], dtype=object),
                "consents": {
                    "customer": np.array(["C1"]),
                    "channel": np.array(["sms"]),
                    "purpose": np.array(["spam"]),
                },
            },
            "consents.purpose[0]",
        ),
        (
            {"customer": np.array(["C1"], dtype=object), "email": np.array([5], dtype=object)},
            "email[0]",
        ),
    ],
)
def test_bad_columns_are_refused_naming_column_and_row(cols, where) -> None:
    store = MemoryStorage()
    with pytest.raises(ValidationError) as caught:
        store.upsert_customers(cols)
    assert caught.value.problems[0].path == where
    assert store.customers() == []  # nothing half-stored


class _Ambiguous:
    """A value that cannot say whether it equals None (as pandas' NA cannot)."""

    def __eq__(self, other: object) -> bool:
        raise TypeError("boolean value of NA is ambiguous")

    __hash__ = object.__hash__


@pytest.mark.parametrize("column", ["email", "referrer", "preferred_channel"])
def test_a_value_that_cannot_compare_with_none_is_refused_by_row(column) -> None:
    cols = {
        "customer": np.array(["C1", "C2", "C3"], dtype=object),
        column: np.array(["a", None, _Ambiguous()], dtype=object),
    }
    with pytest.raises(ValidationError) as caught:
        list(customer_documents(cols))
    assert caught.value.problems[0].path == f"{column}[2]"
