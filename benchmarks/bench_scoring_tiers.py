"""Customer pyramid and Pareto (80/20) curve of many customers: touchpoint vs pandas, polars, DuckDB.

    python benchmarks/bench_scoring_tiers.py --customers 10_000_000

Pyramid: rank customers by value (ties share the best rank) and cut at 1% / 5% / 20%.
Pareto: sort values descending, cumulative share of value, read at 101 points.
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

BOUNDS = (0.01, 0.05, 0.20)


def task(name: str, what: str, values: np.ndarray):
    n = len(values)
    cuts = np.floor(n * np.array(BOUNDS) + 0.5)
    if name == "touchpoint":
        from touchpoint.frame import ScoreFrame
        from touchpoint.scoring import pareto, pyramid

        sf = ScoreFrame({"customer": np.arange(n), "monetary": values})
        return (lambda: pyramid(sf)) if what == "pyramid" else (lambda: pareto(sf))
    if name == "pandas":
        import pandas as pd

        s = pd.Series(values)

        def pyr():
            first = s.rank(method="min", ascending=False).to_numpy() - 1
            return pd.Series(np.searchsorted(cuts, first, side="right"))

        def par():
            c = s.sort_values(ascending=False).cumsum().to_numpy() / s.sum()
            return np.interp(
                np.linspace(0, 1, 101), np.arange(n + 1) / n, np.concatenate(([0.0], c))
            )

        return pyr if what == "pyramid" else par
    if name == "polars":
        import polars as pl

        df = pl.DataFrame({"v": values})

        def pyr():
            return df.select(
                (pl.col("v").rank("min", descending=True) - 1).cut(
                    list(cuts - 0.5), labels=["0", "1", "2", "3"]
                )
            )

        def par():
            c = (
                df.select(pl.col("v").sort(descending=True).cum_sum() / pl.col("v").sum())
                .to_series()
                .to_numpy()
            )
            return np.interp(
                np.linspace(0, 1, 101), np.arange(n + 1) / n, np.concatenate(([0.0], c))
            )

        return pyr if what == "pyramid" else par
    if name == "duckdb":
        import duckdb
        import pyarrow as pa

        con = duckdb.connect()
        con.register("c", pa.table({"v": values}))
        c0, c1, c2 = (int(x) for x in cuts)
        pyr_sql = f"""select case when r < {c0} then 0 when r < {c1} then 1 when r < {c2} then 2 else 3 end as tier
                      from (select rank() over (order by v desc) - 1 as r from c)"""
        par_sql = "select sum(v) over (order by v desc rows unbounded preceding) / sum(v) over () as s from c"

        def par():
            c = con.sql(par_sql).fetchnumpy()["s"]
            return np.interp(
                np.linspace(0, 1, 101), np.arange(n + 1) / n, np.concatenate(([0.0], c))
            )

        return (lambda: con.sql(pyr_sql).fetch_arrow_table()) if what == "pyramid" else par
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--what", default="pyramid", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        values = np.load(Path(a.data) / "values.npy")
        run = task(a.worker, a.what, values)
        run()
        print(json.dumps(measure(run, a.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        np.save(Path(tmp) / "values.npy", np.round(rng.pareto(1.16, a.customers) * 100, 2))
        for what in ("pyramid", "pareto"):
            res = run_workers(
                __file__,
                a.contenders.split(","),
                ["--data", tmp, "--what", what, "--repeat", str(a.repeat)],
            )
            report(f"{what} of {a.customers:,} customers", res)


if __name__ == "__main__":
    main()
