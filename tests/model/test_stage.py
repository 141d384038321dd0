from touchpoint import EnterpriseStage, Stage


def test_customer_stages_map_onto_enterprise_stages_in_order():
    mapped = [s.enterprise for s in Stage]
    assert mapped == sorted(mapped), "the mapping keeps the order"
    assert {s.enterprise for s in Stage} == set(EnterpriseStage)
    assert [s for e in EnterpriseStage for s in e.stages] == list(Stage)


def test_order_is_the_customer_journey_not_the_alphabet():
    assert (
        Stage.AWARENESS
        < Stage.CONSULTATION
        < Stage.EXPERIENCE
        < Stage.TRANSACTION
        < Stage.COOPERATION
    )
    assert max(Stage) is Stage.COOPERATION
    assert EnterpriseStage.PRE_SALE < EnterpriseStage.POST_SALE


def test_chinese_terms():
    assert Stage.AWARENESS.chinese == "客户认知" and EnterpriseStage.POST_SALE.chinese == "售后"
