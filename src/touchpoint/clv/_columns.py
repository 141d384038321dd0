"""Columns in, frames out: the CLV and attribution functions' link to `touchpoint.frame`.

Input goes through the frame layer's reader (EventFrames, pandas / polars DataFrames,
Arrow tables and dicts of arrays); per-key results come back as a `ScoreFrame`.

Examples
--------
>>> cols = read({"customer": [1, 2], "time": ["2024-01-01", "2024-01-02"]},
...             {"customer": "customer", "time": "time"}, required=("customer", "time"))
>>> cols["time"].dtype
dtype('<M8[us]')
>>> keyed_result("touchpoint", np.array(["ad"], dtype=object), {"share": np.array([1.0])})["share"].tolist()
[1.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, read_coded, read_columns

__all__ = ["as_float", "keyed_result", "read", "read_coded", "times"]


def read(
    data: Any, names: Mapping[str, str | None], *, required: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Columns of ``data`` as numpy arrays, keyed by role (``names`` maps role -> column)."""
    return read_columns(data, names, required=required)


def times(values: Any, where: str) -> np.ndarray:
    """Values as ``datetime64[us]``; a clear error naming ``where`` when they are not times."""
    arr = np.asarray(values)
    try:
        return arr.astype("datetime64[us]")
    except (ValueError, TypeError):
        bad = arr.reshape(-1)[:1].tolist()
        raise ValidationError(
            [Problem(where, "expected dates or times", bad[0] if bad else None)]
        ) from None


def as_float(values: np.ndarray, where: str) -> np.ndarray:
    """Values as float64, with an error naming ``where`` and a bad value otherwise."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        bad = next((v for v in values if not _is_number(v)), None)
        raise ValidationError([Problem(where, "expected numbers", bad)]) from None


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return v is not None


def keyed_result(key_name: str, keys: np.ndarray, columns: dict[str, np.ndarray]) -> ScoreFrame:
    """A `ScoreFrame` keyed by ``key_name`` (the original ids or touchpoint codes)."""
    return ScoreFrame({key_name: keys, **columns}, key=key_name)
