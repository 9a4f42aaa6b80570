"""Shared fixtures: a real store per test, on SQLite and (when configured) PostgreSQL.

``store`` is parametrized over ``sqlite`` (a fresh file per test) and ``postgres`` (one throwaway
database per session, emptied after each test). PostgreSQL runs only when
``GENVER_TEST_POSTGRES_URI`` is set; ``-m "not postgres"`` deselects it. When the variable is set
but the server cannot be reached, the tests error instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from genver.store.sql.store import SqlStore

POSTGRES_ENV = "GENVER_TEST_POSTGRES_URI"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class PgDatabases:
    """Creates and drops throwaway PostgreSQL databases next to the one the env var names."""

    def __init__(self, base_uri: str) -> None:
        import psycopg

        self.base_uri = base_uri
        self._conn = psycopg.connect(base_uri, autocommit=True, connect_timeout=10)
        self._created: list[str] = []

    def create(self) -> str:
        import sqlalchemy as sa

        name = f"genver_test_{uuid.uuid4().hex[:12]}"
        self._conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return sa.engine.make_url(self.base_uri).set(database=name).render_as_string(hide_password=False)

    def drop(self, uri: str) -> None:
        import sqlalchemy as sa

        name = sa.engine.make_url(uri).database
        self._conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.remove(str(name))

    def empty(self, uri: str) -> None:
        """Delete every row (the schema stays), so the next test starts from a fresh store."""
        import psycopg

        with psycopg.connect(uri, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET lock_timeout = '10s'")
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            ]
            if names:
                conn.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")

    def close(self) -> None:
        for name in list(self._created):
            self._conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._conn.close()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    uri = os.environ.get(POSTGRES_ENV)
    if not uri:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/test")
    dbs = PgDatabases(uri)  # unreachable server: the tests error, they do not skip
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def pg_shared_uri(pg_databases: PgDatabases) -> str:
    """One database per session for the ``store`` fixture, emptied after each test."""
    return pg_databases.create()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_uri(backend: str, tmp_path: os.PathLike[str], request: pytest.FixtureRequest) -> Iterator[str]:
    """The URI of a fresh, empty database (no schema yet) on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/t.db"
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    uri = dbs.create()
    yield uri
    dbs.drop(uri)


@pytest.fixture
def store(backend: str, tmp_path: os.PathLike[str], request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """A ``SqlStore`` on a fresh database (schema at head, only the Default experiment)."""
    if backend == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path}/t.db")
        yield s
        s.close()
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    uri: str = request.getfixturevalue("pg_shared_uri")
    s = SqlStore(uri)
    try:
        yield s
    finally:
        s.close()
        dbs.empty(uri)
