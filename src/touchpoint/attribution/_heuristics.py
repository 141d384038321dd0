"""Rule-based attribution: first touch, last touch, linear, time decay, position-based.

Each converted journey hands out one conversion among its touches by a fixed rule; a
unit's credit is the sum over its touches (a touchpoint met twice in a journey is
credited twice). Non-converted journeys get nothing. Weights are computed for all
touches at once and summed per unit with ``numpy.bincount``.

Examples
--------
>>> data = {"customer": [1, 1, 1], "time": ["2024-01-01", "2024-01-02", "2024-01-03"],
...         "touchpoint": ["ad", "email", "store"], "converted": [False, False, True]}
>>> heuristic(data, model="position_based")["conversions"].round(2).tolist()
[0.4, 0.2, 0.4]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.attribution._journeys import Journeys, journeys
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame

__all__ = ["MODELS", "heuristic", "touch_weights"]

#: The rule-based models.
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")


@renamed(j="journeys")
def touch_weights(
    journeys: Journeys,
    model: str,
    *,
    half_life: Any = 7.0,
    first: float = 0.4,
    last: float = 0.4,
) -> np.ndarray:
    """Credit of each touch of ``journeys`` (0 in non-converted ones); each journey's sum is 1.

    Position-based gives ``first`` to the first touch, ``last`` to the last and spreads
    the rest evenly over the touches between; a journey of two touches splits
    ``first : last`` (normalised), a journey of one touch gives it everything. Time
    decay halves a touch's weight for every ``half_life`` (days, or a
    ``numpy.timedelta64``) between it and the journey's last touch; for journeys ordered
    by a numeric step column, ``half_life`` is a number of steps.
    """
    if model not in MODELS:
        raise ValidationError([Problem("model", f"expected one of {list(MODELS)}", model)])
    j = journeys
    n_touch = len(j.codes)
    lengths = j.lengths
    journey = j.journey_of_touch
    length = lengths[journey].astype(np.float64)
    pos = np.arange(n_touch) - j.starts[:-1][journey]
    is_first = pos == 0
    is_last = pos == length - 1
    if model == "first_touch":
        w = is_first.astype(np.float64)
    elif model == "last_touch":
        w = is_last.astype(np.float64)
    elif model == "linear":
        w = 1.0 / length
    elif model == "time_decay":
        if j.times is None:
            raise ValidationError(
                [Problem("model", "time decay needs journeys built with their times", model)]
            )
        end = j.times[j.last_touch()][journey]
        if j.times.dtype.kind == "M":
            hl = _half_life_us(half_life)
            age = (end - j.times).astype("timedelta64[us]").astype(np.float64)
        else:  # numeric steps: the half-life is a number of steps
            hl = _half_life_steps(half_life)
            age = (end - j.times).astype(np.float64)
        w = np.exp2(-age / hl)
        w /= np.bincount(journey, weights=w, minlength=j.n_journeys)[journey]
    else:
        if first < 0 or last < 0 or first + last > 1:
            raise ValidationError(
                [
                    Problem(
                        "first, last",
                        "need first >= 0, last >= 0, first + last <= 1",
                        (first, last),
                    )
                ]
            )
        middle = np.where(length > 2, (1.0 - first - last) / np.maximum(length - 2, 1), 0.0)
        w = np.where(is_first, first, np.where(is_last, last, middle))
        two = length == 2
        if first + last > 0:
            w = np.where(two, np.where(is_first, first, last) / (first + last), w)
        else:
            w = np.where(two, 0.5, w)
        w = np.where(length == 1, 1.0, w)
    result: np.ndarray = w * j.converted[journey]
    return result


def _half_life_us(half_life: Any) -> float:
    if isinstance(half_life, int | float):
        value = float(half_life) * 86_400e6
    else:
        value = float(np.timedelta64(half_life).astype("timedelta64[us]").astype(np.int64))
    if not value > 0:
        raise ValidationError([Problem("half_life", "must be positive", str(half_life))])
    return value


def _half_life_steps(half_life: Any) -> float:
    if isinstance(half_life, bool | np.timedelta64) or not isinstance(
        half_life, int | float | np.number
    ):
        raise ValidationError(
            [
                Problem(
                    "half_life",
                    "with a numeric step column the half-life is a number of steps",
                    str(half_life),
                )
            ]
        )
    if not half_life > 0:
        raise ValidationError([Problem("half_life", "must be positive", str(half_life))])
    return float(half_life)


def heuristic(
    data: Any,
    *,
    model: str = "last_touch",
    customer: str = "customer",
    time: str = "time",
    touchpoint: str = "touchpoint",
    converted: str = "converted",
    until: str = "customer",
    half_life: Any = 7.0,
    first: float = 0.4,
    last: float = 0.4,
) -> Any:
    """Conversions credited to each touchpoint by a rule-based model.

    Parameters
    ----------
    data:
        One row per touch, or a `Journeys` value.
    model:
        One of ``"first_touch"``, ``"last_touch"``, ``"linear"``, ``"time_decay"``,
        ``"position_based"``.
    until:
        How rows form journeys (see `journeys`): ``"customer"`` as `markov` does, or
        ``"conversion"``.
    customer, time, touchpoint, converted:
        Column names; ``time`` may be any orderable step column (times, or integer or
        float step numbers; see `journeys`).
    half_life, first, last:
        Parameters of time decay and position-based (see `touch_weights`); with a
        numeric step column, ``half_life`` is a number of steps.

    Returns
    -------
    A frame keyed by touchpoint with ``conversions`` (credited) and ``share``.

    Raises
    ------
    ValidationError
        No journey converted, or an unknown model.

    Examples
    --------
    >>> data = {"customer": [1, 1, 2], "time": ["2024-01-01", "2024-01-02", "2024-01-01"],
    ...         "touchpoint": ["ad", "store", "store"], "converted": [False, True, True]}
    >>> heuristic(data, model="first_touch")["conversions"].tolist()
    [1.0, 1.0]
    >>> heuristic(data, model="linear")["conversions"].tolist()
    [0.5, 1.5]
    """
    j = journeys(
        data, customer=customer, time=time, touchpoint=touchpoint, converted=converted, until=until
    )
    if not j.converted.any():
        raise ValidationError(
            [Problem("converted", "no journey converted: there is nothing to attribute", 0)]
        )
    w = touch_weights(j, model, half_life=half_life, first=first, last=last)
    credit = np.bincount(j.codes, weights=w, minlength=len(j.units))
    return ScoreFrame(
        {touchpoint: j.units, "conversions": credit, "share": credit / credit.sum()}, key=touchpoint
    )
