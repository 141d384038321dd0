"""The forms a loader returns its tables in (``as_frame``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import EventFrame, ScoreFrame

__all__ = ["FORMS", "check_form", "events_as", "table_as"]

#: What ``as_frame`` may be: the library's frames, a dict of numpy columns, pandas, polars.
FORMS = ("frame", "numpy", "pandas", "polars")


def check_form(as_frame: str) -> None:
    """A `ValidationError` unless ``as_frame`` is one of `FORMS`."""
    if as_frame not in FORMS:
        raise ValidationError(
            [Problem("as_frame", f"must be one of {', '.join(map(repr, FORMS))}", as_frame)]
        )


def _dataframe(columns: dict[str, np.ndarray], as_frame: str) -> Any:
    if as_frame == "pandas":
        pd = require("pandas", extra="dataframes", feature="as_frame='pandas'")
        return pd.DataFrame(columns)
    pl = require("polars", extra="dataframes", feature="as_frame='polars'")
    return pl.DataFrame(columns)


def events_as(events: EventFrame | dict[str, np.ndarray], as_frame: str) -> Any:
    """An event table as ``as_frame`` asks: an `EventFrame`, a dict of columns, or a DataFrame.

    ``events`` is an `EventFrame` or a dict of plain numpy columns; an `EventFrame` turns
    into pandas / polars through its own export (categorical columns stay categorical).
    """
    if isinstance(events, EventFrame):
        if as_frame == "frame":
            return events
        if as_frame == "numpy":
            return {name: events[name] for name in events.column_names}
        return events.to_pandas() if as_frame == "pandas" else events.to_polars()
    if as_frame == "frame":
        return EventFrame.from_data(events)
    if as_frame == "numpy":
        return events
    return _dataframe(events, as_frame)


def table_as(columns: dict[str, np.ndarray], as_frame: str, *, key: str = "customer") -> Any:
    """A per-customer table as ``as_frame`` asks: a `ScoreFrame`, the dict, or a DataFrame."""
    if as_frame == "frame":
        return ScoreFrame(columns, key=key)
    if as_frame == "numpy":
        return columns
    return _dataframe(columns, as_frame)
