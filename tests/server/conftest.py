"""Fixtures for the server tests: a real ASGI app over a real SQL store, and a ``RestStore``
talking to it through ``TestClient`` (no network).

``sql_store`` (the store behind the app) is parametrized like ``tests/conftest.py``'s ``store``:
``sqlite`` (a fresh file per test) and ``postgres`` (the session's database, emptied after each
test; runs when ``GENVER_TEST_POSTGRES_URI`` is set). So every server test, and the store contract
suite over REST, runs on both.

``store`` is overridden here, so store contract tests imported into this package run unchanged
against ``RestStore`` (see ``test_contract_over_rest.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from genver.server.app import create_app
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.conftest import BACKENDS, PgDatabases

with warnings.catch_warnings():
    # Starlette asks for httpx2; genver's client is httpx, which TestClient still supports.
    warnings.filterwarnings("ignore", message=".*httpx2", category=UserWarning)
    from fastapi.testclient import TestClient


def asgi_client(app: FastAPI, **kwargs: Any) -> TestClient:
    return TestClient(app, **kwargs)


@pytest.fixture(params=BACKENDS)
def sql_store(tmp_path: os.PathLike[str], request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """The store behind the app, on a fresh SQLite file or the emptied PostgreSQL database."""
    if request.param == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path}/server.db")
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


@pytest.fixture
def app(sql_store: SqlStore) -> FastAPI:
    return create_app(sql_store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with asgi_client(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def backend() -> str:
    return "rest"


@pytest.fixture
def store(client: TestClient) -> Iterator[RestStore]:
    s = RestStore(http_client=client, sleep=lambda _: None)
    yield s
    s.close()
