"""Value tiers (分级管理): the customer pyramid, the 80/20 curve and simple lifetime value.

- `pyramid`: key / major / ordinary / small customers by value rank (top 1% / next 4% /
  next 15% / remaining 80% by default).
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
from functools import partial
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, read_coded, read_columns
from touchpoint.scale._detect import is_dask
from touchpoint.scoring._columns import check_nonnegative, count_worse

__all__ = ["lifetime_value", "pareto", "pyramid", "pyramid_summary", "simple_clv", "top_share"]

DEFAULT_SHARES = (0.01, 0.04, 0.15, 0.80)
DEFAULT_TIERS = ("key", "major", "ordinary", "small")


def _values(data: Any, customer: str, value: str) -> tuple[np.ndarray, np.ndarray]:
    cols = read_columns(
        data, {"customer": customer, "value": value}, required=("customer", "value")
    )
    v = cols["value"].astype(np.float64, copy=False)
    return cols["customer"], v


def pyramid(
    data: Any,
    *,
    customer: str = "customer",
    value: str = "monetary",
    shares: Sequence[float] = DEFAULT_SHARES,
    tiers: Sequence[str] = DEFAULT_TIERS,
    ranks: bool = False,
) -> ScoreFrame:
    """The customer pyramid: each customer's tier by rank of value.

    Customers are ranked by ``value`` (highest first). With ``n`` ranked customers the
    first ``round(n * shares[0])`` ranks are the first tier, up to
    ``round(n * (shares[0] + shares[1]))`` the second, and so on (round half up); the
    last tier takes the rest. **Ties:** customers with equal value share a tier, that of
    the best-ranked of them (so a tie straddling a boundary moves up), and the result
    never depends on row order. Customers with a missing value (NaN) get tier
    ``"none"`` and rank 0.

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
        few order statistics, O(n)).

    Returns
    -------
    ScoreFrame
        ``customer``, ``value``, ``rank`` if asked (1 = highest; equal values share the
        best rank; 0 for NaN) and ``tier`` (categorical, in the order of ``tiers`` then
        ``"none"``).

    Examples
    --------
    >>> p = pyramid({"customer": list("abcdefghij"), "monetary": [100, 50, 50, 9, 8, 7, 6, 5, 4, 3]},
    ...             shares=[0.1, 0.2, 0.7], tiers=["top", "mid", "rest"])
    >>> p["tier"].tolist()
    ['top', 'mid', 'mid', 'rest', 'rest', 'rest', 'rest', 'rest', 'rest', 'rest']
    """
    if is_dask(data):
        from touchpoint.scale._value import pyramid_on_dask

        return pyramid_on_dask(
            data, customer=customer, value=value, shares=shares, tiers=tiers, ranks=ranks
        )
    ids, v = _values(data, customer, value)
    valid = ~np.isnan(v)
    vv = v[valid] if not valid.all() else v
    positions, skipped = tier_positions(len(vv), shares, tiers)
    # the values at the boundaries: a few order statistics of -value (highest first)
    thresholds = np.partition(-vv, np.unique(positions))[positions] if len(positions) else positions
    rank = None
    if ranks:
        rank = np.zeros(len(v), dtype=np.int64)
        rank[valid] = count_worse(vv, higher_is_better=False) + 1
    return pyramid_frame(ids, v, thresholds, skipped, tiers, rank)


def tier_positions(n: int, shares: Sequence[float], tiers: Sequence[str]) -> tuple[np.ndarray, int]:
    """Where the tier boundaries fall among ``n`` ranked values, and tiers skipped at the top.

    Returns the 0-based positions, in the ascending order of ``-value``, of the values
    whose betters count the boundaries (``round(n * cumulative share)``), and how many
    boundaries fall before the first rank (tiers no customer can reach).

    >>> tier_positions(10, [0.1, 0.2, 0.7], ["top", "mid", "rest"])
    (array([0, 2]), 0)
    """
    shares_arr = np.asarray(shares, dtype=np.float64)
    if len(shares_arr) != len(tiers) or len(tiers) == 0:
        raise ValidationError([Problem("tiers", "needs one name per share", list(tiers))])
    if (shares_arr < 0).any() or abs(shares_arr.sum() - 1.0) > 1e-9:
        raise ValidationError([Problem("shares", "must be >= 0 and sum to 1", list(shares))])
    bounds = np.floor(n * np.cumsum(shares_arr)[:-1] + 0.5).astype(np.int64)
    live = bounds[(bounds >= 1) & (bounds <= n)]
    return live - 1, int((bounds < 1).sum())


def pyramid_frame(
    ids: np.ndarray,
    v: np.ndarray,
    thresholds: np.ndarray,
    skipped: int,
    tiers: Sequence[str],
    rank: np.ndarray | None = None,
) -> ScoreFrame:
    """The pyramid's result from the boundary values (see `tier_positions`).

    A customer's tier is the number of boundaries their count of strictly better values
    reaches: the boundary values of ``-value`` below ``-v`` (a binary search), plus the
    tiers skipped. NaN values get ``"none"``.
    """
    valid = ~np.isnan(v)
    tier = np.full(len(v), len(tiers), dtype=np.int64)
    tier[valid] = np.searchsorted(thresholds, -v[valid], side="left") + skipped
    out = {"customer": ids, "value": v}
    if rank is not None:
        out["rank"] = rank
    out["tier"] = tier
    return ScoreFrame(out, {"tier": np.array([*tiers, "none"], dtype=object)})


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
    sums = partial(_tier_sums, tier=tier, value=value)
    if is_dask(data):
        from touchpoint.scale._groups import grouped_on_dask

        return grouped_on_dask(data, sums, _tier_shares, ["tier"])
    return _tier_shares(sums(data))


def _tier_sums(data: Any, *, tier: str, value: str) -> ScoreFrame:
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


def _tier_shares(sums: Any) -> ScoreFrame:
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
    x = np.linspace(0.0, 1.0, points)
    if is_dask(data):
        from touchpoint.scale._value import curve_on_dask

        y = curve_on_dask(data, customer=customer, value=value, x=x)
    else:
        _, v = _values(data, customer, value)
        check_nonnegative(v, value)
        y = _curve(v, x)
    return ScoreFrame({"customer_share": x, "value_share": y}, key="customer_share")


def _curve(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    v = v[~np.isnan(v)]
    top = np.concatenate(([0.0], np.cumsum(-np.sort(-v))))
    return read_curve(x, len(v), top[-1], lambda i: top[i])


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
    needed = np.unique(np.concatenate((i0, i1)))
    sums = np.asarray(top_sums(needed), dtype=np.float64)
    s0 = sums[np.searchsorted(needed, i0)]
    s1 = sums[np.searchsorted(needed, i1)]
    return (s0 + (t - i0) * (s1 - s0)) / total


def top_share(
    data: Any, *, customer: str = "customer", value: str = "monetary", top: float = 0.2
) -> float:
    """Share of total value brought by the top ``top`` share of customers (the "80" of 80/20).

    >>> top_share({"customer": list("abcde"), "monetary": [80, 5, 5, 5, 5]}, top=0.2)
    0.8
    """
    if not 0.0 <= top <= 1.0:
        raise ValidationError([Problem("top", "must be a share between 0 and 1", top)])
    if is_dask(data):
        from touchpoint.scale._value import curve_on_dask

        return float(curve_on_dask(data, customer=customer, value=value, x=np.array([top]))[0])
    _, v = _values(data, customer, value)
    check_nonnegative(v, value)
    return float(_curve(v, np.array([top]))[0])


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
