"""BG/NBD fit on N customers: touchpoint against lifetimes 0.11.3 on the same data.

    benchmarks/peers/make_peer_envs.sh lifetimes   # once
    .venv/bin/python benchmarks/bench_clv_bgnbd.py --customers 100_000 1_000_000
    .venv/bin/python benchmarks/bench_clv_bgnbd.py --customers 1_000_000 --shape events

Two shapes of summary (frequency, recency, T in weeks, from times in whole days):

- ``model`` (the old benchmark's data): customers simulated from the BG/NBD model itself
  (r=0.25, alpha=4, a=0.8, b=2.5 per week), first purchases spread over a year;
- ``events``: the summary of a skewed event log (`data.py`: lognormal customers, two
  years, about 8 events a customer, customers acquired all through the period), the
  way `customer_summary` computes it: repeat purchases counted on distinct days. Its
  distinct (frequency, recency, T) triples are many more than the model's, which is what
  a fit that sums over distinct values pays for.

Both libraries fit the same summary, each in its own process (lifetimes needs numpy<2,
so it runs in its own virtual environment), interleaved through the skeptic's harness
(`bench_scoring_harness.py`). Times: the whole ``fit`` call, standard errors included;
lifetimes warms up on 1,000 customers. Peak memory: the rise of the peak resident set
size during a fit over the size before it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
sys.path.insert(0, str(ROOT / "benchmarks"))
import data as gen  # noqa: E402
from bench_scoring_harness import (  # noqa: E402
    PYTHON,
    add_common_arguments,
    interleave,
    report,
    results_dict,
    save,
    serve,
    with_baseline,
)

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


def from_events(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The summary of a skewed event log of ``n`` customers (about 8 events each)."""
    ev = gen.events(8 * n, n, seed=seed)
    day = ev["time"].astype("datetime64[D]").view(np.int64)
    end = int(day.max())
    key = np.unique(ev["customer"] * (end + 1) + day)  # distinct (customer, day)
    cust, d = key // (end + 1), key % (end + 1)
    days = np.bincount(cust, minlength=n)
    first = np.full(n, end)
    np.minimum.at(first, cust, d)
    last = np.zeros(n, dtype=np.int64)
    np.maximum.at(last, cust, d)
    return {
        "frequency": (days - 1).astype(np.float64),
        "recency": (last - first) / 7.0,
        "T": (end - first) / 7.0,
    }


def worker_touchpoint(path: str) -> None:
    from touchpoint.clv import BetaGeo

    data = dict(np.load(path))
    small = {k: v[:1000] for k, v in data.items()}
    serve(
        lambda: BetaGeo().fit(data),
        warmup=lambda: BetaGeo().fit(small),  # imports and first-call costs
        check=lambda m: m.params_,
    )


LIFETIMES_WORKER = r"""
import sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[2])
from measure import serve
import numpy as np
from lifetimes import BetaGeoFitter
data = dict(np.load(sys.argv[1]))

def fit(n=None):
    f, r, T = (data[c] if n is None else data[c][:n] for c in ("frequency", "recency", "T"))
    return BetaGeoFitter(penalizer_coef=0.0).fit(f, r, T)

serve(fit, warmup=lambda: fit(1000), check=lambda m: {k: float(v) for k, v in m.params_.items()})
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--customers",
        type=lambda s: int(s.replace("_", "")),
        nargs="+",
        default=[100_000, 1_000_000],
    )
    parser.add_argument("--shape", choices=["model", "events"], nargs="+", default=["model"])
    parser.add_argument("--contenders", default="touchpoint,lifetimes")
    add_common_arguments(parser)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_touchpoint(args.worker)
        return
    if not LIFETIMES_PYTHON.exists():
        sys.exit("run benchmarks/peers/make_peer_envs.sh lifetimes first")
    for shape in args.shape:
        for n in args.customers:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "summary.npz")
                summary = simulate(n) if shape == "model" else from_events(n)
                np.savez(path, **summary)
                triples = np.stack([summary[c] for c in ("frequency", "recency", "T")], axis=1)
                distinct = len(np.unique(triples, axis=0))
                every = {
                    "touchpoint": [PYTHON, __file__, "--worker", path],
                    "lifetimes": [str(LIFETIMES_PYTHON), "-c", LIFETIMES_WORKER, path, str(PEERS)],
                }
                argv = {name: every[name] for name in args.contenders.split(",")}
                argv = with_baseline(argv, args.baseline_src)
                env = {"TOUCHPOINT_THREADS": str(args.threads)} if args.threads else None
                res = interleave(
                    argv,
                    rounds=args.repeat,
                    max_others=args.max_others,
                    retries=args.retries,
                    env=env,
                    together=not args.one_by_one,
                )
            ours = res["touchpoint"].check or {}
            notes = [
                f"{shape} shape: {int(summary['frequency'].sum()):,} repeat purchases, "
                f"{(summary['frequency'] == 0).mean():.0%} without repeat, {distinct:,} distinct "
                f"(frequency, recency, T)",
                f"touchpoint's parameters {ours}",
            ]
            peer = res.get("lifetimes")
            if peer is not None and peer.check and ours:
                rel = max(abs(ours[k] / peer.check[k] - 1) for k in TRUTH)
                notes.append(
                    f"lifetimes' parameters {peer.check}; largest relative difference {rel:.1e}"
                )
            title = f"BG/NBD fit, {n:,} customers, {shape} shape"
            report(title, res, notes=notes, together=not args.one_by_one)
            save(
                args.json,
                {"script": "bgnbd", "what": title, "notes": notes, "results": results_dict(res)},
            )


if __name__ == "__main__":
    main()
