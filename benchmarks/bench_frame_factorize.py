"""Raw ids to dense codes: touchpoint's factorize against pandas, Arrow and polars.

    python benchmarks/bench_frame_factorize.py --events 10M --customers 1M
    python benchmarks/bench_frame_factorize.py --ids int,str --baseline-src /tmp/base/src

The customer column of `data.py`'s event log (skewed customers, time order) as raw ids
(``--ids``: ``int`` 13-digit integers, ``str`` ``'C0001234'``, ``uuid`` 36-character
strings), held the way a user hands them over: a numpy int64 array for integers, an Arrow
string array for strings. Contenders, each in its own process, interleaved:

- ``touchpoint``: ``factorize(ids, sort=None)``, what the scores call (first appearance
  for strings and wide integers), on every core (``--threads`` to set);
- ``pandas``: ``pandas.factorize`` (integers: the numpy array; strings: the Arrow array
  as a pandas 3 ``str`` Series), one thread;
- ``arrow``: ``pyarrow.compute.dictionary_encode`` (integers too), one thread;
- ``polars``: ``Series.cast(Categorical)`` for strings, ``rank("dense")`` for integers
  (ascending codes), on every core.

``--baseline-src`` adds ``touchpoint@base``: the same call from another source tree.
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
    report,
    results_dict,
    run_interleaved,
    save,
    serve,
    versions,
    with_baseline,
)
from bench_scoring_rfm import _count


def task(name: str, codes: np.ndarray, ids: np.ndarray):
    strings = ids.dtype == object
    values = gen.arrow_ids(codes, ids) if strings else ids[codes]
    if name == "touchpoint":
        from touchpoint.frame import factorize

        return (lambda: factorize(values, sort=None)), lambda r: len(r[1])
    if name == "pandas":
        import pandas as pd

        given = pd.Series(values.to_pandas()) if strings else values
        return (lambda: pd.factorize(given, sort=False)), lambda r: len(r[1])
    if name == "arrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        given = values if strings else pa.array(values)
        return (lambda: pc.dictionary_encode(given)), lambda r: len(r.dictionary)
    if name == "polars":
        import polars as pl

        s = pl.Series(values)
        if strings:
            return (lambda: s.cast(pl.Categorical).to_physical()), lambda r: int(r.max()) + 1
        return (lambda: s.rank("dense")), lambda r: int(r.max())
    raise SystemExit(f"unknown contender {name}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=_count, default=10_000_000)
    p.add_argument("--customers", type=_count, default=1_000_000)
    p.add_argument("--ids", default="int,str,uuid")
    p.add_argument("--skew", choices=gen.SKEWS, default="lognormal")
    p.add_argument("--order", choices=gen.ORDERS, default="time")
    p.add_argument("--contenders", default="touchpoint,pandas,arrow,polars")
    p.add_argument("--cache", help="keep the generated data in this directory")
    add_common_arguments(p)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--shape", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        codes = gen.load(Path(a.data) / "events")["customer"]
        ids = gen.load(Path(a.data) / f"ids-{a.shape}")["ids"]
        run, check = task(a.worker, codes, ids)
        serve(run, check=check)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.cache or tmp)
        params = {"n": a.events, "k": a.customers, "skew": a.skew, "order": a.order, "seed": 0}
        gen.cached(
            root / "events",
            params,
            lambda: gen.events(a.events, a.customers, skew=a.skew, order=a.order),
        )
        for shape in a.ids.split(","):
            gen.cached(
                root / f"ids-{shape}",
                {"k": a.customers, "shape": shape, "seed": 0},
                lambda shape=shape: {"ids": gen.ids_of(a.customers, shape)},
            )
            argv = {
                name: [PYTHON, __file__, "--worker", name, "--data", str(root), "--shape", shape]
                for name in a.contenders.split(",")
            }
            argv = with_baseline(argv, a.baseline_src)
            res = run_interleaved(argv, a)
            title = f"factorize {a.events:,} raw ids ({shape}) of {a.customers:,} customers"
            checks = {n: r.check for n, r in res.items() if r.check is not None}
            notes = [
                versions("pandas", "pyarrow", "polars"),
                f"distinct values found: {checks}",
            ]
            report(title, res, notes=notes, together=not a.one_by_one)
            save(a.json, {"script": "factorize", "what": title, "results": results_dict(res)})


if __name__ == "__main__":
    main()
