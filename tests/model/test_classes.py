"""Each domain class validates itself with a message a business user understands."""

import datetime as dt

import attrs
import pytest

from touchpoint import (
    BlueprintError,
    CareRule,
    Channel,
    Complaint,
    ControlIndicator,
    Customer,
    FollowUp,
    Interaction,
    LoyaltyProgramme,
    LoyaltyTier,
    Offset,
    Promise,
    PromisePolicy,
    Stage,
    Touchpoint,
    ValidationError,
)
from touchpoint.model import Provenance


def make_touchpoint(**changes):
    fields = dict(
        code="A102",
        name="SIM change",
        category="channel",
        stage="cooperation",
        line="service",
        channels=["store"],
    )
    fields.update(changes)
    return Touchpoint(**fields)


def messages(err: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in err.value.problems]


class TestTouchpoint:
    def test_valid_touchpoint_keeps_its_fields(self):
        tp = make_touchpoint(key=True, weight=2.5)
        assert tp.stage is Stage.COOPERATION and tp.channels == ("store",) and tp.weight == 2.5

    def test_unknown_stage_names_the_field_and_allowed_values(self):
        with pytest.raises(BlueprintError) as err:
            make_touchpoint(stage="after-sale")
        (problem,) = err.value.problems
        assert problem.path == "stage" and problem.value == "after-sale"
        assert "'awareness'" in problem.message and "'cooperation'" in problem.message

    def test_several_problems_are_reported_together(self):
        with pytest.raises(BlueprintError) as err:
            make_touchpoint(code="A 102", weight=-1, channels=[])
        paths = {p.path for p in err.value.problems}
        assert paths == {"code", "weight", "channels"}
        assert all(
            m.startswith("code: touchpoint 'A 102'") or "touchpoint 'A 102'" in m
            for m in messages(err)
        )

    def test_duplicate_indicator_codes_are_named(self):
        ind = ControlIndicator(
            "wait", "Served quickly", kind="time_limit", target=10, unit="minutes"
        )
        with pytest.raises(BlueprintError) as err:
            make_touchpoint(indicators=[ind, ind])
        assert [p.path for p in err.value.problems] == ["indicators[1].code"]
        assert "duplicate indicator code" in str(err.value)

    def test_indicator_problems_are_rerooted_under_the_touchpoint(self):
        assert make_touchpoint().indicators == ()
        ind = ControlIndicator("csat", "Satisfied", kind="rating", target=4, scale=5)
        tp = make_touchpoint(indicators=[ind])
        assert tp.indicator("csat") is ind
        with pytest.raises(KeyError, match="touchpoint 'A102' has no indicator 'nps'"):
            tp.indicator("nps")


class TestControlIndicator:
    def test_defaults_follow_the_kind(self):
        assert ControlIndicator("t", "T", kind="time_limit", target=24).comparison.value == "<="
        assert ControlIndicator("r", "R", kind="rating", target=4).comparison.value == ">="
        count = ControlIndicator("c", "C", kind="count", target=3, within="7 days")
        assert count.comparison.value == ">=" and count.within == dt.timedelta(days=7)
        assert ControlIndicator("k", "K", kind="checklist").comparison.value == "=="

    def test_time_limit_is_judged_in_seconds(self):
        reply = ControlIndicator(
            "reply", "Reply within 24 hours", kind="time_limit", target=24, unit="hours"
        )
        assert reply.target_seconds == 86400
        assert reply.meets(86400) and not reply.meets(86401)

    def test_time_limit_needs_a_time_unit(self):
        with pytest.raises(BlueprintError) as err:
            ControlIndicator("reply", "Reply", kind="time_limit", target=24, unit="parsecs")
        assert "indicator 'reply': a time limit needs one of seconds, minutes, hours" in str(
            err.value
        )
        assert err.value.problems[0].value == "parsecs"

    def test_count_needs_a_window(self):
        with pytest.raises(BlueprintError, match="a count needs a positive window"):
            ControlIndicator("calls", "Three calls", kind="count", target=3)

    def test_bad_window_text_says_how_to_write_it(self):
        with pytest.raises(BlueprintError, match="must read like '24 hours'"):
            ControlIndicator("calls", "Three calls", kind="count", target=3, within="a week")

    def test_weight_must_be_positive_and_target_finite(self):
        with pytest.raises(BlueprintError) as err:
            ControlIndicator("x", "X", kind="rating", target=float("nan"), weight=0)
        assert {p.path for p in err.value.problems} == {"target", "weight"}

    def test_rating_target_cannot_exceed_its_scale(self):
        with pytest.raises(BlueprintError, match="is above the rating scale of 5"):
            ControlIndicator("csat", "Satisfied", kind="rating", target=8, scale=5)

    def test_unknown_kind(self):
        with pytest.raises(
            BlueprintError, match="must be one of 'time_limit', 'count', 'checklist', 'rating'"
        ):
            ControlIndicator("x", "X", kind="speed")


class TestProvenance:
    """Where a standard's figures come from: every record that holds figures says so."""

    def records(self, **source):
        return [
            ControlIndicator("wait", "Served in 5 min", kind="time_limit", target=5,
                             unit="minutes", **source),
            CareRule("visit", "Visit", touchpoint="T", anchor="move_in", offset="3 months",
                     channels=["phone"], **source),
            LoyaltyProgramme(tiers=[LoyaltyTier("member", 0)], **source),
            PromisePolicy(max_value=100, **source),
        ]  # fmt: skip

    def test_the_default_is_the_authors_own_standard_without_a_note(self):
        for record in self.records():
            assert record.source is Provenance.OWN and record.source_note == ""

    @pytest.mark.parametrize("value", ["material", "example", Provenance.EXAMPLE])
    def test_material_and_example_are_kept_with_their_note(self, value):
        for record in self.records(source=value, source_note="及时: no number"):
            assert record.source is Provenance(value) and record.source_note == "及时: no number"

    def test_an_unknown_source_names_the_field_and_the_allowed_values(self):
        for record_with in (
            lambda **s: ControlIndicator("k", "K", kind="checklist", **s),
            lambda **s: CareRule("v", "V", touchpoint="T", anchor="birthday",
                                 channels=["sms"], **s),
            lambda **s: LoyaltyProgramme(tiers=[LoyaltyTier("member", 0)], **s),
            lambda **s: PromisePolicy(**s),
        ):  # fmt: skip
            with pytest.raises(BlueprintError) as err:
                record_with(source="guessed")
            (problem,) = err.value.problems
            assert problem.path == "source" and problem.value == "guessed"
            assert "'own', 'material', 'example'" in problem.message

    def test_a_note_must_be_text(self):
        for record in self.records():
            with pytest.raises(BlueprintError) as err:
                attrs.evolve(record, source_note=["not", "text"])
            assert [p.path for p in err.value.problems] == ["source_note"]

    def test_the_source_does_not_change_how_an_indicator_judges(self):
        own, example = (
            ControlIndicator("wait", "W", kind="time_limit", target=5, unit="minutes", source=s)
            for s in ("own", "example")
        )
        assert own != example  # a different claim, so a different blueprint
        assert own.meets(299) == example.meets(299) and own.meets(301) == example.meets(301)


class TestLoyalty:
    def tiers(self):
        return [
            LoyaltyTier("member", 0),
            LoyaltyTier("silver", 5000, discount=0.05),
            LoyaltyTier("gold", 20000, discount=0.1),
        ]

    def test_tier_for_spend(self):
        programme = LoyaltyProgramme(self.tiers())
        assert [programme.tier_for(x).name for x in (0, 4999.99, 5000, 25000)] == [
            "member",
            "member",
            "silver",
            "gold",
        ]
        assert str(programme.window) == "12 months"

    def test_thresholds_must_increase_and_start_at_zero(self):
        with pytest.raises(BlueprintError) as err:
            LoyaltyProgramme([LoyaltyTier("silver", 100), LoyaltyTier("gold", 50)])
        text = str(err.value)
        assert (
            "tiers[0].threshold: loyalty programme: the first tier starts at 0 (value: 100)" in text
        )
        assert (
            "tiers[1].threshold: loyalty programme: thresholds must increase tier by tier (value: 50)"
            in text
        )

    def test_discount_is_a_fraction(self):
        with pytest.raises(BlueprintError, match=r"tier 'gold': must be <= 0.99 \(value: 10\)"):
            LoyaltyTier("gold", 100, discount=10)

    def test_duplicate_tier_names(self):
        with pytest.raises(BlueprintError, match="duplicate tier name"):
            LoyaltyProgramme([LoyaltyTier("member", 0), LoyaltyTier("member", 10)])


class TestCareRules:
    def test_offsets_read_like_people_write_them(self):
        rule = CareRule(
            "warranty",
            "Reminder before the warranty ends",
            touchpoint="RE-W",
            anchor="warranty_end",
            offset="-30 days",
            channels=["sms"],
        )
        assert rule.offset == Offset(-30, "days") and rule.anchor_kind is not None
        assert (
            CareRule("x", "X", touchpoint="T", anchor="contract_date", channels=["sms"]).anchor_kind
            is None
        )

    def test_rule_needs_a_channel(self):
        with pytest.raises(BlueprintError, match="care rule 'x': needs at least one channel"):
            CareRule("x", "X", touchpoint="T", anchor="birthday")

    def test_follow_ups_come_after(self):
        with pytest.raises(BlueprintError, match="a follow-up comes after its contact"):
            FollowUp("call", "Call", offset="-1 day")

    def test_month_ends_are_clamped(self):
        assert Offset.parse("1 month").add_to(dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
        assert Offset.parse("1 year").add_to(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
        assert Offset.parse("-3 months").add_to(dt.date(2026, 5, 31)) == dt.date(2026, 2, 28)
        assert Offset.parse("2 weeks").add_to(dt.date(2026, 12, 25)) == dt.date(2027, 1, 8)

    def test_bad_recurrence(self):
        with pytest.raises(
            BlueprintError, match="must be one of 'none', 'monthly', 'quarterly', 'yearly'"
        ):
            CareRule(
                "x", "X", touchpoint="T", anchor="birthday", channels=["sms"], recurrence="weekly"
            )


class TestCustomer:
    def test_personal_values_never_reach_the_repr(self):
        c = Customer(
            "C1",
            name="Zhang Wei",
            email="zhang.wei@example.com",
            phone="+86 138 0013 8000",
            address="1 Road, Beijing",
        )
        text = repr(c)
        for secret in ("Zhang Wei", "zhang.wei@example.com", "138 0013 8000", "1 Road"):
            assert secret not in text

    def test_consent_is_per_channel_and_purpose_and_needed(self):
        c = Customer("C1", consents=[{"channel": "sms", "purpose": "marketing"}][:0])
        assert not c.allows("sms", "service")
        from touchpoint import Consent

        c = Customer(
            "C1", consents=[Consent("sms", "marketing"), Consent("sms", "marketing", granted=False)]
        )
        assert not c.allows("sms", "marketing"), "the latest consent wins"
        c = Customer("C1", consents=[Consent("sms", "service")], do_not_contact=True)
        assert not c.allows("sms", "service")

    def test_unknown_time_zone(self):
        with pytest.raises(ValidationError, match="customer 'C1': is not a known IANA time zone"):
            Customer("C1", timezone="Mars/Olympus")

    def test_dates(self):
        c = Customer("C1", dates={"birthday": dt.date(1990, 2, 28)})
        assert c.date("birthday") == dt.date(1990, 2, 28) and c.date("move_in") is None


class TestInteraction:
    def test_naive_time_is_utc(self):
        i = Interaction("e1", "C1", "A102", time=dt.datetime(2026, 3, 1, 8))
        assert i.time == dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
        shanghai = dt.timezone(dt.timedelta(hours=8))
        j = Interaction("e2", "C1", "A102", time=dt.datetime(2026, 3, 1, 16, tzinfo=shanghai))
        assert j.time == i.time

    def test_negative_amount_and_nan_rating_are_named(self):
        with pytest.raises(ValidationError) as err:
            Interaction(
                "e1", "C1", "A102", time=dt.datetime(2026, 3, 1), amount=-5, rating=float("nan")
            )
        assert {p.path for p in err.value.problems} == {"amount", "rating"}
        assert "interaction 'e1': must be a finite number >= 0 (value: -5)" in str(err.value)


class TestPromisesAndComplaints:
    def test_promise_over_the_bottom_line_says_why(self):
        p = Promise(
            "P1",
            "C1",
            "Free service",
            made_at=dt.datetime(2026, 3, 1),
            due=dt.datetime(2026, 6, 1),
            value=900,
        )
        problems = PromisePolicy(max_value=500, max_days=30).problems(p)
        assert [x.path for x in problems] == ["value", "due"]
        assert "exceeds the bottom line of 500" in str(problems[0])

    def test_promise_due_before_made(self):
        with pytest.raises(ValidationError, match="is before the promise was made"):
            Promise("P1", "C1", "x", made_at=dt.datetime(2026, 3, 2), due=dt.datetime(2026, 3, 1))

    def test_overdue(self):
        p = Promise("P1", "C1", "x", made_at=dt.datetime(2026, 3, 1), due=dt.datetime(2026, 3, 5))
        assert p.is_overdue(dt.datetime(2026, 3, 6)) and not p.is_overdue(dt.datetime(2026, 3, 4))

    def test_complaint_times(self):
        c = Complaint(
            "K1", "C1", opened_at=dt.datetime(2026, 3, 1, 9), resolved_at=dt.datetime(2026, 3, 2, 9)
        )
        assert c.resolution_time == dt.timedelta(days=1) and c.first_response_time is None
        with pytest.raises(ValidationError, match="is before the complaint was opened"):
            Complaint(
                "K2",
                "C1",
                opened_at=dt.datetime(2026, 3, 1, 9),
                first_response_at=dt.datetime(2026, 3, 1, 8),
            )


def test_channel_codes_have_no_spaces():
    with pytest.raises(BlueprintError, match="channel 'we chat'"):
        Channel("we chat", "WeChat")


def test_absurd_durations_are_blueprint_errors_not_overflows():
    from touchpoint.model import parse_timedelta

    with pytest.raises(BlueprintError, match="is too long"):
        parse_timedelta("99999999999 days")
    with pytest.raises(BlueprintError):
        Offset.parse("9" * 5000 + " days")


def test_matrix_parts_check_themselves():
    from touchpoint import EmptyCell, Process

    with pytest.raises(BlueprintError, match="process '1 0 2'"):
        Process("1 0 2", "SIM change")
    with pytest.raises(BlueprintError, match="must be non-empty text"):
        EmptyCell("102", "website", reason=" ")
    with pytest.raises(BlueprintError, match="promise policy: must be >= 0"):
        PromisePolicy(max_value=-5)
