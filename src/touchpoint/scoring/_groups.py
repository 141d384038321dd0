"""Grouping rows by several coded columns at once (touchpoint x staff x month...).

Each key column is given as codes (-1 = missing) with its categories; the combination is
turned into one dense group code through ``numpy.ravel_multi_index`` and a factorize of
the combined integers, so grouping costs a few vector passes whatever the number of keys.
Missing keys form their own group (shown as None).

Examples
--------
>>> g = Groups.of([(np.array([0, 1, 0]), np.array(["a", "b"], dtype=object)),
...                (np.array([1, 1, -1]), np.array(["x", "y"], dtype=object))])
>>> g.codes.tolist(), [g.labels(0).tolist(), g.labels(1).tolist()]
([1, 2, 0], [['a', 'a', 'b'], [None, 'y', 'y']])
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from touchpoint.frame import factorize
from touchpoint.model import Blueprint

__all__ = ["Groups", "period_codes"]


@attrs.frozen
class Groups:
    """Dense group codes for rows and, per key, the label of every group."""

    codes: np.ndarray
    key_codes: tuple[np.ndarray, ...]
    key_categories: tuple[np.ndarray, ...]

    @property
    def size(self) -> int:
        return len(self.key_codes[0]) if self.key_codes else 1

    @classmethod
    def of(cls, keys: Sequence[tuple[np.ndarray, np.ndarray]], n: int | None = None) -> Groups:
        """Group rows by the given (codes, categories) keys; no keys: one group of all rows."""
        if not keys:
            rows = 0 if n is None else n
            return cls(np.zeros(rows, dtype=np.int64), (), ())
        shifted = [codes.astype(np.int64) + 1 for codes, _ in keys]  # 0 = missing
        dims = tuple(len(cats) + 1 for _, cats in keys)
        combined = shifted[0] if len(keys) == 1 else np.ravel_multi_index(tuple(shifted), dims)
        codes, uniques = factorize(combined)
        parts = np.unravel_index(uniques, dims) if len(keys) > 1 else (uniques,)
        key_codes = tuple(np.asarray(p, dtype=np.int64) - 1 for p in parts)
        return cls(codes, key_codes, tuple(cats for _, cats in keys))

    def labels(self, i: int) -> np.ndarray:
        """The value of key ``i`` for every group (None where the key was missing)."""
        codes, cats = self.key_codes[i], self.key_categories[i]
        out = np.empty(len(codes), dtype=object)
        if len(cats):
            out[:] = np.asarray(cats, dtype=object)[np.where(codes >= 0, codes, 0)]
        out[codes < 0] = None
        return out


def period_codes(times: np.ndarray, period: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and labels of calendar periods (day, week, month, quarter, year) of times.

    Weeks start on Monday and are labelled by their Monday; quarters as ``2026-Q1``.

    >>> t = np.array(["2026-01-31", "2026-02-01", "NaT"], dtype="datetime64[us]")
    >>> c, labels = period_codes(t, "month")
    >>> c.tolist(), labels.tolist()
    ([0, 1, -1], ['2026-01', '2026-02'])
    """
    if period == "week":
        days = times.astype("datetime64[D]")
        # 1970-01-01 was a Thursday: shift so that weeks start on Monday
        values = days - ((days.view(np.int64) + 3) % 7).astype("timedelta64[D]")
        unit = "D"
    elif period in ("day", "month", "year"):
        unit = {"day": "D", "month": "M", "year": "Y"}[period]
        values = times.astype(f"datetime64[{unit}]")
    elif period == "quarter":
        months = times.astype("datetime64[M]").view(np.int64)
        valid = ~np.isnat(times)
        codes = np.full(len(times), -1, dtype=np.int64)
        codes[valid], uniq = factorize(months[valid] // 3)
        # a loop over the distinct quarters (a handful), not over rows
        labels = np.array([f"{1970 + int(q) // 4}-Q{int(q) % 4 + 1}" for q in uniq], dtype=object)
        return codes, labels
    else:
        from touchpoint.errors import Problem, ValidationError

        raise ValidationError(
            [Problem("period", "must be day, week, month, quarter or year", period)]
        )
    # periods are a small range of integers: the lookup-table path of factorize, O(n)
    ints = values.view(np.int64)
    valid = ~np.isnat(values)
    if valid.all():
        codes, uniq = factorize(ints)
    else:
        codes = np.full(len(ints), -1, dtype=np.int64)
        codes[valid], uniq = factorize(ints[valid])
    return codes, np.array([str(u) for u in uniq.view(f"datetime64[{unit}]")], dtype=object)


#: Group keys derived from the touchpoint through the blueprint when not columns of the data.
DERIVED = ("stage", "line", "enterprise_stage", "category")


def from_blueprint(
    tp_codes: np.ndarray,
    tp_categories: np.ndarray,
    blueprint: Blueprint | None,
    what: str,
    column: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row stage / line / category of each row's touchpoint, through the blueprint.

    Raises `touchpoint.errors.ValidationError` naming ``column`` and the first touchpoint
    code the blueprint does not know. Loops over the distinct touchpoint codes only.
    """
    from touchpoint.errors import Problem, ValidationError

    labels = []
    for code in tp_categories.tolist():
        if blueprint is None:
            raise ValidationError([Problem(what, f"grouping by {what} needs blueprint=...")])
        if code not in blueprint:
            raise ValidationError(
                [
                    Problem(
                        column,
                        f"unknown touchpoint code (not in blueprint {blueprint.name!r})",
                        code,
                    )
                ]
            )
        tp = blueprint.touchpoint(code)
        value = tp.stage.enterprise if what == "enterprise_stage" else getattr(tp, what)
        labels.append(value.value)
    lut, cats = factorize(np.array(labels, dtype=object))
    lut = np.concatenate((lut, [-1]))  # index -1 (missing touchpoint) -> missing
    return lut[tp_codes], cats
