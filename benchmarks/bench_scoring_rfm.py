"""RFM features (and RFM scores) with touchpoint, pandas, polars and DuckDB on the same data.

    python benchmarks/bench_scoring_rfm.py --events 10_000_000 --customers 1_000_000
    python benchmarks/bench_scoring_rfm.py --task scores --customers 10_000_000

``--ids coded``: customer ids are already integer codes (as read from storage: an
`EventFrame` for touchpoint, an int64 column for the others). ``--ids int``: raw 13-digit
integer ids in an Arrow table / int64 columns. ``--ids str``: raw string
ids ("C00012345") in an Arrow table (touchpoint, DuckDB), a pandas-3 ``str`` column, a
polars ``String`` column, so each tool must factorize / hash them.

Features: per customer last time, count and sum of amount, then recency in days and the
average. Scores: rank-based quantile scores 1..5 of recency, frequency and monetary on
one row per customer (``1 + floor(5 * (rank_min - 1) / n)``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring_harness import load_events, make_events, measure, report, run_workers

ASOF = np.datetime64("2026-01-01", "us")
DAY = 86_400_000_000


def _arrow_table(ev: dict[str, np.ndarray], ids: str):
    import pyarrow as pa

    if ids == "coded":
        cust = pa.array(ev["customer"])
    elif ids == "int":
        cust = pa.array(_wide(ev["customer"]))
    else:
        cust = pa.DictionaryArray.from_arrays(
            pa.array(ev["customer"].astype(np.int32)), pa.array(ev["ids"].tolist())
        ).dictionary_decode()
    return pa.table(
        {"customer": cust, "time": pa.array(ev["time"]), "amount": pa.array(ev["amount"])}
    )


def _wide(codes: np.ndarray) -> np.ndarray:
    """Raw integer ids: 13-digit numbers, far from dense codes."""
    return 1_000_000_000_000 + codes * 7919


def features_task(name: str, ev: dict[str, np.ndarray], ids: str):
    if name == "touchpoint":
        from touchpoint.frame import EventFrame
        from touchpoint.scoring import rfm

        if ids == "coded":
            data = EventFrame(
                {"customer": ev["customer"], "time": ev["time"], "amount": ev["amount"]},
                {"customer": ev["ids"]},
            )
        else:
            data = _arrow_table(ev, ids)
        return lambda: rfm(data, asof=ASOF)
    if name == "pandas":
        import pandas as pd

        df = _arrow_table(ev, ids).to_pandas()
        if ids == "coded":
            df["customer"] = ev["customer"]

        def run():
            g = df.groupby("customer", sort=False).agg(
                last=("time", "max"), frequency=("time", "size"), monetary=("amount", "sum")
            )
            g["recency"] = (pd.Timestamp(ASOF) - g["last"]).dt.days
            g["average"] = g["monetary"] / g["frequency"]
            return g

        return run
    if name == "polars":
        import polars as pl

        df = pl.from_arrow(_arrow_table(ev, ids))

        def run():
            return (
                df.group_by("customer")
                .agg(
                    pl.col("time").max().alias("last"),
                    pl.len().alias("frequency"),
                    pl.col("amount").sum().alias("monetary"),
                )
                .with_columns(
                    (
                        (
                            pl.lit(ASOF.astype("datetime64[us]").item()) - pl.col("last")
                        ).dt.total_days()
                    ).alias("recency"),
                    (pl.col("monetary") / pl.col("frequency")).alias("average"),
                )
            )

        return run
    if name == "duckdb":
        import duckdb

        table = _arrow_table(ev, ids)
        con = duckdb.connect()
        con.register("events", table)
        sql = """
            select customer, datediff('day', max(time), TIMESTAMP '2026-01-01') as recency,
                   count(*) as frequency, sum(amount) as monetary, sum(amount) / count(*) as average
            from events group by customer
        """
        return lambda: con.sql(sql).fetch_arrow_table()
    raise SystemExit(f"unknown contender {name}")


def scores_task(name: str, ev: dict[str, np.ndarray], ids: str):
    n = len(ev["ids"])
    rng = np.random.default_rng(1)
    rec = rng.integers(0, 730, n).astype(np.float64)
    freq = rng.poisson(5, n).astype(np.float64)
    mon = np.round(rng.lognormal(5, 1, n), 2)
    if name == "touchpoint":
        from touchpoint.frame import ScoreFrame
        from touchpoint.scoring import rfm_scores

        sf = ScoreFrame({"customer": ev["ids"], "recency": rec, "frequency": freq, "monetary": mon})
        return lambda: rfm_scores(sf)
    if name == "pandas":
        import pandas as pd

        df = pd.DataFrame({"recency": rec, "frequency": freq, "monetary": mon})

        def run():
            out = {}
            for c, asc in (("recency", False), ("frequency", True), ("monetary", True)):
                r = df[c].rank(method="min", ascending=asc)
                out[c] = 1 + ((r - 1) * 5 // len(df)).astype("int64")
            return pd.DataFrame(out)

        return run
    if name == "polars":
        import polars as pl

        df = pl.DataFrame({"recency": rec, "frequency": freq, "monetary": mon})
        m = len(df)
        return lambda: df.select(
            [
                (1 + ((pl.col(c).rank("min", descending=not asc) - 1) * 5 // m)).alias(c)
                for c, asc in (("recency", False), ("frequency", True), ("monetary", True))
            ]
        )
    if name == "duckdb":
        import duckdb
        import pyarrow as pa

        con = duckdb.connect()
        con.register("c", pa.table({"recency": rec, "frequency": freq, "monetary": mon}))
        sql = """select 1 + floor((rank() over (order by recency desc) - 1) * 5 / count(*) over ()) as r,
                        1 + floor((rank() over (order by frequency) - 1) * 5 / count(*) over ()) as f,
                        1 + floor((rank() over (order by monetary) - 1) * 5 / count(*) over ()) as m from c"""
        return lambda: con.sql(sql).fetch_arrow_table()
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    p.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    p.add_argument("--ids", choices=["coded", "int", "str", "all"], default="all")
    p.add_argument("--task", choices=["features", "scores"], default="features")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        ev = load_events(Path(a.data))
        task = (features_task if a.task == "features" else scores_task)(a.worker, ev, a.ids)
        task()  # warm-up (imports, first-touch of pages)
        print(json.dumps(measure(task, a.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        n = a.events if a.task == "features" else a.customers
        make_events(Path(tmp), n, a.customers)
        kinds = (
            ["coded", "int", "str"]
            if a.ids == "all" and a.task == "features"
            else [a.ids if a.ids != "all" else "coded"]
        )
        for ids in kinds:
            args = ["--data", tmp, "--ids", ids, "--task", a.task, "--repeat", str(a.repeat)]
            res = run_workers(__file__, a.contenders.split(","), args)
            what = (
                f"RFM features, {a.events:,} events / {a.customers:,} customers"
                if a.task == "features"
                else (f"RFM scores, {a.customers:,} customers")
            )
            report(f"{what}, ids {ids}", res)


if __name__ == "__main__":
    main()
