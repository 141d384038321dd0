"""`Blueprint`: a company's touchpoint inventory, the first step of the method.

A blueprint holds the touchpoints with their indicators, the channels beyond the built-in
ones, the MCP matrix (service processes × channels), the loyalty programme, the care
rules and the promise policy. Building one validates it as a whole and reports every
problem at once in a `BlueprintError`.

Examples
--------
>>> from touchpoint.model import ControlIndicator, Touchpoint
>>> bp = Blueprint(
...     name="mini", title="Mini shop", stages=["transaction"],
...     touchpoints=[Touchpoint("T1", "Checkout", category="channel", stage="transaction",
...                             line="service", channels=["store"], key=True,
...                             indicators=[ControlIndicator("wait", "Served in 5 min",
...                                         kind="time_limit", target=5, unit="minutes")])],
... )
>>> [tp.code for tp in bp.key_touchpoints]
['T1']
>>> bp.touchpoint("T1").name
'Checkout'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import cast

import attrs

from touchpoint.errors import BlueprintError, Problem
from touchpoint.model._care import CareRule
from touchpoint.model._checks import as_enum, check_code, check_text, raise_if, reroot, to_tuple
from touchpoint.model._classification import BUILTIN_CHANNELS, Category, Channel, Line
from touchpoint.model._indicator import ControlIndicator
from touchpoint.model._loyalty import LoyaltyProgramme
from touchpoint.model._promise import PromisePolicy
from touchpoint.model._stage import Stage
from touchpoint.model._touchpoint import Touchpoint

__all__ = ["Blueprint", "EmptyCell", "Matrix", "MatrixReport", "Process"]


@attrs.frozen
class Process:
    """A service process, one row of the MCP matrix (e.g. ``102`` SIM change)."""

    code: str
    name: str

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"process {self.code!r}")

    def problems(self) -> list[Problem]:
        return check_code(self.code) + check_text(self.name, "name")


@attrs.frozen
class EmptyCell:
    """A matrix cell left empty on purpose, with the reason (so it is not a blind spot)."""

    process: str
    channel: str
    reason: str

    def __attrs_post_init__(self) -> None:
        raise_if(self.problems(), f"empty cell {self.process!r} x {self.channel!r}")

    def problems(self) -> list[Problem]:
        return check_text(self.reason, "reason")


def _columns(value: Mapping[str, str] | Iterable[Iterable[str]]) -> tuple[tuple[str, str], ...]:
    """The matrix's channel -> column letter pairs, from a mapping or from pairs."""
    if isinstance(value, Mapping):
        return tuple(value.items())
    return cast("tuple[tuple[str, str], ...]", tuple(tuple(pair) for pair in value))


@attrs.frozen
class Matrix:
    """The MCP matrix (Management of Contact Points): service processes × channels.

    ``columns`` maps each channel name to its column letter (``{"store": "A"}``), so the
    touchpoint for process ``102`` at channel ``store`` is coded ``A102``.
    """

    processes: tuple[Process, ...] = attrs.field(converter=to_tuple)
    columns: tuple[tuple[str, str], ...] = attrs.field(converter=_columns)
    empty: tuple[EmptyCell, ...] = attrs.field(default=(), converter=to_tuple)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def letter(self, channel: str) -> str:
        return dict(self.columns)[channel]


@attrs.frozen
class MatrixReport:
    """Which touchpoints fill each cell of the matrix, and the blind spots (管理盲点)."""

    processes: tuple[Process, ...]
    channels: tuple[str, ...]
    cells: dict[tuple[str, str], tuple[str, ...]]
    empty: dict[tuple[str, str], str]

    @property
    def blind_spots(self) -> list[tuple[str, str]]:
        """Cells neither handled by a touchpoint nor declared empty, row by row."""
        return [
            (p.code, ch)
            for p in self.processes
            for ch in self.channels
            if not self.cells.get((p.code, ch)) and (p.code, ch) not in self.empty
        ]


def _stages(value: object) -> tuple[Stage, ...]:
    return tuple(as_enum(Stage, s, "stages") for s in to_tuple(value))


@attrs.frozen
class Blueprint:
    """A company's touchpoint inventory; constructing one validates it whole.

    Parameters
    ----------
    name:
        Short code of the blueprint (``"car-dealership"``).
    title, description, industry, currency:
        What people read about it.
    stages:
        The customer-view stages this blueprint covers (default: all five); each of them
        needs at least one touchpoint.
    touchpoints:
        The inventory.
    channels:
        Channels beyond `BUILTIN_CHANNELS`.
    matrix:
        The MCP matrix, if the company lays its touchpoints out as one.
    loyalty, care_rules, promise_policy:
        The loyalty programme, scheduled care contacts and the promise bottom line.
    """

    name: str
    title: str = ""
    touchpoints: tuple[Touchpoint, ...] = attrs.field(default=(), converter=to_tuple)
    stages: tuple[Stage, ...] = attrs.field(default=tuple(Stage), converter=_stages)
    channels: tuple[Channel, ...] = attrs.field(default=(), converter=to_tuple)
    matrix: Matrix | None = None
    loyalty: LoyaltyProgramme | None = None
    care_rules: tuple[CareRule, ...] = attrs.field(default=(), converter=to_tuple)
    promise_policy: PromisePolicy | None = None
    description: str = ""
    industry: str = ""
    currency: str = "CNY"

    def __attrs_post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)
        problems = self.problems()
        if problems:
            raise BlueprintError(problems)

    # ----------------------------------------------------------------- validation
    def problems(self) -> list[Problem]:
        """Every problem of the blueprint as a whole, each with its path and value."""
        found = check_code(self.name, "name") + check_text(self.title, "title")
        found += self._duplicates("touchpoints", [tp.code for tp in self.touchpoints], "code")
        found += self._duplicates("channels", [ch.name for ch in self.channels], "name")
        found += self._duplicates("care_rules", [r.code for r in self.care_rules], "code")
        known_channels = self.channel_names
        codes = {tp.code for tp in self.touchpoints}
        processes = {p.code for p in self.matrix.processes} if self.matrix else set()

        for i, tp in enumerate(self.touchpoints):
            at = f"touchpoints[{i}]"
            for j, ch in enumerate(tp.channels):
                if ch not in known_channels:
                    found.append(
                        Problem(
                            f"{at}.channels[{j}]", f"touchpoint {tp.code!r}: unknown channel", ch
                        )
                    )
            if tp.key and not tp.indicators:
                found.append(
                    Problem(
                        f"{at}.indicators",
                        f"touchpoint {tp.code!r}: key touchpoints need at least one control indicator",
                    )
                )
            if tp.stage not in self.stages:
                found.append(
                    Problem(
                        f"{at}.stage",
                        f"touchpoint {tp.code!r}: stage is not one of the blueprint's stages",
                        tp.stage.value,
                    )
                )
            if tp.process is not None and tp.process not in processes:
                found.append(
                    Problem(
                        f"{at}.process",
                        f"touchpoint {tp.code!r}: no such process in the matrix",
                        tp.process,
                    )
                )
            for k, ind in enumerate(tp.indicators):
                for m, counted in enumerate(ind.counts):
                    if counted not in codes:
                        found.append(
                            Problem(
                                f"{at}.indicators[{k}].counts[{m}]",
                                f"indicator {ind.code!r}: unknown touchpoint",
                                counted,
                            )
                        )
        covered = {tp.stage for tp in self.touchpoints}
        for i, stage in enumerate(self.stages):
            if stage not in covered:
                found.append(Problem(f"stages[{i}]", "no touchpoint in this stage", stage.value))
        found += self._matrix_problems(known_channels)
        found += self._care_problems(codes, known_channels)
        if self.loyalty is not None:
            found += reroot("loyalty", self.loyalty.problems())
        return found

    @staticmethod
    def _duplicates(prefix: str, keys: list[str], field: str) -> list[Problem]:
        counts = Counter(keys)
        return [
            Problem(f"{prefix}[{i}].{field}", "duplicate " + field, key)
            for i, key in enumerate(keys)
            if counts[key] > 1 and keys.index(key) != i
        ]

    def _matrix_problems(self, known_channels: set[str]) -> list[Problem]:
        if self.matrix is None:
            return []
        found = self._duplicates(
            "matrix.processes", [p.code for p in self.matrix.processes], "code"
        )
        process_codes = {p.code for p in self.matrix.processes}
        letters: set[str] = set()
        for i, (ch, letter) in enumerate(self.matrix.columns):
            if letter and letter in letters:
                found.append(Problem(f"matrix.columns[{i}]", "duplicate column letter", letter))
            letters.add(letter)
            if ch not in known_channels:
                found.append(Problem(f"matrix.columns[{i}]", "unknown channel", ch))
            if not letter:
                found.append(Problem(f"matrix.columns[{i}]", "needs a column letter", letter))
        for i, cell in enumerate(self.matrix.empty):
            if cell.process not in process_codes:
                found.append(
                    Problem(
                        f"matrix.empty[{i}].process", "no such process in the matrix", cell.process
                    )
                )
            if cell.channel not in self.matrix.channels:
                found.append(
                    Problem(
                        f"matrix.empty[{i}].channel", "not a column of the matrix", cell.channel
                    )
                )
        return found

    def _care_problems(self, codes: set[str], known_channels: set[str]) -> list[Problem]:
        found = []
        tiers = {t.name for t in self.loyalty.tiers} if self.loyalty else set()
        for i, rule in enumerate(self.care_rules):
            at = f"care_rules[{i}]"
            if rule.touchpoint not in codes:
                found.append(
                    Problem(
                        f"{at}.touchpoint",
                        f"care rule {rule.code!r}: unknown touchpoint",
                        rule.touchpoint,
                    )
                )
            for j, ch in enumerate(rule.channels):
                if ch not in known_channels:
                    found.append(
                        Problem(
                            f"{at}.channels[{j}]", f"care rule {rule.code!r}: unknown channel", ch
                        )
                    )
            for j, tier in enumerate(rule.tiers):
                if tier not in tiers:
                    found.append(
                        Problem(
                            f"{at}.tiers[{j}]",
                            f"care rule {rule.code!r}: unknown loyalty tier",
                            tier,
                        )
                    )
            for j, stage in enumerate(rule.stages):
                if stage not in {s.value for s in Stage}:
                    found.append(
                        Problem(
                            f"{at}.stages[{j}]", f"care rule {rule.code!r}: unknown stage", stage
                        )
                    )
            for j, step in enumerate(rule.follow_ups):
                if step.touchpoint is not None and step.touchpoint not in codes:
                    found.append(
                        Problem(
                            f"{at}.follow_ups[{j}].touchpoint",
                            f"care rule {rule.code!r}: unknown touchpoint",
                            step.touchpoint,
                        )
                    )
                if step.channel not in known_channels:
                    found.append(
                        Problem(
                            f"{at}.follow_ups[{j}].channel",
                            f"care rule {rule.code!r}: unknown channel",
                            step.channel,
                        )
                    )
        return found

    # ------------------------------------------------------------------- lookups
    @property
    def channel_names(self) -> set[str]:
        """Names of every channel this blueprint knows: built-ins and its own."""
        return set(BUILTIN_CHANNELS) | {ch.name for ch in self.channels}

    def channel(self, name: str) -> Channel:
        for ch in self.channels:
            if ch.name == name:
                return ch
        if name in BUILTIN_CHANNELS:
            return BUILTIN_CHANNELS[name]
        raise KeyError(f"blueprint {self.name!r} has no channel {name!r}")

    def touchpoint(self, code: str) -> Touchpoint:
        """The touchpoint with this code; `KeyError` naming the blueprint if none."""
        for tp in self.touchpoints:
            if tp.code == code:
                return tp
        raise KeyError(f"blueprint {self.name!r} has no touchpoint {code!r}")

    def __contains__(self, code: object) -> bool:
        return any(tp.code == code for tp in self.touchpoints)

    def __iter__(self) -> Iterator[Touchpoint]:
        return iter(self.touchpoints)

    def __len__(self) -> int:
        return len(self.touchpoints)

    def by_stage(self, stage: Stage | str) -> tuple[Touchpoint, ...]:
        stage = Stage(stage)
        return tuple(tp for tp in self.touchpoints if tp.stage is stage)

    def by_line(self, line: Line | str) -> tuple[Touchpoint, ...]:
        line = Line(line)
        return tuple(tp for tp in self.touchpoints if tp.line is line)

    def by_category(self, category: Category | str) -> tuple[Touchpoint, ...]:
        category = Category(category)
        return tuple(tp for tp in self.touchpoints if tp.category is category)

    @property
    def key_touchpoints(self) -> tuple[Touchpoint, ...]:
        return tuple(tp for tp in self.touchpoints if tp.key)

    def indicators(self) -> Iterator[tuple[Touchpoint, ControlIndicator]]:
        """Every (touchpoint, indicator) pair, in blueprint order."""
        for tp in self.touchpoints:
            for ind in tp.indicators:
                yield tp, ind

    def layout(self) -> dict[tuple[Stage, Line], tuple[Touchpoint, ...]]:
        """Touchpoints laid out by stage × line (the grid `touchpoint show` prints)."""
        return {
            (stage, line): tuple(
                tp for tp in self.touchpoints if tp.stage is stage and tp.line is line
            )
            for stage in self.stages
            for line in Line
        }

    def care_rule(self, code: str) -> CareRule:
        for rule in self.care_rules:
            if rule.code == code:
                return rule
        raise KeyError(f"blueprint {self.name!r} has no care rule {code!r}")

    def mcp(self) -> MatrixReport:
        """The MCP matrix filled with touchpoint codes, with its blind spots."""
        if self.matrix is None:
            raise KeyError(f"blueprint {self.name!r} has no MCP matrix")
        cells: dict[tuple[str, str], list[str]] = {}
        for tp in self.touchpoints:
            if tp.process is None:
                continue
            for ch in tp.channels:
                if ch in self.matrix.channels:
                    cells.setdefault((tp.process, ch), []).append(tp.code)
        return MatrixReport(
            processes=self.matrix.processes,
            channels=self.matrix.channels,
            cells={k: tuple(v) for k, v in cells.items()},
            empty={(c.process, c.channel): c.reason for c in self.matrix.empty},
        )
