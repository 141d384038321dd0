"""BG/NBD fit on N customers: touchpoint against lifetimes 0.11.3 on the same data.

    benchmarks/peers/make_peer_envs.sh lifetimes   # once
    .venv/bin/python benchmarks/bench_clv_bgnbd.py --customers 100_000 1_000_000
    # before/after: also time another source tree (e.g. `git archive main src | tar -x -C /tmp/main`)
    .venv/bin/python benchmarks/bench_clv_bgnbd.py --baseline-src /tmp/main/src

Customers are simulated from the BG/NBD model itself (r=0.25, alpha=4, a=0.8, b=2.5 per
week) with first purchases spread over a year and times in whole days, the way
`customer_summary` reports them. Both libraries fit the same summary (frequency,
recency, T in weeks), each in a fresh process (lifetimes needs numpy<2, so it runs in
its own virtual environment). Times: the best of the runs of the whole ``fit`` call,
standard errors included; peak memory: the rise of the peak resident set size during
the fits over the size before them (see benchmarks/peers/measure.py).

touchpoint's fit (a trust-region Newton iteration over coordinates in which the model's
limits are finite points; see touchpoint.clv._bgnbd) starts large fits from a subsample
of a quarter of the customers, at most 50,000, and finishes with Newton steps on all of
them that reuse the subsample's Hessian.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
sys.path.insert(0, str(PEERS))
from measure import peak_since, reset_peak  # noqa: E402

LIFETIMES_PYTHON = ROOT / ".peers" / "lifetimes" / "bin" / "python"
TRUTH = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def simulate(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A BG/NBD population observed for 1 to 52 weeks, times rounded down to days."""
    rng = np.random.default_rng(seed)
    T_days = rng.integers(7, 365, n).astype(np.float64)
    lam = rng.gamma(TRUTH["r"], 1.0 / TRUTH["alpha"], n) / 7.0  # purchases per day
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    k = rng.poisson(lam * T_days)
    x = np.minimum(k, rng.geometric(p))
    t_days = np.where(
        x > 0, np.floor(T_days * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1))), 0.0
    )
    return {"frequency": x.astype(np.float64), "recency": t_days / 7.0, "T": T_days / 7.0}


def worker_touchpoint(path: str, repeats: int) -> dict:
    from touchpoint.clv import BetaGeo

    data = dict(np.load(path))
    BetaGeo().fit({k: v[:1000] for k, v in data.items()})  # imports and first-call costs
    before = reset_peak()
    times, model = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = BetaGeo().fit(data)
        times.append(time.perf_counter() - t0)
    return {
        "seconds": min(times),
        "peak_mib": peak_since(before),
        "params": model.params_,
        "limit": list(getattr(model, "limit_", ())),
    }


LIFETIMES_WORKER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[3])
from measure import peak_since, reset_peak
import numpy as np
from lifetimes import BetaGeoFitter
data = dict(np.load(sys.argv[1]))
BetaGeoFitter().fit(data["frequency"][:1000], data["recency"][:1000], data["T"][:1000])
before = reset_peak()
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    m = BetaGeoFitter(penalizer_coef=0.0).fit(data["frequency"], data["recency"], data["T"])
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": min(times), "peak_mib": peak_since(before),
                  "params": {k: float(v) for k, v in m.params_.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers",
        type=lambda s: int(s.replace("_", "")),
        nargs="+",
        default=[100_000, 1_000_000],
    )
    parser.add_argument(
        "--baseline-src",
        help="another touchpoint source tree (its src/) to time on the same data, e.g. main's",
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_touchpoint(args.worker[0], int(args.worker[1]))))
        return
    if not LIFETIMES_PYTHON.exists():
        sys.exit("run benchmarks/peers/make_peer_envs.sh lifetimes first")
    print("customers   touchpoint        lifetimes 0.11.3   ratio   largest parameter difference")
    for n in args.customers:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "summary.npz")
            np.savez(path, **simulate(n))
            ours = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--worker", path, "3"],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            baseline = None
            if args.baseline_src:
                env = {**os.environ, "PYTHONPATH": args.baseline_src}
                baseline = json.loads(
                    subprocess.run(
                        [sys.executable, __file__, "--worker", path, "3"],
                        check=True,
                        capture_output=True,
                        text=True,
                        env=env,
                    ).stdout
                )
            peer_repeats = "3" if n <= 200_000 else "1"
            peer = json.loads(
                subprocess.run(
                    [str(LIFETIMES_PYTHON), "-c", LIFETIMES_WORKER, path, peer_repeats, str(PEERS)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
        rel = max(abs(ours["params"][k] / peer["params"][k] - 1) for k in TRUTH)
        print(
            f"{n:>9,}   {ours['seconds']:6.3f} s {ours['peak_mib']:5.0f} MiB"
            f"   {peer['seconds']:6.2f} s {peer['peak_mib']:5.0f} MiB"
            f"   {peer['seconds'] / ours['seconds']:5.1f}x   {rel:.1e} (relative)"
        )
        print(f"            touchpoint {ours['params']} limit {ours['limit']}")
        print(f"            lifetimes  {peer['params']}")
        if baseline is not None:
            print(
                f"            baseline   {baseline['seconds']:6.3f} s {baseline['peak_mib']:5.0f} MiB"
                f" ({args.baseline_src}): this tree takes "
                f"{ours['seconds'] / baseline['seconds']:.2f}x its time"
            )


if __name__ == "__main__":
    main()
