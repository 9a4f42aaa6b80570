"""Writing traces: the statements of a batch on the driver's cursor.

``log_traces`` and ``merge_traces`` (``traces.py``) build a batch's rows first (``trace_rows``),
then, in one transaction, delete the earlier copies of the ids (``_replace``), upsert the trace
rows and insert the rows under them: on PostgreSQL by ``COPY ... FROM STDIN``, on SQLite with one
``executemany`` per table. SQLAlchemy's per-row parameter handling would cost more than the
inserts themselves, so these run on the DBAPI cursor, with its errors raised as SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from genver.exceptions import InvalidArgumentError, NotFoundError
from genver.store.sql import tables as t
from genver.store.sql.filters import Expr
from genver.store.sql.trace_rows import KV_INSERT, SPAN_INSERT, TRACE_INSERT, TraceRows

_T = t.traces
_M = t.trace_metadata
_G = t.trace_tags
_S = t.spans
CHUNK = 500  # ids per IN (...), far below SQLite's and PostgreSQL's parameter limits


def replace_copies(
    conn: Connection, insert: Mapping[str, str], existing: Sequence[str], rows: TraceRows
) -> None:
    # A trace stored again replaces its copy: its spans, metadata and tags are deleted and its
    # row is upserted in place, so the assessments logged on it (a retried or re-spooled batch is
    # the same trace) stay, and a concurrent log_assessments never finds it missing.
    for chunk in chunks(existing):
        for table in (_S, _M, _G):
            conn.execute(table.delete().where(table.c.trace_id.in_(chunk)))
    # On the driver's cursor: SQLAlchemy's per-row parameter handling would cost more than the
    # inserts themselves (the values are already plain str/int/float/None/bytes). On PostgreSQL
    # the rows under a trace go by COPY: a trace's ~10 of them cost one buffered line each
    # instead of an INSERT executed in the pipeline (the trace row itself is an upsert).
    for table, table_rows in ((_T, rows.traces), (_M, rows.metadata), (_G, rows.tags), (_S, rows.spans)):
        if not table_rows:
            continue
        copy = insert.get("COPY " + table.name)
        if copy is None:
            _driver(conn, insert[table.name], table_rows, many=True)
        else:
            _driver_copy(conn, copy, table_rows)


def chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def existing(conn: Connection, ids: Sequence[str], *conds: Expr) -> list[str]:
    return [
        tid
        for chunk in chunks(ids)
        for tid in conn.execute(sa.select(_T.c.trace_id).where(_T.c.trace_id.in_(chunk), *conds)).scalars()
    ]


def delete_rows(conn: Connection, ids: Sequence[str]) -> None:
    """Delete traces and their rows (assessments included), children first (SQLite does not
    cascade by default)."""
    for chunk in chunks(ids):
        for table in (t.assessments, _S, _M, _G, _T):
            conn.execute(table.delete().where(table.c.trace_id.in_(chunk)))


_INSERTS: dict[tuple[str, str], dict[str, str]] = {}


def driver_inserts(dialect: sa.Dialect) -> dict[str, str]:
    """``INSERT`` statements in the driver's own parameter style, for the row tuples of
    ``TraceRows``; span attributes arrive as JSON text (PostgreSQL casts them to ``json``).
    Cached per dialect name and parameter style, not per dialect object, so stores that are
    closed are not kept alive by the cache."""
    key = (dialect.name, dialect.paramstyle)
    cached = _INSERTS.get(key)
    if cached is None:
        cached = _INSERTS[key] = _build_inserts(dialect)
    return cached


def _build_inserts(dialect: sa.Dialect) -> dict[str, str]:
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    out = {}
    for table, columns in ((_T, TRACE_INSERT), (_M, KV_INSERT), (_G, KV_INSERT), (_S, SPAN_INSERT)):
        marks = [
            f"CAST({mark} AS JSON)" if c == "attributes" and dialect.name == "postgresql" else mark
            for c in columns
        ]
        names = ", ".join(quote(c) for c in columns)
        out[table.name] = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join(marks)})"
    # A trace row is replaced in place (its assessments reference it); the same text on both.
    update = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in TRACE_INSERT[1:])
    out[_T.name] += f" ON CONFLICT ({quote('trace_id')}) DO UPDATE SET {update}"
    if dialect.name == "postgresql":
        for table, columns in ((_M, KV_INSERT), (_G, KV_INSERT), (_S, SPAN_INSERT)):
            names = ", ".join(quote(c) for c in columns)
            out["COPY " + table.name] = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    return out


def _driver(conn: Connection, sql: str, args: Any, *, many: bool = False) -> list[Any]:
    """``sql`` on the driver's cursor, in the connection's transaction: a batch of traces pays
    a handful of statements, and SQLAlchemy's per-execution work was most of their cost. Driver
    errors are raised as SQLAlchemy's (an ``IntegrityError`` is retried by ``log_traces``)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
            return []
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    except dbapi_error as e:
        raise DBAPIError.instance(sql, args, e, dbapi_error) from e
    finally:
        cursor.close()


def _driver_copy(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL's ``COPY ... FROM STDIN`` of ``rows``, in the connection's transaction; errors
    as ``_driver`` raises them (a duplicate key is an ``IntegrityError``, retried)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi_error as e:
        raise DBAPIError.instance(sql, None, e, dbapi_error) from e
    finally:
        cursor.close()


def _in_sql(conn: Connection, head: str, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"{head} IN ({', '.join([mark] * count)})"


def existing_ids(conn: Connection, ids: Sequence[str]) -> list[str]:
    """``_existing`` on the driver's cursor: which of ``ids`` are stored (usually none)."""
    out: list[str] = []
    for chunk in chunks(ids):
        sql = _in_sql(conn, "SELECT trace_id FROM traces WHERE trace_id", len(chunk))
        out.extend(r[0] for r in _driver(conn, sql, list(chunk)))
    return out


def require_experiments(conn: Connection, experiments: Mapping[int, str]) -> None:
    sql = _in_sql(
        conn, "SELECT experiment_id, lifecycle_stage FROM experiments WHERE experiment_id", len(experiments)
    )
    stages: dict[int, str] = {r[0]: r[1] for r in _driver(conn, sql, list(experiments))}
    for exp_int, trace_id in experiments.items():
        if exp_int not in stages:
            raise NotFoundError(f"No experiment with id {str(exp_int)!r} (for trace {trace_id!r}).")
        if stages[exp_int] != "active":
            raise InvalidArgumentError(
                f"Experiment with id {str(exp_int)!r} is deleted: cannot log trace {trace_id!r} to it."
            )
