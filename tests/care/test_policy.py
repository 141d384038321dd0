"""The contact policy: each rule of it is proven by a case that would be sent without it."""

import datetime as dt
import zoneinfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint import CareRule, ValidationError
from touchpoint.care import ContactPolicy, FrequencyCap, QuietHours, agenda, plan_contacts

UTC = dt.UTC
NOON_UTC = dt.datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
NO_QUIET = ContactPolicy(quiet_hours=None)


def rule(code="bday", purpose="service", channels=("sms", "email"), on_cap="defer"):
    return CareRule(
        code,
        code,
        touchpoint="T",
        anchor="birthday",
        recurrence="yearly",
        channels=list(channels),
        purpose=purpose,
        on_cap=on_cap,
    )


def customers(n=1, tz="UTC", **extra):
    cols = {
        "customer": [f"C{i}" for i in range(n)],
        "timezone": [tz] * n,
        "birthday": np.array(["1990-05-05"] * n, dtype="datetime64[D]"),
    }
    cols.update(extra)
    return cols


def consents(*records):
    keys = ("customer", "channel", "purpose", "granted", "time")
    cols = (
        {k: [r[i] for r in records] for i, k in enumerate(keys[: len(records[0])])}
        if records
        else {k: [] for k in keys[:4]}
    )
    return cols


def plan(rules, cust, cons, now=NOON_UTC, **kw):
    due = agenda(rules, cust, asof=now.date())
    return plan_contacts(due, rules, customers=cust, consents=cons, now=now, **kw)


class TestConsent:
    def test_without_consent_nothing_is_sent(self):
        p = plan([rule()], customers(), consents(("C0", "phone", "service", True)), policy=NO_QUIET)
        assert p.status.tolist() == ["blocked"] and p.reason.tolist() == [
            "no service consent on sms, email"
        ]
        frame = p.to_frame()  # the plan as a ScoreFrame keyed by the contact's key
        assert frame.key == "key" and frame.row(p.key[0])["status"] == "blocked"

    def test_service_consent_does_not_cover_marketing(self):
        cons = consents(("C0", "sms", "service", True))
        assert plan(
            [rule(purpose="service")], customers(), cons, policy=NO_QUIET
        ).status.tolist() == ["send"]
        assert plan(
            [rule(purpose="marketing")], customers(), cons, policy=NO_QUIET
        ).status.tolist() == ["blocked"]

    def test_the_latest_consent_wins_whatever_the_row_order(self):
        cons = consents(
            ("C0", "sms", "service", False, np.datetime64("2026-03-01")),
            ("C0", "sms", "service", True, np.datetime64("2026-01-01")),
        )
        cons["time"] = np.array(cons["time"], dtype="datetime64[us]")
        p = plan([rule(channels=["sms"])], customers(), cons, policy=NO_QUIET)
        assert p.status.tolist() == ["blocked"], "consent withdrawn in March overrides January's"

    def test_preferred_channel_first_then_fallback_in_rule_order(self):
        cust = customers(3, preferred_channel=["email", "email", "phone"])
        cons = consents(
            ("C0", "sms", "service", True),
            ("C0", "email", "service", True),  # prefers e-mail: gets it
            ("C1", "sms", "service", True),  # prefers e-mail, no consent there: falls back to sms
            ("C2", "email", "service", True),
            ("C2", "phone", "service", True),  # phone not in the rule
        )
        p = plan([rule()], cust, cons, policy=NO_QUIET)
        assert dict(zip(p.customer, p.channel, strict=True)) == {
            "C0": "email",
            "C1": "sms",
            "C2": "email",
        }

    def test_do_not_contact_blocks_everything(self):
        cust = customers(2, do_not_contact=[True, False])
        cons = consents(("C0", "sms", "service", True), ("C1", "sms", "service", True))
        p = plan([rule()], cust, cons, policy=NO_QUIET)
        assert p.status.tolist() == ["blocked", "send"] and p.reason[0] == "do not contact"
        assert p.channel[0] is None and np.isnat(p.send_at[0])


class TestQuietHours:
    def test_a_contact_in_quiet_hours_waits_for_morning_local_time(self):
        cons = consents(("C0", "sms", "service", True))
        # 14:30 UTC is 22:30 in Shanghai (UTC+8): deferred to 08:00 local = 00:00 UTC next day.
        p = plan(
            [rule()],
            customers(tz="Asia/Shanghai"),
            cons,
            now=dt.datetime(2026, 5, 5, 14, 30, tzinfo=UTC),
        )
        assert p.status.tolist() == ["deferred"]
        assert p.send_at[0] == np.datetime64("2026-05-06T00:00")
        # The same moment is 14:30 in London-in-UTC: sent now.
        p = plan(
            [rule()], customers(tz="UTC"), cons, now=dt.datetime(2026, 5, 5, 14, 30, tzinfo=UTC)
        )
        assert p.status.tolist() == ["send"]

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            # 2026-03-08 02:00 New York springs forward: 00:30 EST (UTC-5) -> 08:00 EDT (UTC-4) = 12:00 UTC.
            (dt.datetime(2026, 3, 8, 5, 30, tzinfo=UTC), "2026-03-08T12:00"),
            # 2026-11-01 02:00 New York falls back: 01:30 EDT (UTC-4) -> 08:00 EST (UTC-5) = 13:00 UTC.
            (dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "2026-11-01T13:00"),
        ],
    )
    def test_quiet_hours_hold_across_daylight_saving_changes(self, now, expected):
        cust = customers(tz="America/New_York")
        cust["birthday"] = np.array([now.date().replace(year=1990)], dtype="datetime64[D]")
        p = plan([rule()], cust, consents(("C0", "sms", "service", True)), now=now)
        assert p.status.tolist() == ["deferred"] and p.send_at[0] == np.datetime64(expected)

    def test_daytime_quiet_window(self):
        quiet = QuietHours("12:00", "14:00")
        assert (
            quiet.is_quiet(dt.time(13))
            and not quiet.is_quiet(dt.time(14))
            and not quiet.is_quiet(dt.time(11))
        )


class TestCaps:
    history = {
        "customer": ["C0", "C0", "C0"],
        "channel": ["sms", "sms", "email"],
        "time": np.array(
            ["2026-05-01T09:00", "2026-05-03T09:00", "2026-05-04T09:00"], dtype="datetime64[us]"
        ),
    }
    cons = consents(("C0", "sms", "service", True))

    @pytest.mark.parametrize(
        ("on_cap", "status", "send_at"),
        [
            ("drop", "blocked", None),
            ("defer", "deferred", "2026-05-08T09:00"),
            ("exempt", "send", "2026-05-05T12:00"),
        ],
    )
    def test_over_the_cap_the_rule_decides(self, on_cap, status, send_at):
        cap = FrequencyCap(2, "7 days", channel="sms")
        p = plan(
            [rule(on_cap=on_cap)],
            customers(),
            self.cons,
            history=self.history,
            policy=ContactPolicy(quiet_hours=None, caps=[cap]),
        )
        assert p.status.tolist() == [status]
        if send_at is None:
            assert p.reason[0] == "over the cap of 2 per 1 week on sms"
        else:
            # Deferred to when the 1 May contact leaves the 7-day window.
            assert p.send_at[0] == np.datetime64(send_at)

    def test_without_the_cap_it_would_be_sent(self):
        p = plan(
            [rule(on_cap="drop")], customers(), self.cons, history=self.history, policy=NO_QUIET
        )
        assert p.status.tolist() == ["send"]

    def test_overall_cap_counts_every_channel_and_contacts_planned_together(self):
        rules = [rule("a", on_cap="drop"), rule("b", on_cap="drop")]
        cap = FrequencyCap(1, "1 day")
        p = plan(rules, customers(), self.cons, policy=ContactPolicy(quiet_hours=None, caps=[cap]))
        assert sorted(p.status.tolist()) == ["blocked", "send"], (
            "two contacts planned at once, cap of one"
        )
        cap = FrequencyCap(3, "7 days")  # history holds 3 (sms + email) within 7 days
        p = plan(
            [rule(on_cap="drop")],
            customers(),
            self.cons,
            history=self.history,
            policy=ContactPolicy(quiet_hours=None, caps=[cap]),
        )
        assert p.status.tolist() == ["blocked"]


def test_a_due_contact_for_an_unknown_customer_is_an_error():
    due = agenda([rule()], customers(), asof=NOON_UTC.date())
    with pytest.raises(ValidationError, match="customer: is not in the customers table"):
        plan_contacts(
            due,
            [rule()],
            customers={"customer": ["X"], "timezone": ["UTC"]},
            consents=consents(),
            now=NOON_UTC,
        )


def test_follow_up_calls_go_by_phone_whatever_the_rule_channels():
    from touchpoint import FollowUp

    letter = CareRule(
        "letter",
        "Letter",
        touchpoint="L",
        anchor="birthday",
        recurrence="yearly",
        channels=["letter"],
        follow_ups=[FollowUp("call", "Call", offset="0 days", channel="phone")],
    )
    cons = consents(("C0", "letter", "service", True))
    p = plan([letter], customers(), cons, policy=NO_QUIET)
    assert dict(zip(p.step, p.status, strict=True)) == {"": "send", "call": "blocked"}
    assert p.reason[p.step == "call"][0] == "no service consent on phone"
    cons = consents(("C0", "letter", "service", True), ("C0", "phone", "service", True))
    p = plan([letter], customers(), cons, policy=NO_QUIET)
    assert dict(zip(p.step, p.channel, strict=True)) == {"": "letter", "call": "phone"}


# --------------------------------------------------------------------------- deferral under caps

DAY = np.timedelta64(1, "D")


def _windows_hold(times, counted_history, limit, window):
    """Reference: no window of length ``window`` containing a planned time holds > ``limit``.

    The count of a window (y - window, y] containing x changes only at contact times, so
    checking y = x and every contact time in (x, x + window) covers every such window.
    """
    everything = np.sort(np.concatenate([counted_history, times]))
    for x in times:
        ends = [x, *everything[(everything > x) & (everything < x + window)]]
        for y in ends:
            if ((everything > y - window) & (everything <= y)).sum() > limit:
                return False
    return True


class TestDeferralUnderCaps:
    """Issue 13, defect 5: on_cap='defer' used to land several contacts in one window."""

    def test_three_contacts_one_a_day_are_a_day_apart(self):
        rules = [rule(code) for code in ("a", "b", "c")]
        cap = FrequencyCap(1, "1 day")
        p = plan(
            rules, customers(), self.cons(), policy=ContactPolicy(quiet_hours=None, caps=[cap])
        )
        now = np.datetime64("2026-05-05T12:00", "us")
        # by hand: the first now, the second when it leaves the window, the third a day later
        assert sorted(p.send_at.tolist()) == [now, now + DAY, now + 2 * DAY]
        assert sorted(p.status.tolist()) == ["deferred", "deferred", "send"]
        assert sorted(p.reason.tolist()) == ["", *["over the cap of 1 per 1 day"] * 2]

    def test_contacts_already_deferred_into_a_window_are_counted(self):
        # history: one contact sent yesterday 13:00, one waiting for tomorrow 12:00
        history = {
            "customer": ["C0", "C0"],
            "channel": ["sms", "sms"],
            "time": np.array(["2026-05-04T13:00", "2026-05-06T12:00"], dtype="datetime64[us]"),
        }
        cap = FrequencyCap(2, "2 days")
        p = plan(
            [rule("a"), rule("b")],
            customers(),
            self.cons(),
            history=history,
            policy=ContactPolicy(quiet_hours=None, caps=[cap]),
        )
        # by hand: two contacts already count (yesterday 13:00 and tomorrow 12:00), so a
        # waits until 2 days after the latest but one (2026-05-04T13:00 + 2 days), and b
        # until 2 days after the latest but one then (tomorrow's 12:00 + 2 days)
        assert sorted(p.send_at.astype(str).tolist()) == [
            "2026-05-06T13:00:00.000000",
            "2026-05-08T12:00:00.000000",
        ]

    def test_deferral_and_quiet_hours_together_keep_the_cap(self):
        """07:00 is quiet (until 08:00); the next contact must count from 08:00, not 07:00."""
        rules = [rule("a"), rule("b")]
        cap = FrequencyCap(1, "36 hours")
        p = plan(
            rules,
            customers(),
            self.cons(),
            now=dt.datetime(2026, 5, 5, 7, 0, tzinfo=UTC),
            policy=ContactPolicy(quiet_hours=QuietHours("21:00", "08:00"), caps=[cap]),
        )
        assert sorted(p.send_at.astype(str).tolist()) == [
            "2026-05-05T08:00:00.000000",
            "2026-05-06T20:00:00.000000",
        ]

    @staticmethod
    def cons():
        return consents(("C0", "sms", "service", True), ("C1", "sms", "service", True))

    @given(
        n_rules=st.integers(1, 5),
        n_customers=st.integers(1, 3),
        limit=st.integers(1, 3),
        window_hours=st.integers(1, 80),
        on_channel=st.booleans(),
        quiet=st.sampled_from([None, ("21:00", "08:00"), ("12:00", "14:00")]),
        zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
        history_hours=st.lists(st.integers(-100, 60), max_size=5),
        hour=st.integers(0, 23),
    )
    @settings(max_examples=150)
    def test_every_window_holds_the_cap(
        self,
        n_rules,
        n_customers,
        limit,
        window_hours,
        on_channel,
        quiet,
        zone,
        history_hours,
        hour,
    ):
        rules = [rule(f"r{i}") for i in range(n_rules)]
        cap = FrequencyCap(limit, f"{window_hours} hours", channel="sms" if on_channel else None)
        now = dt.datetime(2026, 5, 5, hour, 0, tzinfo=UTC)
        now64 = np.datetime64(now.replace(tzinfo=None), "us")
        hist_times = now64 + np.array(history_hours, dtype="timedelta64[h]").astype(
            "timedelta64[us]"
        )
        history = {
            "customer": ["C0"] * len(history_hours),
            "channel": ["sms"] * len(history_hours),
            "time": hist_times,
        }
        quiet_hours = QuietHours(*quiet) if quiet else None
        p = plan(
            rules,
            customers(n_customers, tz=zone),
            self.cons()
            if n_customers < 3
            else consents(*[(f"C{i}", "sms", "service", True) for i in range(3)]),
            now=now,
            history=history,
            policy=ContactPolicy(quiet_hours=quiet_hours, caps=[cap]),
        )
        window = np.timedelta64(window_hours, "h").astype("timedelta64[us]")
        assert (p.status != "blocked").all()  # defer never drops
        assert (p.send_at >= now64).all()
        assert ((p.status == "send") == (p.send_at == now64)).all()
        for c in range(n_customers):
            mine = p.send_at[p.customer == f"C{c}"]
            hist = hist_times[hist_times > now64 - window] if c == 0 else hist_times[:0]
            assert _windows_hold(mine, hist, limit, window), (mine, hist)
            if quiet_hours is not None:
                tz = zoneinfo.ZoneInfo(zone)
                for t in mine:
                    local = t.astype(dt.datetime).replace(tzinfo=UTC).astimezone(tz)
                    assert not quiet_hours.is_quiet(local.time())
