"""The PostgreSQL append's event-id order (`id_order`) against numpy's stable argsort.

Rows go into the event table in event-id order, so concurrent writers take key locks in
one order; `id_order` sorts 8-byte heads first and only re-sorts rows sharing a head.
Its result must be numpy's stable sort of the whole ids, whatever the ids look like.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.storage._postgres_append import id_order


def _path(ids: np.ndarray) -> str:
    """Which way `id_order` sorts ``ids``: ``whole`` (numpy's sort of the ids), ``heads``
    (the heads' sort alone: no two rows share one) or ``ties`` (heads, then the rows
    sharing a head sorted again). Its conditions, so the tests can say they reach all."""
    n = len(ids)
    if ids.dtype.itemsize < 16 or n < 1024:
        return "whole"
    heads = np.sort(ids.view(np.uint8).reshape(n, -1)[:, :8].copy().view(">u8").reshape(n))
    tie = heads[1:] == heads[:-1]
    shared = np.zeros(n, dtype=bool)
    shared[1:] |= tie
    shared[:-1] |= tie
    if not tie.any():
        return "heads"
    return "whole" if shared.sum() > n // 8 else "ties"


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1_000, 5_000),
    # distinct 8-byte heads: few means long runs of ties (sorted whole), many means few
    heads=st.one_of(st.integers(1, 5_000), st.integers(10**6, 10**9)),
    tail=st.integers(0, 30),
    repeats=st.one_of(st.just(0.0), st.floats(0, 0.05), st.floats(0, 0.5)),
)
def test_the_order_is_numpys_stable_sort_of_the_whole_ids(seed, n, heads, tail, repeats):
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"0123456789abcdef-", dtype=np.uint8)
    # each row's head: one of ``heads`` values, spelled as 8 hex digits of a mixed index
    mixed = rng.integers(0, heads, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    head = alphabet[(mixed[:, None] >> np.arange(32, 64, 4, dtype=np.uint64)) & np.uint64(15)]
    rest = alphabet[rng.integers(0, len(alphabet), (n, tail))]
    ends = rng.integers(0, tail + 1, n)  # ids of different lengths (NUL-padded)
    rest[np.arange(tail) >= ends[:, None]] = 0
    ids = np.concatenate([head, rest, np.zeros((n, 8), np.uint8)], axis=1)
    ids = ids.view(f"S{ids.shape[1]}").reshape(n)
    again = rng.random(n) < repeats  # repeated ids keep their row order
    ids[again] = ids[rng.integers(0, n, int(again.sum()))]
    assert id_order(ids).tolist() == np.argsort(ids, kind="stable").tolist()


@pytest.mark.parametrize(("every", "path"), [(0, "heads"), (20, "ties"), (7, "whole")])
def test_uuids_with_repeats_sort_as_numpy_sorts_them(every, path):
    """No repeats (the heads' sort alone), a few (re-sorted ties), many (sorted whole)."""
    rng = np.random.default_rng(5)
    ids = np.array([str(uuid.UUID(bytes=rng.bytes(16))) for _ in range(20_000)]).astype("S")
    if every:
        later = ids[3::every].copy()
        ids[: every * len(later) : every] = later  # every k-th id repeats one 3 rows on
    assert _path(ids) == path
    assert id_order(ids).tolist() == np.argsort(ids, kind="stable").tolist()
