"""The RFM segment map: the grid of recency x frequency scores, coloured by segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint.frame import read_columns
from touchpoint.plot._axes import axes_for, matplotlib
from touchpoint.scoring import rfm_segments as segment

__all__ = ["rfm_segments"]


def rfm_segments(
    data: Any,
    *,
    customer: str = "customer",
    r_score: str = "r_score",
    f_score: str = "f_score",
    k: int = 5,
    segments: Mapping[str, tuple[tuple[int, int], tuple[int, int]]] | None = None,
    ax: Any = None,
) -> Any:
    """The segment map: recency score across, frequency score up, each cell its segment.

    Every cell of the k x k grid of scores is coloured by the segment
    `touchpoint.scoring.rfm_segments` gives it, and each segment is labelled once, at
    the middle of its cells, with its name, its number of customers and their share.
    Customers with score 0 (no purchase) are counted in the title, not on the map.

    Parameters
    ----------
    data:
        One row per customer with recency and frequency scores: the output of
        `touchpoint.scoring.rfm_scores`, or any table with those columns.
    customer, r_score, f_score, k, segments:
        As in `touchpoint.scoring.rfm_segments` (the default segments need k = 5).
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0]`` holds the segment codes of the grid (row ``f - 1``, column
        ``r - 1``; codes index the segment names in the order of ``segments``, then
        ``"other"``), ``ax.texts`` one label per segment on the map:
        ``"name\\nN customers (share)"``.

    Raises
    ------
    touchpoint.errors.ValidationError
        Missing columns, scores outside 0..k, default segments with k other than 5.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = rfm_segments({"customer": [1, 2, 3], "r_score": [5, 5, 1], "f_score": [5, 4, 1]})
    >>> len(ax.texts), ax.texts[-1].get_text()
    (10, 'hibernating\\n1 customer (33%)')
    >>> ax.texts[0].get_text()
    'champions\\n2 customers (67%)'
    >>> plt.close(ax.figure)
    """
    # the scoring function checks the scores and the mapping and names the bad row
    segment(data, customer=customer, r_score=r_score, f_score=f_score, k=k, segments=segments)
    cols = read_columns(data, {"r": r_score, "f": f_score}, required=("r", "f"))
    r, f = cols["r"].astype(np.int64), cols["f"].astype(np.int64)
    counts = np.bincount(f * (k + 1) + r, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    unscored = int(counts[0, :].sum() + counts[1:, 0].sum())
    cells = counts[1:, 1:]  # cells[f - 1, r - 1]
    scored = int(cells.sum())
    # each cell's segment, from the scoring function itself on the k x k grid
    grid_f, grid_r = np.divmod(np.arange(k * k), k)
    named = segment(
        {"customer": np.arange(k * k), "r": grid_r + 1, "f": grid_f + 1},
        r_score="r",
        f_score="f",
        k=k,
        segments=segments,
    )
    codes = named.codes("segment").reshape(k, k)
    names = named.categories["segment"]
    mpl = matplotlib()
    ax = axes_for(ax)
    palette = mpl.colormaps["tab20"].resampled(max(len(names), 2))
    ax.imshow(
        codes,
        origin="lower",
        extent=(0.5, k + 0.5, 0.5, k + 0.5),
        cmap=palette,
        vmin=-0.5,
        vmax=len(names) - 0.5,
        interpolation="nearest",
    )
    for code in np.unique(codes):  # one label per segment on the map: a handful
        where_f, where_r = np.nonzero(codes == code)
        n = int(cells[codes == code].sum())
        share = n / scored if scored else 0.0
        ax.text(
            where_r.mean() + 1,
            where_f.mean() + 1,
            f"{names[code]}\n{n:,} customer{'' if n == 1 else 's'} ({share:.0%})",
            ha="center",
            va="center",
            fontsize=8,
        )
    ax.set_xticks(np.arange(1, k + 1))
    ax.set_yticks(np.arange(1, k + 1))
    ax.set_xlabel("recency score (5: bought most recently)" if k == 5 else "recency score")
    ax.set_ylabel("frequency score")
    title = f"RFM segments: {scored:,} customers"
    if unscored:
        title += f" ({unscored:,} without purchases not shown)"
    ax.set_title(title)
    return ax
