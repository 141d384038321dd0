"""Every touchpoint score on one generated event history: wall time and peak memory.

    python benchmarks/bench_scoring_all.py --events 10_000_000 --customers 1_000_000

No peers here (the other ``bench_scoring_*`` scripts compare with pandas, polars and
DuckDB); this one checks that each score runs at scale, in seconds, and how much memory
it needs above the loaded columns, against the bytes of the columns it reads (the goal
of issue 18: within about twice). Each score runs in its own subprocess, one after the
other (the harness of `bench_scoring_harness.py`, ``--repeat`` runs each, best counts).

Data: customers, times and amounts from `data.py` (skewed customers, time order), the
other columns drawn per event as before (ratings on 30% of events, three touchpoints,
response times on half, a referrer on a fifth of the events, a churn reason on 1%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import data as gen
from bench_scoring_harness import (
    PYTHON,
    add_common_arguments,
    machine,
    run_interleaved,
    save,
    serve,
)

SCORES = [
    "rfm",
    "rfm_scores",
    "pyramid",
    "csat",
    "nps",
    "compliance",
    "loyalty_programme",
    "churn_risk",
    "loyalty_index",
    "satisfied_but_defecting",
    "referral",
    "churn_kinds",
]


#: The event columns each score reads (the denominator of "peak / columns").
READS = {
    "rfm": ("customer", "time", "amount"),
    "csat": ("rating", "touchpoint", "time"),
    "nps": ("rating", "touchpoint"),
    "compliance": ("touchpoint", "customer", "time", "rating", "response_time"),
    "loyalty_programme": ("customer", "time", "amount"),
    "churn_risk": ("customer", "time", "amount"),
    "loyalty_index": ("customer", "time", "amount", "referrer", "rating", "touchpoint"),
    "satisfied_but_defecting": ("customer", "time", "amount", "rating", "touchpoint"),
    "referral": ("customer", "referrer"),
    "churn_kinds": ("customer", "reason"),
}


def make(path: Path, n: int, customers: int, skew: str = "lognormal") -> None:
    ev = gen.events(n, customers, skew=skew)
    rng = np.random.default_rng(0)
    np.save(path / "customer.npy", ev["customer"])
    np.save(path / "time.npy", ev["time"])
    np.save(path / "amount.npy", np.where(rng.random(n) < 0.3, 0.0, ev["amount"]))
    np.save(
        path / "rating.npy",
        np.where(rng.random(n) < 0.7, np.nan, rng.integers(1, 6, n).astype(float)),
    )
    np.save(path / "touchpoint.npy", rng.integers(0, 3, n))
    np.save(path / "rt.npy", np.where(rng.random(n) < 0.5, np.nan, rng.exponential(20 * 3600, n)))
    # about 1 in 5 customers was referred by a customer with a smaller number
    cust = np.load(path / "customer.npy")
    ref = np.where(rng.random(n) < 0.2, (cust * rng.random(n)).astype(np.int64), -1)
    ref[ref == cust] = -1
    np.save(path / "referrer.npy", ref)
    np.save(path / "reason.npy", np.where(rng.random(n) < 0.01, rng.integers(0, 4, n), -1))


def task(name: str, path: Path):
    from touchpoint import scoring
    from touchpoint.frame import EventFrame
    from touchpoint.model import (
        Blueprint,
        ControlIndicator,
        LoyaltyProgramme,
        LoyaltyTier,
        Touchpoint,
    )

    cust = np.load(path / "customer.npy")
    k = int(cust.max()) + 1
    ids = np.array([f"C{i:08d}" for i in range(k)], dtype=object)
    frame = EventFrame(
        {
            "customer": cust,
            "time": np.load(path / "time.npy"),
            "amount": np.load(path / "amount.npy"),
            "rating": np.load(path / "rating.npy"),
            "touchpoint": np.load(path / "touchpoint.npy"),
            "response_time": np.load(path / "rt.npy"),
            "referrer": np.load(path / "referrer.npy"),
            "reason": np.load(path / "reason.npy"),
        },
        {
            "customer": ids,
            "touchpoint": np.array(["MAIL", "CALL", "SHOP"], dtype=object),
            "referrer": ids,
            "reason": np.array(
                ["moved away", "competitor offer", "fraud", "complaint unresolved"], dtype=object
            ),
        },
    )
    bp = Blueprint(
        name="bench",
        stages=["awareness", "transaction", "cooperation"],
        touchpoints=[
            Touchpoint(
                code="MAIL",
                name="Mail",
                category="channel",
                stage="awareness",
                line="service",
                channels=["email"],
                indicators=[
                    ControlIndicator(
                        "24h", "Reply in 24 h", kind="time_limit", target=24, unit="hours"
                    ),
                    ControlIndicator(
                        "calls",
                        "3 calls in 7 days",
                        kind="count",
                        target=3,
                        counts=["CALL"],
                        within="7 days",
                    ),
                ],
            ),
            Touchpoint(
                code="CALL",
                name="Call",
                category="people",
                stage="cooperation",
                line="service",
                channels=["phone"],
            ),
            Touchpoint(
                code="SHOP",
                name="Shop",
                category="channel",
                stage="transaction",
                line="product",
                channels=["store"],
                indicators=[ControlIndicator("csat", "4+", kind="rating", target=4)],
            ),
        ],
    )
    prog = LoyaltyProgramme(
        tiers=[LoyaltyTier("member", 0), LoyaltyTier("silver", 500), LoyaltyTier("gold", 2000)],
        points_expire="12 months",
        downgrade="one_step",
    )
    feats = scoring.rfm(frame)
    runs = {
        "rfm": lambda: scoring.rfm(frame),
        "rfm_scores": lambda: scoring.rfm_scores(feats),
        "pyramid": lambda: scoring.pyramid(feats),
        "csat": lambda: scoring.csat(frame, by="stage", blueprint=bp, period="month"),
        "nps": lambda: scoring.nps(frame, by="touchpoint"),
        "compliance": lambda: scoring.compliance(frame, bp, period="month"),
        "loyalty_programme": lambda: scoring.loyalty_programme(frame, prog),
        "churn_risk": lambda: scoring.churn_risk(frame),
        "loyalty_index": lambda: scoring.loyalty_index(frame),
        "satisfied_but_defecting": lambda: scoring.satisfied_but_defecting(frame),
        "referral": lambda: scoring.referral(frame),
        "churn_kinds": lambda: scoring.churn_kinds(frame),
    }
    return runs[name]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    p.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    p.add_argument("--scores", default=",".join(SCORES))
    add_common_arguments(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.set_defaults(repeat=1)
    a = p.parse_args()
    if a.worker:
        serve(task(a.worker, Path(a.data)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp), a.events, a.customers, a.skew)
        widths = {f.stem: np.load(f, mmap_mode="r").dtype.itemsize for f in Path(tmp).glob("*.npy")}
        argv = {
            name: [PYTHON, __file__, "--worker", name, "--data", tmp]
            for name in a.scores.split(",")
        }
        res = run_interleaved(argv, a, together=False)
    col_names = {"response_time": "rt"}
    print(f"\nevery score, {a.events:,} events / {a.customers:,} customers, {a.skew} customers")
    print(f"  [{machine()}]")
    print(
        f"  {'score':<26}{'seconds':>10}{'cores':>7}{'peak MiB':>10}{'columns MiB':>13}{'peak/columns':>14}{'load':>6}{'others':>8}"
    )
    rows = {}
    for name, r in res.items():
        if not r.runs:
            print(f"  {name:<26}failed")
            continue
        d = r.as_dict()
        cols = READS.get(name)
        mib = (
            sum(widths[col_names.get(c, c)] for c in cols) * a.events / 2**20
            if cols
            else float("nan")
        )
        d["columns_mib"] = mib
        rows[name] = d
        print(
            f"  {name:<26}{d['seconds']:>10.2f}{d['cpu_per_wall']:>7.2f}{d['peak_mib']:>10.0f}"
            f"{mib:>13.0f}{d['peak_mib'] / mib:>14.1f}{d['load1']:>6.1f}{d['others']:>8.2f}"
        )
    save(a.json, {"script": "all", "what": f"every score, {a.events:,} events", "results": rows})


if __name__ == "__main__":
    main()
