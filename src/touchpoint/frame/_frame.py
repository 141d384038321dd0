"""`EventFrame` and `ScoreFrame`: columns as numpy arrays, categorical columns as codes.

Both hold ``columns`` (name -> 1-d numpy array, all of one length) and ``categories``
(name -> the distinct values of a categorical column). For every name in ``categories``,
``columns[name]`` holds integer codes into ``categories[name]``; -1 means missing. So a
column of 100M customer ids costs 8 bytes a row and grouping by customer needs no hashing.

Money is float64 in currency units (not integer minor units): pandas, polars and Arrow
hand amounts over as floats, and ``np.bincount`` sums float64 directly. A sum of n
amounts carries a relative rounding error of at most about n·eps (eps = 2.2e-16), in
practice far less (pairwise summation in numpy reductions); sums of whole cents are
exact only while every partial sum stays below 2^53 cents. Missing amounts (NaN) add
nothing to sums and are counted separately where a score reports them.

Examples
--------
>>> import numpy as np
>>> f = EventFrame({"customer": np.array([0, 1, 0]), "amount": np.array([5.0, 2.0, 1.0])},
...                {"customer": np.array(["C1", "C2"], dtype=object)})
>>> len(f), f["customer"].tolist()
(3, ['C1', 'C2', 'C1'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Self

import numpy as np

from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import _export
from touchpoint.frame._codes import factorize
from touchpoint.frame._input import column_names, decode
from touchpoint.frame._validation import read_coded, read_columns

__all__ = ["CATEGORICAL", "STANDARD", "EventFrame", "ScoreFrame"]

#: The standard event columns, in display order.
STANDARD = (
    "event_id",
    "customer",
    "touchpoint",
    "channel",
    "time",
    "direction",
    "amount",
    "rating",
    "response_time",
    "outcome",
    "staff",
    "store",
    "referrer",
    "indicator",
)
#: Standard columns stored as codes into categories.
CATEGORICAL = frozenset(
    {
        "customer",
        "touchpoint",
        "channel",
        "direction",
        "outcome",
        "staff",
        "store",
        "referrer",
        "indicator",
    }
)


class _Frame:
    """Shared storage, validation, access and export of both frames."""

    _is_touchpoint_frame = True
    __slots__ = ("categories", "columns")

    def __init__(
        self, columns: Mapping[str, Any], categories: Mapping[str, Any] | None = None
    ) -> None:
        cols = {str(k): np.asarray(v) for k, v in columns.items()}
        cats = {str(k): np.asarray(v) for k, v in (categories or {}).items()}
        problems: list[Problem] = []
        for name, arr in cols.items():
            if arr.ndim != 1:
                problems.append(Problem(name, "must be one-dimensional", f"shape {arr.shape}"))
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k!r} has {n}" for k, n in lengths.items())
            problems.append(Problem("columns", f"columns differ in length: {shown}"))
        for name, values in cats.items():
            if name not in cols:
                problems.append(Problem(name, "has categories but no column"))
                continue
            codes = cols[name]
            if codes.dtype.kind not in "iu":
                problems.append(
                    Problem(name, "a categorical column must hold integer codes", str(codes.dtype))
                )
                continue
            if len(codes):
                lo, hi = int(codes.min()), int(codes.max())
                if lo < -1 or hi >= len(values):
                    bad = lo if lo < -1 else hi
                    problems.append(
                        Problem(name, f"code out of range for {len(values)} categories", bad)
                    )
        if problems:
            raise ValidationError(problems)
        self.columns: dict[str, np.ndarray] = cols
        self.categories: dict[str, np.ndarray] = cats

    # ------------------------------------------------------------------ access
    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __getitem__(self, name: str) -> np.ndarray:
        """The column's values; categorical columns decoded (use `codes` for the codes)."""
        if name not in self.columns:
            available = ", ".join(map(repr, self.columns)) or "none"
            raise KeyError(f"no column {name!r} (available: {available})")
        if name in self.categories:
            return decode(self.columns[name], self.categories[name])
        return self.columns[name]

    def codes(self, name: str) -> np.ndarray:
        """The stored codes of a categorical column (-1 = missing)."""
        if name not in self.categories:
            raise KeyError(f"{name!r} is not a categorical column")
        return self.columns[name]

    def take(self, index: np.ndarray) -> Self:
        """A frame of the rows at ``index`` (integer positions or a boolean mask)."""
        return type(self)._new(
            {k: v[index] for k, v in self.columns.items()}, self.categories, self
        )

    @classmethod
    def _new(
        cls, columns: dict[str, np.ndarray], categories: dict[str, np.ndarray], like: _Frame
    ) -> Self:
        return cls(columns, categories)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or other.column_names != self.column_names:
            return False
        return all(
            np.array_equal(self[c], other[c], equal_nan=self[c].dtype.kind in "fcmM")
            for c in self.columns
        )

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ export
    def to_pandas(self) -> Any:
        """A pandas DataFrame; categorical columns become ``category`` columns (no copy of codes)."""
        return _export.to_pandas(self)

    def to_polars(self) -> Any:
        """A polars DataFrame (through Arrow; categorical columns become ``Categorical``)."""
        return _export.to_polars(self)

    def to_arrow(self) -> Any:
        """A pyarrow Table; categorical columns become dictionary arrays."""
        return _export.to_arrow(self)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """The Arrow PyCapsule stream interface, so Arrow-aware libraries read the frame."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def _repr_html_(self) -> str:
        return _export.to_html(self)

    def __repr__(self) -> str:
        return _export.to_text(self)


class EventFrame(_Frame):
    """One row per interaction; see `STANDARD` for the column names.

    Parameters
    ----------
    columns:
        Name -> 1-d numpy array. Times are ``datetime64[us]`` (UTC), amounts, ratings and
        response times float64 (NaN missing).
    categories:
        For each categorical column, its distinct values; ``columns[name]`` then holds
        int codes into them (-1 missing).

    Examples
    --------
    >>> f = EventFrame.from_data({"customer": ["C1", "C2", "C1"], "amount": [5, 2, 1]})
    >>> f.codes("customer").tolist(), f.categories["customer"].tolist()
    ([0, 1, 0], ['C1', 'C2'])
    """

    __slots__ = ()

    @classmethod
    def from_data(cls, data: Any, *, sort: bool = True, **names: str | None) -> EventFrame:
        """Build from a pandas/polars DataFrame, Arrow table or dict of arrays.

        Keyword arguments map standard names to the columns of ``data`` (``time="ts"``);
        standard columns present under their own name are taken as well, other columns
        are kept under their own name. Categorical columns are factorized (``sort`` as in
        `touchpoint.frame.factorize`).

        >>> EventFrame.from_data({"cust": [1, 2], "ts": ["2026-01-01", "2026-01-02"]},
        ...                      customer="cust", time="ts").column_names
        ['customer', 'time']
        """
        available = column_names(data)
        unknown = [k for k in names if k not in STANDARD]
        mapping: dict[str, str | None] = {}
        used: set[str] = set()
        for logical in STANDARD:
            column = names.get(logical, logical if logical in available else None)
            if column is not None:
                mapping[logical] = column
                used.add(column)
        for logical in unknown:
            given = names[logical]
            mapping[logical] = given
            if given is not None:
                used.add(given)
        for extra in available:
            if extra not in used and extra not in mapping:
                mapping[extra] = extra
        required = [k for k, v in mapping.items() if v is not None]
        cols, cats = read_coded(
            data, mapping, required=required, categorical=CATEGORICAL, sort=sort
        )
        return cls(cols, cats)

    from_pandas = from_data
    from_polars = from_data
    from_arrow = from_data

    @classmethod
    def from_records(cls, records: Iterable[Any], *, sort: bool = True) -> EventFrame:
        """Build from dicts or `touchpoint.model.Interaction` objects (one pass over them).

        >>> import datetime as dt
        >>> f = EventFrame.from_records([{"customer": "C1", "time": dt.datetime(2026, 1, 1), "amount": 3}])
        >>> f["amount"].tolist()
        [3.0]
        """
        lists: dict[str, list[Any]] = {}
        n = 0
        for n, rec in enumerate(records, start=1):
            row = rec if isinstance(rec, Mapping) else _record_dict(rec)
            for key, value in row.items():
                lists.setdefault(key, [None] * (n - 1)).append(value)
            for seen in lists.values():
                if len(seen) < n:
                    seen.append(None)
        if n == 0:
            return cls({})
        data = {k: _to_array(v) for k, v in lists.items()}
        return cls.from_data(data, sort=sort)


def _to_array(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _record_dict(rec: Any) -> dict[str, Any]:
    import attrs

    if attrs.has(type(rec)):
        row = attrs.asdict(rec, recurse=False)
        direction = row.get("direction")
        if direction is not None and hasattr(direction, "value"):
            row["direction"] = direction.value
        return row
    raise ValidationError(
        [Problem("records", "expected dicts or Interaction objects", type(rec).__name__)]
    )


class ScoreFrame(_Frame):
    """Per-customer results: one row per customer, keyed by the original customer ids.

    The key column (``key``, default ``"customer"``) holds the original ids; the other
    columns are scores. Categorical score columns (segments, tiers) are stored as codes.

    Examples
    --------
    >>> import numpy as np
    >>> s = ScoreFrame({"customer": np.array(["C1", "C2"], dtype=object), "frequency": np.array([2, 1])})
    >>> s.key, s["frequency"].tolist()
    ('customer', [2, 1])
    """

    __slots__ = ("key",)

    def __init__(
        self,
        columns: Mapping[str, Any],
        categories: Mapping[str, Any] | None = None,
        *,
        key: str = "customer",
    ) -> None:
        super().__init__(columns, categories)
        self.key = key

    @classmethod
    def _new(
        cls, columns: dict[str, np.ndarray], categories: dict[str, np.ndarray], like: _Frame
    ) -> Self:
        return cls(columns, categories, key=getattr(like, "key", "customer"))

    @classmethod
    def from_data(cls, data: Any, *, key: str = "customer") -> ScoreFrame:
        """Build from any supported table; string columns other than the key are coded.

        >>> ScoreFrame.from_data({"customer": ["a", "b"], "segment": ["x", "x"]}).categories["segment"].tolist()
        ['x']
        """
        names = {c: c for c in column_names(data)}
        plain = read_columns(data, names, required=list(names))
        cols: dict[str, np.ndarray] = {}
        cats: dict[str, np.ndarray] = {}
        for name, arr in plain.items():
            if name != key and arr.dtype == object:
                cols[name], cats[name] = factorize(arr)
            else:
                cols[name] = arr
        return cls(cols, cats, key=key)

    from_pandas = from_data
    from_polars = from_data
    from_arrow = from_data

    def to_numpy(self, column: str | None = None) -> np.ndarray:
        """The values of ``column`` (decoded if categorical), in row order, as a numpy array.

        Without ``column``, the one column besides the key (an error if there are
        several): the array of a one-value result such as a CLV prediction.

        >>> import numpy as np
        >>> s = ScoreFrame({"customer": np.array(["C1", "C2"], dtype=object), "p": np.array([0.2, 0.9])})
        >>> s.to_numpy().tolist(), s.to_numpy("customer").tolist()
        ([0.2, 0.9], ['C1', 'C2'])
        """
        if column is None:
            values = [c for c in self.columns if c != self.key]
            if len(values) != 1:
                raise ValueError(
                    f"name the column: the frame has {len(values)} besides the key "
                    f"({', '.join(map(repr, values))})"
                )
            column = values[0]
        return self[column]

    def row(self, customer: Any) -> dict[str, Any]:
        """The scores of one customer as a dict (a linear search: for inspection, not loops).

        >>> import numpy as np
        >>> ScoreFrame({"customer": np.array(["C1"], dtype=object), "r": np.array([3])}).row("C1")
        {'customer': 'C1', 'r': 3}
        """
        hits = np.flatnonzero(self.columns[self.key] == customer)
        if not len(hits):
            raise KeyError(f"no customer {customer!r}")
        i = int(hits[0])
        return {
            c: self[c][i].item() if hasattr(self[c][i], "item") else self[c][i]
            for c in self.columns
        }
