"""Plots of tables: the compliance heat map and the funnel."""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import check_finite, check_nonnegative, column_names, factorize, read_columns
from touchpoint.plot._axes import axes_for, percent

__all__ = ["compliance_heatmap", "funnel"]

#: Above this many cells the heat map is not annotated unless asked.
_ANNOTATE_CELLS = 200


def _labels(values: np.ndarray, *, sort: bool) -> tuple[np.ndarray, list[str]]:
    codes, uniques = factorize(values, sort=sort)
    labels = [str(u) for u in uniques.tolist()]
    if (codes < 0).any():  # missing labels become a group of their own, shown last
        codes = np.where(codes < 0, len(labels), codes)
        labels.append("(none)")
    return codes, labels


def compliance_heatmap(
    report: Any,
    *,
    columns: str = "period",
    rows: str = "touchpoint",
    annotate: bool | None = None,
    ax: Any = None,
) -> Any:
    """Compliance per touchpoint (or indicator) and period (or store): a heat map.

    Each cell is ``met / cases`` over the indicators of the row in the column's group
    (the indicators of one touchpoint pooled by their cases), red for 0%, green for
    100%; cells without cases are blank.

    Parameters
    ----------
    report:
        A `touchpoint.scoring.ComplianceReport` (or its ``summary``) from
        `touchpoint.scoring.compliance` grouped by what ``columns`` names:
        ``compliance(events, blueprint, period="month")`` for periods,
        ``by="store"`` for stores.
    columns:
        The summary column across: ``"period"`` (default), ``"store"``, ``"staff"``...
    rows:
        The summary column down: ``"touchpoint"`` (default) or ``"indicator"``. Rows
        keep the blueprint's order, columns go in ascending order.
    annotate:
        Write each cell's percentage in it; default: when there are at most 200 cells.
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0].get_array()`` is the rows x columns matrix of compliance (masked
        where there were no cases); the tick labels name the rows and columns.

    Raises
    ------
    touchpoint.errors.ValidationError
        A summary without the ``rows`` or ``columns`` column, or without ``met`` and
        ``cases``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> summary = {"touchpoint": ["A", "A", "B", "B"], "store": ["s1", "s2", "s1", "s2"],
    ...            "met": [9, 5, 0, 4], "cases": [10, 10, 0, 8]}
    >>> ax = compliance_heatmap(summary, columns="store")
    >>> ax.images[0].get_array().tolist()
    [[0.9, 0.5], [None, 0.5]]
    >>> plt.close(ax.figure)
    """
    summary = getattr(report, "summary", report)
    cols = read_columns(
        summary,
        {"row": rows, "column": columns, "met": "met", "cases": "cases"},
        required=("row", "column", "met", "cases"),
    )
    met = np.asarray(cols["met"], dtype=np.float64)
    cases = np.asarray(cols["cases"], dtype=np.float64)
    check_nonnegative(met, "met")
    check_nonnegative(cases, "cases")
    r, row_labels = _labels(cols["row"], sort=False)
    c, column_labels = _labels(cols["column"], sort=True)
    shape = (len(row_labels), len(column_labels))
    cell = r * shape[1] + c
    size = shape[0] * shape[1]
    met_sum = np.bincount(cell, weights=np.nan_to_num(met), minlength=size).reshape(shape)
    case_sum = np.bincount(cell, weights=np.nan_to_num(cases), minlength=size).reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(case_sum > 0, met_sum / case_sum, np.nan)
    ax = axes_for(ax)
    image = ax.imshow(
        np.ma.masked_invalid(share),
        cmap="RdYlGn",
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
    )
    bar = ax.figure.colorbar(image, ax=ax, label="compliance")
    percent(bar.ax.yaxis)
    ax.set_xticks(np.arange(shape[1]), column_labels, rotation=45 if shape[1] > 6 else 0)
    ax.set_yticks(np.arange(shape[0]), row_labels)
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    ax.set_title("Compliance")
    if annotate or (annotate is None and size <= _ANNOTATE_CELLS):
        for i, j in zip(*np.nonzero(case_sum > 0), strict=True):  # at most a few hundred cells
            ax.text(j, i, f"{share[i, j]:.0%}", ha="center", va="center", fontsize=7)
    return ax


def funnel(
    table: Any,
    *,
    stage: str = "stage",
    customers: str = "customers",
    conversion: str = "conversion",
    ax: Any = None,
) -> Any:
    """A conversion funnel: one centred bar per stage, as wide as its customers.

    Parameters
    ----------
    table:
        One row per stage, first stage first: any table the library reads (a dict of
        columns, a pandas or polars DataFrame, a `ScoreFrame`...) with the columns

        - ``stage``: the stage's name;
        - ``customers``: how many customers reached it (a number >= 0);
        - ``conversion`` (optional): the share 0..1 shown next to the stage, as the
          table defines it (e.g. of the previous stage). Without that column, each
          stage's customers over the previous stage's.
    stage, customers, conversion:
        The column names.
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[0]`` holds the bars, first stage on top (bar widths are the
        customers); each bar is labelled with its customers and, from the second stage
        on, the conversion.

    Raises
    ------
    touchpoint.errors.ValidationError
        Missing ``stage`` or ``customers`` columns, no rows, negative or missing
        customers, conversions outside 0..1.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = funnel({"stage": ["visit", "test drive", "purchase"], "customers": [1000, 300, 60]})
    >>> [float(b.get_width()) for b in ax.containers[0]]
    [1000.0, 300.0, 60.0]
    >>> ax.texts[-1].get_text()
    '60 (20% of the previous stage)'
    >>> plt.close(ax.figure)
    """
    given = conversion in set(column_names(table))
    cols = read_columns(
        table,
        {"stage": stage, "customers": customers, "conversion": conversion if given else None},
        required=("stage", "customers"),
    )
    count = np.asarray(cols["customers"], dtype=np.float64)
    if not len(count):
        raise ValidationError([Problem(customers, "the funnel has no stages")])
    check_finite(count, customers)
    check_nonnegative(count, customers)
    if given:
        rate = np.asarray(cols["conversion"], dtype=np.float64)
        bad = (rate < 0) | (rate > 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                [Problem(f"{conversion}[{row}]", "must be a share between 0 and 1", rate[row])]
            )
        what = ""
    else:
        previous = np.concatenate(([np.nan], count[:-1]))
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(previous > 0, count / previous, np.nan)
        what = " of the previous stage"
    names = [str(s) for s in np.asarray(cols["stage"]).tolist()]
    y = np.arange(len(count))[::-1]  # the first stage on top
    ax = axes_for(ax)
    ax.barh(y, count, left=-count / 2, color="C0")
    ax.set_yticks(y, names)
    peak = float(count.max()) or 1.0
    for i, (at, n) in enumerate(zip(y, count, strict=True)):  # one label per stage
        text = f"{n:,.0f}"
        if i > 0 and not np.isnan(rate[i]):
            text += f" ({rate[i]:.0%}{what})"
        ax.text(n / 2 + peak * 0.02, at, text, ha="left", va="center", fontsize=9)
    ax.set_xlim(-peak * 0.55, peak * 1.05)
    ax.set_xticks([])
    ax.set_title("Funnel")
    return ax
