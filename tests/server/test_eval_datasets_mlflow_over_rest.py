"""MLflow's evaluation-dataset snippets (``mlflow.genai.datasets``, ``EvaluationDataset``,
``MlflowClient``) through a genver server, on SQLite and PostgreSQL: the same calls give the same
results as on a local store, and what the client saw is what the server stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genver.fluent import Genver
from genver.genai import datasets
from genver.store.rest import RestStore
from genver.store.sql.store import SqlStore
from tests.api.dataset_snippets import (
    TEST_CASES,
    client_datasets,
    dataset_from_traces_and_evaluate,
    dataset_lifecycle,
)


@pytest.fixture
def gv(store: RestStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Genver]:
    monkeypatch.chdir(tmp_path)  # outside any git repository
    environ = {"GENVER_TRACE_SPOOL_DIR": str(tmp_path / "spool"), "GENVER_TRACE_FLUSH_INTERVAL": "0.05"}
    g = Genver(store=store, environ=environ)
    yield g
    g.flush_trace_async_logging(terminate=True)


def test_dataset_lifecycle(gv: Genver) -> None:
    dataset_lifecycle(gv)


def test_datasets_from_traces_and_evaluate(gv: Genver) -> None:
    dataset_from_traces_and_evaluate(gv)


def test_client_datasets(gv: Genver) -> None:
    client_datasets(gv.client)


def test_what_the_client_sees_is_stored(gv: Genver, sql_store: SqlStore) -> None:
    dataset = datasets.create_dataset(name="qa", experiment_id=["0"], tags={"team": "x"}, genver=gv)
    dataset.merge_records(TEST_CASES)
    dataset.merge_records([{"inputs": {"question": "What is MLflow?"}, "outputs": "a platform"}])
    assert sql_store.get_eval_dataset(dataset.dataset_id) == dataset
    (first, _) = dataset.records
    assert first.outputs == "a platform" and first.expectations["key_topics"] == ["tracking"]
