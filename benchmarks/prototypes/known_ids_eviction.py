"""How many of a batch's customers the kept dictionary ids find, past the column's limit.

    python benchmarks/prototypes/known_ids_eviction.py [customers] [limit]

Batches of 200k events over ``customers`` ids drawn uniformly (600k by default, more
than the SQLite storage's 2^19 kept ids a column), looked up, the misses learned and
committed, 30 times; the share of each batch's distinct customers found, after the
first 10 batches. ``KnownIds`` drops its oldest values to make room (first in, first
out); ``ClearAll`` is its policy before session 10, which emptied a full column and kept
only the last transaction's values.
"""

from __future__ import annotations

import sys

import numpy as np

from touchpoint.storage._known_ids import KnownIds


class ClearAll(KnownIds):
    def commit(self) -> None:
        for column, pending in self._pending.items():
            known = self._known.setdefault(column, {})
            if len(known) + len(pending) > self.limit:
                known.clear()
            if len(pending) <= self.limit:
                known.update(pending)
        self._pending = {}


def hit_rates(cache: KnownIds, values: np.ndarray, rng: np.random.Generator) -> list[float]:
    rates = []
    for _ in range(30):
        batch = np.unique(values[rng.integers(0, len(values), 200_000)]).tolist()
        got = cache.lookup("customer", batch)
        miss = np.flatnonzero(got < 0)
        rates.append(1 - len(miss) / len(batch))
        cache.learn("customer", [batch[i] for i in miss], miss)
        cache.commit()
    return rates[10:]


def main() -> None:
    customers = int(float(sys.argv[1])) if len(sys.argv) > 1 else 600_000
    limit = int(float(sys.argv[2])) if len(sys.argv) > 2 else 1 << 19
    values = np.array([f"C{i:07d}" for i in range(customers)], dtype=object)
    for cls in (KnownIds, ClearAll):
        rates = hit_rates(cls(limit), values, np.random.default_rng(0))
        print(
            f"{cls.__name__:9s} {customers:,} customers, limit {limit:,}: found "
            f"{np.mean(rates):.1%} of a batch's customers on average, {min(rates):.1%} at least"
        )


if __name__ == "__main__":
    main()
