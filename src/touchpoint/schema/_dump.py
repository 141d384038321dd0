"""From a `Blueprint` to plain data (dicts, lists, text, numbers) in the file format.

Defaults that carry no information are left out (an empty description, a weight of 1,
``key = false``, all five stages); loading the result gives back an equal blueprint.

Examples
--------
>>> from touchpoint.model import Blueprint, Touchpoint
>>> bp = Blueprint(name="mini", stages=["awareness"], touchpoints=[
...     Touchpoint("AD", "Billboard", category="communication", stage="awareness",
...                line="promotion", channels=["advertising"])])
>>> data = blueprint_to_dict(bp)
>>> data["stages"], data["touchpoints"][0]["channels"]
(['awareness'], ['advertising'])
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from touchpoint._deprecation import renamed
from touchpoint.model import (
    Blueprint,
    CareRule,
    Channel,
    ControlIndicator,
    FollowUp,
    LoyaltyProgramme,
    LoyaltyTier,
    Matrix,
    Offset,
    PromisePolicy,
    Stage,
    Touchpoint,
    format_timedelta,
)
from touchpoint.schema._models import FORMAT_VERSION

__all__ = ["blueprint_to_dict"]


def _offset(value: Offset) -> str:
    return _singular(str(value))


def _duration(value: dt.timedelta) -> str:
    return _singular(format_timedelta(value))


def _singular(text: str) -> str:
    """``"1 weeks"`` reads better as ``"1 week"`` (both load the same)."""
    amount, _, unit = text.partition(" ")
    return f"{amount} {unit[:-1]}" if amount in ("1", "-1") and unit.endswith("s") else text


def _put(data: dict[str, Any], key: str, value: Any, default: Any) -> None:
    if value != default:
        data[key] = value


def _source(data: dict[str, Any], record: Any) -> None:
    """``source`` and ``source_note``, left out when they are the defaults (own, no note)."""
    _put(data, "source", record.source.value, "own")
    _put(data, "source_note", record.source_note, "")


def _channel(ch: Channel) -> dict[str, Any]:
    return {"name": ch.name, "label": ch.label, "approach": ch.approach.value}


def _indicator(ind: ControlIndicator) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": ind.code,
        "name": ind.name,
        "kind": ind.kind.value,
        "target": ind.target,
        "comparison": ind.comparison.value,
        "unit": ind.unit,
    }
    _put(data, "weight", ind.weight, 1.0)
    _put(data, "description", ind.description, "")
    _put(data, "scale", ind.scale, None)
    _put(data, "counts", list(ind.counts), [])
    if ind.within is not None:
        data["within"] = _duration(ind.within)
    _source(data, ind)
    return data


def _touchpoint(tp: Touchpoint) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": tp.code,
        "name": tp.name,
        "category": tp.category.value,
        "stage": tp.stage.value,
        "line": tp.line.value,
        "channels": list(tp.channels),
        "direction": tp.direction.value,
    }
    _put(data, "message", tp.message, "")
    _put(data, "owner", tp.owner, "")
    _put(data, "key", tp.key, False)
    _put(data, "weight", tp.weight, 1.0)
    _put(data, "process", tp.process, None)
    _put(data, "description", tp.description, "")
    _put(data, "indicators", [_indicator(i) for i in tp.indicators], [])
    return data


def _matrix(matrix: Matrix) -> dict[str, Any]:
    data: dict[str, Any] = {
        "columns": dict(matrix.columns),
        "processes": [{"code": p.code, "name": p.name} for p in matrix.processes],
    }
    _put(
        data,
        "empty",
        [{"process": c.process, "channel": c.channel, "reason": c.reason} for c in matrix.empty],
        [],
    )
    return data


def _tier(tier: LoyaltyTier) -> dict[str, Any]:
    data: dict[str, Any] = {"name": tier.name, "threshold": tier.threshold}
    _put(data, "discount", tier.discount, 0.0)
    _put(data, "benefits", list(tier.benefits), [])
    _put(data, "label", tier.label, "")
    return data


def _loyalty(prog: LoyaltyProgramme) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": prog.name,
        "earn_rate": prog.earn_rate,
        "basis": prog.basis.value,
        "window": _offset(prog.window),
        "downgrade": prog.downgrade.value,
        "point_value": prog.point_value,
        "min_redeem": prog.min_redeem,
    }
    if prog.points_expire is not None:
        data["points_expire"] = _offset(prog.points_expire)
    data["tiers"] = [_tier(t) for t in prog.tiers]
    _source(data, prog)
    return data


def _follow_up(step: FollowUp) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": step.code,
        "name": step.name,
        "offset": _offset(step.offset),
        "channel": step.channel,
    }
    _put(data, "message", step.message, "")
    _put(data, "touchpoint", step.touchpoint, None)
    _put(data, "unless", [h.value for h in step.unless], [])
    _put(data, "check", step.check, False)
    return data


def _care_rule(rule: CareRule) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": rule.code,
        "name": rule.name,
        "touchpoint": rule.touchpoint,
    }
    _put(data, "anchor", rule.anchor, "")
    data |= {
        "offset": _offset(rule.offset),
        "recurrence": rule.recurrence.value,
    }
    _put(data, "occurrences", rule.occurrences, None)
    data["channels"] = list(rule.channels)
    data["purpose"] = rule.purpose.value
    _put(data, "segments", list(rule.segments), [])
    _put(data, "tiers", list(rule.tiers), [])
    _put(data, "stages", list(rule.stages), [])
    data["on_cap"] = rule.on_cap.value
    _put(data, "message", rule.message, "")
    _put(data, "follow_ups", [_follow_up(s) for s in rule.follow_ups], [])
    _source(data, rule)
    if rule.trigger is not None:
        t = rule.trigger
        trigger: dict[str, Any] = {"kind": t.kind.value}
        _put(trigger, "days", t.days, None)
        _put(trigger, "at_or_below", t.at_or_below, None)
        _put(trigger, "touchpoint", t.touchpoint, None)
        _put(trigger, "tiers", list(t.tiers), [])
        _put(trigger, "indicator", t.indicator, None)
        data["trigger"] = trigger
    _put(data, "exit_on", [h.value for h in rule.exit_on], [])
    _put(data, "reentry", rule.reentry, None)
    _put(data, "holdout", rule.holdout, 0.0)
    _put(data, "holdout_salt", rule.holdout_salt, "")
    _put(data, "flow", rule.flow, None)
    return data


def _promise_policy(policy: PromisePolicy) -> dict[str, Any]:
    data: dict[str, Any] = {}
    _put(data, "max_value", policy.max_value, None)
    _put(data, "max_days", policy.max_days, None)
    _source(data, policy)
    return data


@renamed(bp="blueprint")
def blueprint_to_dict(blueprint: Blueprint) -> dict[str, Any]:
    """The blueprint as JSON-compatible data in the file format (version 1).

    `blueprint_from_dict` of the result gives back an equal blueprint.

    Examples
    --------
    >>> from touchpoint.schema import blueprint_from_dict
    >>> from touchpoint.model import Blueprint, Touchpoint
    >>> bp = Blueprint(name="mini", stages=["awareness"], touchpoints=[
    ...     Touchpoint("AD", "Billboard", category="communication", stage="awareness",
    ...                line="promotion", channels=["advertising"])])
    >>> blueprint_from_dict(blueprint_to_dict(bp)) == bp
    True
    """
    bp = blueprint
    data: dict[str, Any] = {"format": FORMAT_VERSION, "name": bp.name, "title": bp.title}
    _put(data, "description", bp.description, "")
    _put(data, "industry", bp.industry, "")
    data["currency"] = bp.currency
    _put(data, "stages", [s.value for s in bp.stages], [s.value for s in Stage])
    _put(data, "channels", [_channel(ch) for ch in bp.channels], [])
    data["touchpoints"] = [_touchpoint(tp) for tp in bp.touchpoints]
    if bp.matrix is not None:
        data["matrix"] = _matrix(bp.matrix)
    if bp.loyalty is not None:
        data["loyalty"] = _loyalty(bp.loyalty)
    _put(data, "care_rules", [_care_rule(r) for r in bp.care_rules], [])
    if bp.promise_policy is not None:
        data["promise_policy"] = _promise_policy(bp.promise_policy)
    return data
