"""The five built-in blueprint templates: valid, complete, and faithful to the source material.

The expected content below is written from ``domain.md`` and the course material it
distils (the 4S audit form, the MCP matrix, Vanke's post-move-in touchpoints, the B2B
marketing centre's ten key touchpoints, the Home Inn case), not from the files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import touchpoint
from touchpoint import templates
from touchpoint.model import Blueprint, IndicatorKind, Stage
from touchpoint.model.duration import Offset
from touchpoint.schema import dump_blueprint, load_blueprint, loads_blueprint

DATA = Path(touchpoint.__file__).parent / "templates" / "data"
NAMES = ["car-dealership", "telecom-hall", "real-estate", "b2b-marketing", "budget-hotel"]
TOUCHPOINT_FIELDS = ("category", "stage", "line", "channels", "direction", "message", "owner")


def raw(name: str) -> dict:
    with (DATA / f"{name}.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def blueprints() -> dict[str, Blueprint]:
    return {name: templates.load(name) for name in NAMES}


# ------------------------------------------------------------------------ every template
def test_exactly_the_five_templates_ship():
    assert sorted(p.stem for p in DATA.glob("*.toml")) == sorted(NAMES)
    assert templates.names() == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_registry_and_file_loader_agree(name, blueprints):
    assert load_blueprint(DATA / f"{name}.toml") == blueprints[name]


@pytest.mark.parametrize("fmt", ["toml", "json"])
@pytest.mark.parametrize("name", NAMES)
def test_template_round_trips(name, fmt, blueprints):
    bp = blueprints[name]
    assert loads_blueprint(dump_blueprint(bp, format=fmt), format=fmt) == bp


@pytest.mark.parametrize("name", NAMES)
def test_template_header(name):
    data = raw(name)
    assert data["name"] == name
    assert data["currency"] == "CNY"
    assert data["industry"].strip()
    # English title with the Chinese name beside it, and a description citing the material
    assert "(" in data["title"] and any("\u4e00" <= c <= "\u9fff" for c in data["title"])
    assert len(data["description"]) > 200
    assert any("\u4e00" <= c <= "\u9fff" for c in data["description"])


@pytest.mark.parametrize("name", NAMES)
def test_every_touchpoint_states_its_classification_message_and_owner(name):
    for tp in raw(name)["touchpoints"]:
        missing = [f for f in TOUCHPOINT_FIELDS if not tp.get(f)]
        assert not missing, f"{name}: {tp['code']} lacks {missing}"
        if tp.get("key"):
            assert "weight" in tp and tp["weight"] > 0, f"{name}: key {tp['code']} has no weight"
            assert tp.get("indicators"), f"{name}: key {tp['code']} has no indicator"


@pytest.mark.parametrize("name", NAMES)
def test_template_builds_a_valid_blueprint_covering_its_stages(name, blueprints):
    bp = blueprints[name]
    assert isinstance(bp, Blueprint) and bp.problems() == []
    covered = {tp.stage for tp in bp.touchpoints}
    assert set(bp.stages) <= covered
    assert set(raw(name).get("stages", [s.value for s in Stage])) == {s.value for s in bp.stages}
    assert bp.key_touchpoints, name
    for tp in bp.key_touchpoints:
        assert tp.indicators and tp.weight > 0


@pytest.mark.parametrize("name", NAMES)
def test_care_rules_and_counts_point_at_real_touchpoints(name, blueprints):
    bp = blueprints[name]
    codes = {tp.code for tp in bp}
    for rule in bp.care_rules:
        assert rule.touchpoint in codes
        assert set(rule.channels) <= bp.channel_names
    for _, ind in bp.indicators():
        assert set(ind.counts) <= codes


# ------------------------------------------------------------------------ car dealership
# domain.md's 4S audit, item by item -> (touchpoint, indicator) that scores it.
CAR_AUDIT = {
    # facilities (外观设施)
    "easy to reach": [
        ("FAC-ACCESS", "directions"),
        ("FAC-ACCESS", "shuttle"),
        ("FAC-ACCESS", "signs"),
    ],
    "opening hours": [("FAC-HOURS", "hours-suit")],
    "parking": [("FAC-PARKING", "convenient"), ("FAC-PARKING", "display-order")],
    "surroundings": [("FAC-SURROUNDINGS", "maker-standard")],
    "leaflets current": [("FAC-LEAFLETS", "current"), ("FAC-LEAFLETS", "tidy")],
    "lighting": [
        ("FAC-LIGHTING", "switch-times"),
        ("FAC-LIGHTING", "daylight"),
        ("FAC-LIGHTING", "lamps-work"),
    ],
    "quiet negotiation area": [
        ("FAC-NEGOTIATION", "undisturbed"),
        ("FAC-NEGOTIATION", "clean-tables"),
    ],
    "lounge": [("FAC-LOUNGE", "amenities"), ("FAC-LOUNGE", "tidy")],
    "clean restrooms": [
        ("FAC-RESTROOM", "clean"),
        ("FAC-RESTROOM", "no-odour"),
        ("FAC-RESTROOM", "working"),
    ],
    "atmosphere": [("FAC-ATMOSPHERE", "music"), ("FAC-ATMOSPHERE", "staff-state")],
    "demo cars": [
        ("FAC-DEMO-CARS", "working"),
        ("FAC-DEMO-CARS", "enough"),
        ("FAC-DEMO-CARS", "stock-mix"),
    ],
    "other facilities": [("FAC-OTHER", "greenery"), ("FAC-OTHER", "facilities-work")],
    # reception (接待过程)
    "warmth: smiling": [("REC-GREET", "smile")],
    "promptness": [("REC-GREET", "greet-prompt")],
    "one staff member never serves several groups": [("REC-GREET", "one-group")],
    "proactive introduction": [("REC-INTRO", "proactive")],
    "consistent attitude": [("REC-INTRO", "consistent")],
    "asking budget": [("REC-NEEDS", "budget")],
    "asking use": [("REC-NEEDS", "use")],
    "asking preferences": [("REC-NEEDS", "preferences")],
    "no pressure": [("REC-NEEDS", "no-pressure")],
    # transaction (交易过程)
    "product knowledge": [("TX-ADVICE", "product-knowledge"), ("TX-ADVICE", "company-history")],
    "competitor knowledge": [("TX-ADVICE", "competitor-knowledge")],
    "fitting recommendation": [("TX-ADVICE", "fitting-model"), ("TX-ADVICE", "fitting-options")],
    "demonstration": [("TX-DEMO", "demonstration")],
    "handling hard questions": [("TX-DEMO", "hard-questions")],
    "test drive capacity": [
        ("TX-TEST-DRIVE", "models-available"),
        ("TX-TEST-DRIVE", "route"),
        ("TX-TEST-DRIVE", "co-driver"),
    ],
    "test drive offered proactively": [
        ("TX-TEST-DRIVE", "offered-proactively"),
        ("TX-TEST-DRIVE", "hands-on"),
    ],
    "lawful clear contract": [("TX-CONTRACT", "lawful"), ("TX-CONTRACT", "explained")],
    "quick delivery": [
        ("TX-DELIVERY", "on-time"),
        ("TX-DELIVERY", "quick-paperwork"),
        ("TX-DELIVERY", "as-promised"),
    ],
    "after-sales briefing": [("TX-DELIVERY", "after-sales-briefing")],
    "service hotline saved": [("TX-DELIVERY", "hotline-saved")],
    # follow-up visit (顾客回访)
    "follow-up proactive": [("FU-CALL", "proactive")],
    "follow-up timely": [("FU-CALL", "timely")],
    "usage tips": [("FU-CALL", "usage-tips")],
    "maintenance reminders": [("FU-CALL", "maintenance-reminder")],
    "asks about performance": [("FU-CALL", "asks-performance")],
    "events and upgrades": [("FU-CALL", "events-upgrades")],
    "patient": [("FU-CALL", "patient")],
    "competent": [("FU-CALL", "competent")],
}


@pytest.mark.parametrize("item", sorted(CAR_AUDIT))
def test_car_dealership_scores_every_audit_item_as_a_checklist(item, blueprints):
    bp = blueprints["car-dealership"]
    for code, indicator in CAR_AUDIT[item]:
        tp = bp.touchpoint(code)
        assert tp.key, code
        ind = tp.indicator(indicator)
        assert ind.kind is IndicatorKind.CHECKLIST
        assert ind.meets(1) and not ind.meets(0)


def test_car_dealership_has_the_four_audit_areas_and_nothing_unscored(blueprints):
    bp = blueprints["car-dealership"]
    audited = {code for pairs in CAR_AUDIT.values() for code, _ in pairs}
    prefixes = {code.split("-")[0] for code in audited}
    assert prefixes == {"FAC", "REC", "TX", "FU"}
    # every checklist item of an audited touchpoint is one the material lists
    listed = {pair for pairs in CAR_AUDIT.values() for pair in pairs}
    for code in audited:
        for ind in bp.touchpoint(code).indicators:
            if ind.kind is IndicatorKind.CHECKLIST:
                assert (code, ind.code) in listed, (code, ind.code)


def test_car_dealership_time_limit_and_count_follow_the_material(blueprints):
    bp = blueprints["car-dealership"]
    greet = bp.touchpoint("REC-GREET").indicator("greet-time")
    assert greet.kind is IndicatorKind.TIME_LIMIT
    assert greet.meets(30) and not greet.meets(5 * 60)  # seconds
    callback = bp.touchpoint("TX-DELIVERY").indicator("callback")
    assert callback.kind is IndicatorKind.COUNT
    assert callback.counts == ("FU-CALL",)
    assert callback.meets(1) and not callback.meets(0)
    # the scheduled call after delivery comes inside the window the count allows
    rule = bp.care_rule("delivery-call")
    assert rule.anchor == "purchase" and rule.touchpoint == "FU-CALL"
    assert 0 < rule.offset.days * 86400 <= callback.within.total_seconds()
    maintenance = bp.care_rule("maintenance")
    assert maintenance.anchor == "purchase" and maintenance.recurrence.value == "yearly"
    assert bp.touchpoint(maintenance.touchpoint).direction.value == "outbound"


# ------------------------------------------------------------------------ telecom MCP
def test_telecom_matrix_has_the_processes_of_the_material(blueprints):
    bp = blueprints["telecom-hall"]
    codes = {p.code for p in bp.matrix.processes}
    assert {"101", "102", "108", "201", "202", "203", "204"} <= codes
    names = {p.code: p.name for p in bp.matrix.processes}
    for code, zh in [
        ("101", "过户"),
        ("102", "换卡"),
        ("108", "资料更改"),
        ("201", "业务受理"),
        ("202", "主动服务"),
        ("203", "话费"),
        ("204", "余额"),
    ]:
        assert zh in names[code]


def test_telecom_matrix_has_no_blind_spot_and_no_contradiction(blueprints):
    bp = blueprints["telecom-hall"]
    report = bp.mcp()
    assert report.blind_spots == []
    # independently: every cell is handled xor declared empty, with a reason
    filled = {(tp.process, ch) for tp in bp for ch in tp.channels if tp.process}
    empty = {(c.process, c.channel): c.reason for c in bp.matrix.empty}
    for p in bp.matrix.processes:
        assert any((p.code, ch) in filled for ch in bp.matrix.channels), f"{p.code} served nowhere"
        for ch in bp.matrix.channels:
            cell = (p.code, ch)
            assert (cell in filled) != (cell in empty), cell
            if cell in empty:
                assert len(empty[cell]) > 20


def test_telecom_codes_are_column_letter_plus_process(blueprints):
    bp = blueprints["telecom-hall"]
    letters = dict(bp.matrix.columns)
    assert bp.matrix.columns[0] == ("store", "A")
    a102 = bp.touchpoint("A102")
    assert a102.process == "102" and a102.channels == (bp.matrix.channels[0],)
    assert "SIM" in a102.name and a102.key
    for tp in bp:
        assert tp.process is not None
        assert len(tp.channels) == 1
        assert tp.code == letters[tp.channels[0]] + tp.process


# ------------------------------------------------------------------------ real estate
def test_real_estate_care_schedule(blueprints):
    bp = blueprints["real-estate"]
    rules = {r.code: r for r in bp.care_rules}
    visit = rules["visit-3m"]
    assert (visit.anchor, visit.offset, visit.recurrence.value) == (
        "move_in",
        Offset(3, "months"),
        "none",
    )
    warranty = rules["warranty-reminder"]
    assert warranty.anchor == "warranty_end" and warranty.offset.amount < 0  # before it ends
    check = rules["house-check-1y"]
    assert check.anchor == "move_in" and check.offset.months == 12
    birthday = rules["birthday"]
    assert birthday.anchor == "birthday" and birthday.recurrence.value == "yearly"
    assert birthday.channels[0] == "call-centre"  # 依托于呼叫中心
    for code, touchpoint_code in [
        ("community-events", "RE-EVENTS"),
        ("owners-meeting", "RE-MEETING"),
        ("loyalty-fund", "RE-FUND"),
    ]:
        assert rules[code].touchpoint == touchpoint_code
        assert rules[code].recurrence.value != "none"


def test_real_estate_after_sale_touchpoints(blueprints):
    bp = blueprints["real-estate"]
    expected = {
        "RE-INSPECTION": "交房验收",
        "RE-DOCUMENTS": "交房文件",
        "RE-HANDOVER-EVENT": "交房活动",
        "RE-GIFTS": "礼品",
        "RE-PROPERTY": "物业服务",
        "RE-SMS": "短信",
        "RE-CLUB": "客户会",
        "RE-CHANNELS": "客户交流渠道",
        "RE-VISIT-3M": "3个月",
        "RE-WARRANTY": "保修期满",
        "RE-CHECKUP": "房屋体检",
        "RE-BIRTHDAY": "生日",
        "RE-EVENTS": "社区文化活动",
        "RE-MEETING": "业主恳谈会",
        "RE-FUND": "忠诚基金",
    }
    for code, zh in expected.items():
        assert zh in bp.touchpoint(code).name, code
    assert bp.touchpoint("RE-INSPECTION").key


# ------------------------------------------------------------------------ B2B marketing
def test_b2b_has_exactly_ten_key_touchpoints(blueprints):
    bp = blueprints["b2b-marketing"]
    keys = bp.key_touchpoints
    assert len(keys) == 10
    names = " ".join(tp.name for tp in keys)
    for zh in ["接打电话", "上门拜访", "接待客户", "请客户用餐", "信函", "签定合同", "货物验收"]:
        assert zh in names


def test_b2b_three_calls_after_a_letter(blueprints):
    bp = blueprints["b2b-marketing"]
    three = bp.touchpoint("B2B-LETTER").indicator("three-calls")
    assert three.kind is IndicatorKind.COUNT and three.target == 3
    assert three.meets(3) and not three.meets(2)
    (counted,) = three.counts
    assert bp.touchpoint(counted).channels == ("phone",)
    rules = [r for r in bp.care_rules if r.touchpoint == "B2B-LETTER"]
    assert len(rules) == 1
    steps = rules[0].follow_ups
    assert [s.code for s in steps] == ["announce", "confirm-receipt", "feedback"]
    assert all(s.channel == "phone" for s in steps)
    offsets = [s.offset.days for s in steps]
    assert offsets == sorted(offsets)
    # the schedule meets its own standard: all three calls fall inside the counted window
    assert offsets[-1] * 86400 <= three.within.total_seconds()


def test_b2b_phone_and_email_standards(blueprints):
    bp = blueprints["b2b-marketing"]
    call = bp.touchpoint("B2B-CALL")
    assert call.indicator("next-contact").kind is IndicatorKind.CHECKLIST
    assert call.indicator("hang-up-last").kind is IndicatorKind.CHECKLIST
    reply = bp.touchpoint("B2B-LETTER").indicator("reply-24h")
    assert reply.kind is IndicatorKind.TIME_LIMIT and reply.target_seconds == 24 * 3600
    assert reply.meets(23 * 3600) and not reply.meets(25 * 3600)


# ------------------------------------------------------------------------ budget hotel
def test_budget_hotel_loyalty_tiers(blueprints):
    programme = blueprints["budget-hotel"].loyalty
    assert programme is not None and len(programme.tiers) >= 3
    thresholds = [t.threshold for t in programme.tiers]
    discounts = [t.discount for t in programme.tiers]
    assert thresholds[0] == 0 and thresholds == sorted(set(thresholds))
    assert discounts == sorted(discounts) and discounts[-1] > 0
    # hand-checked against the file's thresholds: 0, 1500, 5000, 12000
    assert [programme.tier_for(v).name for v in (0, 1499, 1500, 4999, 5000, 50000)] == [
        "member",
        "member",
        "silver",
        "silver",
        "gold",
        "platinum",
    ]


def test_budget_hotel_brand_touchpoints(blueprints):
    bp = blueprints["budget-hotel"]
    room = bp.touchpoint("HOT-ROOM")
    assert {"sockets", "note-pad-board", "hangers", "desk-lamp"} <= {
        i.code for i in room.indicators
    }
    assert bp.touchpoint("HOT-BUILDING").indicator("brand-colour").kind is IndicatorKind.CHECKLIST
    assert bp.touchpoint("HOT-CALL-CENTRE").channels == ("call-centre",)
    assert bp.touchpoint("HOT-MEMBERSHIP").key
    zero = bp.touchpoint("HOT-STAY").indicator("zero-complaints")
    assert zero.kind is IndicatorKind.COUNT and zero.counts == ("HOT-COMPLAINT",)
    assert zero.meets(0) and not zero.meets(1)


def test_b2b_letter_calls_are_recorded_where_the_three_calls_indicator_counts_them():
    bp = templates.load("b2b-marketing")
    (rule,) = [r for r in bp.care_rules if len(r.follow_ups) == 3]
    counted = {c for tp, i in bp.indicators() if i.kind.value == "count" for c in i.counts}
    assert {step.touchpoint for step in rule.follow_ups} == {"B2B-LETTER-CALL"} <= counted
