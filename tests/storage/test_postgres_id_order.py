"""The PostgreSQL append's event-id order (`id_order`) against numpy's stable argsort.

Rows go into the event table in event-id order, so concurrent writers take key locks in
one order; `id_order` sorts 8-byte heads first and only re-sorts rows sharing a head.
Its result must be numpy's stable sort of the whole ids, whatever the ids look like.
"""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.storage._postgres_append import id_order


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1_000, 5_000),
    heads=st.integers(1, 5_000),  # distinct 8-byte heads: few means long runs of ties
    tail=st.integers(0, 30),
    repeats=st.floats(0, 0.5),
)
def test_the_order_is_numpys_stable_sort_of_the_whole_ids(seed, n, heads, tail, repeats):
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"0123456789abcdef-", dtype=np.uint8)
    head = alphabet[rng.integers(0, len(alphabet), (heads, 8))][rng.integers(0, heads, n)]
    rest = alphabet[rng.integers(0, len(alphabet), (n, tail))]
    ends = rng.integers(0, tail + 1, n)  # ids of different lengths (NUL-padded)
    rest[np.arange(tail) >= ends[:, None]] = 0
    ids = np.concatenate([head, rest, np.zeros((n, 8), np.uint8)], axis=1)
    ids = ids.view(f"S{ids.shape[1]}").reshape(n)
    again = rng.random(n) < repeats  # repeated ids keep their row order
    ids[again] = ids[rng.integers(0, n, int(again.sum()))]
    assert id_order(ids).tolist() == np.argsort(ids, kind="stable").tolist()


def test_uuids_with_repeats_sort_as_numpy_sorts_them():
    rng = np.random.default_rng(5)
    ids = np.array([str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(20_000)]).astype("S")
    later = ids[3::7].copy()
    ids[: 7 * len(later) : 7] = later  # every 7th id repeats one three rows on
    assert id_order(ids).tolist() == np.argsort(ids, kind="stable").tolist()
