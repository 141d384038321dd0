"""`row_digest`: the 64-bit digest the PostgreSQL storage keeps of each event's stored values.

A re-sent row whose digest equals the stored one is a duplicate without its values being
compared, so equal values must always give equal digests (whatever their dtype, -0.0
or 0.0, whichever NaN), and a changed value must change the digest. The vectorised
numpy version is checked against a plain-Python SplitMix64 written from its definition.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.storage._postgres_append import COMPARED, row_digest
from touchpoint.storage.base import FLOATS

M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def reference(row: dict[str, float | int]) -> int:
    """The digest of one row, one Python integer at a time."""
    h = 0x243F6A8885A308D3
    for i, name in enumerate(COMPARED):
        v = row[name]
        if name in FLOATS:
            v = math.nan if math.isnan(v) else v + 0.0
            bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        else:
            bits = int(v) & M64
        h = _mix(h ^ _mix((bits + 0x9E3779B97F4A7C15 * (i + 1)) & M64))
    return h - (1 << 64) if h >= 1 << 63 else h


ints = st.integers(-1, 2**31 - 1)
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=True), st.just(math.nan))
rows = st.fixed_dictionaries(
    {
        name: floats
        if name in FLOATS
        else st.integers(0, 2**62)
        if name == "time"
        else st.integers(0, 1)
        if name == "direction"
        else ints
        for name in COMPARED
    }
)


def columns(table: list[dict]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in COMPARED:
        values = [r[name] for r in table]
        if name in FLOATS:
            out[name] = np.array(values, dtype=np.float64)
        elif name == "direction":
            out[name] = np.array(values, dtype=np.int8)
        else:
            out[name] = np.array(values, dtype=np.int64)
    return out


@settings(max_examples=200)
@given(st.lists(rows, min_size=1, max_size=20))
def test_the_vectorised_digest_is_the_plain_python_one(table):
    assert row_digest(columns(table)).tolist() == [reference(r) for r in table]


@settings(max_examples=200)
@given(rows, st.sampled_from(COMPARED), st.data())
def test_a_changed_value_changes_the_digest(row, name, data):
    value = row[name]
    if name in FLOATS:
        other = data.draw(floats.filter(lambda v: v != value and (v == v or value == value)))
        if other == 0 and value == 0:  # -0.0 and 0.0 are one value
            return
    elif name == "direction":
        other = 1 - value
    else:
        top = 2**62 if name == "time" else 2**31 - 1
        other = data.draw(st.integers(-1, top).filter(lambda v: v != value))
    changed = {**row, name: other}
    a, b = row_digest(columns([row, changed])).tolist()
    assert a != b


def test_equal_values_hash_alike_whatever_their_form():
    base = {name: np.array([5, 5, 5]) for name in COMPARED}
    base["amount"] = np.array([0.0, -0.0, 0.0])
    nan_payload = np.frombuffer(struct.pack("<Q", 0x7FF8_0000_0000_0001), dtype=np.float64)[0]
    base["rating"] = np.array([np.nan, -np.nan, nan_payload])
    base["store"] = np.array([5, 5, 5], dtype=np.int32)  # the dtype does not matter
    digests = row_digest(base)
    assert len(set(digests.tolist())) == 1 and digests.dtype == np.int64
    assert row_digest({k: v[:0] for k, v in base.items()}).shape == (0,)
