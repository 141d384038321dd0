"""Prototype for phase 2: per-customer running sums at many (customer, time) queries, in less memory.

    python benchmarks/prototypes/timeline_windows.py --events 10M --customers 1M

Not imported by the library. Two scores spend most of their memory here
(`touchpoint.scoring._timeline.cumulative_at`): count indicators of `compliance` ("three
calls within 7 days": for each case, the follow-ups of its customer in (t, t + 7 days],
as two running counts) and the points expiry of `loyalty_programme` (for each earning,
the points of its customer expiring by then: sources and queries are the same rows).
``cumulative_at`` sorts sources and queries together (``m + q`` rows) by an int64
composite key and keeps about eight arrays of that length alive.

Variants, each in a fresh process so that its peak RSS (VmHWM above the inputs) is its
own, each checked against ``current``:

- ``current``: `cumulative_at` as the scores call it;
- ``sorted-sources``: sort only the sources by (customer, time) (stable argsort of the
  customer on time-ordered rows, or a lexsort), take each customer's running sum over
  them once (`segmented_cumsum`), and answer each query by a binary search of its time
  within its customer's block of sources: a vectorised bisection inside the blocks
  (``log2`` of the largest block passes over the queries), exact for any times, with no
  composite key that could overflow. No concatenation, no sort of the queries;
- ``self`` (expiry only): sources and queries are the same rows, so one sort and one
  running sum answer both; ties (equal instants of a customer) take the sum at the last
  of their run.

Times are int64 microseconds; the data comes from `data.py` (skewed customers, time
order). Counts: about a third of the events are the counted touchpoint, a third the
cases; expiry: every event earns, expiring 12 months later.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "peers"))
sys.path.insert(0, str(HERE.parents[1] / "src"))
import data as gen  # noqa: E402
from measure import peak_since, reset_peak  # noqa: E402

from touchpoint.scoring._timeline import cumulative_at, segmented_cumsum  # noqa: E402

WEEK = 7 * 86_400 * 1_000_000
YEAR = 365 * 86_400 * 1_000_000


def source_order(cust: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows sorted by (customer, time); one stable argsort when times are already sorted."""
    if len(t) < 2 or (t[1:] >= t[:-1]).all():
        return np.argsort(cust, kind="stable")
    return np.lexsort((t, cust))


def blocks(sorted_cust: np.ndarray, k: int) -> np.ndarray:
    """Start of each customer's block in rows sorted by customer (k + 1 offsets)."""
    out = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_cust, minlength=k), out=out[1:])
    return out


def count_at_or_before(times: np.ndarray, start: np.ndarray, q_cust, q_time) -> np.ndarray:
    """For each query, how many of its customer's sorted source times are <= its time."""
    lo = start[q_cust].copy()
    hi = start[q_cust + 1].copy()
    base = lo.copy()
    widest = int((hi - lo).max()) if len(lo) else 0
    for _ in range(max(1, widest).bit_length()):  # a loop over bisection steps, ~log2
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) >> 1
        go = active & (times[np.minimum(mid, len(times) - 1)] <= q_time)
        lo = np.where(go, mid + 1, lo)
        hi = np.where(active & ~go, mid, hi)
    return lo - base


def sorted_sources(src_c, src_t, values, q_c, q_t, k):
    """cumulative_at by one sort of the sources and a bisection per query."""
    order = source_order(src_c, src_t)
    times = src_t[order]
    start = blocks(src_c[order], k)
    fresh = np.zeros(len(order), dtype=bool)
    fresh[start[:-1][start[:-1] < len(order)]] = True
    cs = segmented_cumsum(values[order], fresh) if values is not None else None
    del order
    n_le = count_at_or_before(times, start, q_c, q_t)
    if cs is None:
        return n_le.astype(np.float64)
    pos = start[q_c] + n_le - 1
    return np.where(n_le > 0, cs[np.maximum(pos, 0)], 0.0)


def expiry_self(c, e, values, k):
    """cumulative_at(c, e, values, c, e): sources are the queries."""
    order = source_order(c, e)
    cs_sorted = segmented_cumsum(values[order], _fresh(c[order]))
    ce, ee = c[order], e[order]
    # a run of equal (customer, instant) takes the sum at its last row
    last_of_run = np.ones(len(order), dtype=bool)
    last_of_run[:-1] = (ce[1:] != ce[:-1]) | (ee[1:] != ee[:-1])
    idx = np.where(last_of_run, np.arange(len(order)), len(order))
    idx = np.minimum.accumulate(idx[::-1])[::-1]
    out = np.empty(len(order))
    out[order] = cs_sorted[idx]
    return out


def _fresh(sorted_cust: np.ndarray) -> np.ndarray:
    fresh = np.ones(len(sorted_cust), dtype=bool)
    fresh[1:] = sorted_cust[1:] != sorted_cust[:-1]
    return fresh


def make(n: int, k: int) -> dict[str, np.ndarray]:
    ev = gen.events(n, k)
    rng = np.random.default_rng(7)
    role = rng.integers(0, 3, n)  # 0: a case, 1: a counted follow-up, 2: other
    return {
        "customer": ev["customer"],
        "time": ev["time"].view(np.int64),
        "amount": ev["amount"],
        "role": role,
    }


def run(variant: str, path: str) -> dict:
    d = dict(np.load(path))
    c, t, amt, role = d["customer"], d["time"], d["amount"], d["role"]
    k = int(c.max()) + 1
    cases, counted = np.flatnonzero(role == 0), np.flatnonzero(role == 1)
    before = reset_peak()
    t0 = time.perf_counter()
    if variant.startswith("count"):
        sc, st = c[counted], t[counted]
        qc, qt = c[cases], t[cases]
        if variant == "count-current":
            ones = np.ones(len(counted))
            out = cumulative_at(sc, st, ones, qc, qt + WEEK) - cumulative_at(sc, st, ones, qc, qt)
        else:
            out = sorted_sources(sc, st, None, qc, qt + WEEK, k) - sorted_sources(
                sc, st, None, qc, qt, k
            )
    else:
        e = t + YEAR
        if variant == "expiry-current":
            out = cumulative_at(c, e, amt, c, e)
        elif variant == "expiry-sorted-sources":
            out = sorted_sources(c, e, amt, c, e, k)
        else:
            out = expiry_self(c, e, amt, k)
    seconds = time.perf_counter() - t0
    peak = peak_since(before)
    np.save(f"{path}.{variant}.npy", out)
    inputs = sum(a.nbytes for a in (c, t, amt)) / 2**20
    return {"seconds": seconds, "peak_mib": peak, "inputs_mib": inputs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", default="10M")
    p.add_argument("--customers", default="1M")
    p.add_argument("--variant", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.variant:
        print(json.dumps(run(a.variant, a.data)))
        return
    from bench_scoring_rfm import _count

    n, k = _count(a.events), _count(a.customers)
    path = f"/tmp/timeline-{n}-{k}.npz"
    if not os.path.exists(path):
        np.savez(path, **make(n, k))
    print(f"{n:,} events, {k:,} customers (skewed, time order), load {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<24}{'seconds':>9}{'peak MiB':>10}{'inputs MiB':>12}  check")
    ref = {}
    for variant in (
        "count-current",
        "count-sorted-sources",
        "expiry-current",
        "expiry-sorted-sources",
        "expiry-self",
    ):
        out = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--data", path],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        kind = variant.split("-")[0]
        got = np.load(f"{path}.{variant}.npy")
        if kind not in ref:
            ref[kind] = got
            check = "reference"
        else:
            want = ref[kind]
            rel = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)))
            check = f"largest difference {rel:.1e} (relative to max(|value|, 1))"
        print(
            f"{variant:<24}{r['seconds']:>9.2f}{r['peak_mib']:>10.0f}{r['inputs_mib']:>12.0f}  {check}"
        )
    print(f"load now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
