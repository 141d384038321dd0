"""The domain model: frozen attrs classes for configuration-sized data.

Large customer data lives in columns (`touchpoint.frame`), not in these classes.
"""

from touchpoint._deprecation import moved_modules
from touchpoint.model._blueprint import Blueprint, EmptyCell, Matrix, MatrixReport, Process
from touchpoint.model._care import (
    BUILTIN_FLOWS,
    Anchor,
    CapAction,
    CareRule,
    FollowUp,
    Happening,
    Purpose,
    Recurrence,
    Trigger,
    TriggerKind,
)
from touchpoint.model._checks import CODE_PATTERN
from touchpoint.model._classification import (
    BUILTIN_CHANNELS,
    Category,
    Channel,
    ContactApproach,
    Direction,
    Line,
)
from touchpoint.model._customer import Consent, Customer
from touchpoint.model._duration import Offset, format_timedelta, parse_timedelta
from touchpoint.model._indicator import Comparison, ControlIndicator, IndicatorKind, rating_range
from touchpoint.model._interaction import Interaction, as_utc
from touchpoint.model._loyalty import (
    DowngradeRule,
    LoyaltyProgramme,
    LoyaltyTier,
    QualificationBasis,
)
from touchpoint.model._promise import (
    ChurnKind,
    Complaint,
    ComplaintType,
    Promise,
    PromisePolicy,
    PromiseStatus,
)
from touchpoint.model._provenance import Provenance
from touchpoint.model._stage import EnterpriseStage, Stage
from touchpoint.model._touchpoint import Touchpoint

__all__ = [
    "BUILTIN_CHANNELS",
    "BUILTIN_FLOWS",
    "CODE_PATTERN",
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
    "Happening",
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
    "Trigger",
    "TriggerKind",
    "as_utc",
    "format_timedelta",
    "parse_timedelta",
    "rating_range",
]

# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}._{module}")
        for module in (
            "blueprint",
            "care",
            "classification",
            "customer",
            "duration",
            "indicator",
            "interaction",
            "loyalty",
            "promise",
            "provenance",
            "stage",
            "touchpoint",
        )
    },
)
