"""PostgreSQL's binary ``COPY`` format and binary arrays, to and from numpy columns.

Writing (`copy_rows`): the binary ``COPY FROM`` stream is a header, then per row a
16-bit field count and per field a 32-bit length and the value in network byte order,
then a trailer. Rows whose fields all have fixed widths have one layout, so a whole
group of rows is one numpy structured array written with ``tobytes()``. Text fields
(byte strings) vary in length: rows are grouped by the lengths of their text fields
(one group for ids of equal length, such as UUIDs), each group one structured array.
No Python object is made per row.

Reading (`read_copy_row`, `array`, `texts`): a scan copies one row per block of the
table, each field an aggregate over the block's interactions (``array_agg`` of a column,
or the ``string_agg`` of the event ids with their lengths). A binary array is a header
and per element a 32-bit length and the value: with no NULL elements (the query
replaces them) every element has the same width, so numpy reads the whole array as one
strided view.

Examples
--------
>>> import numpy as np
>>> data = copy_rows([np.array([1, 2], dtype=">i4"), np.array([b"ab", b"c"])])
>>> data[:11] == COPY_SIGNATURE  # then per row: field count, (length, value) per field
True
>>> len(data) == 19 + (2 + 4 + 4 + 4 + 2) + (2 + 4 + 4 + 4 + 1) + 2  # header, 2 rows, trailer
True
>>> blob = (1).to_bytes(4, "big") + bytes(4) + (23).to_bytes(4, "big")  # int4[], no NULL
>>> blob += (2).to_bytes(4, "big") + (1).to_bytes(4, "big")             # 2 elements from 1
>>> blob += b"".join((4).to_bytes(4, "big") + v.to_bytes(4, "big") for v in (7, 9))
>>> array(blob, ">i4").tolist()
[7, 9]
>>> texts(b"abcde", np.array([2, 0, 3])).tolist()
[b'ab', b'', b'cde']
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = [
    "CHUNK_ROWS",
    "COPY_SIGNATURE",
    "array",
    "copy_chunks",
    "copy_parts",
    "copy_rows",
    "read_copy_row",
    "text_lengths",
    "texts",
]

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = COPY_SIGNATURE + bytes(8)  # flags 0, no header extension
_TRAILER = b"\xff\xff"
#: Rows per piece of `copy_chunks`: small enough that the client never holds a whole
#: batch's bytes, large enough that numpy's per-call cost does not show.
CHUNK_ROWS = 32_768


def text_lengths(values: np.ndarray) -> np.ndarray:
    """Byte lengths of a fixed-width bytes array (numpy drops trailing NUL bytes).

    ``numpy.char.str_len`` counts up to the last non-NUL byte (embedded NULs count).
    """
    if len(values) == 0 or values.dtype.itemsize == 0:
        return np.zeros(len(values), dtype=np.int64)
    return np.char.str_len(values).astype(np.int64)


def copy_rows(columns: Sequence[np.ndarray]) -> bytes:
    """A binary ``COPY FROM`` stream of ``columns`` (fields in order, no NULLs), as one bytes.

    See `copy_parts`, which gives the same stream in pieces without copying them.
    """
    return b"".join(bytes(part) for part in copy_parts(columns))


def copy_parts(
    columns: Sequence[np.ndarray],
    nulls: Sequence[np.ndarray | None] | None = None,
    *,
    ordered: bool = False,
) -> list[bytes | memoryview]:
    """A binary ``COPY FROM`` stream of ``columns`` in pieces (header, row groups, trailer).

    Numeric columns must already have their PostgreSQL width and big-endian byte order
    (``>i2``, ``>i4``, ``>i8``, ``>f8``); byte-string columns (``S``) are ``text``
    (or ``bytea``) of each value's own length. ``nulls`` (one boolean mask or None per
    column) marks the fields sent as NULL. Rows are grouped by their layout (the
    lengths of their text fields and which of their fields are NULL), each group one
    numpy structured array: rows keep their order when there is one layout (ids of one
    length, no NULL); otherwise they come group by group, unless ``ordered``: then every
    row is laid out at the widest layout in order and the unsent bytes are dropped in
    one pass (`_in_order`).

    >>> stream = copy_rows([np.array([1, 2], dtype=">i4")])
    >>> nulled = b"".join(bytes(p) for p in copy_parts(
    ...     [np.array([1, 2], dtype=">i4")], [np.array([False, True])]))
    >>> len(stream) - len(nulled)  # the NULL field is its length (-1) without a value
    4
    """
    n = len(columns[0]) if columns else 0
    if ordered and n:
        return [_HEADER, _in_order(columns, nulls or ()), _TRAILER]
    texts_at = [i for i, c in enumerate(columns) if c.dtype.kind == "S"]
    null_at = [i for i, m in enumerate(nulls or ()) if m is not None and bool(m.any())]
    keys = [text_lengths(columns[i]) for i in texts_at]
    keys += [np.asarray((nulls or [])[i], dtype=np.int64) for i in null_at]
    if keys:
        layout = np.stack(keys, axis=1)
        if n and (layout == layout[0]).all():  # one layout (ids of one length: UUIDs)
            groups, which = layout[:1], np.zeros(n, dtype=np.int64)
        elif len(keys) == 1:
            groups, which = np.unique(layout[:, 0], return_inverse=True)
            groups, which = groups[:, None], which.reshape(-1)
        else:
            # one integer per row layout (text lengths and NULL bits side by side), then
            # the distinct ones: much faster than numpy.unique over rows
            bits = [max(int(k.max()), 1).bit_length() for k in keys]
            if sum(bits) <= 63:
                shifts = np.cumsum([0, *bits[:-1]]).astype(np.int64)
                packed = (layout << shifts).sum(axis=1)
                _, first, which = np.unique(packed, return_index=True, return_inverse=True)
                groups, which = layout[first], which.reshape(-1)
            else:
                groups, which = np.unique(layout, axis=0, return_inverse=True)
                which = which.reshape(-1)
    else:
        groups, which = np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    parts: list[bytes | memoryview] = [_HEADER]
    if len(groups) > 1:  # the rows of each layout, in order: one stable sort
        by_layout = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[by_layout], np.arange(len(groups) + 1))
    for g, shape in enumerate(groups):  # one group per row layout (a handful)
        rows = by_layout[bounds[g] : bounds[g + 1]] if len(groups) > 1 else slice(None)
        fields: list[tuple[str, str]] = [("count", ">i2")]
        absent = {i for j, i in enumerate(null_at) if shape[len(texts_at) + j]}
        for i, col in enumerate(columns):
            fields.append((f"len{i}", ">i4"))
            if i in absent:
                continue
            text = col.dtype.kind == "S"
            dtype = f"S{int(shape[texts_at.index(i)])}" if text else col.dtype.str
            fields.append((f"val{i}", dtype))
        out = np.empty(n if isinstance(rows, slice) else len(rows), dtype=np.dtype(fields))
        out["count"] = len(columns)
        for i, col in enumerate(columns):
            if i in absent:
                out[f"len{i}"] = -1
                continue
            out[f"len{i}"] = out.dtype[f"val{i}"].itemsize
            out[f"val{i}"] = col[rows]
        parts.append(memoryview(out).cast("B"))
    parts.append(_TRAILER)
    return parts


def copy_chunks(
    columns: Sequence[np.ndarray],
    nulls: Sequence[np.ndarray | None] | None = None,
    *,
    ordered: bool = True,
    rows: int = CHUNK_ROWS,
) -> Iterator[bytes | memoryview]:
    """The stream of `copy_parts`, encoded ``rows`` at a time.

    A generator: each piece is encoded only when asked for, after the last one was
    written. With ``ordered`` the bytes are those of
    ``copy_parts(columns, nulls, ordered=True)`` whatever ``rows`` is; without, each
    piece's rows are grouped by layout (the same rows, in another order).

    >>> cols = [np.array([1, 2, 3], dtype=">i4"), np.array([b"a", b"bc", b""])]
    >>> whole = copy_parts(cols, ordered=True)
    >>> b"".join(bytes(p) for p in copy_chunks(cols, rows=2)) == b"".join(map(bytes, whole))
    True
    """
    n = len(columns[0]) if columns else 0
    masks = list(nulls or ())
    yield _HEADER
    for lo in range(0, n, max(1, rows)):  # a loop over pieces, a handful per batch
        hi = min(n, lo + rows)
        piece = [c[lo:hi] for c in columns]
        piece_nulls = [None if m is None else m[lo:hi] for m in masks]
        if ordered:
            yield _in_order(piece, piece_nulls)
        else:
            yield from copy_parts(piece, piece_nulls)[1:-1]  # without header and trailer
    yield _TRAILER


def _in_order(columns: Sequence[np.ndarray], nulls: Sequence[np.ndarray | None]) -> memoryview:
    """All rows in their order: one structured array of the widest layout, then compacted.

    Every row gets every field at its column's full width; a boolean mask over the bytes
    then drops what a row does not send (a NULL field's value, the bytes of a text past
    its length), and numpy compresses the whole buffer in one pass. A row's field
    count, its length fields and its mask depend only on its layout (the lengths of its
    texts, which fields are NULL): when the rows have few layouts, each layout's bytes
    are made once and copied to its rows (`_layouts`), instead of field by field.
    """
    n = len(columns[0])
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, col in enumerate(columns):
        width = max(col.dtype.itemsize, 1)
        fields += [
            (f"len{i}", ">i4"),
            (f"val{i}", f"S{width}" if col.dtype.kind == "S" else col.dtype.str),
        ]
    dtype = np.dtype(fields)
    lengths = []  # per column: each row's length field (-1: NULL)
    for i, col in enumerate(columns):  # a loop over columns
        width = dtype[f"val{i}"].itemsize
        length = text_lengths(col) if col.dtype.kind == "S" else None
        mask = nulls[i] if i < len(nulls) else None
        if mask is not None:
            length = np.where(mask, -1, width if length is None else length)
        lengths.append(length if length is None else length.astype(np.int64))
    shared = _layouts(dtype, [_width_or(lengths[i], dtype, i) for i in range(len(columns))])
    if shared is not None:
        skeleton, masks, which = shared
        raw = skeleton[which]  # count and lengths, one copy of the row's layout
        keep = masks[which]
        out = raw.view(dtype).reshape(n)
    else:
        out = np.empty(n, dtype=dtype)
        out["count"] = len(columns)
        keep = np.ones((n, dtype.itemsize), dtype=bool)
        for i, length in enumerate(lengths):  # a loop over columns
            at, width = dtype.fields[f"val{i}"][1], dtype[f"val{i}"].itemsize  # type: ignore[index]
            out[f"len{i}"] = width if length is None else length
            if length is not None:
                keep[:, at : at + width] = np.arange(width) < length[:, None]
        raw = out.view(np.uint8).reshape(n, -1)
    for i, col in enumerate(columns):  # the values, a loop over columns
        out[f"val{i}"] = col
    return memoryview(raw[keep])


def _width_or(length: np.ndarray | None, dtype: np.dtype, i: int) -> np.ndarray | int:
    """Column ``i``'s length fields, or its width when every row sends it whole."""
    return dtype[f"val{i}"].itemsize if length is None else length


#: At most this many distinct row layouts get their bytes made once (`_layouts`).
MAX_LAYOUTS = 256


def _layouts(
    dtype: np.dtype, lengths: Sequence[np.ndarray | int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Each distinct layout's bytes (field count, lengths) and byte mask, and each row's layout.

    None when there are more than `MAX_LAYOUTS` layouts or their key does not fit 63 bits.
    """
    varying = [(i, v) for i, v in enumerate(lengths) if not isinstance(v, int)]
    if not varying:
        return None
    n = len(varying[0][1])
    bits = [max(dtype[f"val{i}"].itemsize + 1, 1).bit_length() for i, _ in varying]
    if sum(bits) > 63:
        return None
    packed = np.zeros(n, dtype=np.int64)
    shift = 0
    for (_, length), b in zip(varying, bits, strict=True):  # a loop over columns
        packed |= (length + 1) << shift  # NULL (-1) packs as 0
        shift += b
    keys, first, which = np.unique(packed, return_index=True, return_inverse=True)
    if len(keys) > MAX_LAYOUTS:
        return None
    per_layout = [v if isinstance(v, int) else v[first] for v in lengths]
    skeleton = np.zeros(len(keys), dtype=dtype)
    skeleton["count"] = len(lengths)
    masks = np.ones((len(keys), dtype.itemsize), dtype=bool)
    for i, length in enumerate(per_layout):  # a loop over columns
        at, width = dtype.fields[f"val{i}"][1], dtype[f"val{i}"].itemsize  # type: ignore[index]
        skeleton[f"len{i}"] = length
        sent = np.broadcast_to(np.asarray(length), (len(keys),))
        masks[:, at : at + width] = np.arange(width) < sent[:, None]
    return skeleton.view(np.uint8).reshape(len(keys), -1), masks, which.reshape(-1)


def read_copy_row(data: bytes | memoryview) -> list[memoryview | None]:
    """The fields of one row of a binary ``COPY TO`` stream (the header skipped if present)."""
    view = memoryview(data)
    at = 0
    if bytes(view[:11]) == COPY_SIGNATURE:
        (ext,) = struct.unpack_from(">i", view, 15)
        at = 19 + ext
    (count,) = struct.unpack_from(">h", view, at)
    at += 2
    fields: list[memoryview | None] = []
    for _ in range(max(count, 0)):  # a handful of fields per row (one row per block)
        (size,) = struct.unpack_from(">i", view, at)
        at += 4
        if size < 0:
            fields.append(None)
        else:
            fields.append(view[at : at + size])
            at += size
    return fields


def array(blob: bytes | memoryview, dtype: str) -> np.ndarray:
    """The elements of a one-dimensional binary array without NULLs, as native numpy values."""
    ndim, has_null, _oid = struct.unpack_from(">iii", blob, 0)
    if ndim == 0:
        return np.empty(0, dtype=np.dtype(dtype).newbyteorder("="))
    if ndim != 1 or has_null:
        raise ValueError("expected a one-dimensional array without NULL elements")
    (n,) = struct.unpack_from(">i", blob, 12)
    width = np.dtype(dtype).itemsize
    items = np.frombuffer(
        blob, dtype=np.dtype([("len", ">i4"), ("val", dtype)]), count=n, offset=20
    )
    if n and (items["len"] != width).any():
        raise ValueError(f"array elements are not all {width} bytes wide")
    return items["val"].astype(np.dtype(dtype).newbyteorder("="))


def texts(concatenated: bytes | memoryview, lengths: np.ndarray) -> np.ndarray:
    """Split concatenated byte strings by their lengths into a fixed-width bytes array."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    width = int(lengths.max()) if n else 0
    matrix = np.zeros((n, max(width, 1)), dtype=np.uint8)
    if n and width:
        mask = np.arange(width) < lengths[:, None]
        matrix[:, :width][mask] = np.frombuffer(concatenated, dtype=np.uint8)
    return matrix.view(f"S{max(width, 1)}").reshape(n)
