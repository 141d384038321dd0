"""CPU seconds of the coded RFM reduction: before, the numpy floor, and `group_stats`.

    python benchmarks/prototypes/group_stats_cpu.py 10e6 1e6 5
    python benchmarks/prototypes/group_stats_cpu.py 50e6 5e6 2

Arguments: events, customers, rounds. Time-ordered lognormal data from `data.py`. Each
variant runs once per round, interleaved; the best and median *process CPU time*
(`time.process_time`, all threads) are printed next to the best wall time, because on a
shared machine CPU time is what contention inflates least. Variants:

- ``bincount+maximum.at``: what `rfm` did before (two ``bincount``, ``np.maximum.at``);
- ``bincount+last-row``: the latest time by assignment, no sortedness check (the floor);
- ``group_stats 1 part xT``: `touchpoint.frame._grouped.group_stats` as one chunk;
- ``group_stats N parts xT``: forced into row chunks of 4M rows (``_ROWS_PER_CODE`` = 0),
  each with its own per-customer arrays, on T threads.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "src"))
import data as gen  # noqa: E402

from touchpoint._threads import set_threads  # noqa: E402
from touchpoint.frame import _grouped  # noqa: E402
from touchpoint.frame._grouped import group_stats  # noqa: E402

NONE = np.iinfo(np.int64).min


def main() -> None:
    n, k = int(float(sys.argv[1])), int(float(sys.argv[2]))
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    ev = gen.events(n, k, order="time")
    codes, t, a = ev["customer"], ev["time"].view(np.int64), ev["amount"]

    def before():
        np.bincount(codes, minlength=k)
        np.bincount(codes, weights=a, minlength=k)
        last = np.full(k, NONE)
        np.maximum.at(last, codes, t)

    def floor():
        np.bincount(codes, minlength=k)
        np.bincount(codes, weights=a, minlength=k)
        last = np.full(k, NONE)
        last[codes] = t

    def stats(chunked, threads):
        def run():
            old = _grouped._CHUNK_ROWS, _grouped._ROWS_PER_CODE
            _grouped._CHUNK_ROWS, _grouped._ROWS_PER_CODE = (1 << 22, 0) if chunked else old
            try:
                with set_threads(threads):
                    group_stats(codes, a, t, k, NONE)
            finally:
                _grouped._CHUNK_ROWS, _grouped._ROWS_PER_CODE = old

        return run

    forced = min(_grouped._MAX_PARTS, max(1, n // (1 << 22)))
    variants = {
        "bincount+maximum.at": before,
        "bincount+last-row": floor,
        "group_stats 1 part x1": stats(False, 1),
        "group_stats 1 part x2": stats(False, 2),
        f"group_stats {forced} parts x1": stats(True, 1),
        f"group_stats {forced} parts x2": stats(True, 2),
    }
    res = {name: ([], []) for name in variants}
    for _ in range(rounds):  # interleaved rounds
        for name, f in variants.items():
            c0, w0 = time.process_time(), time.perf_counter()
            f()
            res[name][0].append(time.perf_counter() - w0)
            res[name][1].append(time.process_time() - c0)
    print(f"{n:,} events, {k:,} customers, load {os.getloadavg()[0]:.1f}")
    for name, (w, c) in res.items():
        print(
            f"{name:28} best wall {min(w):.3f}  best cpu {min(c):.3f}  median cpu {np.median(c):.3f}"
        )


if __name__ == "__main__":
    main()
