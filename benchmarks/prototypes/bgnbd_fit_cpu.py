"""Where a BG/NBD fit goes: likelihood evaluations, their CPU cost, and the whole fit.

    PYTHONPATH=src python benchmarks/prototypes/bgnbd_fit_cpu.py --customers 1_000_000
    PYTHONPATH=<old tree>/src python benchmarks/prototypes/bgnbd_fit_cpu.py ...   # before

The summary is `bench_clv_bgnbd.py`'s ``events`` shape (a skewed event log's summary,
times in days) or its ``model`` shape. Reported, in CPU seconds of this process (which
contention on a shared machine inflates far less than wall time), best of ``--repeat``:
one evaluation of the negative log-likelihood and its gradient on every customer (at
the fitted point, on 1 thread), the evaluations a fit makes on all the customers and
on its subsample, and the whole ``fit`` on 1 thread and on every core (wall time too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_clv_bgnbd as bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--shape", choices=["model", "events"], default="events")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", help="keep the summary in this .npz file")
    args = parser.parse_args()

    from touchpoint._threads import available_cores, set_threads
    from touchpoint.clv import BetaGeo, _bgnbd

    if args.cache and os.path.exists(args.cache):
        s = dict(np.load(args.cache))
    else:
        make = bench.simulate if args.shape == "model" else bench.from_events
        s = make(args.customers)
        if args.cache:
            np.savez(args.cache, **s)
    x, t_x, T = s["frequency"], s["recency"], s["T"]
    BetaGeo().fit({k: v[:1000] for k, v in s.items()})  # imports, first calls

    calls: dict[int, int] = {}
    plain = _bgnbd._nll_grad

    def counted(theta: np.ndarray, d: object) -> tuple[float, np.ndarray]:
        n = int(d.n)  # type: ignore[attr-defined]
        calls[n] = calls.get(n, 0) + 1
        return plain(theta, d)  # type: ignore[arg-type]

    _bgnbd._nll_grad = counted  # type: ignore[assignment]
    model = BetaGeo().fit(s)
    _bgnbd._nll_grad = plain  # type: ignore[assignment]
    full = calls.pop(len(x), 0)
    sub = sum(calls.values())

    p = model.params_
    theta = np.array(
        [
            np.log(p["r"] / p["alpha"]),
            np.log1p(1 / p["r"]),
            -np.log1p(-p["a"] / (p["a"] + p["b"])),
            np.log1p(1 / (p["a"] + p["b"])),
        ]
    )
    d = _bgnbd._Data(x, t_x, T, 1.0, False)
    with set_threads(1):
        one_eval = min(_cpu(lambda: plain(theta, d))[0] for _ in range(5 * args.repeat))
    fits = {}
    for threads in (1, available_cores()):
        with set_threads(threads):
            runs = [_cpu(lambda: BetaGeo().fit(s)) for _ in range(args.repeat)]
        fits[threads] = (min(r[0] for r in runs), min(r[1] for r in runs))
    print(f"{args.shape} shape, {len(x):,} customers, load {os.getloadavg()}")
    print(f"  parameters {p}")
    print(f"  one evaluation on every customer: {one_eval * 1e3:.1f} ms CPU")
    print(f"  evaluations per fit: {full} on every customer, {sub} on the subsample")
    for threads, (cpu, wall) in fits.items():
        print(f"  fit, {threads} thread(s): {cpu:.3f} s CPU, {wall:.3f} s wall")


def _cpu(f: object) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    f()  # type: ignore[operator]
    return time.process_time() - c, time.perf_counter() - w


if __name__ == "__main__":
    main()
