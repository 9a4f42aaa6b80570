"""Fixtures for the public API tests: a fresh database and a clean default instance per test.

The module-level functions are bound methods of one default ``Genver`` instance, so its state
(tracking URI, active experiment, run stack, active model, env-var cache) would leak from one
test to the next. ``fresh_genver`` (autouse) gives every test its own SQLite file, a working
directory outside any git repository, no ``GENVER_*``/``MLFLOW_*`` variables, and a default
instance with no state; it closes the store afterwards so no ResourceWarning fires.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import genver
from genver import context as ctx
from genver.fluent import Genver

ENV_PREFIXES = ("GENVER_", "MLFLOW_", "_MLFLOW_")


def _reset_default() -> None:
    default = genver._default
    client = default._client
    if client is not None:
        client.close()
    ctx.set_process_tracking_uri(None)
    # Re-running __init__ drops every piece of state the instance holds (client, experiment,
    # run stack, active model, env-var resolution cache), including fields added later.
    default.__init__()  # type: ignore[misc]


@pytest.fixture(autouse=True)
def fresh_genver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean default instance on ``sqlite:///<tmp>/t.db``, run from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    _reset_default()
    genver.set_tracking_uri(f"sqlite:///{tmp_path}/t.db")
    yield tmp_path
    _reset_default()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite file the default instance writes to in this test."""
    return tmp_path / "t.db"


@pytest.fixture
def make_genver(tmp_path: Path) -> Iterator[Callable[..., Genver]]:
    """Build standalone ``Genver`` instances (own database, own environ); closed afterwards."""
    made: list[Genver] = []

    def make(environ: dict[str, str] | None = None, tracking_uri: str | None = None) -> Genver:
        uri = tracking_uri or f"sqlite:///{tmp_path}/own-{len(made)}.db"
        g = Genver(tracking_uri=uri, environ={} if environ is None else environ)
        made.append(g)
        return g

    yield make
    for g in made:
        if g._client is not None:
            g._client.close()


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the store's back-off sleeps, so an unreachable database fails in milliseconds."""
    import genver.store.sql.base

    monkeypatch.setattr(genver.store.sql.base, "sleep", lambda _seconds: None)
