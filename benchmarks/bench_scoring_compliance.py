"""Control-indicator compliance over many interactions: touchpoint vs pandas, polars, DuckDB.

    python benchmarks/bench_scoring_compliance.py --events 10_000_000

A blueprint of 20 touchpoints, each with a time limit (response within its own number of
hours) and a rating indicator (>= 4). Per indicator and store: cases, met, compliance,
and the breaching rows. The peers compute the same with a join on the per-touchpoint
targets and a group-by (touchpoint x store), plus a filter for the breaches.

Data: touchpoints and stores drawn with skewed popularity (``--skew lognormal``, or
``zipf``, ``uniform``: the old shape), response times lognormal (a fifth missing),
ratings 1..5 on half the interactions. Runs interleaved through the skeptic's harness
(`bench_scoring_harness.py`); the contenders' counts of cases, met and breaches are
compared, and each contender's best CPU seconds (of its own process) are printed next to
the wall times, the steadier figure on a shared machine.
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
    best_cpu,
    checks_agree,
    report,
    results_dict,
    run_interleaved,
    save,
    serve,
    versions,
    with_baseline,
)

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


def make(n: int, skew: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "tp": gen.categories(n, TOUCHPOINTS, skew, rng),
        "store": gen.categories(n, STORES, skew, rng),
        "rt": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(np.log(4 * 3600), 1.0, n)),
        "rating": np.where(rng.random(n) < 0.5, np.nan, rng.integers(1, 6, n).astype(float)),
    }


def task(name: str, path: Path):
    cols = gen.load(path)
    tp, store, rt, rating = cols["tp"], cols["store"], cols["rt"], cols["rating"]
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

        def check(r):
            s = r.summary
            return {
                "cases": int(np.sum(s["cases"])),
                "met": int(np.sum(s["met"])),
                "breaches": len(r.breaches),
            }

        return (lambda: compliance(frame, bp, by="store")), check
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

        def check(out):
            return {
                "cases": int(out[0]["case"].sum() + out[2]["case"].sum()),
                "met": int(out[0]["met"].sum() + out[2]["met"].sum()),
                "breaches": len(out[1]) + len(out[3]),
            }

        return run, check
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

        def check(out):
            return {
                "cases": int(out[0]["cases"].sum() + out[2]["cases"].sum()),
                "met": int(out[0]["met"].sum() + out[2]["met"].sum()),
                "breaches": len(out[1]) + len(out[3]),
            }

        return run, check
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

        def check(out):
            return {
                "cases": int(
                    pa.compute.sum(out[0]["cases"]).as_py()
                    + pa.compute.sum(out[2]["cases"]).as_py()
                ),
                "met": int(
                    pa.compute.sum(out[0]["met"]).as_py() + pa.compute.sum(out[2]["met"]).as_py()
                ),
                "breaches": out[1].num_rows + out[3].num_rows,
            }

        return (lambda: [con.sql(q).fetch_arrow_table() for q in sqls]), check
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    add_common_arguments(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        run, check = task(a.worker, Path(a.data))
        serve(run, check=check)
        return
    with tempfile.TemporaryDirectory() as tmp:
        gen.cached(Path(tmp), {"n": a.events}, lambda: make(a.events, a.skew, a.seed))
        argv = {
            name: [PYTHON, __file__, "--worker", name, "--data", tmp]
            for name in a.contenders.split(",")
        }
        argv = with_baseline(argv, a.baseline_src)
        res = run_interleaved(argv, a)
    what = (
        f"compliance of {a.events:,} interactions, {TOUCHPOINTS * 2} indicators x {STORES} "
        f"stores, {a.skew} popularity"
    )
    checks = {n: r.check for n, r in res.items() if r.check is not None}
    agree = checks_agree(res)
    # on a shared machine the process's own CPU seconds are the steadier figure
    cpu = best_cpu(res)
    notes = [
        versions("pandas", "polars", "duckdb"),
        "best CPU seconds: " + ", ".join(f"{n} {c:.3f}" for n, c in cpu.items()),
        f"all agree: {next(iter(checks.values()), None)}" if agree else f"RESULTS DIFFER: {checks}",
    ]
    report(what, res, notes=notes, together=not a.one_by_one)
    save(
        a.json,
        {
            "script": "compliance",
            "what": what,
            "params": {"n": a.events, "skew": a.skew},
            "notes": notes,
            "results": results_dict(res),
        },
    )


if __name__ == "__main__":
    main()
