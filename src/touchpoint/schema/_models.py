"""The pydantic models of the blueprint file format (version 1).

They mirror the attrs domain classes of `touchpoint.model` field by field and check
only the *shape* of a file: which keys exist, their types, enum values and the syntax
of durations. Everything the domain classes check themselves (code syntax, ranges,
cross-references) is left to them, so that each problem is reported once. The JSON
Schema exported for editors (`blueprint_json_schema`) adds those domain rules as
``pattern`` and ``minimum`` annotations.

Examples
--------
>>> TouchpointFile.model_validate(
...     {"code": "T1", "name": "Checkout", "category": "channel", "stage": "transaction",
...      "line": "service", "channels": ["store"]}
... ).stage
'transaction'
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticUndefined

from touchpoint.errors import BlueprintError
from touchpoint.frame import MAX_ID_LENGTH
from touchpoint.model import (
    BUILTIN_CHANNELS,
    BUILTIN_FLOWS,
    CODE_PATTERN,
    Anchor,
    CapAction,
    Category,
    Comparison,
    ContactApproach,
    Direction,
    DowngradeRule,
    Happening,
    IndicatorKind,
    Line,
    Offset,
    Provenance,
    Purpose,
    QualificationBasis,
    Recurrence,
    Stage,
    TriggerKind,
    parse_timedelta,
)

__all__ = [
    "FORMAT_VERSION",
    "BlueprintFile",
    "CareRuleFile",
    "ChannelFile",
    "EmptyCellFile",
    "FollowUpFile",
    "IndicatorFile",
    "LoyaltyFile",
    "MatrixFile",
    "ProcessFile",
    "PromisePolicyFile",
    "TierFile",
    "TouchpointFile",
    "TriggerFile",
]

#: The version of the file format these models read and write.
FORMAT_VERSION = 1

_CODE: dict[str, Any] = {"pattern": CODE_PATTERN.pattern}
_OFFSET_TEXT = r"^\s*[+-]?\d+\s*[a-zA-Z]+\s*$"


def _values(enum_cls: type[enum.Enum]) -> Any:
    """``Literal['a', 'b', ...]`` of an enum's values (strict, and an ``enum`` in the schema)."""
    return Literal[tuple(member.value for member in enum_cls)]


if TYPE_CHECKING:  # to a type checker these fields hold text; pydantic checks the values
    StageName: TypeAlias = str
    LineName: TypeAlias = str
    CategoryName: TypeAlias = str
    DirectionName: TypeAlias = str
    ApproachName: TypeAlias = str
    KindName: TypeAlias = str
    ComparisonName: TypeAlias = str
    BasisName: TypeAlias = str
    DowngradeName: TypeAlias = str
    RecurrenceName: TypeAlias = str
    PurposeName: TypeAlias = str
    CapActionName: TypeAlias = str
    SourceName: TypeAlias = str
    TriggerKindName: TypeAlias = str
    HappeningName: TypeAlias = str
    FlowName: TypeAlias = str
else:  # at run time, Literals of each enum's values (built from the enums: they cannot drift)
    StageName = _values(Stage)
    LineName = _values(Line)
    CategoryName = _values(Category)
    DirectionName = _values(Direction)
    ApproachName = _values(ContactApproach)
    KindName = _values(IndicatorKind)
    ComparisonName = _values(Comparison)
    BasisName = _values(QualificationBasis)
    DowngradeName = _values(DowngradeRule)
    RecurrenceName = _values(Recurrence)
    PurposeName = _values(Purpose)
    CapActionName = _values(CapAction)
    SourceName = _values(Provenance)
    TriggerKindName = _values(TriggerKind)
    HappeningName = _values(Happening)
    FlowName = Literal[tuple(BUILTIN_FLOWS)]


def _code(description: str, default: Any = PydanticUndefined, **extra: Any) -> Any:
    # no longer than an id at ingest (`touchpoint.frame.MAX_ID_LENGTH`): a longer code
    # could never be recorded
    return Field(
        default,
        description=description,
        max_length=MAX_ID_LENGTH,
        json_schema_extra={**_CODE, **extra},
    )


def _codes(description: str) -> Any:
    return Field(
        default=[],
        description=description,
        json_schema_extra={"items": {"type": "string", **_CODE}},
    )


def _source(what: str) -> Any:
    return Field(
        "own",
        description=f"Where {what} come from: 'own' (the default: the blueprint author's own "
        "standard), 'material' (stated by the source material the blueprint is built on; "
        "quote where in source_note) or 'example' (made up to illustrate; replace it with "
        "your own before measuring against it).",
    )


def _source_note() -> Any:
    return Field(
        "",
        description="Where the material says it (a quote), or for an example value what "
        "the material does say and which figures are made up.",
    )


def _check_offset(value: str | None) -> str | None:
    if value is not None:
        try:
            Offset.parse(value)
        except (BlueprintError, ValueError, OverflowError):
            raise ValueError(
                "must read like '3 months', '-30 days', '2 weeks' or '1 year'"
            ) from None
    return value


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_timedelta(value)
        except (BlueprintError, ValueError, OverflowError):
            raise ValueError(
                "must read like '24 hours', '15 minutes' or '7 days' (at most 999999999 days)"
            ) from None
    return value


class _Record(BaseModel):
    """Base: strict types, unknown keys are errors, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ChannelFile(_Record):
    """A channel beyond the built-in ones."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "A channel beyond the built-in ones ("
            + ", ".join(BUILTIN_CHANNELS)
            + ")."
        }
    )

    name: str = _code("Code of the channel, used in touchpoints and care rules (e.g. 'wechat').")
    label: str = Field("", description="What people read (default: the name).")
    approach: ApproachName = Field("media", description="The contact approach (接触途径).")


class IndicatorFile(_Record):
    """A control indicator (控制指标): a measurable standard of a touchpoint."""

    code: str = _code("Identifier, unique within its touchpoint.")
    name: str = Field(description="What the standard is, in words.")
    kind: KindName = Field(description="time_limit, count, checklist or rating.")
    target: float = Field(1.0, description="The threshold, in `unit` (1 for a checklist item).")
    comparison: ComparisonName | None = Field(
        None,
        description="How the measure is compared with the target (default by kind: <= for time limits, >= for counts and ratings, == for checklists).",
    )
    unit: str = Field(
        "",
        description="For time limits: seconds, minutes, hours, days or weeks; free text otherwise.",
    )
    weight: float = Field(
        1.0,
        description="Relative importance within the touchpoint (> 0).",
        json_schema_extra={"exclusiveMinimum": 0},
    )
    description: str = Field("", description="Longer explanation.")
    scale: float | None = Field(
        None, description="Rating only: the top of the rating scale (5, 10)."
    )
    counts: list[str] = _codes("Count only: codes of the touchpoints counted (default: this one).")
    within: str | None = Field(
        None,
        description="Count only: the window after the triggering interaction, e.g. '7 days'.",
        json_schema_extra={"pattern": _OFFSET_TEXT},
    )
    source: SourceName = _source("the standard and its figures (target, window, scale)")
    source_note: str = _source_note()

    _within = field_validator("within")(_check_duration)


class TouchpointFile(_Record):
    """A touchpoint (接触点): one point where the customer meets the company."""

    code: str = _code("Unique code, e.g. 'A102' (MCP: column letter A, process 102).")
    name: str = Field(description="What people call it.")
    category: CategoryName = Field(description="communication, channel, people or brand.")
    stage: StageName = Field(description="The customer-view stage.")
    line: LineName = Field(
        description="The line of effort: promotion, display, product or service."
    )
    channels: list[str] = Field(
        description="Channels it happens through (at least one).",
        json_schema_extra={"items": {"type": "string", **_CODE}, "minItems": 1},
    )
    direction: DirectionName = Field(
        "inbound", description="Who starts it: inbound (the customer) or outbound (the company)."
    )
    message: str = Field("", description="What it must convey (传递的信息).")
    owner: str = Field("", description="The role responsible (sales staff, service staff...).")
    key: bool = Field(
        False,
        description="Whether it is a key touchpoint (关键时刻); key touchpoints need an indicator.",
    )
    weight: float = Field(
        1.0, description="Importance among touchpoints (>= 0).", json_schema_extra={"minimum": 0}
    )
    indicators: list[IndicatorFile] = Field([], description="Its control indicators.")
    process: str | None = _code("The MCP process code this touchpoint fills, if any.", default=None)
    description: str = Field("", description="Longer explanation.")


class ProcessFile(_Record):
    """A service process: one row of the MCP matrix."""

    code: str = _code("Process code, e.g. '102'.")
    name: str = Field(description="Process name, e.g. 'SIM change'.")


class EmptyCellFile(_Record):
    """A matrix cell left empty on purpose (so it is not a blind spot)."""

    process: str = Field(description="Process code of the cell.")
    channel: str = Field(description="Channel (column) of the cell.")
    reason: str = Field(description="Why no touchpoint handles it.")


class MatrixFile(_Record):
    """The MCP matrix (Management of Contact Points): service processes × channels."""

    columns: dict[str, str] = Field(
        description="Channel name -> column letter, in column order, e.g. {store = 'A', phone = 'B'}."
    )
    processes: list[ProcessFile] = Field([], description="The service processes (rows).")
    empty: list[EmptyCellFile] = Field(
        [], description="Cells deliberately left empty, with the reason."
    )


class TierFile(_Record):
    """A loyalty tier, reached at its threshold."""

    name: str = _code("Code of the tier (e.g. 'gold').")
    threshold: float = Field(
        description="Spend or points in the window needed (first tier: 0).",
        json_schema_extra={"minimum": 0},
    )
    discount: float = Field(
        0.0,
        description="Member discount as a fraction (0.05 = 5%).",
        json_schema_extra={"minimum": 0, "maximum": 0.99},
    )
    benefits: list[str] = Field([], description="Other benefits, in words.")
    label: str = Field("", description="What people read.")


class LoyaltyFile(_Record):
    """The loyalty programme (会员, 积分)."""

    name: str = Field("loyalty", description="Name of the programme.")
    tiers: list[TierFile] = Field(
        description="The tiers, thresholds strictly increasing, the first at 0."
    )
    earn_rate: float = Field(
        1.0,
        description="Points earned per unit of currency spent.",
        json_schema_extra={"minimum": 0},
    )
    basis: BasisName = Field("spend", description="Whether thresholds count spend or points.")
    window: str = Field(
        "12 months",
        description="The qualification window, e.g. '12 months'.",
        json_schema_extra={"pattern": _OFFSET_TEXT},
    )
    downgrade: DowngradeName = Field("requalify", description="never, requalify or one_step.")
    point_value: float = Field(
        0.01,
        description="Currency value of one point when redeemed.",
        json_schema_extra={"minimum": 0},
    )
    min_redeem: float = Field(
        0.0, description="The fewest points redeemable at once.", json_schema_extra={"minimum": 0}
    )
    points_expire: str | None = Field(
        None,
        description="How long points live, e.g. '24 months' (default: never).",
        json_schema_extra={"pattern": _OFFSET_TEXT},
    )
    source: SourceName = _source(
        "the programme's figures (earn rate, window, tier thresholds and discounts, "
        "point value, redemption, expiry)"
    )
    source_note: str = _source_note()

    _window = field_validator("window", "points_expire")(_check_offset)


class FollowUpFile(_Record):
    """A contact chained after a care rule's contact."""

    code: str = _code("Identifier of the follow-up.")
    name: str = Field(description="What it is.")
    offset: str = Field(
        description="When, after the care contact, e.g. '1 day'.",
        json_schema_extra={"pattern": _OFFSET_TEXT},
    )
    channel: str = _code("Channel of the follow-up.", default="phone")
    message: str = Field("", description="The message template.")
    touchpoint: str | None = Field(
        None,
        description="Code of the touchpoint the contact is recorded at (default: the rule's own), "
        "so that a count indicator such as 'three calls after a letter' sees it.",
        json_schema_extra=_CODE,
    )

    unless: list[HappeningName] = Field(
        [],
        description="Skip this step when the customer did one of these since the step before: "
        "replied, purchased, complained.",
    )
    check: bool = Field(
        False,
        description="A review step: sends nothing, records whether the customer came back.",
    )

    _offset = field_validator("offset")(_check_offset)


class TriggerFile(_Record):
    """What fires a behaviour-triggered care rule (instead of a date anchor)."""

    kind: TriggerKindName = Field(
        description="no_purchase, first_purchase, rating, complaint_opened, "
        "complaint_resolved, tier_change or breach."
    )
    days: int | None = Field(
        None,
        description="no_purchase: days without a purchase; first_purchase: days after it.",
    )
    at_or_below: float | None = Field(None, description="rating: the threshold.")
    touchpoint: str | None = Field(
        None, description="rating: only ratings at this touchpoint.", json_schema_extra=_CODE
    )
    tiers: list[str] = _codes("tier_change: only moves to these tiers (empty: any).")
    indicator: str | None = Field(
        None, description="breach: only breaches of this indicator.", json_schema_extra=_CODE
    )


class CareRuleFile(_Record):
    """A scheduled care contact (关键时刻的互动, 周期性互动)."""

    code: str = _code("Identifier of the rule.")
    name: str = Field(description="What it is.")
    touchpoint: str = _code("Code of the touchpoint the contact realises.")
    anchor: str = _code(
        "The customer date it counts from: "
        + ", ".join(a.value for a in Anchor)
        + " or a host date field (none for a rule fired by a trigger).",
        default="",
        examples=[a.value for a in Anchor],
    )
    offset: str = Field(
        "0 days",
        description="When, relative to the anchor ('3 months', '-30 days').",
        json_schema_extra={"pattern": _OFFSET_TEXT},
    )
    recurrence: RecurrenceName = Field("none", description="none, monthly, quarterly or yearly.")
    occurrences: int | None = Field(
        None,
        description="How many times at most (default: unlimited for recurring rules).",
        json_schema_extra={"minimum": 1},
    )
    channels: list[str] = Field(
        description="Channels in order of preference.",
        json_schema_extra={"items": {"type": "string", **_CODE}, "minItems": 1},
    )
    purpose: PurposeName = Field(
        "service", description="service or marketing (consent is per purpose)."
    )
    segments: list[str] = Field(
        [], description="Only customers in these segments (empty: everyone)."
    )
    tiers: list[str] = Field(
        [], description="Only customers in these loyalty tiers (empty: everyone)."
    )
    stages: list[str] = Field(
        [],
        description="Only customers in these stages (empty: everyone).",
        json_schema_extra={"items": {"type": "string", "enum": [s.value for s in Stage]}},
    )
    on_cap: CapActionName = Field(
        "defer", description="Over the frequency cap: drop, defer or exempt."
    )
    message: str = Field("", description="The message template.")
    follow_ups: list[FollowUpFile] = Field([], description="Contacts chained after this one.")
    source: SourceName = _source(
        "the rule's timing (anchor, offset, recurrence, occurrences, follow-up offsets)"
    )
    source_note: str = _source_note()
    trigger: TriggerFile | None = Field(
        None, description="Fire on what the customer did instead of a date anchor."
    )
    exit_on: list[HappeningName] = Field(
        [],
        description="Stop the flow when the customer did one of these after the trigger: "
        "replied, purchased, complained.",
    )
    reentry: str | None = Field(
        None,
        description="May a customer enter again: 'never' (the default), 'always' or a wait "
        "such as '90 days'.",
    )
    holdout: float = Field(
        0.0,
        description="Share of customers held out of this rule (planned, never sent).",
        json_schema_extra={"minimum": 0, "exclusiveMaximum": 1},
    )
    holdout_salt: str = Field("", description="The salt of the rule's holdout assignment.")
    flow: FlowName | None = Field(
        None,
        description="A built-in flow filling what the rule leaves out: "
        + ", ".join(BUILTIN_FLOWS)
        + ".",
    )

    _offset = field_validator("offset")(_check_offset)


class PromisePolicyFile(_Record):
    """The company's bottom line for promises made by staff."""

    max_value: float | None = Field(None, description="Most a promise may be worth.")
    max_days: int | None = Field(None, description="Most days between a promise and its due date.")
    source: SourceName = _source("the two figures")
    source_note: str = _source_note()


def _check_format(value: int) -> int:
    if value != FORMAT_VERSION:
        raise ValueError(f"this version of touchpoint reads file format {FORMAT_VERSION} only")
    return value


class BlueprintFile(_Record):
    """A touchpoint blueprint: a company's touchpoint inventory (touchpoint file format 1)."""

    format: int = Field(
        FORMAT_VERSION,
        description="The file-format version.",
        json_schema_extra={"const": FORMAT_VERSION},
    )
    name: str = _code("Short code of the blueprint, e.g. 'car-dealership'.")
    title: str = Field("", description="Readable title (default: the name).")
    description: str = Field("", description="What the blueprint is about.")
    industry: str = Field("", description="The industry, e.g. 'automotive'.")
    currency: str = Field("CNY", description="Currency of amounts (ISO 4217 code).")
    stages: list[StageName] = Field(
        [s.value for s in Stage],
        description="The customer-view stages covered (default: all five).",
    )
    channels: list[ChannelFile] = Field([], description="Channels beyond the built-in ones.")
    touchpoints: list[TouchpointFile] = Field([], description="The touchpoint inventory.")
    matrix: MatrixFile | None = Field(None, description="The MCP matrix, if any.")
    loyalty: LoyaltyFile | None = Field(None, description="The loyalty programme, if any.")
    care_rules: list[CareRuleFile] = Field([], description="Scheduled care contacts.")
    promise_policy: PromisePolicyFile | None = Field(
        None, description="The bottom line for promises."
    )

    _format = field_validator("format")(_check_format)
