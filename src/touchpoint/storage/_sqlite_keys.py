"""The 64-bit key of an event id: what makes idempotent appends fast with random ids.

SQLite keeps a unique index of the stored events' keys (``event.key``). A batch is
inserted in key order, so the index is written in one sweep from left to right instead
of at random places, and each entry is 8 bytes of integer instead of a 36-character
UUID: `touchpoint.storage._sqlite_append` measured both (``benchmarks/README.md``).

Two different event ids may share a key (about n² / 2⁶⁵ for n events: one chance in
37 million at a million events). The event holding a key keeps its full id in
``event.event_id``, and every hit on the index is checked against it, so a collision
is never taken for a duplicate: the second event is stored as an *overflow* row with
no key, found through a partial unique index on its full id.

The key is part of the file format: `event_keys` must never change (a new function
would need a schema migration that recomputes every key).

Examples
--------
>>> import numpy as np
>>> keys = event_keys(np.array([b"e1", b"e2", b"e1"]))
>>> keys.dtype.name, bool(keys[0] == keys[2]), bool(keys[0] == keys[1])
('int64', True, False)
>>> bool(event_keys(np.array([b"e1"], dtype="S40"))[0] == keys[0])  # width does not matter
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["event_keys"]

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SEED = np.uint64(0x2545F4914F6CDD1D)
_S33 = np.uint64(33)
_S29 = np.uint64(29)


def _fmix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection on 64 bits), in place."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def event_keys(ids: np.ndarray) -> np.ndarray:
    """The int64 key of each event id (a numpy ``S`` array of ASCII ids).

    The id's bytes are read as little-endian 64-bit words (the last one padded with
    zero bytes); each word is mixed into a state seeded with the id's length, and the
    state is finished with MurmurHash3's finaliser. Only the id's own words count, so
    the key does not depend on the width of the array it came in. Vectorised: a loop
    over the words of the longest id (five for a UUID), numpy over the events.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind != "S":
        raise TypeError(f"event ids must be a bytes ('S') array, not {ids.dtype}")
    n, width = len(ids), ids.dtype.itemsize
    if n == 0:
        return np.empty(0, dtype=np.int64)
    nwords = -(-width // 8)
    if width % 8:
        raw = np.zeros((n, nwords * 8), dtype=np.uint8)
        raw[:, :width] = np.ascontiguousarray(ids).view(np.uint8).reshape(n, width)
        words = raw.view("<u8")
    else:
        words = np.ascontiguousarray(ids).view("<u8").reshape(n, nwords)
    length = np.char.str_len(ids).astype(np.uint64)
    shortest = int(length.min())
    with np.errstate(over="ignore"):
        h = _fmix(length * _GOLDEN + _SEED)
        for j in range(nwords):  # a loop over 8-byte words, not over events
            mixed = (h ^ words[:, j]) * _M1
            mixed ^= mixed >> _S29
            # beyond the end of the shorter ids, theirs stay as they are
            h = mixed if 8 * j < shortest else np.where(np.uint64(8 * j) < length, mixed, h)
        h = _fmix(h)
    return h.view(np.int64)
