"""Fixtures for tracing tests: a genver instance on a fresh SQLite file with its own spool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import genver
from genver.exceptions import StoreUnavailableError
from genver.fluent import Genver
from genver.store.base import Store


def make_genver(tmp_path: Path, **env: str) -> Genver:
    environ = {
        "GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"),
        "GENVER_TRACE_FLUSH_INTERVAL": "0.05",
        **env,
    }
    return Genver(tracking_uri=f"sqlite:///{tmp_path}/traces.db", environ=environ)


@pytest.fixture
def gv(tmp_path: Path) -> Iterator[Genver]:
    instance = make_genver(tmp_path)
    yield instance
    instance.flush_trace_async_logging(terminate=True)
    instance.client.close()


@pytest.fixture
def mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The module-level API (``import genver as mlflow``) on a fresh database."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "GENVER_ACTIVE_MODEL_ID",
        "MLFLOW_ACTIVE_MODEL_ID",
        "GENVER_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GENVER_TRACE_SPOOL_DIR", str(tmp_path / "spool"))
    genver.set_tracking_uri(f"sqlite:///{tmp_path}/default.db")
    genver.clear_active_model()
    yield genver
    genver.flush_trace_async_logging()
    genver.clear_active_model()
    while genver.active_run() is not None:
        genver.end_run()
    genver._default._experiment_id = None
    genver._default.client.close()


class FlakyStore:
    """A store that can be switched down: every trace write then raises StoreUnavailableError."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.down = False
        self.calls = 0

    def log_traces(self, traces: Any) -> None:
        self.calls += 1
        if self.down:
            raise StoreUnavailableError("store is down (test)")
        self.inner.log_traces(traces)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
