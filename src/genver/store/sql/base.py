"""Shared plumbing of the SQL store: the engine, transactions with retry, dialect-aware upserts,
write-once params (runs and versions both have them), and recording changes to versions in
their history (``history_rows``)."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from genver.exceptions import InvalidArgumentError, NotFoundError, StoreCorruptError, StoreUnavailableError
from genver.ids import now_ms
from genver.store.actor import acting_or, local_user
from genver.store.sql import history_rows
from genver.store.sql import tables as t
from genver.store.sql.engine import (
    WRITE_OPTION,
    corrupt_message,
    create_engine,
    is_corrupt,
    is_transient,
    retry_delays,
    safe_url,
    sleep,
)

T = TypeVar("T")
log = logging.getLogger("genver.store")

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
MAX_EXPERIMENT_ID = 2**31 - 1  # experiment_id is a 32-bit INTEGER column on PostgreSQL

# Built once: SQLAlchemy then skips statement construction and cache-key work on every call.
_GET_EXPERIMENT = sa.select(t.experiments).where(
    t.experiments.c.experiment_id == sa.bindparam("experiment_id")
)


class DriverConnection(Protocol):
    """What ``driver_rows`` reads of a connection: SQLAlchemy's ``Connection``, or a
    ``RawConnection`` (``SqlBase._read_driver``)."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def connection(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RawConnection:
    """A pooled driver connection and its dialect, without SQLAlchemy's ``Connection``."""

    dialect: Dialect
    connection: Any


def driver_rows(
    conn: DriverConnection, stmt: sa.Select[Any], params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` as the driver's plain tuples, for reads of tens of thousands of rows
    whose columns need no conversion (text and integers): SQLAlchemy's per-row processing is
    half the cost of such a read. The statement is compiled once per dialect; driver errors are
    raised as SQLAlchemy's, as any other statement's are."""
    dialect = conn.dialect
    key = (id(stmt), dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = stmt.compile(dialect=dialect)
    values = compiled.construct_params(params)
    args: Any = [values[k] for k in compiled.positiontup or ()] if compiled.positional else values
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, args)
        return list(cursor.fetchall())
    except dialect.loaded_dbapi.Error as e:
        raise DBAPIError.instance(compiled.string, args, e, dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()


_COMPILED: dict[tuple[int, str], Any] = {}  # statements are module constants: ids are stable


#: SQLite's page cache per connection, in KiB (its default is 2,000 KiB). One search reads a
#: few thousand index and row pages; with a 2 MB cache the statements of the same search evict
#: each other's pages, and each re-read costs a system call. Memory is taken only as pages are
#: read, so small databases use little.
SQLITE_CACHE_KIB = 16_384


def _size_page_cache(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


class SqlBase:
    """Engine ownership and transaction helpers. Every resource mixin subclasses this directly
    (never another mixin): what two topics share lives here or in a module function."""

    def __init__(
        self,
        uri_or_engine: str | Engine,
        *,
        artifact_root: str | None = None,
        clock: Callable[[], int] = now_ms,
        busy_timeout: float = 60.0,
        upgrade: bool = True,
        actor: Callable[[], str] | None = None,
    ) -> None:
        """``clock`` gives the time in ms of every timestamp the store writes; ``actor`` who a
        history entry names (default: a server request's token name, else the local user as
        ``GENVER_USER`` or the OS names it when the store opens)."""
        if isinstance(uri_or_engine, Engine):
            self._engine = uri_or_engine
            self.uri = uri_or_engine.url.render_as_string(hide_password=False)
        else:
            self.uri = uri_or_engine
            self._engine = create_engine(uri_or_engine, busy_timeout=busy_timeout)
            if self._engine.dialect.name == "sqlite":
                sa.event.listen(self._engine, "connect", _size_page_cache)
        self._clock = clock
        if actor is None:
            local = local_user()
            actor = functools.partial(acting_or, local)
        self._actor = actor
        self._history_head: history_rows.Head | None = None  # the last one this store committed
        self._pending = threading.local()  # .head: what this thread's open transaction appended
        self._artifact_root = artifact_root or self._default_artifact_root()
        self.dialect = self._engine.dialect.name
        if upgrade:
            from genver.store.sql.migrate import upgrade as run_upgrade

            try:
                self._guard(lambda: run_upgrade(self._engine))
                self._ensure_default_experiment()
            except BaseException:
                if not isinstance(uri_or_engine, Engine):  # ours: close its connections
                    self._engine.dispose()
                raise

    def _default_artifact_root(self) -> str:
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return os.path.join(os.path.dirname(os.path.abspath(url.database or "")), "genver-artifacts")
        return os.path.abspath("genver-artifacts")

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    # -- transactions -------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying transient conflicts, and map connection failures to
        ``StoreUnavailableError``."""
        delays = retry_delays()
        while True:
            try:
                return fn()
            except DataError as exc:
                # A value the database refused (out of range, unstorable): the caller's input.
                raise InvalidArgumentError(f"The store rejected a value: {exc.orig}") from exc
            except (OperationalError, DBAPIError) as exc:
                if is_corrupt(exc):
                    raise StoreCorruptError(corrupt_message(self.uri, exc)) from exc
                if is_transient(exc):
                    delay = next(delays, None)
                    if delay is not None:
                        sleep(delay)
                        continue
                if isinstance(exc, OperationalError) or exc.connection_invalidated:
                    raise StoreUnavailableError(
                        f"The store at {safe_url(self.uri)} is unavailable: {exc.orig}"
                    ) from exc
                raise

    def _read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self._engine.connect() as conn:
                return fn(conn)

        return self._guard(run)

    def _read_driver(self, fn: Callable[[DriverConnection], T]) -> T:
        """``_read`` for reads made wholly on the driver's cursor (``driver_rows``): a pooled
        connection without SQLAlchemy's ``Connection`` around it, whose setup and teardown were
        a sixth of an alias lookup (``set_active_model(name="@production")``). Nothing begins a
        transaction on SQLite; PostgreSQL's driver begins one, which the pool rolls back when
        the connection returns."""
        engine = self._engine

        def run() -> T:
            dbapi = engine.dialect.loaded_dbapi
            try:
                raw = engine.raw_connection()
            except dbapi.Error as e:  # as a Connection raises it: the store is unreachable
                raise DBAPIError.instance(None, None, e, dbapi.Error) from e
            try:
                return fn(RawConnection(engine.dialect, raw))
            finally:
                raw.close()

        return self._guard(run)

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction (``BEGIN IMMEDIATE`` on SQLite), retried whole on
        a transient conflict; an exception rolls everything back."""

        def run() -> T:
            pending = self._pending
            pending.head = None
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                try:
                    with conn.begin():
                        result = fn(conn)
                    head = pending.head
                finally:
                    pending.head = None
            if head is not None:  # committed: the next append tries after it first
                self._history_head = head
            return result

        return self._guard(run)

    # -- dialect helpers ------------------------------------------------------------------------
    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _upsert(
        self, conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
    ) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update), list(rows))

    def _insert_ignore(self, conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            conn.execute(self._insert(table).on_conflict_do_nothing(), list(rows))

    def _write_once(
        self,
        conn: Connection,
        table: sa.Table,
        owner_col: str,
        owner: str,
        params: Mapping[str, str],
        what: str,
    ) -> dict[str, str]:
        """Insert ``params`` of a run or version (``owner`` in ``owner_col``) into ``table``:
        params are write-once, so a key already stored with another value is an error. Returns
        the params that were new."""
        existing = {
            r.key: r.value
            for r in conn.execute(
                sa.select(table.c.key, table.c.value).where(
                    table.c[owner_col] == owner, table.c.key.in_(list(params))
                )
            )
        }
        clashes = {k: (existing[k], v) for k, v in params.items() if k in existing and existing[k] != v}
        if clashes:
            listing = "; ".join(f"{k!r} is {old!r}, not {new!r}" for k, (old, new) in clashes.items())
            raise InvalidArgumentError(
                f"Params are write-once and {what} {owner!r} already has different values: {listing}. "
                + (
                    "Create a new version for new parameter values."
                    if what == "version"
                    else "Start a new run."
                )
            )
        new = {k: v for k, v in params.items() if k not in existing}
        self._insert_ignore(conn, table, [{owner_col: owner, "key": k, "value": v} for k, v in new.items()])
        return new

    @contextmanager
    def _lock(self, conn: Connection, key: str) -> Iterator[None]:
        """Serialize writers on ``key`` for the rest of the transaction (SQLite's write lock
        already does; PostgreSQL takes an advisory lock)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
        yield

    def _lock_all(self, conn: Connection, keys: Sequence[str]) -> None:
        """``_lock`` on each of ``keys``, in their order, in one statement (a round trip per key
        was most of what merging a batch of new traces waited for)."""
        if self.dialect == "postgresql" and keys:
            conn.exec_driver_sql(
                "SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(%(keys)s::text[]) AS k",
                {"keys": list(keys)},
            )

    # -- history -------------------------------------------------------------------------------
    def _lock_history(self, conn: Connection) -> None:
        """Hold the history chain for the rest of the transaction (PostgreSQL), before reading a
        value a change replaces, so the entry's "before" is the value the previous entry left."""
        history_rows.lock_chain(conn)

    def _record(
        self,
        conn: Connection,
        changes: Sequence[history_rows.Change],
        *,
        locked: bool = False,
        time_ms: int | None = None,
    ) -> int:
        """Append ``changes`` to the history in this transaction (taking the chain unless
        ``locked``); returns the time the entries carry."""
        when = self._clock() if time_ms is None else time_ms
        if not changes:
            return when
        head = history_rows.append(
            conn, changes, time_ms=when, actor=self._actor(), known=self._history_head, locked=locked
        )
        self._pending.head = head  # remembered by _write once the transaction commits
        return head.time

    # -- shared lookups --------------------------------------------------------------------------
    def _experiment_int(self, experiment_id: object) -> int:
        value: int | None = None
        if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
            value = experiment_id
        elif isinstance(experiment_id, str):
            text = experiment_id.strip()
            if text.isascii() and text.isdigit():  # not "²" or other Unicode digits
                value = int(text)
        if value is None or not 0 <= value <= MAX_EXPERIMENT_ID:
            raise InvalidArgumentError(
                f"Invalid experiment id {experiment_id!r}: expected a string of digits such as '0' "
                f"(at most {MAX_EXPERIMENT_ID})."
            )
        return value

    def _experiment_ints(self, experiment_ids: object) -> list[int]:
        if isinstance(experiment_ids, (str, bytes)) or not isinstance(experiment_ids, Sequence):
            raise InvalidArgumentError(
                f"Invalid experiment_ids {experiment_ids!r}: expected a list of ids such as ['0']."
            )
        return [self._experiment_int(e) for e in experiment_ids]

    def _active_experiment_row(self, conn: Connection, experiment_id: object) -> sa.Row[Any]:
        exp_int = self._experiment_int(experiment_id)
        row = conn.execute(_GET_EXPERIMENT, {"experiment_id": exp_int}).first()
        if row is None:
            raise NotFoundError(f"No experiment with id {str(experiment_id)!r}.")
        if row.lifecycle_stage != "active":
            raise InvalidArgumentError(
                f"Experiment {row.name!r} (id {str(experiment_id)!r}) is deleted: restore it or use another one."
            )
        return row

    def _ensure_default_experiment(self) -> None:
        def ensure(conn: Connection) -> None:
            now = self._clock()
            self._insert_ignore(
                conn,
                t.experiments,
                [
                    {
                        "experiment_id": 0,
                        "name": DEFAULT_EXPERIMENT_NAME,
                        "artifact_location": os.path.join(self._artifact_root, "0"),
                        "lifecycle_stage": "active",
                        "creation_time": now,
                        "last_update_time": now,
                    }
                ],
            )

        exists = self._read(
            lambda c: c.execute(
                sa.select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id == 0)
            ).first()
        )
        if exists is None:
            self._write(ensure)
