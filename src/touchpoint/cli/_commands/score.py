"""``touchpoint score NAME SOURCE --out FILE``: run a score on a file or a workspace.

Examples
--------
>>> import pathlib, tempfile
>>> from touchpoint.cli import main
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = (tmp / "orders.csv").write_text("customer,time,amount\\nC1,2026-01-05,30\\n"
...                                     "C1,2026-02-05,10\\nC2,2026-02-01,12.5\\n")
>>> main(["score", "rfm", str(tmp / "orders.csv"), "--asof", "2026-03-01", "--out", "-"])
customer  recency  frequency  monetary  average  last        amount_missing
C1        24       2          40        20       2026-02-05  0
C2        28       1          12.5      12.5     2026-02-01  0
0
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import inspect
import json
import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from touchpoint._extras import require
from touchpoint.cli._render import table
from touchpoint.errors import Problem, TouchpointError, ValidationError

NAME = "score"
HELP = "run a score (rfm, clv, churn, csat, ...) on a CSV/Parquet file or a workspace"

#: Names the command line gives scores, and the registered score each one runs.
ALIASES = {"churn": "churn_risk", "rfm-scores": "rfm_scores"}
#: Scores with their own recipe here: the named ones above; the rest run as registered.
RECIPES = ("rfm", "rfm-scores", "pyramid", "clv", "churn", "csat", "nps", "compliance")
#: Column options, passed to a score that takes a parameter of that name.
COLUMNS = ("customer", "time", "amount", "rating", "touchpoint")
#: Weeks in a month, the period of the discounted lifetime value.
MONTH_WEEKS = 4.345


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the score NAME on SOURCE (a .csv or .parquet file of events, or a workspace "
        "URL such as sqlite:///crm.db) and write one row per customer (or per indicator, "
        "touchpoint...) to --out: .csv, .parquet or .json by the extension, or - for a "
        "table on standard output. NAME is one of " + ", ".join(RECIPES) + ", or the "
        "name of any score a plugin registers (see 'touchpoint plugins')."
    )
    parser.add_argument("name", metavar="NAME", help="the score: " + ", ".join(RECIPES))
    parser.add_argument("source", metavar="SOURCE", help="a .csv/.parquet file or a workspace URL")
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="result file (.csv, .parquet, .json) or -"
    )
    for column in COLUMNS:
        parser.add_argument(
            f"--{column}", dest=f"col_{column}", metavar="COL", help=f"the {column} column"
        )
    parser.add_argument("--asof", metavar="DATE", help="the day the scores are taken at")
    parser.add_argument(
        "--horizon",
        type=float,
        default=52.0,
        metavar="WEEKS",
        help="clv: weeks of expected purchases and lifetime value (default: 52)",
    )
    parser.add_argument(
        "--discount-rate",
        type=float,
        default=0.01,
        metavar="RATE",
        help="clv: discount rate a month for the lifetime value (default: 0.01)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--template", metavar="NAME", help="the blueprint: a built-in template")
    which.add_argument("--blueprint", metavar="FILE", help="the blueprint: a file")
    parser.add_argument("--json", action="store_true", help="with --out -: print JSON records")


# ---------------------------------------------------------------------------- input


def _read_source(source: str) -> tuple[Any, Any]:
    """(the events, the workspace's blueprint or None) of a file or a workspace URL."""
    if "://" in source:
        from touchpoint.cli._workspace import open_url

        with open_url(source) as ws:
            return ws.interactions(), ws.blueprint
    path = Path(source)
    if not path.is_file():
        raise TouchpointError(f"{source}: no such file (nor a workspace URL like sqlite:///crm.db)")
    pd = require("pandas", extra="dataframes", feature="touchpoint score on a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        require("pyarrow", extra="dataframes", feature="Reading Parquet files")
        return pd.read_parquet(path), None
    # ids as text: a customer "007" stays "007"
    ids = {"customer": str, "event_id": str, "touchpoint": str, "channel": str}
    return pd.read_csv(path, dtype=ids, keep_default_na=True), None


def _blueprint(args: argparse.Namespace, kept: Any) -> Any:
    from touchpoint import templates
    from touchpoint.schema import load_blueprint

    if args.template:
        return templates.load(args.template)
    if args.blueprint:
        return load_blueprint(args.blueprint)
    return kept


# ---------------------------------------------------------------------------- scores


def _kwargs(score: Callable[..., Any], args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The options the score takes: column names, asof and ``extra``, by parameter name."""
    try:
        params = inspect.signature(score).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    given: dict[str, Any] = {c: getattr(args, f"col_{c}") for c in COLUMNS}
    given["asof"] = args.asof
    given.update(extra)
    return {k: v for k, v in given.items() if v is not None and k in params}


def _rfm(data: Any, args: argparse.Namespace) -> Any:
    from touchpoint.scoring import rfm

    return rfm(data, **_kwargs(rfm, args))


def _clv(data: Any, args: argparse.Namespace) -> dict[str, np.ndarray]:
    from touchpoint.clv import BetaGeo, GammaGamma, customer_summary

    if not args.horizon > 0:
        raise ValidationError([Problem("--horizon", "must be > 0 weeks", args.horizon)])
    summary = customer_summary(data, **_kwargs(customer_summary, args, unit="W"))
    columns = {name: np.asarray(summary[name]) for name in summary.column_names}
    bg = BetaGeo().fit(summary)
    columns["p_alive"] = bg.probability_alive(summary).to_numpy()
    columns["expected_purchases"] = bg.expected_purchases(summary, args.horizon).to_numpy()
    # the value over the same horizon, in whole months of about the same length
    periods = max(1, round(args.horizon / MONTH_WEEKS))
    # Gamma-Gamma models positive spends: a repeat buyer whose purchases all cost nothing
    # (CDNOW has some) gives it nothing to go on, so that customer's value is NaN
    frequency, spend = columns["frequency"], columns["monetary_value"]
    usable = np.flatnonzero((frequency == 0) | (spend > 0))
    columns["clv"] = np.full(len(frequency), np.nan)
    if len(usable) < len(frequency):
        print(
            f"touchpoint score clv: {len(frequency) - len(usable):,} repeat buyer(s) with "
            "no spend: their lifetime value is NaN",
            file=sys.stderr,
        )
    part = summary.take(usable)
    try:
        gg = GammaGamma().fit(part)
    except ValidationError as exc:  # too few repeat buyers: no spend model to go on
        print(f"touchpoint score clv: no lifetime value: {exc}", file=sys.stderr)
        return columns
    value = gg.customer_lifetime_value(
        bg,
        part,
        periods=periods,
        period_length=args.horizon / periods,
        discount_rate=args.discount_rate,
    )
    columns["clv"][usable] = value.to_numpy()
    return columns


def _score(name: str, data: Any, blueprint: Any, args: argparse.Namespace) -> Any:
    from touchpoint import scoring
    from touchpoint.plugins import Plugins

    if name == "rfm":
        return _rfm(data, args)
    if name == "rfm-scores":
        return scoring.rfm_scores(_rfm(data, args))
    if name == "pyramid":
        return scoring.pyramid(_rfm(data, args))
    if name == "clv":
        return _clv(data, args)
    if name == "compliance":
        if blueprint is None:
            raise TouchpointError(
                "compliance measures against a blueprint: give --template NAME or "
                "--blueprint FILE, or a workspace made with touchpoint init"
            )
        report = scoring.compliance(data, blueprint, **_kwargs(scoring.compliance, args))
        return report.summary
    registered = ALIASES.get(name, name.replace("-", "_"))
    scorers = Plugins().scorers()
    if registered not in scorers:
        known = sorted({*RECIPES, *(n.replace("_", "-") for n in scorers)})
        raise TouchpointError(f"no score named {name!r}; known: {', '.join(known)}")
    score = scorers[registered].obj
    extra = {"blueprint": blueprint} if blueprint is not None else {}
    return score(data, **_kwargs(score, args, **extra))


# ---------------------------------------------------------------------------- output


def _columns(result: Any, name: str) -> dict[str, np.ndarray]:
    """A score's result as named columns."""
    if isinstance(result, dict):
        return {str(k): np.asarray(v) for k, v in result.items()}
    names = getattr(result, "column_names", None)
    if names is None and hasattr(result, "columns"):  # a pandas or polars DataFrame
        names = [str(c) for c in result.columns]
    if names is None:
        raise TouchpointError(
            f"score {name!r} returned {type(result).__name__}, not a table: it cannot be "
            "written by touchpoint score"
        )
    return {str(c): np.asarray(result[c]) for c in names}


def _plain(value: Any) -> Any:
    """A cell as a JSON or CSV value: NaN and NaT as None, times as ISO text."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value).removesuffix("T00:00:00.000000")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(columns: dict[str, np.ndarray]) -> list[list[Any]]:
    # rendering cells to text for output: one pass over the result, not a score's hot path
    values = [col.tolist() if col.dtype.kind != "M" else list(col) for col in columns.values()]
    return [[_plain(v) for v in row] for row in zip(*values, strict=True)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _write(columns: dict[str, np.ndarray], out: str, as_json: bool) -> None:
    names = list(columns)
    if out == "-":
        rows = _rows(columns)
        if as_json:
            print(json.dumps([dict(zip(names, r, strict=True)) for r in rows], ensure_ascii=False))
        else:
            for line in table(names, [[_text(v) for v in r] for r in rows]):
                print(line)
        return
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(names)
            writer.writerows([[_text(v) for v in r] for r in _rows(columns)])
    elif suffix == ".json":
        rows = _rows(columns)
        records = [dict(zip(names, r, strict=True)) for r in rows]
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", "utf-8")
    elif suffix in (".parquet", ".pq"):
        pa = require("pyarrow", extra="dataframes", feature="Writing Parquet files")
        pq = require("pyarrow.parquet", extra="dataframes", feature="Writing Parquet files")
        arrays = {
            k: pa.array(v.astype(object) if v.dtype.kind in "OU" else v) for k, v in columns.items()
        }
        pq.write_table(pa.table(arrays), path)
    else:
        raise TouchpointError(f"--out {out}: the extension must be .csv, .parquet or .json (or -)")


def run(args: argparse.Namespace) -> int:
    data, kept = _read_source(args.source)
    blueprint = _blueprint(args, kept)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _score(args.name, data, blueprint, args)
    for warning in caught:  # a fit's warning says something the user must know
        print(f"warning: {warning.message}", file=sys.stderr)
    columns = _columns(result, args.name)
    _write(columns, args.out, args.json)
    if args.out != "-":
        n = len(next(iter(columns.values()))) if columns else 0
        print(f"wrote {n:,} rows to {args.out}", file=sys.stderr)
    return 0
