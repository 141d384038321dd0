"""Control-indicator compliance over many interactions: touchpoint vs pandas, polars, DuckDB.

    python benchmarks/bench_scoring_compliance.py --events 10_000_000

A blueprint of 20 touchpoints, each with a time limit (response within its own number of
hours) and a rating indicator (>= 4). Per indicator and store: cases, met, compliance,
and the breaching rows. The peers compute the same with a join on the per-touchpoint
targets and a group-by (touchpoint x store), plus a filter for the breaches.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring_harness import measure, report, run_workers

TOUCHPOINTS = 20
STORES = 50


def blueprint():
    from touchpoint.model import Blueprint, ControlIndicator, Touchpoint

    tps = [
        Touchpoint(
            code=f"T{i:02d}",
            name=f"Touchpoint {i}",
            category="channel",
            stage="transaction",
            line="service",
            channels=["store"],
            indicators=[
                ControlIndicator(
                    "reply", "Reply in time", kind="time_limit", target=1 + i, unit="hours"
                ),
                ControlIndicator("csat", "Rated 4+", kind="rating", target=4),
            ],
        )
        for i in range(TOUCHPOINTS)
    ]
    return Blueprint(name="bench", stages=["transaction"], touchpoints=tps)


def make(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    np.save(path / "tp.npy", rng.integers(0, TOUCHPOINTS, n).astype(np.int64))
    np.save(path / "store.npy", rng.integers(0, STORES, n).astype(np.int64))
    np.save(path / "rt.npy", np.where(rng.random(n) < 0.2, np.nan, rng.exponential(8 * 3600, n)))
    np.save(
        path / "rating.npy",
        np.where(rng.random(n) < 0.5, np.nan, rng.integers(1, 6, n).astype(float)),
    )


def task(name: str, path: Path):
    tp, store = np.load(path / "tp.npy"), np.load(path / "store.npy")
    rt, rating = np.load(path / "rt.npy"), np.load(path / "rating.npy")
    tp_names = np.array([f"T{i:02d}" for i in range(TOUCHPOINTS)], dtype=object)
    st_names = np.array([f"S{i:02d}" for i in range(STORES)], dtype=object)
    limits = (1 + np.arange(TOUCHPOINTS)) * 3600.0
    if name == "touchpoint":
        from touchpoint.frame import EventFrame
        from touchpoint.scoring import compliance

        bp = blueprint()
        frame = EventFrame(
            {"touchpoint": tp, "store": store, "response_time": rt, "rating": rating},
            {"touchpoint": tp_names, "store": st_names},
        )
        return lambda: compliance(frame, bp, by="store")
    if name == "pandas":
        import pandas as pd

        df = pd.DataFrame(
            {
                "touchpoint": pd.Categorical.from_codes(tp, tp_names),
                "store": pd.Categorical.from_codes(store, st_names),
                "rt": rt,
                "rating": rating,
            }
        )
        limit = limits[tp]

        def run():
            out = []
            for col, met in (("rt", df["rt"] <= limit), ("rating", df["rating"] >= 4)):
                seen = df[col].notna()
                g = pd.DataFrame(
                    {"tp": df["touchpoint"], "store": df["store"], "case": seen, "met": met & seen}
                )
                out.append(g.groupby(["tp", "store"], observed=True).sum())
                out.append(df.index[seen & ~met])
            return out

        return run
    if name == "polars":
        import polars as pl

        df = pl.DataFrame(
            {
                "touchpoint": pl.Series(tp_names[tp].astype(str)).cast(pl.Categorical),
                "store": pl.Series(st_names[store].astype(str)).cast(pl.Categorical),
                "rt": rt,
                "rating": rating,
                "limit": limits[tp],
            }
        ).with_row_index()

        def run():
            out = []
            for col, met in (
                ("rt", pl.col("rt") <= pl.col("limit")),
                ("rating", pl.col("rating") >= 4),
            ):
                seen = pl.col(col).is_not_nan()
                out.append(
                    df.group_by("touchpoint", "store").agg(
                        seen.sum().alias("cases"), (met & seen).sum().alias("met")
                    )
                )
                out.append(df.filter(seen & ~met).select("index"))
            return out

        return run
    if name == "duckdb":
        import duckdb
        import pyarrow as pa

        con = duckdb.connect()
        con.register(
            "ev",
            pa.table(
                {
                    "tp": tp,
                    "store": store,
                    "rt": pa.array(rt, from_pandas=True),
                    "rating": pa.array(rating, from_pandas=True),
                }
            ),
        )
        con.register("lim", pa.table({"tp": np.arange(TOUCHPOINTS), "lim": limits}))
        con.execute(
            "create temp view j as select row_number() over () as row, ev.*, lim.lim from ev join lim using (tp)"
        )
        sqls = [
            "select tp, store, count(rt) as cases, count(*) filter (where rt <= lim) as met from j group by tp, store",
            "select row from j where rt is not null and not (rt <= lim)",
            "select tp, store, count(rating) as cases, count(*) filter (where rating >= 4) as met from j group by tp, store",
            "select row from j where rating is not null and rating < 4",
        ]
        return lambda: [con.sql(q).fetch_arrow_table() for q in sqls]
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        run = task(a.worker, Path(a.data))
        run()
        print(json.dumps(measure(run, a.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp), a.events)
        res = run_workers(
            __file__, a.contenders.split(","), ["--data", tmp, "--repeat", str(a.repeat)]
        )
        report(
            f"compliance of {a.events:,} interactions, {TOUCHPOINTS * 2} indicators x {STORES} stores",
            res,
        )


if __name__ == "__main__":
    main()
