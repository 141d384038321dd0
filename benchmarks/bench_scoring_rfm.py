"""RFM features (and RFM scores) with touchpoint, pandas, polars and DuckDB on the same data.

    python benchmarks/bench_scoring_rfm.py --events 10_000_000 --customers 1_000_000
    python benchmarks/bench_scoring_rfm.py --events 10M --customers 1M --ids int
    python benchmarks/bench_scoring_rfm.py --task scores --customers 10_000_000

Data (`data.py`): skewed customers (``--skew lognormal``, or ``zipf``, ``uniform``: the
old benchmarks' shape), events in time order as logged (``--order time``, or
``shuffled``, ``customer``). Customer ids (``--ids``, several allowed, ``all``: each):

- ``coded``: dense integer codes, as read from storage: an `EventFrame` for touchpoint,
  an int64 column for the others, plus **plain numpy** doing the same three scatters
  (``bincount`` of the events, ``bincount`` of the amounts, ``maximum.at`` of the times)
  and, on time-ordered data, the same with the last time by assignment (the latest
  event of a customer is its last row): the floors of the coded path;
- ``int``: random 13-digit integers in an Arrow table (touchpoint, DuckDB), int64
  columns (pandas, polars);
- ``str``: ``'C0001234'`` strings in an Arrow table (touchpoint, DuckDB), a pandas 3
  ``str`` column, a polars ``String`` column;
- ``uuid``: random UUID-like strings (36 characters), the same way.

With the ``accel`` extra (numba) installed, ``touchpoint`` runs with the compiled
accelerator (its default) and ``touchpoint-numpy`` without it (``set_accel(False)``), in
the same run; the warm-up run loads or compiles the kernels, so the measured runs do not.

Each tool must factorize or hash the raw ids itself. Features: per customer last time,
count and sum of amount, then recency in days and the average. Scores: rank-based
quantile scores 1..5 of recency, frequency and monetary on one row per customer.

With the coded ids the report also gives this machine's memory bandwidth and the time
one thread needs just to read the three input columns (24 bytes an event) at it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import data as gen
from bench_scoring_harness import (
    PYTHON,
    add_common_arguments,
    bandwidth,
    report,
    results_dict,
    run_interleaved,
    save,
    serve,
    versions,
    with_baseline,
)

ASOF = np.datetime64("2026-01-01", "us")
DAY = 86_400_000_000


def _count(s: str) -> int:
    s = s.replace("_", "").upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(s[-1:], 1)
    return int(float(s[:-1]) * scale) if scale > 1 else int(s)


def _arrow_table(ev: dict[str, np.ndarray], ids: np.ndarray | None):
    import pyarrow as pa

    cust = pa.array(ev["customer"]) if ids is None else gen.arrow_ids(ev["customer"], ids)
    return pa.table(
        {"customer": cust, "time": pa.array(ev["time"]), "amount": pa.array(ev["amount"])}
    )


def _has_numba() -> bool:
    """Whether the ``accel`` extra is installed (then ``touchpoint-numpy`` runs too)."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def _check_table(customers: int, frequency, monetary) -> dict:
    return {
        "customers": int(customers),
        "events": int(np.asarray(frequency).sum()),
        "monetary": round(float(np.asarray(monetary).sum()), 0),
    }


def features_task(name: str, ev: dict[str, np.ndarray], ids: np.ndarray | None):
    """(task, check) of one contender; ``ids`` None: coded ids."""
    k = int(ev["customer"].max()) + 1
    if name in ("touchpoint", "touchpoint-numpy"):
        from touchpoint import set_accel
        from touchpoint.frame import EventFrame
        from touchpoint.scoring import rfm

        set_accel(name == "touchpoint")

        if ids is None:
            labels = np.arange(k)
            data = EventFrame(
                {"customer": ev["customer"], "time": ev["time"], "amount": ev["amount"]},
                {"customer": labels},
            )
        else:
            data = _arrow_table(ev, ids)

        def check(r):
            return _check_table(len(r["customer"]), r["frequency"], r["monetary"])

        return (lambda: rfm(data, asof=ASOF)), check
    if name in ("numpy", "numpy-last-row"):
        codes, amount = ev["customer"], ev["amount"]
        t = ev["time"].view(np.int64)
        at = int(ASOF.view(np.int64))

        def run():
            frequency = np.bincount(codes, minlength=k)
            monetary = np.bincount(codes, weights=amount, minlength=k)
            last = np.full(k, np.iinfo(np.int64).min)
            if name == "numpy":
                np.maximum.at(last, codes, t)
            else:  # time order: a customer's last row holds its latest time
                last[codes] = t
            recency = (at - last) // DAY
            return frequency, monetary, recency, monetary / frequency

        return run, lambda r: _check_table(k, r[0], r[1])
    if name == "pandas":
        import pandas as pd

        df = _arrow_table(ev, ids).to_pandas()

        def run():
            g = df.groupby("customer", sort=False).agg(
                last=("time", "max"), frequency=("time", "size"), monetary=("amount", "sum")
            )
            g["recency"] = (pd.Timestamp(ASOF) - g["last"]).dt.days
            g["average"] = g["monetary"] / g["frequency"]
            return g

        return run, lambda g: _check_table(len(g), g["frequency"], g["monetary"])
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
                        (pl.lit(ASOF.astype("datetime64[us]").item()) - pl.col("last"))
                        .dt.total_days()
                        .alias("recency")
                    ),
                    (pl.col("monetary") / pl.col("frequency")).alias("average"),
                )
            )

        return run, lambda g: _check_table(len(g), g["frequency"], g["monetary"])
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

        def check(t):
            return _check_table(
                t.num_rows, t.column("frequency").to_numpy(), t.column("monetary").to_numpy()
            )

        return (lambda: con.sql(sql).fetch_arrow_table()), check
    raise SystemExit(f"unknown contender {name}")


def scores_task(name: str, ev: dict[str, np.ndarray], ids: np.ndarray | None):
    n = int(ev["customer"].max()) + 1
    rng = np.random.default_rng(1)
    rec = rng.integers(0, 730, n).astype(np.float64)
    freq = rng.poisson(5, n).astype(np.float64)
    mon = np.round(rng.lognormal(5, 1, n), 2)
    if name == "touchpoint":
        from touchpoint.frame import ScoreFrame
        from touchpoint.scoring import rfm_scores

        sf = ScoreFrame(
            {"customer": np.arange(n), "recency": rec, "frequency": freq, "monetary": mon}
        )
        return (lambda: rfm_scores(sf)), None
    if name == "pandas":
        import pandas as pd

        df = pd.DataFrame({"recency": rec, "frequency": freq, "monetary": mon})

        def run():
            out = {}
            for c, asc in (("recency", False), ("frequency", True), ("monetary", True)):
                r = df[c].rank(method="min", ascending=asc)
                out[c] = 1 + ((r - 1) * 5 // len(df)).astype("int64")
            return pd.DataFrame(out)

        return run, None
    if name == "polars":
        import polars as pl

        df = pl.DataFrame({"recency": rec, "frequency": freq, "monetary": mon})
        m = len(df)
        return (
            lambda: df.select(
                [
                    (1 + ((pl.col(c).rank("min", descending=not asc) - 1) * 5 // m)).alias(c)
                    for c, asc in (("recency", False), ("frequency", True), ("monetary", True))
                ]
            )
        ), None
    if name == "duckdb":
        import duckdb
        import pyarrow as pa

        con = duckdb.connect()
        con.register("c", pa.table({"recency": rec, "frequency": freq, "monetary": mon}))
        sql = """select 1 + floor((rank() over (order by recency desc) - 1) * 5 / count(*) over ()) as r,
                        1 + floor((rank() over (order by frequency) - 1) * 5 / count(*) over ()) as f,
                        1 + floor((rank() over (order by monetary) - 1) * 5 / count(*) over ()) as m from c"""
        return (lambda: con.sql(sql).fetch_arrow_table()), None
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=_count, default=10_000_000)
    p.add_argument("--customers", type=_count, default=1_000_000)
    p.add_argument("--ids", default="all", help="coded, int, str, uuid (comma-separated) or all")
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    p.add_argument("--order", choices=gen.ORDERS, default="time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task", choices=["features", "scores"], default="features")
    p.add_argument("--contenders", default="touchpoint,pandas,polars,duckdb")
    p.add_argument("--cache", help="keep the generated data in this directory")
    add_common_arguments(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--shape", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        ev = gen.load(Path(a.data) / "events")
        ids = None if a.shape == "coded" else gen.load(Path(a.data) / f"ids-{a.shape}")["ids"]
        make = features_task if a.task == "features" else scores_task
        task, check = make(a.worker, ev, ids)
        serve(task, check=check)
        return
    shapes = list(gen.ID_SHAPES) if a.ids == "all" else a.ids.split(",")
    if a.task == "scores":
        shapes, a.events = ["coded"], a.customers
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.cache or tmp)
        params = {"n": a.events, "k": a.customers, "skew": a.skew, "order": a.order, "seed": a.seed}
        ev = gen.cached(
            root / "events",
            params,
            lambda: gen.events(a.events, a.customers, skew=a.skew, order=a.order, seed=a.seed),
        )
        counts = np.bincount(ev["customer"], minlength=a.customers)
        del ev
        for shape in shapes:
            if shape != "coded":
                gen.cached(
                    root / f"ids-{shape}",
                    {"k": a.customers, "shape": shape, "seed": a.seed},
                    lambda shape=shape: {"ids": gen.ids_of(a.customers, shape, a.seed)},
                )
        for shape in shapes:
            names = a.contenders.split(",")
            if a.task == "features" and "touchpoint" in names and _has_numba():
                at = names.index("touchpoint") + 1
                names = [*names[:at], "touchpoint-numpy", *names[at:]]
            if shape == "coded" and a.task == "features":
                names = (
                    names[:1]
                    + ["numpy"]
                    + (["numpy-last-row"] if a.order == "time" else [])
                    + names[1:]
                )
            argv = {
                name: [
                    PYTHON,
                    __file__,
                    "--worker",
                    name,
                    "--data",
                    str(root),
                    "--shape",
                    shape,
                    "--task",
                    a.task,
                ]
                for name in names
            }
            argv = with_baseline(argv, a.baseline_src)
            res = run_interleaved(argv, a)
            if a.task == "features":
                what = (
                    f"RFM features, {a.events:,} events / {a.customers:,} customers, ids {shape}, "
                    f"{a.skew} customers, events in {a.order} order"
                )
            else:
                what = f"RFM scores, {a.customers:,} customers"
            notes = [
                f"data: {gen.shares(counts)}; {versions('pandas', 'polars', 'duckdb', 'pyarrow')}"
            ]
            if shape == "coded" and a.task == "features":
                bw = bandwidth()
                floor = 24 * a.events / (bw["read"] * 1e9)
                notes.append(
                    f"memory bandwidth: read {bw['read']:.1f} GB/s on one thread "
                    f"({bw['read_2']:.1f} on two), copy {bw['copy']:.1f} GB/s; reading the three "
                    f"columns once ({24 * a.events / 1e6:,.0f} MB) takes {floor:.3f} s on one thread"
                )
            checks = {n: r.check for n, r in res.items() if r.check is not None}
            if len({json.dumps(c, sort_keys=True) for c in checks.values()}) > 1:
                notes.append(f"RESULTS DIFFER: {checks}")
            elif checks:
                notes.append(f"all agree: {next(iter(checks.values()))}")
            report(what, res, notes=notes, together=not a.one_by_one)
            save(
                a.json,
                {
                    "script": "rfm",
                    "what": what,
                    "params": {**params, "ids": shape, "task": a.task},
                    "notes": notes,
                    "results": results_dict(res),
                },
            )


if __name__ == "__main__":
    main()
