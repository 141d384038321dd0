"""Shared harness of the ``bench_scoring_*`` scripts (not a benchmark itself).

Each contender runs in its own subprocess, so that its peak memory is its own: the
worker loads the generated data (not timed), resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``), runs the task ``repeat`` times and reports the best wall
time and the peak RSS above the loaded baseline (``VmHWM - VmRSS`` before the run).
The parent prints one table with the ratio of each contender to touchpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(task: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` wall time and the peak RSS above the baseline, in MiB."""
    best = float("inf")
    peak = 0.0
    for _ in range(repeat):
        base = _status_kib("VmRSS")
        with contextlib.suppress(OSError):  # resets the peak RSS (Linux)
            Path("/proc/self/clear_refs").write_text("5")
        t0 = time.perf_counter()
        task()
        best = min(best, time.perf_counter() - t0)
        peak = max(peak, (_status_kib("VmHWM") - base) / 1024)
    return {"seconds": best, "peak_mib": peak}


def run_workers(script: str, contenders: list[str], args: list[str]) -> dict[str, dict[str, float]]:
    """Run ``script --worker NAME args`` for each contender; collect their JSON lines."""
    out: dict[str, dict[str, float]] = {}
    for name in contenders:
        proc = subprocess.run(
            [sys.executable, script, "--worker", name, *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def machine() -> str:
    cpus = os.cpu_count()
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024 // 1024
    except OSError:  # pragma: no cover
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.machine()}, {cpus} cores, {mem} GiB, Python {platform.python_version()}, load {load:.1f}"


def report(title: str, results: dict[str, dict[str, float]]) -> None:
    """Print a table: seconds, ratio to touchpoint (>1: touchpoint faster), peak MiB."""
    print(f"\n{title}  [{machine()}]")
    ours = results.get("touchpoint", {}).get("seconds")
    print(f"{'contender':<24}{'seconds':>10}{'ratio':>9}{'peak MiB':>11}")
    for name, r in results.items():
        ratio = r["seconds"] / ours if ours else float("nan")
        print(f"{name:<24}{r['seconds']:>10.3f}{ratio:>9.2f}{r['peak_mib']:>11.0f}")


def make_events(path: Path, n: int, customers: int, seed: int = 0) -> None:
    """Generate events once (customer codes, times over two years, amounts in cents) as .npy."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "customer.npy", rng.integers(0, customers, n, dtype=np.int64))
    start = np.datetime64("2024-01-01", "us")
    span = 2 * 365 * 86_400 * 1_000_000
    np.save(path / "time.npy", start + rng.integers(0, span, n).astype("timedelta64[us]"))
    np.save(path / "amount.npy", np.round(rng.lognormal(3.0, 1.0, n), 2))
    np.save(
        path / "ids.npy",
        np.array([f"C{i:08d}" for i in range(customers)], dtype=object),
        allow_pickle=True,
    )


def load_events(path: Path) -> dict[str, np.ndarray]:
    return {
        "customer": np.load(path / "customer.npy"),
        "time": np.load(path / "time.npy"),
        "amount": np.load(path / "amount.npy"),
        "ids": np.load(path / "ids.npy", allow_pickle=True),
    }
