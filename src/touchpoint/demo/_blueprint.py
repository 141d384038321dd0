"""The demo's blueprint: a built-in template with what the demo needs added when missing.

The report shows what the library sells, so the demo's blueprint has:

- a loyalty programme (the template's own, else `DEMO_LOYALTY`, a three-tier example);
- the win-back care rule (a contact `WINBACK_DAYS` after the last purchase) whose
  held-out lift the report measures;
- a 0-10 "would you recommend us" rating at the survey touchpoint, for the NPS (when a
  touchpoint's code names a survey and no touchpoint has a 0-10 rating yet).

The template file itself is not changed: the additions are made here, on the loaded
`Blueprint`, and the workspace stores the result.

Examples
--------
>>> bp = demo_blueprint("car-dealership")
>>> bp.loyalty is not None, "win-back" in [r.code for r in bp.care_rules]
(True, True)
>>> [tp.code for tp in nps_touchpoints(bp)]
['SRV-SURVEY']
"""

from __future__ import annotations

from typing import Any

import attrs

from touchpoint.model import (
    Blueprint,
    CareRule,
    ControlIndicator,
    IndicatorKind,
    LoyaltyProgramme,
    LoyaltyTier,
    Stage,
    Touchpoint,
)

__all__ = ["DEMO_LOYALTY", "demo_blueprint", "nps_touchpoints", "winback_touchpoint"]

#: The demo's loyalty programme for templates without one (an example, not the material's).
DEMO_LOYALTY = LoyaltyProgramme(
    tiers=(
        LoyaltyTier("member", 0, label="Member"),
        LoyaltyTier("silver", 2_000, discount=0.03, label="Silver"),
        LoyaltyTier("gold", 10_000, discount=0.06, label="Gold"),
    ),
    earn_rate=1.0,
    window="12 months",
    name="demo membership",
    source="example",
    source_note="the demo's own example tiers: the template has no loyalty programme",
)

#: The NPS question the demo adds to a survey touchpoint.
RECOMMEND = ControlIndicator(
    "recommend",
    "Would recommend us (0-10)",
    kind="rating",
    target=9,
    scale=10,
    source="example",
    source_note="the demo's NPS question: promoters answer 9 or 10",
)


def nps_touchpoints(blueprint: Blueprint | None) -> list[Touchpoint]:
    """The touchpoints whose ratings are on a 0-10 scale (NPS answers)."""
    if blueprint is None:
        return []
    return [
        tp
        for tp in blueprint.touchpoints
        if any(i.kind is IndicatorKind.RATING and (i.scale or 0) >= 10 for i in tp.indicators)
    ]


def winback_touchpoint(blueprint: Blueprint) -> Touchpoint:
    """The touchpoint of the win-back contact: an outbound one of the last stage."""
    stages = [s for s in Stage if s in blueprint.stages and blueprint.by_stage(s)]
    last = blueprint.by_stage(stages[-1])
    out = [tp for tp in last if tp.direction.value == "outbound"]
    return (out or list(last))[0]


def demo_blueprint(template: str) -> Blueprint:
    """The built-in ``template`` with a loyalty programme, the win-back rule and NPS."""
    from touchpoint import templates
    from touchpoint.demo._synthetic import WINBACK_DAYS

    bp = templates.load(template)
    changes: dict[str, Any] = {}
    if bp.loyalty is None:
        changes["loyalty"] = DEMO_LOYALTY
    if "win-back" not in {r.code for r in bp.care_rules}:
        tp = winback_touchpoint(bp)
        rule = CareRule(
            "win-back",
            f"Win-back contact {WINBACK_DAYS} days after the last purchase",
            touchpoint=tp.code,
            anchor="last_purchase",
            offset=f"{WINBACK_DAYS} days",
            channels=tuple(dict.fromkeys(("phone", "sms", *tp.channels))),
            purpose="service",
            source="example",
            source_note="the demo's care rule; its effect is simulated and measured "
            "against a holdout",
        )
        changes["care_rules"] = (*bp.care_rules, rule)
    if not nps_touchpoints(bp):
        survey = [tp for tp in bp.touchpoints if "SURVEY" in tp.code.upper()]
        if survey:
            target = survey[0]
            new = attrs.evolve(target, indicators=(*target.indicators, RECOMMEND))
            changes["touchpoints"] = tuple(new if tp is target else tp for tp in bp.touchpoints)
    return attrs.evolve(bp, **changes) if changes else bp
