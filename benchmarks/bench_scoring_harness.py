"""The skeptic's harness shared by the benchmark scripts (not a benchmark itself).

What a skeptic asks of a benchmark, and how this harness answers:

- **Same data for all**: the data is generated once (see `data.py`) and each contender
  loads it in its own process; loading is not timed.
- **Peak memory per process**: every contender is its own subprocess, so its peak RSS
  is its own. Before each run the kernel's peak counter is reset
  (``/proc/self/clear_refs``); the run reports its peak above the RSS before it (the
  loaded input), which covers native code (DuckDB, polars, C++ peers) too.
- **Interleaved, best of N**: all contenders start, load and warm up (one unmeasured
  run), then run in rounds A B C, B C A, C A B, ... (the starting contender rotates), so
  a burst of load on the shared machine hits every contender alike. The best wall time
  counts; the median is shown too.
- **Load recorded, noisy runs redone**: around each run the harness reads the load
  average and ``/proc/stat``, and computes how many cores *other* processes kept busy
  during the run (all busy CPU minus the contender's own CPU time). A run during which
  others used more than ``max_others`` cores is run again (up to ``retries`` times). The
  table shows the load average and the others' cores of the runs it reports.
- **CPU next to wall**: each run's CPU time (all threads) over its wall time shows how
  many cores the contender used.
- **Floors**: `bandwidth` measures this machine's memory bandwidth (one thread reading
  a large array, and copying it), so a figure can be set against the time it takes
  just to read its input; the RFM script also runs plain numpy doing the same scatters.

Workers speak a line protocol (`peers/measure.py`): they print ``{"ready": ...}`` once
warm, then answer each ``run`` line read on stdin with one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / "peers"))
from measure import peak_since, reset_peak, run_once, serve  # noqa: F401

#: Python of the venv this harness runs in (the contenders of the scoring scripts).
PYTHON = sys.executable


def _status_kib(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def measure(task: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` wall time and the peak RSS above the baseline, in MiB (in-process)."""
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


# --------------------------------------------------------------------------- the machine


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [float(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return total - idle, total


def load1() -> float:
    return os.getloadavg()[0]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine() -> str:
    """One line: CPU, cores, memory, Python, numpy, and the load average now."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024 // 1024
    return (
        f"{platform.machine()} {model}, {cores()} cores, {mem} GiB, Python "
        f"{platform.python_version()}, numpy {np.__version__}, load {load1():.1f}"
    )


def versions(*modules: str) -> str:
    out = []
    for name in modules:
        try:
            mod = __import__(name)
            out.append(f"{name} {getattr(mod, '__version__', '?')}")
        except ImportError:
            out.append(f"{name} (absent)")
    return ", ".join(out)


def bandwidth(mib: int = 512, repeat: int = 7) -> dict[str, float]:
    """This machine's memory bandwidth, GB/s: one thread reading, copying; two reading.

    The array (``mib`` MiB) is far larger than the caches. ``read``: ``a.max()`` on one
    thread (the fastest of numpy's streaming reductions here: SIMD, no pairwise
    summation); ``copy``: ``np.copyto`` into a touched array, bytes read + written;
    ``read_2``: two threads each reading half (numpy releases the GIL there). Best of
    ``repeat``.
    """
    a = np.random.default_rng(0).random(mib * 2**20 // 8)
    b = np.ones_like(a)
    nbytes = a.nbytes

    def best(f: Callable[[], Any]) -> float:
        return min(_timed(f) for _ in range(repeat))

    read = nbytes / best(a.max) / 1e9
    copy = 2 * nbytes / best(lambda: np.copyto(b, a)) / 1e9
    half = len(a) // 2

    def two() -> None:
        t = threading.Thread(target=a[:half].max)
        t.start()
        a[half:].max()
        t.join()

    read_2 = nbytes / best(two) / 1e9
    return {"read": read, "copy": copy, "read_2": read_2}


def _timed(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- contenders


@dataclass
class Result:
    """The runs of one contender."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    ready_rss_mib: float = 0.0
    check: Any = None

    @property
    def best(self) -> dict[str, Any]:
        return min(self.runs, key=lambda r: r["seconds"])

    @property
    def seconds(self) -> float:
        return self.best["seconds"]

    @property
    def median(self) -> float:
        return statistics.median(r["seconds"] for r in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(r["peak_mib"] for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        if not self.runs:
            return {"name": self.name, "error": self.error}
        best = self.best
        return {
            "name": self.name,
            "seconds": best["seconds"],
            "median": self.median,
            "cpu_per_wall": best["cpu"] / best["seconds"],
            "peak_mib": self.peak_mib,
            "input_rss_mib": self.ready_rss_mib,
            "load1": best["load1"],
            "others": best["others"],
            "runs": len(self.runs),
            "check": self.check,
        }


class _Worker:
    def __init__(self, name: str, argv: Any, env: Mapping[str, str] | None) -> None:
        self.name = name
        if isinstance(argv, Mapping):  # {"argv": [...], "env": {...}}: an environment of its own
            env = {**(env or {}), **argv.get("env", {})}
            argv = argv["argv"]
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:  # kept so that a full pipe never blocks the worker
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise RuntimeError("".join(self._stderr[-30:]) or f"exit {self.proc.returncode}")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.send("quit")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()


def interleave(
    contenders: Mapping[str, Any],
    *,
    rounds: int = 3,
    max_others: float = 0.5,
    retries: int = 2,
    env: Mapping[str, str] | None = None,
    together: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Result]:
    """Run each contender's worker ``rounds`` times, interleaved; see the module docs.

    ``contenders``: name -> the worker's command line, or ``{"argv": [...], "env": {...}}``
    for a worker that needs environment variables of its own (``env`` applies to all).

    ``together=False`` runs the contenders one after the other (each starts, warms up,
    runs its rounds and quits) instead of keeping them all loaded at once: for data too
    large to hold several copies of. Interleaving is then lost, which the report says.
    """
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    results = {name: Result(name) for name in contenders}
    names = list(contenders)
    groups = [names] if together else [[n] for n in names]
    n_cores = cores()
    for group in groups:
        workers: dict[str, _Worker] = {}
        for name in group:  # started one by one: loading in parallel would skew nothing
            worker = _Worker(name, contenders[name], env)
            try:
                ready = worker.read()
                results[name].ready_rss_mib = ready.get("rss_mib", 0.0)
                workers[name] = worker
            except RuntimeError as error:
                results[name].error = str(error)
                log(f"{name}: failed to start\n{error}")
                worker.close()
        for r in range(rounds):
            order = list(workers)
            shift = r % max(1, len(order))
            for name in order[shift:] + order[:shift]:
                worker = workers[name]
                if results[name].error:
                    continue
                for attempt in range(retries + 1):
                    load = load1()
                    busy0, total0 = _cpu_times()
                    try:
                        worker.send("run")
                        run = worker.read()
                    except (RuntimeError, OSError) as error:
                        results[name].error = str(error)
                        log(f"{name}: failed\n{error}")
                        break
                    busy1, total1 = _cpu_times()
                    busy = (busy1 - busy0) / max(total1 - total0, 1e-9) * n_cores
                    run["load1"] = max(load, load1())
                    run["others"] = max(0.0, busy - run["cpu"] / run["seconds"])
                    run["retried"] = attempt
                    log(
                        f"  round {r + 1} {name:<24} {run['seconds']:8.3f} s  cpu/wall "
                        f"{run['cpu'] / run['seconds']:4.2f}  others {run['others']:4.2f}  "
                        f"load {run['load1']:4.1f}"
                    )
                    if run["others"] <= max_others or attempt == retries:
                        results[name].runs.append(run)
                        break
        for name, worker in workers.items():
            if not results[name].error:
                try:
                    worker.send("check")
                    results[name].check = worker.read().get("check")
                except (RuntimeError, OSError) as error:
                    log(f"{name}: check failed\n{error}")
            worker.close()
    return results


def report(
    title: str,
    results: Mapping[str, Result],
    *,
    baseline: str = "touchpoint",
    notes: Sequence[str] = (),
    together: bool = True,
) -> str:
    """A table: best and median seconds, cores used, ratio to ``baseline``, peak MiB, load.

    "ratio" is the contender's best time over the baseline's (above 1: the baseline is
    faster). "others" is the cores other processes kept busy during the best run.
    """
    lines = [f"\n{title}", f"  [{machine()}]"]
    if not together:
        lines.append("  (contenders run one after the other, not interleaved)")
    lines.extend(f"  {n}" for n in notes)
    ours = results.get(baseline)
    ours_s = ours.seconds if ours and ours.runs else float("nan")
    lines.append(
        f"  {'contender':<30}{'best s':>9}{'median s':>10}{'cores':>7}{'ratio':>8}"
        f"{'peak MiB':>10}{'input MiB':>10}{'load':>6}{'others':>8}"
    )
    for name, res in results.items():
        if not res.runs:
            lines.append(f"  {name:<30}failed: {(res.error or '').strip().splitlines()[-1:]}")
            continue
        d = res.as_dict()
        lines.append(
            f"  {name:<30}{d['seconds']:>9.3f}{d['median']:>10.3f}{d['cpu_per_wall']:>7.2f}"
            f"{d['seconds'] / ours_s:>8.2f}{d['peak_mib']:>10.0f}{d['input_rss_mib']:>10.0f}"
            f"{d['load1']:>6.1f}{d['others']:>8.2f}"
        )
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def save(path: str | os.PathLike[str] | None, entry: dict[str, Any]) -> None:
    """Append one table's results as a JSON line to ``path`` (None: do nothing)."""
    if not path:
        return
    entry = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        **entry,
    }
    with open(path, "a") as f:
        f.write(json.dumps(entry, default=float) + "\n")


def results_dict(results: Mapping[str, Result]) -> dict[str, Any]:
    return {name: res.as_dict() for name, res in results.items()}


def add_common_arguments(parser: Any) -> None:
    """The harness's options, the same in every script."""
    parser.add_argument(
        "--repeat",
        "--rounds",
        dest="repeat",
        type=int,
        default=3,
        help="measured runs per contender (best counts), interleaved",
    )
    parser.add_argument(
        "--max-others",
        type=float,
        default=0.5,
        help="redo a run if other processes kept more cores busy",
    )
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="do not keep all contenders loaded at once (large data)",
    )
    parser.add_argument("--json", help="append the results as JSON lines to this file")
    parser.add_argument(
        "--threads", type=int, default=None, help="TOUCHPOINT_THREADS for touchpoint's workers"
    )
    parser.add_argument(
        "--baseline-src",
        metavar="SRC",
        help="also run touchpoint from this source tree (PYTHONPATH), as 'touchpoint@base': "
        "e.g. the code before a change, exported with git archive",
    )


def run_interleaved(
    argv: Mapping[str, Any], args: Any, *, together: bool | None = None
) -> dict[str, Result]:
    """`interleave` with the options of `add_common_arguments` (``--threads`` as the
    workers' ``TOUCHPOINT_THREADS``; ``together`` defaults to ``not --one-by-one``)."""
    env = {"TOUCHPOINT_THREADS": str(args.threads)} if args.threads else None
    return interleave(
        argv,
        rounds=args.repeat,
        max_others=args.max_others,
        retries=args.retries,
        env=env,
        together=not args.one_by_one if together is None else together,
    )


def checks_agree(results: Mapping[str, Result]) -> bool:
    """Whether every contender that reported a check reported the same one."""
    checks = [r.check for r in results.values() if r.check is not None]
    return len({json.dumps(c, sort_keys=True) for c in checks}) <= 1


def best_cpu(results: Mapping[str, Result]) -> dict[str, float]:
    """Each contender's best CPU seconds (of its own process) over its runs."""
    return {n: min(run["cpu"] for run in r.runs) for n, r in results.items() if r.runs}


def with_baseline(
    argv: dict[str, Any], src: str | None, name: str = "touchpoint"
) -> dict[str, Any]:
    """Add ``name@base`` after ``name``: its worker with ``PYTHONPATH=src`` (None: unchanged)."""
    if not src or name not in argv:
        return argv
    out: dict[str, Any] = {}
    for key, value in argv.items():
        out[key] = value
        if key == name:
            out[f"{name}@base"] = {"argv": value, "env": {"PYTHONPATH": str(Path(src).resolve())}}
    return out
