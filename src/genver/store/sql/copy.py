"""``genver db copy SRC DST``: every row of a store into another, SQLite and PostgreSQL alike.

- **Every table**: ``tables.metadata.sorted_tables``, parents before children, so a table a
  later revision adds is copied too. The source must be at genver's newest revision (a copy never
  changes its source); the destination is brought to it first.
- **Resumable**: each table is read in primary-key order (``copy_rows.TableCopy``) and each batch
  is written in one destination transaction together with its resume marker, the last key copied
  (table ``genver_copy_state``, outside genver's schema). A copy killed at any point resumes after
  its last committed batch: nothing is written twice or skipped.
- **Into an empty store only**: a destination that has no tables, or genver's schema with no rows
  (the ``Default`` experiment a fresh store creates aside), or a partial copy of the same source.
  Anything else is refused before a row is written. Running the copy again after it finished
  verifies it again and writes nothing.
- **A snapshot**: the source is read in one read transaction (SQLite: a WAL snapshot;
  PostgreSQL: REPEATABLE READ), so rows written to it during the copy are not half in it. A copy
  resumed later reads a newer snapshot; the verification then says which tables changed.
- **Ids preserved**, and PostgreSQL's sequences moved past the copied ids (``setval``), so the
  next experiment or metric gets a new id.
- **Verified**: at the end every table's row count and checksum (``copy_rows``) are compared
  between the source snapshot and the destination.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from genver.exceptions import InvalidArgumentError, StoreCorruptError, StoreError, StoreUnavailableError
from genver.store.sql import tables
from genver.store.sql.copy_rows import Checksum, TableCopy
from genver.store.sql.engine import WRITE_OPTION, corrupt_message, create_engine, is_corrupt, safe_url
from genver.store.sql.maintenance import guarded
from genver.store.sql.migrate import current_revision, head_revision, is_known, upgrade

T = TypeVar("T")
MARKER = "genver_copy_state"
_marker_meta = sa.MetaData()
_state = sa.Table(
    MARKER,
    _marker_meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
DEFAULT_BATCH_ROWS = 5_000
_COPY_LOCK_KEY = 0x67656E76636F7079  # "genvcopy"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a copy is: ``phase`` ``copy`` or ``verify``, the table, rows done of the total."""

    phase: str
    table: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class TableReport:
    name: str
    source: Checksum
    destination: Checksum

    @property
    def ok(self) -> bool:
        return self.source == self.destination


@dataclass
class CopyReport:
    """What a copy did: rows written by this run, whether it resumed an earlier one or found it
    finished, and the verification per table (``ok`` when every table matches)."""

    source: str
    destination: str
    copied_rows: int = 0
    resumed: bool = False
    already_done: bool = False
    seconds: float = 0.0
    tables: list[TableReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def mismatched(self) -> list[TableReport]:
        return [t for t in self.tables if not t.ok]


def copy_store(
    source_uri: str,
    destination_uri: str,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Callable[[Progress], None] | None = None,
) -> CopyReport:
    """Copy every row of the store at ``source_uri`` into ``destination_uri`` (see the module
    docstring), calling ``progress`` after each batch. Refusals are ``InvalidArgumentError``;
    the verification is in the report (``ok``)."""
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or not 1 <= batch_rows <= 100_000:
        raise InvalidArgumentError(
            f"Invalid batch size {batch_rows!r}: expected an integer from 1 to 100000."
        )
    source_id, destination_id = identity(source_uri), identity(destination_uri)
    if source_id == destination_id:
        raise InvalidArgumentError(
            f"Cannot copy {safe_url(source_uri)} onto itself: name another destination."
        )
    started = time.monotonic()
    src, dst = create_engine(source_uri), create_engine(destination_uri)
    report = CopyReport(safe_url(source_uri), safe_url(destination_uri))
    try:
        guarded(source_uri, lambda: _check_source(src, source_uri))
        with _exclusive(dst, destination_uri), _snapshot(src, source_uri) as snapshot:
            state = guarded(destination_uri, lambda: _prepare_destination(dst, destination_uri, source_id))
            report.resumed, report.already_done = state.resumed, state.finished
            specs = [TableCopy(t) for t in tables.metadata.sorted_tables]
            if not state.finished:
                report.copied_rows = _copy_tables(
                    snapshot, source_uri, dst, destination_uri, specs, state, batch_rows, progress
                )
                guarded(destination_uri, lambda: _advance_sequences(dst))
            report.tables = _verify(snapshot, dst, source_uri, destination_uri, specs, progress)
            if report.ok and not state.finished:
                guarded(destination_uri, lambda: _mark_finished(dst, report))
    finally:
        src.dispose()
        dst.dispose()
    report.seconds = time.monotonic() - started
    return report


def identity(uri: str) -> str:
    """What names a store for the resume marker: a SQLite file by its real path, a PostgreSQL
    database by host, port and name (never the password)."""
    url = sa.engine.make_url(uri.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            raise InvalidArgumentError(
                f"Invalid store {uri!r}: db copy needs a SQLite file, not an in-memory database."
            )
        return "sqlite:///" + os.path.realpath(database)
    if url.get_backend_name() == "postgresql":
        return f"postgresql://{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    raise InvalidArgumentError(
        f"Unsupported store {uri!r}: db copy copies between databases, sqlite:///path or postgresql://... "
        "(a genver server's data: copy its database)."
    )


# -- the two ends ---------------------------------------------------------------------------------
def _check_source(engine: Engine, uri: str) -> None:
    with engine.connect() as conn:
        revision = current_revision(conn)
    head = head_revision()
    if revision is None:
        raise InvalidArgumentError(
            f"{safe_url(uri)} is not a genver store (no genver schema): nothing to copy."
        )
    if revision != head and not is_known(revision):
        raise InvalidArgumentError(
            f"{safe_url(uri)} is at schema revision {revision!r}, which this genver does not know (its "
            f"newest is {head!r}): it was written by a newer genver; copy it with that one."
        )
    if revision != head:
        raise InvalidArgumentError(
            f"{safe_url(uri)} is at schema revision {revision!r}, this genver writes {head!r}: run "
            f"`genver db upgrade {safe_url(uri)}` first (db copy never changes its source)."
        )


@dataclass
class _State:
    """The destination's resume marker: per table, the last key copied and the rows so far."""

    resumed: bool = False
    finished: bool = False
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


def _prepare_destination(engine: Engine, uri: str, source_id: str) -> _State:
    names = set(sa.inspect(engine).get_table_names())
    if MARKER in names:
        with engine.connect() as conn:
            saved: dict[str, str] = {r[0]: r[1] for r in conn.execute(sa.select(_state)).all()}
        if saved.get("source") != source_id:
            raise InvalidArgumentError(
                f"{safe_url(uri)} holds a copy of another store ({saved.get('source')!r}), not of "
                f"{source_id!r}: resume that copy with its own source, or copy into an empty store."
            )
        upgrade(engine)  # a copy begun by an older genver
        state = _State(resumed=True, finished="finished" in saved)
        state.tables = {k[len("table:") :]: json.loads(v) for k, v in saved.items() if k.startswith("table:")}
        return state
    _require_empty(engine, uri, names)
    upgrade(engine)
    with _write(engine) as conn:
        _state.create(conn)
        # A store genver opened once holds its Default experiment and nothing else: the source's
        # own experiment 0 replaces it.
        lone = conn.execute(sa.select(sa.func.count()).select_from(tables.experiments)).scalar_one()
        if lone:
            conn.execute(tables.experiments.delete().where(tables.experiments.c.experiment_id == 0))
        conn.execute(
            sa.insert(_state),
            [
                {"name": "source", "value": source_id},
                {"name": "started_ms", "value": str(int(time.time() * 1000))},
            ],
        )
    return _State()


def _require_empty(engine: Engine, uri: str, names: set[str]) -> None:
    if not names:
        return
    genver_tables = {t.name for t in tables.metadata.sorted_tables}
    foreign = sorted(names - genver_tables - {"alembic_version"})
    if not foreign and not names & genver_tables:  # another application's Alembic schema
        foreign = sorted(names)
    if foreign:
        raise InvalidArgumentError(
            f"{safe_url(uri)} is not empty: it holds tables genver does not own ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}). db copy writes only into an empty store."
        )
    with engine.connect() as conn:
        filled = []
        for table in tables.metadata.sorted_tables:
            if table.name not in names:
                continue
            query = sa.select(sa.literal(1)).select_from(table).limit(1)
            if table is tables.experiments:  # the Default experiment a fresh store creates
                query = query.where(table.c.experiment_id != 0)
            if conn.execute(query).first() is not None:
                filled.append(table.name)
    if filled:
        raise InvalidArgumentError(
            f"{safe_url(uri)} is not empty: {', '.join(filled[:5])}{', ...' if len(filled) > 5 else ''} "
            "hold rows. db copy writes only into an empty store (or resumes its own copy): name a new "
            "database or file."
        )


@contextmanager
def _exclusive(engine: Engine, uri: str) -> Iterator[None]:
    """One copy at a time into a PostgreSQL destination (a session advisory lock, released when
    the copy ends or its process dies); two into one SQLite file would fail on a key instead."""
    if engine.dialect.name != "postgresql":
        yield
        return
    conn = guarded(uri, engine.connect)
    taken = False
    try:
        taken = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _COPY_LOCK_KEY}).scalar())
        conn.commit()
        if not taken:
            raise InvalidArgumentError(
                f"Another genver db copy is writing into {safe_url(uri)}: wait for it to finish "
                "(or stop it, then run this command again to resume)."
            )
        yield
    finally:
        if taken:  # a killed copy's session ends, and its lock with it
            with contextlib.suppress(DBAPIError):
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _COPY_LOCK_KEY})
                conn.commit()
        conn.close()


@contextmanager
def _snapshot(engine: Engine, uri: str) -> Iterator[Connection]:
    """One read transaction on the source for the whole copy."""
    conn = guarded(uri, engine.connect)
    try:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn.begin()
        yield conn
    finally:
        conn.close()


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


# -- copying ------------------------------------------------------------------------------------------
def _copy_tables(
    snapshot: Connection,
    source: str,
    dst: Engine,
    uri: str,
    specs: list[TableCopy],
    state: _State,
    batch_rows: int,
    progress: Callable[[Progress], None] | None,
) -> int:
    totals = {
        s.name: snapshot.execute(sa.select(sa.func.count()).select_from(s.table)).scalar_one() for s in specs
    }
    total = sum(totals.values())
    done = sum(int(state.tables.get(s.name, {}).get("rows", 0)) for s in specs)
    copied = 0
    for spec in specs:
        saved = state.tables.get(spec.name, {"after": None, "rows": 0, "done": False})
        if saved.get("done"):
            continue
        after = None if saved["after"] is None else tuple(saved["after"])
        rows_so_far = int(saved["rows"])
        while True:
            rows = _driver_errors(
                snapshot.engine, source, functools.partial(spec.read, snapshot, after, batch_rows)
            )
            finished = len(rows) < batch_rows
            if rows:
                after = spec.key(rows[-1])
            rows_so_far += len(rows)
            marker = {"after": None if after is None else list(after), "rows": rows_so_far, "done": finished}
            _write_batch(dst, uri, spec, rows, marker)
            copied += len(rows)
            done += len(rows)
            if progress is not None:
                progress(Progress("copy", spec.name, done, total))
            if finished:
                break
    return copied


def _write_batch(dst: Engine, uri: str, spec: TableCopy, rows: list[Any], marker: dict[str, Any]) -> None:
    def write() -> None:
        with _write(dst) as conn:
            spec.write(conn, rows)
            conn.execute(_upsert(conn, "table:" + spec.name, json.dumps(marker)))

    try:
        _driver_errors(dst, uri, write)
    except StoreError as exc:
        if isinstance(exc, StoreUnavailableError):
            raise
        first = None if not rows else spec.key(rows[0])
        raise StoreError(
            f"Copying table {spec.name!r} failed at the batch starting with key {first!r}: {exc} "
            "Nothing of that batch was written; fix the cause and run the same command again to resume."
        ) from exc


def _driver_errors(engine: Engine, uri: str, fn: Callable[[], T]) -> T:
    """``fn()`` with the driver's own errors (raised by the raw cursors ``copy_rows`` uses, or
    wrapped by SQLAlchemy) said as genver's: unreachable or damaged stores as
    ``StoreUnavailableError`` / ``StoreCorruptError``, a refused row as ``StoreError``."""
    dbapi = engine.dialect.loaded_dbapi
    try:
        return fn()
    except (DBAPIError, dbapi.Error) as exc:
        orig = getattr(exc, "orig", None) or exc
        if is_corrupt(exc):
            raise StoreCorruptError(corrupt_message(uri, exc)) from exc
        if isinstance(orig, dbapi.OperationalError) and not isinstance(orig, dbapi.IntegrityError):
            raise StoreUnavailableError(f"The store at {safe_url(uri)} is unavailable: {orig}") from exc
        raise StoreError(f"{type(orig).__name__}: {str(orig).strip()}") from exc


def _upsert(conn: Connection, name: str, value: str) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(_state).values(name=name, value=value)
    return stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value})


def _advance_sequences(engine: Engine) -> None:
    """PostgreSQL: each serial column's sequence continues after the largest copied id, and the
    planner's statistics are gathered (``ANALYZE``, as after a ``pg_restore``), so the first
    searches on the copy are planned from its real sizes, not from empty tables."""
    if engine.dialect.name != "postgresql":
        return  # SQLite's rowid tables continue after their largest id by themselves
    with _write(engine) as conn:
        for table in tables.metadata.sorted_tables:
            column = table.autoincrement_column
            if column is None:
                continue
            seq = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if seq is None:
                continue
            top = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(sa.text("SELECT setval(:s, :v, false)"), {"s": seq, "v": (top or 0) + 1})
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t.name) for t in tables.metadata.sorted_tables))


# -- verifying -----------------------------------------------------------------------------------------
def _verify(
    snapshot: Connection,
    dst: Engine,
    source_uri: str,
    destination_uri: str,
    specs: list[TableCopy],
    progress: Callable[[Progress], None] | None,
) -> list[TableReport]:
    reports = []
    with dst.connect() as conn:
        for i, spec in enumerate(specs):
            ours = _driver_errors(snapshot.engine, source_uri, functools.partial(spec.checksum, snapshot))
            theirs = _driver_errors(dst, destination_uri, functools.partial(spec.checksum, conn))
            reports.append(TableReport(spec.name, ours, theirs))
            if progress is not None:
                progress(Progress("verify", spec.name, i + 1, len(specs)))
    return reports


def _mark_finished(engine: Engine, report: CopyReport) -> None:
    summary = {t.name: {"rows": t.destination.rows, "checksum": t.destination.digest} for t in report.tables}
    with _write(engine) as conn:
        conn.execute(
            _upsert(conn, "finished", json.dumps({"at_ms": int(time.time() * 1000), "tables": summary}))
        )
