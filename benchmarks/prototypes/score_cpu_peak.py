"""One score of `bench_scoring_all.py` in this process: CPU seconds and peak RSS above the frame.

    PYTHONPATH=<tree>/src python benchmarks/prototypes/score_cpu_peak.py 10e6 1e6 compliance

For a machine too busy for wall times: run it once per source tree (the code before and
after a change, e.g. copies made with ``git archive``), alternating, each in a fresh
process, and compare the CPU seconds (``time.process_time``: every thread of the
process) and the peak resident set above the loaded frame (``VmHWM`` reset after
loading, as the harness does). The data is `bench_scoring_all.py`'s, generated once into
``--data`` (default ``/tmp/score-cpu-peak``) and reused. The 2026-12-01 compliance and
loyalty figures in ``benchmarks/README.md`` ("Every score at 10M") were taken this way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "peers"))
import bench_scoring_all as bench  # noqa: E402
from measure import peak_since, reset_peak  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("events", type=float)
    p.add_argument("customers", type=float)
    p.add_argument("score", choices=bench.SCORES)
    p.add_argument("--data", default="/tmp/score-cpu-peak")
    a = p.parse_args()
    n, k = int(a.events), int(a.customers)
    data = Path(a.data) / f"{n}-{k}"
    if not (data / "done").exists():
        data.mkdir(parents=True, exist_ok=True)
        bench.make(data, n, k)
        (data / "done").touch()
    run = bench.task(a.score, data)
    before = reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{a.score}: wall {wall:.2f} s, cpu {cpu:.2f} s, peak {peak_since(before):.0f} MiB "
        f"above the frame, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
