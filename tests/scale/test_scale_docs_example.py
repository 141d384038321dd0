"""The worked example of docs/scaling-out.md runs as printed and gives the in-memory scores.

It runs in a subprocess, as a user's script would: its own LocalCluster, Parquet files
written by "some other system" with their own column names, scores written back to
Parquet.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpoint.scoring import pyramid, rfm, rfm_scores

pytestmark = pytest.mark.slow  # the docs' example script starts its own LocalCluster

DOC = Path(__file__).parents[2] / "docs" / "scaling-out.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    return re.search(r"## A worked example.*?```python\n(.*?)```", text, re.S).group(1)


def _write_events(folder: Path) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    frames = []
    for month in ("2026-09", "2026-10", "2026-11"):
        n = 400
        start = np.datetime64(f"{month}-01", "us")
        df = pd.DataFrame(
            {
                "cust_id": rng.integers(0, 150, n),
                "paid_at": start + rng.integers(0, 28 * 86_400, n).astype("timedelta64[s]"),
                "paid": rng.exponential(80.0, n).round(2),
            }
        )
        (folder / f"month={month}").mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pandas(df, preserve_index=False),
            folder / f"month={month}" / "part-0.parquet",
        )
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def test_the_worked_example_runs_and_matches_memory(tmp_path):
    events = _write_events(tmp_path / "events")
    code = "if __name__ == '__main__':\n" + "".join(
        "    " + line + "\n" for line in _example().splitlines()
    )
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr[-3000:]

    features = rfm(events, customer="cust_id", time="paid_at", amount="paid", asof="2026-11-30")
    want = rfm_scores(features).to_pandas().sort_values("customer").reset_index(drop=True)
    got = pd.read_parquet(tmp_path / "scores").sort_values("customer").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False)
    counts = pyramid(features).to_pandas()["tier"].value_counts()
    for tier in ("key", "major", "ordinary", "small"):
        assert re.search(rf"{tier}\s+{counts[tier]}\b", out.stdout), (tier, out.stdout)
