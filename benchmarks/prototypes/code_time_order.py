"""Rows by (customer, time): `frame.code_time_order` against ``np.lexsort``.

    python benchmarks/prototypes/code_time_order.py [--rows 12_000_000] [--customers 1_000_000]

Random customer codes, times in order (as events are logged) and shuffled; best of 3 CPU
seconds of each, and whether the permutations are equal. Also `first_reach` (funnels) of
the time-ordered rows over 5 stages. The figures behind `code_time_order`'s docstring and
benchmarks/README.md (session 9).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from touchpoint.frame import code_time_order
from touchpoint.journeys._funnel import first_reach


def _cpu(run) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    count = lambda s: int(float(s.replace("_", "")))  # noqa: E731
    parser.add_argument("--rows", type=count, default=12_000_000)
    parser.add_argument("--customers", type=count, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    codes = rng.integers(0, args.customers, args.rows)
    ordered = np.sort(rng.integers(0, 10**15, args.rows))
    shuffled = rng.permutation(ordered)
    stages = rng.integers(-1, 5, args.rows)
    for name, t in (("times in order", ordered), ("times shuffled", shuffled)):
        same = np.array_equal(code_time_order(codes, t), np.lexsort((t, codes)))
        ours = _cpu(lambda t=t: code_time_order(codes, t))
        theirs = _cpu(lambda t=t: np.lexsort((t, codes)))
        print(f"{name}: code_time_order {ours:.3f} CPU s, np.lexsort {theirs:.3f}; equal: {same}")
    reach = _cpu(lambda: first_reach(codes, ordered, stages, args.customers, 5))
    print(f"first_reach, times in order, 5 stages: {reach:.3f} CPU s")


if __name__ == "__main__":
    main()
