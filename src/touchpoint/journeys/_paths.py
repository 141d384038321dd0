"""Touchpoint paths: the most frequent paths to conversion and to drop-out, and drop-off.

A journey is a customer's touches in time order, ending at their first purchase
(converted) or at their last event (dropped out). Journeys are built by
`touchpoint.attribution.journeys` (one sort, no loop per customer), whose ``Journeys``
columns the counts here work on.

Examples
--------
>>> events = {"customer": [1, 1, 1, 2, 2, 3],
...           "time": [1, 2, 3, 1, 2, 1],
...           "touchpoint": ["ad", "ad", "store", "ad", "web", "ad"],
...           "outcome": [None, None, "purchase", None, None, None]}
>>> p = paths(events, time="time")
>>> p.conversion["path"].tolist(), p.dropout["path"].tolist()
([('ad', 'store')], [('ad',), ('ad', 'web')])
>>> p.drop_off["touchpoint"].tolist(), p.drop_off["dropouts"].tolist()
(['ad', 'store', 'web'], [1, 0, 1])
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs
import numpy as np

from touchpoint._distinct import distinct
from touchpoint.attribution import Journeys, journeys
from touchpoint.attribution.parts import sorted_units
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    PURCHASE_OUTCOMES,
    ScoreFrame,
    check_codes,
    purchase_columns,
    purchase_mask,
    read_coded,
)

__all__ = ["PathReport", "collapse_repeats", "paths"]


@attrs.frozen(eq=False)
class PathReport:
    """What `paths` returns.

    Attributes
    ----------
    conversion, dropout:
        The ``top`` most frequent paths of converted and of dropped-out journeys, keyed
        by ``path`` (a tuple of touchpoint codes): ``journeys`` (how many followed it),
        ``share`` (of all converted, resp. dropped-out, journeys) and ``touches`` (its
        length). Most frequent first; equal counts by path order.
    drop_off:
        One row per touchpoint, keyed by ``touchpoint`` (ascending): ``journeys`` (that
        touched it at least once), ``last`` (whose last touch it is), ``dropouts``
        (dropped-out journeys whose last touch it is), ``share`` (dropouts / all
        dropped-out journeys: where drop-outs stop) and ``rate`` (dropouts / journeys
        touching it: how often a journey that reaches it ends there unconverted).
    converted, dropped:
        The total numbers of converted and of dropped-out journeys.
    """

    conversion: ScoreFrame
    dropout: ScoreFrame
    drop_off: ScoreFrame
    converted: int
    dropped: int


def collapse_repeats(j: Journeys) -> Journeys:
    """The journeys with consecutive repeats of a touchpoint kept once (A A B A -> A B A).

    >>> from touchpoint.attribution import journeys
    >>> j = journeys({"customer": [1, 1, 1, 1], "time": [1, 2, 3, 4],
    ...               "touchpoint": ["a", "a", "b", "a"], "converted": [False] * 4})
    >>> collapse_repeats(j).paths()
    [('a', 'b', 'a')]
    """
    n = len(j.codes)
    keep = np.ones(n, dtype=bool)
    if n > 1:
        keep[1:] = j.codes[1:] != j.codes[:-1]
    keep[j.starts[:-1][j.lengths > 0]] = True  # each journey's first touch
    if keep.all():
        return j
    kept = np.add.reduceat(keep.astype(np.int64), j.starts[:-1]) if n else keep[:0]
    return Journeys(
        units=j.units,
        codes=j.codes[keep],
        times=None if j.times is None else j.times[keep],
        starts=np.r_[0, np.cumsum(kept)].astype(np.int64),
        converted=j.converted,
        customers=j.customers,
    )


def _top(paths_: list[tuple[Any, ...]], counts: np.ndarray, total: int, top: int) -> ScoreFrame:
    rows = np.flatnonzero(counts > 0)
    # most frequent first; equal counts keep the distinct paths' order (sorted codes)
    rows = rows[np.argsort(-counts[rows], kind="stable")][:top]
    path_col = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows.tolist()):  # top paths only: a few
        path_col[i] = paths_[r]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts[rows] / total if total else np.full(len(rows), np.nan)
    return ScoreFrame(
        {
            "path": path_col,
            "journeys": counts[rows].astype(np.int64),
            "share": np.asarray(share, dtype=np.float64),
            "touches": np.array([len(p) for p in path_col.tolist()], dtype=np.int64),
        },
        key="path",
    )


def paths(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    touchpoint: str = "touchpoint",
    outcome: str = "outcome",
    amount: str = "amount",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    collapse: bool = True,
    repeat: bool = False,
    top: int = 10,
) -> PathReport:
    """The most frequent touchpoint paths to conversion and to drop-out, and drop-off.

    Parameters
    ----------
    data:
        Events: an `EventFrame`, a pandas / polars DataFrame, an Arrow table or a dict.
        Every event needs a customer, a time (or a numeric step) and a touchpoint.
    customer, time, touchpoint:
        The columns of the customer id, the event time (touches at the same time keep
        their input order) and the touchpoint code.
    outcome, amount, purchases:
        Which events are conversions: purchases by the library's one rule
        (`touchpoint.frame.purchase_mask`: outcome in ``purchases``, or no outcome and
        an amount > 0; every event when the data has no outcome column).
    collapse:
        Keep consecutive repeats of one touchpoint once (``ad, ad, store`` counts as
        ``ad, store``). Default True: the path says which touchpoints a journey went
        through in which order, not how often in a row; False keeps every touch.
    repeat:
        False (default): one journey per customer, up to and including their first
        purchase (converted), else all their events (dropped out). True: every purchase
        ends a journey and the next touch starts a new one, the touches after a
        customer's last purchase forming a dropped-out journey
        (`touchpoint.attribution.journeys` with ``until="conversion"``).
    top:
        How many paths to list for conversion and for drop-out.

    Returns
    -------
    PathReport
        ``conversion`` and ``dropout`` (top paths with counts and shares), ``drop_off``
        (per touchpoint), and the totals ``converted`` and ``dropped``.

    Raises
    ------
    touchpoint.errors.ValidationError
        An event without a customer, time or touchpoint; ``top`` not a positive whole
        number.

    Examples
    --------
    >>> events = {"customer": ["a", "a", "b"], "time": ["2026-01-01", "2026-01-02", "2026-01-01"],
    ...           "touchpoint": ["web", "store", "web"], "amount": [0.0, 120.0, 0.0]}
    >>> p = paths(events)  # no outcome column: every event is a purchase
    >>> p.converted, p.dropped, p.conversion["path"].tolist()
    (2, 0, [('web',)])

    Without an outcome column every event is a purchase; with one, the labels decide:

    >>> events["outcome"] = [None, "purchase", None]
    >>> p = paths(events)
    >>> p.conversion["path"].tolist(), p.dropout["path"].tolist()
    ([('web', 'store')], [('web',)])
    >>> p.drop_off["rate"].tolist()
    [0.0, 0.5]
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValidationError([Problem("top", "must be a whole number, at least 1", top)])
    cols, cats = read_coded(
        data,
        {
            "customer": customer,
            "step": time,
            "touchpoint": touchpoint,
            "amount": amount,
            **purchase_columns(data, outcome=outcome, purchases=purchases),
        },
        required=("customer", "step", "touchpoint"),
        categorical=("customer", "touchpoint", "outcome"),
    )
    check_codes(cols["touchpoint"], touchpoint)
    check_codes(cols["customer"], customer)
    # touchpoints in ascending order (the drop-off table is keyed by them)
    tp_codes, tp_units = sorted_units(cols["touchpoint"], cats["touchpoint"])
    n = len(cols["customer"])
    bought = purchase_mask(cols, cats, purchases)
    converted = np.ones(n, dtype=bool) if bought is None else bought
    j = (
        journeys(
            {
                "customer": cols["customer"],
                "time": cols["step"],
                "touchpoint": tp_codes,
                "converted": converted,
            },
            until="conversion",
            with_times=False,
        )
        if n
        else None
    )
    units = np.asarray(tp_units, dtype=object)
    if j is None:
        j = Journeys(
            units=np.empty(0, dtype=np.int64),
            codes=np.empty(0, dtype=np.int64),
            times=None,
            starts=np.zeros(1, dtype=np.int64),
            converted=np.empty(0, dtype=bool),
            customers=np.empty(0, dtype=np.int64),
        )
    if not repeat and j.n_journeys:
        firsts = np.flatnonzero(np.r_[True, j.customers[1:] != j.customers[:-1]])
        ends = j.starts[firsts + 1]
        lengths = ends - j.starts[firsts]
        touch = np.repeat(j.starts[firsts], lengths) + (
            np.arange(lengths.sum()) - np.repeat(np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        )
        j = Journeys(
            units=j.units,
            codes=j.codes[touch],
            times=None,
            starts=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            converted=j.converted[firsts],
            customers=j.customers[firsts],
        )
    if collapse:
        j = collapse_repeats(j)
    # the journeys' units are codes into the touchpoint categories, ascending
    labels = units[np.asarray(j.units, dtype=np.int64)] if len(j.units) else units[:0]
    j = attrs.evolve(j, units=labels)
    distinct, conv, drop = j.aggregate() if j.n_journeys else ([], np.zeros(0), np.zeros(0))
    n_conv = int(j.converted.sum())
    n_drop = j.n_journeys - n_conv
    return PathReport(
        conversion=_top(distinct, conv, n_conv, top),
        dropout=_top(distinct, drop, n_drop, top),
        drop_off=_drop_off(j, n_drop),
        converted=n_conv,
        dropped=n_drop,
    )


def _drop_off(j: Journeys, n_drop: int) -> ScoreFrame:
    k = len(j.units)
    last_codes = j.codes[j.last_touch()] if j.n_journeys else np.empty(0, dtype=np.int64)
    last = np.bincount(last_codes, minlength=k)
    dropouts = np.bincount(last_codes[~j.converted], minlength=k)
    pairs = distinct(j.journey_of_touch * k + j.codes)  # distinct (journey, touchpoint)
    reached = np.bincount(pairs % k if k else pairs, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = dropouts / n_drop if n_drop else np.full(k, np.nan)
        rate = dropouts / np.where(reached > 0, reached, np.nan)
    return ScoreFrame(
        {
            "touchpoint": j.units,
            "journeys": reached.astype(np.int64),
            "last": last.astype(np.int64),
            "dropouts": dropouts.astype(np.int64),
            "share": np.asarray(share, dtype=np.float64),
            "rate": rate,
        },
        key="touchpoint",
    )
