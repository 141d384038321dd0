"""Hypothesis strategies that build valid `Blueprint`s from the domain classes.

Every blueprint drawn is valid by construction: unique codes, channels that exist,
references that resolve, every stage covered, key touchpoints with indicators, tiers
with increasing thresholds. Other test modules may import `blueprints()`.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from touchpoint.model import (
    BUILTIN_CHANNELS,
    Anchor,
    Blueprint,
    CapAction,
    CareRule,
    Category,
    Channel,
    Comparison,
    ContactApproach,
    ControlIndicator,
    Direction,
    DowngradeRule,
    EmptyCell,
    FollowUp,
    IndicatorKind,
    Line,
    LoyaltyProgramme,
    LoyaltyTier,
    Matrix,
    Offset,
    Process,
    PromisePolicy,
    Provenance,
    Purpose,
    QualificationBasis,
    Recurrence,
    Stage,
    Touchpoint,
)
from touchpoint.model._duration import OFFSET_UNITS, TIME_UNITS

__all__ = ["blueprints", "codes", "texts"]

codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,7}", fullmatch=True)
#: Any printable-or-not text, but no lone surrogates (they cannot be written as UTF-8).
_any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
texts = _any_text.filter(lambda s: s.strip() != "")
free_text = st.one_of(st.just(""), texts)
numbers = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**9), max_value=10**9),
)
non_negative = st.one_of(
    st.floats(min_value=0, max_value=1e12, allow_nan=False), st.integers(0, 10**9)
)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)
offsets = st.builds(Offset, st.integers(-3000, 3000), st.sampled_from(OFFSET_UNITS))
positive_offsets = st.builds(Offset, st.integers(1, 3000), st.sampled_from(OFFSET_UNITS))
#: ``source`` and ``source_note`` of a record: any provenance, with or without a note.
sources = st.fixed_dictionaries(
    {"source": st.sampled_from(Provenance), "source_note": free_text}
) | st.just({})
durations = st.builds(
    lambda n, unit: dt.timedelta(seconds=n * TIME_UNITS[unit]),
    st.integers(1, 10_000),
    st.sampled_from(list(TIME_UNITS)),
)


@st.composite
def indicators(draw: st.DrawFn, code: str, all_codes: list[str]) -> ControlIndicator:
    kind = draw(st.sampled_from(IndicatorKind))
    kwargs = {
        "code": code,
        "name": draw(texts),
        "kind": kind,
        "comparison": draw(st.none() | st.sampled_from(Comparison)),
        "weight": draw(positive),
        "description": draw(free_text),
        **draw(sources),
    }
    if kind is IndicatorKind.TIME_LIMIT:
        kwargs["target"] = draw(non_negative)
        kwargs["unit"] = draw(st.sampled_from(list(TIME_UNITS)))
    elif kind is IndicatorKind.RATING:
        scale = draw(st.none() | st.sampled_from([5, 10, 7.5]))
        top = 1e6 if scale is None else scale
        kwargs["scale"] = scale
        kwargs["target"] = draw(st.floats(min_value=0, max_value=top, allow_nan=False))
        kwargs["unit"] = draw(free_text)
    elif kind is IndicatorKind.COUNT:
        kwargs["target"] = draw(st.integers(0, 10))
        kwargs["within"] = draw(durations)
        kwargs["counts"] = draw(st.lists(st.sampled_from(all_codes), max_size=3))
        kwargs["unit"] = draw(free_text)
    else:
        kwargs["target"] = draw(st.sampled_from([1, 1.0, 0]))
    return ControlIndicator(**kwargs)


@st.composite
def touchpoints(
    draw: st.DrawFn,
    code: str,
    stage: Stage,
    all_codes: list[str],
    channels: list[str],
    processes: list[str],
) -> Touchpoint:
    ind_codes = draw(st.lists(codes, unique=True, max_size=3))
    key = draw(st.booleans()) and bool(ind_codes)
    return Touchpoint(
        code=code,
        name=draw(texts),
        category=draw(st.sampled_from(Category)),
        stage=stage,
        line=draw(st.sampled_from(Line)),
        channels=draw(st.lists(st.sampled_from(channels), min_size=1, max_size=3)),
        direction=draw(st.sampled_from(Direction)),
        message=draw(free_text),
        owner=draw(free_text),
        key=key,
        weight=draw(non_negative),
        indicators=[draw(indicators(c, all_codes)) for c in ind_codes],
        process=draw(st.none() | st.sampled_from(processes)) if processes else None,
        description=draw(free_text),
    )


@st.composite
def matrices(draw: st.DrawFn, channels: list[str]) -> Matrix:
    process_codes = draw(st.lists(codes, unique=True, min_size=1, max_size=4))
    columns = draw(st.lists(st.sampled_from(channels), unique=True, min_size=1, max_size=4))
    letters = "ABCDEFGH"
    cells = [(p, c) for p in process_codes for c in columns]
    empty = draw(st.lists(st.sampled_from(cells), unique=True, max_size=3))
    return Matrix(
        processes=[Process(c, draw(texts)) for c in process_codes],
        columns={ch: letters[i] for i, ch in enumerate(columns)},
        empty=[EmptyCell(p, c, draw(texts)) for p, c in empty],
    )


@st.composite
def loyalty_programmes(draw: st.DrawFn) -> LoyaltyProgramme:
    names = draw(st.lists(codes, unique=True, min_size=1, max_size=4))
    steps = draw(
        st.lists(st.floats(1, 1e5, allow_nan=False), min_size=len(names), max_size=len(names))
    )
    thresholds, total = [0], 0.0
    for step in steps[1:]:
        total += step
        thresholds.append(total)
    tiers = [
        LoyaltyTier(
            name,
            threshold,
            discount=draw(st.floats(0, 0.99)),
            benefits=draw(st.lists(texts, max_size=2)),
            label=draw(free_text),
        )
        for name, threshold in zip(names, thresholds, strict=True)
    ]
    return LoyaltyProgramme(
        tiers=tiers,
        earn_rate=draw(non_negative),
        basis=draw(st.sampled_from(QualificationBasis)),
        window=draw(positive_offsets),
        downgrade=draw(st.sampled_from(DowngradeRule)),
        point_value=draw(non_negative),
        min_redeem=draw(non_negative),
        points_expire=draw(st.none() | positive_offsets),
        name=draw(texts),
        **draw(sources),
    )


@st.composite
def care_rules(
    draw: st.DrawFn, code: str, tp_codes: list[str], channels: list[str], tiers: list[str]
) -> CareRule:
    return CareRule(
        code=code,
        name=draw(texts),
        touchpoint=draw(st.sampled_from(tp_codes)),
        anchor=draw(st.sampled_from([a.value for a in Anchor]) | codes),
        offset=draw(offsets),
        recurrence=draw(st.sampled_from(Recurrence)),
        occurrences=draw(st.none() | st.integers(1, 100)),
        channels=draw(st.lists(st.sampled_from(channels), min_size=1, max_size=3)),
        purpose=draw(st.sampled_from(Purpose)),
        segments=draw(st.lists(codes, max_size=2)),
        tiers=draw(st.lists(st.sampled_from(tiers), max_size=2)) if tiers else (),
        stages=draw(st.lists(st.sampled_from([s.value for s in Stage]), max_size=2)),
        on_cap=draw(st.sampled_from(CapAction)),
        message=draw(free_text),
        follow_ups=[
            FollowUp(
                c,
                draw(texts),
                offset=Offset(draw(st.integers(0, 100)), draw(st.sampled_from(OFFSET_UNITS))),
                channel=draw(st.sampled_from(channels)),
                message=draw(free_text),
            )
            for c in draw(st.lists(codes, unique=True, max_size=3))
        ],
        **draw(sources),
    )


@st.composite
def blueprints(draw: st.DrawFn, max_touchpoints: int = 8) -> Blueprint:
    """A valid blueprint using every part of the model (some parts optional)."""
    own_channels = [
        Channel(name, draw(texts), draw(st.sampled_from(ContactApproach)))
        for name in draw(
            st.lists(codes.filter(lambda c: c not in BUILTIN_CHANNELS), unique=True, max_size=3)
        )
    ]
    channels = sorted(BUILTIN_CHANNELS)[:6] + [ch.name for ch in own_channels]
    matrix = draw(st.none() | matrices(channels))
    processes = [p.code for p in matrix.processes] if matrix else []
    tp_codes = draw(st.lists(codes, unique=True, min_size=1, max_size=max_touchpoints))
    stages = draw(st.lists(st.sampled_from(Stage), unique=True, min_size=1, max_size=len(tp_codes)))
    # every stage of the blueprint gets at least one touchpoint
    tp_stages = stages + [draw(st.sampled_from(stages)) for _ in tp_codes[len(stages) :]]
    tps = [
        draw(touchpoints(code, stage, tp_codes, channels, processes))
        for code, stage in zip(tp_codes, tp_stages, strict=False)
    ]
    loyalty = draw(st.none() | loyalty_programmes())
    tier_names = [t.name for t in loyalty.tiers] if loyalty else []
    rules = [
        draw(care_rules(c, tp_codes, channels, tier_names))
        for c in draw(st.lists(codes, unique=True, max_size=3))
    ]
    policy = draw(
        st.none()
        | st.builds(
            PromisePolicy,
            max_value=st.none() | non_negative,
            max_days=st.none() | st.integers(0, 3650),
            source=st.sampled_from(Provenance),
            source_note=free_text,
        )
    )
    return Blueprint(
        name=draw(codes),
        title=draw(free_text),
        touchpoints=draw(st.permutations(tps)),
        stages=stages,
        channels=own_channels,
        matrix=matrix,
        loyalty=loyalty,
        care_rules=rules,
        promise_policy=policy,
        description=draw(free_text),
        industry=draw(free_text),
        currency=draw(st.sampled_from(["CNY", "EUR", "USD"])),
    )
