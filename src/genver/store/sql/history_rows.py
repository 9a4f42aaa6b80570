"""Appending to the versions' history chain (``model_history``) and reading it back.

An append runs inside the transaction of the change it records, so a change without its entry,
or an entry without its change, cannot be committed. It reads the chain's head (the last row by
``seq``: SQLite's rowid, PostgreSQL's primary key), numbers and hashes the new entries after it,
and inserts them. Writers must not interleave there, or two entries would claim the same place:

* SQLite: every write transaction holds the database's write lock (``BEGIN IMMEDIATE``);
* PostgreSQL: a transaction-scoped advisory lock, released at commit. A change that reads the
  value it replaces (a tag, a status, an alias's holder) takes it before reading (``lock_chain``),
  so its "before" is the value the previous entry left; one that replaces nothing (creating a
  version, logging a metric) takes it last, in the statement that appends, to hold it for the
  shortest time.

An entry's ``time`` is the store's clock, but never earlier than the entry before it (clocks of
server replicas drift), so the chain is ordered in time too and "as of t" is well defined.

Hot path, SQLite: the transaction already holds the write lock, so nothing can append while it
runs, and everything runs on the driver's cursor. A store remembers the head it last wrote
(``Head``, as below) and appends its next entry with one ``INSERT OR IGNORE ... VALUES`` whose
hash column is NULL (a NOT NULL violation, so the row is skipped) unless the row it links to
still has that hash, and whose number is taken (skipped too) if anything was appended after
it. When nothing went in, the head is read and the entry written after it. ``VALUES`` with a
scalar subquery, never an ``INSERT ... SELECT`` reading its own table, which makes SQLite stage
the row in a temporary table first (that was a quarter of the history's cost on ``log_metric``).

Hot path, PostgreSQL: a store remembers the head it last wrote (``Head``, kept only once its
transaction committed), and appends its next entry with one conditional ``INSERT ... SELECT ...
WHERE`` the entry it links to is still the last one (that seq with that hash, nothing after it),
taking the chain's lock in the same statement. When another writer appended meanwhile, nothing
is inserted, and the head is read and the entry written after it. So a lone writer pays one
round trip per entry, and the chain is linked to the real head either way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from genver.entities.history import GENESIS_HASH, HistoryEntry, canonical_json
from genver.store.sql import tables as t

_H = t.model_history
#: The advisory lock PostgreSQL writers of the chain serialize on ("genvhist"): above 2**32,
#: so no ``hashtext()`` key of the other advisory locks can be it.
CHAIN_LOCK_KEY = 0x67656E7668697374
_LOCK = sa.text(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})")
_HEAD = sa.select(_H.c.seq, _H.c.entry_hash, _H.c.time_ms).order_by(_H.c.seq.desc()).limit(1)
_INSERT = _H.insert()


_COLUMNS_ORDER = _COLUMNS = (
    _H.c.seq,
    _H.c.time_ms,
    _H.c.actor,
    _H.c.model_id,
    _H.c.kind,
    _H.c.before_json,
    _H.c.after_json,
    _H.c.prev_hash,
    _H.c.entry_hash,
)


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry of the chain as this store saw it: number, hash, time."""

    seq: int
    hash: str
    time: int


EMPTY = Head(0, GENESIS_HASH, 0)


def _typed(name: str, type_: sa.types.TypeEngine[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=type_)


_ROW_PARAMS = (
    _typed("seq", sa.BigInteger()),
    _typed("time_ms", sa.BigInteger()),
    _typed("actor", sa.String()),
    _typed("model_id", sa.String()),
    _typed("kind", sa.String()),
    _typed("before_json", sa.Text()),
    _typed("after_json", sa.Text()),
    _typed("prev_hash", sa.String()),
    _typed("entry_hash", sa.String()),
)
_LINKED = sa.exists().where(
    _H.c.seq == _typed("prev_seq", sa.BigInteger()), _H.c.entry_hash == _typed("prev_hash", sa.String())
)
_AT_HEAD = (
    ~sa.exists().where(_H.c.seq >= _typed("seq", sa.BigInteger())),
    sa.or_(_typed("prev_seq", sa.BigInteger()) == 0, _LINKED),
)


def _insert_at_head_postgresql() -> Any:
    """PostgreSQL: one entry after the head the store remembers, inserted only if that is still
    the head, taking the chain's advisory lock in the statement (one round trip, not two). The ``EXISTS`` tests may read a snapshot taken before the lock was granted, so a
    row another writer committed meanwhile is caught by ``ON CONFLICT (seq) DO NOTHING`` against
    the index itself: nothing is inserted, and ``append`` takes the slow path. ``RETURNING``
    says whether a row went in (psycopg reports no row count for it through SQLAlchemy)."""
    from sqlalchemy.dialects.postgresql import insert

    lock = sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK_KEY).label("held")).subquery("chain_lock")
    rows = sa.select(*_ROW_PARAMS).select_from(lock).where(*_AT_HEAD)
    stmt = insert(_H).from_select([c.name for c in _COLUMNS_ORDER], rows)
    return stmt.on_conflict_do_nothing(index_elements=[_H.c.seq]).returning(_H.c.seq)


_INSERT_AT_HEAD_POSTGRESQL = _insert_at_head_postgresql()


@dataclass(frozen=True, slots=True)
class Change:
    """One change to record: on which version, what kind, the value before and after (JSON)."""

    model_id: str
    kind: str
    before: Any
    after: Any


def lock_chain(conn: Connection) -> None:
    """Serialize this transaction's appends with every other writer's (PostgreSQL; SQLite's
    write transactions already are)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)


def append(
    conn: Connection,
    changes: Sequence[Change],
    *,
    time_ms: int,
    actor: str,
    known: Head | None = None,
    locked: bool = False,
) -> Head:
    """Append ``changes`` after the chain's head, trying ``known`` (the head this store last
    wrote) first; returns the new head, which the caller may remember once the transaction
    commits. On PostgreSQL the chain's lock is taken here unless the caller holds it
    (``locked``): by the fast statement itself, else before reading the head."""
    if conn.dialect.name != "postgresql":
        return _append_sqlite(conn, changes, time_ms=time_ms, actor=actor, known=known)
    if known is not None:
        rows = _rows(changes, known, time_ms, actor)
        if _insert_at_head(conn, rows[0], known.seq):
            if len(rows) > 1:  # the chain is held: the rest follow the first
                conn.execute(_INSERT, _dicts(rows[1:]))
            return _head_of(rows[-1])
    if not locked:
        conn.execute(_LOCK)  # (re-entrant: the fast statement may have taken it already)
    row = conn.execute(_HEAD).first()
    head = EMPTY if row is None else Head(int(row[0]), row[1], int(row[2]))
    rows = _rows(changes, head, time_ms, actor)
    conn.execute(_INSERT, _dicts(rows))
    return _head_of(rows[-1])


_SQLITE_HEAD = "SELECT seq, entry_hash, time_ms FROM model_history ORDER BY seq DESC LIMIT 1"
_SQLITE_INTO = (
    "INTO model_history (seq, time_ms, actor, model_id, kind, before_json, after_json, prev_hash, "
    "entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
)
_SQLITE_INSERT = "INSERT " + _SQLITE_INTO + "?)"
# After the known head (seq - 1, prev_hash): the hash is NULL unless that row still has it.
_SQLITE_INSERT_AT_HEAD = (
    "INSERT OR IGNORE " + _SQLITE_INTO + "CASE WHEN (SELECT entry_hash FROM model_history WHERE seq = ?) = ? "
    "THEN ? END)"
)


def _append_sqlite(
    conn: Connection, changes: Sequence[Change], *, time_ms: int, actor: str, known: Head | None
) -> Head:
    """SQLite: insert after the ``known`` head if it still is the head, else read the head and
    insert after it, on the driver's cursor (the transaction holds the database's write lock, so
    nothing can append in between). Driver errors are raised as SQLAlchemy's, as any other
    statement's are."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    sql = _SQLITE_INSERT_AT_HEAD
    try:
        if known is not None and known.seq > 0:
            rows = _rows(changes, known, time_ms, actor)
            first = rows[0]
            cursor.execute(sql, (*first[:-1], known.seq, known.hash, first[-1]))
            inserted = cursor.rowcount == 1
        else:
            inserted = False
        if not inserted:  # another writer appended, or the chain was edited: link to its head
            sql = _SQLITE_HEAD
            cursor.execute(sql)
            row = cursor.fetchone()
            head = EMPTY if row is None else Head(int(row[0]), row[1], int(row[2]))
            rows = _rows(changes, head, time_ms, actor)
            sql = _SQLITE_INSERT
            cursor.execute(sql, rows[0])
        if len(rows) > 1:
            sql = _SQLITE_INSERT
            cursor.executemany(sql, rows[1:])
    except dbapi.Error as e:
        raise DBAPIError.instance(sql, None, e, dbapi.Error) from e
    finally:
        cursor.close()
    return _head_of(rows[-1])


def _insert_at_head(conn: Connection, row: Row, prev_seq: int) -> bool:
    """Run PostgreSQL's conditional insert of ``row`` on the driver's cursor (SQLAlchemy's
    per-execution work was a third of the history's cost on log_metric): whether it inserted.
    The statement is compiled once per dialect, and where its arguments come from is worked out
    then. Driver errors are raised as SQLAlchemy's, as any other statement's are."""
    dialect = conn.dialect
    plan = _PLANS.get(dialect.name)
    if plan is None:
        plan = _PLANS[dialect.name] = _plan(dialect)
    sql, order = plan
    values = (*row, prev_seq)  # the columns in _ROW_KEYS order, then prev_seq
    args = dict(
        zip(_ARG_NAMES[dialect.name], [values[i] if isinstance(i, int) else i[0] for i in order], strict=True)
    )
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, args)
        return cursor.fetchone() is not None
    except dialect.loaded_dbapi.Error as e:
        raise DBAPIError.instance(sql, args, e, dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()


_ROW_KEYS = (
    "seq",
    "time_ms",
    "actor",
    "model_id",
    "kind",
    "before_json",
    "after_json",
    "prev_hash",
    "entry_hash",
)
#: Per dialect: the conditional insert's SQL, and for each of its arguments the index of its
#: value in (row values..., prev_seq), or (constant,) for a literal SQLAlchemy made a parameter.
_PLANS: dict[str, tuple[str, list[Any]]] = {}
_ARG_NAMES: dict[str, list[str]] = {}


def _plan(dialect: Any) -> tuple[str, list[Any]]:
    compiled = _INSERT_AT_HEAD_POSTGRESQL.compile(dialect=dialect)
    literals = compiled.construct_params({}, _check=False)
    names: list[str] = list(compiled.positiontup or ()) if compiled.positional else list(literals)
    where = {k: i for i, k in enumerate((*_ROW_KEYS, "prev_seq"))}
    _ARG_NAMES[dialect.name] = names
    return compiled.string, [where[n] if n in where else (literals[n],) for n in names]


#: One entry's column values, in _ROW_KEYS order.
Row = tuple[int, int, str, str, str, str | None, str | None, str, str]


def _head_of(row: Row) -> Head:
    return Head(row[0], row[8], row[1])


def _dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [dict(zip(_ROW_KEYS, row, strict=True)) for row in rows]


def _rows(changes: Sequence[Change], head: Head, time_ms: int, actor: str) -> list[Row]:
    """The rows of ``changes`` numbered, timed and hashed after ``head``, as tuples in
    ``_ROW_KEYS`` order (the SQLite hot path binds them as they are)."""
    seq, prev, when = head.seq, head.hash, max(time_ms, head.time)
    actor_json, rows = canonical_json(actor), []  # hashes and kinds are plain ASCII: quoted as they are
    for change in changes:
        seq += 1
        before = None if change.before is None else canonical_json(change.before)
        after = None if change.after is None else canonical_json(change.after)
        # The canonical JSON of [seq, prev_hash, time, actor, model_id, kind, before, after],
        # written from its parts (entities.history.entry_hash gives the same digest).
        content = (
            f'[{seq},"{prev}",{when},{actor_json},{canonical_json(change.model_id)},'
            f'"{change.kind}",{before or "null"},{after or "null"}]'
        )
        digest = hashlib.sha256(content.encode("ascii")).hexdigest()
        rows.append((seq, when, actor, change.model_id, change.kind, before, after, prev, digest))
        prev = digest
    return rows


def select_entries() -> sa.Select[Any]:
    """``SELECT <entry columns> FROM model_history``, for ``entries``."""
    return sa.select(*_COLUMNS)


def entries(
    conn: Connection, query: sa.Select[Any], params: dict[str, Any] | None = None
) -> list[HistoryEntry]:
    """The entries a query built on ``select_entries()`` selects, in its order."""
    return [
        HistoryEntry(
            seq=int(seq),
            time=int(time_ms),
            actor=actor,
            model_id=model_id,
            kind=kind,
            before=None if before is None else json.loads(before),
            after=None if after is None else json.loads(after),
            prev_hash=prev_hash,
            hash=entry_hash,
        )
        for seq, time_ms, actor, model_id, kind, before, after, prev_hash, entry_hash in conn.execute(
            query, params or {}
        )
    ]
