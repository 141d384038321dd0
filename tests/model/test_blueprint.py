"""The blueprint validates as a whole, names every problem at once, and answers lookups."""

import pytest

from touchpoint import (
    Blueprint,
    BlueprintError,
    CareRule,
    ControlIndicator,
    EmptyCell,
    LoyaltyProgramme,
    LoyaltyTier,
    Matrix,
    Process,
    Stage,
    Touchpoint,
)

WAIT = ControlIndicator(
    "wait", "Served within 10 minutes", kind="time_limit", target=10, unit="minutes"
)


def tp(code, stage="cooperation", line="service", channels=("store",), **kw):
    return Touchpoint(
        code,
        f"Touchpoint {code}",
        category="channel",
        stage=stage,
        line=line,
        channels=channels,
        **kw,
    )


def hall(**kw):
    fields = dict(
        name="hall",
        stages=["cooperation"],
        touchpoints=[
            tp("A102", process="102", key=True, indicators=[WAIT]),
            tp("B102", channels=["phone"], process="102"),
            tp("A201", process="201", line="product"),
        ],
        matrix=Matrix(
            processes=[Process("102", "SIM change"), Process("201", "Business inquiry")],
            columns={"store": "A", "phone": "B"},
        ),
    )
    fields.update(kw)
    return Blueprint(**fields)


def test_lookups():
    bp = hall()
    assert bp.touchpoint("B102").channels == ("phone",)
    assert [t.code for t in bp.by_line("product")] == ["A201"]
    assert [t.code for t in bp.by_stage(Stage.COOPERATION)] == ["A102", "B102", "A201"]
    assert [t.code for t in bp.by_category("channel")] == ["A102", "B102", "A201"]
    assert [t.code for t in bp.key_touchpoints] == ["A102"]
    assert [(t.code, i.code) for t, i in bp.indicators()] == [("A102", "wait")]
    assert "A102" in bp and "Z999" not in bp and len(bp) == 3
    with pytest.raises(KeyError, match="blueprint 'hall' has no touchpoint 'Z999'"):
        bp.touchpoint("Z999")
    layout = bp.layout()
    assert [t.code for t in layout[(Stage.COOPERATION, "service")]] == ["A102", "B102"]


def test_mcp_matrix_reports_blind_spots_and_respects_declared_empty_cells():
    report = hall().mcp()
    assert report.cells[("102", "store")] == ("A102",)
    assert report.blind_spots == [("201", "phone")]
    declared = hall(
        matrix=Matrix(
            processes=[Process("102", "SIM change"), Process("201", "Business inquiry")],
            columns={"store": "A", "phone": "B"},
            empty=[EmptyCell("201", "phone", "Inquiries are answered in the hall")],
        )
    )
    assert declared.mcp().blind_spots == []


def test_every_problem_is_named_at_once_with_path_and_value():
    with pytest.raises(BlueprintError) as err:
        Blueprint(
            name="broken",
            stages=["awareness", "cooperation"],
            touchpoints=[
                tp("A102", key=True),  # key without indicator
                tp("A102", channels=["carrier-pigeon"]),  # duplicate code, unknown channel
                tp("A103", process="999"),  # no matrix, so no such process
                tp("X1", stage="transaction"),  # stage outside the blueprint's stages
            ],
            care_rules=[
                CareRule(
                    "bday",
                    "Birthday",
                    touchpoint="NOPE",
                    anchor="birthday",
                    channels=["sms"],
                    tiers=["gold"],
                )
            ],
        )
    found = {(p.path, p.value if p.has_value else None) for p in err.value.problems}
    assert found == {
        ("touchpoints[0].indicators", None),
        ("touchpoints[1].code", "A102"),
        ("touchpoints[1].channels[0]", "carrier-pigeon"),
        ("touchpoints[2].process", "999"),
        ("touchpoints[3].stage", "transaction"),
        ("stages[0]", "awareness"),
        ("care_rules[0].touchpoint", "NOPE"),
        ("care_rules[0].tiers[0]", "gold"),
    }
    text = str(err.value)
    assert text.startswith("8 problems in the blueprint:")
    assert "touchpoint 'A102': key touchpoints need at least one control indicator" in text


def test_count_indicator_must_count_known_touchpoints():
    three_calls = ControlIndicator(
        "calls", "Three calls", kind="count", target=3, within="7 days", counts=["CALL"]
    )
    with pytest.raises(
        BlueprintError,
        match=r"touchpoints\[0\].indicators\[0\].counts\[0\]: indicator 'calls': unknown touchpoint",
    ):
        Blueprint(
            name="b2b", stages=["cooperation"], touchpoints=[tp("LETTER", indicators=[three_calls])]
        )


def test_loyalty_problems_and_tiers_in_care_rules():
    programme = LoyaltyProgramme([LoyaltyTier("member", 0), LoyaltyTier("gold", 1000)])
    bp = Blueprint(
        name="shop",
        stages=["cooperation"],
        touchpoints=[tp("T1")],
        loyalty=programme,
        care_rules=[
            CareRule(
                "gold-bday",
                "Gold birthday",
                touchpoint="T1",
                anchor="birthday",
                channels=["sms"],
                tiers=["gold"],
            )
        ],
    )
    assert bp.care_rule("gold-bday").tiers == ("gold",)


def test_matrix_columns_must_be_known_channels():
    with pytest.raises(
        BlueprintError, match=r"matrix.columns\[1\]: unknown channel \(value: 'telegraph'\)"
    ):
        hall(
            matrix=Matrix(
                processes=[Process("102", "SIM change"), Process("201", "x")],
                columns={"store": "A", "telegraph": "B"},
            )
        )


def test_follow_up_touchpoints_must_resolve():
    from touchpoint import FollowUp

    rule = CareRule(
        "letter",
        "Letter",
        touchpoint="T1",
        anchor="purchase",
        channels=["letter"],
        follow_ups=[FollowUp("call", "Call", offset="1 day", touchpoint="CALL")],
    )
    with pytest.raises(
        BlueprintError,
        match=r"care_rules\[0\].follow_ups\[0\].touchpoint: care rule 'letter': unknown touchpoint \(value: 'CALL'\)",
    ):
        Blueprint(name="b2b", stages=["cooperation"], touchpoints=[tp("T1")], care_rules=[rule])
    ok = Blueprint(
        name="b2b", stages=["cooperation"], touchpoints=[tp("T1"), tp("CALL")], care_rules=[rule]
    )
    assert ok.care_rules[0].follow_ups[0].touchpoint == "CALL"


def test_two_channels_cannot_share_a_column_letter():
    with pytest.raises(
        BlueprintError, match=r"matrix.columns\[1\]: duplicate column letter \(value: 'A'\)"
    ):
        hall(
            matrix=Matrix(
                processes=[Process("102", "SIM change"), Process("201", "x")],
                columns={"store": "A", "phone": "A"},
            )
        )
