"""``genver db upgrade URI`` on PostgreSQL, as a real process: an empty database gets every table
at the head revision, a second run changes nothing, and two concurrent runs both succeed (the
upgrade takes an advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from genver.store.sql.migrate import head_revision
from genver.store.sql.tables import metadata
from tests.conftest import PgDatabases

pytestmark = pytest.mark.postgres


def genver(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVER_", "MLFLOW_", "PYTEST_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "genver", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def schema_state(uri: str) -> tuple[list[str], set[str]]:
    with psycopg.connect(uri, connect_timeout=10) as conn:
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        }
        versions = (
            [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
            if "alembic_version" in tables
            else []
        )
    return versions, tables


def test_upgrade_creates_the_schema_then_is_a_no_op(pg_databases: PgDatabases) -> None:
    uri = pg_databases.create()
    assert schema_state(uri) == ([], set())

    out = finished(genver("db", "upgrade", uri))
    assert f"from empty to {head_revision()}" in " ".join(out.split())
    versions, tables = schema_state(uri)
    assert versions == [head_revision()]
    assert set(metadata.tables) <= tables

    out = finished(genver("db", "upgrade", uri))
    assert f"already at revision {head_revision()}" in " ".join(out.split())
    assert schema_state(uri) == (versions, tables)
    pg_databases.drop(uri)


def test_two_concurrent_upgrades_both_succeed(pg_databases: PgDatabases) -> None:
    uri = pg_databases.create()
    procs = [genver("db", "upgrade", uri) for _ in range(2)]
    outs = [finished(p) for p in procs]
    flat = [" ".join(o.split()) for o in outs]
    # One process upgraded; the other found the schema current once it got the lock, or upgraded
    # first: either way exactly one "from empty".
    assert sum("from empty" in o for o in flat) == 1, outs
    versions, tables = schema_state(uri)
    assert versions == [head_revision()]
    assert set(metadata.tables) <= tables
    pg_databases.drop(uri)
