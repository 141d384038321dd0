"""Markov-chain attribution by removal effect, exact (a linear solve, not simulation).

Journeys are read as walks of an absorbing Markov chain from a start state through the
touchpoints to *conversion* or *null*. The removal effect of a touchpoint is the share
of the chain's conversion probability that is lost when the touchpoint is removed (its
incoming transitions go to *null*); a touchpoint's share of conversions is its removal
effect over the sum of all removal effects (Anderl et al. 2016; the convention of the
ChannelAttribution package).

First order: with ``M = (I - Q)^-1`` over the transient states and ``p`` the conversion
probabilities, removing ``c`` loses ``h_c p_c`` of the start's conversion probability,
where ``h_c = M[start, c] / M[c, c]`` is the probability of ever reaching ``c``. One
matrix inverse gives every removal effect. Higher order ``k``: states are the last ``k``
touches; removing ``c`` removes every state that contains it, one sparse solve per unit.

Transitions are counted without a loop per journey: encoded (from, to) pairs counted
with ``numpy.bincount`` (first order) or ``numpy.unique`` (higher order).

Examples
--------
>>> data = {"customer": [1, 1, 2, 3, 3],
...         "time": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", "2024-01-02"],
...         "touchpoint": ["ad", "store", "ad", "email", "store"],
...         "converted": [False, True, False, False, True]}
>>> result = markov(data)
>>> list(result["touchpoint"]), result["removal_effect"].round(3).tolist()
(['ad', 'email', 'store'], [0.5, 0.5, 1.0])
>>> result["conversions"].round(3).tolist()
[0.5, 0.5, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.attribution._journeys import Journeys, journeys
from touchpoint.clv._columns import keyed_result
from touchpoint.errors import Problem, ValidationError

__all__ = ["markov", "removal_effects"]

_DENSE_LIMIT = 1500  # states up to which higher-order chains are solved densely


def markov(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    touchpoint: str = "touchpoint",
    converted: str = "converted",
    order: int = 1,
) -> Any:
    """Removal effect and share of conversions of each touchpoint.

    Parameters
    ----------
    data:
        One row per touch (an EventFrame, a pandas / polars DataFrame, an Arrow table or
        a dict of arrays); each customer's touches form one journey, which converts when
        any of its rows has ``converted`` true. Or a `Journeys` value (e.g. from
        `journeys` with ``until="conversion"`` or a look-back ``window``).
    customer, time, touchpoint, converted:
        Column names; ``touchpoint`` may name any unit column (channel, stage, line).
    order:
        Memory of the chain: 1 (the next touch depends on the current one) or more (on
        the last ``order`` touches).

    Returns
    -------
    A frame keyed by touchpoint with ``removal_effect`` (share of the conversion
    probability lost without it), ``share`` (removal effect over their sum) and
    ``conversions`` (share times the number of converted journeys).

    Raises
    ------
    ValidationError
        No journey converted (nothing to attribute), or a bad ``order``.

    Notes
    -----
    A single touchpoint gets removal effect 1 and all conversions. Repeated touches of
    the same touchpoint (self-loops) do not change first-order removal effects.
    """
    j = journeys(
        data,
        customer=customer,
        time=time,
        touchpoint=touchpoint,
        converted=converted,
        until="customer",
        with_times=False,
    )
    effects = removal_effects(j, order=order)
    total = float(np.count_nonzero(j.converted))
    share = effects / effects.sum()
    return keyed_result(
        touchpoint,
        j.units,
        {"removal_effect": effects, "share": share, "conversions": share * total},
    )


def removal_effects(j: Journeys, *, order: int = 1) -> np.ndarray:
    """Removal effect of each unit of ``j`` (aligned with ``j.units``)."""
    if not isinstance(order, int | np.integer) or order < 1:
        raise ValidationError([Problem("order", "must be a whole number >= 1", order)])
    if not j.converted.any():
        raise ValidationError(
            [Problem("converted", "no journey converted: there is nothing to attribute", 0)]
        )
    if order == 1:
        return _first_order(j)
    return _higher_order(j, int(order))


def _transitions(j: Journeys, state: np.ndarray, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) of every transition; states ``n_states`` = start, +1 conversion, +2 null."""
    start_s, conv_s, null_s = n_states, n_states + 1, n_states + 2
    first, last = j.first_touch(), j.last_touch()
    src = np.empty(len(state) + j.n_journeys, dtype=np.int64)
    dst = np.empty_like(src)
    # each touch's incoming transition: from the previous touch, or from start
    src[: len(state)] = np.r_[start_s, state[:-1]]
    src[first] = start_s
    dst[: len(state)] = state
    # each journey's exit: from its last touch to conversion or null
    src[len(state) :] = state[last]
    dst[len(state) :] = np.where(j.converted, conv_s, null_s)
    return src, dst


def _first_order(j: Journeys) -> np.ndarray:
    n = len(j.units)
    size = n + 3
    codes = j.codes
    # touch -> next touch, with pairs across journey boundaries sent to a dropped bin
    pair = codes[:-1] * size
    pair += codes[1:]
    pair[j.starts[1:-1] - 1] = size * size
    counts = np.bincount(pair, minlength=size * size + 1)[: size * size].reshape(size, size)
    first, last = codes[j.first_touch()], codes[j.last_touch()]
    counts[n, :n] += np.bincount(first, minlength=n)  # start -> first touch
    counts[:n, n + 1] += np.bincount(last, weights=j.converted, minlength=n).astype(np.int64)
    counts[:n, n + 2] += np.bincount(last, weights=~j.converted, minlength=n).astype(np.int64)
    transient = np.r_[np.arange(n), n]  # units, then start
    rows = counts[transient].astype(np.float64)
    rows /= rows.sum(axis=1, keepdims=True)
    Q = rows[:, transient]
    r = rows[:, n + 1]
    M = np.linalg.inv(np.eye(n + 1) - Q)
    p = M @ r
    s = n  # the start's index among the transient states
    if p[s] <= 0:
        raise ValidationError([Problem("converted", "no journey converted", 0)])
    reach = M[s, :n] / np.diag(M)[:n]
    return np.clip(reach * p[:n] / p[s], 0.0, 1.0)


def _higher_order(j: Journeys, k: int) -> np.ndarray:
    n = len(j.units)
    base = n + 1
    if k * np.log2(base) > 62:
        raise ValidationError(
            [Problem("order", f"too high for {n} units (states would not fit in 64 bits)", k)]
        )
    codes = j.codes.astype(np.int64) + 1  # 0 is "before the journey started"
    pos = np.arange(len(codes)) - np.repeat(j.starts[:-1], j.lengths)
    key = np.zeros(len(codes), dtype=np.int64)
    for lag in range(k):  # a loop over the order, small
        shifted = np.zeros_like(codes)
        shifted[lag:] = codes[: len(codes) - lag]
        shifted[pos < lag] = 0
        key += shifted * base**lag
    state_keys, state = np.unique(key, return_inverse=True)
    n_states = len(state_keys)
    src, dst = _transitions(j, state.reshape(-1), n_states)
    size = n_states + 3
    pairs, counts = np.unique(src * size + dst, return_counts=True)
    frm, to = pairs // size, pairs % size
    out_total = np.bincount(frm, weights=counts, minlength=size)
    prob = counts / out_total[frm]
    # units contained in each state (digits of its key)
    digits = np.stack([(state_keys // base**lag) % base for lag in range(k)], axis=1) - 1
    contains = np.zeros((n_states, n), dtype=bool)
    rows = np.repeat(np.arange(n_states), k)
    flat = digits.reshape(-1)
    contains[rows[flat >= 0], flat[flat >= 0]] = True
    base_p = _conversion_probability(frm, to, prob, n_states, np.ones(n_states, dtype=bool))
    if base_p <= 0:
        raise ValidationError([Problem("converted", "no journey converted", 0)])
    effects = np.empty(n)
    for c in range(n):  # one solve per unit (the removed unit); units are few
        effects[c] = (
            1.0 - _conversion_probability(frm, to, prob, n_states, ~contains[:, c]) / base_p
        )
    return np.clip(effects, 0.0, 1.0)


def _conversion_probability(
    frm: np.ndarray, to: np.ndarray, prob: np.ndarray, n_states: int, keep: np.ndarray
) -> float:
    """Probability of reaching conversion from start, through kept states only."""
    start, conv = n_states, n_states + 1
    alive = np.r_[keep, True]  # the kept states and start
    index = np.full(n_states + 3, -1, dtype=np.int64)
    index[np.flatnonzero(alive)] = np.arange(int(alive.sum()))
    m = int(alive.sum())
    internal = (frm < n_states + 1) & (to < n_states + 1)
    internal &= (index[frm] >= 0) & (index[to] >= 0)
    rhs = np.zeros(m)
    to_conv = (to == conv) & (index[frm] >= 0)
    np.add.at(rhs, index[frm[to_conv]], prob[to_conv])
    i, jdx, v = index[frm[internal]], index[to[internal]], prob[internal]
    if m <= _DENSE_LIMIT:
        A = np.eye(m)
        np.add.at(A, (i, jdx), -v)
        sol = np.linalg.solve(A, rhs)
    else:
        sparse = require("scipy.sparse", extra="clv", feature="higher-order Markov attribution")
        linalg = require(
            "scipy.sparse.linalg", extra="clv", feature="higher-order Markov attribution"
        )
        A = sparse.identity(m, format="csc") - sparse.csc_matrix((v, (i, jdx)), shape=(m, m))
        sol = linalg.spsolve(A, rhs)
    return float(sol[index[start]])
