"""CPU seconds per step of ``touchpoint demo`` (issue 15), and where the collector runs.

Runs `touchpoint.demo.run_demo` with a progress callback that reads this process's CPU
time (user + system, all threads) at every step, the resident memory at the step's end,
and the time spent in the cyclic garbage collector (``gc.callbacks``). Prints one line
per step, then the total, the peak RSS and the load average, so that two versions can be
compared step by step in the same minutes (run them interleaved: the machine's speed
drifts, and CPU time itself stretches when the other core is busy).

Usage::

    python benchmarks/bench_demo_stages.py --customers 200000 [--db NEW.db] [--report FILE]

``--report`` writes the text report, to check that two versions print the same.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_gib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


class _Collector:
    """Seconds (thread CPU) spent in the cyclic collector, and collections per generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.runs = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._start
            self.runs[info["generation"]] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--db", help="a new SQLite file (default: one in a temporary folder)")
    parser.add_argument("--report", help="write the text report to this file")
    args = parser.parse_args()

    from touchpoint.demo import run_demo, text_report

    collector = _Collector()
    gc.callbacks.append(collector)
    rows: list[tuple[str, float, float, float, list[int]]] = []
    current: dict[str, Any] = {}

    def step(name: str) -> None:
        now = _cpu()
        if current:
            runs = [a - b for a, b in zip(collector.runs, current["runs"], strict=True)]
            rows.append(
                (
                    current["name"],
                    now - current["cpu"],
                    _rss_gib(),
                    collector.seconds - current["gc"],
                    runs,
                )
            )
        current.update(name=name, cpu=now, gc=collector.seconds, runs=list(collector.runs))

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or os.path.join(tmp, "demo.db")
        start = _cpu()
        result = run_demo(customers=args.customers, db=db, progress=step)
        step("end")
        total = _cpu() - start
        if args.report:
            Path(args.report).write_text(text_report(result), encoding="utf-8")
    for name, cpu, rss, in_gc, runs in rows:
        print(f"{name:45s} {cpu:7.2f} CPU-s  RSS {rss:5.2f} GiB  collector {in_gc:5.2f} s {runs}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"total {total:.2f} CPU-s, peak RSS {peak:.2f} GiB, collector {collector.seconds:.2f} s, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
