"""`StorageContract`: the pytest suite every storage backend must pass.

Subclass it in your plugin's tests and provide a ``storage`` fixture that yields a fresh,
empty backend; pytest then runs every ``test_*`` method against it::

    import pytest
    from touchpoint.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = MyStorage(tmp_path / "db")
            yield store
            store.close()

Expected values are computed independently in the tests (plain Python over the input
rows), never read back from the backend under test.

Some parts of the contract are optional (`OPTIONAL_PARTS`): a backend without the
dispatch outbox says so in its test class, and the outbox tests are then skipped with the
reason instead of failing::

    class TestMyStorage(StorageContract):
        unsupported = {"outbox"}

Every other test is required. A name not in `OPTIONAL_PARTS` is an error, so a typo
cannot switch tests off.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterator
from typing import Any, ClassVar, TypeVar

import numpy as np
import pytest

from touchpoint.channels.base import Delivery, DeliveryStatus, Message
from touchpoint.errors import StorageError
from touchpoint.frame import EventFrame
from touchpoint.model import Complaint, Consent, Customer, Promise
from touchpoint.storage.base import AppendStatus, Batch, Storage

__all__ = ["OPTIONAL_PARTS", "StorageContract", "care_customers", "make_columns"]

#: The optional parts of the storage contract, and what a backend without each cannot do.
#: List the ones your backend lacks in ``unsupported`` on your `StorageContract` subclass.
OPTIONAL_PARTS: dict[str, str] = {
    "outbox": (
        "the dispatch outbox (enqueue, due_outbox, claim_outbox, renew_outbox, outbox_sent, "
        "outbox_failed, outbox_held, outbox); without it touchpoint.care.dispatch cannot run "
        "on this storage"
    ),
}

_Test = TypeVar("_Test", bound=Callable[..., Any])


def _part(name: str) -> Callable[[_Test], _Test]:
    """Mark a contract test as belonging to the optional part ``name``."""

    def mark(test: _Test) -> _Test:
        test.contract_part = name  # type: ignore[attr-defined]
        return test

    return mark


T0 = np.datetime64("2026-03-01T00:00:00", "us")


def care_customers() -> list[Customer]:
    """Customers with every shape the care columns meet: dates, an aware and a naive
    consent time and none, a customer with nothing but an id, one without consents."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    return [
        Customer(
            "C1",
            timezone="Asia/Shanghai",
            segment="retail",
            tier="gold",
            preferred_channels=("sms", "email"),
            dates={"birthday": dt.date(1980, 2, 29), "move_in": dt.date(2026, 5, 1)},
            consents=(
                Consent(
                    "sms", "marketing", True, at=dt.datetime(2026, 1, 2, 8, 30, tzinfo=shanghai)
                ),
                Consent("email", "service", False, at=dt.datetime(2025, 12, 31, 23, 59, 59, 999)),
                Consent("phone", "service", True),  # no time
            ),
        ),
        Customer("C0"),  # nothing but an id: None, NaT, no consents
        Customer("C2", do_not_contact=True, dates={"purchase": dt.date(2026, 11, 30)}),
        Customer("C3", preferred_channels=("email",), consents=[Consent("email", "service")]),
    ]


def make_columns(
    n: int, *, seed: int = 0, prefix: str = "e", customers: int = 7
) -> dict[str, np.ndarray]:
    """``n`` plausible interactions as a dict of columns (some values missing)."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.gamma(2.0, 150.0, n), 2)
    amount[rng.random(n) < 0.3] = np.nan
    rating = rng.integers(1, 6, n).astype(float)
    rating[rng.random(n) < 0.5] = np.nan
    channel = rng.choice(np.array(["store", "phone", "email", None], dtype=object), n)
    referrer = rng.choice(np.array([None, None, None, "C0"], dtype=object), n)
    return {
        "event_id": np.array([f"{prefix}{i}" for i in range(n)], dtype=object),
        "customer": np.array([f"C{i}" for i in rng.integers(0, customers, n)], dtype=object),
        "touchpoint": np.array([f"T{i}" for i in rng.integers(0, 5, n)], dtype=object),
        "channel": channel,
        "time": T0 + rng.integers(0, 30 * 86_400_000_000, n).astype("timedelta64[us]"),
        "direction": rng.choice(np.array(["inbound", "outbound"], dtype=object), n),
        "amount": amount,
        "rating": rating,
        "response_time": np.full(n, np.nan),
        "outcome": rng.choice(np.array(["purchase", None], dtype=object), n),
        "referrer": referrer,
    }


def _rows(columns: dict[str, np.ndarray]) -> dict[str, tuple[Any, ...]]:
    """Reference: event id -> tuple of comparable values, in plain Python."""
    names = [k for k in columns if k != "event_id"]
    out = {}
    for i, eid in enumerate(columns["event_id"]):
        values = []
        for k in names:
            v = columns[k][i]
            if isinstance(v, float) and v != v:
                v = None
            if isinstance(v, np.datetime64):
                v = int(v.astype("datetime64[us]").astype(np.int64))
            values.append(v.item() if isinstance(v, np.generic) else v)
        out[str(eid)] = tuple(values)
    return out


def _frame_rows(frame: EventFrame, names: list[str]) -> dict[str, tuple[Any, ...]]:
    return _rows({"event_id": frame["event_id"], **{k: frame[k] for k in names}})


class StorageContract:
    """The storage contract as pytest tests; provide a ``storage`` fixture.

    Attributes
    ----------
    unsupported:
        Names of `OPTIONAL_PARTS` the backend does not implement (default: none). Their
        tests are skipped, each with the reason from `OPTIONAL_PARTS`; the required tests
        always run.
    """

    unsupported: ClassVar[Collection[str]] = frozenset()

    @pytest.fixture(autouse=True)
    def _optional_parts(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Skip the tests of a part the backend declares it lacks (before ``storage`` is made)."""
        declared = (
            {self.unsupported} if isinstance(self.unsupported, str) else set(self.unsupported)
        )
        unknown = sorted(set(declared) - set(OPTIONAL_PARTS))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.unsupported names {unknown}, not optional parts of the "
                f"storage contract (optional: {sorted(OPTIONAL_PARTS)}); every other test is required"
            )
        part = getattr(request.function, "contract_part", None)
        if part is not None and part in declared:
            pytest.skip(f"{type(self).__name__} declares no {part}: {OPTIONAL_PARTS[part]}")
        yield

    @pytest.fixture
    def storage(self) -> Storage:  # pragma: no cover - replaced by the subclass
        """Override: an empty backend of your storage, closed after the test."""
        raise NotImplementedError("define a `storage` fixture yielding an empty backend")

    # ------------------------------------------------------------------ interactions

    def test_is_a_storage(self, storage: Storage) -> None:
        assert isinstance(storage, Storage)
        assert storage.count() == 0 and len(storage.scan()) == 0

    def test_schema_version_is_a_read_only_integer(self, storage: Storage) -> None:
        version = storage.schema_version
        assert type(version) is int and version >= 0  # 0: a storage without a schema
        storage.append(Batch.from_columns(make_columns(20)))
        assert storage.schema_version == version  # data does not change it
        with pytest.raises(AttributeError):
            storage.schema_version = version + 1  # type: ignore[misc]
        assert storage.schema_version == version

    def test_append_then_scan_returns_the_same_values(self, storage: Storage) -> None:
        cols = make_columns(300)
        result = storage.append(Batch.from_columns(cols))
        assert result.committed and (result.status == AppendStatus.ACCEPTED).all()
        frame = storage.scan()
        names = [k for k in cols if k != "event_id"]
        assert _frame_rows(frame, names) == _rows(cols)
        assert frame["time"].dtype == np.dtype("datetime64[us]")
        assert frame.codes("customer").dtype.kind == "i"  # coded, not strings

    def test_append_is_idempotent_on_the_event_id(self, storage: Storage) -> None:
        batch = Batch.from_columns(make_columns(200))
        storage.append(batch)
        again = storage.append(batch)
        assert again.committed and (again.status == AppendStatus.DUPLICATE).all()
        assert storage.count() == 200

    def test_overlapping_batches_store_each_event_once(self, storage: Storage) -> None:
        cols = make_columns(100)
        first = {k: v[:60] for k, v in cols.items()}
        second = {k: v[40:] for k, v in cols.items()}
        storage.append(Batch.from_columns(first))
        status = storage.append(Batch.from_columns(second)).status
        assert (status[:20] == AppendStatus.DUPLICATE).all() and (
            status[20:] == AppendStatus.ACCEPTED
        ).all()
        names = [k for k in cols if k != "event_id"]
        assert _frame_rows(storage.scan(), names) == _rows(cols)

    def test_repeats_within_a_batch(self, storage: Storage) -> None:
        cols = make_columns(3)
        cols = {k: np.concatenate([v, v[:1], v[1:2]]) for k, v in cols.items()}
        cols["amount"][4] = 999.0 if cols["amount"][1] != 999.0 else 1.0  # row 4 differs from row 1
        result = storage.append(Batch.from_columns(cols), refuse=False)
        assert result.status.tolist() == [0, 0, 0, AppendStatus.DUPLICATE, AppendStatus.CONFLICT]
        assert storage.count() == 3

    def test_a_conflict_is_reported_never_overwritten(self, storage: Storage) -> None:
        cols = make_columns(10)
        storage.append(Batch.from_columns(cols))
        extra = make_columns(2, prefix="new")
        changed = {k: np.concatenate([cols[k], extra[k]]) for k in cols}
        changed["amount"][3] = 12345.0
        # refused whole: nothing of the batch lands
        refused = storage.append(Batch.from_columns(changed))
        assert not refused.committed and refused.status[3] == AppendStatus.CONFLICT
        [rejection] = refused.rejections
        assert rejection.row == 3 and "amount" in rejection.reason
        assert storage.count() == 10
        # quarantine mode: the others land, the conflict is kept with its reason
        landed = storage.append(Batch.from_columns(changed), refuse=False)
        assert landed.committed and storage.count() == 12
        stored = storage.scan(customers=None)
        i = list(stored["event_id"]).index("e3")
        assert stored["amount"][i] == cols["amount"][3] or (
            np.isnan(cols["amount"][3]) and np.isnan(stored["amount"][i])
        )
        [q] = storage.quarantined()
        assert q["row"] == 3 and q["record"]["amount"] == 12345.0
        assert "conflicts" in q["reasons"][0]["message"]

    def test_scan_filters(self, storage: Storage) -> None:
        cols = make_columns(400, seed=3)
        storage.append(Batch.from_columns(cols))
        start, end = T0 + np.timedelta64(5, "D"), T0 + np.timedelta64(12, "D")
        want = {
            str(e)
            for e, t, c, tp in zip(
                cols["event_id"], cols["time"], cols["customer"], cols["touchpoint"], strict=True
            )
            if start <= t < end and c in ("C1", "C2") and tp != "T4"
        }
        frame = storage.scan(
            start=start.astype(dt.datetime).replace(tzinfo=dt.UTC),
            end=str(end),
            customers=["C1", "C2", "nobody"],
            touchpoints=["T0", "T1", "T2", "T3"],
        )
        assert set(frame["event_id"].tolist()) == want and len(frame) == len(want)

    # ------------------------------------------------------------------ other records

    def test_customers_promises_complaints_round_trip(self, storage: Storage) -> None:
        c = Customer(
            "C1",
            name="Li Na",
            email="li.na@example.com",
            consents=[Consent("email", "marketing", granted=False), Consent("sms", "service")],
            dates={"birthday": dt.date(1990, 5, 1)},
            tier="gold",
        )
        storage.upsert_customers([c, Customer("C2")])
        assert storage.customer("C1") == c and storage.customer("nobody") is None
        storage.upsert_customers([Customer("C1", tier="silver")])
        assert storage.customer("C1").tier == "silver" and len(storage.customers()) == 2
        p = Promise(
            "P1",
            "C1",
            "free service",
            made_at=dt.datetime(2026, 3, 1),
            due=dt.datetime(2026, 3, 20),
            value=300,
        )
        k = Complaint("K1", "C1", opened_at=dt.datetime(2026, 3, 2), type="service")
        storage.add_promises([p])
        storage.add_complaints([k])
        assert storage.promises("C1") == [p] and storage.promises("C2") == []
        assert storage.complaints() == [k]

    def test_count_customers_is_the_number_of_stored_customers(self, storage: Storage) -> None:
        assert storage.count_customers() == 0
        storage.upsert_customers([Customer("C1"), Customer("C2")])
        assert storage.count_customers() == 2
        storage.upsert_customers([Customer("C1", tier="gold"), Customer("C3")])  # C1 replaced
        assert storage.count_customers() == 3 == len(storage.customers())
        storage.forget("C2")
        assert storage.count_customers() == 2

    def test_care_columns_are_those_of_the_stored_records(self, storage: Storage) -> None:
        """`care_columns` equals the base class's default over `customers` (a `Customer`
        each), column for column and in the same order, and the values stored."""
        people = care_customers()
        anchors = {"birthday", "move_in", "purchase", "never_set"}
        empty = storage.care_columns(anchors)
        assert [len(c["customer"]) for c in empty] == [0, 0]
        assert empty[0]["birthday"].dtype == np.dtype("datetime64[D]")
        storage.upsert_customers(people)
        got = storage.care_columns(anchors)
        default = Storage.care_columns(storage, anchors)
        for mine, theirs in zip(got, default, strict=True):
            assert list(mine) == list(theirs)
            for name in mine:
                assert mine[name].dtype == theirs[name].dtype, name
                assert mine[name].tolist() == theirs[name].tolist(), name
        customers, consents = got
        # the values, from the records given above (independent of both readers)
        assert customers["customer"].tolist() == [c.id for c in storage.customers()]
        row = {who: i for i, who in enumerate(customers["customer"].tolist())}
        assert sorted(row) == ["C0", "C1", "C2", "C3"]
        for p in people:
            i = row[p.id]
            assert customers["timezone"][i] == p.timezone and customers["tier"][i] == p.tier
            assert customers["segment"][i] == p.segment
            assert bool(customers["do_not_contact"][i]) is p.do_not_contact
            first = p.preferred_channels[0] if p.preferred_channels else None
            assert customers["preferred_channel"][i] == first
            for name in anchors:
                day = dict(p.dates).get(name)
                cell = customers[name][i]
                assert np.isnat(cell) if day is None else cell == np.datetime64(day, "D"), name
        nat = np.datetime64("NaT", "us")
        assert sorted(
            zip(
                consents["customer"].tolist(),
                consents["channel"].tolist(),
                consents["purpose"].tolist(),
                consents["granted"].tolist(),
                [None if np.isnat(t) else t.item() for t in consents["time"]],
                strict=True,
            ),
            key=repr,
        ) == sorted(
            [
                ("C1", "sms", "marketing", True, dt.datetime(2026, 1, 2, 0, 30)),  # 08:30 +8
                ("C1", "email", "service", False, dt.datetime(2025, 12, 31, 23, 59, 59, 999)),
                ("C1", "phone", "service", True, None),
                ("C3", "email", "service", True, None),
            ],
            key=repr,
        )
        assert consents["time"].dtype == nat.dtype

    def test_a_complaint_stored_again_under_its_id_replaces_it(self, storage: Storage) -> None:
        """`add_complaints` upserts by id: `Workspace` records responses and resolutions so."""
        opened = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
        k = Complaint("K1", "C1", opened_at=opened, type="service")
        storage.add_complaints([k, Complaint("K2", "C2", opened_at=opened)])
        later = dt.timedelta(hours=5)
        done = Complaint(
            "K1",
            "C1",
            opened_at=opened,
            type="service",
            first_response_at=opened + later,
            resolved_at=opened + 2 * later,
            resolution="replaced the part",
        )
        storage.add_complaints([done])
        assert [c.id for c in storage.complaints()] == ["K1", "K2"]
        assert storage.complaints("C1") == [done]
        storage.add_complaints([done])  # the same again: still one
        assert len(storage.complaints()) == 2
        # one complaint by its id (what the workspace reads before a response)
        assert storage.complaint("K1") == done
        assert storage.complaint("K2") == Complaint("K2", "C2", opened_at=opened)
        assert storage.complaint("nobody") is None

    def test_contact_log_keeps_the_latest_attempt(self, storage: Storage) -> None:
        msg = Message("k1", "C1", "li.na@example.com", "Your car is ready", subject="Service")
        storage.log_contact(
            msg, Delivery("k1", "smtp", DeliveryStatus.FAILED, "timeout", retryable=True)
        )
        storage.log_contact(msg, Delivery("k1", "smtp", DeliveryStatus.SENT))
        [row] = storage.contacts(customer="C1")
        assert (
            row["status"] == "sent" and row["attempts"] == 2 and row["body"] == "Your car is ready"
        )
        assert storage.contacts(status="failed") == []

    def test_scores_round_trip(self, storage: Storage) -> None:
        storage.save_scores(
            "rfm",
            ["C1", "C2"],
            {"r": np.array([3, 5]), "tier": np.array(["gold", None], dtype=object)},
        )
        got = storage.load_scores("rfm")
        assert got["customer"].tolist() == ["C1", "C2"] and got["r"].tolist() == [3, 5]
        assert got["tier"].tolist() == ["gold", None]
        with pytest.raises(StorageError, match="no saved score set"):
            storage.load_scores("clv")

    # ------------------------------------------------------------------ privacy

    def _fill(self, storage: Storage) -> dict[str, np.ndarray]:
        cols = make_columns(200, seed=5)
        storage.append(Batch.from_columns(cols))
        storage.upsert_customers(
            [Customer("C0", email="zero@example.com"), Customer("C1", email="one@example.com")]
        )
        storage.add_promises(
            [Promise("P0", "C0", "x", made_at=dt.datetime(2026, 3, 1), due=dt.datetime(2026, 3, 2))]
        )
        storage.log_contact(
            Message("k0", "C0", "zero@example.com", "hi"), Delivery("k0", "smtp", "sent")
        )
        storage.save_scores("value", ["C0", "C1"], {"v": np.array([1.0, 2.0])})
        return cols

    def test_forget_removes_everything_and_suppresses(self, storage: Storage) -> None:
        cols = self._fill(storage)
        keep = cols["customer"] != "C0"
        removed = storage.forget("C0")
        assert removed["interactions"] == int((~keep).sum())
        frame = storage.scan()
        assert len(frame) == int(keep.sum()) and "C0" not in set(frame["customer"].tolist())
        assert "C0" not in set(frame["referrer"].tolist())  # not even as a referrer
        assert storage.customer("C0") is None and storage.customer("C1") is not None
        assert storage.promises("C0") == [] and storage.contacts(customer="C0") == []
        assert storage.load_scores("value")["customer"].tolist() == ["C1"]
        assert storage.is_suppressed("C0") and not storage.is_suppressed("C1")
        # a later batch with the forgotten customer: that row is rejected with the reason
        later = make_columns(2, prefix="late")
        later["customer"][:] = ["C0", "C1"]
        later["referrer"][:] = [None, None]
        result = storage.append(Batch.from_columns(later), refuse=False)
        assert result.status.tolist() == [AppendStatus.SUPPRESSED, AppendStatus.ACCEPTED]
        assert "forgotten" in result.rejections[0].reason
        assert all(q["record"] is None for q in storage.quarantined())  # values not kept
        with pytest.raises(StorageError, match="forgotten"):
            storage.upsert_customers([Customer("C0")])

    def test_forget_blanks_the_id_in_other_customers_data(self, storage: Storage) -> None:
        cols = make_columns(50, seed=9)
        cols["customer"][:3] = "C0"
        cols["customer"][3:] = np.where(cols["customer"][3:] == "C0", "C1", cols["customer"][3:])
        cols["referrer"][:] = None
        storage.append(Batch.from_columns(cols))
        storage.upsert_customers(
            [Customer("C0", email="zero@example.com"), Customer("C2", referrer="C0", tier="gold")]
        )
        # quarantined: a conflicting copy of C0's event, and of another customer's event
        # naming C0 as referrer
        bad = {k: v[[0, 10]].copy() for k, v in cols.items()}
        bad["amount"][:] = [1e6, 2e6]
        bad["referrer"][:] = [None, "C0"]
        storage.append(Batch.from_columns(bad), refuse=False)
        other = str(cols["customer"][10])
        assert [q["record"]["customer"] for q in storage.quarantined()] == ["C0", other]

        storage.forget("C0")
        referred = storage.customer("C2")
        assert referred.referrer is None and referred.tier == "gold"  # the rest kept
        [q] = storage.quarantined()  # theirs is gone, the other's kept without the id
        assert q["record"]["customer"] == other and q["record"]["amount"] == 2e6
        assert q["record"]["referrer"] is None
        assert "C0" not in json.dumps(q)

    def test_export_returns_everything_as_json(self, storage: Storage) -> None:
        cols = self._fill(storage)
        doc = json.loads(storage.export("C0"))
        assert doc["customer"]["email"] == "zero@example.com"
        assert len(doc["interactions"]) == int((cols["customer"] == "C0").sum())
        assert {i["event_id"] for i in doc["interactions"]} == {
            str(e) for e, c in zip(cols["event_id"], cols["customer"], strict=True) if c == "C0"
        }
        assert [p["id"] for p in doc["promises"]] == ["P0"]
        assert [c["contact_id"] for c in doc["contacts"]] == ["k0"]
        assert doc["scores"] == {"value": {"v": 1.0}}

    # ------------------------------------------------------------------ outbox

    @staticmethod
    def _outbox_row(key: str, send_at: int = 100) -> dict[str, Any]:
        return {
            "key": key,
            "customer": key.split("/")[1],
            "channel": "hook",
            "touchpoint": "RE-BDAY",
            "purpose": "service",
            "address": "c@example.com",
            "subject": "",
            "body": "Hello",
            "send_at": send_at,
        }

    @_part("outbox")
    def test_outbox_enqueue_is_idempotent_on_the_key(self, storage: Storage) -> None:
        rows = [self._outbox_row("b/C1/2026"), self._outbox_row("b/C2/2026")]
        assert storage.enqueue(rows, now=50) == []
        again = [self._outbox_row("b/C2/2026", send_at=999), self._outbox_row("b/C3/2026")]
        assert storage.enqueue(again, now=60) == ["b/C2/2026"]
        got = {r["key"]: r for r in storage.outbox()}
        assert sorted(got) == ["b/C1/2026", "b/C2/2026", "b/C3/2026"]
        assert got["b/C2/2026"]["next_attempt_at"] == 100  # the first one is left alone
        assert {r["state"] for r in got.values()} == {"pending"}
        assert {r["attempts"] for r in got.values()} == {0}

    @_part("outbox")
    def test_outbox_due_rows_and_state_transitions(self, storage: Storage) -> None:
        storage.enqueue(
            [self._outbox_row("b/C1/2026", 100), self._outbox_row("b/C2/2026", 200)], now=0
        )
        assert [r["key"] for r in storage.due_outbox(150)] == ["b/C1/2026"]
        assert len(storage.due_outbox(250, limit=1)) == 1
        storage.outbox_failed("b/C1/2026", error="HTTP 500", next_attempt_at=300)
        assert [r["key"] for r in storage.due_outbox(250)] == ["b/C2/2026"]
        due = storage.due_outbox(300)
        assert [r["key"] for r in due] == ["b/C2/2026", "b/C1/2026"]  # earliest first
        row = due[1]
        assert (row["key"], row["state"], row["attempts"], row["last_error"]) == (
            "b/C1/2026",
            "retry",
            1,
            "HTTP 500",
        )
        storage.outbox_sent("b/C1/2026", at=310)
        storage.outbox_failed("b/C2/2026", error="HTTP 400", next_attempt_at=None)
        states = {r["key"]: (r["state"], r["attempts"]) for r in storage.outbox()}
        assert states == {"b/C1/2026": ("sent", 2), "b/C2/2026": ("dead", 1)}
        assert storage.due_outbox(10**15) == []
        # a finished row does not move again (a late duplicate outcome is ignored)
        storage.outbox_failed("b/C1/2026", error="late", next_attempt_at=None)
        assert storage.outbox("sent")[0]["key"] == "b/C1/2026"
        assert [r["key"] for r in storage.outbox("dead")] == ["b/C2/2026"]

    # ------------------------------------------------------------------ outbox leases

    @_part("outbox")
    def test_outbox_claims_lease_each_row_to_one_owner(self, storage: Storage) -> None:
        keys = [f"b/C{i}/2026" for i in range(6)]
        storage.enqueue([self._outbox_row(k, 100) for k in keys], now=0)
        first = storage.claim_outbox("A", now=150, lease_until=1150, limit=4)
        second = storage.claim_outbox("B", now=150, lease_until=1150)
        assert [r["key"] for r in first] == keys[:4]  # earliest first, then by key
        assert [r["key"] for r in second] == keys[4:]
        assert {(r["lease_owner"], r["lease_until"]) for r in first} == {("A", 1150)}
        assert storage.claim_outbox("C", now=150, lease_until=1150) == []
        assert storage.claim_outbox("A", now=150, lease_until=1150) == []  # its own, too
        assert storage.due_outbox(150) == []  # leased rows are not due to anyone else
        stored = {r["key"]: r["lease_owner"] for r in storage.outbox()}
        assert stored == {k: "A" if k in keys[:4] else "B" for k in keys}

    @_part("outbox")
    def test_outbox_an_expired_lease_is_reclaimed_and_the_late_owner_changes_nothing(
        self, storage: Storage
    ) -> None:
        storage.enqueue([self._outbox_row("b/C1/2026", 100)], now=0)
        [row] = storage.claim_outbox("A", now=100, lease_until=200)
        assert storage.claim_outbox("B", now=199, lease_until=500) == []  # A's lease runs
        assert storage.renew_outbox("b/C1/2026", owner="A", lease_until=300)
        assert storage.claim_outbox("B", now=299, lease_until=500) == []
        [again] = storage.claim_outbox("B", now=300, lease_until=500)  # expired: B takes it
        assert again["key"] == row["key"] and again["lease_owner"] == "B"
        # A comes back late: every outcome it tries is refused, the row stays B's
        assert not storage.renew_outbox("b/C1/2026", owner="A", lease_until=900)
        assert not storage.outbox_sent("b/C1/2026", at=310, owner="A")
        assert not storage.outbox_failed("b/C1/2026", error="late", next_attempt_at=400, owner="A")
        assert not storage.outbox_held("b/C1/2026", reason="late", next_attempt_at=None, owner="A")
        [stored] = storage.outbox()
        assert (stored["state"], stored["attempts"], stored["lease_owner"]) == ("pending", 0, "B")
        assert storage.outbox_sent("b/C1/2026", at=320, owner="B")
        [stored] = storage.outbox()
        assert (stored["state"], stored["attempts"], stored["sent_at"]) == ("sent", 1, 320)
        assert (stored["lease_owner"], stored["lease_until"]) == (None, None)
        assert not storage.outbox_failed("b/C1/2026", error="late", next_attempt_at=None, owner="B")
        assert storage.outbox("sent")[0]["key"] == "b/C1/2026"

    @_part("outbox")
    def test_outbox_a_customer_is_handled_by_one_owner_at_a_time(self, storage: Storage) -> None:
        rows = [
            self._outbox_row("a/C1/2026", 100),
            self._outbox_row("b/C1/2026", 110),
            self._outbox_row("a/C2/2026", 120),
        ]
        storage.enqueue(rows, now=0)
        [mine] = storage.claim_outbox("A", now=200, lease_until=900, limit=1)
        assert mine["key"] == "a/C1/2026"
        # B may not take C1's other row while A works on C1; C2 is free
        assert [r["key"] for r in storage.claim_outbox("B", now=200, lease_until=900)] == [
            "a/C2/2026"
        ]
        assert storage.outbox_failed("a/C1/2026", error="HTTP 500", next_attempt_at=5000, owner="A")
        [row] = storage.claim_outbox("B", now=210, lease_until=900)
        assert row["key"] == "b/C1/2026"

    @_part("outbox")
    def test_outbox_policy_holds_close_or_move_a_row(self, storage: Storage) -> None:
        storage.enqueue(
            [self._outbox_row("b/C1/2026", 100), self._outbox_row("b/C2/2026", 100)], now=0
        )
        storage.claim_outbox("A", now=100, lease_until=200)
        assert storage.outbox_held(
            "b/C1/2026", reason="no marketing consent", next_attempt_at=None, owner="A"
        )
        assert storage.outbox_held(
            "b/C2/2026", reason="quiet hours", next_attempt_at=700, owner="A"
        )
        got = {r["key"]: r for r in storage.outbox()}
        closed, moved = got["b/C1/2026"], got["b/C2/2026"]
        assert (closed["state"], closed["reason"], closed["attempts"]) == (
            "held",
            "no marketing consent",
            0,
        )
        assert (moved["state"], moved["reason"], moved["next_attempt_at"]) == (
            "pending",
            "quiet hours",
            700,
        )
        assert moved["lease_owner"] is None and closed["lease_owner"] is None
        assert storage.claim_outbox("B", now=699, lease_until=900) == []
        assert [r["key"] for r in storage.claim_outbox("B", now=10**15, lease_until=10**16)] == [
            "b/C2/2026"
        ]  # a held row is never due again
        assert [r["key"] for r in storage.outbox("held")] == ["b/C1/2026"]
        assert [r["key"] for r in storage.outbox(customer="C2")] == ["b/C2/2026"]

    @_part("outbox")
    def test_outbox_rows_of_a_forgotten_customer_are_refused(self, storage: Storage) -> None:
        storage.forget("C1")
        with pytest.raises(StorageError, match="forgotten"):
            storage.enqueue([self._outbox_row("b/C2/2026"), self._outbox_row("b/C1/2026")], now=0)
        assert storage.outbox() == []  # nothing of the batch

    @_part("outbox")
    def test_outbox_concurrent_claims_never_share_a_row(self, storage: Storage) -> None:
        import threading

        keys = [f"k{i:03d}/C{i}/2026" for i in range(120)]
        storage.enqueue([self._outbox_row(k, 100) for k in keys], now=0)
        claimed: dict[str, list[str]] = {}
        barrier = threading.Barrier(6)

        def claimer(owner: str) -> None:
            got = claimed.setdefault(owner, [])
            barrier.wait()
            while rows := storage.claim_outbox(owner, now=150, lease_until=10**9, limit=3):
                got += [r["key"] for r in rows]

        threads = [threading.Thread(target=claimer, args=(f"T{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        every = [k for got in claimed.values() for k in got]
        assert sorted(every) == keys  # each row claimed, and by one owner only
        owners = {r["key"]: r["lease_owner"] for r in storage.outbox()}
        assert all(owners[k] == owner for owner, got in claimed.items() for k in got)
