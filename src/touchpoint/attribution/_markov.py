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

Counting and solving are separate steps. `count_transitions` turns journeys into
`Transitions` (counts of (from, to) pairs, without a loop per journey: encoded states
and pairs counted with ``numpy.bincount`` and a lookup table, so no touch is sorted;
``numpy.unique`` only for key spaces of millions, high orders over many units);
counts of disjoint sets of journeys over the same units add up (`add_transitions`), so
on a Dask DataFrame each partition of customers is counted on its own and the sums
are solved by the very code that solves the in-memory counts (`solve_transitions`).

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

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from touchpoint._deprecation import renamed
from touchpoint._distinct import distinct
from touchpoint._extras import require
from touchpoint.attribution._journeys import Journeys, journeys
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, distributed, factorize

__all__ = [
    "Transitions",
    "add_transitions",
    "check_order",
    "count_transitions",
    "markov",
    "removal_effects",
    "solve_transitions",
]

_DENSE_LIMIT = 1500  # states up to which higher-order chains are solved densely
# state keys of the higher-order counts: a real state's key is >= 1 (see _state_keys)
_START, _CONV, _NULL = 0, -1, -2


@distributed("markov")
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
        `journeys` with ``until="conversion"`` or a look-back ``window``). Or a Dask
        DataFrame of touches: the transitions are counted per partition of customers
        and summed, and the result is computed (see Notes).
    customer, time, touchpoint, converted:
        Column names; ``touchpoint`` may name any unit column (channel, stage, line).
        ``time`` orders each customer's touches: times, or any numeric step column
        (integer or float step numbers); touches at the same step keep their input
        order (see `journeys`).
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

    With a Dask DataFrame (any order) the touchpoint values are collected first (a
    reduction) so that every partition codes them alike; the touches are then shuffled
    by customer, each partition's journeys are counted with `count_transitions`, and
    the counts are summed in a tree: no process holds more than one partition of
    touches. The integer counts equal the in-memory ones, so the result does too.
    """
    check_order(order)
    j = journeys(
        data,
        customer=customer,
        time=time,
        touchpoint=touchpoint,
        converted=converted,
        until="customer",
        with_times=False,
    )
    _check_converted(int(np.count_nonzero(j.converted)))
    return markov_frame(count_transitions(j, order=int(order)), touchpoint)


def markov_frame(counts: Transitions, touchpoint: str) -> ScoreFrame:
    """`markov`'s result from the transition counts of the journeys (see `Transitions`)."""
    effects = solve_transitions(counts)
    share = effects / effects.sum()
    return ScoreFrame(
        {
            touchpoint: counts.units,
            "removal_effect": effects,
            "share": share,
            "conversions": share * counts.converted,
        },
        key=touchpoint,
    )


@renamed(j="journeys")
def removal_effects(journeys: Journeys, *, order: int = 1) -> np.ndarray:
    """Removal effect of each unit of ``journeys`` (aligned with ``journeys.units``)."""
    check_order(order)
    _check_converted(int(np.count_nonzero(journeys.converted)))
    return solve_transitions(count_transitions(journeys, order=int(order)))


def check_order(order: Any) -> None:
    """A `ValidationError` unless ``order`` is a whole number >= 1."""
    if not isinstance(order, int | np.integer) or order < 1:
        raise ValidationError([Problem("order", "must be a whole number >= 1", order)])


def check_state_bits(n_units: int, order: int) -> None:
    """A `ValidationError` when states of ``order`` touches over ``n_units`` overflow 64 bits."""
    if order > 1 and order * np.log2(n_units + 1) > 62:
        raise ValidationError(
            [
                Problem(
                    "order",
                    f"too high for {n_units} units (states would not fit in 64 bits)",
                    order,
                )
            ]
        )


def _check_converted(n_converted: int) -> None:
    if n_converted == 0:
        raise ValidationError(
            [Problem("converted", "no journey converted: there is nothing to attribute", 0)]
        )


@attrs.frozen(eq=False)
class Transitions:
    """Transition counts of the chain of some journeys, ready to add up or solve.

    Attributes
    ----------
    units:
        The touchpoints, in code order (the result is keyed by them).
    order:
        The memory of the chain.
    counts:
        First order: the ``(n + 3) x (n + 3)`` int64 matrix of transitions between the
        ``n`` units, then start, conversion and null. Higher order: ``(src, dst, count)``
        arrays over state keys (the last ``order`` unit codes + 1 as digits in base
        ``n + 1``; 0 is start, -1 conversion, -2 null), each pair once, sorted by
        (src, dst).
    converted:
        The number of converted journeys.
    """

    units: np.ndarray
    order: int
    counts: Any
    converted: int


@renamed(j="journeys")
def count_transitions(journeys: Journeys, *, order: int = 1) -> Transitions:
    """The transitions of ``journeys`` as a chain of the given order."""
    j = journeys
    converted = int(np.count_nonzero(j.converted))
    if order == 1:
        return Transitions(j.units, 1, _first_order_counts(j), converted)
    return Transitions(j.units, order, _higher_order_counts(j, order), converted)


def empty_transitions(units: np.ndarray, order: int) -> Transitions:
    """No transitions at all over ``units`` (what a partition without touches counts)."""
    if order == 1:
        size = len(units) + 3
        return Transitions(units, 1, np.zeros((size, size), dtype=np.int64), 0)
    none = np.zeros(0, dtype=np.int64)
    return Transitions(units, order, (none, none, none), 0)


def add_transitions(parts: Iterable[Transitions]) -> Transitions:
    """The sum of transition counts over the same units (of disjoint sets of journeys)."""
    parts = list(parts)
    first = parts[0]
    if first.order == 1:
        total = first.counts.copy()
        for part in parts[1:]:
            total += part.counts
        counts: Any = total
    else:
        src = np.concatenate([p.counts[0] for p in parts])
        dst = np.concatenate([p.counts[1] for p in parts])
        count = np.concatenate([p.counts[2] for p in parts])
        counts = _sum_pairs(src, dst, count)
    return Transitions(first.units, first.order, counts, sum(p.converted for p in parts))


def solve_transitions(t: Transitions) -> np.ndarray:
    """Removal effect of each unit of ``t`` (aligned with ``t.units``)."""
    _check_converted(t.converted)
    if t.order == 1:
        return _first_order(t.counts, len(t.units))
    src_key, dst_key, count = t.counts
    return _higher_order(src_key, dst_key, count, len(t.units), t.order)


def _sum_pairs(
    src: np.ndarray, dst: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of equal (src, dst) pairs added up; pairs sorted by (src, dst)."""
    keys, inverse = np.unique(np.r_[src, dst], return_inverse=True)
    inverse = inverse.reshape(-1)
    m = len(keys)
    pairs, where = np.unique(inverse[: len(src)] * m + inverse[len(src) :], return_inverse=True)
    total = np.zeros(len(pairs), dtype=np.int64)
    np.add.at(total, where.reshape(-1), count)
    return keys[pairs // m], keys[pairs % m], total


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


def _first_order_counts(j: Journeys) -> np.ndarray:
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
    return counts


def _first_order(counts: np.ndarray, n: int) -> np.ndarray:
    transient = np.r_[np.arange(n), n]  # units, then start
    rows = counts[transient].astype(np.float64)
    rows /= np.maximum(rows.sum(axis=1, keepdims=True), 1)  # a unit never seen: a zero row
    Q = rows[:, transient]
    r = rows[:, n + 1]
    M = np.linalg.inv(np.eye(n + 1) - Q)
    p = M @ r
    s = n  # the start's index among the transient states
    if p[s] <= 0:
        raise ValidationError([Problem("converted", "no journey converted", 0)])
    reach = M[s, :n] / np.diag(M)[:n]
    result: np.ndarray = np.clip(reach * p[:n] / p[s], 0.0, 1.0)
    return result


def _higher_order_counts(j: Journeys, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(j.units)
    check_state_bits(n, k)
    base = n + 1
    codes = j.codes.astype(np.int64) + 1  # 0 is "before the journey started"
    key = codes.copy()
    starts, lengths = j.starts[:-1], j.lengths
    for lag in range(1, k):  # a loop over the order, small
        # the touch `lag` rows back, as the digit of base**lag; then taken out again
        # where that row belongs to an earlier journey (the first `lag` touches of each)
        weight = base**lag
        key[lag:] += codes[: len(codes) - lag] * weight
        for i in range(lag):  # a loop over the positions before the lag, small
            rows = starts[lengths > i] + i
            rows = rows[rows >= lag]
            key[rows] -= codes[rows - lag] * weight
    state, state_keys = factorize(key, sort=True)
    n_states = len(state_keys)
    src, dst = _transitions(j, state, n_states)
    size = n_states + 3
    src *= size
    src += dst
    pair, pairs = factorize(src, sort=True)
    counts = np.bincount(pair, minlength=len(pairs))
    # back from state numbers (valid in these journeys only) to keys (valid everywhere)
    keys = np.r_[state_keys, _START, _CONV, _NULL]
    src_key, dst_key = keys[pairs // size], keys[pairs % size]
    by_key = np.lexsort((dst_key, src_key))  # the order `add_transitions` gives
    return src_key[by_key], dst_key[by_key], counts[by_key].astype(np.int64)


def _higher_order(
    src_key: np.ndarray, dst_key: np.ndarray, count: np.ndarray, n: int, k: int
) -> np.ndarray:
    base = n + 1
    # every state is entered at least once, so the destinations name all the states
    state_keys = distinct(dst_key[dst_key > 0])
    n_states = len(state_keys)
    size = n_states + 3

    def number(key: np.ndarray) -> np.ndarray:
        out = np.searchsorted(state_keys, key)
        out[key == _START] = n_states
        out[key == _CONV] = n_states + 1
        out[key == _NULL] = n_states + 2
        return out

    pair = number(src_key) * size + number(dst_key)
    order = np.argsort(pair, kind="stable")
    pair, counts = pair[order], count[order]
    frm, to = pair // size, pair % size
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
