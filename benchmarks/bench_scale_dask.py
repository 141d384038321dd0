"""Out of core: RFM on Dask over a Parquet dataset larger than the workers' memory.

    python benchmarks/bench_scale_dask.py --events 100_000_000 --customers 5_000_000

1. Generates the events (13-digit int64 customer ids, times over 24 months, amounts in
   cents) into a Parquet dataset partitioned by month (``month=2024-01/part-0.parquet``),
   one file of at most ``--rows-per-file`` rows (default 500,000) at a time, so the
   generator stays small. Each file is one Dask partition. The dataset is kept in
   ``--data`` (default: a directory under the system temp dir) and reused by later
   runs with the same parameters.
2. Starts a ``distributed.LocalCluster`` of 2 worker processes with one thread each and
   ``--worker-memory`` each (default 640 MiB: the two together hold about half of the
   events' 24 bytes a row at 100M events), spilling to a temporary
   ``local_directory``; reads the dataset with
   ``touchpoint.scale.read_parquet(..., dask=True)``, runs ``touchpoint.scoring.rfm``
   (a peer-to-peer shuffle by customer, then the in-memory score per partition) and
   writes the result to Parquet. Wall time covers all of it. Peak memory per worker is
   the worker process's peak resident set size (``VmHWM``, its whole life); a thread
   also polls every worker's RSS and the bytes on disk under the workers' directories
   (the shuffle's spill). A worker past 95% of its limit is restarted by its nanny: the
   script checks that none was, and counts the times a worker paused (past 80%).
3. In a fresh subprocess, the in-memory path on the same files
   (``read_parquet`` into an `EventFrame`, then ``rfm``), with its wall time and peak
   RSS; then (untimed) it checks that the Dask result equals it: same customers, same
   recency, frequency, last and missing counts, monetary and average to rtol 1e-12.
   ``--no-memory`` skips it (when the events do not fit in this machine's memory).
4. Prints a markdown table row for ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring_harness import machine

ASOF = "2026-01-01"
START = np.datetime64("2024-01", "M")
COLUMNS = ["customer", "time", "amount"]
MIB = 1024 * 1024


# --------------------------------------------------------------------------- the data


def generate(path: Path, events: int, customers: int, months: int, rows_per_file: int) -> None:
    """Write the dataset one file at a time (memory: one file's columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = path / "_generated.json"
    params = {"events": events, "customers": customers, "months": months, "rows": rows_per_file}
    if marker.exists() and json.loads(marker.read_text()) == params:
        return
    shutil.rmtree(path, ignore_errors=True)
    per_month = np.full(months, events // months, dtype=np.int64)
    per_month[: events % months] += 1
    t0 = time.perf_counter()
    for m in range(months):
        month = START + m
        lo = month.astype("datetime64[us]").astype(np.int64)
        hi = (month + 1).astype("datetime64[us]").astype(np.int64)
        n_files = max(1, -(-int(per_month[m]) // rows_per_file))
        sizes = np.diff(np.linspace(0, per_month[m], n_files + 1).astype(np.int64))
        folder = path / f"month={month}"
        folder.mkdir(parents=True)
        for f, n in enumerate(sizes):
            rng = np.random.default_rng([m, f])
            table = pa.table(
                {
                    "customer": 1_000_000_000_000 + rng.integers(0, customers, n) * 7919,
                    "time": pa.array(rng.integers(lo, hi, n).astype("datetime64[us]")),
                    "amount": np.round(rng.lognormal(3.0, 1.0, n), 2),
                }
            )
            pq.write_table(table, folder / f"part-{f}.parquet")
    marker.write_text(json.dumps(params))
    print(f"generated {events:,} events in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _disk_bytes(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while we looked
                total += os.stat(os.path.join(dirpath, name)).st_size
    return total


# --------------------------------------------------------------------------- Dask


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def run_dask(data: Path, out: Path, worker_memory: str) -> dict[str, object]:
    from touchpoint.scale import read_parquet
    from touchpoint.scoring import rfm

    def job() -> int:
        events = read_parquet(data, columns=COLUMNS, dask=True)
        scores = rfm(events, asof=ASOF)
        scores.to_parquet(out, write_index=False)
        return events.npartitions

    stats = on_cluster(job, worker_memory)
    stats["partitions"] = stats.pop("result")
    return stats


def on_cluster(job: Callable[[], object], worker_memory: str) -> dict[str, object]:
    """Run ``job()`` on a 2-worker LocalCluster and measure it (see the module's step 2).

    Returns the wall time of ``job()``, the worker limit, the peak RSS of each worker
    (``VmHWM``), the polled RSS and spill on disk, whether a worker was restarted, the
    number of pauses, and what ``job()`` returned (``"result"``).
    """
    import logging

    import dask
    import distributed

    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)  # each shuffle's start
    spill = Path(tempfile.mkdtemp(prefix="tp-dask-spill-"))
    # the shuffle's send buffer defaults to 1 GiB per worker: the whole memory limit
    settings = {"dataframe.shuffle.method": "p2p", "distributed.p2p.comm.buffer": "128 MiB"}
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=worker_memory,
            local_directory=str(spill),
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
        limit = next(iter(client.scheduler_info()["workers"].values()))["memory_limit"]
        before = sorted(client.scheduler_info()["workers"])
        peaks: dict[str, int] = {}
        disk = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                try:
                    for addr, rss in client.run(_rss).items():
                        peaks[addr] = max(peaks.get(addr, 0), rss)
                    disk[0] = max(disk[0], _disk_bytes(spill))
                except Exception:  # a worker restarting: seen in the check below
                    pass
                done.wait(0.5)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        t0 = time.perf_counter()
        result = job()
        seconds = time.perf_counter() - t0
        done.set()
        watcher.join()
        hwm = client.run(_peak_rss)
        after = sorted(client.scheduler_info()["workers"])
        paused = sum(
            "Pausing worker" in message
            for log in client.get_worker_logs().values()
            for _, message in log
        )
        client.close()
        cluster.close()
    shutil.rmtree(spill, ignore_errors=True)
    return {
        "seconds": seconds,
        "result": result,
        "limit_mib": limit / MIB,
        "peak_mib": sorted(v / MIB for v in hwm.values()),
        "polled_mib": sorted(v / MIB for v in peaks.values()),
        "disk_mib": disk[0] / MIB,
        "restarted": before != after,
        "paused": paused,
    }


# --------------------------------------------------------------------------- in memory


def run_memory(data: Path, out: Path) -> dict[str, object]:
    """The in-memory path, timed; then (untimed) the comparison with the Dask result."""
    import pyarrow.parquet as pq

    from touchpoint.scale import read_parquet
    from touchpoint.scoring import rfm

    t0 = time.perf_counter()
    events = read_parquet(data, columns=COLUMNS)
    scores = rfm(events, asof=ASOF)
    seconds = time.perf_counter() - t0
    peak = _peak_rss()
    n = len(events)
    del events
    want = scores.to_pandas().sort_values("customer", kind="stable").reset_index(drop=True)
    got = pq.read_table(out).to_pandas()
    got = got.sort_values("customer", kind="stable").reset_index(drop=True)
    same = len(got) == len(want) and list(got.columns) == list(want.columns)
    worst = 0.0
    if same:
        for c in ("customer", "recency", "frequency", "last", "amount_missing"):
            same &= bool(np.array_equal(got[c].to_numpy(), want[c].to_numpy(), equal_nan=True))
        for c in ("monetary", "average"):
            g, w = got[c].to_numpy(), want[c].to_numpy()
            same &= bool(np.allclose(g, w, rtol=1e-12, atol=0.0, equal_nan=True))
            worst = max(worst, float(np.nanmax(np.abs(g - w) / np.maximum(np.abs(w), 1e-300))))
    return {
        "seconds": seconds,
        "peak_mib": peak / MIB,
        "events": n,
        "customers": len(want),
        "frequency_sum": int(want["frequency"].sum()),
        "equal": same,
        "worst_rel": worst,
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    parser.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=5_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--rows-per-file", type=lambda s: int(s.replace("_", "")), default=500_000)
    parser.add_argument("--worker-memory", default="640MiB")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--no-memory", action="store_true", help="skip the in-memory path")
    parser.add_argument("--worker", choices=["memory"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "memory":
        print(json.dumps(run_memory(args.data, args.out)))
        return

    data = args.data or Path(tempfile.gettempdir()) / f"tp-bench-events-{args.events}"
    generate(data, args.events, args.customers, args.months, args.rows_per_file)
    on_disk = _disk_bytes(data) / MIB
    out = Path(tempfile.mkdtemp(prefix="tp-dask-rfm-"))
    try:
        d = run_dask(data, out / "rfm", args.worker_memory)
        print(f"dask: {json.dumps(d)}", file=sys.stderr)
        import pyarrow.parquet as pq

        frequency = pq.read_table(out / "rfm", columns=["frequency"]).column(0)
        total = int(frequency.to_numpy().sum())
        assert total == args.events, f"Dask counted {total:,} events of {args.events:,}"
        m: dict[str, object] | None = None
        if not args.no_memory:
            command = [sys.executable, __file__, "--worker", "memory", "--data", str(data)]
            proc = subprocess.run(
                [*command, "--out", str(out / "rfm")],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                print(f"in memory: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
            else:
                m = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"memory: {json.dumps(m)}", file=sys.stderr)
                assert m["equal"], "the Dask result differs from the in-memory one"
    finally:
        shutil.rmtree(out, ignore_errors=True)

    raw = args.events * 24 / MIB
    peaks = " / ".join(f"{p:.0f}" for p in d["peak_mib"])
    print(f"\n[{machine()}]")
    print(
        "| events / customers | Parquet on disk | in memory (3 columns) | worker limit "
        "| Dask wall | peak RSS per worker | shuffle spill (peak) "
        "| in-memory wall | in-memory peak RSS | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    mem_wall = f"{m['seconds']:.1f} s" if m else "not run"
    mem_peak = f"{m['peak_mib']:.0f} MiB" if m else "not run"
    ratio = f"{d['seconds'] / m['seconds']:.1f}×" if m else ""
    print(
        f"| {args.events / 1e6:g}M / {args.customers / 1e6:g}M | {on_disk:.0f} MiB "
        f"| {raw:.0f} MiB | 2 × {d['limit_mib']:.0f} MiB | {d['seconds']:.1f} s "
        f"| {peaks} MiB | {d['disk_mib']:.0f} MiB | {mem_wall} | {mem_peak} | {ratio} |"
    )
    print(
        f"partitions: {d['partitions']}; polled RSS max per worker: "
        + " / ".join(f"{p:.0f}" for p in d["polled_mib"])
        + f" MiB; workers paused {d['paused']} times, restarted: {d['restarted']}; "
        + (
            f"equal to in memory: {m['equal']} (worst relative difference {m['worst_rel']:.1e})"
            if m
            else "in-memory comparison not run"
        )
    )


if __name__ == "__main__":
    main()
