"""Pareto/NBD fit: touchpoint on N customers against lifetimes 0.11.3 on at most 10,000.

    benchmarks/peers/make_peer_envs.sh lifetimes   # once
    .venv/bin/python benchmarks/bench_clv_pareto.py --customers 10_000 100_000

Customers are simulated from the Pareto/NBD model itself (r=0.55, alpha=10.5, s=0.6,
beta=11.7 per week, about CDNOW's fit) with first purchases spread over a year and
times in whole days, the way `customer_summary` reports them. lifetimes'
``ParetoNBDFitter`` (Nelder-Mead over scipy's ``hyp2f1``, default tolerance) is slow, so
it fits the first ``--peer-cap`` customers only (default 10,000); touchpoint fits those
too, for the comparison of parameters, and all N. Each library runs in a fresh process
(lifetimes needs numpy<2, so it runs in its own virtual environment). Times: the best
of the runs of the whole ``fit`` call (touchpoint's includes the standard errors);
peak memory: the rise of the peak resident set size during the fits over the size
before them (see benchmarks/peers/measure.py).
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
TRUTH = {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7}


def simulate(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A Pareto/NBD population observed for 1 to 52 weeks, times rounded down to days."""
    rng = np.random.default_rng(seed)
    T_days = rng.integers(7, 365, n).astype(np.float64)
    lam = rng.gamma(TRUTH["r"], 1.0 / TRUTH["alpha"], n) / 7.0  # purchases per day
    mu = rng.gamma(TRUTH["s"], 1.0 / TRUTH["beta"], n) / 7.0  # death rate per day
    alive_days = np.minimum(rng.exponential(1.0 / mu), T_days)
    x = rng.poisson(lam * alive_days)
    t_days = np.where(x > 0, np.floor(alive_days * rng.beta(np.maximum(x, 1), 1.0)), 0.0)
    return {"frequency": x.astype(np.float64), "recency": t_days / 7.0, "T": T_days / 7.0}


def worker_touchpoint(path: str, repeats: int) -> dict:
    from touchpoint.clv import ParetoNBD

    data = dict(np.load(path))
    ParetoNBD().fit({k: v[:1000] for k, v in data.items()})  # imports and first-call costs
    before = reset_peak()
    times, model = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = ParetoNBD().fit(data)
        times.append(time.perf_counter() - t0)
    return {
        "seconds": min(times),
        "peak_mib": peak_since(before),
        "params": model.params_,
        "limit": list(model.limit_),
    }


LIFETIMES_WORKER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[3])
from measure import peak_since, reset_peak
import numpy as np
from lifetimes import ParetoNBDFitter
data = dict(np.load(sys.argv[1]))
ParetoNBDFitter().fit(data["frequency"][:300], data["recency"][:300], data["T"][:300])
before = reset_peak()
times = []
for _ in range(int(sys.argv[2])):
    np.random.seed(0)  # lifetimes starts from a random point
    t0 = time.perf_counter()
    m = ParetoNBDFitter(penalizer_coef=0.0).fit(data["frequency"], data["recency"], data["T"])
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": min(times), "peak_mib": peak_since(before),
                  "params": {k: float(v) for k, v in m.params_.items()}}))
"""


def _run(args: list[str], env: dict | None = None) -> dict:
    done = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=lambda s: int(s.replace("_", "")), nargs="+", default=[100_000]
    )
    parser.add_argument("--peer-cap", type=lambda s: int(s.replace("_", "")), default=10_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_touchpoint(args.worker[0], int(args.worker[1]))))
        return
    if not LIFETIMES_PYTHON.exists():
        sys.exit("run benchmarks/peers/make_peer_envs.sh lifetimes first")
    print(f"truth {TRUTH}")
    print("customers   library            fit time   peak memory   parameters")
    with tempfile.TemporaryDirectory() as tmp:
        cap = args.peer_cap
        path = os.path.join(tmp, "peer.npz")
        np.savez(path, **simulate(cap))
        peer = _run([str(LIFETIMES_PYTHON), "-c", LIFETIMES_WORKER, path, "1", str(PEERS)])
        same = _run([sys.executable, __file__, "--worker", path, str(args.repeats)])
        rel = max(abs(same["params"][k] / peer["params"][k] - 1) for k in TRUTH)
        for name, result in (("lifetimes 0.11.3", peer), ("touchpoint", same)):
            shown = {k: round(v, 4) for k, v in result["params"].items()}
            print(
                f"{cap:>9,}   {name:<17} {result['seconds']:8.2f} s {result['peak_mib']:8.0f} MiB"
                f"   {shown}"
            )
        print(
            f"            touchpoint is {peer['seconds'] / same['seconds']:.1f}x faster; "
            f"largest parameter difference {rel:.1e} (relative)"
        )
        for n in args.customers:
            path = os.path.join(tmp, f"summary{n}.npz")
            np.savez(path, **simulate(n))
            ours = _run([sys.executable, __file__, "--worker", path, str(args.repeats)])
            shown = {k: round(v, 4) for k, v in ours["params"].items()}
            print(
                f"{n:>9,}   {'touchpoint':<17} {ours['seconds']:8.2f} s {ours['peak_mib']:8.0f} MiB"
                f"   {shown} limit {ours['limit']}"
            )


if __name__ == "__main__":
    main()
