"""SplitMix64's finaliser over numpy ``uint64`` arrays, for the hashes that need one.

Stored and published values depend on it (the PostgreSQL storage's event digests, the
tie order of scores, the factorisation's partitions): it must never change.

Examples
--------
>>> import numpy as np
>>> [hex(v) for v in mix64(np.array([0, 1], dtype=np.uint64)).tolist()]
['0x0', '0x5692161d100b05e5']
"""

from __future__ import annotations

import numpy as np

__all__ = ["GOLDEN", "MIX1", "MIX2", "mix64"]

#: 2**64 / the golden ratio: SplitMix64's increment (and multiplicative hashing's factor).
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: The finaliser's two multipliers.
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def mix64(x: np.ndarray) -> np.ndarray:
    """A bijection of uint64 in which every input bit moves every output bit (wrapping)."""
    x = x ^ (x >> _S30)
    x = x * MIX1
    x = x ^ (x >> _S27)
    x = x * MIX2
    out: np.ndarray = x ^ (x >> _S31)
    return out
