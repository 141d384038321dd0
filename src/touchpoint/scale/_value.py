"""Value tiers on Dask: the global ranking as exact order statistics, the rest per partition.

The pyramid needs the values at its tier boundaries (a few ranks among all customers);
the Pareto curve needs the sums of the top ``i`` values for a few ``i``. Both come from
`order_statistics` and small per-partition reductions; the tiers themselves are then
assigned partition by partition with the in-memory `pyramid_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.scale._dask import check_column, require_dask, to_pandas
from touchpoint.scale._order import order_statistics, partition_arrays

__all__ = ["curve_on_dask", "pyramid_on_dask", "rfm_scores_on_dask"]


def _value_column(data: Any, customer: str, value: str) -> Any:
    check_column(data, customer, "customer")
    check_column(data, value, "value")
    # the customer table is small next to the events: keep it in the workers' memory
    # for the passes below rather than recomputing what produced it for each pass
    cols = data[[customer, value]].persist()
    return cols, cols[value].astype("float64").dropna()


def _pyramid_partition(
    part: Any, customer: str, value: str, thresholds: np.ndarray, skipped: int, tiers: Any
) -> Any:
    from touchpoint.scoring.value import _values, pyramid_frame

    ids, v = _values(part, customer, value)
    return to_pandas(pyramid_frame(ids, v, thresholds, skipped, tiers))


def pyramid_on_dask(
    data: Any,
    *,
    customer: str,
    value: str,
    shares: Sequence[float],
    tiers: Sequence[str],
    ranks: bool,
) -> Any:
    """`touchpoint.scoring.pyramid` of a Dask DataFrame, as a lazy Dask DataFrame."""
    require_dask("pyramid on a Dask DataFrame")
    from touchpoint.scoring.value import tier_positions

    if ranks:
        raise ValidationError(
            [
                Problem(
                    "ranks",
                    "every customer's rank needs a full sort of all customers; on a Dask "
                    "DataFrame ask for the tiers only (ranks=False)",
                    True,
                )
            ]
        )
    tiers = list(tiers)
    tier_positions(0, shares, tiers)  # check shares and tiers before any work
    cols, v = _value_column(data, customer, value)
    found: dict[str, int] = {}

    def positions(n: int) -> np.ndarray:  # once the values are counted
        at, found["skipped"] = tier_positions(n, shares, tiers)
        return at

    thresholds = order_statistics(-v, positions)
    skipped = found["skipped"]
    meta = _pyramid_partition(cols._meta_nonempty.iloc[:1], customer, value, thresholds, 0, tiers)
    return cols.map_partitions(
        _pyramid_partition, customer, value, thresholds, skipped, tiers, meta=meta.iloc[:0]
    )


def _scores_partition(
    part: Any, names: tuple[str, str, str, str], thresholds: Any, k: int, segments: Any
) -> Any:
    from touchpoint.scoring.rfm import score_keys, scores_frame

    ids, keys = score_keys(part, *names)
    return to_pandas(scores_frame(ids, keys, thresholds, k, segments))


def rfm_scores_on_dask(
    data: Any,
    *,
    customer: str,
    recency: str,
    frequency: str,
    monetary: str,
    k: int,
    segments: Any,
) -> Any:
    """`touchpoint.scoring.rfm_scores` of a Dask DataFrame, as a lazy Dask DataFrame."""
    require_dask("rfm_scores on a Dask DataFrame")
    from touchpoint.scoring.rfm import score_positions

    names = (customer, recency, frequency, monetary)
    for role, column in zip(("customer", "recency", "frequency", "monetary"), names, strict=True):
        check_column(data, column, role)
    cols = data[list(dict.fromkeys(names))].persist()
    # a meta run first: checks k and the segments before any pass over the data
    meta = _scores_partition(cols._meta_nonempty.iloc[:1], names, _NO_CUTS, k, segments)
    rec = cols[recency].astype("float64")
    keys = {
        "r": -rec,
        "f": cols[frequency].astype("float64").where(rec.notnull()),
        "m": cols[monetary].astype("float64").where(rec.notnull()),
    }
    thresholds = {}
    for dim, key in keys.items():  # three dimensions
        thresholds[dim] = order_statistics(key.dropna(), lambda n: score_positions(n, k))
    return cols.map_partitions(
        _scores_partition, names, thresholds, k, segments, meta=meta.iloc[:0]
    )


_NO_CUTS = {dim: np.empty(0, dtype=np.float64) for dim in ("r", "f", "m")}


def _sums_above(v: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per threshold: how many values are strictly above it, and their sum."""
    desc = -np.sort(-v)
    top = np.concatenate(([0.0], np.cumsum(desc)))
    above = np.searchsorted(-desc, -thresholds, side="left")
    return np.stack((above.astype(np.float64), top[above]))


def curve_on_dask(data: Any, *, customer: str, value: str, x: np.ndarray) -> np.ndarray:
    """The Pareto curve (see `touchpoint.scoring.pareto`) of a Dask DataFrame at shares ``x``.

    The sum of the top ``i`` values is the sum of the values above the ``i``-th highest
    plus that value times the number of its ties that make up the ``i``.
    """
    require_dask("pareto on a Dask DataFrame")
    from touchpoint.scoring.value import read_curve

    _, v = _value_column(data, customer, value)
    low, n, total = (float(r) for r in _compute(v.min(), v.count(), v.sum()))
    n = int(n)
    if n and low < 0:
        raise ValidationError([Problem(value, "must not be negative", low)])

    def top_sums(i: np.ndarray) -> np.ndarray:
        out = np.zeros(len(i), dtype=np.float64)
        some = i > 0
        if not some.any():
            return out
        ith = order_statistics(v, n - i[some])  # the i-th highest value
        parts = partition_arrays(v, _sums_above, ith)
        count, above = np.sum(parts, axis=0)
        out[some] = above + (i[some] - count) * ith
        return out

    return read_curve(x, n, total, top_sums)


def _compute(*lazy: Any) -> tuple[Any, ...]:
    import dask

    return dask.compute(*lazy)
