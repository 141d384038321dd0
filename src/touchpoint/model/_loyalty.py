"""Loyalty tiers and the loyalty programme (会员等级, 积分).

Points are earned on spend; reaching a tier's threshold (by spend or by points earned
within the qualification window) moves the customer up automatically; a tier brings a
member discount; points convert to cash value when redeemed and may expire.

Downgrade rules
---------------
- ``never``: a tier once reached is kept.
- ``requalify``: at each evaluation the tier is recomputed from the qualification window
  alone, so a customer who stops buying falls back.
- ``one_step``: as ``requalify``, but a customer falls at most one tier per evaluation.

Examples
--------
>>> programme = LoyaltyProgramme(
...     earn_rate=1.0, basis="spend", window="12 months",
...     tiers=[LoyaltyTier("member", 0), LoyaltyTier("silver", 5000, discount=0.05),
...            LoyaltyTier("gold", 20000, discount=0.10)],
... )
>>> programme.tier_for(7500).name
'silver'
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from touchpoint.errors import Problem
from touchpoint.model._checks import (
    as_enum,
    check_code,
    check_number,
    check_text,
    nested,
    raise_if,
    to_tuple,
)
from touchpoint.model._duration import Offset
from touchpoint.model._provenance import Provenance, check_source, to_provenance

__all__ = ["DowngradeRule", "LoyaltyProgramme", "LoyaltyTier", "QualificationBasis"]


class QualificationBasis(enum.StrEnum):
    """What tier thresholds are measured in."""

    SPEND = "spend"
    POINTS = "points"


class DowngradeRule(enum.StrEnum):
    """What happens when a customer no longer qualifies for their tier."""

    NEVER = "never"
    REQUALIFY = "requalify"
    ONE_STEP = "one_step"


@attrs.frozen
class LoyaltyTier:
    """A tier: reached at ``threshold`` (spend or points in the window), with a discount.

    >>> LoyaltyTier("gold", 20000, discount=0.1, benefits=["free parking"]).discount
    0.1
    """

    name: str
    threshold: float
    discount: float = 0.0
    benefits: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)
    label: str = ""

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"tier {self.name!r}")

    def problems(self) -> list[Problem]:
        return (
            check_code(self.name, "name")
            + check_number(self.threshold, "threshold", minimum=0)
            + check_number(self.discount, "discount", minimum=0, maximum=0.99)
        )


def _offset(value: object) -> Offset:
    return Offset.parse(value)


def _optional_offset(value: object) -> Offset | None:
    return None if value is None else Offset.parse(value)


def _basis(value: Any) -> QualificationBasis:
    return as_enum(QualificationBasis, value, "basis")


def _downgrade(value: Any) -> DowngradeRule:
    return as_enum(DowngradeRule, value, "downgrade")


@attrs.frozen
class LoyaltyProgramme:
    """Earn rate, tiers by threshold, qualification window, downgrade rule and redemption.

    Parameters
    ----------
    earn_rate:
        Points earned per unit of currency spent.
    basis:
        Whether tier thresholds count ``spend`` or ``points`` earned in the window.
    window:
        The qualification window, e.g. ``"12 months"``.
    tiers:
        The tiers, thresholds strictly increasing, the first at threshold 0.
    downgrade:
        ``never``, ``requalify`` or ``one_step`` (see the module docs).
    point_value:
        Currency value of one point when redeemed.
    min_redeem:
        The fewest points that can be redeemed at once.
    points_expire:
        How long earned points live (e.g. ``"24 months"``), None for never.
    name:
        What the programme is called.
    source, source_note:
        Where the programme's figures (earn rate, window, tiers with their thresholds
        and discounts, point value, redemption and expiry) come from: ``own`` (the
        default), ``material`` or ``example``; see `touchpoint.model.Provenance`.
    """

    tiers: tuple[LoyaltyTier, ...] = attrs.field(converter=to_tuple)
    earn_rate: float = 1.0
    basis: QualificationBasis = attrs.field(default=QualificationBasis.SPEND, converter=_basis)
    window: Offset = attrs.field(default=Offset(12, "months"), converter=_offset)
    downgrade: DowngradeRule = attrs.field(default=DowngradeRule.REQUALIFY, converter=_downgrade)
    point_value: float = 0.01
    min_redeem: float = 0.0
    points_expire: Offset | None = attrs.field(default=None, converter=_optional_offset)
    name: str = "loyalty"
    source: Provenance = attrs.field(default=Provenance.OWN, converter=to_provenance)
    source_note: str = ""

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), "loyalty programme")

    def problems(self) -> list[Problem]:
        found = check_text(self.name, "name")
        found += check_number(self.earn_rate, "earn_rate", minimum=0)
        found += check_number(self.point_value, "point_value", minimum=0)
        found += check_number(self.min_redeem, "min_redeem", minimum=0)
        found += check_source(self.source, self.source_note)
        if self.window.amount <= 0:
            found.append(Problem("window", "must be a positive period", str(self.window)))
        if self.points_expire is not None and self.points_expire.amount <= 0:
            found.append(
                Problem("points_expire", "must be a positive period", str(self.points_expire))
            )
        if not self.tiers:
            found.append(Problem("tiers", "needs at least one tier"))
            return found
        found += nested("tiers", self.tiers)
        if self.tiers[0].threshold != 0:
            found.append(
                Problem("tiers[0].threshold", "the first tier starts at 0", self.tiers[0].threshold)
            )
        names: set[str] = set()
        for i, tier in enumerate(self.tiers):
            if tier.name in names:
                found.append(Problem(f"tiers[{i}].name", "duplicate tier name", tier.name))
            names.add(tier.name)
            if i and not tier.threshold > self.tiers[i - 1].threshold:
                found.append(
                    Problem(
                        f"tiers[{i}].threshold",
                        "thresholds must increase tier by tier",
                        tier.threshold,
                    )
                )
        return found

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(t.threshold for t in self.tiers)

    def tier_for(self, qualifying: float) -> LoyaltyTier:
        """The highest tier whose threshold ``qualifying`` (spend or points) reaches."""
        reached = [t for t in self.tiers if qualifying >= t.threshold]
        return reached[-1] if reached else self.tiers[0]
