"""Fresh arrays filled by pool threads: the kernel's share with and without `_threads.empty`.

    python benchmarks/prototypes/threads_page_faults.py [--rows 10_000_000] [--repeat 4]

Three measurements, each on 1 thread and on 2 (``set_threads``), best of ``--repeat``:

- ``fill``: a fresh int64 array filled by ``np.take(..., out=)`` in chunks on
  `touchpoint._threads.parallel_map`, made by ``np.empty`` (pages mapped lazily, by the
  threads' first writes) and by `touchpoint._threads.empty` (pages mapped first, in the
  calling thread);
- ``factorize``: `touchpoint.frame.factorize` of ``--rows`` random 13-digit integer ids of
  ``rows // 10`` customers, ``sort=None`` (what `rfm` does with raw ids).

Each line gives wall, user and system seconds of the process and its minor page faults.
The figures behind `touchpoint._threads.empty`'s docstring and benchmarks/README.md's
"page faults taken by two threads at once" (session 9).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from touchpoint._threads import chunk_bounds, empty, parallel_map, set_threads
from touchpoint.frame import factorize


def _timed(run) -> tuple[float, float, float, int]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (
        wall,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
        after.ru_minflt - before.ru_minflt,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(float(s.replace("_", ""))), default=10**7)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    source = np.arange(n, dtype=np.int64)
    index = rng.permutation(n).astype(np.int32)
    ids = rng.integers(10**12, 10**13, n // 10)[rng.integers(0, n // 10, n)]
    chunks = chunk_bounds(n, min_size=1 << 15)

    def fill(make):
        def run() -> None:
            out = make(n, dtype=np.int64)

            def task(c: int) -> None:
                a, b = chunks[c]
                np.take(source, index[a:b], out=out[a:b])

            parallel_map(task, range(len(chunks)))

        return run

    cases = {
        "fill, np.empty": fill(np.empty),
        "fill, _threads.empty": fill(empty),
        "factorize": lambda: factorize(ids, sort=None),
    }
    factorize(ids[: 1 << 16], sort=None)  # imports pandas, starts the pool
    print(f"{n:,} rows; best of {args.repeat}: wall / user / sys seconds, minor faults")
    for threads in (1, 2):
        with set_threads(threads):
            for name, run in cases.items():
                best = min(_timed(run) for _ in range(args.repeat))
                wall, user, sys_, faults = best
                print(
                    f"{threads} thread(s)  {name:22s} {wall:6.3f} / {user:6.3f} / {sys_:6.3f}"
                    f"  {faults:>7,}"
                )


if __name__ == "__main__":
    main()
