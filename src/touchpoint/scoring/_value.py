"""Value tiers (分级管理): the customer pyramid, the 80/20 curve and simple lifetime value.

- `pyramid`: key / major / ordinary / small customers by value rank (top 1% / next 4% /
  next 15% / remaining 80% by default), tiers of exactly those sizes even under ties.
- `pyramid_summary`: customers, value and share of value per tier.
- `pareto`: the 80/20 curve (share of value brought by the top x% of customers), and
  `top_share` for one point of it.
- `lifetime_value` / `simple_clv`: average spend x purchase frequency x expected
  lifespan, optionally discounted.

Examples
--------
>>> lifetime_value(40, 52, 30)
62400.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from touchpoint._distinct import distinct
from touchpoint._threads import chunk_bounds, parallel_map
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import (
    ScoreFrame,
    check_nonnegative,
    distributed,
    read_coded,
    read_columns,
)
from touchpoint.scoring._ties import Cut, after, cuts, order_positions, split_counts

__all__ = ["lifetime_value", "pareto", "pyramid", "pyramid_summary", "simple_clv", "top_share"]

DEFAULT_SHARES = (0.01, 0.04, 0.15, 0.80)
DEFAULT_TIERS = ("key", "major", "ordinary", "small")


def read_values(data: Any, customer: str, value: str) -> tuple[np.ndarray, np.ndarray]:
    """The customer ids and values (float64, NaN missing) of a per-customer table."""
    cols = read_columns(
        data, {"customer": customer, "value": value}, required=("customer", "value")
    )
    v = cols["value"].astype(np.float64, copy=False)
    return cols["customer"], v


@distributed("pyramid")
def pyramid(
    data: Any,
    *,
    customer: str = "customer",
    value: str = "monetary",
    shares: Sequence[float] = DEFAULT_SHARES,
    tiers: Sequence[str] = DEFAULT_TIERS,
    ranks: bool = False,
) -> ScoreFrame:
    """The customer pyramid: each customer's tier by rank of value, tiers of exact sizes.

    Customers are put in one order: by ``value``, highest first; **equal values** by a
    stable hash of the customer id (see below), then by the id. With ``n`` customers in
    that order the first ``round(n * shares[0])`` are the first tier, up to
    ``round(n * (shares[0] + shares[1]))`` the second, and so on (round half up); the
    last tier takes the rest. So every tier holds exactly its share of customers
    whatever the ties: 100 customers of equal value make 1 ``key``, 4 ``major``, 15
    ``ordinary`` and 80 ``small``. Customers with a missing value (NaN) get tier
    ``"none"`` and rank 0 and are not counted in ``n``. Give one row per customer.

    Which of several equal-value customers straddling a tier boundary go up is decided
    by `tie_hash` of their ids: a fixed 64-bit mix of the id (SplitMix64 of an integer
    id, FNV-1a of the text of any other id), so neither the lowest ids nor the first
    rows are favoured, and the same customers go up on every run, on any machine, in
    any row order or Dask partitioning.

    Parameters
    ----------
    data:
        One row per customer (e.g. the output of `touchpoint.scoring.rfm`).
    customer, value:
        The id column and the value column (default ``monetary``).
    shares, tiers:
        Share of customers per tier from the top (must sum to 1) and the tier names.
    ranks:
        Also return each customer's ``rank`` (a full sort; the tiers alone need only a
        few order statistics, O(n)). Not on Dask.

    Returns
    -------
    ScoreFrame
        ``customer``, ``value``, ``rank`` if asked and ``tier`` (categorical, in the
        order of ``tiers`` then ``"none"``). ``rank`` is the place in the order above:
        1 = highest, equal values get distinct consecutive ranks in the order of their
        id hashes, so ranks run 1..n without gaps or repeats and tier ``j`` holds ranks
        ``round(n * shares[:j].sum()) + 1 .. round(n * shares[:j + 1].sum())``; 0 for
        NaN. (For "equal values share the best rank", use pandas'
        ``rank(method="min", ascending=False)``.)

    Examples
    --------
    >>> p = pyramid({"customer": list("abcdefghij"), "monetary": [100, 50, 40, 9, 8, 7, 6, 5, 4, 3]},
    ...             shares=[0.1, 0.2, 0.7], tiers=["top", "mid", "rest"])
    >>> p["tier"].tolist()
    ['top', 'mid', 'mid', 'rest', 'rest', 'rest', 'rest', 'rest', 'rest', 'rest']

    Ties keep the shares: of four customers with equal value, one is the top quarter.

    >>> p = pyramid({"customer": [1, 2, 3, 4], "monetary": [5.0] * 4},
    ...             shares=[0.25, 0.75], tiers=["top", "rest"], ranks=True)
    >>> sorted(p["tier"].tolist()), sorted(p["rank"].tolist())
    (['rest', 'rest', 'rest', 'top'], [1, 2, 3, 4])
    """
    ids, v = read_values(data, customer, value)
    valid = ~np.isnan(v)
    counts, skipped = tier_counts(int(valid.sum()), shares, tiers)
    rank = None
    if ranks:
        rank = np.zeros(len(v), dtype=np.int64)
        rank[valid] = order_positions(v[valid], ids[valid]) + 1
    return pyramid_frame(ids, v, cuts(v, ids, counts), skipped, tiers, rank)


def tier_counts(n: int, shares: Sequence[float], tiers: Sequence[str]) -> tuple[np.ndarray, int]:
    """How many customers come before each tier boundary, and the boundaries before the first.

    With ``n`` customers in order, the boundaries fall after ``round(n * cumulative
    share)`` customers (round half up). Returns those counts that are 1..n (ascending)
    and how many are 0 (tiers no customer reaches, skipped by everyone).

    >>> tier_counts(10, [0.1, 0.2, 0.7], ["top", "mid", "rest"])
    (array([1, 3]), 0)
    >>> tier_counts(10, [0.01, 0.04, 0.15, 0.8], ["key", "major", "ordinary", "small"])
    (array([1, 2]), 1)
    """
    shares_arr = np.asarray(shares, dtype=np.float64)
    if len(shares_arr) != len(tiers) or len(tiers) == 0:
        raise ValidationError([Problem("tiers", "needs one name per share", list(tiers))])
    if (shares_arr < 0).any() or abs(shares_arr.sum() - 1.0) > 1e-9:
        raise ValidationError([Problem("shares", "must be >= 0 and sum to 1", list(shares))])
    bounds = np.floor(n * np.cumsum(shares_arr)[:-1] + 0.5).astype(np.int64)
    return split_counts(bounds, n)


def pyramid_frame(
    ids: np.ndarray,
    v: np.ndarray,
    cut_list: Sequence[Cut],
    skipped: int,
    tiers: Sequence[str],
    rank: np.ndarray | None = None,
) -> ScoreFrame:
    """The pyramid's result from its cuts (see `tier_counts` and `touchpoint.scoring._ties`).

    A customer's tier is the number of boundaries they come after: the cuts they fall
    after plus the tiers skipped. NaN values get ``"none"``.
    """
    valid = ~np.isnan(v)
    if valid.all():
        tier = after(v, ids, cut_list) + skipped
    else:
        tier = np.full(len(v), len(tiers), dtype=np.int64)
        tier[valid] = after(v[valid], ids[valid], cut_list) + skipped
    out = {"customer": ids, "value": v}
    if rank is not None:
        out["rank"] = rank
    out["tier"] = tier
    return ScoreFrame(out, {"tier": np.array([*tiers, "none"], dtype=object)})


@distributed("pyramid_summary")
def pyramid_summary(data: Any, *, tier: str = "tier", value: str = "value") -> ScoreFrame:
    """Customers, total value, share of customers and share of value per tier.

    Takes the output of `pyramid`. Returns a `ScoreFrame` keyed by ``tier``; on Dask
    (the output of `pyramid` on a Dask DataFrame) a lazy Dask DataFrame of the same rows.

    >>> p = pyramid({"customer": [1, 2, 3, 4], "monetary": [70.0, 20, 5, 5]},
    ...             shares=[0.25, 0.75], tiers=["top", "rest"])
    >>> s = pyramid_summary(p)
    >>> s["tier"].tolist(), s["customers"].tolist(), s["value_share"].tolist()
    (['top', 'rest', 'none'], [1, 3, 0], [0.7, 0.3, 0.0])
    """
    return tier_shares(tier_sums(data, tier=tier, value=value))


def tier_sums(data: Any, *, tier: str, value: str) -> ScoreFrame:
    """Customers and total value per tier (every tier of the categories, even empty)."""
    cols, cats = read_coded(
        data, {"tier": tier, "value": value}, required=("tier", "value"), categorical=("tier",)
    )
    k = len(cats["tier"])
    v = np.nan_to_num(cols["value"].astype(np.float64), nan=0.0)
    return ScoreFrame(
        {
            "tier": cats["tier"],
            "customers": np.bincount(cols["tier"], minlength=k).astype(np.int64),
            "value": np.bincount(cols["tier"], weights=v, minlength=k).astype(np.float64),
        },
        key="tier",
    )


def tier_shares(sums: Any) -> ScoreFrame:
    """`pyramid_summary` from the per-tier sums: each tier's share of customers and value."""
    counts = np.asarray(sums["customers"], dtype=np.int64)
    totals = np.asarray(sums["value"], dtype=np.float64)
    k, n, total = len(counts), counts.sum(), totals.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return ScoreFrame(
            {
                "tier": np.asarray(sums["tier"], dtype=object),
                "customers": counts,
                "value": totals,
                "customer_share": counts / n if n else np.zeros(k),
                "value_share": totals / total if total else np.zeros(k),
            },
            key="tier",
        )


@distributed("pareto")
def pareto(
    data: Any, *, customer: str = "customer", value: str = "monetary", points: int = 101
) -> ScoreFrame:
    """The 80/20 curve: share of total value brought by the top share of customers.

    Customers are sorted by value, highest first; the curve joins the points
    ``(i / n, sum of the top i values / total)`` for i = 0..n with straight lines and is
    read at ``points`` evenly spaced customer shares from 0 to 1. Missing values (NaN)
    are left out; negative values are refused.

    Returns a `ScoreFrame` keyed by ``customer_share`` with column ``value_share``.

    >>> c = pareto({"customer": [1, 2, 3, 4, 5], "monetary": [80, 5, 5, 5, 5]}, points=6)
    >>> c["value_share"].round(3).tolist()
    [0.0, 0.8, 0.85, 0.9, 0.95, 1.0]
    """
    x = pareto_shares(points)
    _, v = read_values(data, customer, value)
    check_nonnegative(v, value)
    return pareto_frame(x, _curve(v, x))


def pareto_shares(points: int) -> np.ndarray:
    """The customer shares the Pareto curve is read at: ``points`` from 0 to 1."""
    return np.linspace(0.0, 1.0, points)


def pareto_frame(x: np.ndarray, y: np.ndarray) -> ScoreFrame:
    """The Pareto curve as `pareto` returns it, from its shares of customers and value."""
    return ScoreFrame({"customer_share": x, "value_share": y}, key="customer_share")


def _curve(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    v = v[~np.isnan(v)]  # a copy, sorted in place below
    v += 0.0  # -0.0 becomes 0.0: non-negative values then order as their bits do
    chunks = parallel_map(_sorted_chunk(v), chunk_bounds(len(v), min_size=_SORT_CHUNK))
    total = float(np.sum([c.sum() for c in chunks])) if chunks else 0.0
    return read_curve(x, len(v), total, lambda i: _top_sums(chunks, i))


# values per sorted chunk of the Pareto curve: chunks depend on the data size only, so
# the result does not depend on the thread count (`touchpoint._threads`)
_SORT_CHUNK = 1 << 20


def _sorted_chunk(v: np.ndarray) -> Any:
    def sort(bounds: tuple[int, int]) -> np.ndarray:
        chunk = v[bounds[0] : bounds[1]]
        chunk.sort()  # in place: ``v`` is this function's own copy
        return chunk

    return sort


def _top_sums(chunks: Sequence[np.ndarray], i: np.ndarray) -> np.ndarray:
    """The sum of the ``i`` highest values, for counts ``i``, from sorted chunks.

    No merged order is built: the ``i``-th highest value ``t`` is found by bisection over
    the values' bits (non-negative floats order as their bits do), counting per chunk with
    `np.searchsorted`; the sum is then the values above ``t`` plus ``t`` times the ties
    that complete the ``i``. Every chunk's part is a sum of a contiguous run of it.
    """
    i = np.asarray(i, dtype=np.int64)
    out = np.zeros(len(i), dtype=np.float64)
    some = i > 0
    if not some.any():
        return out
    k = i[some]
    top = max(float(c[-1]) for c in chunks if len(c))
    lo = np.zeros(len(k), dtype=np.int64)  # count of values >= value(lo) is >= k
    hi = np.full(len(k), np.array(top).view(np.int64) + 1)  # ... < k at value(hi)
    while np.any(hi - lo > 1):  # at most 64 rounds, each a few searchsorted per chunk
        mid = lo + (hi - lo) // 2
        t = mid.view(np.float64)
        at_least = sum(len(c) - np.searchsorted(c, t, side="left") for c in chunks)
        reached = at_least >= k
        lo = np.where(reached, mid, lo)
        hi = np.where(reached, hi, mid)
    t = lo.view(np.float64)  # the k-th highest value
    above = np.zeros(len(k), dtype=np.int64)
    sums = np.zeros(len(k), dtype=np.float64)
    for c in chunks:  # a loop over chunks: each part is a run at the chunk's top end
        start = np.searchsorted(c, t, side="right")
        above += len(c) - start
        sums += _suffix_sums(c, start)
    out[some] = sums + (k - above) * t
    return out


def _suffix_sums(c: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``c[s:].sum()`` for each ``s`` in ``start``, from one pass over the runs between them."""
    cuts = distinct(start[start < len(c)])
    if not len(cuts):
        return np.zeros(len(start), dtype=np.float64)
    runs = np.add.reduceat(c, cuts)  # sums from each cut to the next (the last: to the end)
    from_cut = np.concatenate((np.cumsum(runs[::-1])[::-1], [0.0]))
    return from_cut[np.searchsorted(cuts, start)]


def read_curve(x: np.ndarray, n: int, total: float, top_sums: Any) -> np.ndarray:
    """The Pareto curve at customer shares ``x``, from sums of the top ``i`` values.

    ``top_sums(i)`` gives the sum of the ``i`` highest values for an array of counts
    ``i`` (0..n); the curve joins ``(i / n, top_sums(i) / total)`` with straight lines.

    >>> top = np.array([0.0, 80.0, 85.0, 90.0, 95.0, 100.0])
    >>> read_curve(np.array([0.0, 0.1, 1.0]), 5, 100.0, lambda i: top[i]).tolist()
    [0.0, 0.4, 1.0]
    """
    if n == 0 or total == 0:
        return np.where(x > 0, np.nan, 0.0) if n == 0 else x.copy()
    t = x * n
    i0 = np.clip(np.floor(t).astype(np.int64), 0, n)
    i1 = np.minimum(i0 + 1, n)
    needed = distinct(np.concatenate((i0, i1)))
    sums = np.asarray(top_sums(needed), dtype=np.float64)
    s0 = sums[np.searchsorted(needed, i0)]
    s1 = sums[np.searchsorted(needed, i1)]
    result: np.ndarray = (s0 + (t - i0) * (s1 - s0)) / total
    return result


@distributed("top_share")
def top_share(
    data: Any, *, customer: str = "customer", value: str = "monetary", top: float = 0.2
) -> float:
    """Share of total value brought by the top ``top`` share of customers (the "80" of 80/20).

    >>> top_share({"customer": list("abcde"), "monetary": [80, 5, 5, 5, 5]}, top=0.2)
    0.8
    """
    check_top(top)
    _, v = read_values(data, customer, value)
    check_nonnegative(v, value)
    return float(_curve(v, np.array([top]))[0])


def check_top(top: float) -> None:
    """A `ValidationError` unless ``top`` is a share of customers, 0 to 1."""
    if not 0.0 <= top <= 1.0:
        raise ValidationError([Problem("top", "must be a share between 0 and 1", top)])


def lifetime_value(spend: Any, frequency: Any, lifespan: Any, *, discount_rate: float = 0.0) -> Any:
    """Simple lifetime value: average spend x purchases per year x years, optionally discounted.

    Without discounting it is the plain product, so the material's shopper spending 40 a
    week, 52 weeks a year, for 30 more years is worth 40 x 52 x 30 = 62,400 exactly.
    With an annual ``discount_rate`` d, each year's value ``a = spend x frequency`` is
    received at the end of the year and discounted:
    ``a x (1 - (1 + d) ** -lifespan) / d`` (fractional years follow the same formula).

    ``frequency`` is purchases per year (52 for a weekly shopper). Works on scalars and
    numpy arrays.

    Examples
    --------
    >>> lifetime_value(40, 52, 30)
    62400.0
    >>> round(lifetime_value(40, 52, 30, discount_rate=0.05), 2)
    31974.7
    """
    spend_a = np.asarray(spend, dtype=np.float64)
    freq_a = np.asarray(frequency, dtype=np.float64)
    life_a = np.asarray(lifespan, dtype=np.float64)
    for name, arr in (("spend", spend_a), ("frequency", freq_a), ("lifespan", life_a)):
        if np.any(arr < 0):
            raise ValidationError([Problem(name, "must not be negative", float(np.min(arr)))])
    if discount_rate < 0 or discount_rate != discount_rate:
        raise ValidationError([Problem("discount_rate", "must be >= 0", discount_rate)])
    annual = spend_a * freq_a
    if discount_rate == 0:
        out = annual * life_a
    else:
        out = annual * (1.0 - (1.0 + discount_rate) ** (-life_a)) / discount_rate
    return float(out) if out.ndim == 0 else out


def simple_clv(
    data: Any,
    *,
    customer: str = "customer",
    spend: str = "average",
    frequency: str = "frequency",
    lifespan: float | str = 1.0,
    years_observed: float = 1.0,
    discount_rate: float = 0.0,
) -> ScoreFrame:
    """`lifetime_value` per customer from per-customer spend and purchase counts.

    ``frequency`` is read as the number of purchases over ``years_observed`` years (so
    the output of `touchpoint.scoring.rfm` over one year of history works as is);
    ``lifespan`` is a number of years or the name of a per-customer column.

    Returns a `ScoreFrame` with ``annual_value`` and ``clv``. Customers with a missing
    spend (NaN) get NaN.

    >>> simple_clv({"customer": ["shopper"], "average": [40.0], "frequency": [52]}, lifespan=30)["clv"].tolist()
    [62400.0]
    """
    names: dict[str, str | None] = {"customer": customer, "spend": spend, "frequency": frequency}
    if isinstance(lifespan, str):
        names["lifespan"] = lifespan
    cols = read_columns(data, names, required=list(names))
    if years_observed <= 0:
        raise ValidationError([Problem("years_observed", "must be > 0", years_observed)])
    spend_a = cols["spend"].astype(np.float64)
    freq_a = cols["frequency"].astype(np.float64) / years_observed
    check_nonnegative(spend_a, spend)
    check_nonnegative(freq_a, frequency)
    life = cols["lifespan"].astype(np.float64) if "lifespan" in cols else float(lifespan)
    clv = lifetime_value(spend_a, freq_a, life, discount_rate=discount_rate)
    return ScoreFrame(
        {"customer": cols["customer"], "annual_value": spend_a * freq_a, "clv": np.asarray(clv)}
    )
