"""Checking and copying a SQL store (``genver db check``, ``genver db backup``).

Opening a store never scans it (a full check of a big file takes seconds); these run on demand.

- **check**: SQLite's ``PRAGMA integrity_check`` (every page, index and constraint); on
  PostgreSQL, ``amcheck``'s ``bt_index_check`` on every index of genver's tables when the
  extension is installed. Then, on both, the schema revision and a row count per table.
- **backup**: a consistent copy of a live SQLite store through SQLite's online backup API
  (writers may keep writing; the copy is a snapshot). PostgreSQL has ``pg_dump`` for that.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from genver.exceptions import InvalidArgumentError, StoreCorruptError, StoreUnavailableError
from genver.store.sql import tables
from genver.store.sql.engine import corrupt_message, is_corrupt, safe_url
from genver.store.sql.migrate import current_revision, head_revision

T = TypeVar("T")


@dataclass
class CheckReport:
    """What ``check`` found: ``problems`` (empty when the store is sound), what was checked
    (``checks``), the schema revision and a row count per table."""

    uri: str
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    revision: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(engine: Engine) -> CheckReport:
    """Check the store behind ``engine``; damage is reported in ``problems``, not raised."""
    report = CheckReport(safe_url(engine.url.render_as_string(hide_password=False)))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
                report.checks.append("SQLite integrity_check (every page, index and constraint)")
                report.problems += [f"integrity_check: {r}" for r in found if r != "ok"]
            else:
                _amcheck(conn, report)
            report.revision = current_revision(conn)
            head = head_revision()
            report.checks.append(f"schema revision (genver's newest is {head})")
            if report.revision is None:
                report.problems.append("no genver schema: not a genver database, or an empty one")
                return report
            names = set(sa.inspect(conn).get_table_names())
            for table in tables.metadata.sorted_tables:
                if table.name not in names:
                    report.problems.append(f"table {table.name!r} is missing")
                    continue
                report.counts[table.name] = conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
            report.checks.append("every table present; rows counted")
    except DBAPIError as exc:
        if is_corrupt(exc) or engine.dialect.name == "sqlite":
            report.problems.append(str(exc.orig))
        else:
            raise StoreUnavailableError(f"The store at {report.uri} is unavailable: {exc.orig}") from exc
    return report


def _amcheck(conn: sa.Connection, report: CheckReport) -> None:
    installed = conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'").first()
    if installed is None:
        report.checks.append(
            "PostgreSQL: amcheck is not installed (CREATE EXTENSION amcheck enables index checks); "
            "schema and row counts only"
        )
        return
    names = [t.name for t in tables.metadata.sorted_tables]
    rows = conn.execute(
        sa.text(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_am a ON a.oid = (SELECT relam FROM pg_class WHERE oid = i.indexrelid) "
            "WHERE a.amname = 'btree' AND c.relname = ANY(:names)"
        ),
        {"names": names},
    ).all()
    for (index,) in rows:
        try:
            with conn.begin_nested():
                conn.execute(sa.text("SELECT bt_index_check(CAST(:ix AS regclass))"), {"ix": index})
        except DBAPIError as exc:
            report.problems.append(f"index {index}: {exc.orig}")
    report.checks.append(f"PostgreSQL amcheck bt_index_check on {len(rows)} indexes")


def backup(engine: Engine, dest: str) -> int:
    """Copy the live SQLite store behind ``engine`` to the new file ``dest`` (the online backup
    API: a consistent snapshot while writers keep writing); returns the copy's size in bytes."""
    uri = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "sqlite":
        raise InvalidArgumentError(
            f"`genver db backup` copies SQLite stores; {safe_url(uri)} is PostgreSQL: use pg_dump "
            "(e.g. pg_dump --format=custom --file=genver.dump <database>)."
        )
    if os.path.exists(dest):
        raise InvalidArgumentError(f"Invalid destination {dest!r}: the file exists; name a new file.")
    folder = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(folder):
        raise InvalidArgumentError(f"Invalid destination {dest!r}: folder {folder!r} does not exist.")

    def copy() -> None:
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(dest)
            try:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                target.close()
        finally:
            raw.close()

    _corrupt_as_error(uri, copy, dest)
    return os.path.getsize(dest)


def guarded(uri: str, fn: Callable[[], T]) -> T:
    """``fn()`` with a damaged or unreachable store said as ``StoreCorruptError`` /
    ``StoreUnavailableError`` (for work done on an engine outside ``SqlStore``)."""
    try:
        return fn()
    except (sqlite3.DatabaseError, DBAPIError) as exc:
        if is_corrupt(exc):
            raise StoreCorruptError(corrupt_message(uri, exc)) from exc
        raise StoreUnavailableError(
            f"The store at {safe_url(uri)} is unavailable: {getattr(exc, 'orig', exc)}"
        ) from exc


def _corrupt_as_error(uri: str, fn: Callable[[], T], dest: str) -> T:
    try:
        return guarded(uri, fn)
    except (StoreCorruptError, StoreUnavailableError):
        if os.path.exists(dest):
            os.remove(dest)  # no half copy left behind
        raise
