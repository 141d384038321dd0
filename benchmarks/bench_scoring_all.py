"""Every touchpoint score on one generated event history: wall time and peak memory.

    python benchmarks/bench_scoring_all.py --events 10_000_000 --customers 1_000_000

No peers here (the other ``bench_scoring_*`` scripts compare with pandas, polars and
DuckDB); this one checks that each score runs at scale, in seconds, and how much memory
it needs above the loaded columns. Each score runs in its own subprocess.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring_harness import machine, measure, run_workers

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


def make(path: Path, n: int, customers: int) -> None:
    rng = np.random.default_rng(0)
    np.save(path / "customer.npy", rng.integers(0, customers, n))
    start = np.datetime64("2024-01-01", "us")
    np.save(
        path / "time.npy",
        start + rng.integers(0, 2 * 365 * 86_400 * 10**6, n).astype("timedelta64[us]"),
    )
    np.save(
        path / "amount.npy", np.where(rng.random(n) < 0.3, 0.0, np.round(rng.lognormal(3, 1, n), 2))
    )
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
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--scores", default=",".join(SCORES))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        run = task(a.worker, Path(a.data))
        run()  # warm-up (imports, first touch of pages)
        print(json.dumps(measure(run, a.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp), a.events, a.customers)
        res = run_workers(__file__, a.scores.split(","), ["--data", tmp, "--repeat", str(a.repeat)])
    print(f"\nevery score, {a.events:,} events / {a.customers:,} customers  [{machine()}]")
    print(f"{'score':<26}{'seconds':>10}{'peak MiB':>11}")
    for name, r in res.items():
        print(f"{name:<26}{r['seconds']:>10.2f}{r['peak_mib']:>11.0f}")


if __name__ == "__main__":
    main()
