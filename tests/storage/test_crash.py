"""A process killed with SIGKILL in the middle of a batch leaves whole batches only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from touchpoint.storage.base import Batch
from touchpoint.storage.sqlite import SqliteStorage

pytestmark = pytest.mark.slow  # processes killed with SIGKILL mid-write

ROWS = 50_000

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from touchpoint.storage.base import Batch
    from touchpoint.storage.sqlite import SqliteStorage

    path, rows = sys.argv[1], int(sys.argv[2])
    store = SqliteStorage(path)
    for k in range(1000):
        batch = Batch.from_columns({
            "event_id": np.array([f"b{k}-{i}" for i in range(rows)], dtype=object),
            "customer": np.full(rows, f"K{k}", dtype=object),
            "touchpoint": np.full(rows, "T1", dtype=object),
            "time": np.full(rows, np.datetime64("2026-01-01", "us")),
            "amount": np.full(rows, float(k)),
        })
        print(f"begin {k}", flush=True)
        store.append(batch)
        print(f"done {k}", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")
def test_sigkill_mid_batch_leaves_whole_batches(tmp_path):
    path = tmp_path / "crash.db"
    SqliteStorage(str(path)).close()  # schema in place before the writer starts
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(ROWS)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    try:
        while True:
            line = proc.stdout.readline().strip()
            assert line, "the writer exited before it was killed"
            lines.append(line)
            if line == "begin 3":
                time.sleep(0.02)  # inside the append of batch 3
                proc.send_signal(signal.SIGKILL)
                break
        rest = proc.stdout.read().split()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert "done" not in rest, "the kill did not land inside batch 3; the test proved nothing"

    with SqliteStorage(str(path)) as store:
        assert store._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        frame = store.scan()
        customers, counts = np.unique(frame["customer"], return_counts=True)
        assert customers.tolist() == ["K0", "K1", "K2"]  # every committed batch, not batch 3
        assert counts.tolist() == [ROWS] * 3  # each one whole
        assert store.count() == 3 * ROWS
        assert store._con.execute("SELECT count(*) FROM interactions").fetchone()[0] == 3 * ROWS
        # and the database takes the interrupted batch afterwards
        assert store.append(
            Batch.from_columns(
                {
                    "event_id": np.array(["b3-0"], dtype=object),
                    "customer": np.array(["K3"], dtype=object),
                    "touchpoint": np.array(["T1"], dtype=object),
                    "time": np.array(["2026-01-01"], dtype="datetime64[us]"),
                }
            )
        ).committed
