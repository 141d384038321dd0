"""Customer pyramid and Pareto (80/20) curve of many customers: touchpoint vs pandas, polars, DuckDB.

    python benchmarks/bench_scoring_tiers.py --customers 10_000_000
    python benchmarks/bench_scoring_tiers.py --customers 10_000_000 --whole   # heavy ties

Pyramid: put customers in one order by value, highest first, equal values in a fixed
order, and cut at 1% / 5% / 20% of them, so each tier has exactly its share. touchpoint
orders equal values by a hash of the id and needs only a few order statistics; the
peers sort by (value descending, id) and cut by row number, the same work a user would
write (the tiers have the same sizes; which equal-value customers go up differs).
Pareto: sort values descending, cumulative share of value, read at 101 points.

Values: Pareto-distributed spend in cents (some ties), or with ``--whole`` in whole
units (heavy ties: every tier boundary splits a run of equal values). Runs interleaved
through the skeptic's harness (`bench_scoring_harness.py`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring_harness import (
    PYTHON,
    add_common_arguments,
    report,
    results_dict,
    run_interleaved,
    save,
    serve,
    with_baseline,
)

BOUNDS = (0.01, 0.05, 0.20)


def task(name: str, what: str, values: np.ndarray):
    n = len(values)
    cuts = np.floor(n * np.array(BOUNDS) + 0.5)
    ids = np.arange(n)
    if name == "touchpoint":
        from touchpoint.frame import ScoreFrame
        from touchpoint.scoring import pareto, pyramid

        sf = ScoreFrame({"customer": ids, "monetary": values})
        return (lambda: pyramid(sf)) if what == "pyramid" else (lambda: pareto(sf))
    if name == "pandas":
        import pandas as pd

        s = pd.Series(values)
        df = pd.DataFrame({"id": ids, "v": values})

        def pyr():
            order = df.sort_values(["v", "id"], ascending=[False, True]).index.to_numpy()
            tier = np.empty(n, dtype=np.int64)
            tier[order] = np.searchsorted(cuts, np.arange(n), side="right")
            return pd.Series(tier)

        def par():
            c = s.sort_values(ascending=False).cumsum().to_numpy() / s.sum()
            return np.interp(
                np.linspace(0, 1, 101), np.arange(n + 1) / n, np.concatenate(([0.0], c))
            )

        return pyr if what == "pyramid" else par
    if name == "polars":
        import polars as pl

        df = pl.DataFrame({"id": ids, "v": values})

        def pyr():  # ids are in row order: "ordinal" breaks ties by id
            return df.select(
                (pl.col("v").rank("ordinal", descending=True) - 1).cut(
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
        con.register("c", pa.table({"id": ids, "v": values}))
        c0, c1, c2 = (int(x) for x in cuts)
        pyr_sql = f"""select case when r < {c0} then 0 when r < {c1} then 1 when r < {c2} then 2 else 3 end as tier
                      from (select row_number() over (order by v desc, id) - 1 as r from c)"""
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
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    p.add_argument("--whole", action="store_true", help="values in whole units: heavy ties")
    add_common_arguments(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--what", default="pyramid", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        values = np.load(Path(a.data) / "values.npy")
        serve(task(a.worker, a.what, values))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        values = rng.pareto(1.16, a.customers) * 100
        np.save(Path(tmp) / "values.npy", np.round(values, 0 if a.whole else 2))
        for what in ("pyramid", "pareto"):
            argv = {
                name: [PYTHON, __file__, "--worker", name, "--data", tmp, "--what", what]
                for name in a.contenders.split(",")
            }
            argv = with_baseline(argv, a.baseline_src)
            res = run_interleaved(argv, a)
            ties = ", whole units" if a.whole else ""
            title = f"{what} of {a.customers:,} customers{ties}"
            report(title, res, together=not a.one_by_one)
            save(a.json, {"script": "tiers", "what": title, "results": results_dict(res)})


if __name__ == "__main__":
    main()
