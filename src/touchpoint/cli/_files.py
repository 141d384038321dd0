"""Reading event files for the command line: CSV (stdlib ``csv``) or Parquet, in batches.

A CSV file (or ``-``, CSV on standard input) is read with the standard library's ``csv``
module, so importing needs no extra and every value reaches the stable event id exactly
as written in the file; an empty field is a missing value. A Parquet file needs
``pyarrow`` (the ``dataframes`` extra). Either way the file comes in batches of columns
(numpy object arrays), never whole, so a file larger than memory imports in constant
memory (but for the counts of distinct rows, see `StableIds`).

Examples
--------
>>> import io
>>> text = io.StringIO("customer,time,amount\\nC1,2026-01-01,5\\nC1,2026-01-01,5\\nC2,2026-01-02,\\n")
>>> header, batches = read_csv(text, batch_size=2)
>>> [b["customer"].tolist() for b, _rows in batches]
[['C1', 'C1'], ['C2']]
>>> ids = StableIds()
>>> first = ids.of([["C1", "2026-01-01", "5"], ["C1", "2026-01-01", "5"]])
>>> first[0] != first[1], ids.of([["C1", "2026-01-01", "5"]])[0] == StableIds().of([["C1", "2026-01-01", "5"]] * 3)[2]
(True, True)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from touchpoint._extras import require
from touchpoint.errors import Problem, TouchpointError, ValidationError

__all__ = [
    "StableIds",
    "no_such_column",
    "open_events",
    "print_rejected",
    "read_csv",
    "read_parquet",
    "reading",
]

#: Rejected rows a command's text report prints (all of them are counted).
SHOWN = 10

Batch = dict[str, np.ndarray]

PARQUET_SUFFIXES = (".parquet", ".pq")


class StableIds:
    """Event ids derived from a row's raw fields and its occurrence among identical rows.

    The id of a row is the BLAKE2b-128 hex digest of the row's fields (in file-column
    order, as written) and of how many identical rows came before it in the file, counted
    across batches. So the same file gives the same ids every time, a file with rows
    appended gives the old rows their old ids, and identical rows (two purchases of the
    same amount on the same day, as a transaction log records them) get different ids.
    It keeps one 16-byte digest and a count per distinct row seen.
    """

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def of(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """The ids of ``rows`` (each a sequence of field values), in order."""
        seen = self._seen
        out = np.empty(len(rows), dtype=object)
        # one hash per row: the id is of the row's own text, which no column operation gives
        for i, row in enumerate(rows):
            text = json.dumps(list(row), ensure_ascii=False, default=str).encode("utf-8")
            key = hashlib.blake2b(text, digest_size=16).digest()
            n = seen.get(key, 0)
            seen[key] = n + 1
            out[i] = hashlib.blake2b(key + b"#%d" % n, digest_size=16).hexdigest()
        return out


def _columns(header: list[str], rows: list[list[str]], line: int) -> Batch:
    width = len(header)
    for k, row in enumerate(rows):
        if len(row) != width:
            raise ValidationError(
                [
                    Problem(
                        f"row {line + k}",
                        f"has {len(row)} fields, the header has {width}",
                        len(row),
                    )
                ]
            )
    table = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    table[table == ""] = None  # an empty field is a missing value
    return {name: table[:, j] for j, name in enumerate(header)}


def read_csv(
    stream: IO[str], *, batch_size: int
) -> tuple[list[str], Iterator[tuple[Batch, list[Any]]]]:
    """The header of a CSV stream and its rows in batches, each with its raw rows.

    Each batch is (column name -> values, the raw rows for the stable ids, see
    `StableIds`).
    """
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header:
        raise ValidationError([Problem("header", "the file is empty: no header line", None)])
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ValidationError([Problem("header", "duplicate column names", dupes)])

    def batches() -> Iterator[tuple[Batch, list[Any]]]:
        done = 0
        while True:
            rows = [row for _, row in zip(range(batch_size), reader, strict=False)]
            if not rows:
                return
            batch = _columns(header, rows, done + 1)
            done += len(rows)
            yield batch, rows

    return header, batches()


def read_parquet(
    path: Path, *, batch_size: int
) -> tuple[list[str], Iterator[tuple[Batch, list[Any]]]]:
    """The columns of a Parquet file and its rows in batches (needs ``pyarrow``)."""
    pq = require("pyarrow.parquet", extra="dataframes", feature="Reading Parquet files")
    file = pq.ParquetFile(path)
    header = list(file.schema_arrow.names)

    def batches() -> Iterator[tuple[Batch, list[Any]]]:
        # one batch at a time: a handful of columns each, converted whole
        for record_batch in file.iter_batches(batch_size=batch_size):
            columns = {name: record_batch.column(name).to_pylist() for name in header}
            rows = [list(r) for r in zip(*columns.values(), strict=True)]
            batch: Batch = {}
            for name, values in columns.items():
                array = np.empty(len(values), dtype=object)
                array[:] = values
                batch[name] = array
            yield batch, rows

    return header, batches()


def open_events(
    source: str, *, batch_size: int
) -> tuple[list[str], Iterator[tuple[Batch, list[Any]]], Any]:
    """Header, batches and the file to close, for a path (``.parquet``: Parquet) or ``-``."""
    if source == "-":
        stream: IO[str] = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        header, batches = read_csv(stream, batch_size=batch_size)
        return header, batches, None
    path = Path(source)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        header, batches = read_parquet(path, batch_size=batch_size)
        return header, batches, None
    handle = path.open(encoding="utf-8-sig", newline="")
    try:
        header, batches = read_csv(handle, batch_size=batch_size)
    except BaseException:
        handle.close()
        raise
    return header, batches, handle


def no_such_column(option: str, column: str, header: list[str]) -> Problem:
    """The problem of an option (``--customer``) naming a column the file does not have."""
    return Problem(option, f"no such column in the file (columns: {', '.join(header)})", column)


def print_rejected(lines: list[str], *, refused: bool, instead: str) -> None:
    """The rejected rows of an import report (the first `SHOWN`), and what refusing meant.

    ``instead`` is the option that stores the good rows (``--on-reject quarantine``).
    """
    if lines:
        print("rejected rows:")
        for line in lines:
            print(f"  - {line}")
        if len(lines) == SHOWN:
            print(f"  (the first {SHOWN} shown)")
    if refused:
        print(
            "refused: the batch with the rejected rows was not stored and the rest of the "
            "file was not read (the batches before it are stored); fix the rows and run "
            f"again, or use {instead}"
        )


@contextmanager
def reading(
    source: str, *, batch_size: int
) -> Iterator[tuple[list[str], Iterator[tuple[Batch, list[Any]]]]]:
    """`open_events` as a ``with`` block: (header, batches), the file closed at its end."""
    if batch_size < 1:
        raise TouchpointError("--batch-size must be at least 1")
    header, batches, handle = open_events(source, batch_size=batch_size)
    try:
        yield header, batches
    finally:
        if handle is not None:
            handle.close()
