"""Shapley-value attribution: each touchpoint's average marginal contribution to a coalition.

Each journey is reduced to the *set* of units it touched (a bitmask). Two worths of a
coalition ``S`` of units are offered:

- ``value="conversions"`` (default): the conversions of journeys that touched only
  units in ``S``. This game is a sum of unanimity games, so the Shapley value has a
  closed form, exact for any number of units: every converted journey splits its
  conversion equally among the distinct units it touched (Zhao et al. 2018).
- ``value="rate"``: the conversion rate of journeys whose set of units is exactly ``S``
  (0 for sets nobody followed). Computed exactly over all ``2^n`` coalitions up to
  ``exact_limit`` units (15 by default), and beyond that estimated from random
  permutations (the standard Monte Carlo estimator; its standard error is returned).

Examples
--------
>>> data = {"customer": [1, 1, 2, 3], "time": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"],
...         "touchpoint": ["ad", "store", "store", "ad"], "converted": [False, True, True, False]}
>>> shapley(data)["conversions"].tolist()
[0.5, 1.5]
"""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.attribution._journeys import Journeys, journeys
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame

__all__ = ["shapley", "shapley_values"]

_MAX_UNITS = 62  # units are bits of an int64 coalition mask


def _journey_masks(j: Journeys) -> np.ndarray:
    bits = np.left_shift(np.int64(1), j.codes.astype(np.int64))
    return np.bitwise_or.reduceat(bits, j.starts[:-1])


def _popcount(masks: np.ndarray, n: int) -> np.ndarray:
    count = np.zeros(len(masks), dtype=np.int64)
    for i in range(n):  # a loop over units (bits), small
        count += (masks >> i) & 1
    return count


@renamed(j="journeys")
def shapley_values(
    journeys: Journeys,
    *,
    value: str = "conversions",
    exact_limit: int = 15,
    n_permutations: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Shapley value of each unit of ``journeys`` and, when sampled, its standard error."""
    j = journeys
    n = len(j.units)
    if value not in ("conversions", "rate"):
        raise ValidationError([Problem("value", "expected 'conversions' or 'rate'", value)])
    if n > _MAX_UNITS:
        raise ValidationError(
            [
                Problem(
                    "touchpoint",
                    f"Shapley attribution handles at most {_MAX_UNITS} units; use a coarser "
                    "unit (channel, stage or line)",
                    n,
                )
            ]
        )
    masks = _journey_masks(j)
    conv = j.converted.astype(np.float64)
    if value == "conversions":
        sizes = _popcount(masks, n).astype(np.float64)
        share = conv / sizes
        phi = np.zeros(n)
        for i in range(n):  # a loop over units, vectorised over journeys
            phi[i] = share[((masks >> i) & 1).astype(bool)].sum()
        return phi, None
    uniq, inverse = np.unique(masks, return_inverse=True)
    conv_by_set = np.bincount(inverse, weights=conv)
    rate = conv_by_set / np.bincount(inverse)
    if n <= exact_limit:
        return _exact_rate(uniq, rate, n), None
    return _sampled_rate(uniq, rate, n, n_permutations, seed)


def _exact_rate(uniq: np.ndarray, rate: np.ndarray, n: int) -> np.ndarray:
    v = np.zeros(1 << n)
    v[uniq] = rate
    coalitions = np.arange(1 << n, dtype=np.int64)
    size = _popcount(coalitions, n)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.empty(n)
    for i in range(n):  # a loop over units, vectorised over the 2^n coalitions
        without = coalitions[((coalitions >> i) & 1) == 0]
        phi[i] = weight[size[without]] @ (v[without | (1 << i)] - v[without])
    return phi


def _sampled_rate(
    uniq: np.ndarray, rate: np.ndarray, n: int, n_permutations: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_permutations, n)), axis=1)
    bits = np.left_shift(np.int64(1), perms)
    after = np.bitwise_or.accumulate(bits, axis=1)
    before = after ^ bits

    def worth(m: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(uniq, m), 0, len(uniq) - 1)
        return np.where(uniq[pos] == m, rate[pos], 0.0)

    marginal = worth(after) - worth(before)
    contrib = np.zeros((n_permutations, n))
    np.put_along_axis(contrib, perms, marginal, axis=1)
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / np.sqrt(n_permutations)


def shapley(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    touchpoint: str = "touchpoint",
    converted: str = "converted",
    until: str = "customer",
    value: str = "conversions",
    exact_limit: int = 15,
    n_permutations: int = 2000,
    seed: int = 0,
) -> Any:
    """Shapley-value attribution of conversions to touchpoints.

    Parameters
    ----------
    data:
        One row per touch, or a `Journeys` value.
    customer, time, touchpoint, converted, until:
        As for `journeys`; ``time`` may be any orderable step column (times, or integer
        or float step numbers). Shapley values depend only on the set of units of each
        journey, so the order matters only where a conversion ends a journey
        (``until="conversion"``).
    value:
        The worth of a coalition of units: ``"conversions"`` or ``"rate"`` (see the
        module notes).
    exact_limit, n_permutations, seed:
        For ``value="rate"``: up to ``exact_limit`` units the value is exact; beyond,
        it is the mean over ``n_permutations`` random orders (reproducible by ``seed``).

    Returns
    -------
    A frame keyed by touchpoint with ``shapley_value``, ``share`` (of the sum of values),
    ``conversions`` (share times converted journeys) and, when sampled,
    ``standard_error`` of the value. With ``value="rate"`` a unit can have a negative
    value (journeys with it convert less).

    Raises
    ------
    ValidationError
        No journey converted, more than 62 units, or an unknown ``value``.

    Examples
    --------
    >>> data = {"customer": [1, 1, 2], "time": ["2024-01-01", "2024-01-02", "2024-01-01"],
    ...         "touchpoint": ["ad", "store", "store"], "converted": [False, True, False]}
    >>> shapley(data, value="rate")["shapley_value"].tolist()
    [0.5, 0.5]
    """
    j = journeys(
        data, customer=customer, time=time, touchpoint=touchpoint, converted=converted, until=until
    )
    if not j.converted.any():
        raise ValidationError(
            [Problem("converted", "no journey converted: there is nothing to attribute", 0)]
        )
    phi, se = shapley_values(
        j, value=value, exact_limit=exact_limit, n_permutations=n_permutations, seed=seed
    )
    total = phi.sum()
    share = phi / total if total != 0 else np.full(len(phi), np.nan)
    columns = {
        "shapley_value": phi,
        "share": share,
        "conversions": share * float(np.count_nonzero(j.converted)),
    }
    if se is not None:
        columns["standard_error"] = se
    return ScoreFrame({touchpoint: j.units, **columns}, key=touchpoint)
