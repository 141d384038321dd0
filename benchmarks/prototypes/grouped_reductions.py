"""Prototype for phase 2: grouped count / sum / max per customer code, cache-aware and threaded.

    python benchmarks/prototypes/grouped_reductions.py --events 10M --customers 1M
    python benchmarks/prototypes/grouped_reductions.py --events 50M --customers 5M --order shuffled

Not imported by the library. The reductions `rfm` does over dense customer codes
(``frequency``: events per code, ``monetary``: sum of amounts per code, ``last``: the
latest time per code), in several ways, each checked against the first:

- ``current``: ``bincount``, weighted ``bincount``, ``np.maximum.at`` (what rfm does);
- ``last-row``: the same two ``bincount``s, and the latest time by assignment
  ``last[codes] = t``: on events in time order a code's last row holds its latest time.
  numpy applies a fancy assignment's repeated indices in order, so the last row wins;
  the prototype checks that the data is in time order first (one pass, included);
- ``chunks xT``: events split into chunks (a fixed size, so the result does not depend on
  the thread count), each chunk reduced into its own per-code arrays on the thread pool,
  the partial arrays added (counts, sums) or maxed; sums are added in another order than
  one pass, so they agree to about 1e-15 relative, not bit for bit;
- ``radix xT``: events partitioned by the top bits of the code (one stable ``argsort`` of
  a one-byte partition id per chunk, then gathers), so that each partition's per-code
  arrays (counts, sums, maxima) fit in the L2 cache, partitions reduced on the pool;
- ``sorted``: for events grouped by customer (``--order customer``): ``np.add.reduceat``
  and ``np.maximum.reduceat`` over the runs, no scatter at all.

Each variant runs ``--repeat`` times, best wall time counts; CPU time (all threads) is
shown next to it. Times are in the one process, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "src"))
import data as gen  # noqa: E402

from touchpoint._threads import parallel_map, set_threads  # noqa: E402

NONE = np.iinfo(np.int64).min


def current(codes, t, amount, k):
    freq = np.bincount(codes, minlength=k)
    mon = np.bincount(codes, weights=amount, minlength=k)
    last = np.full(k, NONE)
    np.maximum.at(last, codes, t)
    return freq, mon, last


def last_row(codes, t, amount, k):
    if len(t) > 1 and not (t[1:] >= t[:-1]).all():
        raise ValueError("not in time order")
    freq = np.bincount(codes, minlength=k)
    mon = np.bincount(codes, weights=amount, minlength=k)
    last = np.full(k, NONE)
    last[codes] = t  # repeated codes: the last row (the latest time) wins
    return freq, mon, last


def chunked(codes, t, amount, k, threads, chunk=1 << 22):
    bounds = [(a, min(a + chunk, len(codes))) for a in range(0, len(codes), chunk)]

    def part(b):
        a, z = b
        c = codes[a:z]
        last = np.full(k, NONE)
        np.maximum.at(last, c, t[a:z])
        return np.bincount(c, minlength=k), np.bincount(c, weights=amount[a:z], minlength=k), last

    with set_threads(threads):
        parts = parallel_map(part, bounds)
    freq, mon, last = parts[0]
    for f, m, la in parts[1:]:  # a loop over chunks, in chunk order
        freq += f
        mon += m
        np.maximum(last, la, out=last)
    return freq, mon, last


def radix(codes, t, amount, k, threads, per_partition=1 << 15, chunk=1 << 22):
    """Partition rows by code // width (width: codes per partition, L2-sized arrays)."""
    bits = max(0, int(np.ceil(np.log2(max(k / per_partition, 1)))))
    bits = min(bits, 8)
    parts = 1 << bits
    width = -(-k // parts)
    bounds = [(a, min(a + chunk, len(codes))) for a in range(0, len(codes), chunk)]

    def group(b):
        a, z = b
        c = codes[a:z]
        pid = (c // width).astype(np.uint8)
        order = np.argsort(pid, kind="stable")
        off = np.zeros(parts + 1, dtype=np.int64)
        np.cumsum(np.bincount(pid, minlength=parts), out=off[1:])
        return c[order], t[a:z][order], amount[a:z][order], off

    with set_threads(threads):
        grouped = parallel_map(group, bounds)
        freq = np.zeros(k, dtype=np.int64)
        mon = np.zeros(k)
        last = np.full(k, NONE)

        def reduce(p):
            lo = p * width
            hi = min(k, lo + width)
            cs = [g[0][g[3][p] : g[3][p + 1]] - lo for g in grouped]
            ts = [g[1][g[3][p] : g[3][p + 1]] for g in grouped]
            ms = [g[2][g[3][p] : g[3][p + 1]] for g in grouped]
            c, tt, m = np.concatenate(cs), np.concatenate(ts), np.concatenate(ms)
            freq[lo:hi] = np.bincount(c, minlength=hi - lo)
            mon[lo:hi] = np.bincount(c, weights=m, minlength=hi - lo)
            la = last[lo:hi]
            np.maximum.at(la, c, tt)

        parallel_map(reduce, range(parts))
    return freq, mon, last


def sorted_runs(codes, t, amount, k):
    if len(codes) > 1 and not (codes[1:] >= codes[:-1]).all():
        raise ValueError("not grouped by customer")
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    present = codes[starts]
    freq = np.zeros(k, dtype=np.int64)
    freq[present] = np.diff(np.r_[starts, len(codes)])
    mon = np.zeros(k)
    mon[present] = np.add.reduceat(amount, starts)
    last = np.full(k, NONE)
    last[present] = np.maximum.reduceat(t, starts)
    return freq, mon, last


def best(f, repeat):
    walls, cpus = [], []
    out = None
    for _ in range(repeat):
        c0, w0 = os.times(), time.perf_counter()
        out = f()
        w = time.perf_counter() - w0
        c1 = os.times()
        walls.append(w)
        cpus.append(c1.user - c0.user + c1.system - c0.system)
    i = int(np.argmin(walls))
    return out, walls[i], cpus[i]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", default="10M")
    p.add_argument("--customers", default="1M")
    p.add_argument("--order", choices=gen.ORDERS, default="time")
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    a = p.parse_args()
    from bench_scoring_rfm import _count

    n, k = _count(a.events), _count(a.customers)
    ev = gen.events(n, k, skew=a.skew, order=a.order)
    codes, t, amount = ev["customer"], ev["time"].view(np.int64), ev["amount"]
    print(
        f"{n:,} events, {k:,} customers, {a.skew}, {a.order} order, load {os.getloadavg()[0]:.1f}"
    )
    variants = [("current", lambda: current(codes, t, amount, k))]
    if a.order == "time":
        variants.append(("last-row", lambda: last_row(codes, t, amount, k)))
    if a.order == "customer":
        variants.append(("sorted", lambda: sorted_runs(codes, t, amount, k)))
    for th in (int(x) for x in a.threads.split(",")):
        variants.append((f"chunks x{th}", lambda th=th: chunked(codes, t, amount, k, th)))
        variants.append((f"radix x{th}", lambda th=th: radix(codes, t, amount, k, th)))
    ref = None
    print(f"{'variant':<14}{'wall s':>9}{'cpu s':>9}{'ns/event':>10}{'vs current':>12}  check")
    base = None
    for name, f in variants:
        out, wall, cpu = best(f, a.repeat)
        if ref is None:
            ref, base = out, wall
            check = "reference"
        else:
            same_counts = np.array_equal(out[0], ref[0]) and np.array_equal(out[2], ref[2])
            rel = float(np.max(np.abs(out[1] - ref[1]) / np.maximum(np.abs(ref[1]), 1e-300)))
            check = f"counts, max {'equal' if same_counts else 'DIFFER'}; sums {rel:.1e} relative"
        print(
            f"{name:<14}{wall:>9.3f}{cpu:>9.3f}{wall / n * 1e9:>10.1f}{base / wall:>11.2f}x  {check}"
        )
    print(f"load now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
