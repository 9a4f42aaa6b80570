"""Engines for SQLite and PostgreSQL, tuned so concurrent writers never see "database is locked".

SQLite: WAL journal, a busy timeout, and every write transaction opened with ``BEGIN IMMEDIATE``
so that a writer takes the write lock up front. A deferred transaction that upgrades from read to
write can fail with SQLITE_BUSY without waiting on the busy timeout; taking the lock first makes
SQLite's busy handler apply to every writer. Reads stay deferred and run beside writers (WAL).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from genver.exceptions import InvalidArgumentError, StoreUnavailableError

WRITE_OPTION = "genver_write"
#: WAL pages after which a commit checkpoints (SQLite's default is 1,000). The checkpoint runs in
#: the committing call: it copies the pages back and syncs the files. A log_metric writes ~10
#: pages, so by default every hundredth one paid that; ten times rarer, each page changed many
#: times is copied once per checkpoint, and wall per log_metric went 827 -> 759 µs on the
#: machine measured (bench/README, "History"). The WAL file grows to ~40 MB between
#: checkpoints, and SQLite checkpoints when the last connection closes.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000


def normalize_url(uri: str) -> str:
    """Map user-facing URIs to SQLAlchemy URLs (``postgresql://`` uses psycopg 3)."""
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
    return uri


def create_engine(uri: str, *, busy_timeout: float = 60.0) -> Engine:
    url = sa.engine.make_url(normalize_url(uri))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout)
    if url.get_backend_name() == "postgresql":
        try:
            return sa.create_engine(
                url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": 10}
            )
        except ModuleNotFoundError as exc:
            raise InvalidArgumentError(
                f"PostgreSQL stores ({safe_url(uri)}) need the psycopg driver, which is not installed "
                f"({exc}): pip install 'genver[postgres]'."
            ) from None
    raise InvalidArgumentError(f"Unsupported database {uri!r}: expected sqlite:///... or postgresql://...")


def _sqlite_engine(url: sa.engine.URL, busy_timeout: float) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = os.path.dirname(os.path.abspath(database))
        if not os.path.isdir(folder):
            raise InvalidArgumentError(
                f"Cannot open SQLite database {database!r}: folder {folder!r} does not exist."
            )
    in_memory = database in ("", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout, "check_same_thread": False}}
    if in_memory:
        # One shared connection, or every checkout would see a new empty database.
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN itself instead of the sqlite3 module's implicit one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.close()
        # SQLite's lower() folds ASCII only; ILIKE (lower(x) LIKE lower(y)) must fold 'Ü' too.
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _unicode_lower(value: object) -> object:
    return None if value is None else str(value).lower()


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: a locked SQLite file, a dropped connection, a serialization conflict.

    A refused connection is not retried: the server is down, and the caller (the trace exporter
    spools, the app gets ``StoreUnavailableError``) should know at once rather than in seconds."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        s in text
        for s in (
            "database is locked",
            "database table is locked",
            "could not serialize",
            "deadlock detected",
            "server closed the connection",
            "terminating connection",
        )
    )


#: Driver messages that mean the database file (or page) is damaged, not merely unreachable.
_CORRUPT = (
    "file is not a database",
    "database disk image is malformed",
    "malformed database schema",
    "invalid page in block",
    "could not read block",
    "unexpected zero page",
)


def is_corrupt(exc: BaseException) -> bool:
    """A driver error saying the database is damaged or not a database at all."""
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in _CORRUPT)


def corrupt_message(uri: str, exc: BaseException) -> str:
    """What a person reads when the store is damaged: which store, what the driver said, and
    what to do."""
    url = sa.engine.make_url(normalize_url(uri))
    where = (
        f"SQLite file {os.path.abspath(url.database or '')!r}"
        if url.get_backend_name() == "sqlite"
        else safe_url(uri)
    )
    return (
        f"The store at {where} is damaged or is not a genver database ({getattr(exc, 'orig', exc)}). "
        f"Nothing was changed. Check it with `genver db check {safe_url(uri)}`; restore a "
        "backup (`genver db backup` makes one of a healthy SQLite store), or move the file aside to "
        "start a new store."
    )


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors that mean "cannot reach the database" into ``StoreUnavailableError``."""
    try:
        yield
    except OperationalError as exc:
        if is_transient(exc) or "connect" in str(exc).lower():
            raise StoreUnavailableError(f"The store at {safe_url(url)} is unavailable: {exc.orig}") from exc
        raise


def retry_delays(attempts: int = 8, base: float = 0.02) -> Iterator[float]:
    """Jittered exponential backoff for transient write conflicts."""
    for i in range(attempts):
        yield min(2.0, base * (2**i)) * (0.5 + random.random())


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def safe_url(uri: str) -> str:
    """The URI with any password hidden, for messages."""
    try:
        return sa.engine.make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return "<database>"
