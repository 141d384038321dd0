"""First-order Markov attribution on N journeys: touchpoint against ChannelAttribution.

    benchmarks/peers/make_peer_envs.sh channelattribution   # once
    .venv/bin/python benchmarks/bench_attribution_markov.py --journeys 1_000_000

touchpoint starts from an EventFrame (one row per touch, in time order as logged, coded
customers and touchpoints) and returns exact removal effects. ChannelAttribution 2.2.5
(in its own virtual environment, run as a subprocess) starts from the same journeys
already aggregated into distinct paths with conversion and null counts, its input
format; its removal effects are simulated with its default settings. Each side runs in
a fresh process; times are the best of three runs; peak memory is the rise of the
process's peak resident set size over its size before the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))
from measure import peak_since, reset_peak  # noqa: E402

CA_PYTHON = ROOT / ".peers" / "channelattribution" / "bin" / "python"


def make_events(n_journeys: int, n_channels: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Journeys of geometric length (mean about 3.3 touches) over 90 days, in time order."""
    rng = np.random.default_rng(seed)
    lengths = rng.geometric(0.3, n_journeys).clip(1, 20)
    n = int(lengths.sum())
    ends = np.cumsum(lengths)
    journey = np.repeat(np.arange(n_journeys), lengths)
    popularity = rng.dirichlet(np.ones(n_channels))
    strength = rng.uniform(0.02, 0.4, n_channels)
    channel = rng.choice(n_channels, n, p=popularity)
    converted_journey = rng.random(n_journeys) < strength[channel[ends - 1]]
    start = rng.integers(0, 86_400 * 90, n_journeys)
    pos = np.arange(n) - np.repeat(ends - lengths, lengths)
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


def worker_touchpoint(path: str) -> dict:
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
    times, result = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        result = markov(frame)
        times.append(time.perf_counter() - t0)
    before = reset_peak()
    markov(frame)
    peak = peak_since(before)
    return {
        "seconds": min(times),
        "peak_mib": peak,
        "removal_effects": dict(
            zip(result["touchpoint"].tolist(), result["removal_effect"].tolist(), strict=True)
        ),
    }


CA_WORKER = r"""
import contextlib, io, json, os, sys, time
sys.path.insert(0, sys.argv[2])
from measure import peak_since, reset_peak
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ca
df = pd.read_csv(sys.argv[1])
times = []
for _ in range(3):
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        r = ca.markov_model(df, "path", "conv", var_null="null", out_more=True, verbose=0)
    times.append(time.perf_counter() - t0)
before = reset_peak()
with contextlib.redirect_stdout(io.StringIO()):
    ca.markov_model(df, "path", "conv", var_null="null", out_more=True, verbose=0)
peak = peak_since(before)
re = r["removal_effects"]
print(json.dumps({"seconds": min(times),
                  "peak_mib": peak,
                  "paths": len(df),
                  "removal_effects": dict(zip(re["channel_name"], re["removal_effect"]))}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=lambda s: int(s.replace("_", "")), default=1_000_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_touchpoint(args.worker)))
        return
    if not CA_PYTHON.exists():
        sys.exit("run benchmarks/peers/make_peer_envs.sh channelattribution first")
    from touchpoint.attribution import journeys

    data = make_events(args.journeys)
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.npz")
        np.savez(events, **data)
        paths, conv, null = journeys(data, until="customer").aggregate()
        csv = os.path.join(tmp, "paths.csv")
        with open(csv, "w") as f:  # the peer's input: distinct paths with their counts
            f.write("path,conv,null\n")
            for p, c, n in zip(paths, conv.tolist(), null.tolist(), strict=True):
                f.write(" > ".join(f"channel_{u}" for u in p) + f",{c},{n}\n")
        ours = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--worker", events],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        peer = json.loads(
            subprocess.run(
                [str(CA_PYTHON), "-c", CA_WORKER, csv, str(ROOT / "benchmarks" / "peers")],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    diff = max(
        abs(ours["removal_effects"][k] - peer["removal_effects"][k])
        for k in ours["removal_effects"]
    )
    print(
        f"{args.journeys:,} journeys, {len(data['customer']):,} touches, {peer['paths']:,} distinct paths"
    )
    print(
        f"touchpoint (exact, from an EventFrame)          {ours['seconds']:.3f} s  peak +{ours['peak_mib']:.0f} MiB"
    )
    print(
        f"ChannelAttribution 2.2.5 (simulated, from paths) {peer['seconds']:.3f} s  peak +{peer['peak_mib']:.0f} MiB"
    )
    print(f"ratio (ChannelAttribution / touchpoint): {peer['seconds'] / ours['seconds']:.2f}x")
    print(f"largest difference in removal effects: {diff:.4f}")


if __name__ == "__main__":
    main()
