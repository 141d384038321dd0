"""Export of frames to pandas, polars and Arrow, and their text and HTML display.

pandas, polars and pyarrow are imported here only when an export is asked for, through
`touchpoint._extras.require` (extra ``dataframes``).

Examples
--------
>>> import numpy as np
>>> from touchpoint.frame import ScoreFrame
>>> print(ScoreFrame({"customer": np.array(["C1"], dtype=object), "frequency": np.array([2])}))
ScoreFrame: 1 row x 2 columns
customer  frequency
C1        2
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from touchpoint._extras import require

__all__ = ["to_arrow", "to_html", "to_pandas", "to_polars", "to_text"]

_SHOW = 10


def _lib(name: str, feature: str) -> Any:
    return require(name, extra="dataframes", feature=feature)


def to_pandas(frame: Any) -> Any:
    pd = _lib("pandas", "to_pandas()")
    data: dict[str, Any] = {}
    for name, arr in frame.columns.items():
        if name in frame.categories:
            cats = frame.categories[name]
            data[name] = pd.Categorical.from_codes(arr, categories=pd.Index(cats))
        else:
            data[name] = arr
    return pd.DataFrame(data, copy=False)


def to_arrow(frame: Any) -> Any:
    pa = _lib("pyarrow", "to_arrow()")
    arrays, names = [], []
    for name, arr in frame.columns.items():
        if name in frame.categories:
            cats = frame.categories[name]
            mask = arr < 0
            indices = pa.array(arr.astype(np.int32, copy=False), mask=mask if mask.any() else None)
            dictionary = (
                pa.array(cats if cats.dtype != object else list(cats))
                if len(cats)
                else pa.array([], pa.string())
            )
            arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
        elif arr.dtype == object:
            arrays.append(pa.array(arr, from_pandas=True))
        elif arr.dtype.kind == "f":
            arrays.append(pa.array(arr))
        else:
            arrays.append(pa.array(arr))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def to_polars(frame: Any) -> Any:
    pl = _lib("polars", "to_polars()")
    out = pl.from_arrow(to_arrow(frame))
    # keep NaN (missing measurement) as NaN, as pandas and numpy do
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.6g}"
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value)
    return str(value)


def _preview(frame: Any) -> tuple[list[str], list[list[str]], int]:
    n = len(frame)
    idx = np.arange(min(n, _SHOW))
    names = frame.column_names
    cols = []
    for name in names:
        arr = frame.columns[name][idx]
        if name in frame.categories:
            from touchpoint.frame._input import decode

            arr = decode(arr, frame.categories[name])
        cols.append([_cell(v) for v in arr])
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    return names, rows, n


def to_text(frame: Any) -> str:
    names, rows, n = _preview(frame)
    head = f"{type(frame).__name__}: {n} row{'s' if n != 1 else ''} x {len(names)} columns"
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(names)]
    lines = [head, "  ".join(c.ljust(w) for c, w in zip(names, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if n > len(rows):
        lines.append(f"... {n - len(rows)} more rows")
    return "\n".join(lines)


def to_html(frame: Any) -> str:
    names, rows, n = _preview(frame)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows
    )
    more = f"<p>... {n - len(rows)} more rows</p>" if n > len(rows) else ""
    return (
        f"<div><p>{type(frame).__name__}: {n} rows x {len(names)} columns</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
    )
