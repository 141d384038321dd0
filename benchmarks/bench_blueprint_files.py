"""Loading blueprint files: touchpoint's loader against parsing alone and a one-pass pydantic check.

    python benchmarks/bench_blueprint_files.py --touchpoints 2000

A generated blueprint of N touchpoints (3 indicators each, care rules, a loyalty
programme) is written as TOML and JSON, then read back by

- the parser alone (`tomllib.loads`, `json.loads`): the floor;
- the parser + one pydantic `model_validate` of the whole file (shape only, no domain
  objects, no cross-references): what a minimal loader would do;
- `touchpoint.schema.loads_blueprint`: shape, domain objects, every cross-reference,
  every problem at once.

All three must agree that the file is valid; the loaded blueprint must equal the original.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
import tracemalloc
from collections.abc import Callable
from typing import Any

from touchpoint.model import (
    Blueprint,
    CareRule,
    ControlIndicator,
    LoyaltyProgramme,
    LoyaltyTier,
    Stage,
    Touchpoint,
)
from touchpoint.schema import BlueprintFile, dump_blueprint, loads_blueprint

STAGES = list(Stage)


def make_blueprint(n: int) -> Blueprint:
    tps = []
    for i in range(n):
        indicators = [
            ControlIndicator(
                "reply", "Reply within 24 hours", kind="time_limit", target=24, unit="hours"
            ),
            ControlIndicator("csat", "Satisfied", kind="rating", target=4, scale=5),
            ControlIndicator(
                "calls",
                "Three calls",
                kind="count",
                target=3,
                within="7 days",
                counts=[f"T{(i + 1) % n}"],
            ),
        ]
        tps.append(
            Touchpoint(
                f"T{i}",
                f"Touchpoint {i} 接触点",
                category="people",
                stage=STAGES[i % 5],
                line="service",
                channels=["phone", "email"],
                key=i % 3 == 0,
                weight=1 + i % 4,
                indicators=indicators,
                message="A clear, friendly answer",
            )
        )
    rules = [
        CareRule(
            f"r{i}",
            f"Rule {i}",
            touchpoint=f"T{i}",
            anchor="purchase",
            offset=f"{i} days",
            channels=["sms", "phone"],
            tiers=["gold"],
        )
        for i in range(min(n, 200))
    ]
    loyalty = LoyaltyProgramme(tiers=[LoyaltyTier("member", 0), LoyaltyTier("gold", 5000, 0.1)])
    return Blueprint(name="bench", touchpoints=tps, care_rules=rules, loyalty=loyalty)


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time of ``repeat`` runs, and the peak traced memory of one run (MiB)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bp = make_blueprint(args.touchpoints)
    print(
        f"blueprint: {len(bp)} touchpoints, {sum(1 for _ in bp.indicators())} indicators, "
        f"{len(bp.care_rules)} care rules"
    )
    for fmt, parse in (("toml", tomllib.loads), ("json", json.loads)):
        report(bp, fmt, parse, args.repeat)


def report(bp: Blueprint, fmt: str, parse: Callable[[str], Any], repeat: int) -> None:
    text = dump_blueprint(bp, format=fmt)
    t_parse, m_parse, _ = measure(lambda: parse(text), repeat)
    t_pyd, m_pyd, _ = measure(lambda: BlueprintFile.model_validate(parse(text)), repeat)
    t_load, m_load, loaded = measure(lambda: loads_blueprint(text, format=fmt), repeat)
    assert loaded == bp
    print(f"{fmt}: {len(text) / 2**20:.1f} MiB of text")
    print(f"  parse only              {t_parse:7.3f} s  peak {m_parse:6.1f} MiB")
    print(f"  parse + pydantic shape  {t_pyd:7.3f} s  peak {m_pyd:6.1f} MiB")
    print(
        f"  loads_blueprint         {t_load:7.3f} s  peak {m_load:6.1f} MiB"
        f"  ({t_load / t_parse:.1f}x parse, {t_load / t_pyd:.1f}x parse + pydantic)"
    )


if __name__ == "__main__":
    main()
