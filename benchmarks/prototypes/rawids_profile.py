"""Where RFM from raw ids spends its time (issue 18, rows 3-5): CPU and wall per step.

    python benchmarks/prototypes/rawids_profile.py 10e6 1e6 [int|str|view] [repeats] [names]

``view``: the string ids as a polars String column (polars' own string views). ``names``:
comma-separated subset of the runs (e.g. ``"touchpoint rfm,duckdb"``); run the script
with ``PYTHONPATH`` set to the tree before and after a change, alternately, for an A/B.

Builds the same Arrow table the RFM benchmark hands touchpoint and DuckDB (time-ordered,
lognormal customers, random 13-digit or 'C0001234' ids), then times, best of N with
CPU (process_time) and wall: the whole `rfm`, `factorize` of the id column alone and
its steps, and DuckDB / polars on the same table, interleaved. Load average printed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
import data as gen


def best(fn, repeats):
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall), out


def main() -> None:
    n, k = int(float(sys.argv[1])), int(float(sys.argv[2]))
    shape = sys.argv[3] if len(sys.argv) > 3 else "int"
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    only = sys.argv[5].split(",") if len(sys.argv) > 5 else None
    view = shape == "view"
    shape = "str" if view else shape
    import duckdb
    import polars as pl
    import pyarrow as pa

    from touchpoint.frame import factorize
    from touchpoint.scoring import rfm

    cache = Path(os.environ.get("RAWIDS_CACHE", "/tmp/rawids"))
    ev = gen.cached(
        cache / f"ev-{n}-{k}",
        {"n": n, "k": k},
        lambda: gen.events(n, k, skew="lognormal", order="time", seed=0),
    )
    ids = gen.cached(
        cache / f"ids-{k}-{shape}", {"k": k, "s": shape}, lambda: {"ids": gen.ids_of(k, shape, 0)}
    )["ids"]
    cust = gen.arrow_ids(ev["customer"], ids)
    table = pa.table(
        {"customer": cust, "time": pa.array(ev["time"]), "amount": pa.array(ev["amount"])}
    )
    asof = np.datetime64("2026-01-01", "us")
    con = duckdb.connect()
    con.register("events", table)
    sql = "select customer, max(time), count(*), sum(amount) from events group by customer"
    df = pl.from_arrow(table)
    raw = cust.to_numpy(zero_copy_only=False) if shape == "int" else cust
    runs = {
        "touchpoint rfm": lambda: rfm(df if view else table, asof=asof),
        "factorize(sort=None)": lambda: factorize(raw, sort=None),
        "duckdb": lambda: con.sql(sql).to_arrow_table(),
        "polars": lambda: df.group_by("customer").agg(
            pl.col("time").max(), pl.len(), pl.col("amount").sum()
        ),
    }
    if shape == "int":
        import pandas as pd

        runs["pandas.factorize"] = lambda: pd.factorize(raw, sort=False)
    else:
        import pyarrow.compute as pc

        runs["pc.dictionary_encode"] = lambda: pc.dictionary_encode(cust)
        runs["polars cast Categorical"] = lambda: df["customer"].cast(pl.Categorical)
    if only:
        runs = {name: fn for name, fn in runs.items() if name in only}
    res = {name: [9e9, 9e9] for name in runs}
    for _ in range(repeats):  # interleaved: one of each per round
        for name, fn in runs.items():
            c, w, _ = best(fn, 1)
            res[name] = [min(res[name][0], c), min(res[name][1], w)]
    src = Path(sys.modules["touchpoint"].__file__).parents[1]
    print(f"{n:,} events / {k:,} customers, ids {sys.argv[3]}, load {os.getloadavg()}, {src}")
    for name, (c, w) in res.items():
        print(f"  {name:28s} cpu {c:7.3f} s  wall {w:7.3f} s")


if __name__ == "__main__":
    main()
