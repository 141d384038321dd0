"""Dimension ids of categorical values (``dim_<column>``), with a per-process cache.

A batch's distinct values of a column are mapped to their ids once: the values already
known to this process come from the cache; the others go through one binary ``COPY``
into a temporary table, one ``INSERT ... ON CONFLICT (value) DO NOTHING`` in sorted
order (so concurrent writers take the unique-index locks in one order and never
deadlock) and one join copied back as two binary arrays.

The cache learns an id only once the transaction that used it committed (a rolled-back
transaction's new ids do not exist). Ids are never reused, so a cached id stays right;
the only ids that disappear are a forgotten customer's, and `forget` refuses that
customer's data from then on (suppression), so a stale entry is never written.

Examples
--------
>>> import numpy as np
>>> utf8(np.array(["C1", "Zoë"], dtype=object)).tolist()
[b'C1', b'Zo\\xc3\\xab']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint.storage._known_ids import KnownIds
from touchpoint.storage._postgres_copy import array, copy_rows, read_copy_row, texts

__all__ = ["VALUES", "Dimensions", "utf8"]

#: The temporary table that carries new values (rows deleted at each commit).
VALUES = "_touchpoint_values"
VALUES_DDL = (
    f'CREATE TEMP TABLE IF NOT EXISTS {VALUES} (pos integer NOT NULL, value text COLLATE "C" '
    "NOT NULL) ON COMMIT DELETE ROWS"
)


def utf8(values: np.ndarray) -> np.ndarray:
    """Text values (an object array of str) as a fixed-width array of UTF-8 bytes."""
    return np.array([str(v).encode() for v in values], dtype=bytes)  # one per distinct value


def copy_one(con: Any, sql: str, params: Any = None) -> list[Any]:
    """The fields of the single row a binary ``COPY (SELECT ...) TO STDOUT`` returns."""
    with con.cursor().copy(sql, params) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    return read_copy_row(data)


class Dimensions(KnownIds):
    """Value -> id of each categorical column, cached after commit (at most `LIMIT` a column).

    `KnownIds` keeps the ids (``commit``, ``rollback``, ``drop``); this adds the database.
    """

    LIMIT = 2_000_000

    def __init__(self) -> None:
        super().__init__(self.LIMIT)

    def ids(self, con: Any, column: str, values: np.ndarray) -> np.ndarray:
        """The ids of ``values`` (distinct str) in ``dim_<column>``, adding the new ones."""
        out = self.lookup(column, values.tolist())  # ids are an identity's, from 1
        at = np.flatnonzero(out < 0)
        if len(at):
            new = self._fetch(con, column, values[at])
            out[at] = new
            self.learn(column, values[at].tolist(), new)
        return out

    def _fetch(self, con: Any, column: str, values: np.ndarray) -> np.ndarray:
        """Ids of values the cache does not know: inserted if new, else looked up.

        One statement inserts the new values in value order (concurrent writers take
        the unique index's locks in one order) and returns their ids (``RETURNING``):
        86k new values took 0.43-0.47 server CPU s against 0.59-0.94 when inserted and
        then joined back (session 8, ``benchmarks/README.md``, measured under load). A
        value stored already (by another process, or before this one started) is
        looked up by a later statement, whose snapshot sees it.
        """
        con.execute(f"DELETE FROM {VALUES}")
        with con.cursor().copy(f"COPY {VALUES} FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(copy_rows([np.arange(len(values), dtype=">i4"), utf8(values)]))
        out = np.full(len(values), -1, dtype=np.int64)
        added = copy_one(
            con,
            f"COPY (WITH added AS (INSERT INTO dim_{column} (value) SELECT value FROM {VALUES} "
            "ORDER BY value ON CONFLICT (value) DO NOTHING RETURNING id, value) "
            f"SELECT count(*), array_agg(v.pos), array_agg(a.id) FROM added a "
            f"JOIN {VALUES} v USING (value)) TO STDOUT (FORMAT BINARY)",
        )
        if int.from_bytes(bytes(added[0]), "big", signed=True):
            out[array(added[1], ">i4")] = array(added[2], ">i4")
        missing = np.flatnonzero(out < 0)
        if len(missing):
            found = copy_one(
                con,
                f"COPY (SELECT array_agg(v.pos), array_agg(d.id) FROM {VALUES} v "
                f"CROSS JOIN LATERAL (SELECT id FROM dim_{column} d WHERE d.value = v.value "
                "OFFSET 0) d WHERE v.pos = ANY(%s::integer[])) TO STDOUT (FORMAT BINARY)",
                [missing.tolist()],
            )
            out[array(found[0], ">i4")] = array(found[1], ">i4")
        return out


def categories(con: Any, column: str, used: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, values) of ``dim_<column>``: all of them, or only ``used`` ids when given."""
    where, params = "", None
    if used is not None:
        where, params = " WHERE id = ANY(%s::integer[])", [used.tolist()]
    fields = copy_one(
        con,
        f"COPY (SELECT count(*), array_agg(id), string_agg(textsend(value), ''::bytea), "
        f"array_agg(octet_length(value)) FROM dim_{column}{where}) TO STDOUT (FORMAT BINARY)",
        params,
    )
    if not int.from_bytes(bytes(fields[0]), "big", signed=True):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    ids = array(fields[1], ">i4").astype(np.int64)
    raw = texts(fields[2], array(fields[3], ">i4"))
    values = np.char.decode(raw, "utf-8").astype(object) if raw.dtype.itemsize else raw
    return ids, values
