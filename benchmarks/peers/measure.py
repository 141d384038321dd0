"""Peak memory and the worker side of the benchmark harness, the same in every process.

Standard library only: the peers' own virtual environments (lifetimes needs numpy < 2)
import this file too.

Linux only: writing 5 to /proc/self/clear_refs resets the process's peak resident set
size (VmHWM), so the peak of one call is measured even after a larger earlier peak (such
as loading the data). Works for native code (C++ peers, DuckDB, polars) as well as
numpy, unlike tracemalloc.

`serve` is the worker's loop of the harness's protocol (`bench_scoring_harness.py`): the
worker loads its data and builds its task, runs it once to warm up (imports, first touch
of pages, JIT), says it is ready, then runs the task once per ``run`` line read on stdin
and answers each with one JSON line: wall seconds, CPU seconds of the process (all
threads, user + system), the peak RSS above the RSS before the run, and that RSS. A
``check`` line gets a summary of the last result back (to compare the contenders).
"""

from __future__ import annotations

import json
import os
import sys
import time


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> int:
    """Reset the peak resident set size; return the current size in bytes."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak_since(before: int) -> float:
    """Rise of the peak resident set size over ``before``, in MiB."""
    return (_status("VmHWM") - before) / 2**20


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def run_once(task) -> tuple[dict, object]:
    """Run ``task()`` once: wall and CPU seconds, peak RSS above the RSS before (MiB); result."""
    before = reset_peak()
    cpu0, t0 = _cpu(), time.perf_counter()
    result = task()
    seconds = time.perf_counter() - t0
    figures = {
        "seconds": seconds,
        "cpu": _cpu() - cpu0,
        "peak_mib": peak_since(before),
        "rss_mib": before / 2**20,
    }
    return figures, result


def serve(task, warmup=None, check=None) -> None:
    """The worker's loop: warm up, say ready, then one measured run per ``run`` line.

    ``warmup``: run instead of ``task`` before the measured runs (default: ``task``
    itself). ``check``: on a ``check`` line, applied to the last run's result (outside
    any timing) and sent back, so the parent can see that the contenders agree.
    """
    last = (warmup or task)()
    print(json.dumps({"ready": True, "rss_mib": _status("VmRSS") / 2**20}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            figures, last = run_once(task)
            print(json.dumps(figures), flush=True)
        elif command == "check":
            print(
                json.dumps({"check": None if check is None else check(last)}, default=float),
                flush=True,
            )
        elif command == "quit":
            break
