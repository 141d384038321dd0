"""Markov attribution on N journeys: touchpoint against ChannelAttribution, order 1 or 2.

    benchmarks/peers/make_peer_envs.sh channelattribution   # once
    .venv/bin/python benchmarks/bench_attribution_markov.py --journeys 1_000_000
    .venv/bin/python benchmarks/bench_attribution_markov.py --journeys 1_000_000 --order 2

touchpoint starts from an EventFrame (one row per touch, in time order as logged, coded
customers and touchpoints) and returns exact removal effects. ChannelAttribution 2.2.5
(in its own virtual environment) starts from the same journeys already aggregated into
distinct paths with conversion and null counts, its input format; its removal effects
are simulated with its default settings (``ncore=1``), and once more on every core
(``ncore`` = the cores of this machine).

Journeys (``--lengths``): ``geometric`` (mean about 3.3 touches, at most 20: the old
shape) or ``heavy`` (lognormal lengths, median 3, a tail of long journeys up to 60);
channel popularity skewed (Dirichlet, or Zipf with ``heavy``). All sides run interleaved
through the skeptic's harness (`bench_scoring_harness.py`), each in its own process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_scoring_harness import (  # noqa: E402
    PYTHON,
    add_common_arguments,
    cores,
    interleave,
    report,
    results_dict,
    save,
    serve,
    with_baseline,
)

CA_PYTHON = ROOT / ".peers" / "channelattribution" / "bin" / "python"


def make_events(
    n_journeys: int, n_channels: int = 10, seed: int = 0, lengths: str = "geometric"
) -> dict[str, np.ndarray]:
    """Journeys over 90 days, in time order; the last touch converts with its channel's rate."""
    rng = np.random.default_rng(seed)
    if lengths == "geometric":
        length = rng.geometric(0.3, n_journeys).clip(1, 20)
        popularity = rng.dirichlet(np.ones(n_channels))
    else:
        length = np.round(rng.lognormal(np.log(3), 0.9, n_journeys)).astype(np.int64).clip(1, 60)
        popularity = 1.0 / np.arange(1, n_channels + 1) ** 1.1
        popularity = rng.permutation(popularity / popularity.sum())
    n = int(length.sum())
    ends = np.cumsum(length)
    journey = np.repeat(np.arange(n_journeys), length)
    strength = rng.uniform(0.02, 0.4, n_channels)
    channel = rng.choice(n_channels, n, p=popularity)
    converted_journey = rng.random(n_journeys) < strength[channel[ends - 1]]
    start = rng.integers(0, 86_400 * 90, n_journeys)
    pos = np.arange(n) - np.repeat(ends - length, length)
    t = start[journey] + pos * 3_600 + rng.integers(0, 3_600, n)
    converted = np.zeros(n, dtype=bool)
    converted[ends - 1] = converted_journey
    order = np.argsort(t, kind="stable")
    return {
        "customer": journey[order],
        "touchpoint": channel[order],
        "time": (t[order] * 1_000_000).astype("datetime64[us]"),
        "converted": converted[order],
    }


def worker_touchpoint(path: str, order: int) -> None:
    from touchpoint.attribution import markov
    from touchpoint.frame import EventFrame

    data = dict(np.load(path))
    channels = np.array(
        [f"channel_{i}" for i in range(int(data["touchpoint"].max()) + 1)], dtype=object
    )
    frame = EventFrame(
        data, {"customer": np.arange(int(data["customer"].max()) + 1), "touchpoint": channels}
    )
    del data

    def check(result):
        return dict(
            zip(result["touchpoint"].tolist(), result["removal_effect"].tolist(), strict=True)
        )

    serve(lambda: markov(frame, order=order), check=check)


CA_WORKER = r"""
import contextlib, io, json, os, sys
sys.path.insert(0, sys.argv[2])
from measure import serve
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ca
df = pd.read_csv(sys.argv[1])
order, ncore = int(sys.argv[3]), int(sys.argv[4])

def run():
    with contextlib.redirect_stdout(io.StringIO()):
        return ca.markov_model(df, "path", "conv", var_null="null", order=order, ncore=ncore,
                               out_more=True, verbose=0)

def check(r):
    re = r["removal_effects"]
    return dict(zip(re["channel_name"], (float(x) for x in re["removal_effect"])))

serve(run, check=check)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--journeys", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--order", type=int, default=1)
    parser.add_argument("--lengths", choices=["geometric", "heavy"], default="geometric")
    parser.add_argument(
        "--contenders", default="touchpoint,channelattribution,channelattribution-all-cores"
    )
    add_common_arguments(parser)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_touchpoint(args.worker, args.order)
        return
    if not CA_PYTHON.exists():
        sys.exit("run benchmarks/peers/make_peer_envs.sh channelattribution first")
    from touchpoint.attribution import journeys

    data = make_events(args.journeys, lengths=args.lengths)
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.npz")
        np.savez(events, **data)
        paths, conv, null = journeys(data, until="customer").aggregate()
        csv = os.path.join(tmp, "paths.csv")
        with open(csv, "w") as f:  # the peer's input: distinct paths with their counts
            f.write("path,conv,null\n")
            for p, c, n in zip(paths, conv.tolist(), null.tolist(), strict=True):
                f.write(" > ".join(f"channel_{u}" for u in p) + f",{c},{n}\n")
        peers = str(ROOT / "benchmarks" / "peers")
        every = {
            "touchpoint": [PYTHON, __file__, "--worker", events, "--order", str(args.order)],
            "channelattribution": [
                str(CA_PYTHON),
                "-c",
                CA_WORKER,
                csv,
                peers,
                str(args.order),
                "1",
            ],
            "channelattribution-all-cores": [
                str(CA_PYTHON),
                "-c",
                CA_WORKER,
                csv,
                peers,
                str(args.order),
                str(cores()),
            ],
        }
        argv = {name: every[name] for name in args.contenders.split(",")}
        argv = with_baseline(argv, args.baseline_src)
        env = {"TOUCHPOINT_THREADS": str(args.threads)} if args.threads else None
        res = interleave(
            argv,
            rounds=args.repeat,
            max_others=args.max_others,
            retries=args.retries,
            env=env,
            together=not args.one_by_one,
        )
    ours = res["touchpoint"].check or {}
    notes = [
        f"{len(data['customer']):,} touches, {len(paths):,} distinct paths, {args.lengths} lengths"
    ]
    for name, r in res.items():
        if name != "touchpoint" and r.check and ours:
            diff = max(abs(ours[k] - r.check.get(k, float("nan"))) for k in ours)
            notes.append(f"largest difference in removal effects, {name} vs touchpoint: {diff:.4f}")
    title = f"Markov attribution, order {args.order}, {args.journeys:,} journeys"
    report(title, res, notes=notes, together=not args.one_by_one)
    save(
        args.json, {"script": "markov", "what": title, "notes": notes, "results": results_dict(res)}
    )


if __name__ == "__main__":
    main()
