"""The domain model: frozen attrs classes for configuration-sized data.

Large customer data lives in columns (`touchpoint.frame`), not in these classes.
"""

from touchpoint.model.blueprint import Blueprint, EmptyCell, Matrix, MatrixReport, Process
from touchpoint.model.care import Anchor, CapAction, CareRule, FollowUp, Purpose, Recurrence
from touchpoint.model.classification import (
    BUILTIN_CHANNELS,
    Category,
    Channel,
    ContactApproach,
    Direction,
    Line,
)
from touchpoint.model.customer import Consent, Customer
from touchpoint.model.duration import Offset, parse_timedelta
from touchpoint.model.indicator import Comparison, ControlIndicator, IndicatorKind
from touchpoint.model.interaction import Interaction
from touchpoint.model.loyalty import (
    DowngradeRule,
    LoyaltyProgramme,
    LoyaltyTier,
    QualificationBasis,
)
from touchpoint.model.promise import (
    ChurnKind,
    Complaint,
    ComplaintType,
    Promise,
    PromisePolicy,
    PromiseStatus,
)
from touchpoint.model.provenance import Provenance
from touchpoint.model.stage import EnterpriseStage, Stage
from touchpoint.model.touchpoint import Touchpoint

__all__ = [
    "BUILTIN_CHANNELS",
    "Anchor",
    "Blueprint",
    "CapAction",
    "CareRule",
    "Category",
    "Channel",
    "ChurnKind",
    "Comparison",
    "Complaint",
    "ComplaintType",
    "Consent",
    "ContactApproach",
    "ControlIndicator",
    "Customer",
    "Direction",
    "DowngradeRule",
    "EmptyCell",
    "EnterpriseStage",
    "FollowUp",
    "IndicatorKind",
    "Interaction",
    "Line",
    "LoyaltyProgramme",
    "LoyaltyTier",
    "Matrix",
    "MatrixReport",
    "Offset",
    "Process",
    "Promise",
    "PromisePolicy",
    "PromiseStatus",
    "Provenance",
    "Purpose",
    "QualificationBasis",
    "Recurrence",
    "Stage",
    "Touchpoint",
    "parse_timedelta",
]
