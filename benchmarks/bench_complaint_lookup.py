"""Recording a response to one complaint among many: touchpoint against its earlier self.

    PYTHONPATH=src python benchmarks/bench_complaint_lookup.py --stored 20000
    PYTHONPATH=OLD/src python benchmarks/bench_complaint_lookup.py --stored 20000   # before

`Workspace.respond_to_complaint` reads the complaint before writing it back. Before
session 6 it read every stored complaint and picked the id (the storage had no lookup
by id); now `Storage.complaint(id)` reads one row by its key. Prints the CPU time per
response on a SQLite file holding ``--stored`` complaints, and the load average.
Session 6, 20,000 stored, quiet machine: 322 ms before (7a2b055), 0.33 ms after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time

from touchpoint import Complaint, open_workspace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stored", type=int, default=20_000)
    p.add_argument("--responses", type=int, default=200)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = open_workspace(f"sqlite:///{tmp}/complaints.db")
        opened = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        ws.storage.add_complaints(
            [Complaint(f"K{i}", f"C{i}", opened_at=opened) for i in range(a.stored)]
        )
        start = time.process_time()
        for i in range(a.responses):  # a loop over responses: the thing measured
            ws.respond_to_complaint(f"K{i}", at="2026-01-02")
        per = (time.process_time() - start) / a.responses
    print(
        f"{a.stored:,} complaints stored: {per * 1000:.2f} ms of CPU per respond_to_complaint"
        f" (load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
