"""Matplotlib, imported when a plot is drawn, and the Axes a plot draws on."""

from __future__ import annotations

from typing import Any

from touchpoint._extras import require
from touchpoint.errors import Problem, ValidationError

__all__ = ["axes_for", "matplotlib", "percent"]


def matplotlib() -> Any:
    """The ``matplotlib`` package, or `MissingExtraError` naming the ``plots`` extra."""
    return require("matplotlib", extra="plots", feature="touchpoint.plot")


def axes_for(ax: Any) -> Any:
    """``ax`` itself, or the Axes of a new figure when ``ax`` is None."""
    matplotlib()
    if ax is None:
        plt = require("matplotlib.pyplot", extra="plots", feature="touchpoint.plot")
        _, ax = plt.subplots()
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise ValidationError(
            [Problem("ax", "must be a matplotlib Axes (or None: a new figure)", type(ax).__name__)]
        )
    return ax


def percent(axis: Any) -> None:
    """Show an axis holding shares (0..1) as percentages."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0))
