"""Stages of the customer relationship (阶段), in the enterprise and the customer view.

The enterprise sees three stages: pre-sale (售前), in-sale (售中) and post-sale (售后).
The customer lives through five: awareness (客户认知), consultation (产品咨询),
experience (产品体验), transaction (达成交易) and ongoing cooperation (持续合作). Each
customer-view `Stage` maps onto one `EnterpriseStage`.

Examples
--------
>>> Stage("experience").enterprise
<EnterpriseStage.IN_SALE: 'in-sale'>
>>> [s.value for s in EnterpriseStage.PRE_SALE.stages]
['awareness', 'consultation']
>>> sorted([Stage.TRANSACTION, Stage.AWARENESS]) == [Stage.AWARENESS, Stage.TRANSACTION]
True
"""

from __future__ import annotations

import enum

__all__ = ["EnterpriseStage", "Stage"]


class _OrderedStrEnum(enum.StrEnum):
    """A string enum ordered by declaration, not alphabetically.

    All four comparisons are defined here: `str` already has them, so
    `functools.total_ordering` would keep str's alphabetical ones.
    """

    @property
    def rank(self) -> int:
        """Position in the natural order, starting at 0."""
        return list(type(self)).index(self)

    def _cmp(self, other: object) -> int | None:
        if type(other) is not type(self):
            return None
        return self.rank - other.rank

    def __lt__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d < 0

    def __le__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d <= 0

    def __gt__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d > 0

    def __ge__(self, other: object) -> bool:
        d = self._cmp(other)
        return NotImplemented if d is None else d >= 0

    __hash__ = enum.StrEnum.__hash__


class EnterpriseStage(_OrderedStrEnum):
    """The company's three stages: pre-sale (售前), in-sale (售中), post-sale (售后)."""

    PRE_SALE = "pre-sale"
    IN_SALE = "in-sale"
    POST_SALE = "post-sale"

    @property
    def chinese(self) -> str:
        return _ENTERPRISE_ZH[self]

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The customer-view stages that fall in this enterprise stage, in order."""
        return tuple(s for s in Stage if s.enterprise is self)


class Stage(_OrderedStrEnum):
    """The customer's five stages, in order; ``.enterprise`` gives the company's view."""

    AWARENESS = "awareness"
    CONSULTATION = "consultation"
    EXPERIENCE = "experience"
    TRANSACTION = "transaction"
    COOPERATION = "cooperation"

    @property
    def enterprise(self) -> EnterpriseStage:
        return _TO_ENTERPRISE[self]

    @property
    def chinese(self) -> str:
        return _STAGE_ZH[self]


_TO_ENTERPRISE = {
    Stage.AWARENESS: EnterpriseStage.PRE_SALE,
    Stage.CONSULTATION: EnterpriseStage.PRE_SALE,
    Stage.EXPERIENCE: EnterpriseStage.IN_SALE,
    Stage.TRANSACTION: EnterpriseStage.IN_SALE,
    Stage.COOPERATION: EnterpriseStage.POST_SALE,
}
_STAGE_ZH = {
    Stage.AWARENESS: "客户认知",
    Stage.CONSULTATION: "产品咨询",
    Stage.EXPERIENCE: "产品体验",
    Stage.TRANSACTION: "达成交易",
    Stage.COOPERATION: "持续合作",
}
_ENTERPRISE_ZH = {
    EnterpriseStage.PRE_SALE: "售前",
    EnterpriseStage.IN_SALE: "售中",
    EnterpriseStage.POST_SALE: "售后",
}
