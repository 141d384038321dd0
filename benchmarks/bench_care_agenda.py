"""Care agenda for a day over N customers: touchpoint against the pandas a user would write.

    python benchmarks/bench_care_agenda.py --customers 1_000_000

Four rules (yearly birthday, visit 3 months after moving in, a yearly house check,
a reminder 30 days before the warranty ends). The pandas version uses DateOffset for
calendar months, the way a pandas user would. Both must give the same due contacts.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from touchpoint import CareRule
from touchpoint.care import agenda

RULES = [
    CareRule(
        "birthday",
        "Birthday",
        touchpoint="T",
        anchor="birthday",
        recurrence="yearly",
        channels=["sms"],
    ),
    CareRule(
        "visit", "Visit", touchpoint="T", anchor="move_in", offset="3 months", channels=["phone"]
    ),
    CareRule(
        "check",
        "House check",
        touchpoint="T",
        anchor="move_in",
        offset="1 year",
        recurrence="yearly",
        channels=["phone"],
    ),
    CareRule(
        "warranty",
        "Warranty",
        touchpoint="T",
        anchor="warranty_end",
        offset="-30 days",
        channels=["sms"],
    ),
]


def customers(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    day = "datetime64[D]"
    return {
        "customer": np.arange(n),
        "birthday": (np.datetime64("1950-01-01") + rng.integers(0, 20000, n)).astype(day),
        "move_in": (np.datetime64("2020-01-01") + rng.integers(0, 2500, n)).astype(day),
        "warranty_end": (np.datetime64("2024-01-01") + rng.integers(0, 2500, n)).astype(day),
    }


def pandas_agenda(cols: dict[str, np.ndarray], on: str) -> set[tuple[int, str]]:
    df = pd.DataFrame(
        {k: (v.astype("datetime64[s]") if v.dtype.kind == "M" else v) for k, v in cols.items()}
    )
    day = pd.Timestamp(on)
    due = set()
    # Yearly birthday: this year's anniversary (29 Feb -> 28 Feb).
    anniversary = pd.to_datetime(
        {
            "year": day.year,
            "month": df["birthday"].dt.month,
            "day": df["birthday"].dt.day.where(
                ~(
                    (df["birthday"].dt.month == 2)
                    & (df["birthday"].dt.day == 29)
                    & (not pd.Timestamp(day.year, 3, 1).is_leap_year)
                ),
                28,
            ),
        }
    )
    due |= {(c, "birthday") for c in df.loc[anniversary == day, "customer"]}
    due |= {
        (c, "visit") for c in df.loc[df["move_in"] + pd.DateOffset(months=3) == day, "customer"]
    }
    check_years = day.year - df["move_in"].dt.year
    for k in np.unique(check_years[check_years >= 1]):
        rows = check_years == k
        hit = df.loc[rows & (df["move_in"] + pd.DateOffset(years=int(k)) == day), "customer"]
        due |= {(c, "check") for c in hit}
    due |= {
        (c, "warranty")
        for c in df.loc[df["warranty_end"] - pd.Timedelta(days=30) == day, "customer"]
    }
    return due


def measure(fn, *args):
    tracemalloc.start()
    t = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--on", default="2026-02-28")
    args = parser.parse_args()
    cols = customers(args.customers)
    agenda(RULES, cols, on=args.on)  # warm-up: first-call imports
    ours, t_ours, m_ours = measure(lambda: agenda(RULES, cols, on=args.on))
    theirs, t_pd, m_pd = measure(pandas_agenda, cols, args.on)
    same = {(int(c), r) for c, r in zip(ours.customer, ours.rule, strict=True)} == theirs
    print(f"customers={args.customers:,} on={args.on} due={len(ours):,} same_result={same}")
    print(f"touchpoint.care.agenda  {t_ours:8.3f} s  peak {m_ours:8.1f} MiB")
    print(
        f"pandas (DateOffset)     {t_pd:8.3f} s  peak {m_pd:8.1f} MiB  ratio {t_pd / t_ours:5.1f}x"
    )
    if not same:
        raise SystemExit("results differ")


if __name__ == "__main__":
    main()
