"""``touchpoint customers URL FILE``: customers of a CRM export into a workspace.

The reference is the public Python API: the customers a file describes are also built by
hand as `touchpoint.Customer` objects, and what the command stores must equal them (and
give the same care agenda as `tests/cli/test_care.py`'s hand-stored set).
"""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import touchpoint
from touchpoint import Consent, Customer

from .test_import import run

DAY = "2026-06-15"

ESTATE_CSV = (
    "customer,name,phone,move_in,birthday,do_not_contact,consent:phone:service,notes\n"
    "A,Ann,+8613800000001,2026-03-15,,false,true,VIP\n"
    "B,Bo,+8613800000002,,1990-06-15,,,\n"
    "D,Di,+8613800000004,2026-03-15,,yes,true,\n"
    "E,Ed,+8613800000005,2026-03-16,,no,true,\n"
)


def _write(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def estate(capsys, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    assert run(capsys, "init", url, "--template", "real-estate")[0] == 0
    return url


def _without_times(customer: Customer) -> Customer:
    """The customer with consent times dropped (the command stamps them with the import time)."""
    consents = [Consent(c.channel, c.purpose, c.granted) for c in customer.consents]
    return Customer(
        customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        address=customer.address,
        timezone=customer.timezone,
        consents=consents,
        preferred_channels=customer.preferred_channels,
        dates=dict(customer.dates),
        segment=customer.segment,
        tier=customer.tier,
        referrer=customer.referrer,
        do_not_contact=customer.do_not_contact,
    )


def test_a_crm_export_is_stored_as_the_customers_it_describes(capsys, tmp_path, estate) -> None:
    code, out, err = run(capsys, "customers", estate, _write(tmp_path, ESTATE_CSV))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[1] == "ignored columns: notes"  # listed, never silently dropped
    assert lines[-1] == "stored 4, unchanged 0, rejected 0"
    phone = [Consent("phone", "service", True)]
    expected = {
        "A": Customer("A", name="Ann", phone="+8613800000001", consents=phone,
                      dates={"move_in": dt.date(2026, 3, 15)}),
        "B": Customer("B", name="Bo", phone="+8613800000002",
                      dates={"birthday": dt.date(1990, 6, 15)}),
        "D": Customer("D", name="Di", phone="+8613800000004", consents=phone,
                      dates={"move_in": dt.date(2026, 3, 15)}, do_not_contact=True),
        "E": Customer("E", name="Ed", phone="+8613800000005", consents=phone,
                      dates={"move_in": dt.date(2026, 3, 16)}),
    }  # fmt: skip
    with touchpoint.open(estate) as ws:
        stored = {c.id: c for c in ws.storage.customers()}
        assert all(c.at is not None for s in stored.values() for c in s.consents)
        assert {k: _without_times(v) for k, v in stored.items()} == expected


def test_the_agenda_of_imported_customers_is_that_of_hand_stored_ones(
    capsys, tmp_path, estate
) -> None:
    """The same four customers as tests/cli/test_care.py stores through the API."""
    assert run(capsys, "customers", estate, _write(tmp_path, ESTATE_CSV))[0] == 0
    code, out, err = run(capsys, "agenda", estate, "--asof", DAY, "--json")
    assert code == 0, err
    result = json.loads(out)
    got = {(r["rule"], r["customer"]): r["status"] for r in result["rows"]}
    assert got == {
        ("visit-3m", "A"): "send",
        ("community-events", "A"): "blocked",
        ("birthday", "B"): "blocked",
        ("visit-3m", "D"): "blocked",
        ("community-events", "D"): "blocked",
    }


def test_importing_again_changes_nothing_and_empty_cells_keep_what_is_stored(
    capsys, tmp_path, estate
) -> None:
    path = _write(tmp_path, ESTATE_CSV)
    run(capsys, "customers", estate, path)
    with touchpoint.open(estate) as ws:
        before = ws.storage.customers()
    code, out, _ = run(capsys, "customers", estate, path, "--json")
    summary = json.loads(out)
    assert code == 0
    assert (summary["stored"], summary["unchanged"], summary["rejected"]) == (0, 4, 0)
    # a later export with only some columns: the others keep their stored values, a consent
    # withdrawn adds a record (history kept), an unchanged consent adds none
    later = "customer,email,consent:phone:service\nA,ann@example.com,false\nE,,true\n"
    code, out, _ = run(capsys, "customers", estate, _write(tmp_path, later, "later.csv"))
    assert out.strip().splitlines()[-1] == "stored 1, unchanged 1, rejected 0"
    with touchpoint.open(estate) as ws:
        a, e = ws.storage.customer("A"), ws.storage.customer("E")
        old = {c.id: c for c in before}
    assert (a.name, a.phone, a.email, a.date("move_in")) == (
        "Ann",
        "+8613800000001",
        "ann@example.com",
        dt.date(2026, 3, 15),
    )
    assert [c.granted for c in a.consents] == [True, False]
    assert not a.allows("phone", "service")
    assert e == old["E"]


def test_a_bad_row_is_named_masked_and_refused_with_its_batch(capsys, tmp_path, estate) -> None:
    text = (
        "customer,email,timezone,birthday\n"
        "C1,wei@example.com,Asia/Shanghai,1990-01-02\n"
        "C2,zhang.wei-at-example.com,UTC,\n"
        "C3,li@example.com,Mars/Olympus,\n"
        "C4,,UTC,yesterday\n"
    )
    path = _write(tmp_path, text)
    code, out, err = run(
        capsys, "customers", estate, path, "--batch-size", "1", "--date", "birthday"
    )
    assert code == 1
    assert "zhang.wei" not in out + err  # the e-mail is masked
    assert "rows[2].email: is not an e-mail address (value: 'z***')" in out
    assert out.strip().splitlines()[-1] == "stored 1, unchanged 0, rejected 1"
    with touchpoint.open(estate) as ws:  # the batch before the bad one is kept
        assert [c.id for c in ws.storage.customers()] == ["C1"]
        assert ws.storage.customer("C1").timezone == "Asia/Shanghai"
    code, out, _ = run(
        capsys, "customers", estate, path, "--on-reject", "skip", "--date", "birthday", "--json"
    )
    summary = json.loads(out)
    assert code == 0 and (summary["stored"], summary["unchanged"], summary["rejected"]) == (0, 1, 3)
    assert any("rows[3].timezone: is not a known IANA time zone" in p for p in summary["problems"])
    assert any("rows[4].birthday: is not a date (YYYY-MM-DD) (value: 'yesterday')" in p
               for p in summary["problems"])  # fmt: skip


def test_duplicates_forgotten_customers_and_layout_errors(capsys, tmp_path, estate) -> None:
    text = "customer,name\nC1,Ann\nC2,Bo\nC1,Another Ann\n"
    code, out, _ = run(
        capsys, "customers", estate, _write(tmp_path, text), "--batch-size", "2",
        "--on-reject", "skip",
    )  # fmt: skip
    assert "rows[3].customer: appears twice in the file (value: 'C1')" in out
    with touchpoint.open(estate) as ws:
        assert ws.storage.customer("C1").name == "Ann"
        ws.forget("C2")
    code, out, _ = run(
        capsys, "customers", estate, _write(tmp_path, "customer,name\nC2,Bo\n", "b.csv")
    )
    assert code == 1 and "rows[1].customer: was forgotten" in out
    with touchpoint.open(estate) as ws:
        assert ws.storage.customer("C2") is None
    bad = _write(tmp_path, "customer,consent:email:spam\nC9,true\n", "c.csv")
    code, out, err = run(capsys, "customers", estate, bad)
    assert code == 1 and out == "" and "consent:email:spam" in err and "marketing" in err
    code, out, err = run(capsys, "customers", estate, bad, "--customer", "id")
    assert code == 1 and "--customer" in err and "no such column" in err


def test_a_parquet_export_with_another_id_column(capsys, tmp_path, estate) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "people.parquet"
    table = pa.table(
        {
            "client_no": [101, 102],
            "birthday": [dt.date(1990, 6, 15), None],
            "preferred_channels": ["sms;email", None],
            "consent:sms:marketing": [True, False],
        }
    )
    pq.write_table(table, path)
    code, _, err = run(capsys, "customers", estate, str(path), "--customer", "client_no")
    assert code == 0, err
    with touchpoint.open(estate) as ws:
        first, second = ws.storage.customer("101"), ws.storage.customer("102")
    assert first.preferred_channels == ("sms", "email") and first.date("birthday") == dt.date(
        1990, 6, 15
    )
    assert first.allows("sms", "marketing") and not second.allows("sms", "marketing")
    assert second.dates == () and second.preferred_channels == ()


_ids = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=8)
_names = st.none() | st.text(string.ascii_letters + " ", min_size=1, max_size=12).filter(str.strip)
_flags = st.none() | st.booleans()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(_ids, _names, _flags, _flags, st.none() | st.dates(dt.date(1950, 1, 1))),
        unique_by=lambda r: r[0],
        max_size=20,
    )
)
def test_what_is_stored_is_what_the_file_says(tmp_path_factory, capsys, rows) -> None:
    """Each stored field equals its cell (empty cells: the default), and a second import
    of the same file changes nothing."""
    tmp = tmp_path_factory.mktemp("h")
    url = f"sqlite:///{tmp / 'w.db'}"
    touchpoint.open(url).close()

    def cell(v: object) -> str:
        return "" if v is None else str(v)

    text = "customer,name,do_not_contact,consent:email:service,birthday\n" + "".join(
        f"{i},{cell(n)},{cell(d)},{cell(c)},{cell(b)}\n" for i, n, d, c, b in rows
    )
    path = _write(tmp, text)
    code, out, err = run(capsys, "customers", url, path, "--date", "birthday", "--json")
    assert code == 0, err
    assert json.loads(out)["stored"] == len(rows)
    with touchpoint.open(url) as ws:
        stored = {c.id: c for c in ws.storage.customers()}
    assert set(stored) == {r[0] for r in rows}
    for i, name, dnc, consent, birthday in rows:
        c = stored[i]
        assert c.name == (name.strip() if name else None)
        assert c.do_not_contact is bool(dnc)
        assert [x.granted for x in c.consents] == ([] if consent is None else [consent])
        assert c.date("birthday") == birthday
    out = run(capsys, "customers", url, path, "--date", "birthday", "--json")[1]
    again = json.loads(out)
    assert (again["stored"], again["unchanged"]) == (0, len(rows))
