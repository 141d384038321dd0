"""Value tiers on Dask: the global ranking as exact order statistics, the rest per partition.

The pyramid needs its tier boundaries: after how many customers each falls, as the key
of the last customer before it (`touchpoint.scoring._ties.Cut`). `Partitions` answers
the few counts and order statistics that finding them takes with passes over the
partitions (`order_statistics` and small per-partition reductions), so the cuts, and
then the tiers assigned partition by partition with the in-memory `pyramid_frame`, are
those of the in-memory pyramid, customer for customer, ties included. The Pareto curve
needs the sums of the top ``i`` values for a few ``i``; quantile scores need a few
order statistics per dimension (of the distinct values for ``method="dense"``, cuts as
the pyramid's for ``method="first"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import register_plan
from touchpoint.scale._dask import check_column, require_dask, to_pandas
from touchpoint.scale._order import (
    Counted,
    counted_order_statistics,
    many_order_statistics,
    order_statistics,
    partition_arrays,
)
from touchpoint.scoring import parts as scoring

__all__ = [
    "Partitions",
    "curve_on_dask",
    "pareto_on_dask",
    "pyramid_on_dask",
    "rfm_scores_on_dask",
    "top_share_on_dask",
]

#: ``read(part) -> (ids, key)``: a pandas partition's customer ids and keys (higher is
#: better, NaN outside the order), read by the same code as in memory
Reader = Callable[[Any], tuple[np.ndarray, np.ndarray]]


def _keys(part: Any, read: Reader) -> Any:
    import pandas as pd

    return pd.Series(read(part)[1], dtype="float64")


def _tied_hashes(part: Any, read: Reader, value: float) -> Any:
    import pandas as pd

    ids, key = read(part)
    return pd.Series(scoring.tie_hash(ids[key == value]), dtype="uint64")


def _all_tied_hashes(part: Any, read: Reader, values: list[float]) -> dict[float, np.ndarray]:
    ids, key = read(part)
    return {t: scoring.tie_hash(ids[key == t]) for t in values}  # a few split values


def _colliding(part: Any, read: Reader, value: float, h: int) -> np.ndarray:
    ids, key = read(part)
    tied = key == value
    result: np.ndarray = ids[tied][scoring.tie_hash(ids[tied]) == np.uint64(h)]
    return result


def on_partitions(frame: Any, fn: Callable[..., Any], *args: Any) -> list[Any]:
    """``fn(part, *args)`` on each pandas partition of ``frame``, computed; one result each."""
    import dask

    call = dask.delayed(fn)
    return list(dask.compute(*[call(p, *args) for p in frame.to_delayed()]))


#: Up to this many tied customers (all split values together), their hashes are
#: collected in one pass (8 bytes each) rather than ranked in three passes per value.
COLLECT = 4_000_000


class Partitions:
    """A `touchpoint.scoring._ties.Source` over the partitions of a Dask DataFrame.

    ``frame`` is persisted by the caller (each answer is a pass or a few over it);
    ``read`` gives a partition's ids and keys with the in-memory code.
    """

    def __init__(
        self, frame: Any, read: Reader, *, keys: Any = None, known: Counted | None = None
    ) -> None:
        import pandas as pd

        self.frame, self.read, self.known = frame, read, known
        if keys is None:
            meta = pd.Series(dtype="float64")
            keys = frame.map_partitions(_keys, read, meta=meta).dropna().persist()
        self.keys = keys

    def key_at(
        self, positions: Callable[[int], np.ndarray]
    ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
        """The key order statistics: ``known`` (found with other series' in shared
        passes, at these same positions) or found now."""
        c = self.known
        if c is None:
            c = counted_order_statistics(self.keys, positions)
        else:
            positions(c.n)  # tells the caller n, as a first pass would
        return c.values, c.n, c.n - c.less - c.equal, c.equal

    def tied_hashes_at(
        self, wanted: dict[float, list[int]], tied: dict[float, int]
    ) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        values = list(wanted)
        if sum(tied.values()) <= COLLECT:  # one pass, then as in memory
            parts = on_partitions(self.frame, _all_tied_hashes, self.read, values)
            return {
                t: scoring.order_and_count(np.concatenate([p[t] for p in parts]), wanted[t])
                for t in values
            }
        import pandas as pd

        out = {}
        for t in values:  # a few split values, each ranked in three passes
            hashes = self.frame.map_partitions(
                _tied_hashes, self.read, t, meta=pd.Series(dtype="uint64")
            )
            c = counted_order_statistics(hashes, wanted[t])
            out[t] = (c.values, c.n - c.less - c.equal, c.equal)
        return out

    def colliding_ids(self, value: float, h: int) -> np.ndarray:
        return np.concatenate(on_partitions(self.frame, _colliding, self.read, value, h))


def _read_value(part: Any, customer: str, value: str) -> tuple[np.ndarray, np.ndarray]:
    return scoring.read_values(part, customer, value)


def _pyramid_partition(
    part: Any, customer: str, value: str, cut_list: Sequence[Any], skipped: int, tiers: Any
) -> Any:
    ids, v = scoring.read_values(part, customer, value)
    return to_pandas(scoring.pyramid_frame(ids, v, cut_list, skipped, tiers))


@register_plan(
    "pyramid",
    how="ranked",
    result="lazy, one row per customer",
    note="tiers only: ranks=True needs a full sort of all customers and is refused",
)
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
    scoring.tier_counts(0, shares, tiers)  # check shares and tiers before any work
    check_column(data, customer, "customer")
    check_column(data, value, "value")
    # the customer table is small next to the events: keep it in the workers' memory
    # for the passes below rather than recomputing what produced it for each pass
    cols = data[[customer, value]].persist()
    source = Partitions(cols, partial(_read_value, customer=customer, value=value))
    cut_list, skipped = scoring.resolve_cuts(
        source, lambda n: scoring.tier_counts(n, shares, tiers)
    )
    meta = _pyramid_partition(cols._meta_nonempty.iloc[:1], customer, value, [], 0, tiers)
    return cols.map_partitions(
        _pyramid_partition, customer, value, cut_list, skipped, tiers, meta=meta.iloc[:0]
    )


def _scores_partition(
    part: Any, names: tuple[str, str, str, str], thresholds: Any, k: int, segments: Any
) -> Any:
    ids, keys = scoring.score_keys(part, *names)
    return to_pandas(scoring.scores_frame(ids, keys, thresholds, k, segments))


def _read_score_key(
    part: Any, names: tuple[str, str, str, str], dim: str
) -> tuple[np.ndarray, np.ndarray]:
    ids, keys = scoring.score_keys(part, *names)
    return ids, keys[dim]


def _score_keys(part: Any, names: tuple[str, str, str, str]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        scoring.score_keys(part, *names)[1], columns=["r", "f", "m"], dtype="float64"
    )


@register_plan(
    "rfm_scores",
    how="ranked",
    result="lazy, one row per customer",
    note='k - 1 order statistics per dimension (of the distinct values for method="dense")',
)
def rfm_scores_on_dask(
    data: Any,
    *,
    customer: str,
    recency: str,
    frequency: str,
    monetary: str,
    k: int,
    segments: Any,
    method: str | Mapping[str, str],
) -> Any:
    """`touchpoint.scoring.rfm_scores` of a Dask DataFrame, as a lazy Dask DataFrame.

    The keys are read per partition by the in-memory code. Per dimension (the tie rule
    of `touchpoint.scoring.parts.dimension_methods`): ``"min"`` takes k - 1 order statistics of
    its keys, ``"dense"`` of its distinct keys (a ``drop_duplicates`` first),
    ``"first"`` finds cuts as the pyramid does; the three dimensions share each pass.
    """
    scoring.check_k(k)
    methods = scoring.dimension_methods(method)
    require_dask("rfm_scores on a Dask DataFrame")
    import dask
    import pandas as pd

    names = (customer, recency, frequency, monetary)
    for role, column in zip(("customer", "recency", "frequency", "monetary"), names, strict=True):
        check_column(data, column, role)
    cols = data[list(dict.fromkeys(names))].persist()
    # a meta run first: checks k and the segments before any pass over the data
    meta = _scores_partition(cols._meta_nonempty.iloc[:1], names, _NO_CUTS, k, segments)
    frame_meta = pd.DataFrame({d: pd.Series(dtype="float64") for d in ("r", "f", "m")})
    keys = cols.map_partitions(_score_keys, names, meta=frame_meta).persist()
    dims = ("r", "f", "m")
    series = [keys[d].dropna() for d in dims]
    dense = [i for i, d in enumerate(dims) if methods[d] == "dense"]
    for i, s in zip(
        dense, dask.persist(*[series[i].drop_duplicates() for i in dense]), strict=True
    ):
        series[i] = s

    def first_positions(n: int) -> np.ndarray:
        return n - scoring.score_counts(n, k)[0]

    def quantile_positions(n: int) -> np.ndarray:
        return scoring.score_positions(n, k)

    found = many_order_statistics(
        [
            (s, first_positions if methods[d] == "first" else quantile_positions)
            for d, s in zip(dims, series, strict=True)
        ]
    )
    thresholds: dict[str, Any] = {}
    for dim, s, c in zip(dims, series, found, strict=True):  # three dimensions
        if methods[dim] == "first":
            read = partial(_read_score_key, names=names, dim=dim)
            source = Partitions(cols, read, keys=s, known=c)
            thresholds[dim] = scoring.resolve_cuts(source, lambda n: scoring.score_counts(n, k))
        else:
            thresholds[dim] = c.values
    return cols.map_partitions(
        _scores_partition, names, thresholds, k, segments, meta=meta.iloc[:0]
    )


_NO_CUTS = {dim: np.empty(0, dtype=np.float64) for dim in ("r", "f", "m")}


def _value_column(data: Any, customer: str, value: str) -> Any:
    check_column(data, customer, "customer")
    check_column(data, value, "value")
    cols = data[[customer, value]].persist()
    return cols, cols[value].astype("float64").dropna()


def _sums_above(v: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per threshold: how many values are strictly above it, and their sum."""
    desc = -np.sort(-v)
    top = np.concatenate(([0.0], np.cumsum(desc)))
    above = np.searchsorted(-desc, -thresholds, side="left")
    return np.stack((above.astype(np.float64), top[above]))


@register_plan(
    "pareto",
    how="ranked",
    result="computed: a few points",
    note="the sums above a few exact order statistics",
)
def pareto_on_dask(data: Any, *, customer: str, value: str, points: int) -> Any:
    """`touchpoint.scoring.pareto` of a Dask DataFrame (computed: it is a few points)."""
    x = scoring.pareto_shares(points)
    return scoring.pareto_frame(x, curve_on_dask(data, customer=customer, value=value, x=x))


@register_plan(
    "top_share", how="ranked", result="computed: a number", note="as pareto, at one point"
)
def top_share_on_dask(data: Any, *, customer: str, value: str, top: float) -> float:
    """`touchpoint.scoring.top_share` of a Dask DataFrame."""
    scoring.check_top(top)
    return float(curve_on_dask(data, customer=customer, value=value, x=np.array([top]))[0])


def curve_on_dask(data: Any, *, customer: str, value: str, x: np.ndarray) -> np.ndarray:
    """The Pareto curve (see `touchpoint.scoring.pareto`) of a Dask DataFrame at shares ``x``.

    The sum of the top ``i`` values is the sum of the values above the ``i``-th highest
    plus that value times the number of its ties that make up the ``i``.
    """
    require_dask("pareto on a Dask DataFrame")
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

    return scoring.read_curve(x, n, total, top_sums)


def _compute(*lazy: Any) -> tuple[Any, ...]:
    import dask

    result: tuple[Any, ...] = dask.compute(*lazy)
    return result
