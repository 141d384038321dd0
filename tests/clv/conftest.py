"""The lifetimes peer: a separate virtual environment made by benchmarks/peers/make_peer_envs.sh."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def run_lifetimes():
    """Run a Python script in the lifetimes venv; it prints one JSON document."""
    python = (
        ROOT
        / ".peers"
        / "lifetimes"
        / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    )
    if not python.exists():
        pytest.fail(
            f"the lifetimes peer environment is missing ({python.relative_to(ROOT)}): "
            "run  benchmarks/peers/make_peer_envs.sh lifetimes"
        )

    def run(script: str, *args: str) -> dict:
        done = subprocess.run(
            [str(python), "-c", script, *args], capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run
