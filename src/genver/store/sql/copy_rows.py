"""Rows of any genver table moved between SQLite and PostgreSQL, and their checksum.

``db copy`` works on every table of ``tables.metadata`` without knowing it: a ``TableCopy`` reads
a table in primary-key order after a key (keyset pagination, so a batch costs the same at the
start and at the end of a big table), turns each row into portable values, writes them with the
destination's bulk path, and hashes them.

- **Portable values**: what both databases store the same way. Booleans are ``bool`` (SQLite
  keeps 0/1), metric values are floats (SQLite keeps NaN as the text ``'NaN'``), JSON columns are
  their text, read as stored (PostgreSQL's ``json`` keeps its input text verbatim) and written as
  is, so a value is byte-identical in the copy (the history chain's hashes depend on it).
- **Bulk writes**: PostgreSQL's ``COPY FROM STDIN`` (measured faster than a pipelined
  ``executemany``, see bench/README.md), SQLite's ``executemany``.
- **Checksum**: each row's portable values, float columns as both databases return them (-0.0
  as 0.0: SQLite does not keep the sign of zero), are hashed by their ``repr`` (BLAKE2b, 128
  bits), and a table's hashes are summed modulo 2**128. A sum does not depend on row order,
  which differs between the two databases (PostgreSQL orders text by its collation), and unlike
  a XOR it counts a duplicated row twice.
- **Column types**: integers, text, floats, metric values, booleans and JSON. A table with a
  column of another type is refused by name (``TableCopy``), never copied approximately.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genver.exceptions import StoreError
from genver.store.sql.tables import MetricValue

Row = tuple[Any, ...]
_MOD = 1 << 128


@dataclass(frozen=True, slots=True)
class Checksum:
    """Rows and the sum of their hashes (hex) for one table."""

    rows: int
    digest: str


class TableCopy:
    """Reading, writing and hashing one table's rows, on any pair of dialects."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.name = table.name
        self.columns = [c.name for c in table.columns]
        self.pk = [c.name for c in table.primary_key.columns]
        if not self.pk:
            raise StoreError(f"Table {table.name!r} has no primary key: db copy cannot page through it.")
        self._pk_at = [self.columns.index(k) for k in self.pk]
        kinds = []
        for c in table.columns:
            kind = _kind(c.type)
            if kind is None:
                raise StoreError(
                    f"db copy does not know how to move column {table.name}.{c.name} of type {c.type!r} "
                    "between databases: teach genver.store.sql.copy_rows its portable form."
                )
            kinds.append(kind)
        self._kinds = kinds
        self._fix = [i for i, k in enumerate(kinds) if k not in ("", "float")]
        self._floats = [i for i, k in enumerate(kinds) if k in ("metric", "float")]

    # -- reading ------------------------------------------------------------------------------------
    def read(self, conn: Connection, after: Sequence[Any] | None, limit: int) -> list[Row]:
        """Up to ``limit`` rows after the primary key ``after`` (None: from the start), in key
        order, as portable values."""
        dialect = conn.dialect
        q = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        cols = ", ".join(
            f"CAST({q(c)} AS TEXT)" if k == "json" and dialect.name == "postgresql" else q(c)
            for c, k in zip(self.columns, self._kinds, strict=True)
        )
        keys = ", ".join(q(k) for k in self.pk)
        sql = f"SELECT {cols} FROM {q(self.name)}"
        params: list[Any] = []
        if after is not None:
            sql += f" WHERE ({keys}) > ({', '.join([mark] * len(self.pk))})"
            params = list(after)
        sql += f" ORDER BY {keys} LIMIT {int(limit)}"
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [self._portable(r) for r in rows] if self._fix else [tuple(r) for r in rows]

    def scan(self, conn: Connection, batch: int = 10_000) -> Iterator[list[Row]]:
        """Every row, ``batch`` at a time, in key order."""
        after: Row | None = None
        while True:
            rows = self.read(conn, after, batch)
            if rows:
                yield rows
            if len(rows) < batch:
                return
            after = self.key(rows[-1])

    def key(self, row: Row) -> Row:
        return tuple(row[i] for i in self._pk_at)

    def _portable(self, row: Sequence[Any]) -> Row:
        out = list(row)
        for i in self._fix:
            v = out[i]
            if v is None:
                continue
            kind = self._kinds[i]
            if kind == "bool":
                out[i] = bool(v)
            elif kind == "metric":
                out[i] = float(v)  # SQLite's 'NaN' text
            elif kind == "bytes":
                out[i] = bytes(v)  # a driver's memoryview
            elif not isinstance(v, str):  # json: a driver that decoded it
                out[i] = json.dumps(v)
        return tuple(out)

    # -- writing ------------------------------------------------------------------------------------
    def write(self, conn: Connection, rows: Sequence[Row]) -> None:
        """Insert ``rows`` (portable values) in the transaction ``conn`` is in."""
        if not rows:
            return
        dialect = conn.dialect
        q = dialect.identifier_preparer.quote
        names = ", ".join(q(c) for c in self.columns)
        cursor = conn.connection.cursor()
        try:
            if dialect.name == "postgresql":
                with cursor.copy(f"COPY {q(self.name)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                metrics = [i for i, k in enumerate(self._kinds) if k == "metric"]
                if metrics:  # SQLite keeps NaN as text, as MetricValue writes it
                    rows = [_nan_as_text(r, metrics) for r in rows]
                marks = ", ".join("?" for _ in self.columns)
                cursor.executemany(f"INSERT INTO {q(self.name)} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()

    # -- checking -----------------------------------------------------------------------------------
    def checksum(self, conn: Connection, batch: int = 10_000) -> Checksum:
        total = count = 0
        floats = self._floats
        for rows in self.scan(conn, batch):
            for row in rows:
                total += row_hash(_zero_floats(row, floats) if floats else row)
            count += len(rows)
        return Checksum(count, f"{total % _MOD:032x}")


def _kind(type_: sa.types.TypeEngine[Any]) -> str | None:
    """How a column's values are made portable: ``bool``, ``metric``, ``float``, ``json``, ``""``
    (as read: integers and text), or None for a type db copy does not handle."""
    if isinstance(type_, sa.Boolean):
        return "bool"
    if isinstance(type_, MetricValue):
        return "metric"
    if isinstance(type_, sa.Float):
        return "float"
    if isinstance(type_, sa.JSON):
        return "json"
    if isinstance(type_, (sa.Integer, sa.String)):  # BigInteger and Text are subclasses
        return ""
    if isinstance(type_, sa.LargeBinary):
        return "bytes"
    return None


def _nan_as_text(row: Row, at: Sequence[int]) -> Row:
    if not any(isinstance(row[i], float) and math.isnan(row[i]) for i in at):
        return row
    return tuple(
        "NaN" if i in at and isinstance(v, float) and math.isnan(v) else v for i, v in enumerate(row)
    )


def _zero_floats(row: Row, at: Sequence[int]) -> Row:
    """Float columns as both databases give them back: a float (SQLite's REAL column may hold an
    integer), -0.0 as 0.0 (SQLite does not keep the sign of zero)."""
    out = list(row)
    for i in at:
        v = out[i]
        if v is not None:
            out[i] = float(v) if v != 0 else 0.0
    return tuple(out)


def row_hash(row: Row) -> int:
    """A row's 128-bit hash: BLAKE2b of its ``repr``. Rows hold portable values (text,
    integers, floats, booleans, bytes, None), so the same row reads the same from either database, and
    ``repr`` keeps fields apart: ``('ab', 'c')`` and ``('a', 'bc')`` differ."""
    return int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=16).digest(), "big")
