"""Fixtures for autolog: the real provider clients against ``fakes.FakeLLM`` on loopback, the
module-level API (``import genver as mlflow``) on a fresh database, and each integration turned
off again after its test (patches are process-wide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import genver
from tests.integrations.fakes import FakeLLM


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
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
    genver._default._experiment_id = None
    genver._default.client.close()


@pytest.fixture(autouse=True)
def _integrations_off() -> Iterator[None]:
    yield
    from genver.integrations import autolog

    autolog(disable=True)


def stored_traces(mlflow: Any) -> list[Any]:
    """Every trace of the Default experiment, oldest first, after a flush."""
    assert mlflow.flush_trace_async_logging(timeout=10)
    traces = mlflow.search_traces(experiment_ids=["0"], return_type="list")
    return sorted(traces, key=lambda t: t.info.request_time)


def only_trace(mlflow: Any) -> Any:
    traces = stored_traces(mlflow)
    assert len(traces) == 1, [t.info.trace_id for t in traces]
    return traces[0]


def spans_of(trace: Any, span_type: str) -> list[Any]:
    return [s for s in trace.data.spans if s.span_type == span_type]
