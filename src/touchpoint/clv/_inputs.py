"""Reading and checking a customer summary (frequency, recency, T, monetary value).

Examples
--------
>>> cols = read_summary({"frequency": [0, 2], "recency": [0.0, 3.0], "T": [5.0, 5.0]},
...                     {"frequency": "frequency", "recency": "recency", "T": "T"})
>>> cols["frequency"].tolist()
[0.0, 2.0]
>>> read_summary({"frequency": [1], "recency": [6.0], "T": [5.0]},
...              {"frequency": "frequency", "recency": "recency", "T": "T"})
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in the records:
  - summary['recency'][0]: recency is after the end of the observation period T (5.0) (value: 6.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import as_float64, first_row, read_columns

__all__ = ["read_summary"]


def read_summary(summary: Any, names: Mapping[str, str]) -> dict[str, np.ndarray]:
    """The named summary columns as float64 arrays, checked for the CLV models' conventions."""
    cols = read_columns(summary, names, required=tuple(names))
    out = {role: as_float64(cols[role], f"summary[{names[role]!r}]") for role in names}
    problems: list[Problem] = []

    def check(role: str, bad: np.ndarray, message: str) -> None:
        row = first_row(bad)
        if row is not None:
            value = out[role][row].item()
            where = f"summary[{names[role]!r}][{row}]"
            problems.append(Problem(where, message.format(row=row), value))

    for role, values in out.items():
        check(role, ~np.isfinite(values), f"{role} must be a finite number")
    if "frequency" in out:
        x = out["frequency"]
        check("frequency", (x < 0) | (x != np.round(x)), "frequency must be a whole number >= 0")
    if "recency" in out:
        check("recency", out["recency"] < 0, "recency must be >= 0")
    if "T" in out:
        check("T", out["T"] < 0, "T must be >= 0")
    if "recency" in out and "T" in out:
        r, t = out["recency"], out["T"]
        bad = r > t * (1 + 1e-12) + 1e-12
        row = first_row(bad)
        if row is not None:
            problems.append(
                Problem(
                    f"summary[{names['recency']!r}][{row}]",
                    f"recency is after the end of the observation period T ({t[row]})",
                    r[row].item(),
                )
            )
    if "monetary_value" in out and "frequency" in out:
        check(
            "monetary_value",
            (out["frequency"] > 0) & (out["monetary_value"] <= 0),
            "average spend of a repeat buyer must be > 0",
        )
    if problems:
        raise ValidationError(problems)
    if len(next(iter(out.values()))) == 0:
        raise ValidationError([Problem("summary", "no customers")])
    return out
