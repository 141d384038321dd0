"""Value plots: the Pareto (80/20) curve and the value pyramid."""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import column_names, read_columns
from touchpoint.plot._axes import axes_for, percent
from touchpoint.scoring import pareto, pyramid_summary

__all__ = ["pareto_curve", "value_pyramid"]


def pareto_curve(
    data: Any,
    *,
    customer: str = "customer",
    value: str = "monetary",
    points: int = 101,
    mark: float | None = 0.2,
    ax: Any = None,
) -> Any:
    """The 80/20 curve: the share of value brought by the top share of customers.

    Parameters
    ----------
    data:
        One row per customer with a value column (e.g. `touchpoint.scoring.rfm`'s
        output, or `touchpoint.datasets.load_cdnow`'s summary with
        ``value="monetary_value"``): the curve is `touchpoint.scoring.pareto` of it. Or
        the output of `touchpoint.scoring.pareto` itself (columns ``customer_share`` and
        ``value_share``), drawn as it is.
    customer, value, points:
        As in `touchpoint.scoring.pareto`.
    mark:
        A share of customers to mark on the curve with the share of value it brings
        (default 0.2, "the top 20% bring 80%"); None for no mark.
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The curve is the first line (``ax.lines[0]``; x the share of customers from the
        highest value down, y the share of value), the diagonal of equal value the
        second.

    Raises
    ------
    touchpoint.errors.ValidationError
        Missing columns, negative values, a ``mark`` outside 0..1.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = pareto_curve({"customer": [1, 2, 3, 4, 5], "monetary": [80, 5, 5, 5, 5]}, points=6)
    >>> ax.lines[0].get_ydata().round(2).tolist()
    [0.0, 0.8, 0.85, 0.9, 0.95, 1.0]
    >>> plt.close(ax.figure)
    """
    if mark is not None and not 0.0 <= mark <= 1.0:
        raise ValidationError([Problem("mark", "must be a share between 0 and 1", mark)])
    names = set(column_names(data))
    if {"customer_share", "value_share"} <= names and value not in names:
        cols = read_columns(
            data,
            {"x": "customer_share", "y": "value_share"},
            required=("x", "y"),
        )
        x, y = cols["x"].astype(np.float64), cols["y"].astype(np.float64)
    else:
        curve = pareto(data, customer=customer, value=value, points=points)
        x, y = curve["customer_share"], curve["value_share"]
    ax = axes_for(ax)
    ax.plot(x, y, color="C0", linewidth=2, label="share of value")
    ax.plot([0.0, 1.0], [0.0, 1.0], color="0.6", linestyle="--", linewidth=1, label="equal value")
    if mark is not None and len(x) and not np.isnan(y).all():
        at = float(np.interp(mark, x, y))
        ax.plot([mark], [at], "o", color="C3")
        ax.annotate(
            f"top {mark:.0%}: {at:.0%} of value",
            (mark, at),
            xytext=(10, -14),
            textcoords="offset points",
        )
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    percent(ax.xaxis)
    percent(ax.yaxis)
    ax.set_xlabel("share of customers, highest value first")
    ax.set_ylabel("share of value")
    ax.set_title("Pareto curve")
    ax.legend(loc="lower right")
    return ax


def value_pyramid(data: Any, *, tier: str = "tier", value: str = "value", ax: Any = None) -> Any:
    """The customer pyramid: each tier's share of customers against its share of value.

    Back-to-back bars, the first tier on top: to the left the tier's share of customers,
    to the right its share of value (the top 1% bringing, say, 25% of the value). A
    tier ``"none"`` (customers without a value) is drawn only if it has customers.

    Parameters
    ----------
    data:
        The output of `touchpoint.scoring.pyramid` (one row per customer with ``tier``
        and ``value``), summarised with `touchpoint.scoring.pyramid_summary`; or that
        summary itself (columns ``tier``, ``customer_share``, ``value_share``), in
        tier order.
    tier, value:
        The column names of the per-customer table.
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[0]`` holds the customer bars (widths are minus the shares, drawn
        leftwards), ``ax.containers[1]`` the value bars, one per tier from the top.

    Raises
    ------
    touchpoint.errors.ValidationError
        Missing columns.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from touchpoint.scoring import pyramid
    >>> p = pyramid({"customer": [1, 2, 3, 4], "monetary": [70.0, 20, 5, 5]},
    ...             shares=[0.25, 0.75], tiers=["top", "rest"])
    >>> ax = value_pyramid(p)
    >>> [float(b.get_width()) for b in ax.containers[1]]
    [0.7, 0.3]
    >>> plt.close(ax.figure)
    """
    names = set(column_names(data))
    if not {"customer_share", "value_share"} <= names:
        data = pyramid_summary(data, tier=tier, value=value)
        tier = "tier"
    cols = read_columns(
        data,
        {"tier": tier, "customers": "customers", "c": "customer_share", "v": "value_share"},
        required=("tier", "c", "v"),
    )
    labels = np.asarray(cols["tier"]).astype(str)
    c, v = cols["c"].astype(np.float64), cols["v"].astype(np.float64)
    shown = ~((labels == "none") & (c == 0))
    labels, c, v = labels[shown], c[shown], v[shown]
    y = np.arange(len(labels))[::-1]  # the first tier on top
    ax = axes_for(ax)
    left = ax.barh(y, -c, color="C0", label="share of customers")
    right = ax.barh(y, v, color="C1", label="share of value")
    ax.bar_label(left, labels=[f"{s:.0%}" for s in c], padding=3)
    ax.bar_label(right, labels=[f"{s:.0%}" for s in v], padding=3)
    ax.set_yticks(y, labels)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    reach = max(float(np.max(c, initial=0.0)), float(np.max(v, initial=0.0)), 0.05) * 1.25
    ax.set_xlim(-reach, reach)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _pos: f"{abs(s):.0%}"))
    ax.set_xlabel("share of customers  |  share of value")
    ax.set_title("Value pyramid")
    ax.legend(loc="best")
    return ax
