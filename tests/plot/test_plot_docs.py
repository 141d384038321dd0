"""The examples of docs/plots.md and docs/datasets.md run as written and print what they show.

Each ``python`` block runs in a fresh process (matplotlib's Agg backend, a scratch
folder for the saved figures); a comment line right after a ``print`` is the output the
page promises.
"""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # eight scripts, each a fresh process importing matplotlib

DOCS = Path(__file__).parents[2] / "docs"


def _blocks():
    found = []
    for page in ("plots.md", "datasets.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S), 1):
            found.append(pytest.param(block, id=f"{page}-{number}"))
    return found


@pytest.mark.parametrize("block", _blocks())
def test_the_example_runs_and_prints_what_the_page_shows(block, tmp_path):
    lines = block.splitlines()
    promised = [
        line[2:]
        for previous, line in itertools.pairwise(lines)
        if line.startswith("# ") and "print(" in previous
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines() == promised
    assert all(p.stat().st_size > 0 for p in tmp_path.glob("*.png"))
