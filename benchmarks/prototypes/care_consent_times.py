"""Consent times of stored customer documents: a `datetime` each, or one numpy parse.

    python benchmarks/prototypes/care_consent_times.py [customers]

Builds ``customers`` stored customer documents (`to_document`) with six consents each,
a tenth of the times in UTC+8 and a tenth missing, parses them once, then times
turning the ``{"$datetime": iso}`` values into naive-UTC ``datetime64[us]``: the way
`care_columns` did before session 10 (``datetime.fromisoformat`` and `naive_utc` per
consent) and the way it does now (`touchpoint.frame.to_us` over the texts), best of 3,
with the collector paused as the report does. Both must agree.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time

import numpy as np

from touchpoint.frame import naive_utc, to_us
from touchpoint.model import Consent, Customer
from touchpoint.storage._documents import to_document

CST = dt.timezone(dt.timedelta(hours=8))


def documents(n: int) -> list[dict]:
    t0 = dt.datetime(2025, 1, 1)
    out = []
    for i in range(n):  # building the sample, not timed
        at = t0 + dt.timedelta(minutes=i)
        when = None if i % 10 == 0 else at.replace(tzinfo=CST) if i % 10 == 1 else at
        consents = [
            Consent(ch, purpose, True, at=when)
            for ch in ("email", "phone", "sms")
            for purpose in ("service", "marketing")
        ]
        out.append(json.loads(to_document(Customer(f"C{i:07d}", consents=consents))))
    return out


def one_each(rows: list[dict]) -> np.ndarray:
    return np.array(
        [
            None
            if (w := c.get("at")) is None
            else naive_utc(dt.datetime.fromisoformat(w["$datetime"]))
            for c in rows
        ],
        dtype="datetime64[us]",
    )


def one_parse(rows: list[dict]) -> np.ndarray:
    return to_us(
        np.array(
            [None if (w := c.get("at")) is None else w["$datetime"] for c in rows], dtype=object
        )
    )


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 100_000
    rows = [c for r in documents(n) for c in r["consents"]]
    gc.disable()
    for fn in (one_each, one_parse):
        best = min(_timed(fn, rows) for _ in range(3))
        print(f"{fn.__name__:10s} {len(rows):,} consents: {best:.3f} s")
    a, b = one_each(rows), one_parse(rows)
    assert ((a == b) | (np.isnat(a) & np.isnat(b))).all()


def _timed(fn, rows) -> float:
    t = time.perf_counter()
    fn(rows)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
