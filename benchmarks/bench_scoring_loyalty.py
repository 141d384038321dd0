"""The loyalty programme at scale: CPU seconds and peak memory against the columns it reads.

    python benchmarks/bench_scoring_loyalty.py --events 10_000_000 --customers 1_000_000 \\
        --shapes time,redeem --repeat 3 --baseline-src <tree before the change>/src

Issue 18's goal for this score: peak memory above the loaded frame within about twice the
bytes of the columns it reads, in seconds. Two shapes of history, each run through the
harness of `bench_scoring_harness.py` (fresh worker processes, interleaved rounds, best
and median, CPU seconds of the process, peak RSS above the RSS before the run, load):

- ``time``: `bench_scoring_all.py`'s data (skewed customers, events in time order, 30%
  of amounts zero, no outcome column: every event a purchase) and programme (three tiers,
  points expire after 12 months, one-step downgrades).
- ``redeem``: the same events plus a redemption one second after 5% of the paid
  purchases (half their points, so always within the balance), an ``outcome`` column
  (int8 codes) and a ``points`` column, the rows shuffled (no time order) and ``asof``
  two months before the last event (the events after it are left out). This takes the
  paths the ``time`` shape does not: redemptions, the overdraft check, sorted copies.

With ``--baseline-src`` the code of another source tree runs as ``touchpoint@base`` in
the same rounds, and every contender's balances and transitions are hashed (bytes of
every column) so that the line "all agree" says the results are bit-equal.

``--cold N``: instead of the harness, N rounds of one run per fresh process with no
warm-up, the trees alternating: the peak then also counts what a warm-up would have
left allocated (the harness's figure can be lower), and CPU seconds include first
touches of memory. The figures of the first call a user makes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import data as gen
from bench_scoring_harness import (
    PYTHON,
    add_common_arguments,
    best_cpu,
    checks_agree,
    report,
    results_dict,
    run_interleaved,
    save,
    serve,
    with_baseline,
)

SHAPES = ("time", "redeem")
#: The columns the score reads in each shape (the denominator of "peak / columns").
READS = {
    "time": ("customer", "time", "amount"),
    "redeem": ("customer", "time", "amount", "outcome", "points"),
}


def make(n: int, k: int, shape: str, skew: str) -> dict[str, np.ndarray]:
    ev = gen.events(n, k, skew=skew)
    rng = np.random.default_rng(0)  # the amounts of bench_scoring_all.py
    amount = np.where(rng.random(n) < 0.3, 0.0, ev["amount"])
    cols = {"customer": ev["customer"], "time": ev["time"], "amount": amount}
    if shape == "time":
        return cols
    paid = np.flatnonzero(amount > 0)
    src = np.sort(rng.choice(paid, len(paid) // 20, replace=False))
    m = len(src)
    cols = {
        "customer": np.concatenate((cols["customer"], cols["customer"][src])),
        "time": np.concatenate((cols["time"], cols["time"][src] + np.timedelta64(1, "s"))),
        "amount": np.concatenate((amount, np.zeros(m))),
        "outcome": np.concatenate((np.zeros(n, dtype=np.int8), np.ones(m, dtype=np.int8))),
        "points": np.concatenate((np.full(n, np.nan), amount[src] / 2)),
    }
    perm = rng.permutation(n + m)
    return {name: values[perm] for name, values in cols.items()}


def task(shape: str, path: Path):
    from touchpoint import scoring
    from touchpoint.frame import EventFrame
    from touchpoint.model import LoyaltyProgramme, LoyaltyTier

    cols = gen.load(path)
    k = int(cols["customer"].max()) + 1
    cats = {"customer": np.array([f"C{i:08d}" for i in range(k)], dtype=object)}
    if "outcome" in cols:
        cats["outcome"] = np.array(["purchase", "redeem"], dtype=object)
    frame = EventFrame(cols, cats)
    prog = LoyaltyProgramme(
        tiers=[LoyaltyTier("member", 0), LoyaltyTier("silver", 500), LoyaltyTier("gold", 2000)],
        points_expire="12 months",
        downgrade="one_step",
    )
    asof = None if shape == "time" else cols["time"].max() - np.timedelta64(61, "D")

    def check(r) -> dict[str, object]:
        digest = hashlib.sha256()
        for table in (r.balances, r.transitions):
            for name, values in table.columns.items():
                values = np.asarray(values)
                digest.update(name.encode())
                if values.dtype == object:
                    digest.update("\n".join(map(str, values.tolist())).encode())
                else:
                    digest.update(np.ascontiguousarray(values).tobytes())
        return {
            "transitions": len(r.transitions.columns["customer"]),
            "balance": float(np.sum(r.balances.columns["balance"])),
            "sha256": digest.hexdigest()[:16],
        }

    return (lambda: scoring.loyalty_programme(frame, prog, asof=asof)), check


def cold_worker(shape: str, path: Path) -> None:
    """One run in this fresh process: CPU and wall seconds, peak RSS above the frame."""
    sys.path.insert(0, str(Path(__file__).parent / "peers"))
    from measure import peak_since, reset_peak

    run, check = task(shape, path)
    before = reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    figures = {"cpu": cpu, "wall": wall, "peak_mib": peak_since(before)}
    print(json.dumps({**figures, "load": os.getloadavg()[0], "check": check(result)}))


def cold(shape: str, data: str, read_mib: float, a: argparse.Namespace) -> None:
    trees = {"touchpoint": os.environ.get("PYTHONPATH", "")}
    if a.baseline_src:
        trees["touchpoint@base"] = str(Path(a.baseline_src).resolve())
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for i in range(a.cold):
        order = list(trees) if i % 2 == 0 else list(trees)[::-1]
        for name in order:  # alternating, each run a fresh process
            env = {**os.environ, "PYTHONPATH": trees[name]}
            if a.threads:
                env["TOUCHPOINT_THREADS"] = str(a.threads)
            argv = [PYTHON, __file__, "--cold-worker", shape, "--data", data]
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            run = json.loads(out.stdout.strip().splitlines()[-1])
            runs[name].append(run)
            print(
                f"  round {i + 1} {name:16s} cpu {run['cpu']:6.2f} s  wall {run['wall']:6.2f} s  "
                f"peak {run['peak_mib']:5.0f} MiB ({run['peak_mib'] / read_mib:.2f}x)  "
                f"load {run['load']:.1f}",
                flush=True,
            )
    checks = {json.dumps(r["check"], sort_keys=True) for rs in runs.values() for r in rs}
    print(
        f"\nloyalty programme, {a.events:,} events / {a.customers:,} customers, shape "
        f"{shape!r}, fresh processes: columns read {read_mib:.0f} MiB"
    )
    for name, rs in runs.items():
        cpus = sorted(r["cpu"] for r in rs)
        peaks = sorted(r["peak_mib"] for r in rs)
        print(
            f"  {name:16s} CPU s best {cpus[0]:.2f} median {cpus[len(cpus) // 2]:.2f}; peak MiB "
            f"{peaks[0]:.0f}-{peaks[-1]:.0f} ({peaks[-1] / read_mib:.2f}x); load "
            f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f}"
        )
    print("  all agree: " + (next(iter(checks)) if len(checks) == 1 else f"DIFFER: {checks}"))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=lambda s: int(float(s.replace("_", ""))), default=10**7)
    p.add_argument("--customers", type=lambda s: int(float(s.replace("_", ""))), default=10**6)
    p.add_argument("--shapes", default=",".join(SHAPES))
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    add_common_arguments(p)
    p.add_argument("--cold", type=int, default=0, help="rounds of fresh processes, no warm-up")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--cold-worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        run, check = task(a.worker, Path(a.data))
        serve(run, check=check)
        return
    if a.cold_worker:
        cold_worker(a.cold_worker, Path(a.data))
        return
    for shape in a.shapes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            cols = gen.cached(
                Path(tmp),
                {"n": a.events, "k": a.customers, "shape": shape, "skew": a.skew},
                lambda shape=shape: make(a.events, a.customers, shape, a.skew),
            )
            read_mib = sum(cols[name].nbytes for name in READS[shape]) / 2**20
            del cols
            if a.cold:
                cold(shape, tmp, read_mib, a)
                continue
            argv = with_baseline(
                {"touchpoint": [PYTHON, __file__, "--worker", shape, "--data", tmp]},
                a.baseline_src,
            )
            res = run_interleaved(argv, a)
        what = (
            f"loyalty programme, {a.events:,} events / {a.customers:,} customers, shape "
            f"{shape!r} ({a.skew}); columns read: {read_mib:.0f} MiB"
        )
        checks = {n: r.check for n, r in res.items() if r.check is not None}
        agree = checks_agree(res)
        cpu = best_cpu(res)
        peak = {n: max(run["peak_mib"] for run in r.runs) for n, r in res.items() if r.runs}
        notes = [
            "best CPU seconds: " + ", ".join(f"{n} {c:.2f}" for n, c in cpu.items()),
            "peak MiB above the frame (largest run) / columns read: "
            + ", ".join(f"{n} {m:.0f} ({m / read_mib:.2f}x)" for n, m in peak.items()),
            f"all agree: {next(iter(checks.values()), None)}"
            if agree
            else f"RESULTS DIFFER: {checks}",
        ]
        report(what, res, notes=notes, together=not a.one_by_one)
        save(
            a.json,
            {
                "script": "loyalty",
                "what": what,
                "params": {"n": a.events, "k": a.customers, "shape": shape, "skew": a.skew},
                "notes": notes,
                "results": results_dict(res),
            },
        )


if __name__ == "__main__":
    main()
