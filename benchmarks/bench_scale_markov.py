"""Out of core: Markov attribution on Dask over a Parquet dataset of touches.

    python benchmarks/bench_scale_markov.py --touches 100_000_000 --customers 10_000_000

1. Generates the touches into a Parquet dataset partitioned by month
   (``month=2024-01/part-0.parquet``, files of at most ``--rows-per-file`` rows,
   default 500,000; each file is one Dask partition), one block of 100,000 customers at
   a time, so the generator stays small. Every customer has one journey (exactly
   ``--touches`` in all, 1 + a binomial number each: about ten), spread over at most 90
   days that start anywhere in the ``--months`` months, with strictly increasing times;
   touchpoints are 20 short strings drawn by popularity; a journey converts with a
   probability that grows with its touchpoints (about 3% do), flagged by ``converted``
   on its last touch. Customer ids are 13-digit int64, not in time order; each file is
   sorted by time, as logged. Columns: customer, time, touchpoint, converted. The
   dataset is kept in ``--data`` (default: a directory under the system temp dir) and
   reused by later runs with the same parameters; delete it by hand.
2. On the cluster of ``bench_scale_dask.py`` (2 worker processes, one thread each,
   ``--worker-memory`` each, default 640 MiB, spilling to a temporary directory, the
   shuffle's send buffer lowered to 128 MiB), reads the dataset with
   ``touchpoint.scale.read_parquet(..., dask=True)`` and runs
   ``touchpoint.attribution.markov`` on it (the distinct touchpoints collected, a
   peer-to-peer shuffle by customer, transitions counted per partition, the counts
   summed in a tree, one solve). Wall time covers all of it; peak memory per worker is
   its ``VmHWM``; the script checks that no worker was restarted by its nanny.
3. In a fresh subprocess, the in-memory path on the same files (``read_parquet`` into
   an `EventFrame`, then ``markov``), with its wall time (and the part spent reading)
   and peak RSS. ``--no-memory`` skips it.
4. Checks that both results are equal (same touchpoints in the same order; removal
   effect, share and conversions to rtol 1e-12) and prints a markdown table row for
   ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale_dask import MIB, START, _disk_bytes, _peak_rss, on_cluster
from bench_scoring_harness import machine

COLUMNS = ["customer", "time", "touchpoint", "converted"]
TOUCHPOINTS = (
    "affiliate",
    "app_push",
    "banner",
    "call_center",
    "catalog",
    "chat",
    "comparison",
    "display",
    "email",
    "in_store",
    "newsletter",
    "organic",
    "paid_search",
    "partner",
    "referral",
    "retargeting",
    "sms",
    "social",
    "tv",
    "video",
)
BLOCK = 100_000  # customers generated at a time
SPAN = 90 * 86_400 * 1_000_000  # longest journey, in microseconds
ID_STEP = 1_000_003  # a prime: customer c gets id 10^12 + (c * ID_STEP mod customers) * 7919


# --------------------------------------------------------------------------- the data


def _block(
    rng: np.random.Generator,
    first: int,
    k: int,
    n: int,
    customers: int,
    start_lo: int,
    start_step: float,
    popularity: np.ndarray,
    strength: np.ndarray,
) -> dict[str, np.ndarray]:
    """The n touches of customers first .. first + k - 1 (journeys in time order)."""
    lengths = 1 + np.bincount(rng.integers(0, k, n - k), minlength=k)
    ends = np.cumsum(lengths)
    firsts = ends - lengths
    who = np.repeat(np.arange(k), lengths)
    pos = np.arange(n) - firsts[who]
    start = start_lo + ((first + np.arange(k) + rng.random(k)) * start_step).astype(np.int64)
    gap = (rng.uniform(0.02, 1.0, k) * SPAN / lengths).astype(np.int64)  # journey <= SPAN
    # touch i of a journey in [start + i * gap, start + (i + 1) * gap): no equal times
    gaps = gap[who]
    t = start[who] + pos * gaps + (rng.random(n) * gaps).astype(np.int64)
    unit = rng.choice(len(popularity), n, p=popularity).astype(np.int8)
    survive = np.add.reduceat(np.log1p(-strength[unit]), firsts)
    converts = rng.random(k) < -np.expm1(survive)
    converted = np.zeros(n, dtype=bool)
    converted[ends - 1] = converts
    ids = 1_000_000_000_000 + ((first + np.arange(k)) * ID_STEP % customers) * 7919
    return {"customer": ids[who], "time": t, "touchpoint": unit, "converted": converted}


def _write(folder: Path, number: int, rows: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    order = np.argsort(rows["time"], kind="stable")  # as logged
    names = pa.array(TOUCHPOINTS)
    table = pa.table(
        {
            "customer": rows["customer"][order],
            "time": pa.array(rows["time"][order].astype("datetime64[us]")),
            "touchpoint": names.take(pa.array(rows["touchpoint"][order])),
            "converted": rows["converted"][order],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / f"part-{number}.parquet")


def generate(path: Path, touches: int, customers: int, months: int, rows_per_file: int) -> None:
    """Write the dataset block of customers by block (memory: a block and a few months)."""
    import math

    marker = path / "_generated.json"
    params = {"touches": touches, "customers": customers, "months": months, "rows": rows_per_file}
    if marker.exists() and json.loads(marker.read_text()) == params:
        return
    if touches < customers:
        raise SystemExit("--touches must be at least --customers (one touch a journey)")
    if math.gcd(ID_STEP, customers) != 1:
        raise SystemExit(f"--customers must not be a multiple of {ID_STEP}")
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    month_start = (START + np.arange(months + 1)).astype("datetime64[us]").astype(np.int64)
    if month_start[-1] - month_start[0] <= SPAN:
        raise SystemExit("--months must span more than 90 days")
    start_step = (month_start[-1] - month_start[0] - SPAN) / customers
    params_rng = np.random.default_rng(0)
    popularity = params_rng.dirichlet(np.ones(len(TOUCHPOINTS)))
    strength = params_rng.uniform(0.0005, 0.0055, len(TOUCHPOINTS))
    n_blocks = max(1, -(-customers // BLOCK))
    cust_edges = np.linspace(0, customers, n_blocks + 1).astype(np.int64)
    touch_edges = np.linspace(0, touches, n_blocks + 1).astype(np.int64)
    pending: dict[int, list[dict[str, np.ndarray]]] = {}
    files = [0] * months

    def flush(m: int, final: bool) -> None:
        parts = pending.pop(m, [])
        if not parts:
            return
        rows = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        n = len(rows["time"])
        cut = 0
        while n - cut >= rows_per_file or (final and cut < n):
            end = min(n, cut + rows_per_file)
            _write(path / f"month={START + m}", files[m], {c: v[cut:end] for c, v in rows.items()})
            files[m] += 1
            cut = end
        if cut < n:
            pending[m] = [{c: v[cut:] for c, v in rows.items()}]

    for b in range(n_blocks):
        first, k = int(cust_edges[b]), int(cust_edges[b + 1] - cust_edges[b])
        n = int(touch_edges[b + 1] - touch_edges[b])
        rows = _block(
            np.random.default_rng([1, b]),
            first,
            k,
            n,
            customers,
            int(month_start[0]),
            start_step,
            popularity,
            strength,
        )
        month = np.searchsorted(month_start, rows["time"], side="right") - 1
        order = np.argsort(month, kind="stable")
        bounds = np.searchsorted(month[order], np.arange(months + 1))
        for m in range(months):
            if bounds[m + 1] > bounds[m]:
                take = order[bounds[m] : bounds[m + 1]]
                pending.setdefault(m, []).append({c: v[take] for c, v in rows.items()})
        # later blocks start at or after this time: the months before it are complete
        later = month_start[0] + cust_edges[b + 1] * start_step
        for m in sorted(pending):
            flush(m, final=month_start[m + 1] <= later or b == n_blocks - 1)
    marker.write_text(json.dumps(params))
    print(f"generated {touches:,} touches in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _plain(result: object) -> dict[str, list]:
    """A markov result as lists, in its row order (JSON keeps floats exactly)."""
    frame = result.to_pandas()
    return {c: frame[c].tolist() for c in frame.columns}


# --------------------------------------------------------------------------- the two paths


def run_dask(data: Path, worker_memory: str) -> dict[str, object]:
    from touchpoint.attribution import markov
    from touchpoint.scale import read_parquet

    def job() -> dict[str, object]:
        touches = read_parquet(data, columns=COLUMNS, dask=True)
        return {"partitions": touches.npartitions, "attribution": _plain(markov(touches))}

    stats = on_cluster(job, worker_memory)
    stats.update(stats.pop("result"))
    return stats


def run_memory(data: Path) -> dict[str, object]:
    from touchpoint.attribution import markov
    from touchpoint.scale import read_parquet

    t0 = time.perf_counter()
    touches = read_parquet(data, columns=COLUMNS)
    read = time.perf_counter() - t0
    result = markov(touches)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "read_seconds": read,
        "peak_mib": _peak_rss() / MIB,
        "touches": len(touches),
        "attribution": _plain(result),
    }


def _brief(stats: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in stats.items() if k != "attribution"}


def compare(got: dict[str, list], want: dict[str, list]) -> tuple[bool, float]:
    """Same touchpoints in the same order, the numbers to rtol 1e-12; the worst difference."""
    key = next(iter(want))
    if list(got) != list(want) or got[key] != want[key]:
        return False, float("inf")
    same, worst = True, 0.0
    for c in ("removal_effect", "share", "conversions"):
        g, w = np.asarray(got[c], dtype=float), np.asarray(want[c], dtype=float)
        same &= bool(np.allclose(g, w, rtol=1e-12, atol=0.0))
        worst = max(worst, float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-300))))
    return same, worst


# --------------------------------------------------------------------------- main


def main() -> None:
    number = lambda s: int(s.replace("_", ""))  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=number, default=100_000_000)
    parser.add_argument("--customers", type=number, default=10_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--rows-per-file", type=number, default=500_000)
    parser.add_argument("--worker-memory", default="640MiB")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--no-memory", action="store_true", help="skip the in-memory path")
    parser.add_argument("--worker", choices=["memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "memory":
        print(json.dumps(run_memory(args.data)))
        return

    data = args.data or Path(tempfile.gettempdir()) / f"tp-bench-touches-{args.touches}"
    generate(data, args.touches, args.customers, args.months, args.rows_per_file)
    on_disk = _disk_bytes(data) / MIB
    d = run_dask(data, args.worker_memory)
    print(f"dask: {json.dumps(_brief(d))}", file=sys.stderr)
    assert not d["restarted"], "a worker was restarted (past 95% of its memory limit)"
    m: dict[str, object] | None = None
    same, worst = None, float("nan")
    if not args.no_memory:
        command = [sys.executable, __file__, "--worker", "memory", "--data", str(data)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"in memory: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
        else:
            m = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"memory: {json.dumps(_brief(m))}", file=sys.stderr)
            assert m["touches"] == args.touches, f"read {m['touches']:,} touches"
            same, worst = compare(d["attribution"], m["attribution"])
            assert same, "the Dask result differs from the in-memory one"

    converted = round(sum(d["attribution"]["conversions"]))
    peaks = " / ".join(f"{p:,.0f}" for p in d["peak_mib"])
    mem_wall = f"{m['seconds']:.1f} s" if m else "not run"
    mem_peak = f"{m['peak_mib']:,.0f} MiB" if m else "not run"
    ratio = f"{d['seconds'] / m['seconds']:.1f}×" if m else ""
    print(f"\n[{machine()}]")
    print(
        "| touches / journeys (converted) | Parquet on disk | rows per file (partitions) "
        "| worker limit | Dask wall | peak RSS per worker | pauses | shuffle on disk (peak) "
        "| in memory: wall | in memory: peak RSS | Dask / in memory |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.touches / 1e6:g}M / {args.customers / 1e6:g}M ({converted:,}) "
        f"| {on_disk:,.0f} MiB | {args.rows_per_file / 1e3:g}k ({d['partitions']}) "
        f"| 2 × {d['limit_mib']:.0f} MiB | {d['seconds']:.1f} s | {peaks} MiB | {d['paused']} "
        f"| {d['disk_mib']:,.0f} MiB | {mem_wall} | {mem_peak} | {ratio} |"
    )
    print(
        "touchpoints: "
        + ", ".join(
            f"{t} {e:.4f}"
            for t, e in zip(
                d["attribution"]["touchpoint"], d["attribution"]["removal_effect"], strict=True
            )
        )
    )
    print(
        "polled RSS max per worker: "
        + " / ".join(f"{p:.0f}" for p in d["polled_mib"])
        + f" MiB; restarted: {d['restarted']}; "
        + (
            f"in memory: read {m['read_seconds']:.1f} s of {m['seconds']:.1f} s; "
            f"equal to in memory: {same} (worst relative difference {worst:.1e})"
            if m
            else "in-memory comparison not run"
        )
    )


if __name__ == "__main__":
    main()
