"""The care agenda against a straightforward per-customer reference written with datetime."""

import calendar
import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import CareRule, ValidationError
from touchpoint.care import agenda

PERIOD = {"none": 0, "monthly": 1, "quarterly": 3, "yearly": 12}


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.year * 12 + day.month - 1 + months
    year, month = divmod(month0, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def reference(rules, customers, start, end):
    """One customer, one rule, one occurrence at a time: slow and obviously right."""
    rows = set()
    for rule in rules:
        period = PERIOD[rule.recurrence.value]
        for cid, anchor in zip(customers["customer"], customers[rule.anchor], strict=True):
            if anchor is None:
                continue
            n = 0
            while True:
                if rule.occurrences is not None and n >= rule.occurrences:
                    break
                occurrence = add_months(anchor, n * period)
                offset = rule.offset
                due = (
                    add_months(occurrence, offset.months)
                    if offset.months
                    else occurrence + dt.timedelta(days=offset.days)
                )
                if due > end or (period == 0 and n > 0):
                    break
                if due >= start:
                    label = {
                        "yearly": f"{occurrence.year}",
                        "monthly": f"{occurrence:%Y-%m}",
                        "quarterly": f"{occurrence:%Y-%m}",
                    }.get(rule.recurrence.value, occurrence.isoformat())
                    rows.add((cid, rule.code, n, due, f"{rule.code}/{cid}/{label}"))
                if period == 0:
                    break
                n += 1
    return rows


def rows(due):
    return {
        (c, r, int(n), d.astype(dt.date), k)
        for c, r, n, d, k in zip(
            due.customer, due.rule, due.occurrence, due.due, due.key, strict=True
        )
    }


def as_columns(customers, anchors):
    cols = {"customer": np.array(customers["customer"], dtype=object)}
    for a in anchors:
        cols[a] = np.array(
            [np.datetime64(d, "D") if d else np.datetime64("NaT") for d in customers[a]],
            dtype="datetime64[D]",
        )
    return cols


def test_birthdays_move_in_and_warranty_with_leap_days_and_month_ends():
    rules = [
        CareRule(
            "birthday",
            "Birthday",
            touchpoint="BDAY",
            anchor="birthday",
            recurrence="yearly",
            channels=["call-centre"],
        ),
        CareRule(
            "visit-3m",
            "Visit 3 months after moving in",
            touchpoint="VISIT",
            anchor="move_in",
            offset="3 months",
            channels=["phone"],
        ),
        CareRule(
            "warranty",
            "Before warranty ends",
            touchpoint="WARN",
            anchor="warranty_end",
            offset="-30 days",
            channels=["sms"],
        ),
    ]
    customers = {
        "customer": ["leap", "nov30", "plain", "none"],
        "birthday": [dt.date(2000, 2, 29), dt.date(1980, 2, 28), dt.date(1990, 3, 1), None],
        "move_in": [dt.date(2025, 11, 30), dt.date(2025, 11, 28), None, None],
        "warranty_end": [dt.date(2026, 3, 30), None, dt.date(2026, 4, 1), None],
    }
    cols = as_columns(customers, ["birthday", "move_in", "warranty_end"])
    due = agenda(rules, cols, asof=dt.date(2026, 2, 28))
    # 29 Feb birthdays fall on 28 Feb in 2026; 30 Nov + 3 months is clamped to 28 Feb;
    # 30 March - 30 days is 28 Feb.
    assert rows(due) == {
        ("leap", "birthday", 26, dt.date(2026, 2, 28), "birthday/leap/2026"),
        ("nov30", "birthday", 46, dt.date(2026, 2, 28), "birthday/nov30/2026"),
        ("leap", "visit-3m", 0, dt.date(2026, 2, 28), "visit-3m/leap/2025-11-30"),
        ("nov30", "visit-3m", 0, dt.date(2026, 2, 28), "visit-3m/nov30/2025-11-28"),
        ("leap", "warranty", 0, dt.date(2026, 2, 28), "warranty/leap/2026-03-30"),
    }
    assert rows(due) == reference(rules, customers, dt.date(2026, 2, 28), dt.date(2026, 2, 28))
    # the same contacts as a ScoreFrame keyed by their idempotency key
    frame = due.to_frame()
    assert frame.key == "key" and len(set(frame["key"].tolist())) == len(due)
    for name, values in due.columns().items():
        assert frame[name].tolist() == values.tolist(), name
    assert frame.row("visit-3m/leap/2025-11-30")["customer"] == "leap"
    # In a leap year the 29 February birthday is on its day.
    assert rows(agenda(rules[:1], cols, asof=dt.date(2028, 2, 29))) == {
        ("leap", "birthday", 28, dt.date(2028, 2, 29), "birthday/leap/2028")
    }


def test_computing_twice_gives_the_same_keys_and_days_add_up_to_the_range():
    rules = [
        CareRule(
            "m",
            "Monthly",
            touchpoint="T",
            anchor="signup",
            recurrence="monthly",
            occurrences=5,
            channels=["email"],
        )
    ]
    cols = as_columns(
        {"customer": ["a", "b"], "signup": [dt.date(2026, 1, 31), dt.date(2026, 2, 15)]}, ["signup"]
    )
    whole = agenda(rules, cols, since="2026-01-01", asof="2026-12-31")
    again = agenda(rules, cols, since="2026-01-01", asof="2026-12-31")
    assert whole.key.tolist() == again.key.tolist()
    assert len(set(whole.key)) == len(whole) == 10, "five occurrences each, never more"
    daily = set()
    for day in np.arange("2026-01-01", "2027-01-01", dtype="datetime64[D]"):
        daily |= set(agenda(rules, cols, asof=day).key)
    assert daily == set(whole.key)


def test_eligibility_by_tier():
    rules = [
        CareRule(
            "gold",
            "Gold only",
            touchpoint="T",
            anchor="birthday",
            recurrence="yearly",
            tiers=["gold"],
            channels=["sms"],
        )
    ]
    cols = as_columns({"customer": ["g", "s"], "birthday": [dt.date(1990, 5, 5)] * 2}, ["birthday"])
    cols["tier"] = np.array(["gold", "silver"], dtype=object)
    assert agenda(rules, cols, asof="2026-05-05").customer.tolist() == ["g"]


def test_missing_anchor_column_says_how_to_map_it():
    rules = [
        CareRule(
            "v", "Visit", touchpoint="T", anchor="move_in", offset="3 months", channels=["phone"]
        )
    ]
    with pytest.raises(ValidationError, match=r"anchors=\{'move_in': \.\.\.\}"):
        agenda(
            rules,
            {"customer": ["a"], "handover": np.array(["2026-01-01"], dtype="datetime64[D]")},
            asof="2026-04-01",
        )
    due = agenda(
        rules,
        {"customer": ["a"], "handover": np.array(["2026-01-01"], dtype="datetime64[D]")},
        asof="2026-04-01",
        anchors={"move_in": "handover"},
    )
    assert due.key.tolist() == ["v/a/2026-01-01"]


def test_since_after_asof_is_an_error():
    with pytest.raises(ValidationError, match="since: is after asof"):
        agenda([], {"customer": []}, asof="2026-01-01", since="2026-02-01")


dates = st.dates(min_value=dt.date(1996, 1, 1), max_value=dt.date(2030, 12, 31))


@given(
    anchors=st.lists(st.one_of(st.none(), dates), min_size=1, max_size=12),
    recurrence=st.sampled_from(["none", "monthly", "quarterly", "yearly"]),
    offset=st.sampled_from(
        ["0 days", "3 months", "-30 days", "1 year", "-1 month", "45 days", "2 weeks"]
    ),
    occurrences=st.one_of(st.none(), st.integers(1, 40)),
    start=dates,
    length=st.integers(0, 120),
)
def test_matches_the_reference(anchors, recurrence, offset, occurrences, start, length):
    rule = CareRule(
        "r",
        "Rule",
        touchpoint="T",
        anchor="purchase",
        offset=offset,
        recurrence=recurrence,
        occurrences=occurrences,
        channels=["sms"],
    )
    customers = {"customer": [f"c{i}" for i in range(len(anchors))], "purchase": anchors}
    end = start + dt.timedelta(days=length)
    due = agenda([rule], as_columns(customers, ["purchase"]), since=start, asof=end)
    assert rows(due) == reference([rule], customers, start, end)


def test_follow_ups_are_due_after_the_contact_with_keys_of_their_own():
    from touchpoint import FollowUp

    letter = CareRule(
        "letter",
        "Letter after signing",
        touchpoint="LETTER",
        anchor="purchase",
        offset="7 days",
        channels=["letter"],
        follow_ups=[
            FollowUp("announce", "Announce", offset="0 days"),
            FollowUp("confirm", "Confirm receipt", offset="3 days"),
            FollowUp("feedback", "Collect feedback", offset="10 days"),
        ],
    )
    cols = as_columns({"customer": ["a"], "purchase": [dt.date(2026, 3, 1)]}, ["purchase"])
    due = agenda([letter], cols, since="2026-03-01", asof="2026-03-31")
    assert list(zip(due.step, due.due.astype(str), due.key, strict=True)) == [
        ("", "2026-03-08", "letter/a/2026-03-01"),
        ("announce", "2026-03-08", "letter/a/2026-03-01/announce"),
        ("confirm", "2026-03-11", "letter/a/2026-03-01/confirm"),
        ("feedback", "2026-03-18", "letter/a/2026-03-01/feedback"),
    ]
    # Each day's agenda holds exactly that day's steps.
    assert agenda([letter], cols, asof="2026-03-11").key.tolist() == ["letter/a/2026-03-01/confirm"]


def test_each_customer_is_due_on_their_own_local_date():
    import zoneinfo

    rule = CareRule(
        "birthday",
        "Birthday",
        touchpoint="BDAY",
        anchor="birthday",
        recurrence="yearly",
        channels=["sms"],
    )
    zones = ["Asia/Shanghai", "Europe/London", "America/New_York", "Pacific/Kiritimati"]
    customers = {"customer": ["sh", "ld", "ny", "ki"], "birthday": [dt.date(1990, 3, 2)] * 4}
    cols = as_columns(customers, ["birthday"])
    cols["timezone"] = np.array(zones, dtype=object)
    now = dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)
    got = set(agenda([rule], cols, now=now).customer)
    # Reference: each customer's local date of `now`, then the plain-date agenda for them.
    want = {
        c
        for c, z in zip(customers["customer"], zones, strict=True)
        if now.astimezone(zoneinfo.ZoneInfo(z)).date() == dt.date(2026, 3, 2)
    }
    assert got == want == {"sh", "ki"}
    # Hours later it is 2 March in London and New York too; Shanghai's greeting is not repeated
    # within its own day's key.
    later = agenda([rule], cols, now=dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC))
    assert set(later.customer) == {"sh", "ld", "ny"} and len(set(later.key)) == 3
    with pytest.raises(ValidationError, match="give either asof"):
        agenda([rule], cols)
