"""Ratings read on their own scales: 1-5, 0-10, 1-7..., from an argument or the blueprint.

A rating means something only on its scale: 5 is top of 1-5 and a detractor's answer
on 0-10. Each rating's scale comes from ``scale`` (one scale for all, or touchpoint
code -> scale), else from the blueprint's rating indicators at its touchpoint
(`touchpoint.model.ControlIndicator.scale`), else 1-5. A top alone starts at 0 when it
is 10 or more (0-10, 0-100) and at 1 otherwise (1-5, 1-7). Ratings outside their scale
are refused.

A *satisfied* answer is in the top two boxes (4-5 of 1-5; 9-10 of 0-10, the NPS
promoters; 6-7 of 1-7), the top box of scales of fewer than five points (1 of 0-1), the
top tenth of scales wider than 0-10 (90-100 of 0-100); or at or above a given share of
the scale.

Examples
--------
>>> cols = {"rating": np.array([5.0, 9.0, np.nan])}
>>> r = read_ratings(cols, {}, rating="rating", touchpoint="touchpoint", blueprint=None,
...                  scale=10, satisfied=None)
>>> r.satisfied.tolist(), r.level.tolist()
([False, True, False], [0.5, 0.9, nan])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.model import rating_range

__all__ = ["Ratings", "blueprint_scales", "check_share", "is_number", "read_ratings", "scale_of"]


def is_number(value: Any) -> bool:
    """A real number: not a bool, not a numpy timedelta (a numpy integer)."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_ | np.timedelta64
    )


def scale_of(value: Any, where: str) -> tuple[float, float]:
    """A rating scale as (lowest, highest) from a top (5, 10) or a pair ((1, 5), (0, 10)).

    A top alone is read by `touchpoint.model.rating_range` (1-5, 1-7, 0-10,
    0-100, 0-1), the rule ingest checks ratings by.
    """
    pair: tuple[Any, ...]
    if is_number(value):
        pair = rating_range(value)
    elif isinstance(value, tuple | list) and len(value) == 2:
        pair = tuple(value)
    else:
        pair = ()
    ok = len(pair) == 2 and all(is_number(v) for v in pair)
    if ok:
        low, top = float(pair[0]), float(pair[1])
        ok = bool(np.isfinite(low) and np.isfinite(top) and top > low)
    if not ok:
        raise ValidationError(
            [
                Problem(
                    where,
                    "a rating scale is its top (5, 10) or its lowest and highest rating "
                    "((1, 5), (0, 10))",
                    value,
                )
            ]
        )
    return low, top


def blueprint_scales(blueprint: Any, codes: np.ndarray) -> dict[str, tuple[float, float]]:
    """Each known touchpoint's rating scale from its rating indicators (loops over codes)."""
    from touchpoint.model import IndicatorKind

    found: dict[str, tuple[float, float]] = {}
    for code in codes.tolist():  # a loop over the distinct touchpoints, not rows
        if not isinstance(code, str) or code not in blueprint:
            continue
        tops = {
            float(i.scale)
            for i in blueprint.touchpoint(code).indicators
            if i.kind is IndicatorKind.RATING and i.scale is not None
        }
        if len(tops) > 1:
            raise ValidationError(
                [
                    Problem(
                        "blueprint",
                        f"touchpoint {code!r} has rating indicators on several scales; "
                        "say which one its ratings use with scale={code: ...}",
                        sorted(tops),
                    )
                ]
            )
        if tops:
            found[code] = scale_of(tops.pop(), f"blueprint touchpoint {code!r} scale")
    return found


def check_share(value: Any, name: str, *, allow_none: bool, hint: str = "") -> None:
    if value is None and allow_none:
        return
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValidationError([Problem(name, "must be a share between 0 and 1" + hint, value)])


@attrs.frozen
class Ratings:
    """Each row's rating read on its own scale."""

    answered: np.ndarray  # has a rating
    level: np.ndarray  # (rating - lowest) / (highest - lowest), 0..1; NaN unanswered
    satisfied: np.ndarray  # a satisfied answer on its scale


def read_ratings(
    cols: Mapping[str, np.ndarray],
    cats: Mapping[str, np.ndarray],
    *,
    rating: str,
    touchpoint: str,
    blueprint: Any,
    scale: Any,
    satisfied: float | None,
) -> Ratings:
    """Read ``cols["rating"]`` on each row's scale and refuse ratings outside it.

    Scales: ``scale`` as one scale for every rating, or as touchpoint code -> scale, then
    the blueprint's rating indicators (`ControlIndicator.scale`), then 1-5.
    """
    default = (1.0, 5.0)
    per_tp: dict[str, tuple[float, float]] = {}
    if scale is not None and not isinstance(scale, Mapping):
        default = scale_of(scale, "scale")
    elif blueprint is not None or scale:
        if "touchpoint" not in cols:
            raise ValidationError(
                [
                    Problem(
                        touchpoint,
                        "reading each touchpoint's rating scale needs the touchpoint column",
                        touchpoint,
                    )
                ]
            )
        if blueprint is not None:
            per_tp = blueprint_scales(blueprint, cats["touchpoint"])
        for code, value in (scale or {}).items():  # a loop over the given touchpoints
            per_tp[str(code)] = scale_of(value, f"scale[{code!r}]")
    r = cols["rating"].astype(np.float64, copy=False)
    # lowest, highest and the satisfied threshold per scale: per touchpoint category (a
    # small table, the last entry for rows without a touchpoint), or one for all rows
    if per_tp:
        cat_list = np.asarray(cats["touchpoint"], dtype=object).tolist()
        low_t = np.array([per_tp.get(c, default)[0] for c in cat_list] + [default[0]])
        top_t = np.array([per_tp.get(c, default)[1] for c in cat_list] + [default[1]])
    else:
        low_t, top_t = np.array([default[0]]), np.array([default[1]])
    width_t = top_t - low_t
    if satisfied is None:
        # the top two boxes (4-5 of 1-5, 9-10 of 0-10, 6-7 of 1-7); the top box alone on
        # scales of fewer than five points; the top tenth of scales wider than 0-10
        threshold_t = top_t - np.where(width_t < 4, 0.0, np.maximum(1.0, width_t / 10.0))
    else:
        threshold_t = low_t + float(satisfied) * width_t
    if per_tp:
        codes = cols["touchpoint"]  # -1 (no touchpoint) -> the last entry, the default
        low, top, width, threshold = low_t[codes], top_t[codes], width_t[codes], threshold_t[codes]
    else:
        low, top, width, threshold = low_t[0], top_t[0], width_t[0], threshold_t[0]
    bad = (r < low) | (r > top)  # NaN (no rating) compares false
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        where = ""
        if "touchpoint" in cols and cols["touchpoint"][row] >= 0:
            where = f" at touchpoint {cats['touchpoint'][cols['touchpoint'][row]]!r}"
        lo, hi = np.broadcast_to(low, r.shape)[row], np.broadcast_to(top, r.shape)[row]
        raise ValidationError(
            [
                Problem(
                    f"{rating}[{row}]",
                    f"is outside its rating scale {lo:g}-{hi:g}{where} "
                    "(give the scale with scale=... or through the blueprint)",
                    float(r[row]),
                )
            ]
        )
    level = (r - low) / width
    return Ratings(~np.isnan(r), level, r >= threshold)
