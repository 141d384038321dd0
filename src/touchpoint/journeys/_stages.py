"""The customer stage of each event: from a stage column, or through a blueprint.

`event_stages` reads the columns a journey function needs and returns, for every
event, the position of its stage in the ``stages`` asked for (-1: a stage outside the
list, or none). The stage comes from the ``stage`` column when the data has one;
otherwise each event's touchpoint is looked up in the blueprint (`touchpoint.model`)
and its `Stage` taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import column_names, read_coded, require_columns
from touchpoint.model import Stage

__all__ = ["default_stages", "event_stages", "stage_list"]


def default_stages(blueprint: Any) -> tuple[str, ...]:
    """The blueprint's customer stages in order, else the five customer stages."""
    stages = blueprint.stages if blueprint is not None else tuple(Stage)
    return tuple(str(s) for s in stages)


def stage_list(stages: Sequence[Any] | None, blueprint: Any) -> tuple[str, ...]:
    """``stages`` as labels (a `Stage` reads as its value), checked; the default if None."""
    if stages is None:
        return default_stages(blueprint)
    if isinstance(stages, str) or not len(stages):
        raise ValidationError(
            [Problem("stages", "must be a non-empty sequence of stage labels", stages)]
        )
    labels = tuple(str(s) for s in stages)
    seen: set[str] = set()
    for i, label in enumerate(labels):
        if label in seen:
            raise ValidationError([Problem(f"stages[{i}]", "appears twice", label)])
        seen.add(label)
    return labels


def event_stages(
    data: Any,
    names: Mapping[str, str | None],
    *,
    stage: str,
    touchpoint: str,
    blueprint: Any,
    stages: tuple[str, ...],
    categorical: Sequence[str],
    required: Sequence[str],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Read ``names`` (logical -> column) and each event's position in ``stages``.

    Returns ``(columns, categories, position)`` as `touchpoint.frame.read_coded` gives
    them, plus the int64 position of each event's stage in ``stages`` (-1 outside it).
    """
    available = column_names(data)
    from_column = stage in available
    if not from_column and blueprint is None:
        require_columns(
            available, {"stage": stage}, ["stage"]
        )  # raises: no stage column and no blueprint to map touchpoints with
    wanted = dict(names)
    if from_column:
        wanted["stage"] = stage
    else:
        wanted["touchpoint"] = touchpoint
    cols, cats = read_coded(
        data,
        wanted,
        required=(*required, "stage" if from_column else "touchpoint"),
        categorical=(*categorical, "stage" if from_column else "touchpoint"),
    )
    position = {label: i for i, label in enumerate(stages)}
    if from_column:
        codes, labels = cols["stage"], cats["stage"]
        # one lookup per distinct stage label (a handful), then one gather per event
        table = np.array([position.get(str(v), -1) for v in labels.tolist()], dtype=np.int64)
    else:
        codes, labels = cols["touchpoint"], cats["touchpoint"]
        table = np.empty(len(labels), dtype=np.int64)
        used = np.bincount(codes[codes >= 0], minlength=len(labels)) > 0
        for i, code in enumerate(labels.tolist()):  # one per distinct touchpoint code
            if code in blueprint:
                table[i] = position.get(str(blueprint.touchpoint(code).stage), -1)
            elif used[i]:
                row = int(np.flatnonzero(codes == i)[0])
                raise ValidationError(
                    [
                        Problem(
                            f"{touchpoint}[{row}]",
                            f"unknown touchpoint code (not in blueprint {blueprint.name!r}); "
                            "give a stage column or a blueprint that has it",
                            code,
                        )
                    ]
                )
            else:
                table[i] = -1
    out = np.concatenate((table, [-1]))[codes] if len(codes) else codes.astype(np.int64)
    return cols, cats, out
