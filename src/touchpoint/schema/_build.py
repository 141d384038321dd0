"""From parsed file data (dicts and lists) to a validated `Blueprint`, every problem at once.

Each record (channel, touchpoint, indicator, tier, care rule, ...) is checked on its own:
first its shape by its pydantic model (children left out), then its meaning by the
domain class, whose problems are re-rooted at the record's place in the file. A record
that fails is left out of the blueprint, and the blueprint-level checks (duplicate
codes, references that do not resolve, stages without touchpoints) then run on what is
left, with paths mapped back to the file and without follow-on complaints about
references to the records that already failed.

Examples
--------
>>> data = {"name": "mini", "stages": ["transaction"], "touchpoints": [
...     {"code": "T1", "name": "Checkout", "category": "channel", "stage": "transaction",
...      "line": "service", "channels": ["store"], "weight": -1}]}
>>> try:
...     blueprint_from_dict(data, source="mini.toml")
... except BlueprintError as err:
...     print(err)
1 problem in mini.toml:
  - touchpoints[0].weight: touchpoint 'T1': must be >= 0 (value: -1)
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import pydantic

from touchpoint.errors import BlueprintError, Problem
from touchpoint.model import (
    CODE_PATTERN,
    Blueprint,
    CareRule,
    Channel,
    ControlIndicator,
    EmptyCell,
    FollowUp,
    LoyaltyProgramme,
    LoyaltyTier,
    Matrix,
    Process,
    PromisePolicy,
    Stage,
    Touchpoint,
)
from touchpoint.schema._models import (
    BlueprintFile,
    CareRuleFile,
    ChannelFile,
    EmptyCellFile,
    FollowUpFile,
    IndicatorFile,
    LoyaltyFile,
    MatrixFile,
    ProcessFile,
    PromisePolicyFile,
    TierFile,
    TouchpointFile,
)
from touchpoint.schema._problems import join_path, pydantic_problems

__all__ = ["blueprint_from_dict"]

T = TypeVar("T")

_TOKEN = re.compile(r"[^.\[\]]+|\[\d+\]")

#: Blueprint-level problems that only follow from a record that already failed:
#: (path pattern, which kind of failed record makes it a follow-on).
_FOLLOW_ONS = [
    (re.compile(r"touchpoints\[\d+\]\.channels\[\d+\]"), "channel"),
    (re.compile(r"care_rules\[\d+\]\.channels\[\d+\]"), "channel"),
    (re.compile(r"care_rules\[\d+\]\.follow_ups\[\d+\]\.channel"), "channel"),
    (re.compile(r"matrix\.columns(\..+|\[.+\])"), "channel"),
    (re.compile(r"touchpoints\[\d+\]\.indicators\[\d+\]\.counts\[\d+\]"), "touchpoint"),
    (re.compile(r"care_rules\[\d+\]\.touchpoint"), "touchpoint"),
    (re.compile(r"care_rules\[\d+\]\.follow_ups\[\d+\]\.touchpoint"), "touchpoint"),
    (re.compile(r"touchpoints\[\d+\]\.process"), "process"),
    (re.compile(r"matrix\.empty\[\d+\]\.process"), "process"),
    (re.compile(r"care_rules\[\d+\]\.tiers\[\d+\]"), "tier"),
    (re.compile(r"stages\[\d+\]"), "stage"),
]
_STAGES = {s.value for s in Stage}
_COLUMN = re.compile(r"matrix\.columns\[(\d+)\]")
_ITEM = re.compile(r"^([a-z_]+)\[(\d+)\]")
_CHILD_LISTS = {"indicators", "tiers", "follow_ups", "processes", "empty"}
_KEY_WITHOUT_INDICATORS = re.compile(r"(touchpoints\[\d+\])\.indicators")


def blueprint_from_dict(data: Any, *, source: str | None = None) -> Blueprint:
    """Build a `Blueprint` from parsed TOML or JSON data, or raise `BlueprintError` listing every problem.

    Parameters
    ----------
    data:
        What `tomllib.loads` or `json.loads` returned (a dict for a valid file).
    source:
        The file name shown in the error.

    Examples
    --------
    >>> bp = blueprint_from_dict({"name": "mini", "stages": ["awareness"], "touchpoints": [
    ...     {"code": "AD", "name": "Billboard", "category": "communication",
    ...      "stage": "awareness", "line": "promotion", "channels": ["advertising"]}]})
    >>> bp.touchpoint("AD").line.value
    'promotion'
    """
    return _Builder(source).blueprint(data)


class _Builder:
    """Walks the data once, building what it can and collecting every problem."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.raw: Any = None
        self.problems: list[Problem] = []
        #: original indices of the records kept, per list path ("touchpoints[3].indicators")
        self.kept: dict[str, list[int]] = {}
        #: names or codes of records that failed, by kind, for follow-on suppression
        self.failed: dict[str, set[Hashable]] = {
            k: set() for k in ("channel", "touchpoint", "process", "tier", "stage")
        }
        self.incomplete: set[str] = set()  # records with a failed child or child list
        self.matrix_failed = False
        self.loyalty_failed = False

    # ------------------------------------------------------------------ helpers
    def _validate(
        self,
        model: type[pydantic.BaseModel],
        raw: Any,
        path: str,
        *,
        children: tuple[str, ...] = (),
        placeholders: Mapping[str, Any] | None = None,
    ) -> tuple[pydantic.BaseModel | None, set[str]]:
        """Check a record's own fields; keep it with defaults for bad optional fields.

        Returns the validated model (None if a required field is bad) and the names of
        the fields that had problems.
        """
        data = raw
        if isinstance(raw, dict):
            data = {k: _stripped(model, k, v) if k in children else v for k, v in raw.items()}
        try:
            return model.model_validate(data), set()
        except pydantic.ValidationError as exc:
            self.problems += pydantic_problems(exc, path, list(model.model_fields))
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if not isinstance(data, dict) or any(len(e["loc"]) == 0 for e in exc.errors()):
                return None, bad
        placeholders = placeholders or {}
        required = {name for name, f in model.model_fields.items() if f.is_required()}
        if (bad & required) - set(placeholders):
            return None, bad
        retry = {k: v for k, v in data.items() if k not in bad}
        retry.update({k: v for k, v in placeholders.items() if k in bad})
        try:
            return model.model_validate(retry), bad
        except pydantic.ValidationError:  # pragma: no cover - dropping bad keys leaves it valid
            return None, bad

    def _construct(
        self,
        factory: Callable[..., T],
        path: str,
        model: Any = None,
        ignore: set[str] | None = None,
        /,
        **kwargs: Any,
    ) -> T | None:
        """Build a domain object; its own problems are re-rooted at ``path``.

        Problems in the fields named in ``ignore`` (already reported by pydantic and
        left at their defaults) are not reported again. When ``model`` (the record's
        pydantic model) is given and the problems lie in optional fields or in items of
        lists, the object is built again without them, so that the blueprint can still
        check it against the rest (unknown channels, duplicate codes).
        """
        try:
            return factory(**kwargs)
        except BlueprintError as exc:
            problems = [p for p in exc.problems if _field(p.path) not in (ignore or ())]
            self._add([p.under(path) for p in problems] if path else problems)
            retry = self._without(exc.problems, path, model, kwargs) if model else None
        except (ValueError, TypeError, OverflowError) as exc:
            self._add([Problem(path, f"cannot be read: {exc}")])
            return None
        if retry is None:
            return None
        try:
            return factory(**retry)
        except (BlueprintError, ValueError, TypeError, OverflowError):
            return None

    def _without(
        self, problems: list[Problem], path: str, model: Any, kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """``kwargs`` without the bad optional fields and bad list items; None if impossible."""
        retry = dict(kwargs)
        drop: dict[str, set[int]] = {}
        for p in problems:
            item = _ITEM.match(p.path)
            if item and isinstance(retry.get(item.group(1)), list | tuple):
                drop.setdefault(item.group(1), set()).add(int(item.group(2)))
                continue
            name = _field(p.path)
            field = model.model_fields.get(name)
            if field is None or field.is_required():
                return None
            retry.pop(name, None)
        for name, indices in drop.items():
            at = join_path(path, [name])
            kept = self.kept.get(at, list(range(len(retry[name]))))
            remaining = [i for i in range(len(retry[name])) if i not in indices]
            field = model.model_fields.get(name)
            if not remaining and (field is None or field.is_required()):
                return None
            retry[name] = [retry[name][i] for i in remaining]
            self.kept[at] = [kept[i] for i in remaining]
            if name in _CHILD_LISTS:
                self.incomplete.add(path)
        return retry

    def _add(self, problems: list[Problem]) -> None:
        for p in problems:
            path = self._column(self._original(p.path))
            if p.has_value and isinstance(p.value, float):
                # show the number as the file wrote it (-1, not the -1.0 it became)
                written = self._written(path)
                if (
                    isinstance(written, int)
                    and not isinstance(written, bool)
                    and written == p.value
                ):
                    p = Problem(p.path, p.message, written)
            self.problems.append(
                Problem(path, p.message, p.value) if p.has_value else Problem(path, p.message)
            )

    def _column(self, path: str) -> str:
        """``matrix.columns[1]`` (the model's pairs) is ``matrix.columns.phone`` in the file."""
        match = _COLUMN.fullmatch(path)
        columns = self._written("matrix.columns")
        if match and isinstance(columns, dict) and int(match.group(1)) < len(columns):
            key = list(columns)[int(match.group(1))]
            return (
                f"matrix.columns.{key}" if CODE_PATTERN.match(key) else f"matrix.columns[{key!r}]"
            )
        return path

    def _written(self, path: str) -> Any:
        """The value at ``path`` in the file's data (None if there is none)."""
        value = self.raw
        for token in _TOKEN.findall(path):
            if token.startswith("["):
                index = int(token[1:-1])
                value = value[index] if isinstance(value, list) and index < len(value) else None
            else:
                value = value.get(token) if isinstance(value, dict) else None
        return value

    def _original(self, path: str) -> str:
        """Map list indices of built objects back to the file's indices."""
        current = ""
        for token in _TOKEN.findall(path):
            if token.startswith("["):
                index = int(token[1:-1])
                kept = self.kept.get(current)
                if kept is not None and index < len(kept):
                    index = kept[index]
                current += f"[{index}]"
            else:
                current = f"{current}.{token}" if current else token
        return current

    def _list(self, raw: Any, key: str, path: str, build: Callable[[Any, str], Any]) -> list[Any]:
        """Build each record of the list ``raw[key]``; remember which ones were kept."""
        at = join_path(path, [key])
        items = raw.get(key) if isinstance(raw, dict) else None
        built, kept = [], []
        if isinstance(items, list):
            for i, item in enumerate(items):
                obj = build(item, f"{at}[{i}]")
                if obj is not None:
                    built.append(obj)
                    kept.append(i)
            if len(kept) < len(items):
                self.incomplete.add(path)
        self.kept[at] = kept
        return built

    def _fail(self, kind: str, raw: Any, key: str) -> None:
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, Hashable):
            self.failed[kind].add(value)

    @staticmethod
    def _fields(model: pydantic.BaseModel, *exclude: str) -> dict[str, Any]:
        return model.model_dump(exclude_unset=True, exclude={"format", *exclude})

    # ------------------------------------------------------------------ records
    def channel(self, raw: Any, path: str) -> Channel | None:
        model, bad = self._validate(ChannelFile, raw, path)
        obj = (
            self._construct(Channel, path, ChannelFile, bad, **self._fields(model))
            if model
            else None
        )
        if obj is None:
            self._fail("channel", raw, "name")
        return obj

    def indicator(self, raw: Any, path: str) -> ControlIndicator | None:
        model, bad = self._validate(IndicatorFile, raw, path)
        return (
            self._construct(ControlIndicator, path, IndicatorFile, bad, **self._fields(model))
            if model
            else None
        )

    def touchpoint(self, raw: Any, path: str) -> Touchpoint | None:
        model, bad = self._validate(TouchpointFile, raw, path, children=("indicators",))
        indicators = self._list(raw, "indicators", path, self.indicator)
        if "indicators" in bad:
            self.incomplete.add(path)
        obj = None
        if model is not None:
            fields = self._fields(model, "indicators")
            obj = self._construct(
                Touchpoint, path, TouchpointFile, bad, **fields, indicators=indicators
            )
        if obj is None:
            self._fail("touchpoint", raw, "code")
            stage = raw.get("stage") if isinstance(raw, dict) else None
            self.failed["stage"].add(stage if isinstance(stage, str) and stage in _STAGES else "*")
        return obj

    def process(self, raw: Any, path: str) -> Process | None:
        model, _ = self._validate(ProcessFile, raw, path)
        obj = self._construct(Process, path, **self._fields(model)) if model else None
        if obj is None:
            self._fail("process", raw, "code")
        return obj

    def empty_cell(self, raw: Any, path: str) -> EmptyCell | None:
        model, _ = self._validate(EmptyCellFile, raw, path)
        return self._construct(EmptyCell, path, **self._fields(model)) if model else None

    def matrix(self, raw: Any, path: str) -> Matrix | None:
        model, _ = self._validate(MatrixFile, raw, path, children=("processes", "empty"))
        processes = self._list(raw, "processes", path, self.process)
        empty = self._list(raw, "empty", path, self.empty_cell)
        obj = None
        if model is not None:
            fields = self._fields(model, "processes", "empty")
            obj = self._construct(Matrix, path, **fields, processes=processes, empty=empty)
        self.matrix_failed = obj is None
        return obj

    def tier(self, raw: Any, path: str) -> LoyaltyTier | None:
        model, bad = self._validate(TierFile, raw, path)
        obj = (
            self._construct(LoyaltyTier, path, TierFile, bad, **self._fields(model))
            if model
            else None
        )
        if obj is None:
            self._fail("tier", raw, "name")
        return obj

    def loyalty(self, raw: Any, path: str) -> LoyaltyProgramme | None:
        model, bad = self._validate(LoyaltyFile, raw, path, children=("tiers",))
        tiers = self._list(raw, "tiers", path, self.tier)
        obj = None
        if model is not None:
            fields = self._fields(model, "tiers")
            if path in self.incomplete or "tiers" in bad:
                # Checks across tiers would only echo the tiers that failed: skip them,
                # still checking the programme's other fields.
                before = len(self.problems)
                stand_in = tiers or [LoyaltyTier("stand-in", 0)]
                obj = self._construct(LoyaltyProgramme, path, None, bad, **fields, tiers=stand_in)
                self.problems[before:] = [
                    p for p in self.problems[before:] if not p.path.startswith(f"{path}.tiers")
                ]
                obj = obj if tiers else None
            else:
                obj = self._construct(LoyaltyProgramme, path, None, bad, **fields, tiers=tiers)
        self.loyalty_failed = obj is None
        return obj

    def follow_up(self, raw: Any, path: str) -> FollowUp | None:
        model, bad = self._validate(FollowUpFile, raw, path)
        return (
            self._construct(FollowUp, path, FollowUpFile, bad, **self._fields(model))
            if model
            else None
        )

    def care_rule(self, raw: Any, path: str) -> CareRule | None:
        model, bad = self._validate(CareRuleFile, raw, path, children=("follow_ups",))
        follow_ups = self._list(raw, "follow_ups", path, self.follow_up)
        if model is None:
            return None
        fields = self._fields(model, "follow_ups")
        if "trigger" in bad:  # a rule whose trigger failed would only echo it as no anchor
            bad = bad | {"anchor"}
        return self._construct(CareRule, path, CareRuleFile, bad, **fields, follow_ups=follow_ups)

    def promise_policy(self, raw: Any, path: str) -> PromisePolicy | None:
        model, _ = self._validate(PromisePolicyFile, raw, path)
        return self._construct(PromisePolicy, path, **self._fields(model)) if model else None

    # ---------------------------------------------------------------- blueprint
    def blueprint(self, raw: Any) -> Blueprint:
        self.raw = raw
        if not isinstance(raw, dict):
            kind = type(raw).__name__
            raise BlueprintError(
                [
                    Problem(
                        "",
                        "the file must hold a table of keys and values (TOML) or an object (JSON)",
                        kind,
                    )
                ],
                source=self.source,
            )
        model, bad = self._validate(
            BlueprintFile,
            raw,
            "",
            children=(
                "channels",
                "touchpoints",
                "care_rules",
                "matrix",
                "loyalty",
                "promise_policy",
            ),
            placeholders={"name": "blueprint", "title": "blueprint"},
        )
        parts: dict[str, Any] = {
            "channels": self._list(raw, "channels", "", self.channel),
            "touchpoints": self._list(raw, "touchpoints", "", self.touchpoint),
        }
        for key, build in (
            ("matrix", self.matrix),
            ("loyalty", self.loyalty),
            ("promise_policy", self.promise_policy),
        ):
            if isinstance(raw.get(key), dict):
                parts[key] = build(raw[key], key)
        if not isinstance(raw.get("matrix"), dict):
            self.matrix_failed = "matrix" in bad
        if not isinstance(raw.get("loyalty"), dict):
            self.loyalty_failed = "loyalty" in bad
        parts["care_rules"] = self._list(raw, "care_rules", "", self.care_rule)
        if model is not None:
            fields = self._fields(model, *parts)
            before = len(self.problems)
            bp = self._construct(Blueprint, "", **fields, **parts)
            self.problems[before:] = [
                p for p in self.problems[before:] if not self._follow_on(p, bad)
            ]
        if self.problems or model is None or bp is None:
            raise BlueprintError(_ordered(self.problems, list(raw)), source=self.source)
        return bp

    def _follow_on(self, problem: Problem, bad: set[str]) -> bool:
        """Whether a blueprint-level problem only echoes a record that already failed."""
        path, value = problem.path, problem.value if problem.has_value else None
        if path in bad or path.split("[", 1)[0] in bad:
            return True  # a placeholder stood in for a bad top-level field
        if path.startswith("touchpoints") and path.endswith(".stage") and "stages" in bad:
            return True
        key = _KEY_WITHOUT_INDICATORS.fullmatch(path)
        if key and key.group(1) in self.incomplete:
            return True
        for pattern, kind in _FOLLOW_ONS:
            if pattern.fullmatch(path):
                if kind == "process" and self.matrix_failed:
                    return True
                if kind == "tier" and self.loyalty_failed:
                    return True
                if kind == "stage" and (
                    bad & {"stages", "touchpoints"} or "*" in self.failed["stage"]
                ):
                    return True
                if kind == "channel" and "channels" in bad:
                    return True
                return isinstance(value, Hashable) and value in self.failed[kind]
        return False


def _stripped(model: type[pydantic.BaseModel], key: str, value: Any) -> Any:
    """A child list or table, left out of its parent's own check (it is checked record by record).

    A value of the wrong kind stays, for the parent's check to report.
    """
    is_list = typing.get_origin(model.model_fields[key].annotation) is list
    if is_list and isinstance(value, list):
        return []
    if not is_list and isinstance(value, dict):
        return None
    return value


def _field(path: str) -> str:
    """The first field of a relative path: ``indicators`` of ``indicators[0].code``."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _natural(path: str) -> list[Any]:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", path)]


def _ordered(problems: list[Problem], keys: list[Any]) -> list[Problem]:
    """Problems in file order (top-level keys as the file has them, ``[2]`` before ``[10]``), without repeats."""
    rank = {key: i for i, key in enumerate(keys)}
    seen: set[tuple[str, str]] = set()
    unique = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            unique.append(p)

    def key(p: Problem) -> tuple[int, list[Any]]:
        top = _field(p.path)
        return (-1 if not p.path else rank.get(top, len(rank)), _natural(p.path))

    return sorted(unique, key=key)
