"""touchpoint: Customer Touchpoint Management as a library.

Blueprints of touchpoints and control indicators, vectorised customer scoring, care
schedules and pluggable channels and storage. See https://touchpoint.readthedocs.io.

>>> import touchpoint
>>> touchpoint.Stage("experience").enterprise.value
'in-sale'
"""

from __future__ import annotations

import os

from touchpoint._threads import set_accel, set_threads
from touchpoint._version import __version__
from touchpoint.errors import (
    BlueprintError,
    ChannelError,
    MissingExtraError,
    PluginError,
    Problem,
    StorageError,
    TouchpointError,
    ValidationError,
)
from touchpoint.frame import EventFrame, ScoreFrame
from touchpoint.model import (
    BUILTIN_CHANNELS,
    Anchor,
    Blueprint,
    CapAction,
    CareRule,
    Category,
    Channel,
    ChurnKind,
    Comparison,
    Complaint,
    ComplaintType,
    Consent,
    ContactApproach,
    ControlIndicator,
    Customer,
    Direction,
    DowngradeRule,
    EmptyCell,
    EnterpriseStage,
    FollowUp,
    IndicatorKind,
    Interaction,
    Line,
    LoyaltyProgramme,
    LoyaltyTier,
    Matrix,
    Offset,
    Process,
    Promise,
    PromisePolicy,
    PromiseStatus,
    Purpose,
    QualificationBasis,
    Recurrence,
    Stage,
    Touchpoint,
)
from touchpoint.plugins import hookimpl
from touchpoint.workspace import IngestReport, Workspace, open_workspace

#: ``touchpoint.open(url, blueprint=...)``: the workspace an application holds.
open = open_workspace


def load_blueprint(path: str | os.PathLike[str]) -> Blueprint:
    """Read a blueprint file (``.toml`` or ``.json``): `touchpoint.schema.load_blueprint`.

    The file formats and their checks live in `touchpoint.schema`, imported on the first
    call (it brings pydantic's models, which ``import touchpoint`` does not need).

    Raises
    ------
    BlueprintError
        For any problem, including a file that cannot be read; the message names the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from touchpoint import templates
    >>> from touchpoint.schema import dump_blueprint
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dealer.json"
    >>> _ = path.write_text(dump_blueprint(templates.load("car-dealership"), format="json"))
    >>> load_blueprint(path) == templates.load("car-dealership")
    True
    """
    from touchpoint.schema import load_blueprint as load

    return load(path)


__all__ = [
    "BUILTIN_CHANNELS",
    "Anchor",
    "Blueprint",
    "BlueprintError",
    "CapAction",
    "CareRule",
    "Category",
    "Channel",
    "ChannelError",
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
    "EventFrame",
    "FollowUp",
    "IndicatorKind",
    "IngestReport",
    "Interaction",
    "Line",
    "LoyaltyProgramme",
    "LoyaltyTier",
    "Matrix",
    "MissingExtraError",
    "Offset",
    "PluginError",
    "Problem",
    "Process",
    "Promise",
    "PromisePolicy",
    "PromiseStatus",
    "Purpose",
    "QualificationBasis",
    "Recurrence",
    "ScoreFrame",
    "Stage",
    "StorageError",
    "Touchpoint",
    "TouchpointError",
    "ValidationError",
    "Workspace",
    "__version__",
    "hookimpl",
    "load_blueprint",
    "open",
    "open_workspace",
    "set_accel",
    "set_threads",
]
