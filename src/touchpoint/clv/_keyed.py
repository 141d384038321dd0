"""CLV results keyed by customer, and what 0.1's arrays and column names still allow.

The scores return `ScoreFrame`s keyed by the original ids; so do the CLV models'
predictions now (`Predictions`, keyed by the summary's customer column), and
`customer_summary` is keyed by ``customer`` as `touchpoint.scoring.rfm` is. For one
release a prediction can still be used as the numpy array 0.1 returned, and a summary's
key read under the customer column's own name, each with a `DeprecationWarning`.

Examples
--------
>>> import warnings
>>> p = predictions({"customer": ["a", "b"]}, "customer", "probability_alive", np.array([0.9, 0.4]))
>>> p["customer"].tolist(), p.to_numpy().tolist()
(['a', 'b'], [0.9, 0.4])
>>> with warnings.catch_warnings(record=True):
...     warnings.simplefilter("always")
...     (p * 2).tolist()
[1.8, 0.8]
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any, Self

import numpy as np

from touchpoint.frame import ScoreFrame, column_names, read_columns

__all__ = ["Predictions", "Summary", "predictions"]

_NEXT = "goes away in the next release"


class Predictions(ScoreFrame):
    """One prediction per row of a customer summary: a `ScoreFrame` keyed by customer.

    Keyed by ``customer`` (the summary's customer column, named by the model's
    ``customer=``), or by ``row`` (0, 1, ... in the summary's order) when the summary
    has no such column; the other column is the prediction, named after it
    (``probability_alive``, ``expected_purchases``...). `to_numpy` gives the array.

    Until the next release it can also be used as the array 0.1 returned (numpy
    functions, indexing by position, arithmetic, ``.round()``, ``.tolist()``...), with a
    `DeprecationWarning` saying to take ``.to_numpy()``. Iterating over it and ``in``
    follow the frame (column names), not the array.
    """

    __slots__ = ()

    def _array(self, use: str) -> np.ndarray:
        warnings.warn(
            f"using a CLV prediction as an array ({use}) is deprecated: it is a ScoreFrame "
            f"keyed by customer; take .to_numpy() (the array use {_NEXT})",
            DeprecationWarning,
            stacklevel=3,
        )
        return self.to_numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._array("numpy")
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            return super().__getitem__(item)
        return self._array("indexing")[item]

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and hasattr(np.ndarray, name):
            return getattr(self._array(f".{name}"), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> Any:
        if getattr(type(other), "_is_touchpoint_frame", False):
            return super().__eq__(other)
        return self._array("==") == other

    def __ne__(self, other: object) -> Any:
        if getattr(type(other), "_is_touchpoint_frame", False):
            return not super().__eq__(other)
        return self._array("!=") != other

    __hash__ = None  # type: ignore[assignment]

    def __neg__(self) -> np.ndarray:
        return -self._array("-")

    def __abs__(self) -> np.ndarray:
        return abs(self._array("abs"))


def _binary(op: Callable[[Any, Any], Any], symbol: str, reflected: bool) -> Callable[..., Any]:
    def method(self: Predictions, other: Any) -> Any:
        if isinstance(other, Predictions):
            other = other.to_numpy()
        values = self._array(symbol)
        return op(other, values) if reflected else op(values, other)

    return method


# 0.1's arithmetic on the arrays: a loop over the dozen operators, at import
for _name, _op, _symbol in (
    ("add", operator.add, "+"),
    ("sub", operator.sub, "-"),
    ("mul", operator.mul, "*"),
    ("truediv", operator.truediv, "/"),
    ("floordiv", operator.floordiv, "//"),
    ("pow", operator.pow, "**"),
    ("mod", operator.mod, "%"),
):
    setattr(Predictions, f"__{_name}__", _binary(_op, _symbol, reflected=False))
    setattr(Predictions, f"__r{_name}__", _binary(_op, _symbol, reflected=True))
for _name, _op, _symbol in (
    ("lt", operator.lt, "<"),
    ("le", operator.le, "<="),
    ("gt", operator.gt, ">"),
    ("ge", operator.ge, ">="),
):
    setattr(Predictions, f"__{_name}__", _binary(_op, _symbol, reflected=False))


def predictions(summary: Any, customer: str, name: str, values: np.ndarray) -> Predictions:
    """``values`` (one per row of ``summary``) keyed by the summary's ``customer`` column."""
    if customer in column_names(summary):
        ids = read_columns(summary, {"customer": customer}, required=["customer"])["customer"]
        return Predictions({"customer": ids, name: values})
    return Predictions({"row": np.arange(len(values), dtype=np.int64), name: values}, key="row")


class Summary(ScoreFrame):
    """`customer_summary`'s result: keyed by ``customer``, whatever the input called it.

    Until the next release the key can also be read under the input's own name of the
    customer column (``s["cust_id"]``), with a `DeprecationWarning`.
    """

    __slots__ = ("_old_key",)

    def __init__(self, *args: Any, old_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._old_key = old_key if old_key != self.key else None

    @classmethod
    def _new(
        cls, columns: dict[str, np.ndarray], categories: dict[str, np.ndarray], like: Any
    ) -> Self:
        return cls(columns, categories, key=like.key, old_key=getattr(like, "_old_key", None))

    def __getitem__(self, name: str) -> np.ndarray:
        if name == self._old_key and name not in self.columns:
            warnings.warn(
                f"customer_summary's customer ids are the column 'customer' now (as in every "
                f"per-customer result), not {name!r} (reading them as {name!r} {_NEXT})",
                DeprecationWarning,
                stacklevel=2,
            )
            name = self.key
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in self.columns or (name is not None and name == self._old_key)
