"""RFM: recency, frequency and monetary value per customer (最近一次消费, 消费频率, 消费金额).

- `rfm`: the raw features per customer as of a date.
- `rfm_scores`: quantile scores 1..k per dimension, with a choice of tie rule
  (``method="min"``, ``"dense"`` or ``"first"``) that never depends on row order.
- `rfm_segments`: named segments (champions, loyal, at risk, hibernating...) from the
  recency and frequency scores through a configurable mapping.

Examples
--------
>>> events = {"customer": ["A", "B", "A"], "amount": [10.0, 5.0, 30.0],
...           "time": ["2026-01-01", "2026-01-10", "2026-01-20"]}
>>> r = rfm(events, asof="2026-01-31")
>>> r["customer"].tolist(), r["recency"].tolist(), r["frequency"].tolist(), r["monetary"].tolist()
(['A', 'B'], [11.0, 21.0], [2, 1], [40.0, 5.0])
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    DAY_US,
    PURCHASE_OUTCOMES,
    ScoreFrame,
    as_time,
    check_codes,
    check_nonnegative,
    check_times,
    distributed,
    group_stats,
    minimum,
    nondecreasing,
    purchase_columns,
    purchase_mask,
    read_coded,
    read_columns,
)
from touchpoint.scoring._reduce import Progress, group_sum, report
from touchpoint.scoring._ties import Cut, _Arrays, after, resolve_cuts, split_counts

__all__ = [
    "DEFAULT_SEGMENTS",
    "METHODS",
    "quantile_scores",
    "rfm",
    "rfm_scores",
    "rfm_segments",
]

_NONE = np.iinfo(np.int64).min
_BASE_TIME = np.datetime64(0, "us")


@distributed("rfm")
def rfm(
    data: Any,
    *,
    customer: str = "customer",
    time: str = "time",
    amount: str = "amount",
    outcome: str = "outcome",
    purchases: Collection[str] | None = PURCHASE_OUTCOMES,
    asof: Any = None,
    progress: Progress = None,
) -> ScoreFrame:
    """Recency, frequency, monetary total and average per customer, of their purchases.

    Parameters
    ----------
    data:
        Events: an `EventFrame` (e.g. ``Workspace.interactions()``), a pandas/polars
        DataFrame, an Arrow table or a dict.
    customer, time, amount:
        The columns holding the customer id, the event time and the amount spent.
    outcome, purchases:
        Which events are purchases, by the library's one rule
        (`touchpoint.frame.purchase_mask`): when the data has the ``outcome`` column,
        the events whose outcome is one of ``purchases`` (default ``("purchase",)``)
        and the events without an outcome that carry an amount > 0; when it has no
        such column, every event (a transaction log). ``purchases=None`` counts every
        event whatever its outcome; other labels count other events (e.g.
        ``purchases=("purchase", "renewal")``).
    asof:
        The date the scores are taken at (date, datetime, ``datetime64`` or ISO text);
        events after it are ignored. Default: the latest time of any event in ``data``
        (purchase or not), so a customer whose last purchase is old has a recency that
        shows it.
    progress:
        Optional callback ``progress(step, fraction_done)`` (in memory only).

    Returns
    -------
    ScoreFrame
        One row per customer of ``data`` (also those without a purchase), keyed by the
        original ids. Row order: the frame's category order for an `EventFrame`; for
        raw ids the order `touchpoint.frame.factorize` chooses with ``sort=None``:
        ascending for floats, times and integers spanning a small range, first
        appearance for strings and other integers. With a Dask DataFrame as ``data``: a lazy Dask
        DataFrame of the same columns, one row per customer (see `touchpoint.scale`).
        Columns:

        - ``recency``: whole days (float64) from the customer's last purchase to
          ``asof``, rounded down; NaN for a customer with no purchase on or before
          ``asof``;
        - ``frequency``: number of purchases (int64);
        - ``monetary``: sum of their amounts; missing (NaN) amounts add 0;
        - ``average``: ``monetary / frequency`` (NaN when frequency is 0);
        - ``last``: time of the last purchase (``datetime64[us]``, NaT if none);
        - ``amount_missing``: number of purchases whose amount was missing.

    Raises
    ------
    touchpoint.errors.ValidationError
        A purchase without a customer or time, a negative amount of a purchase, columns
        of different lengths, ``purchases`` that is not a collection of labels.

    Examples
    --------
    >>> r = rfm({"customer": [7, 7, 9], "time": ["2026-05-01", "2026-05-03", "2026-04-01"],
    ...          "amount": [1.5, float("nan"), 4.0]}, asof="2026-05-04")
    >>> r["average"].tolist(), r["amount_missing"].tolist()
    ([0.75, 4.0], [1, 0])

    With outcomes, only purchases count: one purchase of 10.00 and two calls give
    frequency 1, unless every event is asked for.

    >>> events = {"customer": ["C1"] * 3, "time": ["2026-05-01", "2026-05-02", "2026-05-03"],
    ...           "amount": [10.0, None, None], "outcome": ["purchase", "call", "call"]}
    >>> r = rfm(events)
    >>> int(r["frequency"][0]), float(r["average"][0]), float(r["recency"][0])
    (1, 10.0, 2.0)
    >>> int(rfm(events, purchases=None)["frequency"][0])
    3
    """
    report(progress, "read", 0.0)
    cols, cats = read_coded(
        data,
        {
            "customer": customer,
            "time": time,
            "amount": amount,
            **purchase_columns(data, outcome=outcome, purchases=purchases),
        },
        required=("customer", "time", "amount"),
        categorical=("customer", "outcome"),
    )
    codes, ids = cols["customer"], cats["customer"]
    times, amounts = cols["time"], cols["amount"]
    t = times.view(np.int64)
    latest = None  # the latest event of any kind: the default asof
    bought = _purchases(cols, cats, purchases)
    given = cols  # the rows as given: the checks name rows by their input position
    if bought is not None:
        latest = int(t.max()) if len(t) else 0
        rows = np.flatnonzero(bought)  # one gather per column beats three boolean masks
        codes, times, amounts = codes[rows], times[rows], amounts[rows]
        t = times.view(np.int64)
    n = len(t)
    # one min pass per column (on the thread pool) finds missing codes, NaT (the smallest
    # int64), negative or missing amounts; the detailed checks run only when something is
    # wrong. Times in order (as logged) give their min and max from the ends.
    if n and minimum(codes) < 0:
        check_codes(_purchases_only(given["customer"], bought, 0), customer)
    ordered = nondecreasing(t)
    if not n:
        t_min, t_max = 0, 0
    elif ordered:
        t_min, t_max = int(t[0]), int(t[-1])
    else:
        t_min, t_max = int(minimum(t)), int(t.max())
    if t_min == _NONE:
        check_times(_purchases_only(given["time"], bought, _BASE_TIME), time)
    low = float(minimum(amounts)) if n else 0.0
    has_nan = low != low
    if has_nan or low < 0:
        check_nonnegative(_purchases_only(given["amount"], bought, 0.0), amount)
    report(progress, "reduce", 0.3)
    if latest is None:
        latest = t_max
    at = latest if asof is None else int(as_time(asof).view(np.int64))
    if t_max > at:
        keep = t <= at
        codes, t, amounts = codes[keep], t[keep], amounts[keep]
    k = len(ids)
    if has_nan:
        nan = np.isnan(amounts)
        missing = group_sum(codes[nan], None, k).astype(np.int64)
        amounts = np.where(nan, 0.0, amounts)
    else:
        missing = np.zeros(k, dtype=np.int64)
    frequency, monetary, last = group_stats(codes, amounts, t, k, _NONE, ordered=ordered)
    report(progress, "reduce", 0.7)
    empty = frequency == 0
    recency = ((at - last) // DAY_US).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = monetary / frequency
    if empty.any():
        recency[empty] = np.nan
        average[empty] = np.nan
    report(progress, "done", 1.0)
    return ScoreFrame(
        {
            "customer": ids,
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
            "average": average,
            "last": last.view("datetime64[us]"),
            "amount_missing": missing,
        }
    )


def _purchases(
    cols: Mapping[str, np.ndarray],
    cats: Mapping[str, np.ndarray],
    purchases: Collection[str] | None,
) -> np.ndarray | None:
    """`purchase_mask`, or None when every row is a purchase by it.

    When every outcome label present is a purchase label and no row lacks an outcome,
    every row is a purchase: that case (a log of purchases with their outcome) costs one
    pass over the codes instead of the mask and the gathers.
    """
    if purchases is not None and "outcome" in cols:
        codes = cols["outcome"]
        if not len(codes):
            return None
        if codes.min() >= 0:
            labels = np.asarray(cats["outcome"], dtype=object)
            used = labels[np.bincount(codes, minlength=len(labels)) > 0]  # a few labels
            if {str(v) for v in used.tolist()} <= set(purchases):
                return None
    return purchase_mask(cols, cats, purchases)


def _purchases_only(values: np.ndarray, bought: np.ndarray | None, fill: Any) -> np.ndarray:
    """``values`` with the rows that are not purchases set to a harmless ``fill``."""
    return values if bought is None else np.where(bought, values, fill)


#: How tied values are scored (see `quantile_scores`).
METHODS = ("min", "dense", "first")


def quantile_scores(
    values: np.ndarray,
    k: int = 5,
    *,
    higher_is_better: bool = True,
    method: str = "min",
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """Scores 1..k by rank among the values (higher score = better); NaN values score 0.

    With ``n`` non-NaN values, ``method`` says what a value's place is when values tie,
    named after pandas' ``rank(method=...)``:

    - ``"min"`` (default): ``1 + floor(k * below / n)``, ``below`` the number of values
      worse than this one. Equal values share the score of the worst-placed of them, so
      each score holds about ``n / k`` values only when ties are few: with 70% of the
      values equal and lowest (one-time buyers' frequency), they all score 1 and the
      next value up scores ``1 + floor(5 * 0.7) = 4``; scores 2 and 3 are empty.
    - ``"dense"``: the same formula over the *distinct* values, ``below`` counting
      distinct values worse than this one and ``n`` the number of distinct values.
      Equal values share a score and, given at least k distinct values, every score is
      used, but the scores no longer hold equal numbers of customers.
    - ``"first"``: equal values are put in a fixed order (`touchpoint.scoring.pyramid`'s:
      by a stable hash of ``ids``, then the id; never the row order) and scored by
      place, so score ``s`` holds exactly ``ceil(s n / k) - ceil((s - 1) n / k)``
      values whatever the ties, but equal values may score differently. Needs ``ids``.

    Without ties the three agree. The result never depends on the row order.

    >>> quantile_scores(np.array([10., 20., 20., 30., np.nan]), 4).tolist()
    [1, 2, 2, 4, 0]
    >>> quantile_scores(np.array([1., 5., 9.]), 3, higher_is_better=False).tolist()
    [3, 2, 1]
    >>> f = np.array([1.0] * 7 + [2.0, 3.0, 5.0])  # 70% one-time buyers
    >>> quantile_scores(f).tolist(), quantile_scores(f, method="dense").tolist()
    ([1, 1, 1, 1, 1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 1, 1, 2, 3, 4])
    >>> sorted(quantile_scores(f, method="first", ids=np.arange(10)).tolist())
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    """
    check_k(k)
    check_method(method)
    values = np.asarray(values, dtype=np.float64)
    key = values if higher_is_better else -values
    if method == "first":
        if ids is None or len(ids) != len(values):
            raise ValidationError(
                [
                    Problem(
                        "ids",
                        "method='first' orders equal values by their ids: give one id per value",
                        None if ids is None else len(ids),
                    )
                ]
            )
        ids = np.asarray(ids)
        return scores_from(key, first_cuts(key, ids, k), ids)
    return scores_from(key, score_thresholds(key, k, method))


def check_k(k: int) -> None:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValidationError([Problem("k", "must be a whole number, at least 1", k)])


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValidationError(
            [Problem("method", f"must be one of {', '.join(map(repr, METHODS))}", method)]
        )


def score_positions(n: int, k: int) -> np.ndarray:
    """0-based positions, among ``n`` ascending keys, of the values that start scores 2..k.

    Score ``>= j + 1`` exactly when at least ``ceil(j * n / k)`` values are worse, i.e.
    when the key reaches the value at position ``ceil(j * n / k) - 1``.

    >>> score_positions(10, 5).tolist()
    [1, 3, 5, 7]
    """
    check_k(k)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    return -((-np.arange(1, k, dtype=np.int64) * n) // k) - 1


def score_thresholds(key: np.ndarray, k: int, method: str = "min") -> np.ndarray:
    """The keys at `score_positions` (NaN left out): k - 1 order statistics, no full sort.

    For ``method="dense"``, of the distinct keys.
    """
    valid = key[~np.isnan(key)]
    if method == "dense":
        valid = np.unique(valid)
    positions = score_positions(len(valid), k)
    if len(positions) == 0:
        return positions.astype(np.float64)
    result: np.ndarray = np.partition(valid, np.unique(positions))[positions]
    return result


def score_counts(n: int, k: int) -> tuple[np.ndarray, int]:
    """``method="first"``: how many of the ``n`` ordered keys score k, k - 1 or more, ... 2
    or more (``n - ceil((s - 1) n / k)`` for s = k..2, ascending), as `split_counts`.

    >>> score_counts(10, 5)
    (array([2, 4, 6, 8]), 0)
    """
    s = np.arange(k, 1, -1, dtype=np.int64)
    return split_counts(n + ((-(s - 1) * n) // k), n)


def first_cuts(key: np.ndarray, ids: np.ndarray, k: int) -> tuple[list[Cut], int]:
    """``method="first"``'s cuts in memory (see `score_counts`)."""
    return resolve_cuts(_Arrays(key, ids), lambda n: score_counts(n, k))


def scores_from(key: np.ndarray, thresholds: Any, ids: np.ndarray | None = None) -> np.ndarray:
    """Scores 1..k from `score_thresholds` or `first_cuts` (higher key, higher score); NaN 0."""
    out = np.zeros(len(key), dtype=np.int64)
    valid = ~np.isnan(key)
    if isinstance(thresholds, tuple):  # method="first": cuts from the best down
        assert ids is not None  # method="first" orders ties by the ids
        cut_list, skipped = thresholds
        k = len(cut_list) + skipped + 1
        out[valid] = k - after(key[valid], ids[valid], cut_list) - skipped
        return out
    out[valid] = 1 + np.searchsorted(thresholds, key[valid], side="left")
    return out


#: Default segments over (recency score, frequency score) for k = 5, first match wins:
#: name -> ((r_min, r_max), (f_min, f_max)).
DEFAULT_SEGMENTS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "champions": ((5, 5), (4, 5)),
    "loyal": ((3, 4), (4, 5)),
    "potential_loyalists": ((4, 5), (2, 3)),
    "new": ((5, 5), (1, 1)),
    "promising": ((4, 4), (1, 1)),
    "need_attention": ((3, 3), (3, 3)),
    "about_to_sleep": ((3, 3), (1, 2)),
    "cannot_lose": ((1, 2), (5, 5)),
    "at_risk": ((1, 2), (3, 4)),
    "hibernating": ((1, 2), (1, 2)),
}


@distributed("rfm_scores")
def rfm_scores(
    data: Any,
    *,
    customer: str = "customer",
    recency: str = "recency",
    frequency: str = "frequency",
    monetary: str = "monetary",
    k: int = 5,
    segments: Mapping[str, tuple[tuple[int, int], tuple[int, int]]] | None = None,
    method: str | Mapping[str, str] = "min",
) -> ScoreFrame:
    """Quantile scores 1..k for recency, frequency and monetary, and a named segment.

    Takes per-customer features (the output of `rfm`, or any table with those columns).
    A lower recency scores higher. Customers with no events (NaN recency) score 0 on
    every dimension and fall in segment ``"none"``.

    ``method`` says what happens to **ties** (see `quantile_scores`): one rule for the
    three dimensions, or a mapping such as ``{"frequency": "dense"}`` (the dimensions
    not named keep ``"min"``). Ties matter for frequency above all, where most
    customers of most businesses have bought once. With 70% one-time buyers:

    - ``"min"`` (default): equal values share the score of the worst-placed of them.
      Every one-time buyer scores f = 1 and the customers just above them score
      ``1 + floor(5 * 0.7) = 4``; f = 2 and 3 are empty, and so are the default
      segments that need them (``potential_loyalists``, ``need_attention``). Read f as
      1 = once, 4 = a few times, 5 = often. Each score holds about 1/k of the customers
      only when ties are few (recency in days, monetary).
    - ``"dense"``: scores from the distinct values (pandas' ``rank(method="dense")``):
      equal values share a score and, with k distinct values or more, every score is
      used. The scores follow the spread of the distinct values, not of the customers:
      with 20 distinct purchase counts from 1 to 23, counts 1-4 score 1 and the few
      customers with the four highest counts score 5.
    - ``"first"``: ties split by a stable hash of the customer id (the order
      `touchpoint.scoring.pyramid` uses), so each score holds exactly its 1/k share and
      every segment fills, but equal values may score differently: one-time buyers get
      f = 1 to 4. Like the common ``qcut(x.rank(method="first"), 5)``, without its
      dependence on row order. For equal-sized groups (test cells, budgets), not for
      reading f as "buys more often than".

    The docs page "RFM" compares the three on a one-time-heavy base, segment by segment.

    Returns a `ScoreFrame` with ``r_score``, ``f_score``, ``m_score``, ``rfm`` (the three
    digits, e.g. 545, for k <= 9) and ``segment`` (categorical; see `rfm_segments`).

    Examples
    --------
    >>> feats = {"customer": ["a", "b", "c", "d", "e"], "recency": [1., 5., 9., 30., 60.],
    ...          "frequency": [9, 7, 5, 3, 1], "monetary": [90., 70., 50., 30., 10.]}
    >>> s = rfm_scores(feats)
    >>> s["r_score"].tolist(), s["segment"].tolist()
    ([5, 4, 3, 2, 1], ['champions', 'loyal', 'need_attention', 'hibernating', 'hibernating'])

    Three one-time buyers of five: "dense" keeps f = 2 in use.

    >>> feats["frequency"] = [3, 1, 1, 1, 2]
    >>> rfm_scores(feats)["f_score"].tolist()
    [5, 1, 1, 1, 4]
    >>> rfm_scores(feats, method={"frequency": "dense"})["f_score"].tolist()
    [4, 1, 1, 1, 2]
    """
    check_k(k)
    methods = dimension_methods(method)
    ids, keys = score_keys(data, customer, recency, frequency, monetary)
    thresholds: dict[str, Any] = {}
    for dim, key in keys.items():  # three dimensions
        if methods[dim] == "first":
            thresholds[dim] = first_cuts(key, ids, k)
        else:
            thresholds[dim] = score_thresholds(key, k, methods[dim])
    return scores_frame(ids, keys, thresholds, k, segments)


_DIMENSIONS = {"recency": "r", "frequency": "f", "monetary": "m"}


def dimension_methods(method: str | Mapping[str, str]) -> dict[str, str]:
    """The tie rule of each dimension (``r``, ``f``, ``m``) from `rfm_scores`' ``method``.

    >>> dimension_methods({"frequency": "dense"})
    {'r': 'min', 'f': 'dense', 'm': 'min'}
    """
    if isinstance(method, str):
        check_method(method)
        return dict.fromkeys(_DIMENSIONS.values(), method)
    out = dict.fromkeys(_DIMENSIONS.values(), "min")
    for name, rule in dict(method).items():
        if name not in _DIMENSIONS:
            raise ValidationError([Problem("method", "names recency, frequency or monetary", name)])
        check_method(rule)
        out[_DIMENSIONS[name]] = rule
    return out


def score_keys(
    data: Any, customer: str, recency: str, frequency: str, monetary: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The ids and, per dimension, a key where higher is better (NaN: no events)."""
    cols = read_columns(
        data,
        {"customer": customer, "recency": recency, "frequency": frequency, "monetary": monetary},
        required=("customer", "recency", "frequency", "monetary"),
    )
    rec = cols["recency"].astype(np.float64)
    none = np.isnan(rec)
    freq = np.where(none, np.nan, cols["frequency"].astype(np.float64))
    mon = np.where(none, np.nan, cols["monetary"].astype(np.float64))
    return cols["customer"], {"r": -rec, "f": freq, "m": mon}


def scores_frame(
    ids: np.ndarray,
    keys: Mapping[str, np.ndarray],
    thresholds: Mapping[str, Any],
    k: int,
    segments: Mapping[str, tuple[tuple[int, int], tuple[int, int]]] | None,
) -> ScoreFrame:
    """`rfm_scores`' result from the keys of `score_keys` and each one's thresholds
    (`score_thresholds`) or cuts (`first_cuts`)."""
    r, f, m = (scores_from(keys[d], thresholds[d], ids) for d in ("r", "f", "m"))
    seg_codes, seg_names = _segment_codes(r, f, k, segments)
    out = {"customer": ids, "r_score": r, "f_score": f, "m_score": m}
    if k <= 9:
        out["rfm"] = r * 100 + f * 10 + m
    out["segment"] = seg_codes
    return ScoreFrame(out, {"segment": seg_names})


def rfm_segments(
    data: Any,
    *,
    customer: str = "customer",
    r_score: str = "r_score",
    f_score: str = "f_score",
    k: int = 5,
    segments: Mapping[str, tuple[tuple[int, int], tuple[int, int]]] | None = None,
) -> ScoreFrame:
    """Named segments from recency and frequency scores through a mapping.

    ``segments`` maps a name to ``((r_min, r_max), (f_min, f_max))`` (inclusive); rules
    are tried in order and the first match wins; scores no rule covers (and score 0,
    customers without events) get ``"other"`` / ``"none"``. The default,
    `DEFAULT_SEGMENTS`, is the common 5 x 5 RFM grid and needs ``k = 5``.

    >>> rfm_segments({"customer": [1, 2], "r_score": [5, 1], "f_score": [5, 1]})["segment"].tolist()
    ['champions', 'hibernating']
    """
    cols = read_columns(
        data, {"customer": customer, "r": r_score, "f": f_score}, required=("customer", "r", "f")
    )
    codes, names = _segment_codes(
        cols["r"].astype(np.int64), cols["f"].astype(np.int64), k, segments
    )
    return ScoreFrame({"customer": cols["customer"], "segment": codes}, {"segment": names})


def _segment_codes(
    r: np.ndarray, f: np.ndarray, k: int, segments: Mapping[str, Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    if segments is None:
        if k != 5:
            raise ValidationError(
                [
                    Problem(
                        "segments",
                        "the default segments are for k = 5; pass a mapping for other k",
                        k,
                    )
                ]
            )
        segments = DEFAULT_SEGMENTS
    rules: Sequence[tuple[str, Any]] = list(segments.items())
    names = [name for name, _ in rules] + ["other", "none"]
    other, none = len(rules), len(rules) + 1
    # a (k+1) x (k+1) lookup table: a loop over the small grid of scores, not customers
    table = np.full((k + 1, k + 1), other, dtype=np.int64)
    table[0, :] = none
    table[:, 0] = none
    for i in range(1, k + 1):
        for j in range(1, k + 1):
            for code, (_, ((r0, r1), (f0, f1))) in enumerate(rules):
                if r0 <= i <= r1 and f0 <= j <= f1:
                    table[i, j] = code
                    break
    bad = (r < 0) | (r > k) | (f < 0) | (f > k)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            [
                Problem(
                    f"r_score/f_score[{row}]", f"scores must be 0..{k}", (int(r[row]), int(f[row]))
                )
            ]
        )
    return table[r, f], np.array(names, dtype=object)
