"""Schema upgrades with Alembic: run on every store open, under a lock, never dropping data.

Concurrent openers (threads, processes, server replicas) serialize on a database lock: SQLite's
write lock (``BEGIN IMMEDIATE``) or a PostgreSQL advisory lock. The winner upgrades; the others
find the schema current once they get the lock.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from genver.exceptions import StoreError
from genver.store.sql.engine import WRITE_OPTION

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x67656E766572  # "genver"


@functools.cache
def _script() -> object:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = _script()
    assert isinstance(script, ScriptDirectory)
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the schema to ``revision``; returns (revision before, revision after)."""
    target = head_revision() if revision == "head" else revision
    with engine.connect() as conn:
        before = current_revision(conn)
        conn.rollback()
    if before == target:
        return before, target
    _check_known(before)
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            before = current_revision(conn)
            if before != target:
                _check_known(before)
                _run_alembic(conn, target)
    return before, target


def is_known(revision: str) -> bool:
    """Whether this genver has ``revision`` (one it does not was written by a newer genver)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = _script()
    assert isinstance(script, ScriptDirectory)
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _check_known(revision: str | None) -> None:
    """A revision this genver does not know was written by a newer genver: refuse to touch it."""
    if revision is not None and not is_known(revision):
        raise StoreError(
            f"The database schema is at revision {revision!r}, which this genver does not know "
            f"(its newest is {head_revision()!r}): the database was upgraded by a newer genver. "
            "Upgrade genver to open it."
        )


def _run_alembic(conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
