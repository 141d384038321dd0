"""Plain-text layout of a blueprint for ``touchpoint show``.

Touchpoints are laid out by stage × line (an overview grid of counts, then each cell's
touchpoints with their indicators, key touchpoints marked ``*``), followed by the MCP
matrix with its blind spots, the loyalty programme, the care rules and the promise
policy. Alignment counts East Asian wide characters as two columns, so Chinese names
line up.

Where a standard comes from is shown with it: an indicator, care rule, loyalty programme
or promise policy whose ``source`` is ``material`` or ``example`` says so (``from the
material``, ``example value``), with its ``source_note`` on the next line, and the header
counts the indicators of each source. A blueprint's own standards (the default) carry no
mark.

Examples
--------
>>> display_width("接触点 A1")
9
>>> from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
>>> bp = Blueprint(name="mini", stages=["transaction"], touchpoints=[
...     Touchpoint("T1", "Checkout", category="channel", stage="transaction",
...                line="service", channels=["store"], key=True,
...                indicators=[ControlIndicator("wait", "Served within 5 minutes",
...                                             kind="time_limit", target=5, unit="minutes")])])
>>> text = render_blueprint(bp)
>>> "* T1  Checkout" in text and "wait: Served within 5 minutes" in text
True
>>> ind = ControlIndicator("greet", "Greeted within 1 minute", kind="time_limit", target=1,
...                        unit="minutes", source="example", source_note="the material says 及时")
>>> print(indicator_text(ind))
greet: Greeted within 1 minute  [time_limit <= 1 minutes; example value]
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterable, Sequence

from touchpoint.model import (
    Blueprint,
    CareRule,
    ControlIndicator,
    IndicatorKind,
    Line,
    LoyaltyProgramme,
    PromisePolicy,
    Provenance,
    Recurrence,
    Touchpoint,
    format_timedelta,
)

__all__ = ["display_width", "pad", "render_blueprint", "source_summary", "table"]

KEY_MARK = "*"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` display columns."""
    return text + " " * max(0, width - display_width(text))


def table(header: Sequence[str], rows: Iterable[Sequence[str]], gap: int = 2) -> list[str]:
    """Left-aligned columns; the last column is not padded.

    >>> table(["a", "b"], [["xx", "y"]])
    ['a   b', 'xx  y']
    """
    rows = [list(map(str, r)) for r in rows]
    widths = [max(display_width(r[i]) for r in [list(header), *rows]) for i in range(len(header))]
    out = []
    for row in [list(header), *rows]:
        cells = [pad(c, widths[i] + gap) for i, c in enumerate(row[:-1])] + [row[-1]]
        out.append("".join(cells).rstrip())
    return out


def period(amount: int, unit: str) -> str:
    """``3 months``, ``1 month``: an amount of a unit, in words.

    >>> period(1, "years"), period(2, "days")
    ('1 year', '2 days')
    """
    return f"{amount} {unit[:-1] if abs(amount) == 1 else unit}"


def _num(value: float) -> str:
    return f"{value:g}"


def _marked(source: Provenance) -> list[str]:
    """The mark of a record's source: none for the blueprint's own standards."""
    return [] if source is Provenance.OWN else [source.label]


def _figures(source: Provenance) -> str:
    """The mark of a whole table of figures (loyalty programme, promise policy)."""
    words = {Provenance.MATERIAL: "figures from the material", Provenance.EXAMPLE: "example values"}
    return f" ({words[source]})" if source in words else ""


def _note(record: ControlIndicator | CareRule | LoyaltyProgramme | PromisePolicy) -> str:
    """The ``source_note`` as a line under the record (empty text: no line)."""
    if not record.source_note.strip():
        return ""
    return f"source: {' '.join(record.source_note.split())}"


def source_summary(bp: Blueprint) -> str:
    """How many control indicators come from each source, e.g. ``30 from the material, 5 example values``.

    Empty when every indicator is the blueprint's own (the default).

    >>> from touchpoint.model import Blueprint, ControlIndicator, Touchpoint
    >>> def checklist(code, source):
    ...     return ControlIndicator(code, code, kind="checklist", source=source)
    >>> bp = Blueprint(name="mini", stages=["transaction"], touchpoints=[
    ...     Touchpoint("T1", "Checkout", category="channel", stage="transaction",
    ...                line="service", channels=["store"],
    ...                indicators=[checklist("a", "material"), checklist("b", "material"),
    ...                            checklist("c", "example")])])
    >>> source_summary(bp)
    '2 from the material, 1 example value'
    """
    counts = {source: 0 for source in Provenance}
    for _, ind in bp.indicators():
        counts[ind.source] += 1
    if counts[Provenance.OWN] == sum(counts.values()):
        return ""
    words = {
        Provenance.OWN: ("own standard", "own standards"),
        Provenance.MATERIAL: ("from the material", "from the material"),
        Provenance.EXAMPLE: ("example value", "example values"),
    }
    return ", ".join(f"{counts[s]} {words[s][counts[s] != 1]}" for s in Provenance if counts[s])


def indicator_text(ind: ControlIndicator) -> str:
    """One line describing an indicator: its standard and how it is judged."""
    standard = f"{ind.kind.value} {ind.comparison.value} {_num(ind.target)} {ind.unit}"
    extra = []
    if ind.kind is IndicatorKind.RATING and ind.scale is not None:
        extra.append(f"scale {_num(ind.scale)}")
    if ind.kind is IndicatorKind.COUNT:
        counted = ", ".join(ind.counts) or "this touchpoint"
        within = format_timedelta(ind.within) if ind.within is not None else "?"
        extra.append(f"counting {counted} within {within}")
    if ind.weight != 1:
        extra.append(f"weight {_num(ind.weight)}")
    extra += _marked(ind.source)
    more = f"; {'; '.join(extra)}" if extra else ""
    return f"{ind.code}: {ind.name}  [{standard}{more}]"


def _touchpoint_lines(tp: Touchpoint, indent: str) -> list[str]:
    mark = KEY_MARK if tp.key else " "
    facts = [tp.category.value, "/".join(tp.channels), tp.direction.value]
    if tp.owner:
        facts.append(f"owner: {tp.owner}")
    if tp.weight != 1:
        facts.append(f"weight {_num(tp.weight)}")
    if tp.process:
        facts.append(f"process {tp.process}")
    lines = [f"{indent}{mark} {tp.code}  {tp.name}  ({'; '.join(facts)})"]
    if tp.message:
        lines.append(f"{indent}      conveys: {tp.message}")
    for ind in tp.indicators:
        lines.append(f"{indent}      - {indicator_text(ind)}")
        if note := _note(ind):
            lines.append(f"{indent}          {note}")
    return lines


def _overview(bp: Blueprint) -> list[str]:
    layout = bp.layout()
    header = ["stage", *(f"{line.value} {line.chinese}" for line in Line)]
    rows = []
    for stage in bp.stages:
        cells = []
        for line in Line:
            tps = layout[(stage, line)]
            keys = sum(tp.key for tp in tps)
            cells.append(
                f"{len(tps)} ({keys}{KEY_MARK})" if keys else str(len(tps)) if tps else "-"
            )
        rows.append([f"{stage.value} {stage.chinese}", *cells])
    return table(header, rows)


def _details(bp: Blueprint) -> list[str]:
    layout = bp.layout()
    out: list[str] = []
    for stage in bp.stages:
        out += [
            "",
            f"{stage.value.upper()} {stage.chinese} ({stage.enterprise.value} {stage.enterprise.chinese})",
        ]
        for line in Line:
            tps = layout[(stage, line)]
            if tps:
                out.append(f"  {line.value} line {line.chinese}")
                for tp in tps:
                    out += _touchpoint_lines(tp, "    ")
    return out


def _matrix(bp: Blueprint) -> list[str]:
    report = bp.mcp()
    assert bp.matrix is not None
    letters = dict(bp.matrix.columns)
    header = ["process", *(f"{letters[ch]} {ch}" for ch in report.channels)]
    rows = []
    for p in report.processes:
        cells = []
        for ch in report.channels:
            codes = report.cells.get((p.code, ch))
            if codes:
                cells.append(",".join(codes))
            elif (p.code, ch) in report.empty:
                cells.append("-")
            else:
                cells.append("?? blind")
        rows.append([f"{p.code} {p.name}", *cells])
    out = ["", "MCP MATRIX (service processes × channels; '-' empty on purpose, '??' blind spot)"]
    out += ["  " + line for line in table(header, rows)]
    blind = report.blind_spots
    if blind:
        names = {p.code: p.name for p in report.processes}
        out.append(f"  Blind spots (管理盲点): {len(blind)}")
        out += [f"    - {code} {names[code]} × {ch}" for code, ch in blind]
    else:
        out.append("  Blind spots (管理盲点): none; every cell is handled or empty on purpose")
    if report.empty:
        out.append("  Empty on purpose:")
        out += [f"    - {code} × {ch}: {reason}" for (code, ch), reason in report.empty.items()]
    return out


def _loyalty(prog: LoyaltyProgramme, currency: str) -> list[str]:
    out = ["", f"LOYALTY PROGRAMME {prog.name!r}{_figures(prog.source)}"]
    if note := _note(prog):
        out.append(f"  {note}")
    out.append(
        f"  earns {_num(prog.earn_rate)} point(s) per {currency}; tiers by {prog.basis.value} "
        f"within {period(prog.window.amount, prog.window.unit)}; downgrade: {prog.downgrade.value}"
    )
    redeem = f"  1 point = {_num(prog.point_value)} {currency}; redeem from {_num(prog.min_redeem)} points"
    if prog.points_expire is not None:
        redeem += (
            f"; points expire after {period(prog.points_expire.amount, prog.points_expire.unit)}"
        )
    out.append(redeem)
    rows = [
        [
            tier.name,
            tier.label,
            _num(tier.threshold),
            f"{tier.discount:.0%}" if tier.discount else "-",
            "; ".join(tier.benefits),
        ]
        for tier in prog.tiers
    ]
    out += ["  " + line for line in table(["tier", "label", "from", "discount", "benefits"], rows)]
    return out


def care_rule_text(rule: CareRule) -> str:
    """One line describing when and how a care rule contacts a customer."""
    amount, unit = rule.offset.amount, rule.offset.unit
    if amount == 0:
        when = f"on {rule.anchor}"
    elif amount > 0:
        when = f"{period(amount, unit)} after {rule.anchor}"
    else:
        when = f"{period(-amount, unit)} before {rule.anchor}"
    if rule.recurrence is not Recurrence.NONE:
        times = f", {rule.occurrences} times" if rule.occurrences else ""
        when += f", then {rule.recurrence.value}{times}"
    who = []
    if rule.tiers:
        who.append("tiers " + "/".join(rule.tiers))
    if rule.segments:
        who.append("segments " + "/".join(rule.segments))
    if rule.stages:
        who.append("stages " + "/".join(rule.stages))
    whom = f"; only {', '.join(who)}" if who else ""
    mark = "".join(f"; {m}" for m in _marked(rule.source))
    return (
        f"{rule.code}: {rule.name}  [{when}; via {' > '.join(rule.channels)}; "
        f"{rule.purpose.value}; touchpoint {rule.touchpoint}{whom}{mark}]"
    )


def _care(bp: Blueprint) -> list[str]:
    out = ["", f"CARE RULES ({len(bp.care_rules)})"]
    for rule in bp.care_rules:
        out.append(f"  {care_rule_text(rule)}")
        if note := _note(rule):
            out.append(f"      {note}")
        out += [
            f"      then {period(s.offset.amount, s.offset.unit)} later via {s.channel}: {s.name}"
            for s in rule.follow_ups
        ]
    return out


def render_blueprint(bp: Blueprint) -> str:
    """The whole blueprint as readable plain text (what ``touchpoint show`` prints)."""
    n_ind = sum(1 for _ in bp.indicators())
    facts = [x for x in (bp.industry, bp.currency) if x]
    out = [f"{bp.title}  [{bp.name}]"]
    if bp.description:
        out += textwrap.wrap(bp.description, width=88)
    out.append(
        f"{' · '.join(facts)} · {len(bp)} touchpoints, {len(bp.key_touchpoints)} key ({KEY_MARK}), "
        f"{n_ind} control indicators"
    )
    if summary := source_summary(bp):
        out.append(f"Sources of the indicators: {summary}.")
    if _has_examples(bp):
        out += textwrap.wrap(
            "An 'example value' is this blueprint's illustration, not the source material's: "
            "set your own before measuring anyone against it.",
            width=88,
        )
    out += ["", "TOUCHPOINTS BY STAGE × LINE (count, key touchpoints marked *)"]
    out += ["  " + line for line in _overview(bp)]
    out += _details(bp)
    if bp.matrix is not None:
        out += _matrix(bp)
    if bp.loyalty is not None:
        out += _loyalty(bp.loyalty, bp.currency)
    if bp.care_rules:
        out += _care(bp)
    if bp.promise_policy is not None:
        pol = bp.promise_policy
        limits = []
        if pol.max_value is not None:
            limits.append(f"worth at most {_num(pol.max_value)} {bp.currency}")
        if pol.max_days is not None:
            limits.append(f"due within {pol.max_days} days")
        out += [
            "",
            f"PROMISE POLICY: promises {' and '.join(limits) or 'without limits'}"
            f"{_figures(pol.source)}",
        ]
        if note := _note(pol):
            out.append(f"  {note}")
    return "\n".join(out) + "\n"


def _has_examples(bp: Blueprint) -> bool:
    records: list[ControlIndicator | CareRule | LoyaltyProgramme | PromisePolicy] = [
        ind for _, ind in bp.indicators()
    ]
    records += bp.care_rules
    records += [r for r in (bp.loyalty, bp.promise_policy) if r is not None]
    return any(r.source is Provenance.EXAMPLE for r in records)
