"""The care agenda's customer columns straight from stored documents equal those of the
restored `Customer` records (`customer_columns`, the base class's `Storage.care_columns`),
on SQLite and on odd records, and for any customers hypothesis makes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint import Customer
from touchpoint.cli._care import stored_customer_columns
from touchpoint.model import Consent
from touchpoint.storage.base import Storage, customer_columns
from touchpoint.storage.memory import MemoryStorage
from touchpoint.storage.sqlite import SqliteStorage
from touchpoint.testing.storage import care_customers

# numpy warns that it has no time zones when it parses an ISO text with an offset:
# `touchpoint.frame.to_us` expects that and silences it; none may reach the user
pytestmark = pytest.mark.filterwarnings("error:no explicit representation of timezones:UserWarning")

CST = dt.timezone(dt.timedelta(hours=8))
NEWFOUNDLAND = dt.timezone(-dt.timedelta(hours=3, minutes=30))  # a negative offset
ZONES = ["UTC", "Asia/Shanghai", "America/New_York"]
CHANNELS = ["sms", "email", "phone", 'we"chat']
day = st.one_of(st.none(), st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)))
moment = st.one_of(
    st.none(),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1)),  # naive: UTC
    st.datetimes(
        dt.datetime(2000, 1, 1),
        dt.datetime(2030, 1, 1),
        timezones=st.sampled_from([CST, NEWFOUNDLAND, dt.UTC]),
    ),
)
consent = st.builds(
    Consent,
    st.sampled_from(CHANNELS),
    st.sampled_from(["service", "marketing"]),
    st.booleans(),
    moment,
)


@st.composite
def customer_sets(draw) -> list[Customer]:
    ids = draw(st.lists(st.from_regex(r"C[0-9]{1,4}", fullmatch=True), max_size=10, unique=True))
    return [
        Customer(
            who,
            timezone=draw(st.sampled_from(ZONES)),
            segment=draw(st.one_of(st.none(), st.text(max_size=6))),
            tier=draw(st.one_of(st.none(), st.sampled_from(["gold", "silver"]))),
            preferred_channels=draw(st.lists(st.sampled_from(CHANNELS), max_size=2)),
            consents=draw(st.lists(consent, max_size=3)),
            dates={
                name: d
                for name in ("birthday", "move_in", "purchase")
                if (d := draw(day)) is not None
            },
            do_not_contact=draw(st.booleans()),
        )
        for who in ids
    ]


ANCHORS = {"birthday", "move_in", "purchase", "never_set"}


def _assert_same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].tolist() == b[name].tolist(), name


@pytest.mark.parametrize("page", [1, 2, 20_000])
@pytest.mark.parametrize("kind", ["sqlite", "memory", "postgres"])
def test_columns_of_stored_documents_equal_those_of_the_records(kind, page, tmp_path, request):
    from touchpoint.storage import _postgres_records, _sqlite_records

    request.getfixturevalue("monkeypatch").setattr(_sqlite_records, "_PAGE", page)
    request.getfixturevalue("monkeypatch").setattr(_postgres_records, "_PAGE", page)
    if kind == "postgres":
        from touchpoint.storage import open_storage

        store = open_storage(request.getfixturevalue("postgres_url"))
    else:
        store = SqliteStorage(tmp_path / "c.db") if kind == "sqlite" else MemoryStorage()
    store.upsert_customers(care_customers())
    fast = stored_customer_columns(store, ANCHORS)
    slow = customer_columns(store.customers(), ANCHORS)
    for a, b in zip(fast, slow, strict=True):
        _assert_same(a, b)
    customers, consents = fast
    assert customers["customer"].tolist() == ["C0", "C1", "C2", "C3"]  # the storage's order
    assert np.isnat(customers["never_set"]).all()
    # 08:30 in UTC+8 is 00:30 UTC, naive; a consent without a time is NaT
    assert consents["time"].tolist()[0] == dt.datetime(2026, 1, 2, 0, 30)
    assert np.isnat(consents["time"][2])


def test_an_empty_storage_gives_empty_columns(tmp_path):
    customers, consents = stored_customer_columns(SqliteStorage(tmp_path / "e.db"), ANCHORS)
    assert len(customers["customer"]) == 0 and len(consents["customer"]) == 0
    assert customers["birthday"].dtype == np.dtype("datetime64[D]")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=customer_sets(), page=st.integers(1, 4))
def test_any_stored_customers_give_the_columns_of_the_base_class(people, page) -> None:
    """Columns read from the documents (a page at a time) equal the base class's default
    over `customers`, and their count is `count_customers`."""
    from touchpoint.storage import _sqlite_records

    store = MemoryStorage()
    store.upsert_customers(people)
    anchors = {"birthday", "purchase", "never_set"}
    before, _sqlite_records._PAGE = _sqlite_records._PAGE, page
    try:
        fast = store.care_columns(anchors)
    finally:
        _sqlite_records._PAGE = before
    for a, b in zip(fast, Storage.care_columns(store, anchors), strict=True):
        _assert_same(a, b)
    assert store.count_customers() == len(fast[0]["customer"]) == len(people)
    assert len(fast[1]["customer"]) == sum(len(p.consents) for p in people)
    assert sorted(fast[0]["customer"].tolist()) == sorted(p.id for p in people)
