"""Journeys written as paths (fixture ``to_rows``) and the ChannelAttribution peer, which
runs in a separate virtual environment made by benchmarks/peers/make_peer_envs.sh."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def rows_from_paths(paths, converted, *, shuffle_seed=None):
    """One row per touch: journey i is customer i, touches one day apart, conversion on the last."""
    customer, time, touchpoint, conv = [], [], [], []
    for i, (path, c) in enumerate(zip(paths, converted, strict=True)):
        for k, unit in enumerate(path):
            customer.append(i)
            time.append(np.datetime64("2024-01-01T00:00") + np.timedelta64(k, "D"))
            touchpoint.append(unit)
            conv.append(bool(c) and k == len(path) - 1)
    data = {
        "customer": np.array(customer),
        "time": np.array(time, dtype="datetime64[us]"),
        "touchpoint": np.array(touchpoint, dtype=object),
        "converted": np.array(conv),
    }
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(customer))
        data = {k: v[order] for k, v in data.items()}
    return data


@pytest.fixture(scope="session")
def to_rows():
    """`rows_from_paths`, for tests."""
    return rows_from_paths


@pytest.fixture(scope="session")
def run_channelattribution():
    """Run a script in the ChannelAttribution venv; it prints one JSON document last."""
    python = (
        ROOT
        / ".peers"
        / "channelattribution"
        / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    )
    if not python.exists():
        pytest.fail(
            f"the ChannelAttribution peer environment is missing ({python.relative_to(ROOT)}): "
            "run  benchmarks/peers/make_peer_envs.sh channelattribution"
        )

    def run(script: str, payload: dict) -> dict:
        done = subprocess.run(
            [str(python), "-c", script],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run
