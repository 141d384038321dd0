"""The binary COPY stream built from numpy columns, read back by a plain-Python parser.

The parser follows PostgreSQL's documented binary COPY format (header, per row a field
count and per field a length, -1 for NULL, and the value; a trailer), independently of
the numpy code that builds the stream. No server needed.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.storage._postgres_copy import COPY_SIGNATURE, copy_chunks, copy_parts


def parse(stream: bytes) -> list[tuple[bytes | None, ...]]:
    assert stream[:11] == COPY_SIGNATURE
    (ext,) = struct.unpack_from(">i", stream, 15)
    at, rows = 19 + ext, []
    while True:
        (count,) = struct.unpack_from(">h", stream, at)
        at += 2
        if count == -1:
            assert at == len(stream), "bytes after the trailer"
            return rows
        row: list[bytes | None] = []
        for _ in range(count):
            (size,) = struct.unpack_from(">i", stream, at)
            at += 4
            if size == -1:
                row.append(None)
            else:
                row.append(stream[at : at + size])
                at += size
        rows.append(tuple(row))


def expected(columns, nulls) -> list[tuple[bytes | None, ...]]:
    """Each row's fields as PostgreSQL should receive them, built one value at a time."""
    out = []
    for i in range(len(columns[0])):
        row = []
        for col, mask in zip(columns, nulls, strict=True):
            if mask is not None and mask[i]:
                row.append(None)
            elif col.dtype.kind == "S":
                row.append(col[i].tobytes().rstrip(b"\0"))  # a value ends at its last non-NUL
            else:
                row.append(col[i : i + 1].tobytes())
        out.append(tuple(row))
    return out


@st.composite
def tables(draw):
    n = draw(st.integers(0, 40))
    text = st.binary(min_size=0, max_size=12).map(lambda b: b.rstrip(b"\0"))
    ids = np.array(draw(st.lists(text, min_size=n, max_size=n)), dtype="S12")
    ints = np.array(draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n)))
    floats = np.array(draw(st.lists(st.floats(allow_nan=True), min_size=n, max_size=n)))
    small = np.array(draw(st.lists(st.integers(-(2**15), 2**15 - 1), min_size=n, max_size=n)))
    columns = [ids, ints.astype(">i4"), floats.astype(">f8"), small.astype(">i2")]
    masks = st.lists(st.booleans(), min_size=n, max_size=n).map(np.array)
    nulls = [None, draw(st.none() | masks), draw(st.none() | masks), None]
    return columns, nulls


@settings(max_examples=150, deadline=None)
@given(tables())
def test_rows_with_nulls_and_texts_of_any_length_arrive_as_given(table):
    columns, nulls = table
    want = expected(columns, nulls)
    ordered = b"".join(bytes(p) for p in copy_parts(columns, nulls, ordered=True))
    assert parse(ordered) == want  # in the rows' order
    grouped = b"".join(bytes(p) for p in copy_parts(columns, nulls))
    got = parse(grouped)  # by layout: the same rows, grouped

    def key(row):
        return [(v is None, v or b"") for v in row]

    assert sorted(got, key=key) == sorted(want, key=key)


def test_without_nulls_one_layout_keeps_the_rows_in_order():
    ids = np.array([b"b2", b"a1", b"c3"])
    columns = [ids, np.array([3, 1, 2], dtype=">i4")]
    stream = b"".join(bytes(p) for p in copy_parts(columns))
    assert parse(stream) == [
        (b"b2", (3).to_bytes(4, "big")),
        (b"a1", (1).to_bytes(4, "big")),
        (b"c3", (2).to_bytes(4, "big")),
    ]


@settings(max_examples=100, deadline=None)
@given(tables(), st.integers(1, 9), st.booleans())
def test_a_stream_encoded_piece_by_piece_carries_the_same_rows(table, rows, ordered):
    columns, nulls = table
    want = expected(columns, nulls)
    got = parse(b"".join(bytes(p) for p in copy_chunks(columns, nulls, ordered=ordered, rows=rows)))
    if ordered:
        assert got == want  # the same rows in the same order, whatever the piece size
    else:
        for lo in range(0, len(want), rows):  # grouped within each piece only
            piece = got[lo : lo + rows]
            assert sorted(piece, key=_key) == sorted(want[lo : lo + rows], key=_key)


def _key(row):
    return [(v is None, v or b"") for v in row]


@pytest.mark.parametrize("layouts", ["few", "many", "wide"])
def test_rows_of_many_layouts_take_the_field_by_field_path_with_the_same_result(layouts):
    """Up to MAX_LAYOUTS layouts share their bytes; beyond that (or keys over 63 bits)
    each field is laid out on its own: the rows must arrive the same either way."""
    rng = np.random.default_rng(3)
    n = 3_000
    width = {"few": 4, "many": 40, "wide": 40}[layouts]
    lengths = rng.integers(0, width + 1, n)
    letters = rng.integers(97, 123, (n, width), dtype=np.uint8)
    letters[np.arange(width) >= lengths[:, None]] = 0
    text = letters.view(f"S{width}").reshape(n)
    columns = [text, rng.integers(-5, 5, n).astype(">i4"), rng.random(n).astype(">f8")]
    nulls = [None, rng.random(n) < 0.3, rng.random(n) < 0.5]
    if layouts == "many":  # 41 lengths x 4 null patterns: more than MAX_LAYOUTS
        columns.append(text.copy())
        nulls.append(rng.random(n) < 0.5)
    if layouts == "wide":  # five long texts: their lengths need more than 63 bits
        columns += [np.full(n, b"x" * 5000, dtype="S5000")] * 5
        nulls += [None] * 5
    want = expected(columns, nulls)
    assert parse(b"".join(bytes(p) for p in copy_chunks(columns, nulls, rows=700))) == want
